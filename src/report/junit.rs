//! The audit as JUnit XML, for the test reporters of Jenkins, GitLab and
//! GitHub. Each finding is told in exactly one test case:
//!
//! - one suite per profile (and one for the site rules) with a case per
//!   active network rule: passed when observed and not violated; failed by
//!   its missing-expected and wrong-direction findings at or above
//!   `--fail-on`; skipped when it was not observed and nothing fails it
//!   (an optional rule nobody used, a rule with no host bound);
//! - a suite "outside the matrix" with a case per other finding kind
//!   (unexpected-port, disabled-feature, ...), failed by its findings;
//! - a suite "captures" with a case per capture file, in error when the
//!   file could not be read or was damaged (exit status 2 or 3).
//!
//! Findings below `--fail-on` do not fail a case; they are listed in its
//! `system-out`, so the test report agrees with the exit status. No times
//! or dates: the same input gives the same bytes.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::io::{self, Write};

use crate::audit::{Finding, RuleCoverage, RuleStatus};
use crate::rules::{FindingKind, Scope};

use super::doc::finding_line;
use super::writer::{Audited, ReportWriter};
use super::AuditDoc;

/// Findings listed in one failure message at most; the findings report
/// has them all.
const MAX_LISTED: usize = 1000;

/// Escapes text for XML 1.0 attributes and content; characters XML cannot
/// carry at all (most control characters) become U+FFFD.
pub(crate) fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// How a case ended.
enum Outcome {
    Passed,
    Skipped(String),
    /// (message, type, body)
    Failed(String, String, String),
    /// The input could not be used: (message, body).
    Error(String, String),
}

struct Case {
    classname: String,
    name: String,
    outcome: Outcome,
    /// Findings that do not fail the run, and other notes.
    out: String,
}

struct Suite {
    name: String,
    cases: Vec<Case>,
}

/// Lists findings one per line, at most [`MAX_LISTED`].
fn listing(findings: &[&Finding]) -> String {
    let mut s = String::new();
    for f in findings.iter().take(MAX_LISTED) {
        s.push_str(&finding_line(f));
        s.push('\n');
    }
    if findings.len() > MAX_LISTED {
        let _ = writeln!(
            s,
            "... and {} more (the findings report has them all)",
            findings.len() - MAX_LISTED
        );
    }
    s
}

/// "2 findings: wrong-direction 1, missing-expected 1".
fn headline(findings: &[&Finding]) -> String {
    let mut by_kind: BTreeMap<&str, usize> = BTreeMap::new();
    for f in findings {
        *by_kind.entry(f.kind.label()).or_default() += 1;
    }
    let kinds: Vec<String> = by_kind.iter().map(|(k, n)| format!("{k} {n}")).collect();
    format!(
        "{} finding{}: {}",
        findings.len(),
        if findings.len() == 1 { "" } else { "s" },
        kinds.join(", ")
    )
}

/// The case for a set of findings: failed by those at or above
/// `--fail-on`, the others in its output. `quiet` is the outcome when
/// nothing fails it.
fn judge(doc: &AuditDoc, findings: &[&Finding], quiet: Outcome) -> (Outcome, String) {
    let (failing, passing): (Vec<&Finding>, Vec<&Finding>) =
        findings.iter().partition(|f| doc.run.fails_finding(f));
    let out = if passing.is_empty() {
        String::new()
    } else {
        format!(
            "below --fail-on, not failing: {}\n{}",
            headline(&passing),
            listing(&passing)
        )
    };
    if failing.is_empty() {
        // What would fail but for a waiver is told as skipped, with why.
        let waived: Vec<&&Finding> = passing
            .iter()
            .filter(|f| f.waived.is_some() && doc.run.fails(f.severity))
            .collect();
        if let Some(first) = waived.first().and_then(|f| f.waived.as_ref()) {
            let why = format!(
                "waived: {} finding(s); {} (waiver at {}, until {})",
                waived.len(),
                first.reason,
                first.place,
                first.expires
            );
            return (Outcome::Skipped(why), out);
        }
        return (quiet, out);
    }
    let kinds: BTreeSet<&str> = failing.iter().map(|f| f.kind.label()).collect();
    let kinds: Vec<&str> = kinds.into_iter().collect();
    (
        Outcome::Failed(headline(&failing), kinds.join(","), listing(&failing)),
        out,
    )
}

