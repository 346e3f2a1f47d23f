//! #30: what the PostgreSQL store does beyond the conformance kit: a database that goes down
//! and comes back, TLS as libpq reads it from the URL, a pool that runs out, and expired rows
//! deleted in bounded batches.

mod expiry;
mod outage;
mod pool;
mod tls;
