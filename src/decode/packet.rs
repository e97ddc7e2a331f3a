//! From a frame to a packet summary: the fields flows and rules need.

use std::fmt;
use std::net::IpAddr;

use arrayvec::ArrayVec;
use etherparse::{err, IpNumber, Ipv6ExtensionSlice, LaxIpSlice};

use super::link::{link_payload, IpPayload};
use super::tunnel::{self, Tunnel, TunnelKind, TunnelMode};
use crate::capture::LinkType;

pub const PROTO_ICMP: u8 = 1;
pub const PROTO_TCP: u8 = 6;
pub const PROTO_UDP: u8 = 17;
pub const PROTO_ICMPV6: u8 = 58;
pub const PROTO_SCTP: u8 = 132;
const IPV6_NO_NEXT_HEADER: u8 = 59;

/// Why a captured frame could not be used. Every skipped packet is counted
/// under one of these; the labels are stable (reports and `--stats` use them).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SkipReason {
    /// The capture's link type is not one portaudit reads.
    UnsupportedLinkType(u32),
    /// The frame ends inside its link-layer header.
    TruncatedLinkHeader,
    /// An Ethernet/SLL frame carrying something other than IP (ARP, LLDP...).
    NonIpEthertype(u16),
    /// An 802.3 frame with an LLC header (STP, CDP...).
    NonIpLlc,
    /// A BSD loopback frame of an address family other than IPv4/IPv6.
    NonIpAddressFamily(u32),
    /// More stacked VLAN tags than any real network uses.
    TooManyVlanTags,
    /// The frame ends inside the IP header.
    TruncatedIpHeader,
    /// The link layer announced one IP version, the header says another.
    IpVersionMismatch,
    /// The IP version nibble is neither 4 nor 6.
    BadIpVersion,
    /// IPv4 header length field below 20 bytes.
    MalformedIpv4Header,
    /// An IPv6 extension header (or IPv4 AH) that cannot be walked.
    MalformedIpExtensionHeader,
    /// The frame ends before the transport ports (or ICMP type).
    TruncatedTransportHeader,
    /// A non-first IP fragment whose first fragment never appeared, so its
    /// ports (and flow) are unknown.
    FragmentWithoutFirst,
    /// A PPPoE session header of another version/type, code, or length.
    MalformedPppoe,
    /// A PPP frame (PPPoE, PPTP) carrying something other than IP (LCP,
    /// compressed data...).
    NonIpPpp(u16),
    /// Below an MPLS label stack, neither IP nor an Ethernet pseudowire.
    UnknownMplsPayload,
    /// More MPLS labels than any real network stacks.
    TooManyMplsLabels,
    /// A GRE or GENEVE packet carrying something other than IP, Ethernet,
    /// ERSPAN or MPLS (by its protocol type).
    NonIpTunnel(u16),
    /// A tunnel packet with nothing inside (a PPTP acknowledgement).
    EmptyTunnelPacket,
    /// A tunnel header (GRE, GENEVE, GTP-U...) that ends early or has
    /// fields no tunnel of its kind has.
    MalformedTunnelHeader,
    /// Tunnels nested deeper than portaudit opens.
    TooManyEncapsulations,
}

impl SkipReason {
    /// Stable kebab-case label.
    pub fn label(self) -> String {
        match self {
            SkipReason::UnsupportedLinkType(n) => format!("unsupported-link-type-{n}"),
            SkipReason::TruncatedLinkHeader => "truncated-link-header".into(),
            SkipReason::NonIpEthertype(t) => format!("non-ip-ethertype-0x{t:04x}"),
            SkipReason::NonIpLlc => "non-ip-llc".into(),
            SkipReason::NonIpAddressFamily(f) => format!("non-ip-address-family-{f}"),
            SkipReason::TooManyVlanTags => "too-many-vlan-tags".into(),
            SkipReason::TruncatedIpHeader => "truncated-ip-header".into(),
            SkipReason::IpVersionMismatch => "ip-version-mismatch".into(),
            SkipReason::BadIpVersion => "bad-ip-version".into(),
            SkipReason::MalformedIpv4Header => "malformed-ipv4-header".into(),
            SkipReason::MalformedIpExtensionHeader => "malformed-ip-extension-header".into(),
            SkipReason::TruncatedTransportHeader => "truncated-transport-header".into(),
            SkipReason::FragmentWithoutFirst => "fragment-without-first".into(),
            SkipReason::MalformedPppoe => "malformed-pppoe".into(),
            SkipReason::NonIpPpp(p) => format!("non-ip-ppp-0x{p:04x}"),
            SkipReason::UnknownMplsPayload => "unknown-mpls-payload".into(),
            SkipReason::TooManyMplsLabels => "too-many-mpls-labels".into(),
            SkipReason::NonIpTunnel(p) => format!("non-ip-tunnel-0x{p:04x}"),
            SkipReason::EmptyTunnelPacket => "empty-tunnel-packet".into(),
            SkipReason::MalformedTunnelHeader => "malformed-tunnel-header".into(),
            SkipReason::TooManyEncapsulations => "too-many-encapsulations".into(),
        }
    }
}

