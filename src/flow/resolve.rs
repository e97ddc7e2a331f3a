//! From a key's packet summary to a flow with an initiator, a state and a
//! connection count: the decisions taken before any rule is consulted
//! (docs/audit.md#initiator, docs/audit.md#flow-states).

use std::fmt;
use std::net::IpAddr;

use crate::capture::Timestamp;
use crate::decode::{
    App, Tunnel, TunnelKind, PROTO_ICMP, PROTO_ICMPV6, PROTO_TCP, PROTO_UDP, TUNNEL_UDP_PORTS,
};

use super::community_id::community_id;
use super::key::{icmp_is_request, icmp_ports, Dir, Endpoint, FlowKey};
use super::stats::FlowStats;

/// How the initiator of a flow was decided.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum InitiatorBasis {
    /// Sender of a SYN without ACK (evidence).
    Syn,
    /// Receiver of a SYN-ACK (evidence).
    SynAck,
    /// ICMP request/reply or message type (evidence).
    IcmpType,
    /// The other end is a broadcast or multicast address, which only ever
    /// receives (evidence).
    GroupAddress,
    /// Mid-stream TCP, UDP: the side on a server port is the responder.
    PortHeuristic,
    /// Nothing better: the sender of the first packet.
    FirstPacket,
    /// A flow record named it: Zeek's originator, Suricata's source
    /// (docs/inputs.md). What the engine saw first, not evidence.
    Record,
    /// A flow record named it after its engine's own heuristic turned the
    /// connection round (Zeek's `^` in history): inference.
    RecordHeuristic,
    /// The payload says who asked: the sender of a DCE/RPC bind or an
    /// ONC-RPC call is the client (evidence; docs/audit.md#initiator).
    Payload,
}

impl InitiatorBasis {
    pub const ALL: [InitiatorBasis; 9] = [
        InitiatorBasis::Syn,
        InitiatorBasis::SynAck,
        InitiatorBasis::IcmpType,
        InitiatorBasis::GroupAddress,
        InitiatorBasis::PortHeuristic,
        InitiatorBasis::FirstPacket,
        InitiatorBasis::Record,
        InitiatorBasis::RecordHeuristic,
        InitiatorBasis::Payload,
    ];

    pub fn label(self) -> &'static str {
        match self {
            InitiatorBasis::Syn => "syn",
            InitiatorBasis::SynAck => "syn-ack",
            InitiatorBasis::IcmpType => "icmp-type",
            InitiatorBasis::GroupAddress => "group-address",
            InitiatorBasis::PortHeuristic => "port-heuristic",
            InitiatorBasis::FirstPacket => "first-packet",
            InitiatorBasis::Record => "record",
            InitiatorBasis::RecordHeuristic => "record-heuristic",
            InitiatorBasis::Payload => "payload",
        }
    }

    /// True when the initiator was seen, not inferred.
    pub fn is_evidence(self) -> bool {
        matches!(
            self,
            InitiatorBasis::Syn
                | InitiatorBasis::SynAck
                | InitiatorBasis::IcmpType
                | InitiatorBasis::GroupAddress
                | InitiatorBasis::Payload
        )
    }
}

impl fmt::Display for InitiatorBasis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// What a flow shows of its conversation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FlowState {
    /// TCP: the responder accepted (SYN-ACK, or answered a SYN with data).
    Established,
    /// TCP: a SYN answered only by RST.
    Refused,
    /// TCP: a SYN never answered.
    Unanswered,
    /// TCP: no handshake in the capture.
    MidStream,
    /// Not TCP: packets both ways.
    TwoWay,
    /// Not TCP: packets one way only.
    OneWay,
}

