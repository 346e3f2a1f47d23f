//! Integration tests of the management API client against a local scripted server.

mod architecture;
mod common;
mod endpoints;
mod faults;
mod log_key;
mod props;
mod secrets;
mod validation;
