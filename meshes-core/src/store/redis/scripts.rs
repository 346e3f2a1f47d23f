//! The Lua scripts of [`RedisEmbedStore`](super::RedisEmbedStore): each touches one key, so
//! no operation crosses hash slots in a cluster.

use redis::Script;

/// Writes a session hash and its expiry (one key, so one slot in a cluster).
const PUT: &str = r"
redis.call('HSET', KEYS[1], 'owner', ARGV[1], 'token', ARGV[2], 'expires_at', ARGV[3],
  'generation', ARGV[4], 'rotated_at', ARGV[5], 'created_at', ARGV[6], 'used_at', ARGV[8],
  'origin', ARGV[9])
redis.call('PEXPIRE', KEYS[1], ARGV[7])
return 1
";

/// Adds a session to its user's index and keeps the index alive as long as the session.
const INDEX: &str = r"
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[2])
local ttl = redis.call('PTTL', KEYS[1])
if ttl < tonumber(ARGV[3]) then redis.call('PEXPIRE', KEYS[1], ARGV[3]) end
return 1
";

/// Keeps an existing index alive at least `ARGV[1]` ms more.
const EXTEND: &str = r"
local ttl = redis.call('PTTL', KEYS[1])
if ttl >= 0 and ttl < tonumber(ARGV[1]) then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return 1
";

/// Compare-and-set of a rotation (or a recorded use) on the generation.
const ROTATE: &str = r"
local g = redis.call('HGET', KEYS[1], 'generation')
if (not g) or g ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'token', ARGV[2], 'expires_at', ARGV[3], 'generation', ARGV[4],
  'rotated_at', ARGV[5], 'used_at', ARGV[7])
redis.call('PEXPIRE', KEYS[1], ARGV[6])
return 1
";

/// Extends a lock's lease, fenced by its token.
const RENEW: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
";

/// Releases a lock, fenced by its token.
const UNLOCK: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
";

/// GCRA on Redis' clock (so replicas' clocks do not matter): a burst of `ARGV[2]`, one more
/// every `ARGV[1]` ms. Returns 0 when allowed, else the milliseconds to wait.
const RATE: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local interval = tonumber(ARGV[1])
local tolerance = interval * (tonumber(ARGV[2]) - 1)
local tat = tonumber(redis.call('GET', KEYS[1])) or now
if tat < now then tat = now end
local wait = tat - tolerance - now
if wait > 0 then return wait end
local next_tat = tat + interval
redis.call('SET', KEYS[1], next_tat, 'PX', math.max(next_tat - now, 1))
return 0
";

/// The scripts, loaded once per process (`EVALSHA`, falling back to `EVAL`).
pub(super) struct Scripts {
    pub(super) put: Script,
    pub(super) index: Script,
    pub(super) extend: Script,
    pub(super) rotate: Script,
    pub(super) renew: Script,
    pub(super) unlock: Script,
    pub(super) rate: Script,
}

pub(super) static SCRIPTS: std::sync::LazyLock<Scripts> = std::sync::LazyLock::new(|| Scripts {
    put: Script::new(PUT),
    index: Script::new(INDEX),
    extend: Script::new(EXTEND),
    rotate: Script::new(ROTATE),
    renew: Script::new(RENEW),
    unlock: Script::new(UNLOCK),
    rate: Script::new(RATE),
});
