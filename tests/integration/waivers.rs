//! `[[waiver]]` tables: waived findings stay in the reports and fail
//! nothing until their date; expired, expiring and unused waivers are
//! findings; bad waivers are errors with file:line:column.

use crate::{code, path_str, root, run};

const KINDS: [&str; 6] = [
    "unexpected-port",
    "wrong-direction",
    "local-only-exposed",
    "missing-expected",
    "disabled-feature",
    "retired-port",
];

/// The AIR lab deployment with `extra` appended, written into `dir`.
fn deployment(dir: &std::path::Path, extra: &str) -> String {
    let base = std::fs::read_to_string(root().join("examples/air-lab.toml")).unwrap();
    let p = dir.join("site.toml");
    std::fs::write(&p, format!("{base}\n{extra}")).unwrap();
    path_str(&p)
}

fn waivers(expires: &str) -> String {
    KINDS
        .iter()
        .map(|k| {
            format!(
                "[[waiver]]\nkind = \"{k}\"\nreason = \"accepted until the migration ({k})\"\nexpires = \"{expires}\"\nowner = \"netops\"\nticket = \"NET-42\"\n"
            )
        })
        .collect()
}

fn audit(dep: &str, args: &[&str], epoch: &str) -> std::process::Output {
    let cap = path_str(&root().join("fixtures/binalyze-air/violations.pcap"));
    crate::bin()
        .args(["audit", "-q", "-d", dep, &cap])
        .args(args)
        .env("SOURCE_DATE_EPOCH", epoch)
        .output()
        .unwrap()
}

/// 2026-12-02T00:00:00Z.
const TODAY: &str = "1796169600";

#[test]
fn waivers_of_every_kind_keep_the_findings_and_pass() {
    let dir = tempfile::tempdir().unwrap();
    let dep = deployment(dir.path(), &waivers("2027-06-30"));
    let sarif = path_str(&dir.path().join("a.sarif"));
    let junit = path_str(&dir.path().join("j.xml"));
    let html = dir.path().join("page.html");
    let o = audit(
        &dep,
        &[
            "--sarif",
            &sarif,
            "--junit",
            &junit,
            "--html",
            &path_str(&html),
        ],
        TODAY,
    );
    assert_eq!(code(&o), 0, "{}", String::from_utf8_lossy(&o.stderr));
    let csv = String::from_utf8(o.stdout).unwrap();
    let mut lines = csv.lines();
    assert!(lines.next().unwrap().ends_with(",waived"));
    let rows: Vec<&str> = lines.collect();
    assert_eq!(rows.len(), 10, "{csv}");
    assert!(
        rows.iter()
            .all(|r| r.contains("accepted until the migration")),
        "{csv}"
    );
    let s: serde_json::Value = serde_json::from_slice(&std::fs::read(&sarif).unwrap()).unwrap();
    let results = s["runs"][0]["results"].as_array().unwrap();
    assert!(results
        .iter()
        .all(|r| r["suppressions"][0]["kind"] == "external"));
    let j = std::fs::read_to_string(&junit).unwrap();
    assert!(j.contains("failures=\"0\""), "{j}");
    assert!(j.contains("waived: "), "{j}");
    // The page shows every finding as waived, with its date, and passes.
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.contains(">PASS</span> exit status 0"), "the banner");
    assert!(page.contains("10 findings waived (shown, failing nothing)"));
    assert_eq!(page.matches("data-standing=\"waived\"").count(), 10);
    assert_eq!(page.matches("waived until 2027-06-30</span>").count(), 10);
    assert!(page.contains("<option value=\"waived\">waived (10)</option>"));
}

#[test]
fn expired_waivers_waive_nothing_and_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let dep = deployment(dir.path(), &waivers("2026-11-30"));
    let o = audit(&dep, &[], TODAY);
    assert_eq!(code(&o), 1);
    let csv = String::from_utf8(o.stdout).unwrap();
    assert_eq!(csv.matches("error,expired-waiver").count(), 6, "{csv}");
    assert!(csv.contains("expired on 2026-11-30"), "{csv}");
}