impl fmt::Display for SkipReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.label())
    }
}

/// The transport identity of a packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transport {
    /// TCP, UDP or SCTP (or the first fragment of one).
    Ports { src: u16, dst: u16 },
    /// ICMP or ICMPv6 message type and code.
    Icmp { kind: u8, code: u8 },
    /// Another IP protocol (ESP, OSPF, a tunnel left closed...): the flow
    /// is keyed by addresses and protocol only.
    Other,
    /// A non-first fragment: the ports are in the first fragment.
    LaterFragment,
}

/// Identity of an IP fragment, to join later fragments to the first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fragment {
    /// IPv4 identification (16 bits) or IPv6 fragment identification.
    pub ident: u32,
    /// Offset 0: this fragment carries the transport header.
    pub first: bool,
}

/// What one decoded packet contributes to its flow.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PacketSummary {
    pub src: IpAddr,
    pub dst: IpAddr,
    /// IP protocol number of the transport (after IPv6 extension headers).
    pub proto: u8,
    pub transport: Transport,
    /// TCP flags byte; 0 when not TCP or when the snap length cut it off.
    pub tcp_flags: u8,
    /// TCP sequence number, to tell a retransmitted SYN from a new one.
    pub tcp_seq: u32,
    pub fragment: Option<Fragment>,
    /// Frame length on the wire (the record's original length); for a
    /// packet inside a tunnel, the length of the frame that carried it.
    pub wire_len: u32,
    pub encap: Encap,
    /// Where the packet's record is in its input: its byte offset in a
    /// file, its number in a live capture. Set by the reader (decoding
    /// leaves 0); a flow's first packet gives the flow its origin.
    pub at: u64,
    /// Where the TCP or UDP payload lies, to be read by the flow table
    /// if it is its flow's first that way: its index in
    /// [`Decap::payloads`], or [`NO_PAYLOAD`].
    pub payload: u8,
}

/// Where a packet stands among tunnels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encap {
    /// A packet as captured, no tunnel opened.
    None,
    /// A packet taken out of a tunnel (the innermost, when nested): its
    /// index in [`Decap::tunnels`].
    Inner(u16),
    /// The outer packet of a tunnel of this kind, counted as well as the
    /// packet inside it (`--tunnels both`).
    Carrier(TunnelKind),
}

pub const TCP_FIN: u8 = 0x01;
pub const TCP_SYN: u8 = 0x02;
pub const TCP_RST: u8 = 0x04;
pub const TCP_ACK: u8 = 0x10;

/// The carriers of one packet, outer first, at most one per tunnel opened.
pub type Carriers = ArrayVec<PacketSummary, { tunnel::MAX_ENCAPSULATIONS }>;

/// What decoding finds of tunnels, kept by the caller across packets so
/// that the common, untunnelled packet returns no more than its summary.
#[derive(Debug, Default)]
pub struct Decap {
    /// The carriers of the packet just decoded ([`TunnelMode::Both`]),
    /// else empty.
    pub carriers: Carriers,
    /// The tunnels packets came through, which their summaries name by
    /// index ([`Encap::Inner`]); the caller clears it with the packets
    /// that name it.
    pub tunnels: Vec<Tunnel>,
    /// Why the inside of the tunnel of the packet just decoded could not
    /// be used (it then counts in its carrier): the caller counts it.
    pub unopened: Option<SkipReason>,
    /// What the payloads of the packets decoded say of RPC services
    /// ([`crate::rpc::inspect`]); the caller stamps and empties it.
    pub rpc: crate::rpc::Pending,
    /// Where the payloads of the packets decoded lie, which their
    /// summaries name by index ([`PacketSummary::payload`]); the caller
    /// clears it with the packets that name it, at the latest when it
    /// holds [`MAX_PAYLOADS`].
    pub payloads: Vec<Payload>,
}

