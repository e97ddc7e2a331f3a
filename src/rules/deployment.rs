//! Deployments: which hosts hold which role of which profile, which features
//! are on, the site's own rules, severities and audit scope.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::path::Path;

use serde::Deserialize;
use toml::Spanned;

use super::net_index::NetIndex;
use super::waiver::{waiver, RawWaiver, Waiver};

use super::error::read_text;
use super::hosts::{NamePattern, Net};
use super::profile::{check_id, Profile, RawRule, Requirement, Rule};
use super::severity::{FindingKind, Severity};
use super::{Catalog, RulesError};

/// Which flows are audited.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum AuditScope {
    /// Both ends bound, or one end holding a dedicated role.
    #[default]
    Bound,
    /// Every flow in the captures.
    All,
}

/// Hosts bound to a role, as written.
struct Binding {
    net: Net,
    profile: String,
    role: String,
    dedicated: bool,
}

/// Why binding `b` contradicts an earlier binding of hosts it overlaps
/// (`candidates`, indices into `bindings`): a role the profile marks
/// dedicated (an appliance whose every port is that product's) cannot
/// share a host with a role of another product, whether the two entries
/// are the same address or one holds the other.
fn conflict(
    bindings: &[(std::ops::Range<usize>, Binding)],
    candidates: impl Iterator<Item = usize>,
    b: &Binding,
    file: &Path,
    text: &str,
) -> Option<String> {
    let first = candidates
        .filter(|&i| {
            let e = &bindings[i].1;
            e.profile != b.profile && (e.dedicated || b.dedicated)
        })
        .min()?;
    let (span, e) = &bindings[first];
    let (p, r, profile, role) = (&e.profile, &e.role, &b.profile, &b.role);
    let net = if e.net == b.net {
        b.net.to_string()
    } else {
        let at = RulesError::at(file, text, Some(span.clone()), "");
        format!(
            "{} overlaps {} (line {}, column {}), which",
            b.net, e.net, at.line, at.column
        )
    };
    const WHY: &str = "dedicated (every port of its host belongs to that product)";
    const FIX: &str =
        "remove one of the two bindings, or allow the other product's traffic with a [[site_rule]]";
    Some(if e.dedicated {
        format!(
            "{net} is already bound to {p} role {r:?}, which is {WHY}; it cannot also hold {profile} role {role:?}: {FIX}"
        )
    } else {
        format!(
            "{net} is already bound to {p} role {r:?}; it cannot also hold {profile} role {role:?}, which is {WHY}: {FIX}"
        )
    })
}

/// A side of a site rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HostRef {
    /// `*`: any host bound to a role of the deployment.
    AnyBound,
    /// A role of one of the deployment's profiles.
    Role {
        profile: usize,
        role: String,
    },
    Net(Net),
}

/// A profile as this deployment uses it.
#[derive(Clone, Debug)]
pub struct ProfileBinding {
    pub profile: Profile,
    pub features: BTreeSet<String>,
    /// Role id to the hosts bound to it, in file order.
    pub hosts: BTreeMap<String, Vec<Net>>,
    /// Role id to the names of hosts bound to it: a server a client named
    /// so holds the role (docs/audit.md#application-protocols).
    pub names: BTreeMap<String, Vec<NamePattern>>,
}

impl ProfileBinding {
    /// Whether a host is bound to `role`, by address or by name.
    pub fn binds(&self, role: &str) -> bool {
        self.hosts.get(role).is_some_and(|n| !n.is_empty()) || self.names.contains_key(role)
    }
}

/// A rule the site adds beyond the vendor matrices.
#[derive(Clone, Debug)]
pub struct SiteRule {
    /// Shares the profile rule shape; `from`/`to` hold the user's words.
    pub rule: Rule,
    pub from: Vec<HostRef>,
    pub to: Vec<HostRef>,
}

/// A validated deployment.
#[derive(Clone, Debug)]
pub struct Deployment {
    pub name: String,
    pub scope: AuditScope,
    pub profiles: Vec<ProfileBinding>,
    pub site_rules: Vec<SiteRule>,
    pub severity: BTreeMap<FindingKind, Severity>,
    /// `[[waiver]]` tables, in file order.
    pub waivers: Vec<Waiver>,
    /// Every bound network with its (profile index, role).
    hosts_index: NetIndex<(usize, String)>,
}