#[test]
fn a_waiver_ending_this_week_warns_and_one_matching_nothing_is_stale() {
    let dir = tempfile::tempdir().unwrap();
    let extra = format!(
        "{}[[waiver]]\nsrc = [\"192.0.2.250\"]\nreason = \"old probe\"\nexpires = \"2027-01-31\"\n",
        waivers("2026-12-05")
    );
    let dep = deployment(dir.path(), &extra);
    let o = audit(&dep, &["--fail-on", "warning"], TODAY);
    assert_eq!(code(&o), 1);
    let csv = String::from_utf8(o.stdout).unwrap();
    assert_eq!(csv.matches("warning,expiring-waiver").count(), 6, "{csv}");
    assert!(csv.contains("3 day(s) left"), "{csv}");
    assert_eq!(csv.matches("warning,stale-waiver").count(), 1, "{csv}");
    // Without --fail-on warning, the waived findings and warnings pass.
    assert_eq!(code(&audit(&dep, &[], TODAY)), 0);
}

#[test]
fn bad_waivers_are_errors_with_their_place() {
    let dir = tempfile::tempdir().unwrap();
    for (waiver, says) in [
        (
            "kind = \"retired-port\"\nexpires = \"2027-01-01\"\n",
            "no `reason`",
        ),
        ("kind = \"retired-port\"\nreason = \"x\"\n", "no `expires`"),
        (
            "kind = \"retired-port\"\nreason = \"x\"\nexpires = \"2027-02-30\"\n",
            "is not a date",
        ),
        (
            "rule = \"binalyze-air/no-such-rule\"\nreason = \"x\"\nexpires = \"2027-01-01\"\n",
            "has no rule",
        ),
        (
            "kind = \"no-such-kind\"\nreason = \"x\"\nexpires = \"2027-01-01\"\n",
            "unknown finding kind",
        ),
        (
            "reason = \"x\"\nexpires = \"2027-01-01\"\n",
            "names nothing to match",
        ),
        (
            "src = [\"not-a-role\"]\nreason = \"x\"\nexpires = \"2027-01-01\"\n",
            "neither",
        ),
    ] {
        let dep = deployment(dir.path(), &format!("[[waiver]]\n{waiver}"));
        let o = run(&["rules", "check", &dep]);
        assert_eq!(code(&o), 2, "{waiver}");
        let err =
            String::from_utf8_lossy(&o.stderr).to_string() + &String::from_utf8_lossy(&o.stdout);
        assert!(err.contains(says), "{waiver}: {err}");
        assert!(err.contains("site.toml:"), "{err}");
    }
}

/// The CI recipe's script (examples/ci/portaudit-ci.sh, which the README's
/// GitHub Actions and GitLab jobs run): a first run fails on the fixture's
/// violations, a second against the first's findings as baseline passes
/// and says nothing is new.
#[test]
fn the_ci_recipe_fails_on_findings_then_passes_against_its_baseline() {
    let dir = tempfile::tempdir().unwrap();
    let script = root().join("examples/ci/portaudit-ci.sh");
    let ci = |out: &str, baseline: Option<&str>| {
        let mut c = std::process::Command::new("bash");
        c.arg(&script)
            .arg(root().join("examples/air-lab.toml"))
            .arg(root().join("fixtures/binalyze-air/violations.pcap"))
            .arg(dir.path().join(out))
            .env("PORTAUDIT", env!("CARGO_BIN_EXE_portaudit"));
        if let Some(b) = baseline {
            c.arg(b);
        }
        c.output().unwrap()
    };
    let first = ci("first", None);
    assert_eq!(
        code(&first),
        1,
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    for f in [
        "findings.json",
        "portaudit.sarif",
        "junit.xml",
        "report.html",
        "stats.json",
    ] {
        assert!(dir.path().join("first").join(f).exists(), "{f}");
    }
    let baseline = path_str(&dir.path().join("first/findings.json"));
    let second = ci("second", Some(&baseline));
    assert_eq!(
        code(&second),
        0,
        "{}",
        String::from_utf8_lossy(&second.stderr)
    );
    let diff = std::fs::read_to_string(dir.path().join("second/diff.txt")).unwrap();
    assert!(diff.starts_with("0 new, 0 fixed, 0 changed"), "{diff}");
}
