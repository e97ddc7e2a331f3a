//! Profiles: one product's documented port matrix (see `rules/README.md`).

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use indexmap::IndexMap;
use serde::Deserialize;
use toml::Spanned;

use super::ports::PortSet;
use super::RulesError;
use crate::decode::{App, PROTO_ICMP, PROTO_ICMPV6, PROTO_TCP, PROTO_UDP};

/// Transport protocol of a rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
pub enum Proto {
    #[serde(rename = "tcp")]
    Tcp,
    #[serde(rename = "udp")]
    Udp,
    #[serde(rename = "tcp/udp")]
    TcpUdp,
    #[serde(rename = "icmp")]
    Icmp,
    #[serde(rename = "icmpv6")]
    Icmpv6,
}

impl Proto {
    pub fn matches(self, ip_proto: u8) -> bool {
        match self {
            Proto::Tcp => ip_proto == PROTO_TCP,
            Proto::Udp => ip_proto == PROTO_UDP,
            Proto::TcpUdp => ip_proto == PROTO_TCP || ip_proto == PROTO_UDP,
            Proto::Icmp => ip_proto == PROTO_ICMP,
            Proto::Icmpv6 => ip_proto == PROTO_ICMPV6,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Proto::Tcp => "tcp",
            Proto::Udp => "udp",
            Proto::TcpUdp => "tcp/udp",
            Proto::Icmp => "icmp",
            Proto::Icmpv6 => "icmpv6",
        }
    }

    fn has_ports(self) -> bool {
        matches!(self, Proto::Tcp | Proto::Udp | Proto::TcpUdp)
    }
}

/// Who may open the connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Initiator {
    #[default]
    From,
    Either,
}

impl Initiator {
    pub fn label(self) -> &'static str {
        match self {
            Initiator::From => "from",
            Initiator::Either => "either",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Requirement {
    Required,
    #[default]
    Optional,
}

impl Requirement {
    pub fn label(self) -> &'static str {
        match self {
            Requirement::Required => "required",
            Requirement::Optional => "optional",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Expect {
    #[default]
    Any,
    EachSource,
}

impl Expect {
    pub fn label(self) -> &'static str {
        match self {
            Expect::Any => "any",
            Expect::EachSource => "each-source",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Scope {
    #[default]
    Network,
    Local,
    Retired,
}

impl Scope {
    pub fn label(self) -> &'static str {
        match self {
            Scope::Network => "network",
            Scope::Local => "local",
            Scope::Retired => "retired",
        }
    }
}

/// A role hosts can hold.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Role {
    pub id: String,
    pub name: String,
    pub description: String,
    pub dedicated: bool,
}

/// An optional integration or condition the deployment can turn on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Feature {
    pub id: String,
    pub name: String,
    pub description: String,
}

/// One documented port entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rule {
    pub id: String,
    pub from: Vec<String>,
    pub to: Vec<String>,
    pub proto: Proto,
    /// Ports on the `to` side (ICMP types for ICMP; empty: any type).
    pub ports: PortSet,
    pub initiator: Initiator,
    pub requirement: Requirement,
    pub expect: Expect,
    pub feature: Option<String>,
    pub scope: Scope,
    pub purpose: String,
    pub source: String,
    pub note: Option<String>,
    /// Ports a mapper announces: `ports` is the documented range they
    /// fall in (docs/audit.md#announced-ports).
    pub dynamic: Option<Dynamic>,
    /// The application protocols the document says the port carries
    /// (docs/audit.md#application-protocols); empty: it does not say.
    pub app: Vec<App>,
    /// Protocols the document names for some of the rule's ports
    /// (`app_by_port`), before `app`.
    pub app_by_port: Vec<(PortSet, Vec<App>)>,
    /// A flow whose content cannot be checked (no payload, or none
    /// recognised) is a finding too.
    pub app_required: bool,
}

/// A rule whose ports a mapper announces, and the services it covers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dynamic {
    pub mapper: crate::rpc::Mapper,
    /// Interfaces or programs the rule covers; empty: any.
    pub services: Vec<crate::rpc::ServiceSpec>,
}

impl Dynamic {
    /// Whether the rule covers `service`.
    pub fn covers(&self, service: &crate::rpc::Service) -> bool {
        self.services.is_empty() || self.services.iter().any(|s| s.covers(service))
    }

