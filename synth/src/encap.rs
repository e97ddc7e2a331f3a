//! Encapsulations: each Ethernet frame of a [`Scenario`] wrapped in a
//! tunnel or a link-layer shim, the headers written byte by byte from
//! their RFCs (independently of portaudit's decoder, which they test).

use std::net::IpAddr;

/// A way to carry a frame (or its IP packet).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encapsulation {
    /// VXLAN (RFC 7348) on UDP 4789, VNI 4096.
    Vxlan,
    /// GENEVE (RFC 8926) on UDP 6081 with one 8-byte option, Ethernet inside.
    Geneve,
    /// GRE (RFC 2784) carrying IP directly.
    Gre,
    /// GRE with checksum, key 77 and sequence (RFC 2890).
    GreKeySeq,
    /// GRE transparent Ethernet bridging (0x6558).
    GreEthernet,
    /// GRE in UDP (RFC 8086) on port 4754.
    GreUdp,
    /// ERSPAN type I: GRE 0x88BE without sequence, Ethernet right after.
    ErspanI,
    /// ERSPAN type II: GRE 0x88BE with sequence and an 8-byte header.
    ErspanII,
    /// ERSPAN type III: GRE 0x22EB, 12-byte header and an 8-byte subheader.
    ErspanIII,
    /// The IP packet in IPv4 (protocol 4 or 41 by the inner version).
    IpInIpv4,
    /// The IP packet in IPv6 (next header 4 or 41).
    IpInIpv6,
    /// GTP-U (TS 29.281) G-PDU on UDP 2152, with a sequence number and one
    /// extension header.
    GtpU,
    /// Teredo (RFC 4380) on UDP 3544, with an origin indication; IPv6 only.
    Teredo,
    /// MPLS, two labels, IP below.
    Mpls,
    /// MPLS, one label, an Ethernet pseudowire with its control word.
    MplsPseudowire,
    /// PPPoE session (RFC 2516) in a VLAN tag.
    Pppoe,
    /// PPTP's enhanced GRE (RFC 2637) carrying PPP, with sequence and ack.
    Pptp,
    /// VXLAN inside GRE inside IPv4: two tunnels deep.
    VxlanInGre,
}

impl Encapsulation {
    /// Every encapsulation, in declaration order.
    pub const ALL: [Encapsulation; 18] = [
        Encapsulation::Vxlan,
        Encapsulation::Geneve,
        Encapsulation::Gre,
        Encapsulation::GreKeySeq,
        Encapsulation::GreEthernet,
        Encapsulation::GreUdp,
        Encapsulation::ErspanI,
        Encapsulation::ErspanII,
        Encapsulation::ErspanIII,
        Encapsulation::IpInIpv4,
        Encapsulation::IpInIpv6,
        Encapsulation::GtpU,
        Encapsulation::Teredo,
        Encapsulation::Mpls,
        Encapsulation::MplsPseudowire,
        Encapsulation::Pppoe,
        Encapsulation::Pptp,
        Encapsulation::VxlanInGre,
    ];

