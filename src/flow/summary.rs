//! Flow-level facts of a run: a fold over its flows, mergeable.

use std::collections::BTreeMap;

use super::{Flow, FlowState};
use crate::decode::{App, TunnelKind};

/// At or above this share of one-way flows, a run says that the capture,
/// not the network, may be why expected traffic is missing.
pub const ONE_WAY_CAVEAT: f64 = 0.25;

/// Flow-level facts of a run.
#[derive(Clone, Debug, Default)]
pub struct FlowSummary {
    pub flows: u64,
    pub one_way: u64,
    pub tcp_flows: u64,
    pub mid_stream: u64,
    /// Flows that came through a tunnel, by the kind of their innermost.
    pub tunnelled: BTreeMap<TunnelKind, u64>,
    /// Outer flows of tunnels, by kind (docs/audit.md#tunnels).
    pub carriers: BTreeMap<TunnelKind, u64>,
    /// TCP and UDP flows by the application protocol their payloads
    /// showed ([`Flow::app`]), by [`App`]'s place in [`App::ALL`]
    /// ([`FlowSummary::apps`]): counted per flow without a lookup.
    by_app: AppCounts,
    /// What the content check found of the flows a rule naming their
    /// port's protocols allowed or judged (docs/audit.md#application-protocols).
    pub content: ContentCheck,
    /// Each host name a deployment binds a role to, and how many server
    /// addresses clients named so (docs/audit.md#application-protocols).
    pub names_bound: BTreeMap<String, u64>,
    /// Flows whose server has a name: that its client named (TLS SNI,
    /// HTTP `Host`), and else that a DNS answer gave its address.
    pub named_by_client: u64,
    pub named_by_dns: u64,
}

/// Flows by application protocol, by [`App`]'s place in [`App::ALL`].
#[derive(Clone, Debug)]
struct AppCounts([u64; App::ALL.len()]);

impl Default for AppCounts {
    fn default() -> Self {
        AppCounts([0; App::ALL.len()])
    }
}

/// The flows on ports whose rule names their protocols, by what their
/// content showed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ContentCheck {
    /// The payload showed a protocol the rule names.
    pub verified: u64,
    /// The payload showed another protocol (`protocol-mismatch`).
    pub mismatched: u64,
    /// No payload, or none recognised: not checked.
    pub unverifiable: u64,
}

impl ContentCheck {
    pub fn total(&self) -> u64 {
        self.verified + self.mismatched + self.unverifiable
    }

    fn merge(&mut self, o: &ContentCheck) {
        self.verified += o.verified;
        self.mismatched += o.mismatched;
        self.unverifiable += o.unverifiable;
    }
}

impl FlowSummary {
    /// The summary of `flows`, each with whether DNS named its server
    /// ([`Flow::named_by_dns`]).
    pub fn of<'a>(flows: impl Iterator<Item = (&'a Flow, bool)>) -> FlowSummary {
        let mut s = FlowSummary::default();
        for (f, named_by_dns) in flows {
            s.add(f, named_by_dns);
        }
        s
    }

    pub fn add(&mut self, f: &Flow, named_by_dns: bool) {
        self.flows += 1;
        self.one_way += u64::from(f.is_one_way());
        if f.proto == crate::decode::PROTO_TCP {
            self.tcp_flows += 1;
            self.mid_stream += u64::from(f.state == FlowState::MidStream);
        }
        if let Some(t) = &f.tunnel {
            *self.tunnelled.entry(t.kind).or_default() += 1;
        }
        if let Some(k) = f.carrier {
            *self.carriers.entry(k).or_default() += 1;
        }
        if matches!(f.proto, crate::decode::PROTO_TCP | crate::decode::PROTO_UDP) {
            self.by_app.0[f.app() as usize] += 1;
        }
        self.named_by_client += u64::from(f.name.is_some());
        self.named_by_dns += u64::from(named_by_dns);
    }

    /// TCP and UDP flows by the application protocol their payloads
    /// showed ([`Flow::app`]), the protocols of none left out.
    pub fn apps(&self) -> BTreeMap<App, u64> {
        (App::ALL.iter().zip(self.by_app.0))
            .filter(|(_, n)| *n > 0)
            .map(|(a, n)| (*a, n))
            .collect()
    }

    /// `vxlan 3, gre 1`: counts by tunnel kind.
    pub fn by_kind(counts: &BTreeMap<TunnelKind, u64>) -> String {
        let parts: Vec<String> = counts.iter().map(|(k, n)| format!("{k} {n}")).collect();
        parts.join(", ")
    }

    pub fn merge(&mut self, o: &FlowSummary) {
        self.flows += o.flows;
        self.one_way += o.one_way;
        self.tcp_flows += o.tcp_flows;
        self.mid_stream += o.mid_stream;
        for (k, n) in &o.tunnelled {
            *self.tunnelled.entry(*k).or_default() += n;
        }
        for (k, n) in &o.carriers {
            *self.carriers.entry(*k).or_default() += n;
        }
        for (mine, theirs) in self.by_app.0.iter_mut().zip(&o.by_app.0) {
            *mine += theirs;
        }
        self.content.merge(&o.content);
        self.named_by_client += o.named_by_client;
        self.named_by_dns += o.named_by_dns;
    }

    /// Share of flows where only one side was ever seen.
    pub fn one_way_share(&self) -> f64 {
        ratio(self.one_way, self.flows)
    }

    /// Whether so many flows are one-way ([`ONE_WAY_CAVEAT`]) that a
    /// missing flow may be the capture's doing, not the network's.
    pub fn mostly_one_way(&self) -> bool {
        self.flows > 0 && self.one_way_share() >= ONE_WAY_CAVEAT
    }

    /// Share of TCP flows with no handshake in the capture.
    pub fn mid_stream_share(&self) -> f64 {
        ratio(self.mid_stream, self.tcp_flows)
    }
}

fn ratio(a: u64, b: u64) -> f64 {
    if b == 0 {
        0.0
    } else {
        a as f64 / b as f64
    }
}
