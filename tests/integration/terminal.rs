//! What a person at a terminal sees: findings as an aligned table (CSV
//! when piped), counts with thousands separators, tables fitted to the
//! terminal's width. A terminal is made with `script` (util-linux), which
//! gives the command a pseudo-terminal of the size `stty` sets.

use std::process::Command;

use crate::{bin, root, skip};

const AIR: &str = "examples/air-lab.toml";
const VIOLATIONS: &str = "fixtures/binalyze-air/violations.pcap";

/// What `args` print on a terminal `cols` wide (stdout and stderr both),
/// or `None` without `script`.
fn on_terminal(cols: usize, args: &str) -> Option<String> {
    let exe = env!("CARGO_BIN_EXE_portaudit");
    let o = Command::new("script")
        .current_dir(root())
        .args([
            "-qec",
            &format!("stty rows 50 cols {cols}; {exe} {args}"),
            "/dev/null",
        ])
        .env("NO_COLOR", "1")
        .output()
        .ok()?;
    Some(String::from_utf8_lossy(&o.stdout).replace("\r\n", "\n"))
}

#[test]
fn findings_on_a_terminal_are_a_table_fitted_to_its_width() {
    let Some(wide) = on_terminal(250, &format!("audit -d {AIR} {VIOLATIONS} -q")) else {
        skip("terminal output: `script` (util-linux) is not installed");
        return;
    };
    let header = wide.lines().next().unwrap();
    assert!(header.starts_with("SEVERITY  KIND"), "{wide}");
    assert!(
        header.ends_with("DETAIL"),
        "the detail beside the rest: {wide}"
    );
    assert!(wide.contains("10.1.0.10 (console) -> 10.1.20.12 (responder)"));
    // 100 columns: each finding on a line, its detail indented below.
    let narrow = on_terminal(100, &format!("audit -d {AIR} {VIOLATIONS} -q")).unwrap();
    assert!(narrow.lines().all(|l| l.chars().count() <= 100), "{narrow}");
    assert!(narrow.contains("\n    10.1.20.11 (responder) -> 10.1.0.10 (console)\n    no rule of the deployment allows this flow [first seen in fixtures/binalyze-air/violations.pcap"), "{narrow}");
    // Piped, or with --format, what scripts read: CSV.
    let piped = bin()
        .current_dir(root())
        .args(["audit", "-d", AIR, VIOLATIONS, "-q"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&piped.stdout).starts_with("severity,kind,profile,"));
    let csv = on_terminal(100, &format!("audit -d {AIR} {VIOLATIONS} -q --format csv")).unwrap();
    assert!(csv.starts_with("severity,kind,profile,"), "{csv}");
}

#[test]
fn the_summary_groups_thousands_on_a_terminal_only() {
    let Some(text) = on_terminal(200, &format!("audit -d {AIR} {VIOLATIONS} -o /dev/null")) else {
        skip("terminal output: `script` (util-linux) is not installed");
        return;
    };
    assert!(
        text.contains("packets: 75 read (14,542 bytes on the wire)"),
        "{text}"
    );
    let piped = bin()
        .current_dir(root())
        .args(["audit", "-d", AIR, VIOLATIONS, "-o", "/dev/null"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&piped.stderr);
    assert!(
        err.contains("packets: 75 read (14542 bytes on the wire)"),
        "{err}"
    );
}

#[test]
fn rules_show_wraps_to_the_terminal() {
    let Some(text) = on_terminal(90, "rules show binalyze-air") else {
        skip("terminal output: `script` (util-linux) is not installed");
        return;
    };
    let roles: Vec<&str> = text
        .lines()
        .skip_while(|l| !l.starts_with("ROLE "))
        .take_while(|l| !l.is_empty())
        .collect();
    assert!(roles.len() > 3, "{text}");
    assert!(roles.iter().all(|l| l.chars().count() <= 90), "{roles:#?}");
}
