//! Reliability and security: upstream faults through both adapters, hostile input, Redis
//! outage, and a soak (ignored; see `soak`).

#[path = "../acceptance/apps.rs"]
#[allow(dead_code)]
mod apps;
mod bad_upstream;
mod faults;
mod hostile;
mod redis_outage;
mod soak;
