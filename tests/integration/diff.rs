//! `portaudit diff`: two findings reports compared, in any of the formats
//! `audit` writes.

use crate::{code, path_str, root, run};

/// Audits `capture` against the AIR lab deployment into `dir/name` in
/// `format`.
fn findings(dir: &std::path::Path, capture: &str, format: &str, name: &str) -> String {
    let out = path_str(&dir.join(name));
    let o = run(&[
        "audit",
        "-q",
        "-d",
        &path_str(&root().join("examples/air-lab.toml")),
        &path_str(&root().join("fixtures/binalyze-air").join(capture)),
        "--format",
        format,
        "-o",
        &out,
    ]);
    assert!(code(&o) <= 1, "{}", String::from_utf8_lossy(&o.stderr));
    out
}

#[test]
fn violations_are_new_against_a_compliant_run_and_exit_1() {
    let dir = tempfile::tempdir().unwrap();
    let clean = findings(dir.path(), "compliant.pcapng", "csv", "clean.csv");
    let bad = findings(dir.path(), "violations.pcap", "ndjson", "bad.ndjson");
    let n = std::fs::read_to_string(&bad).unwrap().lines().count();
    assert!(n > 0);
    let o = run(&["diff", &clean, &bad]);
    assert_eq!(code(&o), 1, "{}", String::from_utf8_lossy(&o.stderr));
    let text = String::from_utf8(o.stdout).unwrap();
    assert!(
        text.ends_with(&format!("{n} new, 0 fixed, 0 changed, 0 unchanged\n")),
        "{text}"
    );
    // The other way round, they are fixed, and nothing is new.
    let o = run(&["diff", &bad, &clean, "--format", "json"]);
    assert_eq!(code(&o), 0);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["counts"]["fixed"], n);
    assert_eq!(v["counts"]["new"], 0);
}

#[test]
fn a_run_against_itself_in_another_format_is_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let csv = findings(dir.path(), "violations.pcap", "csv", "a.csv");
    let json = findings(dir.path(), "violations.pcap", "json", "a.json");
    let o = run(&["diff", &csv, &json, "--format", "json"]);
    assert_eq!(code(&o), 0, "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["counts"]["new"], 0);
    assert_eq!(v["counts"]["fixed"], 0);
    assert_eq!(v["counts"]["changed"], 0);
    assert!(v["counts"]["unchanged"].as_u64().unwrap() > 0);
}

#[test]
fn a_report_that_cannot_be_read_names_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let good = findings(dir.path(), "violations.pcap", "ndjson", "a.ndjson");
    let bad = dir.path().join("b.ndjson");
    std::fs::write(&bad, "{\"kind\":\"unexpected-port\"}\n{not json\n").unwrap();
    let o = run(&["diff", &good, &path_str(&bad)]);
    assert_eq!(code(&o), 2);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("b.ndjson: line 2:"), "{err}");
}

fn audit_with(args: &[&str], capture: &str) -> std::process::Output {
    let dep = path_str(&root().join("examples/air-lab.toml"));
    let cap = path_str(&root().join("fixtures/binalyze-air").join(capture));
    let mut all = vec!["audit", "-q", "-d", &dep, &cap];
    all.extend_from_slice(args);
    run(&all)
}

#[test]
fn a_rerun_against_its_own_baseline_passes_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let base = findings(dir.path(), "violations.pcap", "json", "base.json");
    let stats = path_str(&dir.path().join("s.json"));
    let sarif = path_str(&dir.path().join("a.sarif"));
    let o = audit_with(
        &["--baseline", &base, "--stats", &stats, "--sarif", &sarif],
        "violations.pcap",
    );
    assert_eq!(code(&o), 0, "{}", String::from_utf8_lossy(&o.stderr));
    let csv = String::from_utf8(o.stdout).unwrap();
    assert!(csv.lines().next().unwrap().ends_with(",baseline"), "{csv}");
    assert!(
        csv.lines().skip(1).all(|l| l.ends_with(",unchanged")),
        "{csv}"
    );
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&stats).unwrap()).unwrap();
    assert_eq!(v["baseline"]["new"], 0);
    assert_eq!(v["baseline"]["absent"], 0);
    assert!(v["baseline"]["unchanged"].as_u64().unwrap() > 0);
    let s: serde_json::Value = serde_json::from_slice(&std::fs::read(&sarif).unwrap()).unwrap();
    let results = s["runs"][0]["results"].as_array().unwrap();
    assert!(results.iter().all(|r| r["baselineState"] == "unchanged"));
    // Known findings fail again when asked to.
    let o = audit_with(
        &["--baseline", &base, "--fail-on-baseline"],
        "violations.pcap",
    );
    assert_eq!(code(&o), 1);
}

#[test]
fn findings_the_baseline_lacks_are_new_and_those_it_has_alone_are_fixed() {
    let dir = tempfile::tempdir().unwrap();
    let clean = findings(dir.path(), "compliant.pcapng", "ndjson", "clean.ndjson");
    let bad = findings(dir.path(), "violations.pcap", "csv", "bad.csv");
    let n = std::fs::read_to_string(&bad).unwrap().lines().count() - 1;
    let stats = path_str(&dir.path().join("s.json"));
    let html = dir.path().join("page.html");
    let o = audit_with(
        &[
            "--baseline",
            &clean,
            "--stats",
            &stats,
            "--html",
            &path_str(&html),
        ],
        "violations.pcap",
    );
    assert_eq!(code(&o), 1);
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&stats).unwrap()).unwrap();
    assert_eq!(v["baseline"]["new"], n);
    // The page says it, marks each row and filters by it.
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(
        page.contains(&format!("{n} new, 0 unchanged, 0 fixed")),
        "baseline counts"
    );
    assert_eq!(page.matches("data-standing=\"new;active\"").count(), n);
    assert!(page.contains(&format!("<option value=\"new\">new ({n})</option>")));
    assert_eq!(
        page.matches("<span class=\"tag tag-new\">new</span>")
            .count(),
        n
    );
    let o = audit_with(&["--baseline", &bad, "--stats", &stats], "compliant.pcapng");
    assert_eq!(code(&o), 0);
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&stats).unwrap()).unwrap();
    assert_eq!(v["baseline"]["absent"], n);
}

#[test]
fn a_baseline_that_cannot_be_read_stops_the_audit_before_it_starts() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("b.json");
    std::fs::write(&bad, "[{\"kind\": ]").unwrap();
    let o = audit_with(&["--baseline", &path_str(&bad)], "violations.pcap");
    assert_eq!(code(&o), 2);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("--baseline") && err.contains("line 1, column"),
        "{err}"
    );
}