impl Deployment {
    /// Reads and validates a deployment file against `catalog`.
    pub fn load(path: &Path, catalog: &Catalog) -> Result<Deployment, RulesError> {
        Self::parse(path, &read_text(path)?, catalog)
    }

    pub fn parse(file: &Path, text: &str, catalog: &Catalog) -> Result<Deployment, RulesError> {
        let raw: RawDeployment =
            toml::from_str(text).map_err(|e| RulesError::from_toml(file, text, &e))?;
        let err =
            |span: std::ops::Range<usize>, msg: String| RulesError::at(file, text, Some(span), msg);
        if raw.profiles.is_empty() {
            return Err(RulesError::at(
                file,
                text,
                None,
                format!(
                    "the deployment names no profile; add a [profiles.<id>] table with its hosts (known profiles: {}); `portaudit init --profile ID` writes a skeleton",
                    catalog.names().join(", ")
                ),
            ));
        }
        // Every mistake of the file is collected, in file order, and
        // reported together; an entry in error is left out of what follows.
        let mut errors: Vec<RulesError> = Vec::new();
        let mut profiles = Vec::new();
        // Every host binding with its place in the file, to check for
        // conflicts in file order once all are read.
        let mut bindings: Vec<(std::ops::Range<usize>, Binding)> = Vec::new();
        for (key, rp) in raw.profiles {
            let Some(profile) = catalog.get(key.get_ref()) else {
                errors.push(err(
                    key.span(),
                    format!(
                        "unknown profile {:?}; known profiles: {}",
                        key.get_ref(),
                        catalog.names().join(", ")
                    ),
                ));
                continue;
            };
            if profiles
                .iter()
                .any(|b: &ProfileBinding| b.profile.id == profile.id)
            {
                errors.push(err(
                    key.span(),
                    format!(
                        "profile {:?} is named twice (an alias names the same profile)",
                        profile.id
                    ),
                ));
                continue;
            }
            let mut features = BTreeSet::new();
            for f in rp.features {
                if !profile.has_feature(f.get_ref()) {
                    let known: Vec<&str> = profile.features.iter().map(|f| f.id.as_str()).collect();
                    errors.push(err(
                        f.span(),
                        format!(
                            "unknown feature {:?} of profile {:?}; its features are: {}",
                            f.get_ref(),
                            profile.id,
                            known.join(", ")
                        ),
                    ));
                    continue;
                }
                features.insert(f.into_inner());
            }
            let mut hosts = BTreeMap::new();
            let mut names = BTreeMap::new();
            for (role, specs) in rp.hosts {
                if profile.role(role.get_ref()).is_none() {
                    let known: Vec<&str> = profile.roles.iter().map(|r| r.id.as_str()).collect();
                    errors.push(err(
                        role.span(),
                        format!(
                            "unknown role {:?} of profile {:?}; its roles are: {}",
                            role.get_ref(),
                            profile.id,
                            known.join(", ")
                        ),
                    ));
                    continue;
                }
                let dedicated = profile.role(role.get_ref()).is_some_and(|r| r.dedicated);
                let mut nets = Vec::new();
                let mut role_names = Vec::new();
                for s in specs {
                    let net = match Net::parse(s.get_ref()) {
                        Ok(net) => net,
                        Err(m) => {
                            let text = s.get_ref();
                            // Letters past hex digits, or a `*`: meant as a name.
                            let name_like = text.bytes().any(|b| {
                                b == b'*' || (b.is_ascii_alphabetic() && !b.is_ascii_hexdigit())
                            });
                            match NamePattern::parse(text) {
                                Some(name) => role_names.push(name),
                                None if name_like => errors.push(err(s.span(), format!("{text:?} is neither an address, a CIDR network nor a host name; write e.g. \"10.1.0.10\", \"10.1.20.0/24\", \"api.example.com\" or \"*.example.com\""))),
                                None => errors.push(err(s.span(), m)),
                            }
                            continue;
                        }
                    };
                    bindings.push((
                        s.span(),
                        Binding {
                            net,
                            profile: profile.id.clone(),
                            role: role.get_ref().clone(),
                            dedicated,
                        },
                    ));
                    nets.push(net);
                }
                if !role_names.is_empty() {
                    names.insert(role.get_ref().clone(), role_names);
                }
                hosts.insert(role.into_inner(), nets);
            }
            profiles.push(ProfileBinding {
                profile: profile.clone(),
                features,
                hosts,
                names,
            });
        }
        bindings.sort_by_key(|(span, _)| span.start);
        // Each binding against the earlier ones it overlaps, found through
        // an index: a deployment of 100 000 hosts is not 10^10 pairs.
        let mut earlier: NetIndex<usize> = NetIndex::default();
        for (i, (span, b)) in bindings.iter().enumerate() {
            let overlapping = earlier.overlapping(b.net).copied();
            if let Some(m) = conflict(&bindings, overlapping, b, file, text) {
                errors.push(err(span.clone(), m));
            }
            earlier.insert(b.net, i);
        }
        let mut hosts_index = NetIndex::default();
        for (pi, b) in profiles.iter().enumerate() {
            for (role, nets) in &b.hosts {
                for net in nets {
                    hosts_index.insert(*net, (pi, role.clone()));
                }
            }
        }
        let mut site_rules = Vec::new();
        for r in raw.site_rules {
            match site_rule(r, &profiles, file, text) {
                Ok(r) => site_rules.push(r),
                Err(e) => errors.push(e),
            }
        }
        let mut waivers = Vec::new();
        for w in raw.waivers {
            match waiver(w, &profiles, &site_rules, file, text) {
                Ok(w) => waivers.push(w),
                Err(e) => errors.push(e),
            }
        }
        if let Some(e) = RulesError::all(errors) {
            return Err(e);
        }
        Ok(Deployment {
            name: raw.name,
            scope: raw.scope,
            profiles,
            site_rules,
            severity: raw.severity,
            waivers,
            hosts_index,
        })
    }