/// Where a packet's payload lies in memory, found again in the buffer
/// that held the frame ([`Payload::in_buffer`]) while the buffer is
/// unchanged: the flow table reads a payload only if it is its flow's
/// first that way, a few packets of each flow, and decoding copies none.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Payload {
    /// The address of its first byte.
    addr: usize,
    len: usize,
}

impl Payload {
    fn of(bytes: &[u8]) -> Payload {
        Payload {
            addr: bytes.as_ptr() as usize,
            len: bytes.len(),
        }
    }

    /// The payload's bytes, where `buffer` holds them: the buffer the
    /// frame was decoded from, unchanged since. `None` for any other
    /// buffer (no read outside it, whatever it is given).
    pub fn in_buffer(self, buffer: &[u8]) -> Option<&[u8]> {
        let start = self.addr.checked_sub(buffer.as_ptr() as usize)?;
        buffer.get(start..start.checked_add(self.len)?)
    }
}

/// What a payload names of the service a client wants, and what it
/// says where its protocol is off its own ports.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Hello {
    /// The server name (TLS SNI, HTTP `Host`; [`super::server_name`]).
    pub name: Option<Box<str>>,
    /// The protocols a TLS ClientHello offers ([`super::alpn`]).
    pub alpn: Option<Box<str>>,
    /// The payload quoted ([`super::quote`]).
    pub said: Option<Box<str>>,
}

/// No payload ([`PacketSummary::payload`]).
pub const NO_PAYLOAD: u8 = u8::MAX;

/// The payloads a batch of packets may name ([`Decap::payloads`]).
pub const MAX_PAYLOADS: usize = NO_PAYLOAD as usize;

/// Decodes one frame of link type `link`, opening tunnels as `tunnels`
/// says: the packet its flow is keyed on, and its tunnels in `decap`.
#[inline]
pub fn decode(
    link: LinkType,
    frame: &[u8],
    wire_len: u32,
    tunnels: TunnelMode,
    decap: &mut Decap,
) -> Result<PacketSummary, SkipReason> {
    // The common packet, IPv4 in an untagged Ethernet frame, goes from its
    // header to its summary with no `Result` between them: a packet
    // wrapped and unwrapped on the stack costs store-forwarding stalls on
    // every packet, and the link layers' general reader is out of line.
    if link == LinkType::ETHERNET {
        if let Some(ip) = frame
            .get(12..)
            .filter(|rest| rest.starts_with(&[0x08, 0x00]))
            .and_then(|rest| plain_ipv4(&rest[2..]))
        {
            return summarize(ip, wire_len, tunnels, decap);
        }
    }
    let data = ip_data(link_payload(link, frame)?)?;
    if let Some(ip) = plain_ipv4(data) {
        return summarize(ip, wire_len, tunnels, decap);
    }
    summarize(general_ip(data)?, wire_len, tunnels, decap)
}

/// The summary of `ip`, and of the packet inside when it is a tunnel that
/// `tunnels` says to open.
#[inline(always)]
fn summarize(
    ip: IpPacket<'_>,
    wire_len: u32,
    tunnels: TunnelMode,
    decap: &mut Decap,
) -> Result<PacketSummary, SkipReason> {
    // Only the protocol and the body are read past the summary: the outer
    // addresses are the summary's.
    let (proto, body) = (ip.proto, ip.body);
    let later = matches!(ip.fragment, Some(Fragment { first: false, .. }));
    let mut packet = transport(ip, wire_len)?;
    look_into(&mut packet, body, decap);
    if tunnels != TunnelMode::Outer {
        if let Some(opened) = tunnel::open(proto, later, body) {
            return decapsulate(packet, opened, tunnels, decap);
        }
    }
    Ok(packet)
}

