//! Tunnels opened to reach the flows inside them: IP-in-IP (4in4, 6in4,
//! 4in6, 6in6), GRE (plain, keyed, sequenced, Ethernet bridging, ERSPAN
//! types I, II and III, MPLS, PPTP's enhanced GRE), GRE over UDP, VXLAN,
//! GENEVE, Teredo and GTP-U (docs/audit.md#tunnels).
//!
//! A UDP tunnel is recognised by its port *and* a header its kind alone
//! has; a datagram on a tunnel port whose header does not fit is plain
//! UDP, so a client that happens to use port 4789 is not opened.

use std::fmt;
use std::net::IpAddr;

use super::link::{ethernet, mpls, ppp_payload, IpPayload};
use super::{SkipReason, PROTO_UDP};

/// Tunnels nested deeper than this are counted, not opened.
pub const MAX_ENCAPSULATIONS: usize = 4;

const VXLAN_PORT: u16 = 4789;
const GENEVE_PORT: u16 = 6081;
const TEREDO_PORT: u16 = 3544;
const GTP_U_PORT: u16 = 2152;
/// GRE-in-UDP (RFC 8086).
const GRE_UDP_PORT: u16 = 4754;
/// The UDP ports of the tunnels opened here: a carrier's tunnel end
/// listens on them (the port heuristic, `flow::resolve`, knows them).
pub const TUNNEL_UDP_PORTS: [u16; 5] = [
    VXLAN_PORT,
    GENEVE_PORT,
    TEREDO_PORT,
    GTP_U_PORT,
    GRE_UDP_PORT,
];
const PROTO_IPIP: u8 = 4;
const PROTO_IPV6: u8 = 41;
const PROTO_GRE: u8 = 47;

/// Which flows a tunnelled packet counts in (`--tunnels`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum TunnelMode {
    /// The flow inside the tunnel only: what a mirror target must audit.
    #[default]
    Inner,
    /// The tunnel's own flow only, unopened (portaudit before tunnels).
    Outer,
    /// Both: the inner flow, and each tunnel it came through as a
    /// carrier flow.
    Both,
}

/// The kind of a tunnel.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TunnelKind {
    /// IPv4 or IPv6 directly inside IPv4 or IPv6 (protocols 4 and 41).
    IpInIp,
    Gre,
    /// ERSPAN (remote SPAN over GRE), types I, II and III.
    Erspan,
    /// PPTP's enhanced GRE (version 1) carrying PPP.
    Pptp,
    Vxlan,
    Geneve,
    Teredo,
    GtpU,
}

impl TunnelKind {
    pub const ALL: [TunnelKind; 8] = [
        TunnelKind::IpInIp,
        TunnelKind::Gre,
        TunnelKind::Erspan,
        TunnelKind::Pptp,
        TunnelKind::Vxlan,
        TunnelKind::Geneve,
        TunnelKind::Teredo,
        TunnelKind::GtpU,
    ];

    pub fn label(self) -> &'static str {
        match self {
            TunnelKind::IpInIp => "ip-in-ip",
            TunnelKind::Gre => "gre",
            TunnelKind::Erspan => "erspan",
            TunnelKind::Pptp => "pptp",
            TunnelKind::Vxlan => "vxlan",
            TunnelKind::Geneve => "geneve",
            TunnelKind::Teredo => "teredo",
            TunnelKind::GtpU => "gtp-u",
        }
    }

    /// What the tunnel's identifier is called.
    fn id_name(self) -> &'static str {
        match self {
            TunnelKind::Vxlan | TunnelKind::Geneve => "vni",
            TunnelKind::Gre => "key",
            TunnelKind::Pptp => "call",
            TunnelKind::Erspan => "session",
            TunnelKind::GtpU => "teid",
            TunnelKind::IpInIp | TunnelKind::Teredo => "id",
        }
    }
}

impl fmt::Display for TunnelKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// The tunnel a packet came through: its kind, the endpoints of the
/// packet that carried it, and its identifier (VNI, GRE key, ERSPAN
/// session, GTP TEID, PPTP call) when it has one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Tunnel {
    pub kind: TunnelKind,
    pub src: IpAddr,
    pub dst: IpAddr,
    pub id: Option<u32>,
}

impl fmt::Display for Tunnel {
    /// `vxlan 10.0.0.1>10.0.0.2 vni=4096`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}>{}", self.kind, self.src, self.dst)?;
        if let Some(id) = self.id {
            write!(f, " {}={id}", self.kind.id_name())?;
        }
        Ok(())
    }
}

