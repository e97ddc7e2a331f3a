//! ONC RPC (RFC 5531) read from one packet's payload: the portmapper and
//! rpcbind (RFC 1833) calls that ask where a program lives, and the
//! accepted answers that may say.
//!
//! Pure and panic-free: every read goes through `Xdr`, which returns
//! `None` past the end of its slice; nothing is allocated.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Why a payload that is ONC RPC could not be read. The labels are those of
/// [`crate::rpc::dcerpc::Unreadable`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Unreadable {
    /// Over TCP, the record mark's length runs past the payload (a record
    /// split across segments, or a cut capture).
    Split,
    /// Over TCP, a record fragment that is not the last (RFC 5531 §11).
    Fragmented,
    /// The message does not follow the layout (a lying length, an argument
    /// past the end).
    Malformed,
}

impl Unreadable {
    /// The stable label: `split-across-segments`, `fragmented-pdu` or
    /// `malformed`.
    pub fn label(self) -> &'static str {
        match self {
            Unreadable::Split => "onc-rpc-split-across-segments",
            Unreadable::Fragmented => "onc-rpc-fragmented-record",
            Unreadable::Malformed => "onc-rpc-malformed",
        }
    }
}

/// A portmapper/rpcbind call asking where a program lives: PMAPPROC_GETPORT
/// (program 100000, version 2, procedure 3) or RPCBPROC_GETADDR (version 3
/// or 4, procedure 3).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MapperCall {
    /// The transaction id its reply will carry.
    pub xid: u32,
    /// The portmapper/rpcbind version called: 2, 3 or 4.
    pub version: u32,
    /// The program asked for.
    pub program: u32,
    /// The version of the program asked for.
    pub program_version: u32,
    /// IP protocol asked for: v2's `prot` (6/17), v3/4's netid ("tcp"/"tcp6"
    /// → 6, "udp"/"udp6" → 17), `None` for other netids.
    pub proto: Option<u8>,
}

/// An accepted-success reply (msg_type 1, reply_stat MSG_ACCEPTED 0,
/// accept_stat SUCCESS 0) read both ways, since a reply does not say what it
/// answers: the caller pairs it with its call by xid.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reply {
    /// The transaction id of the call it answers.
    pub xid: u32,
    /// The first result word (GETPORT's port; 0 = not registered).
    pub word: Option<u32>,
    /// The results read as an XDR string holding a universal address (GETADDR's
    /// answer), by [`parse_uaddr`]: the empty string, rpcbind's "not
    /// registered", is `Uaddr { ip: None, port: 0 }`. `None` if the results
    /// are not such a string.
    pub uaddr: Option<Uaddr>,
}

/// A universal address (RFC 5665 §5.2.3.3 and §5.2.3.4): where rpcbind says a
/// program listens.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Uaddr {
    /// The address; `None` only for the empty universal address (not
    /// registered).
    pub ip: Option<IpAddr>,
    /// The port, `p1 * 256 + p2`.
    pub port: u16,
}

/// What an ONC RPC payload says, of the two kinds portaudit learns from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Message {
    /// A call asking the portmapper where a program lives.
    Call(MapperCall),
    /// An accepted, successful reply to some call.
    Reply(Reply),
}

/// The portmapper's program number (RFC 1833).
const PORTMAPPER: u32 = 100_000;
/// PMAPPROC_GETPORT (v2) and RPCBPROC_GETADDR (v3, v4).
const GETPORT_OR_GETADDR: u32 = 3;
/// MAX_AUTH_BYTES (RFC 5531 §8.2): the longest credential or verifier body.
const MAX_AUTH_BYTES: usize = 400;
/// The longest netid, universal address or owner string read.
const MAX_STRING: usize = 1024;
const LAST_FRAGMENT: u32 = 0x8000_0000;