/// Opens the tunnel `opened` found in the packet whose summary is
/// `outer`, and any nested in it, down to the innermost packet.
#[cold]
#[inline(never)]
fn decapsulate<'a>(
    outer: PacketSummary,
    mut opened: Result<tunnel::Opened<'a>, (TunnelKind, SkipReason)>,
    tunnels: TunnelMode,
    decap: &mut Decap,
) -> Result<PacketSummary, SkipReason> {
    decap.carriers.clear();
    let mut carrier = outer;
    // The endpoints of the packet carrying the tunnel being opened.
    let (mut src, mut dst) = (outer.src, outer.dst);
    let inner = (|| {
        for _ in 0..tunnel::MAX_ENCAPSULATIONS {
            let kind = match &opened {
                Ok(o) => o.kind,
                Err((kind, _)) => *kind,
            };
            carrier.encap = Encap::Carrier(kind);
            decap.carriers.push(carrier);
            let o = opened.map_err(|(_, why)| why)?;
            let via = Tunnel {
                kind: o.kind,
                src,
                dst,
                id: o.id,
            };
            let ip = ip_packet(o.inner)?;
            let (proto, body) = (ip.proto, ip.body);
            let later = matches!(ip.fragment, Some(Fragment { first: false, .. }));
            (src, dst) = (ip.src, ip.dst);
            // IPv6 "no next header": a Teredo bubble, a keepalive with
            // nothing of a flow inside.
            if proto == IPV6_NO_NEXT_HEADER {
                return Err(SkipReason::EmptyTunnelPacket);
            }
            let packet = transport(ip, outer.wire_len)?;
            match tunnel::open(proto, later, body) {
                Some(next) => {
                    opened = next;
                    carrier = packet;
                }
                None => {
                    let mut packet = packet;
                    look_into(&mut packet, body, decap);
                    return Ok((packet, via));
                }
            }
        }
        Err(SkipReason::TooManyEncapsulations)
    })();
    let packet = match inner {
        Ok((mut packet, via)) => {
            // A batch holds far fewer packets than u16::MAX; past it the
            // tunnel goes unrecorded rather than misnamed.
            if let Ok(at) = u16::try_from(decap.tunnels.len()) {
                decap.tunnels.push(via);
                packet.encap = Encap::Inner(at);
            }
            packet
        }
        // A tunnel whose inside cannot be used (ARP in VXLAN, a PPTP
        // acknowledgement, a Teredo bubble, a header cut short) counts in
        // its innermost carrier, whatever the mode: nothing is lost, and
        // why is counted.
        Err(why) => {
            decap.unopened = Some(why);
            decap
                .carriers
                .pop()
                .expect("a carrier per tunnel recognised")
        }
    };
    // The carriers are kept to count in only with both.
    if tunnels != TunnelMode::Both {
        decap.carriers.clear();
    }
    Ok(packet)
}

/// Finds the payload of a TCP or UDP packet (not a later fragment) and
/// reads what every packet must be read for: what RPC mappers announce
/// and connections say of themselves ([`crate::rpc::inspect`]), and the
/// addresses a DNS answer gives a name ([`super::dns::answers`]). Its
/// protocol, and what it says of its sender and names, are read by the
/// flow table from the flow's first payload each way ([`Payload`],
/// [`super::listen`]).
#[inline(always)]
fn look_into(p: &mut PacketSummary, body: &[u8], decap: &mut Decap) {
    let Transport::Ports { src, dst } = p.transport else {
        return;
    };
    let payload = match p.proto {
        // A data offset below 5 words is no TCP header: no payload.
        PROTO_TCP => match body.get(12).map(|b| usize::from(b >> 4) * 4) {
            Some(off) if off >= 20 => body.get(off..),
            _ => None,
        },
        PROTO_UDP => body.get(8..),
        _ => None,
    };
    let Some(payload) = payload.filter(|p| !p.is_empty()) else {
        return;
    };
    if decap.payloads.len() < MAX_PAYLOADS {
        p.payload = decap.payloads.len() as u8;
        decap.payloads.push(Payload::of(payload));
    }
    crate::rpc::inspect(p.proto, (p.src, src), (p.dst, dst), payload, &mut decap.rpc);
    if src == super::DNS || dst == super::DNS {
        dns_answer(p, src, dst, payload, decap);
    }
}