/// A tunnel header read: its kind and identifier, and the packet inside.
pub(super) struct Opened<'a> {
    pub kind: TunnelKind,
    pub id: Option<u32>,
    pub inner: IpPayload<'a>,
}

/// A tunnel recognised: opened, or refused with its kind and why (so that
/// its carrier still counts with `--tunnels both`).
pub(super) type Open<'a> = Option<Result<Opened<'a>, (TunnelKind, SkipReason)>>;

/// The tunnel an IP packet of protocol `proto` carries in `body` (the IP
/// payload), `None` when it is not one or is a later fragment (whose
/// body holds no header). The UDP ports are read from the body here, not
/// from the packet's summary: reading back a summary just written costs
/// a store-forwarding stall on every packet.
#[inline]
pub(super) fn open(proto: u8, later_fragment: bool, body: &[u8]) -> Open<'_> {
    if later_fragment {
        return None;
    }
    let ports = || Some((be16(body, 0)?, be16(body, 2)?));
    match proto {
        PROTO_IPIP | PROTO_IPV6 | PROTO_GRE => open_ip(proto, body),
        PROTO_UDP => open_udp_at(ports()?, body),
        _ => None,
    }
}

/// A UDP tunnel on ports `(src, dst)`, or Teredo by its content on any.
#[inline]
fn open_udp_at((src, dst): (u16, u16), body: &[u8]) -> Open<'_> {
    match (src, dst) {
        (src, dst)
            if dst == VXLAN_PORT
                || dst == GENEVE_PORT
                || dst == GRE_UDP_PORT
                || src == GTP_U_PORT
                || dst == GTP_U_PORT
                || src == TEREDO_PORT
                || dst == TEREDO_PORT =>
        {
            open_udp(src, dst, body.get(8..)?)
        }
        // Teredo between a client and a relay runs on any ports: Zeek's
        // content test, an IPv6 packet filling the datagram exactly, with
        // an address in 2001:0::/32.
        _ if body.get(8).is_some_and(|b| b >> 4 == 6) => teredo_by_content(&body[8..]).map(Ok),
        _ => None,
    }
}

#[cold]
fn teredo_by_content(d: &[u8]) -> Option<Opened<'_>> {
    const TEREDO_PREFIX: [u8; 4] = [0x20, 0x01, 0, 0];
    let payload = usize::from(be16(d, 4)?);
    let exact = d.len() == 40 + payload;
    let prefixed = d.get(8..12)? == TEREDO_PREFIX || d.get(24..28)? == TEREDO_PREFIX;
    (exact && prefixed).then(|| opened(TunnelKind::Teredo, None, 6, d))
}

#[cold]
fn open_ip(proto: u8, body: &[u8]) -> Open<'_> {
    Some(match proto {
        PROTO_IPIP => Ok(opened(TunnelKind::IpInIp, None, 4, body)),
        PROTO_IPV6 => Ok(opened(TunnelKind::IpInIp, None, 6, body)),
        _ => gre(body).map_err(|e| (gre_kind(body), e)),
    })
}

#[cold]
fn open_udp(src: u16, dst: u16, data: &[u8]) -> Open<'_> {
    if dst == VXLAN_PORT {
        return vxlan(data);
    }
    if dst == GENEVE_PORT {
        return geneve(data);
    }
    if dst == GRE_UDP_PORT {
        return Some(gre(data).map_err(|e| (gre_kind(data), e)));
    }
    if src == GTP_U_PORT || dst == GTP_U_PORT {
        if let Some(o) = gtp_u(data) {
            return Some(o);
        }
    }
    if src == TEREDO_PORT || dst == TEREDO_PORT {
        return teredo(data).map(Ok);
    }
    None
}

fn opened(kind: TunnelKind, id: Option<u32>, version: u8, data: &[u8]) -> Opened<'_> {
    Opened {
        kind,
        id,
        inner: IpPayload {
            version: Some(version),
            data,
        },
    }
}

fn be16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

fn be32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

/// PPTP's GRE is version 1.
fn gre_kind(b: &[u8]) -> TunnelKind {
    if b.get(1).is_some_and(|v| v & 0x7 == 1) {
        TunnelKind::Pptp
    } else {
        TunnelKind::Gre
    }
}

