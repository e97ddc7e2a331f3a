//! Link-layer headers down to the network-layer payload.

use crate::capture::LinkType;

use super::SkipReason;

pub const ETHERTYPE_IPV4: u16 = 0x0800;
pub const ETHERTYPE_IPV6: u16 = 0x86DD;
const VLAN_TAGS: [u16; 4] = [0x8100, 0x88A8, 0x9100, 0x9200];
/// More stacked tags than this is not a real network; stop there.
const MAX_VLAN_TAGS: usize = 8;
/// PPPoE session stage (RFC 2516): a PPP frame follows a 6-byte header.
const ETHERTYPE_PPPOE_SESSION: u16 = 0x8864;
/// MPLS unicast and multicast (RFC 3032).
const ETHERTYPE_MPLS: [u16; 2] = [0x8847, 0x8848];
/// Deeper MPLS label stacks than this are not a real network.
const MAX_MPLS_LABELS: usize = 16;
/// PPP protocol numbers of IPv4 and IPv6 (RFC 1332, RFC 5072).
const PPP_IPV4: u16 = 0x0021;
const PPP_IPV6: u16 = 0x0057;

/// The IP packet a link layer carries.
#[derive(Debug, PartialEq, Eq)]
pub struct IpPayload<'a> {
    /// The IP version the link layer announced (4 or 6), or `None` for
    /// raw-IP link types where only the first nibble tells.
    pub version: Option<u8>,
    pub data: &'a [u8],
}

/// Strips the link-layer header of `frame`.
/// Out of line: the common frame is read in place by [`super::decode`].
#[inline(never)]
pub fn link_payload(link: LinkType, frame: &[u8]) -> Result<IpPayload<'_>, SkipReason> {
    match link {
        LinkType::ETHERNET => ethernet(frame),
        LinkType::LINUX_SLL => {
            if frame.len() < 16 {
                return Err(SkipReason::TruncatedLinkHeader);
            }
            ether_payload(u16::from_be_bytes([frame[14], frame[15]]), &frame[16..])
        }
        LinkType::LINUX_SLL2 => {
            if frame.len() < 20 {
                return Err(SkipReason::TruncatedLinkHeader);
            }
            ether_payload(u16::from_be_bytes([frame[0], frame[1]]), &frame[20..])
        }
        LinkType::NULL | LinkType::LOOP => {
            if frame.len() < 4 {
                return Err(SkipReason::TruncatedLinkHeader);
            }
            let raw = [frame[0], frame[1], frame[2], frame[3]];
            // NULL stores the family in the capturing host's byte order, LOOP
            // in network order; a family is small, so the order that gives a
            // small number is the right one.
            let family = if link == LinkType::LOOP {
                u32::from_be_bytes(raw)
            } else {
                let le = u32::from_le_bytes(raw);
                if le <= 0xFFFF {
                    le
                } else {
                    u32::from_be_bytes(raw)
                }
            };
            let version = match family {
                2 => 4,
                // AF_INET6 on Linux, NetBSD/OpenBSD, FreeBSD, macOS.
                10 | 24 | 28 | 30 => 6,
                // Some writers put an Ethernet type in the low 16 bits (the
                // corpus's null-loopback-af2-af30.pcap has `0f 00 08 00`,
                // which tshark and nDPI read as IPv4).
                f if f > 0xFFFF && f & 0xFFFF == 0x0800 => 4,
                f if f > 0xFFFF && f & 0xFFFF == 0x86DD => 6,
                other => return Err(SkipReason::NonIpAddressFamily(other)),
            };
            Ok(IpPayload {
                version: Some(version),
                data: &frame[4..],
            })
        }
        LinkType::RAW_OPENBSD | LinkType::RAW_14 | LinkType::RAW => Ok(IpPayload {
            version: None,
            data: frame,
        }),
        LinkType::IPV4 => Ok(IpPayload {
            version: Some(4),
            data: frame,
        }),
        LinkType::IPV6 => Ok(IpPayload {
            version: Some(6),
            data: frame,
        }),
        LinkType(other) => Err(SkipReason::UnsupportedLinkType(other)),
    }
}

/// The IP packet of an Ethernet frame (also the frame inside VXLAN,
/// GENEVE, GRE bridging, ERSPAN and MPLS pseudowires).
pub(super) fn ethernet(frame: &[u8]) -> Result<IpPayload<'_>, SkipReason> {
    if frame.len() < 14 {
        return Err(SkipReason::TruncatedLinkHeader);
    }
    ether_payload(u16::from_be_bytes([frame[12], frame[13]]), &frame[14..])
}