    /// The severity of a finding kind in this deployment.
    pub fn severity_of(&self, kind: FindingKind) -> Severity {
        self.severity
            .get(&kind)
            .copied()
            .unwrap_or_else(|| kind.default_severity())
    }

    /// Can `h` match any host? A role can only when hosts are bound to it.
    pub fn binds(&self, h: &HostRef) -> bool {
        match h {
            HostRef::AnyBound | HostRef::Net(_) => true,
            HostRef::Role { profile, role } => self.profiles[*profile].binds(role),
        }
    }

    /// Required rules that apply (no feature, or the feature is on) but
    /// cannot be checked because no host holds any role of one side:
    /// (profile id, rule id, the roles of the unbound side).
    pub fn unchecked_required(&self) -> Vec<(String, String, Vec<String>)> {
        let mut out = Vec::new();
        for (pi, b) in self.profiles.iter().enumerate() {
            for r in &b.profile.rules {
                let applies = r.feature.as_ref().is_none_or(|f| b.features.contains(f));
                if r.requirement != Requirement::Required || !applies {
                    continue;
                }
                for side in [&r.from, &r.to] {
                    let bound = side.iter().any(|role| {
                        self.binds(&HostRef::Role {
                            profile: pi,
                            role: role.clone(),
                        })
                    });
                    if !bound {
                        out.push((b.profile.id.clone(), r.id.clone(), side.clone()));
                        break;
                    }
                }
            }
        }
        out
    }

    /// Does `host` hold any role in the deployment?
    pub fn is_bound(&self, host: IpAddr) -> bool {
        self.hosts_index.containing(host).next().is_some()
    }

    /// The roles bound by host name, with the name: (profile index, role
    /// id, pattern), in profile and role order.
    pub fn name_bindings(&self) -> impl Iterator<Item = (usize, &str, &NamePattern)> {
        self.profiles.iter().enumerate().flat_map(|(pi, b)| {
            b.names
                .iter()
                .flat_map(move |(role, names)| names.iter().map(move |n| (pi, role.as_str(), n)))
        })
    }