/// Reads a DNS reply's answers (every reply: each names its own).
#[inline(never)]
fn dns_answer(p: &PacketSummary, src: u16, dst: u16, payload: &[u8], decap: &mut Decap) {
    // Over TCP, after the message's two-byte length.
    let message = if p.proto == PROTO_TCP {
        payload.get(2..)
    } else {
        Some(payload)
    };
    // Half are questions: told by their QR bit before anything else.
    if message
        .and_then(|m| m.get(2))
        .is_none_or(|flags| flags & 0x80 == 0)
    {
        return;
    }
    let heard = super::heard(p.proto, src, dst, payload);
    if heard.app() != super::App::Dns || heard.ask() != super::Ask::Reply {
        return;
    }
    if let Some((name, addrs)) = message.and_then(super::dns::answers) {
        let ends = (p.src, p.dst);
        decap
            .rpc
            .dns_answer(p.proto, ends, (&name, name.hash()), &addrs);
    }
}

/// What the IP layer of a packet says.
struct IpPacket<'a> {
    src: IpAddr,
    dst: IpAddr,
    fragment: Option<Fragment>,
    proto: u8,
    /// After the IP header and its extensions.
    body: &'a [u8],
}

/// The IP bytes of `payload`, checked against the version its carrier
/// announced.
#[inline]
fn ip_data(payload: IpPayload<'_>) -> Result<&[u8], SkipReason> {
    let IpPayload { version, data } = payload;
    let Some(&first) = data.first() else {
        return Err(SkipReason::TruncatedIpHeader);
    };
    let found = first >> 4;
    if let Some(v) = version {
        if v != found && (found == 4 || found == 6) {
            return Err(SkipReason::IpVersionMismatch);
        }
    }
    Ok(data)
}

/// The IP header of `payload` (the tunnels' inner packets).
fn ip_packet(payload: IpPayload<'_>) -> Result<IpPacket<'_>, SkipReason> {
    let data = ip_data(payload)?;
    match plain_ipv4(data) {
        Some(ip) => Ok(ip),
        None => general_ip(data),
    }
}

/// The common IPv4 packet read in place: a 20-byte header (no options),
/// not AH, whose total length the data holds. `None` for anything else,
/// which [`general_ip`] reads the general way (a test holds both to the
/// same answers).
#[inline]
fn plain_ipv4(data: &[u8]) -> Option<IpPacket<'_>> {
    const AH: u8 = 51;
    let h: &[u8; 20] = data.get(..20)?.try_into().ok()?;
    let total = usize::from(u16::from_be_bytes([h[2], h[3]]));
    if h[0] != 0x45 || h[9] == AH || total < 20 || total > data.len() {
        return None;
    }
    let flags_offset = u16::from_be_bytes([h[6], h[7]]);
    let (more, offset) = (flags_offset & 0x2000 != 0, flags_offset & 0x1fff);
    let fragment = (more || offset != 0).then(|| Fragment {
        ident: u32::from(u16::from_be_bytes([h[4], h[5]])),
        first: offset == 0,
    });
    Some(IpPacket {
        src: IpAddr::from([h[12], h[13], h[14], h[15]]),
        dst: IpAddr::from([h[16], h[17], h[18], h[19]]),
        fragment,
        proto: h[9],
        body: &data[20..total],
    })
}

