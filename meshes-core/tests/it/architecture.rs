//! #29: ARCHITECTURE.md's layering rule, checked on the source with no exception list. A
//! module imports only from the leaves and from the layers at or left of its own
//! (`client ← store ← session ← routes ← adapter`); a leaf imports only leaves; nothing
//! imports through the crate root's re-exports (`crate::Name`).

use std::path::{Path, PathBuf};

/// The layers, left to right, and the modules each holds.
const LAYERS: &[(&str, &[&str])] = &[
    (
        "client",
        &["client", "auth", "config", "credentials", "retry", "error"],
    ),
    ("store", &["store"]),
    ("session", &["session"]),
    ("routes", &["routes"]),
    ("adapter", &["adapter"]),
];

/// Modules every layer may import; they import only each other.
const LEAVES: &[&str] = &[
    "model",
    "csp",
    "telemetry",
    "trace",
    "flag",
    "validation",
    "embed_js",
    "rate",
];

/// `None` for a leaf, else the layer's position.
fn rank(module: &str) -> Option<Option<usize>> {
    if LEAVES.contains(&module) {
        return Some(None);
    }
    LAYERS
        .iter()
        .position(|(_, modules)| modules.contains(&module))
        .map(Some)
}

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The code of a file without comments and without `#[cfg(test)]` modules' bodies (tests
/// may reach anywhere): good enough for `use` lines and paths.
fn code(text: &str) -> String {
    let mut out = String::new();
    for line in text.lines() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("#[cfg(test)]") {
            break;
        }
        if trimmed.starts_with("//") {
            continue;
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

#[test]
fn every_module_imports_only_leftwards_and_never_through_the_root() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut all = Vec::new();
    files(&src, &mut all);
    let mut broken = Vec::new();
    for file in &all {
        let rel = file.strip_prefix(&src).unwrap();
        let module = rel
            .components()
            .next()
            .unwrap()
            .as_os_str()
            .to_str()
            .unwrap()
            .trim_end_matches(".rs")
            .to_owned();
        if module == "lib" || module.ends_with("tests") {
            continue;
        }
        let Some(own) = rank(&module) else {
            broken.push(format!(
                "{}: module `{module}` is in no layer",
                rel.display()
            ));
            continue;
        };
        let text = code(&std::fs::read_to_string(file).unwrap());
        for (at, _) in text.match_indices("crate::") {
            let rest = &text[at + "crate::".len()..];
            let name: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            if name.is_empty() {
                continue; // `crate::{…}` groups are not used here
            }
            if name.starts_with(char::is_uppercase) {
                broken.push(format!(
                    "{}: `crate::{name}` (through the root)",
                    rel.display()
                ));
                continue;
            }
            if name == module {
                continue;
            }
            let Some(theirs) = rank(&name) else { continue };
            let allowed = match (own, theirs) {
                (_, None) => true,
                (None, Some(_)) => false,
                (Some(mine), Some(other)) => other <= mine,
            };
            if !allowed {
                broken.push(format!("{}: `{module}` imports `{name}`", rel.display()));
            }
        }
    }
    assert!(broken.is_empty(), "layering broken:\n{}", broken.join("\n"));
}
