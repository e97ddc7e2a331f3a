//! Fixture captures against their golden findings, byte for byte, and the
//! same reports whatever the thread count.

use crate::{code, path_str, root, run, run_in_root};

/// Audits `capture` (relative to the repository's root) against
/// `examples/<deployment>.toml`: exit status, findings, flows.
fn audit(deployment: &str, capture: &str, threads: &str) -> (i32, Vec<u8>, Vec<u8>) {
    let dir = tempfile::tempdir().unwrap();
    let flows = dir.path().join("flows.csv");
    let capture = match capture.starts_with("@shared/") {
        true => path_str(&crate::input_path(capture)),
        false => capture.to_string(),
    };
    let o = run_in_root(&[
        "audit",
        "-q",
        "-d",
        &format!("examples/{deployment}.toml"),
        &capture,
        "--threads",
        threads,
        "--flows",
        &path_str(&flows),
    ]);
    (code(&o), o.stdout, std::fs::read(flows).unwrap())
}

/// (directory under fixtures/, deployment under examples/, capture,
/// expected exit status, finding kinds it must show).
type Case = (
    &'static str,
    &'static str,
    &'static str,
    i32,
    &'static [&'static str],
);

const EVERY_KIND: &[&str] = &[
    "unexpected-port",
    "wrong-direction",
    "disabled-feature",
    "local-only-exposed",
    "retired-port",
    "missing-expected",
];

const CASES: &[Case] = &[
    ("binalyze-air", "air-lab", "compliant.pcapng", 0, &[]),
    ("binalyze-air", "air-lab", "violations.pcap", 1, EVERY_KIND),
    ("juniper-jsa", "jsa-site", "compliant.pcapng", 0, &[]),
    ("juniper-jsa", "jsa-site", "violations.pcap", 1, EVERY_KIND),
    (
        "netwrix-threat-manager",
        "netwrix-site",
        "compliant.pcap",
        0,
        &[],
    ),
    (
        "netwrix-threat-manager",
        "netwrix-site",
        "violations.pcapng",
        1,
        &[
            "unexpected-port",
            "wrong-direction",
            "disabled-feature",
            "missing-expected",
        ],
    ),
    (
        "cayosoft-guardian",
        "cayosoft-site",
        "compliant.pcapng",
        0,
        &[],
    ),
    (
        "cayosoft-guardian",
        "cayosoft-site",
        "violations.pcap",
        1,
        &[
            "unexpected-port",
            "wrong-direction",
            "disabled-feature",
            "missing-expected",
        ],
    ),
    ("ad-shared", "ad-shared", "compliant.pcap", 0, &[]),
    (
        "ad-shared",
        "ad-shared",
        "violations.pcapng",
        1,
        &["unexpected-port", "wrong-direction", "missing-expected"],
    ),
];

fn golden_path(dir: &str, capture: &str) -> std::path::PathBuf {
    let stem = capture.split('.').next().unwrap_or(capture);
    root().join(format!("fixtures/{dir}/{stem}.findings.csv"))
}

