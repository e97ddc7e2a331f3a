//! Fuzz target: arbitrary bytes as a capture file, read in one chunk and
//! read in small chunks, so that chunk boundaries cut headers and records.
//!
//! Mirrors `check_both_readers` in `tests/integration/fuzz.rs`: no panic;
//! every packet read is decoded or skipped with a reason; both reads agree
//! on the counts, the skip reasons, the damage, why the input was
//! unreadable, the timestamp facts and the flow table.
//!
//! The whole input is the capture. The chunk size for the second read is
//! `1 + last byte + len / 64`: 1 to 256 bytes for small inputs (the
//! property test draws 1 to 299), and never more than about 64 chunks for
//! large ones (each chunk is a hand-off between threads).

#![no_main]

use libfuzzer_sys::fuzz_target;
use portaudit::ingest::{ingest_bytes, ingest_reader_with, FileStats, IngestOptions};

/// Every packet read is used or skipped with a reason.
fn accounted(stats: &FileStats) -> bool {
    stats.packets_decoded + stats.skipped.values().sum::<u64>() == stats.packets_read
}

fuzz_target!(|data: &[u8]| {
    let chunk = 1 + usize::from(data.last().copied().unwrap_or(0)) + data.len() / 64;
    let (t1, a) = ingest_bytes("fuzz", data);
    let opts = IngestOptions {
        chunk_bytes: chunk,
        ..IngestOptions::default()
    };
    let (t2, b) = ingest_reader_with("fuzz", Box::new(std::io::Cursor::new(data.to_vec())), &opts);
    assert!(accounted(&a), "not every packet accounted for: {a:?}");
    assert_eq!(
        a.packets_read, b.packets_read,
        "packets_read, chunk {chunk}"
    );
    assert_eq!(
        a.packets_decoded, b.packets_decoded,
        "packets_decoded, chunk {chunk}"
    );
    assert_eq!(a.skipped, b.skipped, "skipped, chunk {chunk}");
    assert_eq!(a.damage, b.damage, "damage, chunk {chunk}");
    assert_eq!(a.unreadable, b.unreadable, "unreadable, chunk {chunk}");
    assert_eq!(a.times, b.times, "times, chunk {chunk}");
    assert_eq!(t1.finish(), t2.finish(), "flow tables, chunk {chunk}");
});