/// An IP packet of any shape (etherparse's lax reading). Kept out of line:
/// inlined, its slicing makes the common IPv4 path of [`decode`] slower.
#[inline(never)]
fn general_ip(data: &[u8]) -> Result<IpPacket<'_>, SkipReason> {
    let (ip, ext_err) = LaxIpSlice::from_slice(data).map_err(|e| match e {
        err::ip::LaxHeaderSliceError::Len(_) => SkipReason::TruncatedIpHeader,
        err::ip::LaxHeaderSliceError::Content(err::ip::HeaderError::UnsupportedIpVersion {
            ..
        }) => SkipReason::BadIpVersion,
        err::ip::LaxHeaderSliceError::Content(_) => SkipReason::MalformedIpv4Header,
    })?;
    if ext_err.is_some() {
        return Err(SkipReason::MalformedIpExtensionHeader);
    }
    let (src, dst, fragment) = match &ip {
        LaxIpSlice::Ipv4(v4) => {
            let h = v4.header();
            let fragment =
                (h.more_fragments() || h.fragments_offset().value() != 0).then(|| Fragment {
                    ident: u32::from(h.identification()),
                    first: h.fragments_offset().value() == 0,
                });
            (
                IpAddr::from(h.source_addr()),
                IpAddr::from(h.destination_addr()),
                fragment,
            )
        }
        LaxIpSlice::Ipv6(v6) => {
            let h = v6.header();
            let mut fragment = None;
            for ext in v6.extensions().clone() {
                if let Ipv6ExtensionSlice::Fragment(f) = ext {
                    // An atomic fragment (offset 0, no more) is a whole packet.
                    if f.more_fragments() || f.fragment_offset().value() != 0 {
                        fragment = Some(Fragment {
                            ident: f.identification(),
                            first: f.fragment_offset().value() == 0,
                        });
                    }
                }
            }
            (
                IpAddr::from(h.source_addr()),
                IpAddr::from(h.destination_addr()),
                fragment,
            )
        }
    };
    let payload = ip.payload();
    Ok(IpPacket {
        src,
        dst,
        fragment,
        proto: payload.ip_number.0,
        body: payload.payload,
    })
}

