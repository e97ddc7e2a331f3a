//! What an audit's reports for people and CI systems (JUnit, SARIF, HTML)
//! are made of: the findings, the rule coverage, the run summary and the
//! deployment they were judged against.

use crate::audit::{Finding, RuleCoverage};
use crate::rules::Deployment;

use super::cells::FindingText;
use super::RunSummary;

/// One audit, everything its reports show. Writers format it; they decide
/// nothing (a rule's status and a finding's severity come from the audit).
pub struct AuditDoc<'a> {
    pub deployment: &'a Deployment,
    /// The deployment file as given on the command line.
    pub deployment_file: String,
    /// The run, `--fail-on` included.
    pub run: &'a RunSummary<'a>,
}

impl AuditDoc<'_> {
    pub fn findings(&self) -> &[Finding] {
        self.run.findings.unwrap_or(&[])
    }

    pub fn coverage(&self) -> &[RuleCoverage] {
        self.run.coverage
    }

    /// Capture files as named in the summary, in the order they were read.
    pub fn captures(&self) -> impl Iterator<Item = &str> {
        self.run.files.iter().map(|f| f.name.as_str())
    }
}

/// A finding in one line, for messages: what, between whom, on which port,
/// why, and how much traffic.
pub fn finding_line(f: &Finding) -> String {
    let end = |ip: Option<std::net::IpAddr>, role: &str| match (ip, role) {
        (Some(ip), "") => ip.to_string(),
        (Some(ip), role) => format!("{ip} ({role})"),
        (None, "") => "any host".to_string(),
        (None, role) => role.to_string(),
    };
    let t = FindingText::of(f);
    let port = t.service();
    let mut s = format!(
        "{} {}: {} -> {} {port}: {}",
        f.severity.label(),
        f.kind.label(),
        end(f.src_ip, &t.src_role),
        end(f.dst_ip, &t.dst_role),
        f.detail
    );
    if f.packets > 0 {
        s.push_str(&format!(
            " [{} connection(s), {} packets, {} bytes, {}]",
            f.connections, f.packets, f.bytes, t.state
        ));
    }
    if !t.source.is_empty() {
        s.push_str(&format!(" (first seen in {})", t.source));
    }
    s
}
