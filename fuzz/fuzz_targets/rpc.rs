//! Fuzz target: arbitrary payloads through the RPC readers.
//!
//! The bytes are one TCP or UDP payload, read both ways by
//! `rpc::dcerpc::parse` and `rpc::onc::parse`, and, when they are UTF-8, as
//! a universal address by `rpc::onc::parse_uaddr`. None of them may panic.
//! What they return must hold together, as the property tests in
//! `src/rpc/dcerpc.rs` and `src/rpc/onc.rs` check: a bind's interfaces and
//! a map answer's towers are at most `MAX_ITEMS` and without duplicates, and
//! no prefix of the payload yields more of them; a mapper call is of
//! version 2, 3 or 4; a universal address written back as text reads the
//! same. The same bytes as the payload of a TCP and a UDP packet to and
//! from the mapper ports go through `rpc::inspect`, what it finds into a
//! store, and the store through a flow file's form and back unchanged.

#![no_main]

use libfuzzer_sys::fuzz_target;
use portaudit::rpc::dcerpc::{self, Pdu, MAX_ITEMS};
use portaudit::rpc::onc::{self, Message, Uaddr};
use portaudit::rpc::{inspect, Learned, Pending};

/// How many interfaces or towers a reading gave, after checking they are
/// few enough and distinct.
fn items(read: &Option<Result<Pdu, dcerpc::Unreadable>>) -> usize {
    fn distinct<T: PartialEq>(v: &[T]) -> usize {
        assert!(v.len() <= MAX_ITEMS, "{} items", v.len());
        for (i, x) in v.iter().enumerate() {
            assert!(!v[..i].contains(x), "duplicate at {i}");
        }
        v.len()
    }
    match read {
        Some(Ok(Pdu::Bind(interfaces))) => distinct(interfaces),
        Some(Ok(Pdu::MapResponse(towers))) => distinct(towers),
        _ => 0,
    }
}

fuzz_target!(|data: &[u8]| {
    for over_tcp in [true, false] {
        let whole = items(&dcerpc::parse(data, over_tcp));
        let half = items(&dcerpc::parse(&data[..data.len() / 2], over_tcp));
        assert!(
            half <= whole,
            "a prefix gave {half} items, the whole {whole}"
        );
        if let Some(Ok(Message::Call(call))) = onc::parse(data, over_tcp) {
            assert!((2..=4).contains(&call.version), "{call:?}");
        }
    }
    // As a TCP and a UDP payload, on each mapper port and a dynamic one.
    let mut learned = Learned::default();
    let mut pending = Pending::default();
    let (a, b) = ("10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap());
    for proto in [6u8, 17] {
        for (sport, dport) in [(135, 50_000), (50_000, 135), (111, 700), (700, 111), (1, 49_674)] {
            inspect(proto, (a, sport), (b, dport), data, &mut pending);
            learned.take(&mut pending, None);
        }
    }
    let back = Learned::from_stored(&learned.stored());
    assert_eq!(back, learned, "a store reads back from its flow-file form");
    if let Ok(text) = std::str::from_utf8(data) {
        if let Some(Uaddr { ip: Some(ip), port }) = onc::parse_uaddr(text) {
            let [high, low] = port.to_be_bytes();
            let again = onc::parse_uaddr(&format!("{ip}.{high}.{low}"));
            assert_eq!(again, Some(Uaddr { ip: Some(ip), port }), "{text:?}");
        }
    }
});
