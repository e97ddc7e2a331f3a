//! What portaudit reports for every file of the shared corpus, pinned in
//! `tests/corpus-report.md`: exit status, packets read and used, skipped
//! packets by reason, damage offsets, odd timestamps, and how that compares
//! with capinfos (`expected-counts.csv`). Every difference from capinfos
//! needs a reason in [`DIFFERENCES`], or the test fails.
//!
//! After a deliberate change: `PORTAUDIT_BLESS=1 cargo test --release
//! --test integration corpus_report`, then read the diff.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use portaudit::capture::{CaptureInput, Timestamp};
use portaudit::ingest::{ingest_one, FileStats, IngestOptions};

use crate::{code, corpus, corpus_captures, path_str, root, run};

/// Why our numbers differ from capinfos's on a file.
const DIFFERENCES: &[(&str, &str)] = &[
    (
        "corrupt-pcap-bogus-len-smtp.pcap",
        "capinfos stops on the bad record without a row, but its message says \"after reading 18 packets\": the same 18. We name the bad length at byte 3695 and exit 3.",
    ),
    (
        "corrupt-pcap-huge-record-len.pcap",
        "capinfos's message says it read 2 packets: on a bad record Wireshark retries the file as other pcap variants. A strict reader takes record 1's declared 188 bytes and meets a garbage header at byte 228, so 1 packet, and exit 3.",
    ),
    (
        "corrupt-ts-nsec-over-1e9.pcap",
        "Record 3's fraction field is 2147483648 ns, over a second. capinfos prints it as a signed 32-bit fraction; we carry the excess into the seconds (src/capture/timestamp.rs), so the last time is 2.15 s later. Packet counts agree.",
    ),
    (
        "corrupt-ts-usec-over-1e6.pcap",
        "Record 2's fraction is 1000000 µs and record 3's 2147483648 µs, both a second or more. capinfos prints them as they are (and record 3 as negative); we carry the excess into the seconds, so record 3 is 2147 s later. Packet counts agree.",
    ),
    (
        "pcapng-eth-sll-mixed-tsresol-snap128.pcapng",
        "The SLL interface's timestamps are near 2^64 ticks; capinfos's start time is wrong for this file (see the corpus MANIFEST): tshark dates frame 1, the earliest, at 1422527998.578402281, which is our first time. The last times agree.",
    ),
    (
        "pcapng-test102-all-blocks-be.pcapng",
        "The file holds Simple Packet Blocks, which carry no time; capinfos then prints n/a for both ends. We give the range of the packets that have a time and count the others as untimed.",
    ),
    (
        "pcapng-test201-multi-shb-isb.pcapng",
        "Simple Packet Blocks, which carry no time: capinfos prints n/a, we give the range of the timed packets (as for test102).",
    ),
    (
        "pcapng-test202-multi-shb-mixed-endian.pcapng",
        "Simple Packet Blocks, which carry no time: capinfos prints n/a, we give the range of the timed packets (as for test102).",
    ),
];

/// capinfos's row of expected-counts.csv.
struct Capinfos {
    packets: Option<u64>,
    first: String,
    last: String,
}

fn capinfos() -> BTreeMap<String, Capinfos> {
    let csv = std::fs::read_to_string(corpus().join("expected-counts.csv")).unwrap();
    csv.lines()
        .skip(1)
        .map(|l| {
            let c: Vec<&str> = l.split(',').collect();
            (
                c[0].to_string(),
                Capinfos {
                    packets: c[3].parse().ok(),
                    first: c[4].to_string(),
                    last: c[5].to_string(),
                },
            )
        })
        .collect()
}

/// Our time as capinfos prints it: epoch seconds with as many fraction
/// digits as capinfos gave.
fn like_capinfos(t: Option<Timestamp>, theirs: &str) -> String {
    let Some(t) = t else {
        return "n/a".into();
    };
    let digits = theirs.split('.').nth(1).map_or(0, str::len).min(9);
    let (secs, nanos) = (t.0.div_euclid(1_000_000_000), t.0.rem_euclid(1_000_000_000));
    if digits == 0 {
        return secs.to_string();
    }
    let frac = format!("{nanos:09}");
    format!("{secs}.{}", &frac[..digits])
}