/// GRE (RFC 2784, keys and sequence numbers of RFC 2890), and PPTP's
/// enhanced GRE (RFC 2637, version 1).
fn gre(b: &[u8]) -> Result<Opened<'_>, SkipReason> {
    const MALFORMED: SkipReason = SkipReason::MalformedTunnelHeader;
    let flags = be16(b, 0).ok_or(MALFORMED)?;
    let protocol = be16(b, 2).ok_or(MALFORMED)?;
    let (checksum, routing, key, seq) = (
        flags & 0x8000 != 0,
        flags & 0x4000 != 0,
        flags & 0x2000 != 0,
        flags & 0x1000 != 0,
    );
    match flags & 0x7 {
        0 if !routing => {
            let mut at = 4 + if checksum { 4 } else { 0 };
            let id = if key {
                at += 4;
                Some(be32(b, at - 4).ok_or(MALFORMED)?)
            } else {
                None
            };
            at += if seq { 4 } else { 0 };
            let rest = b.get(at..).ok_or(MALFORMED)?;
            gre_payload(protocol, id, seq, rest)
        }
        1 if key && protocol == 0x880B => {
            // Key: payload length, then the call id.
            let call = be16(b, 6).ok_or(MALFORMED)?;
            let ack = flags & 0x0080 != 0;
            let at = 8 + if seq { 4 } else { 0 } + if ack { 4 } else { 0 };
            let ppp = b.get(at..).ok_or(MALFORMED)?;
            if ppp.is_empty() {
                return Err(SkipReason::EmptyTunnelPacket);
            }
            // Address and control (0xFF 0x03) may be left out; a protocol
            // number with an odd first byte is compressed to one byte.
            let ppp = ppp.strip_prefix(&[0xFF, 0x03]).unwrap_or(ppp);
            let (protocol, data) = match ppp.first() {
                Some(&p) if p & 1 == 1 => (u16::from(p), &ppp[1..]),
                _ => (be16(ppp, 0).ok_or(MALFORMED)?, &ppp[2..]),
            };
            Ok(Opened {
                kind: TunnelKind::Pptp,
                id: Some(u32::from(call)),
                inner: ppp_payload(protocol, data)?,
            })
        }
        _ => Err(MALFORMED),
    }
}

/// What a GRE header's protocol type says is inside.
fn gre_payload(
    protocol: u16,
    key: Option<u32>,
    seq: bool,
    rest: &[u8],
) -> Result<Opened<'_>, SkipReason> {
    const MALFORMED: SkipReason = SkipReason::MalformedTunnelHeader;
    let (kind, id, inner) = match protocol {
        0x0800 => return Ok(opened(TunnelKind::Gre, key, 4, rest)),
        0x86DD => return Ok(opened(TunnelKind::Gre, key, 6, rest)),
        // Transparent Ethernet bridging.
        0x6558 => (TunnelKind::Gre, key, ethernet(rest)?),
        0x8847 | 0x8848 => (TunnelKind::Gre, key, mpls(rest)?),
        // ERSPAN type II has a sequence number and an 8-byte header; type I
        // has neither.
        0x88BE if seq => {
            let session = erspan_session(rest).ok_or(MALFORMED)?;
            let frame = rest.get(8..).ok_or(MALFORMED)?;
            (TunnelKind::Erspan, Some(session), ethernet(frame)?)
        }
        0x88BE => (TunnelKind::Erspan, None, ethernet(rest)?),
        // ERSPAN type III: a 12-byte header, and 8 more when its O flag
        // announces a platform-specific subheader.
        0x22EB => {
            let session = erspan_session(rest).ok_or(MALFORMED)?;
            let sub = rest.get(11).ok_or(MALFORMED)? & 0x01 != 0;
            let frame = rest.get(if sub { 20 } else { 12 }..).ok_or(MALFORMED)?;
            (TunnelKind::Erspan, Some(session), ethernet(frame)?)
        }
        other => return Err(SkipReason::NonIpTunnel(other)),
    };
    Ok(Opened { kind, id, inner })
}

/// ERSPAN's 10-bit session id (types II and III alike).
fn erspan_session(h: &[u8]) -> Option<u32> {
    Some(u32::from(be16(h, 2)? & 0x03FF))
}

/// VXLAN (RFC 7348): flags exactly the I bit, reserved fields zero, a
/// 24-bit VNI, an Ethernet frame. Anything else on port 4789 is plain UDP:
/// a datagram is not taken for a tunnel (whose carrier is listed, not
/// judged) on one bit.
fn vxlan(d: &[u8]) -> Open<'_> {
    let h = d.get(..8)?;
    if h[0] != 0x08 || h[1..4] != [0, 0, 0] || h[7] != 0 {
        return None;
    }
    let vni = u32::from_be_bytes([0, h[4], h[5], h[6]]);
    Some(
        ethernet(&d[8..])
            .map(|inner| Opened {
                kind: TunnelKind::Vxlan,
                id: Some(vni),
                inner,
            })
            .map_err(|e| (TunnelKind::Vxlan, e)),
    )
}