    /// The services in words: `drsuapi`, `nfs/mountd`, or `any service`.
    pub fn services_text(&self) -> String {
        if self.services.is_empty() {
            return "any service".to_string();
        }
        let names: Vec<String> = self.services.iter().map(ToString::to_string).collect();
        names.join("/")
    }
}

impl Rule {
    /// The application protocols the document names for `port`: those
    /// of the first `app_by_port` entry holding it, else `app`.
    pub fn app_on(&self, port: u16) -> &[App] {
        self.app_by_port
            .iter()
            .find(|(ports, _)| ports.contains(port))
            .map_or(&self.app, |(_, apps)| apps)
    }

    /// Does this rule cover protocol `ip_proto` on service port `port`?
    pub fn covers(&self, ip_proto: u8, port: u16) -> bool {
        self.proto.matches(ip_proto) && (self.ports.is_empty() || self.ports.contains(port))
    }
}

/// Where a profile was read from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Origin {
    /// Compiled into the binary from `rules/`.
    BuiltIn,
    /// A file given with `--rules DIR` or to `rules check`.
    File(PathBuf),
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::BuiltIn => f.write_str("built-in"),
            Origin::File(p) => write!(f, "{}", p.display()),
        }
    }
}

/// A validated profile.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Profile {
    pub id: String,
    pub name: String,
    pub vendor: String,
    pub aliases: Vec<String>,
    pub document: String,
    pub seed: Option<String>,
    pub roles: Vec<Role>,
    pub features: Vec<Feature>,
    pub rules: Vec<Rule>,
    pub origin: Origin,
}

impl Profile {
    pub fn role(&self, id: &str) -> Option<&Role> {
        self.roles.iter().find(|r| r.id == id)
    }

    pub fn has_feature(&self, id: &str) -> bool {
        self.features.iter().any(|f| f.id == id)
    }

    /// How many rules apply only with feature `id`.
    pub fn feature_rule_count(&self, id: &str) -> usize {
        self.rules
            .iter()
            .filter(|r| r.feature.as_deref() == Some(id))
            .count()
    }

    /// The rules that make a missing-expected finding when unseen.
    pub fn required_rules(&self) -> impl Iterator<Item = &Rule> {
        self.rules
            .iter()
            .filter(|r| r.requirement == Requirement::Required)
    }

