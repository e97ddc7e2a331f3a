//! Every report format on the fixture captures: golden files byte for byte
//! (`PORTAUDIT_BLESS=1 cargo test --release reports` rewrites them after a
//! change that is meant), and what each format promises, checked by
//! reading it back: the same fields in CSV, NDJSON and JSON; JUnit cases
//! that agree with the exit status; SARIF results that point at rules.

use std::collections::BTreeMap;
use std::process::Command;

use crate::{code, root, run_in_root};

/// (fixture directory, deployment under examples/, capture).
const CASES: &[(&str, &str, &str)] = &[
    ("binalyze-air", "air-lab", "violations.pcap"),
    ("binalyze-air", "air-lab", "compliant.pcapng"),
    ("juniper-jsa", "jsa-site", "violations.pcap"),
    (
        "netwrix-threat-manager",
        "netwrix-site",
        "violations.pcapng",
    ),
    ("cayosoft-guardian", "cayosoft-site", "violations.pcap"),
    ("ad-shared", "ad-shared", "violations.pcapng"),
];

/// Runs portaudit in the repository root, so that the paths in reports
/// are the relative ones a user types.
/// Every report of one audit: (suffix of its golden file, bytes).
fn reports(dir: &str, deployment: &str, capture: &str) -> Vec<(&'static str, Vec<u8>)> {
    let tmp = tempfile::tempdir().unwrap();
    let t = |name: &str| tmp.path().join(name).to_str().unwrap().to_string();
    let capture = format!("fixtures/{dir}/{capture}");
    let deployment = format!("examples/{deployment}.toml");
    let o = run_in_root(&[
        "audit",
        "-d",
        &deployment,
        &capture,
        "--threads",
        "2",
        "--junit",
        &t("junit.xml"),
        "--sarif",
        &t("sarif"),
        "--html",
        &t("report.html"),
        "--format",
        "ndjson",
        "--flows",
        &t("flows.ndjson"),
    ]);
    let status = code(&o);
    let mut files = vec![
        ("findings.ndjson", o.stdout),
        ("summary.txt", o.stderr),
        ("junit.xml", std::fs::read(t("junit.xml")).unwrap()),
        ("sarif", std::fs::read(t("sarif")).unwrap()),
        ("report.html", std::fs::read(t("report.html")).unwrap()),
        ("flows.ndjson", std::fs::read(t("flows.ndjson")).unwrap()),
    ];
    let json = run_in_root(&[
        "audit",
        "-q",
        "-d",
        &deployment,
        &capture,
        "--format",
        "json",
        "--flows",
        &t("flows.json"),
    ]);
    assert_eq!(code(&json), status, "{capture}");
    files.push(("findings.json", json.stdout));
    files.push(("flows.json", std::fs::read(t("flows.json")).unwrap()));
    files
}

fn golden(dir: &str, capture: &str, suffix: &str) -> std::path::PathBuf {
    let stem = capture.split('.').next().unwrap_or(capture);
    root().join(format!("fixtures/reports/{dir}/{stem}.{suffix}"))
}

