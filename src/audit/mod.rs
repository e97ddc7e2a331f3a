//! The audit: flows classified against a deployment's rules into verdicts,
//! findings and per-rule coverage.

mod classify;
mod finding;

pub use classify::{
    AuditReport, Auditor, FlowVerdict, RuleCoverage, RuleStatus, Verdict, SITE_PROFILE,
};
pub use finding::{proto_name, Finding, FindingPorts, FindingProto, FindingState};
