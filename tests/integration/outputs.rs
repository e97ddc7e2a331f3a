//! Where reports go, and inputs that cannot seek: checked before reading,
//! one failing output never costs the others, pipes and FIFOs are read as
//! streams.

use std::process::Stdio;

use crate::{bin, code, csv_without, path_str, root, run};

const DEPLOYMENT: &str = "examples/air-lab.toml";
const VIOLATIONS: &str = "fixtures/binalyze-air/violations.pcap";

fn file(rel: &str) -> String {
    path_str(&root().join(rel))
}

#[test]
fn two_reports_on_one_file_are_refused_before_reading() {
    let dir = tempfile::tempdir().unwrap();
    let x = path_str(&dir.path().join("x.csv"));
    // The capture does not exist: the refusal comes first.
    let o = run(&[
        "audit",
        "-d",
        &file(DEPLOYMENT),
        "/nonexistent.pcap",
        "-o",
        &x,
        "--flows",
        &x,
    ]);
    assert_eq!(code(&o), 2);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("--output and --flows both write to"), "{err}");
    assert!(!dir.path().join("x.csv").exists());
    // The same file under another name is the same file.
    let other = format!("{}/./x.csv", dir.path().display());
    let o = run(&[
        "audit",
        "-d",
        &file(DEPLOYMENT),
        &file(VIOLATIONS),
        "-o",
        &x,
        "--junit",
        &other,
    ]);
    assert_eq!(code(&o), 2, "{}", String::from_utf8_lossy(&o.stderr));
}

#[test]
fn two_reports_on_stdout_are_refused() {
    let o = run(&[
        "audit",
        "-d",
        &file(DEPLOYMENT),
        &file(VIOLATIONS),
        "--html",
        "-",
        "--sarif",
        "-",
    ]);
    assert_eq!(code(&o), 2);
    assert!(o.stdout.is_empty());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("standard output"), "{err}");
}

#[test]
fn an_output_that_cannot_be_written_is_found_before_reading() {
    let o = run(&[
        "audit",
        "-d",
        &file(DEPLOYMENT),
        &file(VIOLATIONS),
        "-o",
        "/nonexistent/x.csv",
    ]);
    assert_eq!(code(&o), 2);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("/nonexistent/x.csv"), "{err}");
    let o = run(&["flows", &file(VIOLATIONS), "--stats", "/nonexistent/s.json"]);
    assert_eq!(code(&o), 2);
}

#[test]
fn stats_dash_is_stdout() {
    let o = run(&[
        "flows",
        &file(VIOLATIONS),
        "-q",
        "-o",
        "/dev/null",
        "--stats",
        "-",
    ]);
    assert_eq!(code(&o), 0);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("stats JSON on stdout");
    assert!(v["packets"]["read"].as_u64().unwrap() > 0);
    assert!(!std::path::Path::new("-").exists());
}

/// `| head -1` closes stdout early: the other reports are still written,
/// and the exit status is the audit's.
#[test]
fn a_closed_stdout_costs_no_other_report() {
    let dir = tempfile::tempdir().unwrap();
    let (stats, junit, html) = (
        dir.path().join("s.json"),
        dir.path().join("j.xml"),
        dir.path().join("a.html"),
    );
    let child = bin()
        .args(["audit", "-q", "-d", &file(DEPLOYMENT), &file(VIOLATIONS)])
        .args(["--stats", &path_str(&stats), "--junit", &path_str(&junit)])
        .args(["--html", &path_str(&html)])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Nobody reads the findings.
    let mut child = child;
    drop(child.stdout.take());
    let o = child.wait_with_output().unwrap();
    assert_eq!(code(&o), 1, "{}", String::from_utf8_lossy(&o.stderr));
    for p in [&stats, &junit, &html] {
        assert!(p.exists(), "{} not written", p.display());
    }
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .filter(|n| n.to_string_lossy().ends_with(".portaudit-tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

/// `<(zcat day.pcap.gz)`, a FIFO, `/dev/stdin` on a pipe: read as streams.
#[test]
fn process_substitution_and_fifos_are_read_as_streams() {
    let direct = run(&["audit", "-d", &file(DEPLOYMENT), &file(VIOLATIONS)]);
    let script = format!(
        "{} audit -d {} <(cat {})",
        env!("CARGO_BIN_EXE_portaudit"),
        file(DEPLOYMENT),
        file(VIOLATIONS)
    );
    let o = std::process::Command::new("bash")
        .args(["-c", &script])
        .output()
        .unwrap();
    assert_eq!(
        code(&o),
        code(&direct),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(
        csv_without(&o.stdout, "source"),
        csv_without(&direct.stdout, "source")
    );
    // /dev/stdin on a pipe.
    let o = bin()
        .args(["audit", "-d", &file(DEPLOYMENT), "/dev/stdin"])
        .stdin(std::fs::File::open(root().join(VIOLATIONS)).unwrap())
        .output()
        .unwrap();
    assert_eq!(
        csv_without(&o.stdout, "source"),
        csv_without(&direct.stdout, "source")
    );
}

#[test]
fn stdin_named_twice_is_refused() {
    let o = bin()
        .args(["audit", "-d", &file(DEPLOYMENT), "-", "-"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(code(&o), 2);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("standard input is named twice"), "{err}");
}

#[test]
fn threads_beyond_four_per_core_are_refused_and_zero_means_every_core() {
    let o = run(&["flows", &file(VIOLATIONS), "-q", "--threads", "100000"]);
    assert_eq!(code(&o), 2);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("per core"), "{err}");
    let o = run(&[
        "flows",
        &file(VIOLATIONS),
        "-q",
        "--threads",
        "0",
        "-o",
        "/dev/null",
    ]);
    assert_eq!(code(&o), 0);
}