    /// Parses and validates the profile text of `file`.
    pub fn parse(file: &Path, text: &str) -> Result<Profile, RulesError> {
        let raw: RawProfile =
            toml::from_str(text).map_err(|e| RulesError::from_toml(file, text, &e))?;
        let err =
            |span: std::ops::Range<usize>, msg: String| RulesError::at(file, text, Some(span), msg);
        check_id(raw.id.get_ref()).map_err(|m| err(raw.id.span(), m))?;
        let roles: Vec<Role> = raw
            .roles
            .into_iter()
            .map(|(id, r)| Role {
                id,
                name: r.name,
                description: r.description,
                dedicated: r.dedicated,
            })
            .collect();
        let features: Vec<Feature> = raw
            .features
            .into_iter()
            .map(|(id, f)| Feature {
                id,
                name: f.name,
                description: f.description,
            })
            .collect();
        let role_ids: Vec<&str> = roles.iter().map(|r| r.id.as_str()).collect();
        let feature_ids: Vec<&str> = features.iter().map(|f| f.id.as_str()).collect();
        let mut rules = Vec::new();
        let mut seen = BTreeMap::new();
        for r in raw.rules {
            let id = r.id.get_ref().clone();
            check_id(&id).map_err(|m| err(r.id.span(), m))?;
            if seen.insert(id.clone(), ()).is_some() {
                return Err(err(
                    r.id.span(),
                    format!(
                        "rule id {id:?} is used twice; rule ids must be unique within a profile"
                    ),
                ));
            }
            for side in [&r.from, &r.to] {
                if side.get_ref().is_empty() {
                    return Err(err(
                        side.span(),
                        format!(
                            "rule {id:?} lists no role; name at least one of: {}",
                            role_ids.join(", ")
                        ),
                    ));
                }
                for role in side.get_ref() {
                    if !role_ids.contains(&role.get_ref().as_str()) {
                        return Err(err(role.span(), format!("unknown role {:?} in rule {id:?}; declare it under [roles.{}] or use one of: {}", role.get_ref(), role.get_ref(), role_ids.join(", "))));
                    }
                }
            }
            if let Some(f) = &r.feature {
                if !feature_ids.contains(&f.get_ref().as_str()) {
                    return Err(err(f.span(), format!("unknown feature {:?} in rule {id:?}; declare it under [features.{}] or use one of: {}", f.get_ref(), f.get_ref(), feature_ids.join(", "))));
                }
            }
            let ports = r
                .port_set(&format!("rule {id:?}"), "443")
                .map_err(|(span, m)| err(span, m))?;
            if r.source.get_ref().trim().is_empty() {
                return Err(err(r.source.span(), format!("rule {id:?} has an empty `source`; quote the document's sentence the rule comes from")));
            }
            let dynamic = r
                .dynamic(&format!("rule {id:?}"))
                .map_err(|(span, m)| err(span, m))?;
            let app = r
                .app(&format!("rule {id:?}"), &ports)
                .map_err(|(span, m)| err(span, m))?;
            rules.push(r.into_rule(ports, dynamic, app));
        }
        Ok(Profile {
            id: raw.id.into_inner(),
            name: raw.name,
            vendor: raw.vendor,
            aliases: raw.aliases,
            document: raw.document,
            seed: raw.seed,
            roles,
            features,
            rules,
            origin: Origin::File(file.to_path_buf()),
        })
    }
}

