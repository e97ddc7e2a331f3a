//! What an audit's reports for people and CI systems (JUnit, SARIF, HTML)
//! are made of: the findings, the rule coverage, the run summary and the
//! deployment they were judged against.

use crate::audit::{Finding, RuleCoverage};
use crate::rules::{Deployment, Severity};

use super::RunSummary;

/// One audit, everything its reports show. Writers format it; they decide
/// nothing (a rule's status and a finding's severity come from the audit).
pub struct AuditDoc<'a> {
    pub deployment: &'a Deployment,
    /// The deployment file as given on the command line.
    pub deployment_file: String,
    pub run: &'a RunSummary<'a>,
    /// `None`: `--fail-on never`.
    pub fail_on: Option<Severity>,
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

    /// Whether a finding of this severity makes the exit status 1.
    pub fn fails(&self, severity: Severity) -> bool {
        self.fail_on.is_some_and(|level| severity >= level)
    }
}
