//! Profiles (vendor matrices) and deployments (a site's hosts, features,
//! own rules and severities): loading and validation, with errors that name
//! file, line and column and say what to fix.

mod catalog;
mod deployment;
mod error;
mod hosts;
mod net_index;
mod ports;
mod profile;
mod severity;
mod waiver;

pub use catalog::{load_profile, Catalog};
pub use deployment::{AuditScope, Deployment, HostRef, ProfileBinding, SiteRule};
pub use error::{read_text, RulesError};
pub use hosts::Net;
pub use ports::PortSet;
pub use profile::{
    Dynamic, Expect, Feature, Initiator, Origin, Profile, Proto, Requirement, Role, Rule, Scope,
};
pub use severity::{FindingKind, Severity};
pub use waiver::{Day, Waiver};
