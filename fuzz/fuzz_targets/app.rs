//! Fuzz target: arbitrary payloads through the application-protocol
//! readers.
//!
//! The bytes are one TCP or UDP payload on each port a reader keys on and
//! one it does not. `decode::heard` must not panic; a non-empty payload is
//! at least `unknown` and an empty one `none`; what it packs reads back;
//! `decode::server_name` gives a name only for a request, of 1 to
//! `MAX_NAME` bytes (the property tests in `src/decode/app.rs` check the
//! same on arbitrary payloads and on ClientHellos cut anywhere);
//! `decode::alpn` gives an offer only for a request, of 1 to `MAX_ALPN`
//! bytes; `decode::quote` quotes only a known protocol, in 1 to
//! `MAX_QUOTE` characters, none of them a control character.
//! `decode::dns_answers` reads the bytes as a DNS reply: a name of 1 to
//! `MAX_NAME` bytes and 1 to `MAX_ANSWERS` addresses, or nothing.

#![no_main]

use libfuzzer_sys::fuzz_target;
use portaudit::decode::{
    alpn, dns_answers, heard, quote, server_name, App, Ask, Heard, MAX_ALPN, MAX_ANSWERS,
    MAX_NAME, MAX_QUOTE,
};

const PORTS: [u16; 22] = [
    21, 25, 53, 67, 88, 111, 123, 135, 137, 138, 161, 389, 443, 445, 514, 546, 1900, 3389, 5353,
    5355, 5432, 50_000,
];

fuzz_target!(|data: &[u8]| {
    if let Some((name, addrs)) = dns_answers(data) {
        assert!(!name.is_empty() && name.len() <= MAX_NAME, "{name:?}");
        assert!(!addrs.is_empty() && addrs.len() <= MAX_ANSWERS);
    }
    for proto in [6u8, 17] {
        for port in PORTS {
            for (sport, dport) in [(port, 50_001), (50_001, port)] {
                let h = heard(proto, sport, dport, data);
                assert_eq!(h.app() == App::None, data.is_empty(), "{h:?}");
                assert_eq!(Heard::new(h.app(), h.ask()), h);
                if let Some(name) = server_name(h, data) {
                    assert!(h.ask() == Ask::Request, "{h:?}");
                    assert!(!name.is_empty() && name.len() <= MAX_NAME, "{name:?}");
                }
                if let Some(offer) = alpn(h, data) {
                    assert!(h.ask() == Ask::Request, "{h:?}");
                    assert!(!offer.is_empty() && offer.len() <= MAX_ALPN, "{offer:?}");
                }
                if let Some(q) = quote(h, sport, dport, data) {
                    assert!(h.app().is_known(), "{h:?}");
                    assert!(!q.is_empty() && q.chars().count() <= MAX_QUOTE, "{q:?}");
                    assert!(!q.chars().any(char::is_control), "{q:?}");
                }
            }
        }
    }
});