/// After a deliberate change: `PORTAUDIT_BLESS=1 cargo test --release
/// --test integration golden` rewrites the golden files; read the diff.
#[test]
fn every_fixture_matches_its_golden_findings() {
    let bless = std::env::var_os("PORTAUDIT_BLESS").is_some();
    let mut failures = Vec::new();
    for &(dir, deployment, capture, status, kinds) in CASES {
        let (got, out, _) = audit(deployment, &format!("fixtures/{dir}/{capture}"), "2");
        if bless {
            std::fs::write(golden_path(dir, capture), &out).unwrap();
        }
        let golden = std::fs::read(golden_path(dir, capture)).unwrap();
        if out != golden {
            failures.push(format!(
                "{dir}/{capture}: findings differ from the golden file\n--- golden\n{}--- got\n{}",
                String::from_utf8_lossy(&golden),
                String::from_utf8_lossy(&out)
            ));
        }
        if got != status {
            failures.push(format!("{dir}/{capture}: exit {got}, expected {status}"));
        }
        let text = String::from_utf8_lossy(&out);
        let rows = text.lines().count() - 1;
        if kinds.is_empty() && rows != 0 {
            failures.push(format!(
                "{dir}/{capture}: compliant capture has {rows} findings"
            ));
        }
        for kind in kinds {
            if !text.contains(&format!(",{kind},")) {
                failures.push(format!("{dir}/{capture}: no {kind} finding"));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn air_violations_show_every_missing_state_and_both_direction_severities() {
    let (_, out, _) = audit("air-lab", "fixtures/binalyze-air/violations.pcap", "2");
    let text = String::from_utf8(out).unwrap();
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
fn shared_hosts_do_not_lend_one_profile_rules_to_the_other() {
    let (_, out, _) = audit("ad-shared", "fixtures/ad-shared/violations.pcapng", "1");
    let text = String::from_utf8(out).unwrap();
    // TCP 9389 is Threat Manager's; Guardian on the same domain controller
    // gets no pass from it.
    let row = text
        .lines()
        .find(|l| l.contains(",10.5.0.40,") && l.contains(",9389,"))
        .unwrap_or_else(|| panic!("no finding for Guardian on 9389:\n{text}"));
    assert!(row.contains("unexpected-port"), "{row}");
}

#[test]
fn fixtures_on_disk_are_what_the_generator_writes() {
    let dir = tempfile::tempdir().unwrap();
    portaudit_synth::fixtures::write_fixtures(dir.path()).unwrap();
    for &(sub, _, capture, _, _) in CASES {
        let fresh = std::fs::read(dir.path().join(sub).join(capture)).unwrap();
        let shipped = std::fs::read(root().join("fixtures").join(sub).join(capture)).unwrap();
        assert!(
            fresh == shipped,
            "fixtures/{sub}/{capture} is stale: rerun `cargo run -p portaudit-synth --bin portaudit-fixtures -- fixtures`"
        );
    }
}

#[test]
fn one_thread_and_four_threads_give_identical_reports() {
    for (deployment, capture) in [
        ("air-lab", "fixtures/binalyze-air/violations.pcap"),
        ("jsa-site", "fixtures/juniper-jsa/violations.pcap"),
        ("ad-shared", "fixtures/ad-shared/violations.pcapng"),
        ("air-lab", "@shared/captures/tls-ipv4-ipv6-bulk.pcap"),
        ("air-lab", "@shared/captures/ipv4-fragments-bulk.pcap"),
    ] {
        if capture.starts_with("@shared/")
            && crate::shared_missing(&format!("golden::one_thread_and_four_threads ({capture})"))
        {
            continue;
        }
        let one = audit(deployment, capture, "1");
        let four = audit(deployment, capture, "4");
        assert_eq!(one, four, "{capture}");
    }
}

/// Without `--flows` the audit keeps no per-flow verdicts (memory grows
/// with flows, not with what is kept for a report nobody asked for): the
/// findings and the run summary are the same as with it.
#[test]
fn findings_and_summary_do_not_depend_on_asking_for_flows() {
    for (deployment, capture) in [
        ("air-lab", "fixtures/binalyze-air/violations.pcap"),
        ("ad-shared", "fixtures/ad-shared/violations.pcapng"),
        ("air-lab", "@shared/captures/tls-ipv4-ipv6-bulk.pcap"),
    ] {
        if capture.starts_with("@shared/")
            && crate::shared_missing(&format!("golden::findings_and_summary ({capture})"))
        {
            continue;
        }
        let dir = tempfile::tempdir().unwrap();
        let run_with = |flows: bool| {
            let stats = dir.path().join(format!("stats-{flows}.json"));
            let flows_csv = dir.path().join("flows.csv");
            let mut args = vec![
                "audit".to_string(),
                "-d".into(),
                path_str(&root().join(format!("examples/{deployment}.toml"))),
                path_str(&crate::input_path(capture)),
                "--stats".into(),
                path_str(&stats),
            ];
            if flows {
                args.extend(["--flows".into(), path_str(&flows_csv)]);
            }
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let o = run(&args);
            (code(&o), o.stdout, o.stderr, std::fs::read(&stats).unwrap())
        };
        assert_eq!(run_with(false), run_with(true), "{capture}");
    }
}