/// GENEVE (RFC 8926): version 0, options, a protocol type, a 24-bit VNI.
fn geneve(d: &[u8]) -> Open<'_> {
    let h = d.get(..8)?;
    let protocol = u16::from_be_bytes([h[2], h[3]]);
    // Version 0, reserved bits zero, a protocol GENEVE carries here:
    // anything else on port 6081 is plain UDP.
    if h[0] >> 6 != 0
        || h[1] & 0x3F != 0
        || h[7] != 0
        || !matches!(protocol, 0x6558 | 0x0800 | 0x86DD)
    {
        return None;
    }
    let options = usize::from(h[0] & 0x3F) * 4;
    let vni = Some(u32::from_be_bytes([0, h[4], h[5], h[6]]));
    let Some(rest) = d.get(8 + options..) else {
        return Some(Err((TunnelKind::Geneve, SkipReason::MalformedTunnelHeader)));
    };
    let inner = match protocol {
        0x6558 => ethernet(rest).map(|inner| Opened {
            kind: TunnelKind::Geneve,
            id: vni,
            inner,
        }),
        0x0800 => Ok(opened(TunnelKind::Geneve, vni, 4, rest)),
        0x86DD => Ok(opened(TunnelKind::Geneve, vni, 6, rest)),
        other => Err(SkipReason::NonIpTunnel(other)),
    };
    Some(inner.map_err(|e| (TunnelKind::Geneve, e)))
}

/// GTP-U (3GPP TS 29.281): version 1, a G-PDU (type 255) carrying an IP
/// packet after the optional fields and extension headers. Other message
/// types (echo, error indication) are GTP's own traffic: `None`.
fn gtp_u(d: &[u8]) -> Open<'_> {
    let h = d.get(..8)?;
    if h[0] >> 5 != 1 || h[0] & 0x10 == 0 || h[1] != 0xFF {
        return None;
    }
    let teid = Some(u32::from_be_bytes([h[4], h[5], h[6], h[7]]));
    let mut at = 8;
    if h[0] & 0x07 != 0 {
        at = 12;
        if h[0] & 0x04 != 0 {
            // Each extension header: a length in 4-byte units, its content,
            // and the type of the next one in its last byte.
            let mut next = *d.get(11)?;
            while next != 0 {
                let len = usize::from(*d.get(at)?) * 4;
                if len == 0 {
                    return Some(Err((TunnelKind::GtpU, SkipReason::MalformedTunnelHeader)));
                }
                next = *d.get(at + len - 1)?;
                at += len;
            }
        }
    }
    let inner = d.get(at..)?;
    Some(match inner.first().map(|b| b >> 4) {
        Some(4) => Ok(opened(TunnelKind::GtpU, teid, 4, inner)),
        Some(6) => Ok(opened(TunnelKind::GtpU, teid, 6, inner)),
        _ => Err((TunnelKind::GtpU, SkipReason::MalformedTunnelHeader)),
    })
}

