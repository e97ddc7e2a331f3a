//! Starting flows ([`Generator`]): kind, endpoints and a byte budget that
//! steers the file towards its target size.

use super::endpoints::{
    host_addr, host_mac, host_ttl, TupleSpace, CLIENTS, EPHEMERAL_FIRST, EPHEMERAL_PORTS, HOSTS,
    HOST_PAIRS, TRIPLES,
};
use super::flow::{Ctx, Flow, Phase};
use super::spec::{pick, unit, Kind, ELASTIC_SHARE, KIND_MIX, TCP_PORTS};
use super::{EnterpriseSpec, EnterpriseStats, MAX_FRAME, NOISE_SPAN, PCAP_HEADER, RECORD_HEADER};
use crate::Rng;

/// Heavy tail of session sizes: Pareto with this shape (finite mean,
/// infinite variance), cut at [`SESSION_CAP`] times the mean.
const PARETO_ALPHA: f64 = 1.2;
const SESSION_CAP: f64 = 1000.0;
/// Smallest session budget: a handshake, a setup exchange (TLS hello and
/// certificates...) and a close; when the target is tight, down to a
/// handshake, one small exchange and a close.
const MIN_SESSION: f64 = 4000.0;
const MIN_SESSION_SQUEEZED: f64 = 800.0;
/// Smallest mid-stream budget: one exchange.
const MIN_MID_STREAM: f64 = 400.0;

/// Starts flows: picks kind, endpoints and size.
pub(super) struct Generator {
    spec: EnterpriseSpec,
    pub(super) ctx: Ctx,
    /// TCP, UDP, ICMP tuple spaces; IPv4 then IPv6 for each.
    spaces: [TupleSpace; 6],
    pub(super) started: u64,
    /// File bytes written or planned, record headers included.
    committed: i64,
    fixed_planned: u64,
    fixed_started: u64,
    pub(super) stats: EnterpriseStats,
}

impl Generator {
    pub(super) fn new(spec: &EnterpriseSpec) -> Generator {
        let mut rng = Rng::new(spec.seed);
        let mut space = |size, half_bits| TupleSpace::new(size, half_bits, &mut rng);
        let spaces = [
            space(TRIPLES, 15),
            space(TRIPLES, 15),
            space(TRIPLES, 15),
            space(TRIPLES, 15),
            space(HOST_PAIRS, 9),
            space(HOST_PAIRS, 9),
        ];
        let noise = (0..NOISE_SPAN as usize + MAX_FRAME)
            .map(|_| rng.next_u64() as u8)
            .collect();
        let fragment_ident = rng.next_u64() as u16;
        Generator {
            spec: *spec,
            ctx: Ctx {
                rng,
                fragment_ident,
                fragmented: 0,
                noise,
                frames: 0,
                frame_bytes: 0,
                dns_names: spec.dns_names,
            },
            spaces,
            started: 0,
            committed: PCAP_HEADER as i64,
            fixed_planned: 0,
            fixed_started: 0,
            stats: EnterpriseStats::default(),
        }
    }

    pub(super) fn start_flow(&mut self) -> Flow {
        let remaining_flows = self.spec.flows - self.started;
        self.started += 1;
        let left = i64::try_from(self.spec.bytes).unwrap_or(i64::MAX) - self.committed;
        let rng = &mut self.ctx.rng;
        let mut v6 = rng.below(100) < 12;
        let mut kind = pick(rng, &KIND_MIX);
        if remaining_flows == 1 && left > 20_000 {
            // The last flow takes whatever is left.
            kind = Kind::Session;
        }
        let slot = match self.spaces[kind.class(v6)].take() {
            Some(s) => s,
            None => {
                kind = Kind::Session;
                match self.spaces[kind.class(v6)].take() {
                    Some(s) => s,
                    None => {
                        v6 = !v6;
                        self.spaces[kind.class(v6)]
                            .take()
                            .expect("at most MAX_FLOWS flows, checked first")
                    }
                }
            }
        };
        let rng = &mut self.ctx.rng;
        let (client, server, client_port) = if kind == Kind::Ping {
            let a = slot / (HOSTS - 1);
            let b = slot % (HOSTS - 1);
            (a, b + u64::from(b >= a), 0)
        } else {
            let port = EPHEMERAL_FIRST + slot / CLIENTS % EPHEMERAL_PORTS;
            (
                slot % CLIENTS,
                CLIENTS + slot / (CLIENTS * EPHEMERAL_PORTS),
                port as u16,
            )
        };
        let server_port = match kind {
            Kind::Session | Kind::Refused | Kind::MidStream => pick(rng, &TCP_PORTS),
            Kind::Dns => 53,
            Kind::Syslog => 514,
            Kind::Ntp => 123,
            Kind::Snmp => 161,
            Kind::SnmpTrap => 162,
            Kind::Ping => 0,
        };
        let vlan = (rng.below(5) == 0).then_some(100 + (client % 8) as u16);
        let exchanges = match kind {
            Kind::Dns => 1 + u32::from(rng.below(10) < 3),
            Kind::Ntp => 1,
            Kind::Snmp => 1 + rng.below(6) as u32,
            Kind::SnmpTrap => 1 + rng.below(2) as u32,
            Kind::Syslog if rng.below(10) == 0 => 5 + rng.below(40) as u32,
            Kind::Syslog => 1 + rng.below(3) as u32,
            Kind::Ping => 1 + rng.below(4) as u32,
            _ => 0,
        };
        let mut flow = Flow {
            kind,
            v6,
            vlan,
            flow_label: rng.next_u64() as u32 & 0xF_FFFF,
            addr: [host_addr(client, v6), host_addr(server, v6)],
            mac: [host_mac(client), host_mac(server)],
            port: [client_port, server_port],
            ttl: [host_ttl(client), host_ttl(server)],
            window: [1026 + rng.below(1024) as u16, 2053 + rng.below(2048) as u16],
            ip_id: [rng.next_u64() as u16, rng.next_u64() as u16],
            seq: [rng.next_u64() as u32, rng.next_u64() as u32],
            mss: if v6 { 1440 } else { 1460 },
            phase: Phase::Datagrams,
            sender: 0,
            left: 0,
            reply: 0,
            unacked: 0,
            ack_every: 2,
            ack_due: false,
            rounds: 0,
            exchanges,
            query: if rng.below(2) == 0 { 32 } else { 56 },
            exchange_id: rng.next_u64() as u16,
            dns_name: 0,
            icmp_seq: 1,
            pending: None,
            budget: 0,
            written: 0,
            burst: 1,
        };
        match kind {
            Kind::Session => flow.phase = Phase::Syn,
            Kind::Refused => {
                flow.phase = Phase::Syn;
                flow.seq[1] = 0;
            }
            Kind::MidStream => flow.phase = Phase::Transfer,
            _ => {}
        }
        flow.budget = if kind.is_elastic() {
            self.session_budget(kind, remaining_flows, left)
        } else {
            let plan = fixed_plan(&flow);
            self.fixed_planned += plan;
            self.fixed_started += 1;
            plan
        };
        if kind.is_elastic() {
            flow.burst = (1 + flow.budget / 200_000).min(64) as u32;
        }
        if kind == Kind::MidStream {
            // Join in the middle of an answer.
            flow.next_round(&mut self.ctx);
            flow.sender = 1;
            flow.left = flow.reply;
        }
        self.committed += flow.budget as i64;
        let s = &mut self.stats;
        s.flows += 1;
        s.tcp_flows += u64::from(kind.is_tcp());
        s.tcp_refused += u64::from(kind == Kind::Refused);
        s.tcp_mid_stream += u64::from(kind == Kind::MidStream);
        s.icmp_flows += u64::from(kind == Kind::Ping);
        s.udp_flows += u64::from(!kind.is_tcp() && kind != Kind::Ping);
        s.ipv6_flows += u64::from(v6);
        flow
    }