    /// The roles `ip` holds, as (profile index, role id), in profile
    /// order, then role id order, each once.
    pub fn roles_of(&self, ip: IpAddr) -> Vec<(usize, String)> {
        let mut roles: Vec<(usize, String)> = self.hosts_index.containing(ip).cloned().collect();
        roles.sort();
        roles.dedup();
        roles
    }
}

fn site_rule(
    r: RawRule,
    profiles: &[ProfileBinding],
    file: &Path,
    text: &str,
) -> Result<SiteRule, RulesError> {
    let err =
        |span: std::ops::Range<usize>, msg: String| RulesError::at(file, text, Some(span), msg);
    let id = r.id.get_ref().clone();
    check_id(&id).map_err(|m| err(r.id.span(), m))?;
    let mut sides = Vec::new();
    for side in [&r.from, &r.to] {
        if side.get_ref().is_empty() {
            return Err(err(side.span(), format!("site rule {id:?} lists no host; use \"*\", a role, \"profile:role\", an address or a CIDR")));
        }
        let mut refs = Vec::new();
        for h in side.get_ref() {
            refs.push(host_ref(h.get_ref(), profiles).map_err(|m| err(h.span(), m))?);
        }
        sides.push(refs);
    }
    if r.feature.is_some() {
        return Err(err(
            r.id.span(),
            format!("site rule {id:?} has a `feature`; site rules are always on, so remove it"),
        ));
    }
    let ports = r
        .port_set(&format!("site rule {id:?}"), "53")
        .map_err(|(span, m)| err(span, m))?;
    let dynamic = r
        .dynamic(&format!("site rule {id:?}"))
        .map_err(|(span, m)| err(span, m))?;
    let app = r
        .app(&format!("site rule {id:?}"), &ports)
        .map_err(|(span, m)| err(span, m))?;
    let to = sides.pop().unwrap_or_default();
    let from = sides.pop().unwrap_or_default();
    Ok(SiteRule {
        rule: r.into_rule(ports, dynamic, app),
        from,
        to,
    })
}

pub(super) fn host_ref(s: &str, profiles: &[ProfileBinding]) -> Result<HostRef, String> {
    if s == "*" {
        return Ok(HostRef::AnyBound);
    }
    if let Some((p, role)) = s.split_once(':') {
        let owner = profiles
            .iter()
            .position(|b| b.profile.id == p || b.profile.aliases.iter().any(|a| a == p));
        if let Some(i) = owner {
            if profiles[i].profile.role(role).is_none() {
                return Err(format!("{s:?}: profile {p:?} has no role {role:?}"));
            }
            return Ok(HostRef::Role {
                profile: i,
                role: role.to_string(),
            });
        }
    }
    let owners: Vec<usize> = profiles
        .iter()
        .enumerate()
        .filter(|(_, b)| b.profile.role(s).is_some())
        .map(|(i, _)| i)
        .collect();
    match owners.as_slice() {
        [i] => {
            return Ok(HostRef::Role {
                profile: *i,
                role: s.to_string(),
            })
        }
        [_, _, ..] => {
            return Err(format!(
                "role {s:?} exists in several profiles; write \"profile:{s}\""
            ))
        }
        [] => {}
    }
    Net::parse(s).map(HostRef::Net).map_err(|_| {
        format!("{s:?} is neither \"*\", a role of the deployment's profiles, \"profile:role\", an address nor a CIDR network")
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDeployment {
    name: String,
    #[serde(default)]
    scope: AuditScope,
    #[serde(default)]
    profiles: BTreeMap<Spanned<String>, RawBinding>,
    #[serde(default, rename = "site_rule")]
    site_rules: Vec<RawRule>,
    #[serde(default)]
    severity: BTreeMap<FindingKind, Severity>,
    #[serde(default, rename = "waiver")]
    waivers: Vec<Spanned<RawWaiver>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBinding {
    #[serde(default)]
    features: Vec<Spanned<String>>,
    #[serde(default)]
    hosts: BTreeMap<Spanned<String>, Vec<Spanned<String>>>,
}
