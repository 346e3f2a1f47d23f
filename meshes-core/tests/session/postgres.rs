//! #30: what the PostgreSQL store does beyond the conformance kit: a database that goes down
//! and comes back, TLS as libpq reads it from the URL, a pool that runs out, expired rows
//! deleted in bounded batches, and the least privileges it needs.

mod expiry;
mod outage;
mod pool;
mod privileges;
mod tls;
