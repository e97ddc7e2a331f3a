//! Finding kinds and severities: the vocabulary deployments override and
//! reports print.

use std::fmt;

use serde::Deserialize;

/// Declares the finding kinds from one table: adding a kind is one row
/// here and the audit code that finds it.
macro_rules! finding_kinds {
    ($(
        $(#[$doc:meta])*
        $kind:ident = $label:literal, $severity:ident, about_rule: $about:literal, $description:literal;
    )*) => {
        /// The ways observed traffic departs from the matrix
        /// (docs/audit.md, "Finding kinds"). Deployments override their
        /// severities by label in `[severity]`.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
        #[serde(rename_all = "kebab-case")]
        pub enum FindingKind {
            $($(#[$doc])* $kind,)*
        }

        impl FindingKind {
            pub const ALL: &'static [FindingKind] = &[$(FindingKind::$kind,)*];

            pub fn label(self) -> &'static str {
                match self {
                    $(FindingKind::$kind => $label,)*
                }
            }

            /// What a finding of this kind means, in one sentence.
            pub fn description(self) -> &'static str {
                match self {
                    $(FindingKind::$kind => $description,)*
                }
            }

            /// The severity unless a deployment says otherwise;
            /// wrong-direction on inferred initiators is one step lower
            /// (see [`Severity::inferred`]).
            pub fn default_severity(self) -> Severity {
                match self {
                    $(FindingKind::$kind => Severity::$severity,)*
                }
            }

            /// Whether a finding of this kind is about a rule's own
            /// traffic (the rule is broken or missing), rather than
            /// traffic outside the matrix.
            pub fn is_about_rule(self) -> bool {
                match self {
                    $(FindingKind::$kind => $about,)*
                }
            }
        }
    };
}

finding_kinds! {
    UnexpectedPort = "unexpected-port", Error, about_rule: false,
        "A flow that no rule of the deployment allows.";
    WrongDirection = "wrong-direction", Error, about_rule: true,
        "A flow on a documented port, opened by the side the document says must not open it.";
    LocalOnlyExposed = "local-only-exposed", Error, about_rule: false,
        "Traffic on the network to a port the document keeps local to its host.";
    MissingExpected = "missing-expected", Error, about_rule: true,
        "A required flow of the matrix that never showed up, or only as refused or unanswered attempts.";
    DisabledFeature = "disabled-feature", Warning, about_rule: false,
        "A flow allowed only by a rule whose optional feature is off in the deployment.";
    RetiredPort = "retired-port", Warning, about_rule: false,
        "Traffic on a port the document lists as retired.";
    /// A connection to a port of a rule's dynamic range that no mapper
    /// announced to its client; a warning when the captures hold no
    /// traffic of that server's mapper (see [`Severity::inferred`]).
    UnannouncedDynamicPort = "unannounced-dynamic-port", Error, about_rule: false,
        "A connection to a dynamic port that the endpoint mapper or portmapper never announced to its client.";
    /// A connection to an announced port whose RPC interface or program
    /// the rule does not cover.
    UncoveredRpcService = "uncovered-rpc-service", Error, about_rule: false,
        "A connection to an RPC interface or program that the rule allowing its port does not cover.";
    /// A flow on a port whose rule names its application protocols,
    /// whose content is another protocol (docs/audit.md#application-protocols).
    ProtocolMismatch = "protocol-mismatch", Error, about_rule: false,
        "A flow on a documented port whose content is another protocol than the document names for it.";
    /// A flow on a port whose rule requires its content be checked
    /// (`app_required`), with no payload or none recognised.
    UnverifiedProtocol = "unverified-protocol", Warning, about_rule: false,
        "A flow on a port whose rule requires its protocol be checked, with no payload that shows it.";
    /// A `[[waiver]]` past its `expires` date: it waives nothing any more.
    ExpiredWaiver = "expired-waiver", Error, about_rule: false,
        "A waiver past its expiry date: the findings it waived count again.";
    /// A `[[waiver]]` that ends within a week.
    ExpiringWaiver = "expiring-waiver", Warning, about_rule: false,
        "A waiver that ends within a week.";
    /// A `[[waiver]]` that matched no finding of the run.
    StaleWaiver = "stale-waiver", Warning, about_rule: false,
        "A waiver that matched no finding: remove it, or fix what it should match.";
    /// Not a departure of the network: a `--max-flows` or fragment limit
    /// kept part of the capture out of the audit.
    TrackingLimit = "tracking-limit", Warning, about_rule: false,
        "Traffic kept out of the audit because a --max-flows or fragment limit was reached.";
}

impl FindingKind {
    /// The kinds of findings on a port a mapper should have announced.
    pub fn is_about_dynamic_port(self) -> bool {
        matches!(
            self,
            FindingKind::UnannouncedDynamicPort | FindingKind::UncoveredRpcService
        )
    }

    /// The kinds of findings on what a flow's payload showed: their
    /// detail quotes the protocols, the server names and the payloads.
    pub fn is_about_content(self) -> bool {
        matches!(
            self,
            FindingKind::ProtocolMismatch | FindingKind::UnverifiedProtocol
        )
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
