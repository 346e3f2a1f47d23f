//! Reliability and security: upstream faults through both adapters, hostile input, Redis
//! outage, and a soak (ignored; see `soak`).

use meshes_test_support::apps;
mod bad_upstream;
mod faults;
mod hostile;
mod outage;
mod redis_outage;
mod soak;
