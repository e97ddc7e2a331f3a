//! Fuzz target: arbitrary bytes as a capture file, read from memory (as a
//! mapped file is) and as a stream (as stdin and gzip are).
//!
//! Mirrors `check_both_readers` in `tests/integration/fuzz.rs`: no panic;
//! every packet read is decoded or skipped with a reason; both readers agree
//! on every count and on the flow table.

#![no_main]

use libfuzzer_sys::fuzz_target;
use portaudit::app::{ingest_bytes, ingest_reader, FileStats};

/// Every packet read is used or skipped with a reason.
fn accounted(stats: &FileStats) -> bool {
    stats.packets_decoded + stats.skipped.values().sum::<u64>() == stats.packets_read
}

fuzz_target!(|data: &[u8]| {
    let (t1, a) = ingest_bytes("fuzz", data);
    let (t2, b) = ingest_reader("fuzz", Box::new(std::io::Cursor::new(data.to_vec())));
    assert!(
        accounted(&a),
        "memory reader: not every packet accounted for: {a:?}"
    );
    assert!(
        accounted(&b),
        "stream reader: not every packet accounted for: {b:?}"
    );
    assert_eq!(a.packets_read, b.packets_read, "packets_read");
    assert_eq!(a.packets_decoded, b.packets_decoded, "packets_decoded");
    assert_eq!(a.skipped, b.skipped, "skipped");
    assert_eq!(
        a.unreadable.is_some(),
        b.unreadable.is_some(),
        "unreadable: {:?} vs {:?}",
        a.unreadable,
        b.unreadable
    );
    assert_eq!(t1.finish(), t2.finish(), "flow tables");
});