impl FlowState {
    pub fn label(self) -> &'static str {
        match self {
            FlowState::Established => "established",
            FlowState::Refused => "refused",
            FlowState::Unanswered => "unanswered",
            FlowState::MidStream => "mid-stream",
            FlowState::TwoWay => "two-way",
            FlowState::OneWay => "one-way",
        }
    }

    /// The conversation evidently took place (for missing-expected checks):
    /// an accepted or ongoing TCP connection, any UDP/ICMP traffic.
    pub fn is_observed(self) -> bool {
        !matches!(self, FlowState::Refused | FlowState::Unanswered)
    }
}

impl fmt::Display for FlowState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// A flow with its direction decided.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Flow {
    pub proto: u8,
    pub initiator: Endpoint,
    pub responder: Endpoint,
    pub basis: InitiatorBasis,
    pub state: FlowState,
    pub connections: u32,
    /// Packets and bytes sent by the initiator, then by the responder.
    pub packets: [u64; 2],
    pub bytes: [u64; 2],
    pub first_ts: Option<Timestamp>,
    pub last_ts: Option<Timestamp>,
    /// The tunnel the flow came through (the innermost, when nested);
    /// boxed, so that untunnelled flows pay 8 bytes for it.
    pub tunnel: Option<Box<Tunnel>>,
    /// The flow is the outer flow of tunnels of this kind: it carries
    /// other flows rather than being a service (`--tunnels both`).
    pub carrier: Option<TunnelKind>,
    /// Where the flow was first seen.
    pub origin: super::Origin,
    /// The application protocol of the initiator's first payload, then of
    /// the responder's ([`App::None`]: it sent none).
    pub apps: [App; 2],
    /// The first server name a client named (TLS SNI, HTTP `Host`).
    pub name: Option<Box<str>>,
    /// The first ALPN offer a client made ([`crate::decode::alpn`]).
    pub alpn: Option<Box<str>>,
    /// What the initiator's first payload said, then the responder's,
    /// where either was quoted ([`crate::decode::quote`]); boxed, so that
    /// flows without pay 8 bytes for it.
    pub said: Option<Box<[Option<Box<str>>; 2]>>,
}

impl Flow {
    /// Only one side was ever seen sending.
    pub fn is_one_way(&self) -> bool {
        self.packets[0] == 0 || self.packets[1] == 0
    }

    /// No TCP handshake was seen.
    pub fn is_mid_stream(&self) -> bool {
        self.state == FlowState::MidStream
    }

    /// The server's name: the one the client named, else the one DNS
    /// gave its address ([`Flow::dns_name`]).
    pub fn server_name<'a>(&'a self, k: &'a crate::rpc::Knowledge) -> Option<&'a str> {
        self.name_or(self.dns_name(k))
    }

    /// [`Flow::server_name`] when its [`Flow::dns_name`], `dns`, was
    /// already looked up: the client's name first.
    pub fn name_or<'a>(&'a self, dns: Option<&'a str>) -> Option<&'a str> {
        self.name.as_deref().or(dns)
    }

    /// When the client named none: the name a DNS answer seen before the
    /// flow gave the responder's address ([`crate::rpc::Knowledge::dns_name`]).
    /// Looked up when asked for, not per flow: most flows' names are
    /// never read.
    pub fn dns_name<'k>(&self, k: &'k crate::rpc::Knowledge) -> Option<&'k str> {
        if self.name.is_some() {
            return None;
        }
        k.dns_name(self.responder.addr, self.initiator.addr, self.first_ts)
    }

    /// Whether [`Flow::dns_name`] gives a name, without finding which:
    /// `named_from` is when a DNS answer first named the responder
    /// ([`crate::rpc::Knowledge::named_from`]).
    pub fn named_by_dns(&self, named_from: Option<Timestamp>) -> bool {
        self.name.is_none() && matches!((named_from, self.first_ts), (Some(n), Some(at)) if n <= at)
    }

    pub fn total_packets(&self) -> u64 {
        self.packets[0] + self.packets[1]
    }

    pub fn total_bytes(&self) -> u64 {
        self.bytes[0] + self.bytes[1]
    }

    /// The port a rule is matched on: the responder's (for ICMP, the
    /// initiator's message type).
    pub fn service_port(&self) -> u16 {
        if self.proto == PROTO_ICMP || self.proto == PROTO_ICMPV6 {
            self.initiator.port
        } else {
            self.responder.port
        }
    }

    /// The flow's application protocol: what the initiator's first
    /// payload showed, else what the responder's did.
    pub fn app(&self) -> App {
        match self.apps {
            [a, _] if a.is_known() => a,
            [_, b] if b.is_known() => b,
            [App::Unknown, _] | [_, App::Unknown] => App::Unknown,
            _ => App::None,
        }
    }

    pub fn community_id(&self) -> super::CommunityId {
        community_id(self.proto, self.initiator, self.responder)
    }
}

