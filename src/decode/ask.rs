//! Who asked, from a packet's first payload bytes: a DNS query or
//! response, an NTP client or server packet, a Kerberos request or reply,
//! a TLS ClientHello or ServerHello, an HTTP request or response. The
//! flow's initiator comes from it before the port heuristic
//! (docs/audit.md#initiator, basis `payload`).

use super::packet::{PROTO_TCP, PROTO_UDP};

/// What a packet's payload says of its sender.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Ask {
    /// Nothing: no payload, or none of the protocols read here.
    #[default]
    None,
    /// The sender asked: it is the client.
    Request,
    /// The sender answered: the receiver is the client.
    Reply,
}

const DNS: [u16; 2] = [53, 5353];
const NTP: u16 = 123;
const KERBEROS: u16 = 88;

/// The role of the sender of `payload`, a TCP or UDP payload between
/// ports `sport` and `dport`. Reads at most the first eight bytes.
#[inline]
pub fn ask(proto: u8, sport: u16, dport: u16, payload: &[u8]) -> Ask {
    let on = |p: u16| sport == p || dport == p;
    match proto {
        PROTO_UDP if DNS.iter().any(|&p| on(p)) => dns(payload),
        PROTO_UDP if on(NTP) => ntp(payload),
        PROTO_UDP if on(KERBEROS) => kerberos(payload),
        PROTO_TCP if on(KERBEROS) => kerberos(payload.get(4..).unwrap_or_default()),
        // One byte picks the only protocol the payload can be.
        PROTO_TCP => match payload.first() {
            Some(0x16) => tls(payload),
            Some(b'G' | b'P' | b'H' | b'D' | b'O' | b'C' | b'T') => http(payload),
            _ => Ask::None,
        },
        _ => Ask::None,
    }
}

/// A DNS header (RFC 1035 §4.1.1): QR is 0 in a query, 1 in a response;
/// a standard opcode (0-6) and at most 255 questions, or it is not DNS.
fn dns(p: &[u8]) -> Ask {
    match p {
        [_, _, flags, _, 0, _, ..] if p.len() >= 12 && (flags >> 3) & 0x0f <= 6 => {
            if flags & 0x80 == 0 {
                Ask::Request
            } else {
                Ask::Reply
            }
        }
        _ => Ask::None,
    }
}

/// An NTP packet (RFC 5905 §7.3): version 1-4, mode 3 (client) or 4
/// (server); symmetric and broadcast modes say nothing of who asked.
fn ntp(p: &[u8]) -> Ask {
    match p.first() {
        Some(b) if p.len() >= 48 && (1..=4).contains(&((b >> 3) & 7)) => match b & 7 {
            3 => Ask::Request,
            4 => Ask::Reply,
            _ => Ask::None,
        },
        _ => Ask::None,
    }
}

/// A Kerberos message's application tag (RFC 4120 §5.10): AS-REQ [10]
/// and TGS-REQ [12] ask; AS-REP [11], TGS-REP [13] and KRB-ERROR [30]
/// answer. The tag is followed by a DER length.
fn kerberos(p: &[u8]) -> Ask {
    match p {
        [0x6a | 0x6c, len, ..] if *len != 0x80 => Ask::Request,
        [0x6b | 0x6d | 0x7e, len, ..] if *len != 0x80 => Ask::Reply,
        _ => Ask::None,
    }
}

/// A TLS handshake record (RFC 8446 §5.1, versions 3.0-3.4) whose first
/// message is a ClientHello (1) or a ServerHello (2).
fn tls(p: &[u8]) -> Ask {
    match p {
        [0x16, 3, 0..=4, _, _, 1, ..] => Ask::Request,
        [0x16, 3, 0..=4, _, _, 2, ..] => Ask::Reply,
        _ => Ask::None,
    }
}

/// An HTTP/1.x request line (RFC 9112 §3: a method, then a space) or a
/// status line (`HTTP/1.`).
fn http(p: &[u8]) -> Ask {
    const METHODS: [&[u8]; 9] = [
        b"GET ",
        b"POST ",
        b"HEAD ",
        b"PUT ",
        b"DELETE ",
        b"OPTIONS ",
        b"PATCH ",
        b"CONNECT ",
        b"TRACE ",
    ];
    if p.starts_with(b"HTTP/1.") {
        return Ask::Reply;
    }
    match METHODS.iter().any(|m| p.starts_with(m)) {
        true => Ask::Request,
        false => Ask::None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn requests_and_replies_of_each_protocol() {
        let mut dns_query = vec![0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0];
        assert_eq!(ask(PROTO_UDP, 40000, 53, &dns_query), Ask::Request);
        dns_query[2] = 0x81;
        assert_eq!(ask(PROTO_UDP, 53, 40000, &dns_query), Ask::Reply);
        let mut ntp_packet = vec![0u8; 48];
        ntp_packet[0] = 0x23; // version 4, mode 3
        assert_eq!(ask(PROTO_UDP, 123, 123, &ntp_packet), Ask::Request);
        ntp_packet[0] = 0x24; // mode 4
        assert_eq!(ask(PROTO_UDP, 123, 123, &ntp_packet), Ask::Reply);
        ntp_packet[0] = 0x21; // symmetric active
        assert_eq!(ask(PROTO_UDP, 123, 123, &ntp_packet), Ask::None);
        assert_eq!(ask(PROTO_UDP, 5000, 88, &[0x6a, 0x81, 0x99]), Ask::Request);
        assert_eq!(
            ask(PROTO_TCP, 88, 5000, &[0, 0, 1, 0, 0x7e, 0x82]),
            Ask::Reply
        );
        let hello = [0x16, 3, 1, 0, 200, 1, 0, 0];
        assert_eq!(ask(PROTO_TCP, 50000, 443, &hello), Ask::Request);
        assert_eq!(
            ask(PROTO_TCP, 443, 50000, &[0x16, 3, 3, 0, 90, 2]),
            Ask::Reply
        );
        assert_eq!(
            ask(PROTO_TCP, 50000, 8080, b"GET / HTTP/1.1\r\n"),
            Ask::Request
        );
        assert_eq!(
            ask(PROTO_TCP, 8080, 50000, b"HTTP/1.1 200 OK\r\n"),
            Ask::Reply
        );
        // Not the protocols read here, or too short to be them.
        assert_eq!(
            ask(PROTO_TCP, 50000, 22, b"SSH-2.0-OpenSSH_9.6\r\n"),
            Ask::None
        );
        assert_eq!(ask(PROTO_UDP, 40000, 53, &[0x12, 0x34, 0x01]), Ask::None);
        assert_eq!(ask(PROTO_UDP, 123, 123, &[0x23; 20]), Ask::None);
        assert_eq!(ask(PROTO_UDP, 40000, 9999, &dns_query), Ask::None);
    }

    proptest! {
        /// Any payload on any port of either protocol is read without a
        /// panic, and the empty payload says nothing.
        #[test]
        fn any_payload_is_read(
            payload in proptest::collection::vec(any::<u8>(), 0..64),
            proto in prop_oneof![Just(PROTO_TCP), Just(PROTO_UDP)],
            sport in prop_oneof![Just(53u16), Just(88), Just(123), Just(443), any::<u16>()],
            dport in any::<u16>(),
        ) {
            let _ = ask(proto, sport, dport, &payload);
            prop_assert_eq!(ask(proto, sport, dport, &[]), Ask::None);
        }
    }
}