/// Reads one ONC RPC message; over TCP it starts with a record mark (RFC 5531
/// §11) and only the first record is read.
///
/// `None`: not ONC RPC, or a call of another program/procedure, or a reply
/// that is not accepted-success. Every accepted-success reply is returned,
/// whatever it answers.
pub fn parse(payload: &[u8], over_tcp: bool) -> Option<Result<Message, Unreadable>> {
    let (record, complete, last) = if over_tcp {
        let mut r = Xdr::new(payload);
        let mark = r.u32()?;
        let rest = r.rest();
        let len = usize::try_from(mark & !LAST_FRAGMENT).ok()?;
        let complete = len <= rest.len();
        let record = rest.get(..len).unwrap_or(rest);
        (record, complete, mark & LAST_FRAGMENT != 0)
    } else {
        (payload, true, true)
    };
    let cut = |read: Option<Message>| match read {
        _ if !complete => Err(Unreadable::Split),
        _ if !last => Err(Unreadable::Fragmented),
        Some(message) => Ok(message),
        None => Err(Unreadable::Malformed),
    };
    let mut r = Xdr::new(record);
    let xid = r.u32()?;
    match r.u32()? {
        0 => {
            let (rpcvers, program, version, procedure) = (r.u32()?, r.u32()?, r.u32()?, r.u32()?);
            if rpcvers != 2
                || program != PORTMAPPER
                || !(2..=4).contains(&version)
                || procedure != GETPORT_OR_GETADDR
            {
                return None;
            }
            Some(cut(read_call(&mut r, xid, version).map(Message::Call)))
        }
        1 => {
            if r.u32()? != 0 {
                return None; // MSG_DENIED
            }
            // The verifier and accept_stat: if the record is cut before them,
            // there is no telling whether it is a success.
            let header = read_auth(&mut r).and_then(|()| r.u32());
            match header {
                None if complete => Some(Err(Unreadable::Malformed)),
                None => None,
                Some(0) => Some(cut(Some(Message::Reply(read_results(r, xid))))),
                Some(_) => None,
            }
        }
        _ => None,
    }
}

/// The rest of a GETPORT/GETADDR call after the procedure: credential,
/// verifier, then the arguments.
fn read_call(r: &mut Xdr<'_>, xid: u32, version: u32) -> Option<MapperCall> {
    read_auth(r)?;
    read_auth(r)?;
    let program = r.u32()?;
    let program_version = r.u32()?;
    let proto = if version == 2 {
        // struct mapping { prog, vers, prot, port }
        let prot = r.u32()?;
        let _port = r.u32()?;
        u8::try_from(prot).ok()
    } else {
        // struct rpcb { r_prog, r_vers, r_netid, r_addr, r_owner }
        let netid = r.string()?;
        let _addr = r.string()?;
        let _owner = r.string()?;
        match netid {
            b"tcp" | b"tcp6" => Some(6),
            b"udp" | b"udp6" => Some(17),
            _ => None,
        }
    };
    Some(MapperCall {
        xid,
        version,
        program,
        program_version,
        proto,
    })
}

/// An `opaque_auth`: flavor, then a body of at most `MAX_AUTH_BYTES`.
fn read_auth(r: &mut Xdr<'_>) -> Option<()> {
    let _flavor = r.u32()?;
    r.opaque(MAX_AUTH_BYTES).map(|_| ())
}

/// A successful reply's results, read as a port word and as a universal
/// address string.
fn read_results(r: Xdr<'_>, xid: u32) -> Reply {
    let word = r.clone().u32();
    let mut s = r;
    let uaddr = s
        .string()
        .and_then(|b| std::str::from_utf8(b).ok())
        .and_then(parse_uaddr);
    Reply { xid, word, uaddr }
}

/// Reads a universal address (RFC 5665 §5.2.3.3/4): `h1.h2.h3.h4.p1.p2` for
/// IPv4, `x:x::x.p1.p2` (any IPv6 text form) for IPv6, where `p1` and `p2`
/// are the port's high and low bytes in decimal (one to three digits,
/// 0..=255). The empty string, which rpcbind answers for a program that is
/// not registered, reads as `Uaddr { ip: None, port: 0 }`. `None` for
/// anything else.
pub fn parse_uaddr(s: &str) -> Option<Uaddr> {
    if s.is_empty() {
        return Some(Uaddr { ip: None, port: 0 });
    }
    let mut parts = s.rsplitn(3, '.');
    let low = port_byte(parts.next()?)?;
    let high = port_byte(parts.next()?)?;
    let host = parts.next()?;
    let ip = if host.contains(':') {
        IpAddr::V6(host.parse::<Ipv6Addr>().ok()?)
    } else {
        IpAddr::V4(host.parse::<Ipv4Addr>().ok()?)
    };
    Some(Uaddr {
        ip: Some(ip),
        port: u16::from_be_bytes([high, low]),
    })
}

/// One of a universal address's port bytes: one to three decimal digits.
fn port_byte(s: &str) -> Option<u8> {
    if s.is_empty() || s.len() > 3 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// A cursor over XDR (RFC 4506): big-endian u32s, opaques and strings padded
/// to four bytes; every read is `None` past the end.
#[derive(Clone)]
struct Xdr<'a> {
    bytes: &'a [u8],
}