    /// The tunnel kind portaudit names for it (`None` for link-layer
    /// shims, which are not tunnels with endpoints).
    pub fn kind(self) -> Option<&'static str> {
        use Encapsulation::*;
        Some(match self {
            Vxlan | VxlanInGre => "vxlan",
            Geneve => "geneve",
            Gre | GreKeySeq | GreEthernet | GreUdp => "gre",
            ErspanI | ErspanII | ErspanIII => "erspan",
            IpInIpv4 | IpInIpv6 => "ip-in-ip",
            GtpU => "gtp-u",
            Teredo => "teredo",
            Pptp => "pptp",
            Mpls | MplsPseudowire | Pppoe => return None,
        })
    }

    /// Outer endpoints of the tunnel.
    pub const OUTER_V4: [[u8; 4]; 2] = [[192, 0, 2, 1], [192, 0, 2, 2]];
    pub const OUTER_V6: [[u8; 16]; 2] = [
        [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1],
        [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2],
    ];

    /// The frame that carries `frame` (an Ethernet II frame, holding IP
    /// for the encapsulations that carry IP rather than Ethernet).
    pub fn wrap(self, frame: &[u8]) -> Vec<u8> {
        use Encapsulation::*;
        let ip = &frame[14..];
        let is_ip = matches!(frame[12..14], [0x08, 0x00] | [0x86, 0xDD]);
        let v6 = ip[0] >> 4 == 6;
        let (src, dst) = if is_ip {
            Self::inner_addrs(ip)
        } else {
            (IpAddr::from([0u8; 4]), IpAddr::from([0u8; 4]))
        };
        // Both directions of a conversation use the same two tunnel ends,
        // swapped, as a real tunnel does.
        let forward = src <= dst;
        let [a, b] = Self::OUTER_V4;
        let (os, od) = if forward { (a, b) } else { (b, a) };
        let v4 = |proto: u8, payload: &[u8]| ether(0x0800, &ipv4(os, od, proto, payload));
        let udp4 = |sport: u16, dport: u16, payload: &[u8]| v4(17, &udp(sport, dport, payload));
        match self {
            Vxlan => udp4(
                49_152,
                4789,
                &[&[0x08, 0, 0, 0, 0, 0x10, 0, 0][..], frame].concat(),
            ),
            Geneve => {
                let header = [0x02, 0, 0x65, 0x58, 0, 0x10, 0, 0];
                let option = [0x01, 0x02, 0x03, 0x01, 0xAA, 0xBB, 0xCC, 0xDD];
                udp4(49_153, 6081, &[&header[..], &option, frame].concat())
            }
            Gre => v4(47, &[&gre_proto(0, ethertype(v6))[..], ip].concat()),
            GreKeySeq => {
                let mut h = gre_proto(0xB000, ethertype(v6)).to_vec();
                h.extend_from_slice(&[0, 0, 0, 0]); // checksum, reserved
                h.extend_from_slice(&77u32.to_be_bytes());
                h.extend_from_slice(&5u32.to_be_bytes());
                v4(47, &[&h[..], ip].concat())
            }
            GreEthernet => v4(47, &[&gre_proto(0, 0x6558)[..], frame].concat()),
            GreUdp => udp4(
                49_154,
                4754,
                &[&gre_proto(0, ethertype(v6))[..], ip].concat(),
            ),
            ErspanI => v4(47, &[&gre_proto(0, 0x88BE)[..], frame].concat()),
            ErspanII => {
                let mut h = gre_proto(0x1000, 0x88BE).to_vec();
                h.extend_from_slice(&9u32.to_be_bytes()); // sequence
                                                          // Version 1, VLAN 0; session 42; index.
                h.extend_from_slice(&[0x10, 0, 0, 42, 0, 0, 0, 0]);
                v4(47, &[&h[..], frame].concat())
            }
            ErspanIII => {
                let mut h = gre_proto(0x1000, 0x22EB).to_vec();
                h.extend_from_slice(&9u32.to_be_bytes());
                // Version 2, session 43, timestamp, SGT, flags with O set.
                h.extend_from_slice(&[0x20, 0, 0, 43, 0, 0, 0, 1, 0, 0, 0, 0x01]);
                h.extend_from_slice(&[0; 8]); // platform-specific subheader
                v4(47, &[&h[..], frame].concat())
            }
            IpInIpv4 => v4(if v6 { 41 } else { 4 }, ip),
            IpInIpv6 => {
                let [a, b] = Self::OUTER_V6;
                let (s, d) = if forward { (a, b) } else { (b, a) };
                ether(0x86DD, &ipv6(s, d, if v6 { 41 } else { 4 }, ip))
            }
            GtpU => {
                // Version 1, PT, E and S flags; G-PDU; length; TEID 7;
                // sequence, N-PDU, next extension type (PDU session).
                let mut h = vec![0x36, 0xFF, 0, 0, 0, 0, 0, 7, 0, 1, 0, 0x85];
                h.extend_from_slice(&[1, 0x10, 0x01, 0]); // 4 bytes, next 0
                let len = (h.len() - 8 + ip.len()) as u16;
                h[2..4].copy_from_slice(&len.to_be_bytes());
                udp4(2152, 2152, &[&h[..], ip].concat())
            }
            Teredo => {
                assert!(v6, "Teredo carries IPv6 only");
                // Origin indication: type 0, port and address obfuscated.
                let origin = [0, 0, 0xF2, 0x27, 0x3F, 0xFF, 0xFD, 0xFE];
                let port = if forward { 3544 } else { 50_000 };
                let (sp, dp) = (port, 3544 + 50_000 - port);
                udp4(sp, dp, &[&origin[..], ip].concat())
            }
            Mpls => {
                let labels = [0x00, 0x01, 0x00, 0x40, 0x00, 0x02, 0x01, 0x40];
                ether(0x8847, &[&labels[..], ip].concat())
            }
            MplsPseudowire => {
                let label_cw = [0x00, 0x03, 0x01, 0x40, 0, 0, 0, 0];
                ether(0x8847, &[&label_cw[..], frame].concat())
            }
            Pppoe => {
                let mut p = vec![0, 100, 0x88, 0x64, 0x11, 0, 0x12, 0x34];
                p.extend_from_slice(&((ip.len() + 2) as u16).to_be_bytes());
                p.extend_from_slice(if v6 { &[0x00, 0x57] } else { &[0x00, 0x21] });
                ether(0x8100, &[&p[..], ip].concat())
            }
            Pptp => {
                // Version 1 with key, sequence and ack; call id 9.
                let mut h = vec![0x30, 0x81, 0x88, 0x0B];
                h.extend_from_slice(&((ip.len() + 4) as u16).to_be_bytes());
                h.extend_from_slice(&[0, 9, 0, 0, 0, 3, 0, 0, 0, 2]);
                h.extend_from_slice(&[0xFF, 0x03]);
                h.extend_from_slice(if v6 { &[0x00, 0x57] } else { &[0x00, 0x21] });
                v4(47, &[&h[..], ip].concat())
            }
            VxlanInGre => {
                let vxlan = Vxlan.wrap(frame);
                let inner_ip = &vxlan[14..];
                // The VXLAN carrier inside GRE between two other ends.
                let (gs, gd) = if forward {
                    ([198, 51, 100, 1], [198, 51, 100, 2])
                } else {
                    ([198, 51, 100, 2], [198, 51, 100, 1])
                };
                let gre = [&gre_proto(0, 0x0800)[..], inner_ip].concat();
                ether(0x0800, &ipv4(gs, gd, 47, &gre))
            }
        }
    }

    fn inner_addrs(ip: &[u8]) -> (IpAddr, IpAddr) {
        if ip[0] >> 4 == 6 {
            let a: [u8; 16] = ip[8..24].try_into().unwrap();
            let b: [u8; 16] = ip[24..40].try_into().unwrap();
            (IpAddr::from(a), IpAddr::from(b))
        } else {
            let a: [u8; 4] = ip[12..16].try_into().unwrap();
            let b: [u8; 4] = ip[16..20].try_into().unwrap();
            (IpAddr::from(a), IpAddr::from(b))
        }
    }
}

