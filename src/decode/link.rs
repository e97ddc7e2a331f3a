//! Link-layer headers down to the network-layer payload.

use crate::capture::LinkType;

use super::SkipReason;

pub const ETHERTYPE_IPV4: u16 = 0x0800;
pub const ETHERTYPE_IPV6: u16 = 0x86DD;
const VLAN_TAGS: [u16; 4] = [0x8100, 0x88A8, 0x9100, 0x9200];
/// More stacked tags than this is not a real network; stop there.
const MAX_VLAN_TAGS: usize = 8;

/// The IP packet a link layer carries.
#[derive(Debug, PartialEq, Eq)]
pub struct IpPayload<'a> {
    /// The IP version the link layer announced (4 or 6), or `None` for
    /// raw-IP link types where only the first nibble tells.
    pub version: Option<u8>,
    pub data: &'a [u8],
}

/// Strips the link-layer header of `frame`.
pub fn link_payload(link: LinkType, frame: &[u8]) -> Result<IpPayload<'_>, SkipReason> {
    match link {
        LinkType::ETHERNET => {
            if frame.len() < 14 {
                return Err(SkipReason::TruncatedLinkHeader);
            }
            ether_payload(u16::from_be_bytes([frame[12], frame[13]]), &frame[14..])
        }
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

/// Follows an EtherType through any stack of VLAN tags.
fn ether_payload(mut ethertype: u16, mut rest: &[u8]) -> Result<IpPayload<'_>, SkipReason> {
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
