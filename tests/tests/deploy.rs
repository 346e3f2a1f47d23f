//! The alert rules and the dashboard in `deploy/` query only series meshes-rs exports
//! (`meshes_core::telemetry::METRICS`), with histogram suffixes only on histograms; and every
//! metric of the library appears on the dashboard. (`promtool` checks the rules themselves
//! in `.ci/run`.)

use std::collections::BTreeSet;
use std::path::Path;

use meshes_core::telemetry::METRICS;

/// Every `meshes_*` identifier in `text`.
fn series(text: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let bytes = text.as_bytes();
    let mut i = 0;
    while let Some(at) = text[i..].find("meshes_") {
        let start = i + at;
        let boundary =
            start == 0 || !(bytes[start - 1].is_ascii_alphanumeric() || bytes[start - 1] == b'_');
        let end = start
            + text[start..]
                .find(|c: char| !(c.is_ascii_lowercase() || c == '_'))
                .unwrap_or(text.len() - start);
        // `meshes_*` in prose names the family, not a series.
        if boundary && !text[start..end].ends_with('_') {
            found.insert(text[start..end].to_owned());
        }
        i = end;
    }
    found
}

/// The library metric a queried series belongs to, if any.
fn exported(name: &str) -> Option<&'static str> {
    METRICS.iter().find_map(|(metric, kind)| {
        let exact = name == *metric;
        let histogram_part = *kind == "histogram"
            && ["_bucket", "_sum", "_count"]
                .iter()
                .any(|suffix| name.strip_suffix(suffix) == Some(metric));
        (exact || histogram_part).then_some(*metric)
    })
}

fn read(path: &str) -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    std::fs::read_to_string(root.join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[test]
fn rules_and_dashboard_query_only_exported_series() {
    let mut on_dashboard = BTreeSet::new();
    for path in [
        "deploy/prometheus/meshes-alerts.yml",
        "deploy/prometheus/meshes-alerts.test.yml",
        "deploy/grafana/meshes-dashboard.json",
    ] {
        let names = series(&read(path));
        assert!(!names.is_empty(), "{path} queries nothing");
        for name in &names {
            let metric = exported(name).unwrap_or_else(|| {
                panic!("{path} queries {name}, which meshes-rs does not export")
            });
            if path.ends_with(".json") {
                on_dashboard.insert(metric);
            }
        }
    }
    let missing: Vec<_> = METRICS
        .iter()
        .map(|(m, _)| *m)
        .filter(|m| !on_dashboard.contains(m))
        .collect();
    assert!(missing.is_empty(), "not on the dashboard: {missing:?}");
}

#[test]
fn the_check_itself_catches_a_wrong_name() {
    assert_eq!(
        exported("meshes_upstream_request_duration_seconds_bucket"),
        Some("meshes_upstream_request_duration_seconds")
    );
    assert_eq!(
        exported("meshes_mints_total_bucket"),
        None,
        "a counter has no buckets"
    );
    assert_eq!(exported("meshes_upstream_breaker_opened"), None);
    let found = series(
        r#"rate(meshes_upstream_shed_total{reason="x"}[5m]) / xmeshes_no, the meshes_* series"#,
    );
    assert_eq!(
        found.into_iter().collect::<Vec<_>>(),
        ["meshes_upstream_shed_total"]
    );
}

#[test]
fn the_library_documents_each_metric_it_lists() {
    // The table in meshes_core::telemetry's docs and METRICS agree.
    let docs = read("meshes-core/src/telemetry.rs");
    for (metric, kind) in METRICS {
        assert!(
            docs.contains(&format!("| `{metric}` | {kind} |")),
            "{metric} ({kind}) is not in the telemetry table"
        );
    }
}
