//! Fixture captures against their golden findings, byte for byte, and the
//! same reports whatever the thread count.

use crate::{code, path_str, root, run};

fn audit(capture: &str, threads: &str) -> (i32, Vec<u8>, Vec<u8>) {
    let dir = tempfile::tempdir().unwrap();
    let flows = dir.path().join("flows.csv");
    let o = run(&[
        "audit",
        "-q",
        "-d",
        &path_str(&root().join("examples/air-lab.toml")),
        &path_str(&root().join(capture)),
        "--threads",
        threads,
        "--flows",
        &path_str(&flows),
    ]);
    (code(&o), o.stdout, std::fs::read(flows).unwrap())
}

#[test]
fn air_compliant_capture_has_no_findings() {
    let (status, out, _) = audit("fixtures/binalyze-air/compliant.pcapng", "2");
    let golden =
        std::fs::read(root().join("fixtures/binalyze-air/compliant.findings.csv")).unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out),
        String::from_utf8_lossy(&golden)
    );
    assert_eq!(
        out.split(|&b| b == b'\n').filter(|l| !l.is_empty()).count(),
        1,
        "header only"
    );
    assert_eq!(status, 0);
}

#[test]
fn air_violations_capture_matches_golden_and_covers_every_kind() {
    let (status, out, _) = audit("fixtures/binalyze-air/violations.pcap", "2");
    let golden =
        std::fs::read(root().join("fixtures/binalyze-air/violations.findings.csv")).unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out),
        String::from_utf8_lossy(&golden)
    );
    assert_eq!(status, 1);
    let text = String::from_utf8(out).unwrap();
    for kind in [
        "unexpected-port",
        "wrong-direction",
        "disabled-feature",
        "local-only-exposed",
        "retired-port",
        "missing-expected",
    ] {
        assert!(text.contains(&format!(",{kind},")), "no {kind} finding");
    }
    for state in ["never-attempted", "refused", "unanswered"] {
        assert!(
            text.contains(&format!(",{state},")),
            "no missing-expected {state}"
        );
    }
    assert!(
        text.contains("warning,wrong-direction"),
        "inferred direction is a warning"
    );
    assert!(
        text.contains("error,wrong-direction"),
        "evidenced direction is an error"
    );
}

#[test]
fn one_thread_and_four_threads_give_identical_reports() {
    for capture in [
        "fixtures/binalyze-air/violations.pcap",
        "../shared/captures/tls-ipv4-ipv6-bulk.pcap",
        "../shared/captures/ipv4-fragments-bulk.pcap",
    ] {
        let one = audit(capture, "1");
        let four = audit(capture, "4");
        assert_eq!(one, four, "{capture}");
    }
}
