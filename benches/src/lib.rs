//! Benchmarks of meshes-rs: `cargo bench -p meshes-benches` (see `benches/`).
