//! `portaudit rules check`: validate profiles and deployments before an
//! audit needs them. Every file is checked (one bad file does not hide the
//! next); profiles given on the command line are known to the deployments
//! given with them.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::{exit_code, load_catalog, RunError};
use crate::rules::{read_text, Deployment, Profile, RulesError};

pub struct CheckConfig {
    pub files: Vec<PathBuf>,
    pub rules_dirs: Vec<PathBuf>,
}

/// What a file is, told from its top-level keys.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Profile,
    Deployment,
}

/// The verdict on one file: a summary line and warnings, or an error.
enum Outcome {
    Ok {
        summary: String,
        warnings: Vec<String>,
    },
    Err(RulesError),
}

/// A file after the first pass: judged, or a deployment whose profiles may
/// come later on the command line.
enum Slot {
    Done(Outcome),
    Deployment(String),
}

/// Checks every file; prints `ok`/`warning` lines on `out` and errors on
/// stderr; exit status 2 when any file has an error.
pub fn run_check(cfg: &CheckConfig, out: &mut dyn Write) -> Result<i32, RunError> {
    let mut catalog = load_catalog(&cfg.rules_dirs).map_err(RunError::Rules)?;
    // Profiles are judged (and become known) in the first pass, so that
    // every deployment, judged in the second, may name them.
    let mut slots = Vec::new();
    for f in &cfg.files {
        let slot = match read_text(f).and_then(|t| kind_of(f, &t).map(|k| (t, k))) {
            Err(e) => Slot::Done(Outcome::Err(e)),
            Ok((text, Kind::Profile)) => Slot::Done(match Profile::parse(f, &text) {
                Ok(p) => {
                    let o = profile_outcome(&p);
                    catalog.insert(p);
                    o
                }
                Err(e) => Outcome::Err(e),
            }),
            Ok((text, Kind::Deployment)) => Slot::Deployment(text),
        };
        slots.push(slot);
    }
    let mut failed = false;
    for (f, slot) in cfg.files.iter().zip(slots) {
        let outcome = match slot {
            Slot::Done(o) => o,
            Slot::Deployment(text) => match Deployment::parse(f, &text, &catalog) {
                Ok(d) => deployment_outcome(&d),
                Err(e) => Outcome::Err(e),
            },
        };
        match outcome {
            Outcome::Ok { summary, warnings } => {
                writeln!(out, "ok: {}: {summary}", f.display())?;
                for w in warnings {
                    writeln!(out, "warning: {}: {w}", f.display())?;
                }
            }
            Outcome::Err(e) => {
                failed = true;
                out.flush()?;
                eprintln!("error: {e}");
            }
        }
    }
    out.flush()?;
    Ok(if failed {
        exit_code::ERROR
    } else {
        exit_code::CLEAN
    })
}

fn kind_of(file: &Path, text: &str) -> Result<Kind, RulesError> {
    let table: toml::Table =
        toml::from_str(text).map_err(|e| RulesError::from_toml(file, text, &e))?;
    let has = |keys: &[&str]| keys.iter().any(|k| table.contains_key(*k));
    if has(&["profiles", "site_rule", "severity", "scope"]) {
        Ok(Kind::Deployment)
    } else if has(&[
        "id", "vendor", "document", "roles", "features", "rule", "aliases", "seed",
    ]) {
        Ok(Kind::Profile)
    } else if has(&["name"]) {
        // Only a name: a deployment that binds nothing yet, which its
        // parser explains.
        Ok(Kind::Deployment)
    } else {
        Err(RulesError::at(
            file,
            text,
            None,
            "neither a profile nor a deployment: a profile has `id`, `vendor`, [roles.<id>] and [[rule]] tables (see rules/README.md); a deployment has [profiles.<id>] tables (`portaudit init --profile ID` writes one)",
        ))
    }
}

fn profile_outcome(p: &Profile) -> Outcome {
    let required = p.required_rules().count();
    let mut warnings = Vec::new();
    for role in &p.roles {
        if !p
            .rules
            .iter()
            .any(|r| r.from.contains(&role.id) || r.to.contains(&role.id))
        {
            warnings.push(format!(
                "role {:?} is used by no rule; remove it or add its rules",
                role.id
            ));
        }
    }
    for f in &p.features {
        if p.feature_rule_count(&f.id) == 0 {
            warnings.push(format!(
                "feature {:?} gates no rule; remove it or set `feature = {:?}` on its rules",
                f.id, f.id
            ));
        }
    }
    Outcome::Ok {
        summary: format!(
            "profile {}: {} rules ({required} required), {} roles, {} features",
            p.id,
            p.rules.len(),
            p.roles.len(),
            p.features.len()
        ),
        warnings,
    }
}

fn deployment_outcome(d: &Deployment) -> Outcome {
    let mut warnings = Vec::new();
    for (profile, rule, roles) in d.unchecked_required() {
        warnings.push(format!(
            "required rule {profile}/{rule} is not checked: no host holds role {}; bind one under [profiles.{profile}.hosts] or it is reported as unbound",
            roles.join(" or ")
        ));
    }
    for (pi, role, name) in d.name_bindings() {
        let profile = &d.profiles[pi].profile.id;
        warnings.push(format!(
            "role {profile}/{role} is bound by host name {name}: it holds a server only where a capture names it (a client's TLS SNI or HTTP Host, or a DNS answer for its address seen before the flow); flow records and captures without those hold none, and the audit warns when no server was named so"
        ));
    }
    let roles: usize = d.profiles.iter().map(|b| b.hosts.len()).sum();
    let features: usize = d.profiles.iter().map(|b| b.features.len()).sum();
    let ids: Vec<&str> = d.profiles.iter().map(|b| b.profile.id.as_str()).collect();
    Outcome::Ok {
        summary: format!(
            "deployment {:?}: profiles {}; {roles} roles bound, {} features on, {} site rules",
            d.name,
            ids.join(", "),
            features,
            d.site_rules.len()
        ),
        warnings,
    }
}