/// Ids are what users type in deployments: keep them plain.
pub(crate) fn check_id(id: &str) -> Result<(), String> {
    let ok = !id.is_empty()
        && id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "id {id:?} may hold only lowercase letters, digits, '-' and '_'"
        ))
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProfile {
    id: Spanned<String>,
    name: String,
    vendor: String,
    #[serde(default)]
    aliases: Vec<String>,
    document: String,
    seed: Option<String>,
    #[serde(default)]
    roles: IndexMap<String, RawRole>,
    #[serde(default)]
    features: IndexMap<String, RawFeature>,
    #[serde(default, rename = "rule")]
    rules: Vec<RawRule>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRole {
    name: String,
    description: String,
    #[serde(default)]
    dedicated: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFeature {
    name: String,
    description: String,
}

/// A list of names as written, each with where it was written.
pub(crate) type Labels = Spanned<Vec<Spanned<String>>>;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRule {
    pub(crate) id: Spanned<String>,
    pub(crate) from: Spanned<Vec<Spanned<String>>>,
    pub(crate) to: Spanned<Vec<Spanned<String>>>,
    pub(crate) proto: Spanned<Proto>,
    pub(crate) ports: Option<Spanned<String>>,
    #[serde(default)]
    pub(crate) initiator: Initiator,
    #[serde(default)]
    pub(crate) requirement: Requirement,
    #[serde(default)]
    pub(crate) expect: Expect,
    pub(crate) feature: Option<Spanned<String>>,
    #[serde(default)]
    pub(crate) scope: Scope,
    pub(crate) purpose: String,
    pub(crate) source: Spanned<String>,
    pub(crate) note: Option<String>,
    pub(crate) dynamic: Option<Spanned<crate::rpc::Mapper>>,
    pub(crate) services: Option<Spanned<Vec<Spanned<String>>>>,
    pub(crate) app: Option<Labels>,
    pub(crate) app_by_port: Option<Spanned<IndexMap<String, Labels>>>,
    pub(crate) app_required: Option<Spanned<bool>>,
}

impl RawRule {
    /// The rule's ports; `what` names the rule in the message ("rule
    /// \"x\"", "site rule \"x\""), `example` is a port to suggest.
    pub(crate) fn port_set(
        &self,
        what: &str,
        example: &str,
    ) -> Result<PortSet, (std::ops::Range<usize>, String)> {
        let proto = *self.proto.get_ref();
        match &self.ports {
            Some(p) => PortSet::parse(p.get_ref()).map_err(|m| (p.span(), m)),
            None if proto.has_ports() => Err((
                self.proto.span(),
                format!(
                    "{what} is {} but has no `ports`; add e.g. ports = \"{example}\"",
                    proto.label()
                ),
            )),
            None => Ok(PortSet::default()),
        }
    }

    /// The rule's `dynamic` and `services`, checked; `what` names the rule.
    pub(crate) fn dynamic(
        &self,
        what: &str,
    ) -> Result<Option<Dynamic>, (std::ops::Range<usize>, String)> {
        let Some(mapper) = &self.dynamic else {
            return match &self.services {
                Some(s) => Err((
                    s.span(),
                    format!("{what} has `services` but no `dynamic`; add dynamic = \"epm\" or \"portmap\""),
                )),
                None => Ok(None),
            };
        };
        let proto = *self.proto.get_ref();
        if !matches!(proto, Proto::Tcp | Proto::Udp | Proto::TcpUdp) {
            return Err((
                mapper.span(),
                format!(
                    "{what} is {} but has `dynamic`: mappers announce TCP and UDP ports",
                    proto.label()
                ),
            ));
        }
        let mapper = *mapper.get_ref();
        if let Some(s) = self.services.as_ref().filter(|s| s.get_ref().is_empty()) {
            return Err((
                s.span(),
                format!("{what} has an empty `services`, which would cover nothing; remove it to cover any service"),
            ));
        }
        let mut services = Vec::new();
        for s in self.services.iter().flat_map(|s| s.get_ref()) {
            services.push(
                crate::rpc::ServiceSpec::parse(s.get_ref(), mapper).map_err(|m| (s.span(), m))?,
            );
        }
        Ok(Some(Dynamic { mapper, services }))
    }

    /// The rule's `app`, `app_by_port` and `app_required`, checked;
    /// `what` names the rule, `ports` are its ports.
    #[allow(clippy::type_complexity)]
    pub(crate) fn app(
        &self,
        what: &str,
        ports: &PortSet,
    ) -> Result<(Vec<App>, Vec<(PortSet, Vec<App>)>), (std::ops::Range<usize>, String)> {
        let mut by_port = Vec::new();
        for (key, list) in self.app_by_port.iter().flat_map(|m| m.get_ref()) {
            let span = list.span();
            let set = PortSet::parse(key).map_err(|m| {
                (
                    span.clone(),
                    format!("{what}: `app_by_port` key {key:?}: {m}"),
                )
            })?;
            if let Some(&(lo, hi)) = set
                .ranges()
                .iter()
                .find(|&&(lo, hi)| (lo..=hi).any(|p| !ports.contains(p)))
            {
                let shown = if lo == hi {
                    lo.to_string()
                } else {
                    format!("{lo}-{hi}")
                };
                return Err((span, format!("{what}: `app_by_port` names port {shown}, which is not among the rule's ports ({ports})")));
            }
            by_port.push((set, self.app_list(what, list)?));
        }
        let app = match &self.app {
            Some(list) => self.app_list(what, list)?,
            None => Vec::new(),
        };
        if app.is_empty() && by_port.is_empty() {
            if let Some(r) = &self.app_required {
                return Err((
                    r.span(),
                    format!("{what} has `app_required` but no `app`; name the protocols the port carries, e.g. app = [\"tls\"]"),
                ));
            }
        }
        Ok((app, by_port))
    }

    /// One list of application protocols, checked.
    fn app_list(
        &self,
        what: &str,
        list: &Labels,
    ) -> Result<Vec<App>, (std::ops::Range<usize>, String)> {
        if !matches!(
            self.proto.get_ref(),
            Proto::Tcp | Proto::Udp | Proto::TcpUdp
        ) {
            return Err((
                list.span(),
                format!(
                    "{what} is {} but has `app`: only TCP and UDP payloads are read",
                    self.proto.get_ref().label()
                ),
            ));
        }
        if list.get_ref().is_empty() {
            return Err((
                list.span(),
                format!("{what} has an empty `app`, which no traffic could match; remove it if the document names no protocol"),
            ));
        }
        let mut apps = Vec::new();
        for label in list.get_ref() {
            let app = App::of_label(label.get_ref())
                .filter(|a| a.is_known())
                .ok_or_else(|| (label.span(), unknown_app(what, label.get_ref())))?;
            if !apps.contains(&app) {
                apps.push(app);
            }
        }
        Ok(apps)
    }

    /// The validated rule, once its sides, feature, ports and `dynamic`
    /// are checked.
    pub(crate) fn into_rule(
        self,
        ports: PortSet,
        dynamic: Option<Dynamic>,
        (app, app_by_port): (Vec<App>, Vec<(PortSet, Vec<App>)>),
    ) -> Rule {
        let names = |side: Spanned<Vec<Spanned<String>>>| {
            side.into_inner()
                .into_iter()
                .map(Spanned::into_inner)
                .collect()
        };
        Rule {
            id: self.id.into_inner(),
            from: names(self.from),
            to: names(self.to),
            proto: self.proto.into_inner(),
            ports,
            initiator: self.initiator,
            requirement: self.requirement,
            expect: self.expect,
            feature: self.feature.map(Spanned::into_inner),
            scope: self.scope,
            purpose: self.purpose,
            source: self.source.into_inner(),
            note: self.note,
            dynamic,
            app,
            app_by_port,
            app_required: self.app_required.is_some_and(|r| *r.get_ref()),
        }
    }
}

/// What to say of `label`, no protocol portaudit reads: the label to
/// write for what documents call a service (HTTPS is TLS on the wire),
/// else the labels there are.
fn unknown_app(what: &str, label: &str) -> String {
    let lower = label.to_ascii_lowercase();
    let hint = match lower.as_str() {
        "https" | "ldaps" | "ssl" | "syslog-tls" | "amqps" | "ftps" | "smtps" | "wss" => Some((
            "tls",
            "what its first bytes show is TLS, whatever it carries",
        )),
        "nfs" | "sunrpc" | "rpcbind" | "portmap" | "portmapper" | "mountd" => {
            Some(("onc-rpc", "NFS and its helpers speak ONC-RPC"))
        }
        "msrpc" | "rpc" | "epm" => Some(("dcerpc", "Microsoft RPC is DCE/RPC")),
        "smb2" | "smb3" | "cifs" => Some(("smb", "all SMB versions are `smb`")),
        "postgres" | "pgsql" => Some(("postgresql", "the protocol's name")),
        "wsman" | "ws-management" => Some(("winrm", "WS-Management over HTTP")),
        "ldap-udp" => Some(("cldap", "LDAP over UDP")),
        "none" | "unknown" => Some(("", "they say what could not be checked, not a protocol")),
        known if App::of_label(known).is_some() => Some((known, "labels are lower case")),
        _ => None,
    };
    match hint {
        Some(("", why)) => format!("{what}: {label:?} cannot be in `app`: {why}"),
        Some((instead, why)) => {
            format!("{what}: unknown application protocol {label:?}; write {instead:?} ({why})")
        }
        None => {
            let known: Vec<&str> = App::ALL
                .iter()
                .filter(|a| a.is_known())
                .map(|a| a.label())
                .collect();
            format!(
                "{what}: unknown application protocol {label:?}; use one of: {}",
                known.join(", ")
            )
        }
    }
}
