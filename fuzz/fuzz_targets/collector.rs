//! Fuzz target: arbitrary bytes as the datagrams a `portaudit collect`
//! receives from several exporters.
//!
//! The input is cut into datagrams: a byte picks the exporter (one of
//! four), two more the length, then the datagram. Mirrors
//! `collector_survives_mutated_datagrams` in `tests/integration/fuzz.rs`:
//! no panic; every record read is used or skipped with a reason.

#![no_main]

use std::net::SocketAddr;

use libfuzzer_sys::fuzz_target;
use portaudit::ingest::records::Collector;
use portaudit::ingest::IngestOptions;

fuzz_target!(|data: &[u8]| {
    let exporters: [SocketAddr; 4] = [
        "192.0.2.1:4739".parse().unwrap(),
        "192.0.2.2:4739".parse().unwrap(),
        "192.0.2.1:2055".parse().unwrap(),
        "[2001:db8::1]:4739".parse().unwrap(),
    ];
    let mut c = Collector::new("fuzz", &IngestOptions::default());
    let mut rest = data;
    while let [from, hi, lo, tail @ ..] = rest {
        let len = usize::from(u16::from_be_bytes([*hi, *lo])).min(tail.len());
        let (datagram, after) = tail.split_at(len);
        c.datagram(exporters[usize::from(*from) % exporters.len()], datagram);
        rest = after;
    }
    let (_, stats) = c.snapshot();
    assert_eq!(
        stats.packets_decoded + stats.skipped.values().sum::<u64>(),
        stats.packets_read,
        "every record used or skipped: {stats:?}"
    );
});