/// Follows an EtherType through any stack of VLAN tags, a PPPoE session
/// header or an MPLS label stack.
pub(super) fn ether_payload(
    mut ethertype: u16,
    mut rest: &[u8],
) -> Result<IpPayload<'_>, SkipReason> {
    let mut tags = 0;
    while VLAN_TAGS.contains(&ethertype) {
        tags += 1;
        if tags > MAX_VLAN_TAGS {
            return Err(SkipReason::TooManyVlanTags);
        }
        if rest.len() < 4 {
            return Err(SkipReason::TruncatedLinkHeader);
        }
        ethertype = u16::from_be_bytes([rest[2], rest[3]]);
        rest = &rest[4..];
    }
    match ethertype {
        ETHERTYPE_PPPOE_SESSION => pppoe(rest),
        t if ETHERTYPE_MPLS.contains(&t) => mpls(rest),
        ETHERTYPE_IPV4 => Ok(IpPayload {
            version: Some(4),
            data: rest,
        }),
        ETHERTYPE_IPV6 => Ok(IpPayload {
            version: Some(6),
            data: rest,
        }),
        // Values up to 1500 are 802.3 lengths: LLC/SNAP frames (STP, CDP...).
        t if t <= 1500 => Err(SkipReason::NonIpLlc),
        t => Err(SkipReason::NonIpEthertype(t)),
    }
}

/// A PPPoE session frame (RFC 2516): version/type 0x11, code 0, session
/// id, length, then the PPP protocol number.
fn pppoe(rest: &[u8]) -> Result<IpPayload<'_>, SkipReason> {
    let Some(h) = rest.get(..8) else {
        return Err(SkipReason::TruncatedLinkHeader);
    };
    if h[0] != 0x11 || h[1] != 0 {
        return Err(SkipReason::MalformedPppoe);
    }
    // The PPPoE length counts the PPP protocol field and its payload; the
    // frame may hold Ethernet padding beyond it.
    let len = usize::from(u16::from_be_bytes([h[4], h[5]]));
    let end = (6 + len).min(rest.len());
    if len < 2 {
        return Err(SkipReason::MalformedPppoe);
    }
    ppp_payload(u16::from_be_bytes([h[6], h[7]]), &rest[8..end.max(8)])
}

/// The IP packet a PPP frame carries, by its protocol number.
pub(super) fn ppp_payload(protocol: u16, data: &[u8]) -> Result<IpPayload<'_>, SkipReason> {
    match protocol {
        PPP_IPV4 => Ok(IpPayload {
            version: Some(4),
            data,
        }),
        PPP_IPV6 => Ok(IpPayload {
            version: Some(6),
            data,
        }),
        other => Err(SkipReason::NonIpPpp(other)),
    }
}

/// An MPLS label stack (RFC 3032) down to its bottom entry, then what the
/// payload's first nibble says: IPv4, IPv6, or (0) the control word of an
/// Ethernet pseudowire (RFC 4448) with the frame after it.
pub(super) fn mpls(mut rest: &[u8]) -> Result<IpPayload<'_>, SkipReason> {
    for _ in 0..MAX_MPLS_LABELS {
        let Some(entry) = rest.get(..4) else {
            return Err(SkipReason::TruncatedLinkHeader);
        };
        let bottom = entry[2] & 0x01 != 0;
        rest = &rest[4..];
        if bottom {
            return match rest.first().map(|b| b >> 4) {
                Some(4) => Ok(IpPayload {
                    version: Some(4),
                    data: rest,
                }),
                Some(6) => Ok(IpPayload {
                    version: Some(6),
                    data: rest,
                }),
                Some(0) if rest.len() >= 4 => ethernet(&rest[4..]),
                Some(_) => Err(SkipReason::UnknownMplsPayload),
                None => Err(SkipReason::TruncatedLinkHeader),
            };
        }
    }
    Err(SkipReason::TooManyMplsLabels)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn triple_vlan_then_ipv4() {
        let mut f = vec![0u8; 12];
        f.extend_from_slice(&[
            0x88, 0xA8, 0, 1, 0x81, 0x00, 0, 2, 0x81, 0x00, 0, 3, 0x08, 0x00,
        ]);
        f.extend_from_slice(&[0x45, 0]);
        assert_eq!(
            link_payload(LinkType::ETHERNET, &f),
            Ok(IpPayload {
                version: Some(4),
                data: &[0x45, 0][..]
            })
        );
    }

    #[test]
    fn null_family_in_either_byte_order() {
        for raw in [[30, 0, 0, 0], [0, 0, 0, 30], [2, 0, 0, 0]] {
            assert!(link_payload(LinkType::NULL, &raw).is_ok());
        }
        // An Ethernet type in the low 16 bits of a header in the other order.
        let header = [0x0f, 0, 0x08, 0, 0x45, 0];
        assert_eq!(
            link_payload(LinkType::NULL, &header).map(|p| p.version),
            Ok(Some(4))
        );
        assert_eq!(
            link_payload(LinkType::NULL, &[7, 0, 0, 0]),
            Err(SkipReason::NonIpAddressFamily(7))
        );
    }

    #[test]
    fn arp_and_llc_are_non_ip() {
        let mut f = vec![0u8; 12];
        f.extend_from_slice(&[0x08, 0x06]);
        assert_eq!(
            link_payload(LinkType::ETHERNET, &f),
            Err(SkipReason::NonIpEthertype(0x0806))
        );
        let mut f = vec![0u8; 12];
        f.extend_from_slice(&[0x00, 0x26]);
        assert_eq!(
            link_payload(LinkType::ETHERNET, &f),
            Err(SkipReason::NonIpLlc)
        );
    }
}