/// Teredo (RFC 4380): an IPv6 packet in UDP, after an optional
/// authentication header and an optional origin indication. A datagram
/// on the Teredo port that holds no well-formed IPv6 header is not Teredo.
fn teredo(mut d: &[u8]) -> Option<Opened<'_>> {
    if d.starts_with(&[0, 1]) {
        let id = usize::from(*d.get(2)?);
        let auth = usize::from(*d.get(3)?);
        // Client id, authentication value, 8-byte nonce, confirmation.
        d = d.get(4 + id + auth + 9..)?;
    }
    if d.starts_with(&[0, 0]) {
        d = d.get(8..)?;
    }
    let payload = usize::from(be16(d, 4)?);
    (d.len() >= 40 && d[0] >> 4 == 6 && 40 + payload <= d.len())
        .then(|| opened(TunnelKind::Teredo, None, 6, d))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_udp_datagram_on_a_tunnel_port_without_its_header_is_plain() {
        // A UDP header with these ports, then `payload`.
        let udp = |src: u16, dst: u16, payload: &[u8]| {
            let mut b = src.to_be_bytes().to_vec();
            b.extend_from_slice(&dst.to_be_bytes());
            b.extend_from_slice(&[0; 4]);
            b.extend_from_slice(payload);
            b
        };
        let body = udp(50000, VXLAN_PORT, &[0u8; 30]);
        assert!(open(PROTO_UDP, false, &body).is_none(), "no I flag");
        let mut odd = body.clone();
        odd[8] = 0x0C; // the I flag and a reserved one
        assert!(open(PROTO_UDP, false, &odd).is_none(), "reserved bits set");
        let mut vxlan = body.clone();
        vxlan[8] = 0x08;
        assert!(open(PROTO_UDP, false, &vxlan).is_some(), "a VXLAN header");
        assert!(open(PROTO_UDP, true, &vxlan).is_none(), "a later fragment");
        let teredo = udp(TEREDO_PORT, 50000, &[0u8; 30]);
        assert!(open(PROTO_UDP, false, &teredo).is_none(), "no IPv6 inside");
        let echo = udp(
            40000,
            GTP_U_PORT,
            &[0x32, 0x01, 0, 4, 0, 0, 0, 0, 0, 1, 0, 0],
        );
        assert!(open(PROTO_UDP, false, &echo).is_none(), "GTP echo request");
    }

    #[test]
    fn gre_with_routing_or_an_unknown_version_is_malformed() {
        let routing = [0x40, 0, 0x08, 0, 0, 0, 0, 0];
        assert_eq!(gre(&routing).err(), Some(SkipReason::MalformedTunnelHeader));
        let v2 = [0, 2, 0x08, 0];
        assert_eq!(gre(&v2).err(), Some(SkipReason::MalformedTunnelHeader));
        let arp = [0, 0, 0x08, 0x06];
        assert_eq!(gre(&arp).err(), Some(SkipReason::NonIpTunnel(0x0806)));
    }

    #[test]
    fn gre_key_and_sequence_are_skipped_to_the_payload() {
        let mut b = vec![0xB0, 0, 0x08, 0]; // checksum, key, sequence
        b.extend_from_slice(&[0; 4]); // checksum
        b.extend_from_slice(&77u32.to_be_bytes()); // key
        b.extend_from_slice(&[0; 4]); // sequence
        b.push(0x45);
        let o = gre(&b).unwrap();
        assert_eq!((o.kind, o.id), (TunnelKind::Gre, Some(77)));
        assert_eq!(o.inner.data, &[0x45]);
    }

    #[test]
    fn pptp_ack_without_payload_and_lcp_are_not_ip() {
        // Version 1, key, ack; protocol 0x880B; length 0, call 9; ack number.
        let ack = [0x20, 0x81, 0x88, 0x0B, 0, 0, 0, 9, 0, 0, 0, 1];
        assert_eq!(gre(&ack).err(), Some(SkipReason::EmptyTunnelPacket));
        let mut lcp = vec![0x20, 0x01, 0x88, 0x0B, 0, 4, 0, 9];
        lcp.extend_from_slice(&[0xFF, 0x03, 0xC0, 0x21]);
        assert_eq!(gre(&lcp).err(), Some(SkipReason::NonIpPpp(0xC021)));
        let mut ip = vec![0x20, 0x01, 0x88, 0x0B, 0, 4, 0, 9];
        ip.extend_from_slice(&[0x21, 0x45]);
        let o = gre(&ip).unwrap();
        assert_eq!((o.kind, o.id), (TunnelKind::Pptp, Some(9)));
        assert_eq!(o.inner.data, &[0x45]);
    }

    #[test]
    fn gtp_extension_headers_are_walked() {
        // G-PDU with E flag, one 4-byte extension header, then IPv4.
        let mut d = vec![0x34, 0xFF, 0, 0, 0, 0, 0, 7, 0, 0, 0, 0x85];
        d.extend_from_slice(&[1, 0, 0, 0]); // length 1, next type 0
        d.push(0x45);
        let o = gtp_u(&d).unwrap().unwrap();
        assert_eq!((o.kind, o.id), (TunnelKind::GtpU, Some(7)));
        assert_eq!(o.inner.data, &[0x45]);
        d[12] = 0; // a zero-length extension header cannot end
        assert_eq!(
            gtp_u(&d).unwrap().err(),
            Some((TunnelKind::GtpU, SkipReason::MalformedTunnelHeader))
        );
    }

    #[test]
    fn tunnels_print_their_identifier() {
        let t = Tunnel {
            kind: TunnelKind::Vxlan,
            src: "10.0.0.1".parse().unwrap(),
            dst: "10.0.0.2".parse().unwrap(),
            id: Some(4096),
        };
        assert_eq!(t.to_string(), "vxlan 10.0.0.1>10.0.0.2 vni=4096");
    }
}