/// The summary of an IP packet: its transport header read.
#[inline]
fn transport(ip: IpPacket<'_>, wire_len: u32) -> Result<PacketSummary, SkipReason> {
    let IpPacket {
        src,
        dst,
        fragment,
        proto,
        body,
    } = ip;
    let mut summary = PacketSummary {
        src,
        dst,
        proto,
        transport: Transport::Other,
        tcp_flags: 0,
        tcp_seq: 0,
        fragment,
        wire_len,
        encap: Encap::None,
        at: 0,
        payload: NO_PAYLOAD,
    };
    if matches!(fragment, Some(Fragment { first: false, .. })) {
        summary.transport = Transport::LaterFragment;
        return Ok(summary);
    }
    match IpNumber(proto) {
        IpNumber::TCP | IpNumber::UDP | IpNumber::SCTP => {
            if body.len() < 4 {
                return Err(SkipReason::TruncatedTransportHeader);
            }
            summary.transport = Transport::Ports {
                src: u16::from_be_bytes([body[0], body[1]]),
                dst: u16::from_be_bytes([body[2], body[3]]),
            };
            if proto == PROTO_TCP && body.len() >= 14 {
                summary.tcp_seq = u32::from_be_bytes([body[4], body[5], body[6], body[7]]);
                summary.tcp_flags = body[13];
            }
        }
        IpNumber::ICMP | IpNumber::IPV6_ICMP => {
            if body.len() < 2 {
                return Err(SkipReason::TruncatedTransportHeader);
            }
            summary.transport = Transport::Icmp {
                kind: body[0],
                code: body[1],
            };
        }
        _ => {}
    }
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;
    use etherparse::PacketBuilder;
    use proptest::prelude::*;

    fn decode(link: LinkType, frame: &[u8], wire_len: u32) -> Result<PacketSummary, SkipReason> {
        super::decode(
            link,
            frame,
            wire_len,
            TunnelMode::Inner,
            &mut Decap::default(),
        )
    }

    proptest! {
        /// The IPv4 fast path reads every packet it takes as etherparse
        /// does: headers with any flags, lengths, protocols and options
        /// flag, over any data length.
        #[test]
        fn plain_ipv4_reads_as_etherparse_does(
            mut header in proptest::collection::vec(any::<u8>(), 20..80),
            version_ihl in prop_oneof![Just(0x45u8), Just(0x46), Just(0x44), any::<u8>()],
            proto in prop_oneof![Just(6u8), Just(17), Just(1), Just(51), any::<u8>()],
            total in prop_oneof![0u16..100, any::<u16>()],
            frag in prop_oneof![Just(0u16), Just(0x2000), Just(0x0003), Just(0x4000), any::<u16>()],
        ) {
            header[0] = version_ihl;
            header[9] = proto;
            header[2..4].copy_from_slice(&total.to_be_bytes());
            header[6..8].copy_from_slice(&frag.to_be_bytes());
            let wire = header.len() as u32 + 14;
            let general = general_ip(&header).and_then(|ip| transport(ip, wire));
            if let Some(ip) = plain_ipv4(&header) {
                prop_assert_eq!(transport(ip, wire), general);
            }
        }
    }

    fn tcp_frame(flags_syn: bool) -> Vec<u8> {
        let mut b = PacketBuilder::ethernet2([1; 6], [2; 6])
            .ipv4([10, 0, 0, 1], [10, 0, 0, 2], 64)
            .tcp(40000, 443, 7, 1024);
        if flags_syn {
            b = b.syn();
        }
        let mut v = Vec::new();
        b.write(&mut v, &[1, 2, 3]).unwrap();
        v
    }

    #[test]
    fn tcp_syn_over_ethernet() {
        let f = tcp_frame(true);
        assert!(plain_ipv4(&f[14..]).is_some(), "the fast path takes it");
        let p = decode(LinkType::ETHERNET, &f, f.len() as u32).unwrap();
        assert_eq!(p.src, "10.0.0.1".parse::<IpAddr>().unwrap());
        assert_eq!(
            p.transport,
            Transport::Ports {
                src: 40000,
                dst: 443
            }
        );
        assert_eq!(p.tcp_flags & TCP_SYN, TCP_SYN);
        assert_eq!(p.tcp_seq, 7);
    }

    #[test]
    fn snap_cut_tcp_keeps_ports() {
        let f = tcp_frame(false);
        // Ethernet 14 + IPv4 20 + 4 bytes of TCP: ports only.
        let cut = &f[..38];
        let p = decode(LinkType::ETHERNET, cut, f.len() as u32).unwrap();
        assert_eq!(
            p.transport,
            Transport::Ports {
                src: 40000,
                dst: 443
            }
        );
        assert_eq!(p.tcp_flags, 0);
        assert_eq!(p.wire_len, f.len() as u32);
        assert_eq!(
            decode(LinkType::ETHERNET, &f[..36], 0),
            Err(SkipReason::TruncatedTransportHeader)
        );
    }

    #[test]
    fn ipv6_udp_raw() {
        let b = PacketBuilder::ipv6([0xfd; 16], [0xfe; 16], 5).udp(5353, 53);
        let mut v = Vec::new();
        b.write(&mut v, &[0; 4]).unwrap();
        let p = decode(LinkType::RAW, &v, 0).unwrap();
        assert_eq!(p.proto, PROTO_UDP);
        assert_eq!(p.transport, Transport::Ports { src: 5353, dst: 53 });
    }

    #[test]
    fn bad_ihl_is_malformed_ipv4() {
        let mut f = tcp_frame(false);
        f[14] = 0x44;
        assert_eq!(
            decode(LinkType::ETHERNET, &f, 0),
            Err(SkipReason::MalformedIpv4Header)
        );
    }

    #[test]
    fn ethertype_ipv6_with_v4_header_is_mismatch() {
        let mut f = tcp_frame(false);
        f[12..14].copy_from_slice(&[0x86, 0xDD]);
        assert_eq!(
            decode(LinkType::ETHERNET, &f, 0),
            Err(SkipReason::IpVersionMismatch)
        );
    }

    #[test]
    fn ipv4_fragments_carry_ident() {
        let mut f = tcp_frame(false);
        // Set MF on the first fragment, then make a later fragment.
        f[14 + 4..14 + 6].copy_from_slice(&0x1234u16.to_be_bytes());
        f[14 + 6] = 0x20;
        let p = decode(LinkType::ETHERNET, &f, 0).unwrap();
        assert_eq!(
            p.fragment,
            Some(Fragment {
                ident: 0x1234,
                first: true
            })
        );
        assert!(matches!(p.transport, Transport::Ports { .. }));
        f[14 + 6] = 0x00;
        f[14 + 7] = 0x10;
        let p = decode(LinkType::ETHERNET, &f, 0).unwrap();
        assert_eq!(
            p.fragment,
            Some(Fragment {
                ident: 0x1234,
                first: false
            })
        );
        assert_eq!(p.transport, Transport::LaterFragment);
    }
}
