//! Cross-crate tests of meshes-rs: the client against meshes-mock today, and the one
//! acceptance suite that both web adapters must pass once they land. Not published.