#[test]
fn every_format_matches_its_golden_file() {
    let bless = std::env::var_os("PORTAUDIT_BLESS").is_some();
    let mut failures = Vec::new();
    for &(dir, deployment, capture) in CASES {
        for (suffix, got) in reports(dir, deployment, capture) {
            let path = golden(dir, capture, suffix);
            if bless {
                std::fs::write(&path, &got).unwrap();
                continue;
            }
            let want = std::fs::read(&path).unwrap_or_default();
            if want != got {
                failures.push(format!(
                    "{}: differs (rerun with PORTAUDIT_BLESS=1 if the change is meant)\n--- golden\n{}--- got\n{}",
                    path.display(),
                    String::from_utf8_lossy(&want),
                    String::from_utf8_lossy(&got)
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// A record read back from any of the three formats: field → text (JSON
/// numbers as their digits, `null` as an empty cell).
type Record = BTreeMap<String, String>;

fn json_record(v: &serde_json::Value) -> Record {
    v.as_object()
        .expect("an object per record")
        .iter()
        .map(|(k, v)| {
            let text = match v {
                serde_json::Value::Null => String::new(),
                serde_json::Value::String(s) => s.clone(),
                serde_json::Value::Number(n) => {
                    assert!(n.is_u64(), "{k}: numbers are counts and ports");
                    n.to_string()
                }
                other => panic!("{k}: unexpected {other}"),
            };
            (k.clone(), text)
        })
        .collect()
}

fn csv_records(bytes: &[u8]) -> (Vec<String>, Vec<Record>) {
    let mut r = csv::Reader::from_reader(bytes);
    let header: Vec<String> = r.headers().unwrap().iter().map(String::from).collect();
    let rows = r
        .records()
        .map(|rec| {
            header
                .iter()
                .cloned()
                .zip(rec.unwrap().iter().map(String::from))
                .collect()
        })
        .collect();
    (header, rows)
}

/// The three formats say the same, field for field, in the same order;
/// JSON types counts and ports as numbers.
#[test]
fn csv_ndjson_and_json_carry_the_same_records() {
    for (command, extra) in [("audit", true), ("flows", false)] {
        let mut outputs = BTreeMap::new();
        for format in ["csv", "ndjson", "json"] {
            let mut args = vec![command, "-q", "--format", format];
            if extra {
                args.extend(["-d", "examples/air-lab.toml"]);
            }
            args.push("fixtures/binalyze-air/violations.pcap");
            let o = run_in_root(&args);
            outputs.insert(format, o.stdout);
        }
        let (header, csv_rows) = csv_records(&outputs["csv"]);
        assert!(csv_rows.len() > 5, "{command}: too few rows to compare");
        // NDJSON flows are a flow file: each row also holds its flow whole
        // (`flow_record`, for `audit` to read back), which the others do
        // not, and a last line lists the inputs.
        let text = String::from_utf8(outputs["ndjson"].clone()).unwrap();
        let mut lines: Vec<&str> = text.lines().collect();
        if command == "flows" {
            let inputs = lines.pop().unwrap();
            assert!(inputs.starts_with("{\"portaudit_inputs\":"), "{inputs}");
        }
        let ndjson: Vec<serde_json::Value> = lines
            .into_iter()
            .map(|l| {
                let mut row: serde_json::Value = serde_json::from_str(l).unwrap();
                let record = row.as_object_mut().unwrap().remove("flow_record");
                assert_eq!(record.is_some(), command == "flows", "{command}: {l}");
                row
            })
            .collect();
        let json: serde_json::Value = serde_json::from_slice(&outputs["json"]).unwrap();
        let json = json.as_array().expect("one JSON array").clone();
        assert_eq!(ndjson, json, "{command}: NDJSON and JSON differ");
        for (i, (c, j)) in csv_rows.iter().zip(&json).enumerate() {
            assert_eq!(c, &json_record(j), "{command}: row {i}");
            let keys: Vec<&String> = j.as_object().unwrap().keys().collect();
            assert_eq!(keys.len(), header.len());
        }
        assert_eq!(csv_rows.len(), json.len(), "{command}");
        // Keys come in the CSV's column order (not sorted).
        let first_line = String::from_utf8_lossy(&outputs["ndjson"])
            .lines()
            .next()
            .unwrap()
            .to_string();
        let mut at = 0;
        for h in &header {
            let pos = first_line[at..]
                .find(&format!("\"{h}\":"))
                .unwrap_or_else(|| panic!("{command}: {h} out of order in {first_line}"));
            at += pos;
        }
        let typed = &json[0];
        let number = if command == "audit" {
            "bytes"
        } else {
            "responder_port"
        };
        assert!(typed[number].is_u64(), "{command}: {number} is a number");
    }
}

#[test]
fn an_empty_report_is_an_empty_array() {
    let o = run_in_root(&[
        "audit",
        "-q",
        "-d",
        "examples/air-lab.toml",
        "fixtures/binalyze-air/compliant.pcapng",
        "--format",
        "json",
    ]);
    assert_eq!((code(&o), o.stdout.as_slice()), (0, &b"[]\n"[..]));
}

fn attr<'a>(n: &roxmltree::Node<'a, '_>, name: &str) -> &'a str {
    n.attribute(name)
        .unwrap_or_else(|| panic!("<{}> has no {name}", n.tag_name().name()))
}

/// Each finding is told in exactly one case; failed cases are exactly
/// those with findings at or above --fail-on; counts add up.
#[test]
fn junit_cases_account_for_every_finding_and_agree_with_the_exit_status() {
    for &(dir, deployment, capture) in CASES {
        for fail_on in ["error", "warning", "never"] {
            let tmp = tempfile::tempdir().unwrap();
            let junit = tmp.path().join("junit.xml");
            let o = run_in_root(&[
                "audit",
                "-q",
                "-d",
                &format!("examples/{deployment}.toml"),
                &format!("fixtures/{dir}/{capture}"),
                "--fail-on",
                fail_on,
                "--junit",
                junit.to_str().unwrap(),
            ]);
            let what = format!("{capture} --fail-on {fail_on}");
            let (_, findings) = csv_records(&o.stdout);
            let xml = std::fs::read_to_string(&junit).unwrap();
            let doc =
                roxmltree::Document::parse(&xml).unwrap_or_else(|e| panic!("{what}: not XML: {e}"));
            let root_el = doc.root_element();
            assert_eq!(root_el.tag_name().name(), "testsuites");
            let mut failures = 0;
            let mut told = String::new();
            let mut tests = 0;
            for suite in root_el.children().filter(|n| n.has_tag_name("testsuite")) {
                let cases: Vec<_> = suite
                    .children()
                    .filter(|n| n.has_tag_name("testcase"))
                    .collect();
                assert_eq!(attr(&suite, "tests"), cases.len().to_string(), "{what}");
                let failed = cases
                    .iter()
                    .filter(|c| c.children().any(|n| n.has_tag_name("failure")))
                    .count();
                assert_eq!(attr(&suite, "failures"), failed.to_string(), "{what}");
                failures += failed;
                tests += cases.len();
                for c in &cases {
                    for n in c.children().filter(|n| n.is_element()) {
                        if n.has_tag_name("failure") || n.has_tag_name("system-out") {
                            told.push_str(n.text().unwrap_or(""));
                        }
                    }
                }
            }
            assert_eq!(attr(&root_el, "tests"), tests.to_string(), "{what}");
            assert_eq!(attr(&root_el, "failures"), failures.to_string(), "{what}");
            let failing = findings.iter().any(|f| match fail_on {
                "never" => false,
                "warning" => f["severity"] != "info",
                _ => f["severity"] == "error",
            });
            assert_eq!(failures > 0, failing, "{what}");
            assert_eq!(code(&o), i32::from(failing), "{what}");
            // Each finding's line appears once in the whole report.
            for f in &findings {
                let needle = format!("{} {}: ", f["severity"], f["kind"]);
                let detail = &f["detail"];
                let n = told
                    .lines()
                    .filter(|l| l.starts_with(&needle) && l.contains(detail.as_str()))
                    .filter(|l| f["src_ip"].is_empty() || l.contains(&f["src_ip"]))
                    .filter(|l| f["dst_ip"].is_empty() || l.contains(&f["dst_ip"]))
                    .filter(|l| l.contains(&format!(" {}/{}: ", f["proto"], f["dst_port"])))
                    .count();
                assert_eq!(n, 1, "{what}: finding told {n} times: {f:?}");
            }
        }
    }
}

/// A damaged capture is an error case, as it is exit status 3.
#[test]
fn junit_and_sarif_report_a_damaged_capture() {
    let tmp = tempfile::tempdir().unwrap();
    let cut = tmp.path().join("cut.pcap");
    let bytes = std::fs::read(root().join("fixtures/binalyze-air/violations.pcap")).unwrap();
    std::fs::write(&cut, &bytes[..bytes.len() - 10]).unwrap();
    let junit = tmp.path().join("junit.xml");
    let sarif = tmp.path().join("out.sarif");
    let o = run_in_root(&[
        "audit",
        "-q",
        "-d",
        "examples/air-lab.toml",
        cut.to_str().unwrap(),
        "--junit",
        junit.to_str().unwrap(),
        "--sarif",
        sarif.to_str().unwrap(),
    ]);
    assert_eq!(code(&o), 3);
    let xml = std::fs::read_to_string(&junit).unwrap();
    let doc = roxmltree::Document::parse(&xml).unwrap();
    let error = doc
        .descendants()
        .find(|n| n.has_tag_name("error"))
        .expect("an error case for the damaged capture");
    assert!(attr(&error, "message").contains("damaged"), "{xml}");
    assert_eq!(attr(&doc.root_element(), "errors"), "1");
    let log: serde_json::Value = serde_json::from_slice(&std::fs::read(&sarif).unwrap()).unwrap();
    let notes = &log["runs"][0]["invocations"][0]["toolExecutionNotifications"];
    assert!(
        notes[0]["message"]["text"]
            .as_str()
            .unwrap()
            .contains("ends in the middle of a record"),
        "{notes}"
    );
    assert_eq!(
        notes[0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        format!("file://{}", cut.display())
    );
}

/// What SARIF 2.1.0 requires and GitHub code scanning relies on.
#[test]
fn sarif_results_point_at_rules_and_the_capture() {
    for &(dir, deployment, capture) in CASES {
        let tmp = tempfile::tempdir().unwrap();
        let sarif = tmp.path().join("out.sarif");
        let path = format!("fixtures/{dir}/{capture}");
        let o = run_in_root(&[
            "audit",
            "-q",
            "-d",
            &format!("examples/{deployment}.toml"),
            &path,
            "--sarif",
            sarif.to_str().unwrap(),
        ]);
        let (_, findings) = csv_records(&o.stdout);
        let log: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&sarif).unwrap()).unwrap();
        assert_eq!(log["version"], "2.1.0");
        assert!(log["$schema"].as_str().unwrap().contains("sarif-2.1.0"));
        let run = &log["runs"][0];
        assert_eq!(run["tool"]["driver"]["name"], "portaudit");
        let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
        let results = run["results"].as_array().unwrap();
        assert_eq!(results.len(), findings.len(), "{path}");
        let mut fingerprints = std::collections::BTreeSet::new();
        for (r, f) in results.iter().zip(&findings) {
            let i = r["ruleIndex"].as_u64().unwrap() as usize;
            assert_eq!(rules[i]["id"], r["ruleId"], "{path}");
            let want = if f["rule_id"].is_empty() {
                f["kind"].clone()
            } else {
                format!("{}/{}", f["profile"], f["rule_id"])
            };
            assert_eq!(r["ruleId"], want.as_str());
            let level = match f["severity"].as_str() {
                "error" => "error",
                "warning" => "warning",
                _ => "note",
            };
            assert_eq!(r["level"], level);
            assert!(!r["message"]["text"].as_str().unwrap().is_empty());
            assert_eq!(
                r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
                path.as_str()
            );
            assert!(fingerprints.insert(r["partialFingerprints"].to_string()));
        }
        for rule in rules {
            assert!(!rule["shortDescription"]["text"]
                .as_str()
                .unwrap()
                .is_empty());
        }
    }
}

/// Colour only when asked or on a terminal, never with NO_COLOR; the
/// plain summary has no escape codes at all.
#[test]
fn colour_follows_the_flag_the_terminal_and_no_color() {
    let args = |color: &'static str| {
        vec![
            "audit",
            "-d",
            "examples/air-lab.toml",
            "fixtures/binalyze-air/violations.pcap",
            "-o",
            "/dev/null",
            "--color",
            color,
        ]
    };
    let always = run_in_root(&args("always"));
    assert!(String::from_utf8_lossy(&always.stderr).contains("\x1b[31mfail\x1b[0m"));
    for color in ["auto", "never"] {
        let o = run_in_root(&args(color));
        assert!(!o.stderr.contains(&0x1b), "--color {color} on a pipe");
    }
    // On a terminal (script(1) gives the command a pseudo-terminal).
    if Command::new("script").arg("--version").output().is_err() {
        eprintln!("skipped the terminal half: script(1) is not installed");
        return;
    }
    let on_tty = |no_color: bool| {
        let line = format!(
            "{} {}",
            env!("CARGO_BIN_EXE_portaudit"),
            args("auto").join(" ")
        );
        let mut cmd = Command::new("script");
        cmd.current_dir(root())
            .args(["-qec", &line, "/dev/null"])
            .env_remove("NO_COLOR");
        if no_color {
            cmd.env("NO_COLOR", "1");
        }
        cmd.output().unwrap().stdout
    };
    assert!(on_tty(false).contains(&0x1b), "colour on a terminal");
    assert!(!on_tty(true).contains(&0x1b), "NO_COLOR on a terminal");
}

#[test]
fn completions_and_man_pages_come_from_the_command_definitions() {
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let o = run_in_root(&["completions", shell]);
        assert_eq!(code(&o), 0, "{shell}");
        let text = String::from_utf8(o.stdout).unwrap();
        assert!(text.contains("junit"), "{shell} completes --junit");
    }
    let bash = run_in_root(&["completions", "bash"]).stdout;
    let tmp = tempfile::tempdir().unwrap();
    let script = tmp.path().join("portaudit.bash");
    std::fs::write(&script, bash).unwrap();
    let check = Command::new("bash")
        .arg("-n")
        .arg(&script)
        .output()
        .unwrap();
    assert!(check.status.success(), "bash -n: {check:?}");

    let dir = tmp.path().join("man");
    let o = run_in_root(&["man", "--dir", dir.to_str().unwrap()]);
    assert_eq!(code(&o), 0, "{}", String::from_utf8_lossy(&o.stderr));
    let page = |name: &str| std::fs::read_to_string(dir.join(name)).unwrap();
    for name in [
        "portaudit.1",
        "portaudit-audit.1",
        "portaudit-rules-check.1",
    ] {
        assert!(page(name).contains(".TH"), "{name}");
    }
    let audit = page("portaudit-audit.1");
    for option in ["sarif", "junit", "html", "fail\\-on"] {
        assert!(
            audit.contains(option),
            "the audit page documents --{option}"
        );
    }
    // Every page says how it exits; the main ones show examples.
    let mut pages: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    pages.sort();
    assert!(pages.len() >= 10, "{pages:?}");
    for p in &pages {
        let text = std::fs::read_to_string(p).unwrap();
        assert!(text.contains(".SH \"EXIT STATUS\""), "{}", p.display());
    }
    for name in [
        "portaudit.1",
        "portaudit-audit.1",
        "portaudit-flows.1",
        "portaudit-diff.1",
    ] {
        assert!(page(name).contains(".SH EXAMPLES"), "{name}");
    }
    // `flows` judges nothing: it never exits 1.
    assert!(!page("portaudit-flows.1").contains("\\fB1\\fR"));
    let stdout = run_in_root(&["man"]).stdout;
    assert_eq!(stdout, page("portaudit.1").into_bytes());
    // groff, where installed, reads every page without complaint.
    if let Ok(o) = Command::new("groff")
        .args(["-man", "-Tutf8", "-ww", "-z"])
        .args(&pages)
        .output()
    {
        assert!(
            o.status.success() && o.stderr.is_empty(),
            "groff: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
}