/// Decides initiator, state and connections for the flow `key`.
/// `is_server_port(proto, port)` says whether a rule names `port` as a
/// listening port; it steers the port heuristic for flows without
/// handshake evidence.
pub fn resolve(key: &FlowKey, s: &FlowStats, is_server_port: &dyn Fn(u8, u16) -> bool) -> Flow {
    let (init_dir, basis) = initiator(key, s, is_server_port);
    let i = init_dir.index();
    let r = init_dir.reverse().index();
    let state = if key.proto == PROTO_TCP {
        let syn = s.syns[i] > 0;
        let synack = s.synacks[r] > 0;
        let answered = s.packets[r] > u64::from(s.rsts[r]);
        if synack || (syn && answered) {
            FlowState::Established
        } else if syn && s.rsts[r] > 0 {
            FlowState::Refused
        } else if syn {
            FlowState::Unanswered
        } else {
            FlowState::MidStream
        }
    } else if s.packets[0] > 0 && s.packets[1] > 0 {
        FlowState::TwoWay
    } else {
        FlowState::OneWay
    };
    let connections = if key.proto == PROTO_TCP {
        s.conns.total().max(1)
    } else {
        1
    };
    Flow {
        proto: key.proto,
        initiator: key.sender(init_dir),
        responder: key.sender(init_dir.reverse()),
        basis,
        state,
        connections,
        packets: [s.packets[i], s.packets[r]],
        bytes: [s.bytes[i], s.bytes[r]],
        first_ts: s.first_ts(),
        last_ts: s.last_ts(),
        tunnel: s.tunnel().map(|&t| Box::new(t)),
        carrier: s.carrier,
        origin: s.origin(),
        apps: [s.apps[i], s.apps[r]],
        name: s.name().map(Box::from),
        alpn: s.alpn().map(Box::from),
        said: match [s.said(init_dir), s.said(init_dir.reverse())] {
            [None, None] => None,
            said => Some(Box::new(said.map(|q| q.map(Box::from)))),
        },
    }
}

/// Whether `port` is in a range operating systems pick client ports
/// from: IANA's dynamic ports (49152-65535), Linux's default range
/// (32768-60999), and Windows' before Vista (1025-5000).
fn in_ephemeral_range(port: u16) -> bool {
    (1025..=5000).contains(&port) || port >= 32768
}

/// ICMP router advertisement; ICMPv6 router and neighbour advertisement.
fn is_advertisement(proto: u8, kind: u16) -> bool {
    if proto == PROTO_ICMPV6 {
        matches!(kind, 134 | 136)
    } else {
        kind == 9
    }
}

/// A broadcast or multicast address: a destination only.
fn is_group(addr: IpAddr) -> bool {
    match addr {
        IpAddr::V4(a) => a.is_broadcast() || a.is_multicast(),
        IpAddr::V6(a) => a.is_multicast(),
    }
}