impl<'a> Xdr<'a> {
    fn new(bytes: &'a [u8]) -> Xdr<'a> {
        Xdr { bytes }
    }

    fn rest(&self) -> &'a [u8] {
        self.bytes
    }

    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if n > self.bytes.len() {
            return None;
        }
        let (head, tail) = self.bytes.split_at(n);
        self.bytes = tail;
        Some(head)
    }

    fn u32(&mut self) -> Option<u32> {
        let b: [u8; 4] = self.take(4)?.try_into().ok()?;
        Some(u32::from_be_bytes(b))
    }

    /// A variable-length opaque of at most `max` bytes, with its padding.
    fn opaque(&mut self, max: usize) -> Option<&'a [u8]> {
        let len = usize::try_from(self.u32()?).ok()?;
        if len > max {
            return None;
        }
        let body = self.take(len)?;
        self.take((4 - len % 4) % 4)?;
        Some(body)
    }

    /// An XDR string of at most `MAX_STRING` bytes (not checked for UTF-8).
    fn string(&mut self) -> Option<&'a [u8]> {
        self.opaque(MAX_STRING)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn hex(s: &str) -> Vec<u8> {
        assert!(s.len() % 2 == 0, "odd hex length");
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    /// pcap-be-usec-v2-1-nfsv3.pcap frame 1: RPCBPROC_GETADDR v3 over UDP,
    /// xid 0x38434f69, asking for MOUNT (100005) v3 on "udp".
    const GETADDR_MOUNT: &str = "38434f690000000000000002000186a0000000030000000300000000000000000000000000000000000186a50000000300000003756470000000000000000000";
    /// Frame 2: its reply, "139.25.22.102.4.24" (port 1048).
    const REPLY_MOUNT: &str = "38434f690000000100000000000000000000000000000000000000123133392e32352e32322e3130322e342e32340000";
    /// Frame 7: GETADDR v3 for NFS (100003) v3 on "udp", xid 0x3843e329.
    const GETADDR_NFS: &str = "3843e3290000000000000002000186a0000000030000000300000000000000000000000000000000000186a30000000300000003756470000000000000000000";
    /// Frame 8: its reply, "139.25.22.102.8.1" (port 2049).
    const REPLY_NFS: &str = "3843e3290000000100000000000000000000000000000000000000113133392e32352e32322e3130322e382e31000000";
    /// Frame 125: GETADDR v3 for MOUNT v1 on "udp", xid 0x384c4b79.
    const GETADDR_MOUNT_V1: &str = "384c4b790000000000000002000186a0000000030000000300000000000000000000000000000000000186a50000000100000003756470000000000000000000";

    fn call(payload: &[u8], over_tcp: bool) -> MapperCall {
        match parse(payload, over_tcp) {
            Some(Ok(Message::Call(c))) => c,
            other => panic!("not a mapper call: {other:?}"),
        }
    }

    fn reply(payload: &[u8], over_tcp: bool) -> Reply {
        match parse(payload, over_tcp) {
            Some(Ok(Message::Reply(r))) => r,
            other => panic!("not a reply: {other:?}"),
        }
    }

    fn v4(a: u8, b: u8, c: u8, d: u8) -> Option<IpAddr> {
        Some(IpAddr::V4(Ipv4Addr::new(a, b, c, d)))
    }

    /// Frames a message as one last-fragment TCP record.
    fn record(message: &[u8]) -> Vec<u8> {
        let mut v = (message.len() as u32 | LAST_FRAGMENT)
            .to_be_bytes()
            .to_vec();
        v.extend_from_slice(message);
        v
    }

    #[test]
    fn rpcbind_getaddr_calls_from_a_capture() {
        let mount = MapperCall {
            xid: 0x3843_4f69,
            version: 3,
            program: 100_005,
            program_version: 3,
            proto: Some(17),
        };
        assert_eq!(call(&hex(GETADDR_MOUNT), false), mount);
        assert_eq!(
            call(&hex(GETADDR_NFS), false),
            MapperCall {
                xid: 0x3843_e329,
                program: 100_003,
                ..mount.clone()
            }
        );
        assert_eq!(
            call(&hex(GETADDR_MOUNT_V1), false),
            MapperCall {
                xid: 0x384c_4b79,
                program_version: 1,
                ..mount
            }
        );
    }

    #[test]
    fn rpcbind_getaddr_replies_from_a_capture() {
        let r = reply(&hex(REPLY_MOUNT), false);
        assert_eq!(r.xid, 0x3843_4f69);
        assert_eq!(r.word, Some(18)); // the string's length, read as a port
        assert_eq!(
            r.uaddr,
            Some(Uaddr {
                ip: v4(139, 25, 22, 102),
                port: 1048
            })
        );
        let r = reply(&hex(REPLY_NFS), false);
        assert_eq!(r.xid, 0x3843_e329);
        assert_eq!(
            r.uaddr,
            Some(Uaddr {
                ip: v4(139, 25, 22, 102),
                port: 2049
            })
        );
    }

    #[test]
    fn getport_v2_call_and_reply() {
        let mut c = Vec::new();
        // An AUTH_SYS credential with an 8-byte body, then AUTH_NONE.
        for w in [
            7u32, 0, 2, PORTMAPPER, 2, 3, 1, 8, 0x11, 0, 0, 0, 100_021, 4, 6, 0,
        ] {
            c.extend_from_slice(&w.to_be_bytes());
        }
        let got = call(&c, false);
        assert_eq!(
            got,
            MapperCall {
                xid: 7,
                version: 2,
                program: 100_021,
                program_version: 4,
                proto: Some(6)
            }
        );
        assert_eq!(call(&record(&c), true), got);

        let mut r = Vec::new();
        for w in [7u32, 1, 0, 0, 0, 0, 4045] {
            r.extend_from_slice(&w.to_be_bytes());
        }
        let got = reply(&record(&r), true);
        assert_eq!(got.word, Some(4045));
        assert_eq!(got.uaddr, None);
        // Port 0, not registered: both readings agree.
        let n = r.len();
        r[n - 4..].copy_from_slice(&[0; 4]);
        let got = reply(&r, false);
        assert_eq!(got.word, Some(0));
        assert_eq!(got.uaddr, Some(Uaddr { ip: None, port: 0 }));
    }

    #[test]
    fn other_programs_procedures_and_stats_are_not_ours() {
        let mut c = hex(GETADDR_MOUNT);
        c[23] = 4; // procedure 4, RPCBPROC_DUMP
        assert_eq!(parse(&c, false), None);
        let mut c = hex(GETADDR_MOUNT);
        c[15] = 0xa3; // program 100003 (NFS), not the portmapper
        assert_eq!(parse(&c, false), None);
        let mut c = hex(GETADDR_MOUNT);
        c[19] = 5; // rpcbind version 5
        assert_eq!(parse(&c, false), None);
        let mut r = hex(REPLY_MOUNT);
        r[23] = 1; // PROG_UNAVAIL
        assert_eq!(parse(&r, false), None);
        let mut r = hex(REPLY_MOUNT);
        r[11] = 1; // MSG_DENIED
        assert_eq!(parse(&r, false), None);
        assert_eq!(parse(b"", false), None);
        assert_eq!(parse(b"", true), None);
        assert_eq!(parse(b"SSH-2.0-OpenSSH_9.6\r\n", true), None);
    }

    #[test]
    fn tcp_record_marks() {
        let c = hex(GETADDR_MOUNT);
        let framed = record(&c);
        assert_eq!(call(&framed, true), call(&c, false));
        // The payload ends before the record does.
        assert_eq!(
            parse(&framed[..framed.len() - 4], true),
            Some(Err(Unreadable::Split))
        );
        // Not the last fragment.
        let mut first = framed.clone();
        first[0] &= 0x7f;
        assert_eq!(parse(&first, true), Some(Err(Unreadable::Fragmented)));
        // Without the record mark, over TCP, it is not ONC RPC (the xid reads
        // as a mark, the rest does not follow).
        assert_eq!(parse(&c, true), None);
        // Two records in one segment: the first is read.
        let mut two = framed.clone();
        two.extend_from_slice(&record(&hex(REPLY_MOUNT)));
        assert_eq!(call(&two, true), call(&c, false));
    }

    #[test]
    fn lying_lengths_are_malformed() {
        // The netid string claims 200 bytes.
        let mut c = hex(GETADDR_MOUNT);
        c[51] = 200;
        assert_eq!(parse(&c, false), Some(Err(Unreadable::Malformed)));
        // A credential longer than MAX_AUTH_BYTES.
        let mut c = hex(GETADDR_MOUNT);
        c[30] = 2;
        assert_eq!(parse(&c, false), Some(Err(Unreadable::Malformed)));
        // A reply whose verifier runs past the end.
        let mut r = hex(REPLY_MOUNT);
        r[19] = 0x40;
        assert_eq!(parse(&r, false), Some(Err(Unreadable::Malformed)));
        // A reply whose string does: an accepted reply still, read as a word.
        let mut r = hex(REPLY_MOUNT);
        r[27] = 0x40;
        let got = reply(&r, false);
        assert_eq!((got.word, got.uaddr), (Some(0x40), None));
    }

    #[test]
    fn universal_addresses() {
        assert_eq!(
            parse_uaddr("10.0.0.1.0.111"),
            Some(Uaddr {
                ip: v4(10, 0, 0, 1),
                port: 111
            })
        );
        assert_eq!(
            parse_uaddr("::1.8.1"),
            Some(Uaddr {
                ip: Some(IpAddr::V6(Ipv6Addr::LOCALHOST)),
                port: 2049
            })
        );
        assert_eq!(
            parse_uaddr("fe80::1:2.255.255"),
            Some(Uaddr {
                ip: Some("fe80::1:2".parse().unwrap()),
                port: 65535
            })
        );
        assert_eq!(
            parse_uaddr("::ffff:10.1.2.3.0.1"),
            Some(Uaddr {
                ip: Some("::ffff:10.1.2.3".parse().unwrap()),
                port: 1
            })
        );
        assert_eq!(parse_uaddr(""), Some(Uaddr { ip: None, port: 0 }));
        for bad in [
            "10.0.0.1.256.1",
            "10.0.0.1.1.0256",
            "10.0.0.1.1.+1",
            "10.0.0.1.1",
            "10.0.0.1.1.",
            "10.0.0.1..1",
            "10.0.0.1",
            "10.0.0.256.1.1",
            "10.0.0.1.2.1.1",
            "host.example.0.111",
            "fe80::1%eth0.0.111",
            " 10.0.0.1.0.111",
            ".0.111",
        ] {
            assert_eq!(parse_uaddr(bad), None, "{bad:?}");
        }
    }

    fn samples() -> Vec<(Vec<u8>, bool)> {
        let mut v = Vec::new();
        for h in [GETADDR_MOUNT, REPLY_MOUNT, GETADDR_NFS, REPLY_NFS] {
            v.push((hex(h), false));
            v.push((record(&hex(h)), true));
        }
        v
    }

    #[test]
    fn truncated_records_are_split_or_nothing() {
        for (full, over_tcp) in samples() {
            assert!(matches!(parse(&full, over_tcp), Some(Ok(_))));
            for cut in 0..full.len() {
                let r = parse(&full[..cut], over_tcp);
                if over_tcp {
                    assert!(
                        matches!(r, None | Some(Err(Unreadable::Split))),
                        "cut at {cut}: {r:?}"
                    );
                } else if let Some(Ok(Message::Reply(got))) = r {
                    // A cut UDP reply still reads as an accepted reply; it
                    // never invents an address.
                    assert_eq!(got.uaddr, None, "cut at {cut}");
                }
            }
        }
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300), over_tcp in any::<bool>()) {
            let _ = parse(&bytes, over_tcp);
            if let Ok(s) = std::str::from_utf8(&bytes) {
                let _ = parse_uaddr(s);
            }
        }

        /// A mapper call or accepted reply header in front of arbitrary bytes.
        #[test]
        fn arbitrary_bodies_never_panic(reply in any::<bool>(), version in 2u32..5, body in proptest::collection::vec(any::<u8>(), 0..200)) {
            let head: &[u32] = if reply { &[1, 1, 0] } else { &[1, 0, 2, PORTMAPPER, version, 3] };
            let mut m: Vec<u8> = head.iter().flat_map(|w| w.to_be_bytes()).collect();
            m.extend_from_slice(&body);
            let _ = parse(&m, false);
            let _ = parse(&record(&m), true);
        }

        #[test]
        fn mutated_samples_never_panic(pick in any::<prop::sample::Index>(), at in any::<prop::sample::Index>(), byte in any::<u8>()) {
            let all = samples();
            let (mut bytes, over_tcp) = all[pick.index(all.len())].clone();
            let i = at.index(bytes.len());
            bytes[i] = byte;
            if let Some(Ok(Message::Call(c))) = parse(&bytes, over_tcp) {
                prop_assert!((2..=4).contains(&c.version));
            }
        }

        #[test]
        fn universal_addresses_round_trip(ip in any::<std::net::Ipv4Addr>(), port in any::<u16>()) {
            let [h, l] = port.to_be_bytes();
            let s = format!("{ip}.{h}.{l}");
            prop_assert_eq!(parse_uaddr(&s), Some(Uaddr { ip: Some(IpAddr::V4(ip)), port }));
        }
    }
}
