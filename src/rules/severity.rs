//! Finding kinds and severities: the vocabulary deployments override and
//! reports print.

use std::fmt;

use serde::Deserialize;

/// The ways observed traffic departs from the matrix (DESIGN.md).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FindingKind {
    UnexpectedPort,
    WrongDirection,
    LocalOnlyExposed,
    MissingExpected,
    DisabledFeature,
    RetiredPort,
    /// Not a departure of the network: a `--max-flows` or fragment limit
    /// kept part of the capture out of the audit.
    TrackingLimit,
}

impl FindingKind {
    pub const ALL: [FindingKind; 7] = [
        FindingKind::UnexpectedPort,
        FindingKind::WrongDirection,
        FindingKind::LocalOnlyExposed,
        FindingKind::MissingExpected,
        FindingKind::DisabledFeature,
        FindingKind::RetiredPort,
        FindingKind::TrackingLimit,
    ];

    pub fn label(self) -> &'static str {
        match self {
            FindingKind::UnexpectedPort => "unexpected-port",
            FindingKind::WrongDirection => "wrong-direction",
            FindingKind::LocalOnlyExposed => "local-only-exposed",
            FindingKind::MissingExpected => "missing-expected",
            FindingKind::DisabledFeature => "disabled-feature",
            FindingKind::RetiredPort => "retired-port",
            FindingKind::TrackingLimit => "tracking-limit",
        }
    }

    /// What a finding of this kind means, in one sentence.
    pub fn description(self) -> &'static str {
        match self {
            FindingKind::UnexpectedPort => "A flow that no rule of the deployment allows.",
            FindingKind::WrongDirection => {
                "A flow on a documented port, opened by the side the document says must not open it."
            }
            FindingKind::LocalOnlyExposed => {
                "Traffic on the network to a port the document keeps local to its host."
            }
            FindingKind::MissingExpected => {
                "A required flow of the matrix that never showed up, or only as refused or unanswered attempts."
            }
            FindingKind::DisabledFeature => {
                "A flow allowed only by a rule whose optional feature is off in the deployment."
            }
            FindingKind::RetiredPort => "Traffic on a port the document lists as retired.",
            FindingKind::TrackingLimit => {
                "Traffic kept out of the audit because a --max-flows or fragment limit was reached."
            }
        }
    }

    /// DESIGN.md's defaults; wrong-direction on inferred initiators is one
    /// step lower (see [`Severity::inferred`]).
    pub fn default_severity(self) -> Severity {
        match self {
            FindingKind::DisabledFeature
            | FindingKind::RetiredPort
            | FindingKind::TrackingLimit => Severity::Warning,
            _ => Severity::Error,
        }
    }
}

impl fmt::Display for FindingKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// How much a finding matters; `--fail-on` compares against it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Severity {
    Info,
    Warning,
    Error,
}

impl Severity {
    pub fn label(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }

    /// One step lower: what a finding resting on an inferred initiator gets.
    pub fn inferred(self) -> Severity {
        match self {
            Severity::Error => Severity::Warning,
            _ => Severity::Info,
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}