/// Which end listens, judged by the ports alone (docs/audit.md#initiator),
/// in this order: a port a rule names as a listening port; a well-known
/// port (below 1024) against one that is not; a port in no ephemeral range
/// against one in a range; the lower of two ports in no range.
/// `None` when the ports do not tell.
fn listening_side(key: &FlowKey, is_server_port: &dyn Fn(u8, u16) -> bool) -> Option<Dir> {
    let (a, b) = (key.a.port, key.b.port);
    if a == b || a == 0 || b == 0 {
        return None;
    }
    // The direction of a flow whose `a` side listens is b to a.
    let a_listens = |yes: bool| if yes { Dir::BtoA } else { Dir::AtoB };
    let (a_rule, b_rule) = (is_server_port(key.proto, a), is_server_port(key.proto, b));
    if a_rule != b_rule {
        return Some(a_listens(a_rule));
    }
    if (a < 1024) != (b < 1024) {
        return Some(a_listens(a < 1024));
    }
    let (a_tunnel, b_tunnel) = (TUNNEL_UDP_PORTS.contains(&a), TUNNEL_UDP_PORTS.contains(&b));
    if key.proto == PROTO_UDP && a_tunnel != b_tunnel {
        return Some(a_listens(a_tunnel));
    }
    let (a_eph, b_eph) = (in_ephemeral_range(a), in_ephemeral_range(b));
    if a_eph != b_eph {
        return Some(a_listens(!a_eph));
    }
    (!a_eph).then(|| a_listens(a < b))
}