    /// A heavy-tailed budget whose mean spreads what is left of the target
    /// over the sessions expected to come.
    fn session_budget(&mut self, kind: Kind, remaining_flows: u64, left: i64) -> u64 {
        let fixed_mean = if self.fixed_started == 0 {
            300.0
        } else {
            self.fixed_planned as f64 / self.fixed_started as f64
        };
        let remaining = remaining_flows as f64;
        let sessions = (remaining * ELASTIC_SHARE).max(1.0);
        let for_sessions = left as f64 - (remaining - sessions) * fixed_mean;
        let mean = for_sessions / sessions;
        // Sessions carry at least their setup, unless the target leaves
        // too little room for that.
        let floor = match kind {
            Kind::Session => (mean / 2.0).clamp(MIN_SESSION_SQUEEZED, MIN_SESSION),
            _ => MIN_MID_STREAM,
        };
        if remaining_flows == 1 {
            return (left as f64).max(floor) as u64;
        }
        let cap = (for_sessions / 4.0).min(mean * SESSION_CAP);
        let x_min = pareto_scale(mean, floor, cap);
        let x = x_min * unit(&mut self.ctx.rng).powf(-1.0 / PARETO_ALPHA);
        x.min(cap).max(floor) as u64
    }

    pub(super) fn finish_flow(&mut self, f: &Flow) {
        self.committed += f.written as i64 - f.budget as i64;
    }
}

/// The scale of a Pareto law whose samples, raised to `floor` and cut at
/// `cap`, have mean `mean` (or the smallest scale if even that is too
/// much).
fn pareto_scale(mean: f64, floor: f64, cap: f64) -> f64 {
    if mean <= floor || cap <= floor {
        return 1.0;
    }
    let a = PARETO_ALPHA;
    // E[max(floor, min(X, cap))] = lo + ∫ from lo to cap of P(X > t) dt,
    // lo = max(floor, scale): increasing in the scale, so bisect.
    let expected = |scale: f64| {
        let lo = floor.max(scale).min(cap);
        lo + scale.powf(a) / (a - 1.0) * (lo.powf(1.0 - a) - cap.powf(1.0 - a))
    };
    let (mut lo, mut hi) = (1.0, mean);
    for _ in 0..30 {
        let mid = 0.5 * (lo + hi);
        if expected(mid) < mean {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    lo
}

/// Expected file bytes of a flow of fixed shape.
fn fixed_plan(f: &Flow) -> u64 {
    let extra = RECORD_HEADER + if f.v6 { 20 } else { 0 } + if f.vlan.is_some() { 4 } else { 0 };
    let e = u64::from(f.exchanges);
    // Mean frame lengths (IPv4, untagged) of each message.
    let (frames, frame_bytes) = match f.kind {
        Kind::Refused => (2, 66 + 60),
        Kind::Dns => (2 * e, e * (87 + 193)),
        Kind::Ntp => (2 * e, e * 2 * 90),
        Kind::Snmp => (2 * e, e * (107 + 367)),
        Kind::SnmpTrap => (e, e * 292),
        Kind::Syslog => (e, e * 372),
        Kind::Ping => (2 * e, e * 2 * (42 + u64::from(f.query))),
        Kind::Session | Kind::MidStream => (0, 0),
    };
    frames * extra + frame_bytes
}
