//! The audit: flows classified against a deployment's rules into verdicts,
//! findings and per-rule coverage (specified in docs/audit.md).
//!
//! Files: [`classify`] (the auditor: scope, the order of checks, the
//! passes over flows), [`verdict`] (what is decided per flow), [`rows`]
//! (findings' rows of flows, merged in shards), [`coverage`] (per-rule
//! counts and status), [`findings`] (rows, missing rules and limits made
//! findings), [`finding`] (the typed finding reports print).

mod classify;
mod coverage;
mod finding;
mod findings;
#[cfg(test)]
mod order_tests;
mod rows;
mod verdict;
mod waivers;

pub use classify::{AuditReport, Auditor, DEFAULT_MAX_FINDINGS};
pub use coverage::{RuleCoverage, RuleStatus};
pub use finding::{
    proto_name, BaselineState, Finding, FindingPorts, FindingProto, FindingState, Waived,
};
pub use verdict::{describe_rpc, with_payload_evidence, FlowVerdict, Verdict, SITE_PROFILE};