fn initiator(
    key: &FlowKey,
    s: &FlowStats,
    is_server_port: &dyn Fn(u8, u16) -> bool,
) -> (Dir, InitiatorBasis) {
    let first = s.first_dir.unwrap_or(Dir::AtoB);
    if key.proto == PROTO_TCP {
        if let Some(d) = s.first_syn_dir {
            return (d, InitiatorBasis::Syn);
        }
        if let Some(d) = s.first_synack_dir {
            return (d.reverse(), InitiatorBasis::SynAck);
        }
    }
    match (is_group(key.a.addr), is_group(key.b.addr)) {
        (true, false) => return (Dir::BtoA, InitiatorBasis::GroupAddress),
        (false, true) => return (Dir::AtoB, InitiatorBasis::GroupAddress),
        _ => {}
    }
    if key.proto == PROTO_ICMP || key.proto == PROTO_ICMPV6 {
        let (a, b) = (key.a.port, key.b.port);
        // Request/reply pairs, keyed (type, counterpart type): the endpoint
        // holding the request type asked. Any other message is keyed
        // (type, code), and a code can look like a request type
        // (unreachable, code 13: administratively prohibited), so the pair
        // must really be a type and its counterpart.
        let paired = a <= 255 && {
            let (_, counterpart, one_way) = icmp_ports(key.proto, a as u8, 0);
            !one_way && counterpart == b
        };
        if paired {
            let (d, reply) = if icmp_is_request(key.proto, a) {
                (Dir::AtoB, b)
            } else {
                (Dir::BtoA, a)
            };
            // Router and neighbour advertisements are also sent unsolicited:
            // one nobody was seen soliciting is its sender's.
            if s.packets[d.index()] == 0 && is_advertisement(key.proto, reply) {
                return (d.reverse(), InitiatorBasis::IcmpType);
            }
            return (d, InitiatorBasis::IcmpType);
        }
        return (first, InitiatorBasis::IcmpType);
    }
    // A flow record's originator, when its flags gave no evidence: the
    // engine saw the packets, the port heuristic only guesses.
    if let Some(declared) = s.declared() {
        return declared;
    }
    // The payload says who asked: a DNS query, an NTP client packet, a
    // TLS ClientHello, an HTTP request... (docs/audit.md#initiator).
    if let Some(d) = s.first_ask_dir() {
        return (d, InitiatorBasis::Payload);
    }
    match listening_side(key, is_server_port) {
        Some(d) => (d, InitiatorBasis::PortHeuristic),
        None => (first, InitiatorBasis::FirstPacket),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::{TCP_ACK, TCP_RST, TCP_SYN};

    fn key(proto: u8, pa: u16, pb: u16) -> FlowKey {
        FlowKey {
            proto,
            a: Endpoint {
                addr: "10.0.0.1".parse().unwrap(),
                port: pa,
            },
            b: Endpoint {
                addr: "10.0.0.2".parse().unwrap(),
                port: pb,
            },
        }
    }

    fn none(_: u8, _: u16) -> bool {
        false
    }

    #[test]
    fn syn_decides_and_rst_refuses() {
        let k = key(PROTO_TCP, 443, 50000);
        let mut s = FlowStats::default();
        s.add(Dir::BtoA, 60, None, Some((TCP_SYN, 1)));
        s.add(Dir::AtoB, 60, None, Some((TCP_RST | TCP_ACK, 0)));
        let f = resolve(&k, &s, &none);
        assert_eq!(f.initiator.port, 50000);
        assert_eq!(f.basis, InitiatorBasis::Syn);
        assert_eq!(f.state, FlowState::Refused);
    }

    /// NTP between two 123s, first seen as the server's reply: the port
    /// heuristic cannot tell and the first packet is the server's; the
    /// payload (mode 4, server) says the other side asked. In a mid-stream
    /// TLS flow whose ServerHello comes from the high port the payload
    /// wins over a rule naming 443 as a server port, and evidence (a SYN)
    /// still wins over the payload.
    #[test]
    fn the_payload_says_who_asked_before_the_ports() {
        use crate::decode::Ask;
        let k = key(PROTO_UDP, 123, 123);
        let mut s = FlowStats::default();
        s.add(Dir::AtoB, 90, None, None);
        s.asked(Dir::AtoB, Ask::Reply);
        s.add(Dir::BtoA, 90, None, None);
        s.asked(Dir::BtoA, Ask::Request);
        let f = resolve(&k, &s, &none);
        assert_eq!(f.initiator.addr, k.b.addr);
        assert_eq!(f.basis, InitiatorBasis::Payload);
        assert!(f.basis.is_evidence());

        let k = key(PROTO_TCP, 50000, 443);
        let mut s = FlowStats::default();
        s.add(Dir::AtoB, 60, None, Some((TCP_ACK, 1)));
        s.asked(Dir::AtoB, Ask::Reply);
        let f = resolve(&k, &s, &|_, p| p == 443);
        assert_eq!((f.initiator.port, f.basis), (443, InitiatorBasis::Payload));
        s.add(Dir::AtoB, 60, None, Some((TCP_SYN, 1)));
        assert_eq!(resolve(&k, &s, &none).basis, InitiatorBasis::Syn);
    }

    #[test]
    fn synack_alone_is_evidence_of_the_other_side() {
        let k = key(PROTO_TCP, 443, 50000);
        let mut s = FlowStats::default();
        s.add(Dir::AtoB, 60, None, Some((TCP_SYN | TCP_ACK, 1)));
        let f = resolve(&k, &s, &none);
        assert_eq!(f.initiator.port, 50000);
        assert_eq!(f.basis, InitiatorBasis::SynAck);
        assert_eq!(f.state, FlowState::Established);
    }

    #[test]
    fn mid_stream_uses_rule_ports_then_low_port() {
        let k = key(PROTO_TCP, 4222, 8443);
        let mut s = FlowStats::default();
        s.add(Dir::AtoB, 60, None, Some((TCP_ACK, 1)));
        let f = resolve(&k, &s, &|_, p| p == 8443);
        assert_eq!(f.responder.port, 8443);
        assert_eq!(f.basis, InitiatorBasis::PortHeuristic);
        let f = resolve(&k, &s, &none);
        assert_eq!(
            f.responder.port, 8443,
            "4222 is in the old Windows client range, 8443 in none"
        );
        assert_eq!(f.state, FlowState::MidStream);
        let k = key(PROTO_TCP, 40000, 50000);
        let f = resolve(&k, &s, &none);
        assert_eq!(f.basis, InitiatorBasis::FirstPacket);
    }

    /// The port heuristic's order, each step with the case it decides.
    #[test]
    fn listening_ports_in_documented_order() {
        let mut s = FlowStats::default();
        s.add(Dir::AtoB, 60, None, None);
        let responder = |pa, pb, rule: &dyn Fn(u8, u16) -> bool| {
            let f = resolve(&key(PROTO_UDP, pa, pb), &s, rule);
            (f.basis == InitiatorBasis::PortHeuristic).then_some(f.responder.port)
        };
        assert_eq!(responder(4222, 1000, &|_, p| p == 4222), Some(4222), "rule");
        assert_eq!(responder(514, 3000, &none), Some(514), "well-known");
        assert_eq!(responder(1030, 8080, &none), Some(8080), "no range");
        assert_eq!(responder(9200, 8443, &none), Some(8443), "lower, no range");
        assert_eq!(responder(123, 53, &none), Some(53), "lower well-known");
        assert_eq!(responder(51000, 3389, &none), None, "both ephemeral");
        assert_eq!(responder(51000, 3389, &|_, p| p == 3389), Some(3389));
        assert_eq!(responder(3797, 3544, &none), Some(3544), "a tunnel port");
        assert_eq!(responder(1030, 4000, &none), None, "both old Windows");
        assert_eq!(responder(33000, 61000, &none), None, "both high");
    }

    #[test]
    fn a_broadcast_or_multicast_address_never_initiates() {
        let mut k = key(PROTO_UDP, 67, 68);
        k.b.addr = "255.255.255.255".parse().unwrap();
        let mut s = FlowStats::default();
        // The DHCP server's NAK to the broadcast address.
        s.add(Dir::AtoB, 60, None, None);
        let f = resolve(&k, &s, &|_, p| p == 68 || p == 67);
        assert_eq!(f.initiator.addr, k.a.addr);
        assert_eq!(f.basis, InitiatorBasis::GroupAddress);
        let mut k = key(PROTO_UDP, 5353, 5353);
        k.a.addr = "ff02::fb".parse().unwrap();
        k.b.addr = "fe80::1".parse().unwrap();
        let f = resolve(&k, &s, &none);
        assert_eq!(f.initiator.addr, k.b.addr, "mDNS to its group");
    }

    #[test]
    fn icmp_echo_reply_first_still_names_the_requester() {
        // Echo reply from 10.0.0.1 (ports 0,8) to 10.0.0.2 (ports 8,0).
        let k = key(PROTO_ICMP, 0, 8);
        let mut s = FlowStats::default();
        s.add(Dir::AtoB, 60, None, None);
        let f = resolve(&k, &s, &none);
        assert_eq!(f.initiator.addr.to_string(), "10.0.0.2");
        assert_eq!(f.basis, InitiatorBasis::IcmpType);
        assert_eq!(f.service_port(), 8);
        assert_eq!(f.state, FlowState::OneWay);
    }

    /// A one-way ICMP error keyed (type, code) whose code is also a
    /// request type (unreachable, code 13) is opened by its sender, not
    /// by whichever end sorts first.
    #[test]
    fn an_icmp_error_whose_code_looks_like_a_request_is_its_senders() {
        // 10.0.0.2 (b) sends type 3 code 13 to 10.0.0.1 (a): a holds 13.
        let k = key(PROTO_ICMP, 13, 3);
        let mut s = FlowStats::default();
        s.add(Dir::BtoA, 70, Some(Timestamp(1)), None);
        let f = resolve(&k, &s, &|_, _| false);
        assert_eq!(f.initiator.addr, k.b.addr);
        assert_eq!(f.initiator.port, 3);
        assert_eq!(f.basis, InitiatorBasis::IcmpType);
        // An echo request and its reply still go by the request.
        let k = key(PROTO_ICMP, 0, 8);
        let mut s = FlowStats::default();
        s.add(Dir::AtoB, 70, Some(Timestamp(1)), None);
        let f = resolve(&k, &s, &|_, _| false);
        assert_eq!(f.initiator.addr, k.b.addr, "the echo request's sender");
    }
}