fn rule_name(c: &RuleCoverage) -> String {
    format!(
        "{}: {} -> {} {}/{}{}",
        c.rule_id,
        c.from.join(","),
        c.to.join(","),
        c.proto.label(),
        c.ports,
        if c.required { " (required)" } else { "" }
    )
}

fn suites(doc: &AuditDoc) -> Vec<Suite> {
    let rule_cases: Vec<&RuleCoverage> = doc
        .coverage()
        .iter()
        .filter(|c| c.active && c.scope == Scope::Network)
        .collect();
    let case_keys: BTreeSet<(&str, &str)> = rule_cases
        .iter()
        .map(|c| (c.profile.as_str(), c.rule_id.as_str()))
        .collect();
    let mut by_rule: BTreeMap<(&str, &str), Vec<&Finding>> = BTreeMap::new();
    let mut by_kind: BTreeMap<FindingKind, Vec<&Finding>> = BTreeMap::new();
    for f in doc.findings() {
        // A finding about a rule's own traffic is told in the rule's case
        // (when the rule has one); the others in their kind's.
        let rule = f.rule_id.as_deref().unwrap_or_default();
        let key = (f.profiles.first().map_or("", String::as_str), rule);
        if f.kind.is_about_rule() && case_keys.contains(&key) {
            by_rule.entry(key).or_default().push(f);
        } else {
            by_kind.entry(f.kind).or_default().push(f);
        }
    }

    let mut suites: Vec<Suite> = Vec::new();
    for c in &rule_cases {
        let findings = by_rule
            .get(&(c.profile.as_str(), c.rule_id.as_str()))
            .map_or(&[][..], Vec::as_slice);
        let quiet = match c.status {
            RuleStatus::Observed => Outcome::Passed,
            RuleStatus::Violated if c.observed > 0 => Outcome::Passed,
            RuleStatus::Violated => {
                Outcome::Skipped("not observed; its violations are all below --fail-on".into())
            }
            RuleStatus::Unbound => Outcome::Skipped("no host is bound to one of its sides".into()),
            RuleStatus::Refused => Outcome::Skipped(format!(
                "not observed: {} attempt(s) refused{}",
                c.refused,
                if c.required { "" } else { " (optional rule)" }
            )),
            RuleStatus::Unanswered => Outcome::Skipped(format!(
                "not observed: {} attempt(s) unanswered{}",
                c.unanswered,
                if c.required { "" } else { " (optional rule)" }
            )),
            RuleStatus::Unused => Outcome::Skipped("not observed (optional rule)".into()),
            other => Outcome::Skipped(format!("not observed ({})", other.label())),
        };
        let (outcome, mut out) = judge(doc, findings, quiet);
        if !c.source.is_empty() {
            let _ = write!(
                out,
                "{}rule: {}\nsource: {}\n{}\n",
                if out.is_empty() { "" } else { "\n" },
                c.purpose,
                c.source,
                c.counts()
            );
        }
        let case = Case {
            classname: format!("portaudit.{}", c.profile),
            name: rule_name(c),
            outcome,
            out,
        };
        match suites.iter_mut().find(|s| s.name == c.profile) {
            Some(s) => s.cases.push(case),
            None => suites.push(Suite {
                name: c.profile.clone(),
                cases: vec![case],
            }),
        }
    }

    let outside: Vec<Case> = FindingKind::ALL
        .iter()
        .filter(|k| !k.is_about_rule() || by_kind.contains_key(k))
        .map(|k| {
            let findings = by_kind.get(k).map_or(&[][..], Vec::as_slice);
            let (outcome, out) = judge(doc, findings, Outcome::Passed);
            Case {
                classname: "portaudit.outside-the-matrix".into(),
                name: k.label().into(),
                outcome,
                out,
            }
        })
        .collect();
    suites.push(Suite {
        name: "outside the matrix".into(),
        cases: outside,
    });

    let captures = doc
        .run
        .files
        .iter()
        .map(|f| {
            let outcome = if let Some(u) = &f.unreadable {
                Outcome::Error(format!("cannot be read: {u}"), String::new())
            } else if let Some(first) = f.damage.first() {
                let body: String = f.damage.iter().map(|d| f.describe(d) + "\n").collect();
                Outcome::Error(
                    format!(
                        "damaged ({} place(s)); first: {}",
                        f.damage.len(),
                        f.describe(first)
                    ),
                    body,
                )
            } else if let Some(note) = f.incomplete_note() {
                Outcome::Error(format!("incomplete: {note}"), String::new())
            } else {
                Outcome::Passed
            };
            let skipped: u64 = f.skipped.values().sum();
            Case {
                classname: "portaudit.captures".into(),
                name: f.name.clone(),
                outcome,
                out: format!(
                    "{} packets read, {} used, {} skipped\n",
                    f.packets_read, f.packets_decoded, skipped
                ),
            }
        })
        .collect();
    suites.push(Suite {
        name: "captures".into(),
        cases: captures,
    });
    suites
}