fn row(name: &str, f: &FileStats, exit: i32, cap: Option<&Capinfos>) -> (String, Option<String>) {
    let skipped: Vec<String> = f.skipped.iter().map(|(k, v)| format!("{k} {v}")).collect();
    let damage: Vec<String> = f.damage.iter().map(|d| d.offset.to_string()).collect();
    let t = &f.times;
    let times = [
        (t.out_of_order, "back"),
        (t.zero, "zero"),
        (t.future, "future"),
        (f.untimed_packets, "untimed"),
    ]
    .iter()
    .filter(|(n, _)| *n > 0)
    .map(|(n, w)| format!("{n} {w}"))
    .collect::<Vec<_>>()
    .join(", ");
    let difference = match cap {
        None => Some("not in expected-counts.csv".to_string()),
        Some(c) => match c.packets {
            None if f.unreadable.is_some() => None,
            None => Some(format!(
                "capinfos prints no row for the file; we read {}",
                f.packets_read
            )),
            Some(packets) => {
                let first = like_capinfos(f.first_ts, &c.first);
                let last = like_capinfos(f.last_ts, &c.last);
                (packets != f.packets_read || first != c.first || last != c.last).then(|| {
                    format!(
                        "capinfos {packets} packets, {} .. {}; ours {first} .. {last}",
                        c.first, c.last
                    )
                })
            }
        },
    };
    let mut line = String::new();
    let _ = write!(
        line,
        "| {name} | {exit} | {} | {} | {} | {} | {} | {} | {} | {} |",
        if f.unreadable.is_some() {
            "unreadable"
        } else {
            &f.format
        },
        f.link_types.iter().cloned().collect::<Vec<_>>().join(" "),
        f.packets_read,
        f.packets_decoded,
        skipped.join(", "),
        damage.join(" "),
        times,
        difference.as_deref().map_or("same", |_| "differs"),
    );
    (line, difference)
}

#[test]
fn corpus_report_is_pinned() {
    if crate::shared_missing("corpus_report::corpus_report_is_pinned") {
        return;
    }
    let caps = capinfos();
    let opts = IngestOptions {
        // A day after this test was written: a fixed "now", so that the
        // report never ages.
        future_after: Some(Timestamp(1_795_305_600 * 1_000_000_000)),
        ..IngestOptions::default()
    };
    let files = corpus_captures();
    let mut table = String::from(
        "# What portaudit reports for each corpus file\n\n\
         Generated by `tests/integration/corpus_report.rs`; do not edit by hand.\n\
         Timestamps: \"back\" = dated before the previous packet, \"zero\" = 1970-01-01,\n\
         \"future\" = after 2026-11-22, \"untimed\" = pcapng simple packets. capinfos:\n\
         `same` when packets, first and last time equal expected-counts.csv, or when\n\
         both refuse the file; each difference is explained below.\n\n\
         | file | exit | format | link types | read | used | skipped | damage at byte | timestamps | capinfos |\n\
         |---|---|---|---|---|---|---|---|---|---|\n",
    );
    let mut notes = String::from("\n## Differences from capinfos\n\n");
    let explained: BTreeMap<&str, &str> = DIFFERENCES.iter().copied().collect();
    let mut unexplained = Vec::new();
    for path in &files {
        let name = path.file_name().unwrap().to_str().unwrap();
        let (_, stats) = ingest_one(&CaptureInput::File(path.clone()), &opts);
        assert_eq!(
            stats.packets_decoded + stats.skipped.values().sum::<u64>(),
            stats.packets_read,
            "{name}: every packet read is used or skipped by reason"
        );
        let o = run(&["flows", "-q", "-o", "/dev/null", &path_str(path)]);
        let (line, difference) = row(name, &stats, code(&o), caps.get(name));
        table.push_str(&line);
        table.push('\n');
        if let Some(d) = difference {
            match explained.get(name) {
                Some(why) => {
                    let _ = writeln!(notes, "- `{name}`: {d}. {why}");
                }
                None => unexplained.push(format!("{name}: {d}")),
            }
        }
    }
    table.push_str(&notes);
    let pinned = root().join("tests/corpus-report.md");
    if std::env::var_os("PORTAUDIT_BLESS").is_some() {
        std::fs::write(&pinned, &table).unwrap();
    }
    assert!(
        unexplained.is_empty(),
        "differences from capinfos without a reason in DIFFERENCES:\n{}",
        unexplained.join("\n")
    );
    let expected = std::fs::read_to_string(&pinned).unwrap_or_default();
    assert!(
        expected == table,
        "tests/corpus-report.md is stale; rerun with PORTAUDIT_BLESS=1 and read the diff"
    );
}