fn ethertype(v6: bool) -> u16 {
    if v6 {
        0x86DD
    } else {
        0x0800
    }
}

fn gre_proto(flags: u16, protocol: u16) -> [u8; 4] {
    let [f0, f1] = flags.to_be_bytes();
    let [p0, p1] = protocol.to_be_bytes();
    [f0, f1, p0, p1]
}

fn ether(ethertype: u16, payload: &[u8]) -> Vec<u8> {
    let mut f = vec![0x02, 0, 0, 0, 0, 0x0B, 0x02, 0, 0, 0, 0, 0x0A];
    f.extend_from_slice(&ethertype.to_be_bytes());
    f.extend_from_slice(payload);
    f
}

fn ipv4(src: [u8; 4], dst: [u8; 4], proto: u8, payload: &[u8]) -> Vec<u8> {
    let total = (20 + payload.len()) as u16;
    let mut h = vec![0x45, 0];
    h.extend_from_slice(&total.to_be_bytes());
    h.extend_from_slice(&[0, 1, 0x40, 0, 64, proto, 0, 0]);
    h.extend_from_slice(&src);
    h.extend_from_slice(&dst);
    let sum = checksum(&h);
    h[10..12].copy_from_slice(&sum.to_be_bytes());
    h.extend_from_slice(payload);
    h
}

fn ipv6(src: [u8; 16], dst: [u8; 16], next: u8, payload: &[u8]) -> Vec<u8> {
    let mut h = vec![0x60, 0, 0, 0];
    h.extend_from_slice(&(payload.len() as u16).to_be_bytes());
    h.extend_from_slice(&[next, 64]);
    h.extend_from_slice(&src);
    h.extend_from_slice(&dst);
    h.extend_from_slice(payload);
    h
}

/// A UDP header (checksum 0: none, as IPv4 allows) and its payload.
fn udp(sport: u16, dport: u16, payload: &[u8]) -> Vec<u8> {
    let mut u = Vec::with_capacity(8 + payload.len());
    u.extend_from_slice(&sport.to_be_bytes());
    u.extend_from_slice(&dport.to_be_bytes());
    u.extend_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
    u.extend_from_slice(&[0, 0]);
    u.extend_from_slice(payload);
    u
}

/// The Internet checksum (RFC 1071).
fn checksum(b: &[u8]) -> u16 {
    let mut sum: u32 = b
        .chunks(2)
        .map(|c| u32::from(u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)])))
        .sum();
    while sum > 0xFFFF {
        sum = (sum & 0xFFFF) + (sum >> 16);
    }
    !(sum as u16)
}