#[derive(Default)]
struct Counts {
    tests: usize,
    failures: usize,
    errors: usize,
    skipped: usize,
}

impl Counts {
    fn of(cases: &[Case]) -> Counts {
        let mut n = Counts::default();
        for c in cases {
            n.tests += 1;
            match c.outcome {
                Outcome::Passed => {}
                Outcome::Skipped(_) => n.skipped += 1,
                Outcome::Failed(..) => n.failures += 1,
                Outcome::Error(..) => n.errors += 1,
            }
        }
        n
    }

    fn add(&mut self, o: &Counts) {
        self.tests += o.tests;
        self.failures += o.failures;
        self.errors += o.errors;
        self.skipped += o.skipped;
    }

    fn attrs(&self) -> String {
        format!(
            "tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\"",
            self.tests, self.failures, self.errors, self.skipped
        )
    }
}

/// Writes the audit as JUnit XML.
pub fn write_junit<W: Write>(mut out: W, doc: &AuditDoc) -> io::Result<()> {
    let suites = suites(doc);
    let mut total = Counts::default();
    let counts: Vec<Counts> = suites.iter().map(|s| Counts::of(&s.cases)).collect();
    for c in &counts {
        total.add(c);
    }
    let e = xml_escape;
    writeln!(out, r#"<?xml version="1.0" encoding="UTF-8"?>"#)?;
    writeln!(
        out,
        r#"<testsuites name="portaudit {}" {}>"#,
        e(&doc.deployment.name),
        total.attrs()
    )?;
    for (s, n) in suites.iter().zip(&counts) {
        writeln!(out, r#"  <testsuite name="{}" {}>"#, e(&s.name), n.attrs())?;
        for c in &s.cases {
            write!(
                out,
                r#"    <testcase classname="{}" name="{}""#,
                e(&c.classname),
                e(&c.name)
            )?;
            if matches!(c.outcome, Outcome::Passed) && c.out.is_empty() {
                writeln!(out, "/>")?;
                continue;
            }
            writeln!(out, ">")?;
            match &c.outcome {
                Outcome::Passed => {}
                Outcome::Skipped(m) => writeln!(out, r#"      <skipped message="{}"/>"#, e(m))?,
                Outcome::Failed(m, kind, body) => writeln!(
                    out,
                    r#"      <failure message="{}" type="{}">{}</failure>"#,
                    e(m),
                    e(kind),
                    e(body)
                )?,
                Outcome::Error(m, body) => writeln!(
                    out,
                    r#"      <error message="{}" type="capture">{}</error>"#,
                    e(m),
                    e(body)
                )?,
            }
            if !c.out.is_empty() {
                writeln!(out, "      <system-out>{}</system-out>", e(&c.out))?;
            }
            writeln!(out, "    </testcase>")?;
        }
        writeln!(out, "  </testsuite>")?;
    }
    writeln!(out, "</testsuites>")?;
    out.flush()
}

/// JUnit XML (`--junit`).
pub struct JunitReport;

impl ReportWriter for JunitReport {
    fn option(&self) -> &'static str {
        "junit"
    }

    fn write(&self, out: &mut dyn Write, a: &Audited<'_>) -> io::Result<()> {
        write_junit(out, a.doc)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_replaces_what_xml_cannot_carry() {
        assert_eq!(
            xml_escape("a<b>&\"c'\u{1}\t\n"),
            "a&lt;b&gt;&amp;&quot;c&apos;\u{FFFD}\t\n"
        );
    }
}
