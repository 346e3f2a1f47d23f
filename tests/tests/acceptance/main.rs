//! One acceptance suite, two adapters: every scenario runs against an axum app and an actix
//! app, each on a real loopback socket, driven by a real HTTP client, against meshes-mock.
//! A scenario that passes on one adapter and fails on the other is an adapter bug.

use meshes_test_support::apps;
mod scenarios;
