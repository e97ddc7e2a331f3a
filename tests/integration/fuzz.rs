//! Property tests over hostile input, run in plain `cargo test`: the capture
//! readers on arbitrary bytes and on mutated corpus files, the decoder on
//! arbitrary frames of every link type, the profile and deployment parsers
//! on mutated text. None may panic; every packet read is either used or
//! skipped with a reason; a file read in one chunk, read in tiny chunks,
//! and read as a file cut into many segments gives the same result.
//!
//! More cases: `PROPTEST_CASES=100000 cargo test --release --test
//! integration fuzz`.

use std::path::Path;
use std::sync::OnceLock;

use portaudit::capture::{CaptureInput, LinkType};
use portaudit::decode::{decode, Decap, TunnelMode};
use portaudit::ingest::records::Collector;
use portaudit::ingest::{ingest_bytes, ingest_one, ingest_reader_with, FileStats, IngestOptions};
use portaudit::rules::{Catalog, Deployment, Profile};
use portaudit_synth::{sock, Encapsulation, Scenario};
use proptest::prelude::*;

use crate::{corpus, reading, root};

/// Small corpus files of every container and link type, as seeds.
const SEEDS: &[&str] = &[
    "pcap-le-nsec-sll-tcp-handshake.pcap",
    "pcap-modified-kuznetzov.pcap",
    "pcapng-test006-two-linktypes.pcapng",
    "pcapng-test102-all-blocks-be.pcapng",
    "pcapng-test202-multi-shb-mixed-endian.pcapng",
    "pcapng-2-idb-ns-us-merged.pcapng",
    "pcapng-test010-spb-be.pcapng",
    "ipv6-ext-hdr-chain-hbh-rh-frag.pcap",
    "raw-dlt229-ipv6-fragments.pcap",
    "null-loopback-af2-af30.pcap",
    "sll2-icmp-arp.pcap",
    "qinq-8021ad-88a8.pcapng",
    "trunc-snaplen68-tcp.pcap",
    "ipip-4in6.pcap",
];

/// Flow-record inputs in the repository, as seeds.
const RECORD_SEEDS: &[&str] = &[
    "tests/data/records/zeek-conn.log",
    "tests/data/records/zeek-conn.json",
    "tests/data/records/eve.json",
    "tests/data/records/softflowd.ipfix",
    "tests/data/records/softflowd-biflow.ipfix",
    "tests/data/records/softflowd-v9.netflow",
    "tests/data/records/softflowd-v5.netflow",
    "tests/data/records/violations.flows.ndjson",
    "tests/data/records/violations.flows.parquet",
    "tests/data/records/violations-v1.flows.ndjson",
    "tests/data/records/violations-v1.flows.parquet",
    "tests/data/records/violations-v2.flows.ndjson",
    "tests/data/records/violations-v2.flows.parquet",
];

/// One seed file's bytes.
const MODES: [TunnelMode; 3] = [TunnelMode::Inner, TunnelMode::Outer, TunnelMode::Both];

/// One TCP SYN as an Ethernet frame, for the tunnels to carry.
fn plain_tcp_frame(v6: bool) -> Vec<u8> {
    let (c, s) = if v6 {
        ("[fd00::1]:40000", "[fd00::2]:443")
    } else {
        ("10.0.0.1:40000", "10.0.0.2:443")
    };
    let mut sc = Scenario::new(1);
    sc.tcp_unanswered(sock(c), sock(s));
    let mut pcap = Vec::new();
    sc.write_pcap(&mut pcap).unwrap();
    // The first record: its length, then its frame.
    let len = u32::from_le_bytes(pcap[32..36].try_into().unwrap()) as usize;
    pcap[40..40 + len].to_vec()
}

/// Sets the bytes `muts` names (positions wrap around), then cuts the
/// frame to `cut` bytes (at least 1).
fn damage(frame: &mut Vec<u8>, muts: &[(usize, u8)], cut: usize) {
    for &(i, b) in muts {
        let n = frame.len();
        frame[i % n] = b;
    }
    frame.truncate(cut.max(1).min(frame.len()));
}

fn seed(which: usize) -> Vec<u8> {
    let name = SEEDS[which];
    std::fs::read(corpus().join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// The shipped profiles, parsed once for all cases.
fn shipped() -> &'static Catalog {
    static CATALOG: OnceLock<Catalog> = OnceLock::new();
    CATALOG.get_or_init(|| Catalog::shipped().unwrap())
}

/// Every packet read is used or skipped with a reason.
fn accounted(stats: &FileStats) -> bool {
    stats.packets_decoded + stats.skipped.values().sum::<u64>() == stats.packets_read
}

/// Reading in one chunk, in chunks of `chunk` bytes (so that chunk
/// boundaries cut headers and records everywhere), and as a file cut into
/// `segments` segments walked at once from guessed starts, gives the same
/// result.
fn check_both_readers(buf: &[u8], chunk: usize, segments: usize) -> Result<(), TestCaseError> {
    let (t1, a) = ingest_bytes("fuzz", buf);
    prop_assert!(accounted(&a), "{a:?}");
    let flows = t1.finish();
    let opts = IngestOptions {
        chunk_bytes: chunk,
        ..IngestOptions::default()
    };
    let (t2, b) = ingest_reader_with("fuzz", Box::new(std::io::Cursor::new(buf.to_vec())), &opts);
    prop_assert_eq!(reading(&a), reading(&b));
    prop_assert_eq!(&flows, &t2.finish());
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fuzz");
    std::fs::write(&path, buf).unwrap();
    let opts = IngestOptions {
        chunk_bytes: chunk,
        segments: Some(segments),
        // Split again for threads out of work wherever a chunk is left.
        split_bytes: chunk as u64,
        ..IngestOptions::default()
    };
    let (t3, c) = ingest_one(&CaptureInput::File(path), &opts);
    prop_assert_eq!(reading(&a), reading(&c));
    prop_assert_eq!(&flows, &t3.finish());
    Ok(())
}

/// A mutation of a seed: flips, overwrites with boundary values, a cut, an
/// insertion; applied in order.
#[derive(Debug, Clone)]
enum Mutation {
    Flip(usize, u8),
    Set32(usize, u32),
    Cut(usize),
    Insert(usize, Vec<u8>),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        4 => (any::<usize>(), 1u8..=255).prop_map(|(i, m)| Mutation::Flip(i, m)),
        3 => (
            any::<usize>(),
            prop_oneof![
                Just(0u32),
                Just(u32::MAX),
                Just(0x8000_0000),
                Just(65_535),
                Just(65_536),
                any::<u32>()
            ]
        )
            .prop_map(|(i, v)| Mutation::Set32(i, v)),
        1 => any::<usize>().prop_map(Mutation::Cut),
        1 => (any::<usize>(), prop::collection::vec(any::<u8>(), 1..64))
            .prop_map(|(i, v)| Mutation::Insert(i, v)),
    ]
}

fn apply(mut buf: Vec<u8>, muts: &[Mutation]) -> Vec<u8> {
    for m in muts {
        if buf.is_empty() {
            break;
        }
        let n = buf.len();
        match m {
            Mutation::Flip(i, x) => buf[i % n] ^= x,
            Mutation::Set32(i, v) => {
                let at = i % n;
                for (k, b) in v.to_le_bytes().iter().enumerate() {
                    if at + k < n {
                        buf[at + k] = *b;
                    }
                }
            }
            Mutation::Cut(i) => buf.truncate(i % n),
            Mutation::Insert(i, v) => {
                let at = i % n;
                buf.splice(at..at, v.iter().copied());
            }
        }
    }
    buf
}

proptest! {
    #[test]
    fn readers_survive_arbitrary_bytes(
        head in prop_oneof![
            Just(vec![0xD4, 0xC3, 0xB2, 0xA1]),
            Just(vec![0xA1, 0xB2, 0xC3, 0xD4]),
            Just(vec![0x4D, 0x3C, 0xB2, 0xA1]),
            Just(vec![0x0A, 0x0D, 0x0D, 0x0A]),
            Just(vec![]),
        ],
        rest in prop::collection::vec(any::<u8>(), 0..2048),
        chunk in 1usize..300,
        segments in 1usize..20,
    ) {
        let mut buf = head;
        buf.extend(rest);
        check_both_readers(&buf, chunk, segments)?;
    }

    /// Flow records (Zeek TSV and JSON, Suricata EVE, IPFIX, NetFlow v5
    /// and v9, portaudit's NDJSON and Parquet flow files) mutated: no panic,
    /// every line used or skipped with a reason, and every way of reading
    /// agrees.
    #[test]
    fn record_readers_survive_mutations(
        which in 0..RECORD_SEEDS.len(),
        muts in prop::collection::vec(mutation(), 1..6),
        chunk in 1usize..3000,
        segments in 1usize..10,
    ) {
        let seed = std::fs::read(root().join(RECORD_SEEDS[which])).unwrap();
        let buf = apply(seed, &muts);
        check_both_readers(&buf, chunk, segments)?;
    }

    /// A collector's datagrams: the stored IPFIX exports mutated, cut
    /// anywhere, each piece from one of several exporters: no panic, and
    /// every record used or skipped with a reason.
    #[test]
    fn collector_survives_mutated_datagrams(
        which in 3..5usize,
        muts in prop::collection::vec(mutation(), 0..6),
        cuts in prop::collection::vec((1usize..400, 0usize..3), 1..40),
    ) {
        let seed = std::fs::read(root().join(RECORD_SEEDS[which])).unwrap();
        let buf = apply(seed, &muts);
        let exporters: [std::net::SocketAddr; 3] = [
            "192.0.2.1:4739".parse().unwrap(),
            "192.0.2.2:4739".parse().unwrap(),
            "[2001:db8::1]:2055".parse().unwrap(),
        ];
        let mut c = Collector::new("prop", &IngestOptions::default());
        let mut rest = &buf[..];
        for (len, from) in cuts.iter().cycle().take(10_000) {
            if rest.is_empty() {
                break;
            }
            let (datagram, after) = rest.split_at((*len).min(rest.len()));
            c.datagram(exporters[*from], datagram);
            rest = after;
        }
        let (_, stats) = c.snapshot();
        prop_assert_eq!(
            stats.packets_decoded + stats.skipped.values().sum::<u64>(),
            stats.packets_read
        );
    }

    #[test]
    fn readers_survive_mutated_corpus_files(
        which in 0..SEEDS.len(),
        muts in prop::collection::vec(mutation(), 1..6),
        chunk in 1usize..5000,
        segments in 1usize..40,
    ) {
        if crate::shared_missing("fuzz::readers_survive_mutated_corpus_files") {
            return Ok(());
        }
        let buf = apply(seed(which), &muts);
        check_both_readers(&buf, chunk, segments)?;
    }

    #[test]
    fn decoder_survives_arbitrary_frames(
        link in prop_oneof![
            Just(1u32), Just(0), Just(108), Just(113), Just(276),
            Just(12), Just(14), Just(101), Just(228), Just(229),
            any::<u32>(),
        ],
        frame in prop::collection::vec(any::<u8>(), 0..256),
        extra in 0u32..100_000,
    ) {
        let wire = frame.len() as u32 + extra;
        for mode in MODES {
            let _ = decode(LinkType(link), &frame, wire, mode, &mut Decap::default());
        }
    }

    /// Every encapsulation portaudit opens, damaged: any byte changed,
    /// any length cut, in every tunnel mode; a packet decoded keeps the
    /// wire length it was given.
    #[test]
    fn decoder_survives_mutated_tunnels(
        which in 0usize..Encapsulation::ALL.len(),
        v6 in any::<bool>(),
        muts in prop::collection::vec((0usize..200, any::<u8>()), 0..6),
        cut in 0usize..400,
    ) {
        let e = Encapsulation::ALL[which];
        let v6 = v6 || e == Encapsulation::Teredo;
        let mut frame = e.wrap(&plain_tcp_frame(v6));
        damage(&mut frame, &muts, cut);
        let wire = frame.len() as u32;
        for mode in MODES {
            let mut decap = Decap::default();
            if let Ok(p) = decode(LinkType::ETHERNET, &frame, wire, mode, &mut decap) {
                prop_assert_eq!(p.wire_len, wire);
                prop_assert!(decap.carriers.iter().all(|c| c.wire_len == wire));
                prop_assert!(mode == TunnelMode::Both || decap.carriers.is_empty());
            }
        }
    }

    #[test]
    fn decoder_survives_mutated_ip_headers(
        v6 in any::<bool>(),
        muts in prop::collection::vec((0usize..60, any::<u8>()), 1..8),
        cut in 0usize..80,
    ) {
        // A valid raw IP packet (link type 101), then damaged.
        let mut frame = if v6 {
            let mut f = vec![0x60, 0, 0, 0, 0, 20, 6, 64];
            f.extend([0xFD; 16]);
            f.extend([0xFE; 16]);
            f
        } else {
            vec![0x45, 0, 0, 40, 0, 1, 0x20, 0, 64, 6, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2]
        };
        frame.extend([0x30, 0x39, 0x01, 0xBB, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x02, 0xFF, 0xFF, 0, 0, 0, 0]);
        damage(&mut frame, &muts, cut);
        let wire = frame.len() as u32;
        for mode in MODES {
            let _ = decode(LinkType(101), &frame, wire, mode, &mut Decap::default());
        }
    }

    #[test]
    fn parsers_survive_mutated_profiles_and_deployments(
        which in 0..6usize,
        muts in prop::collection::vec(mutation(), 1..4),
    ) {
        let files = [
            "rules/binalyze-air.toml",
            "rules/netwrix-threat-manager.toml",
            "rules/cayosoft-guardian.toml",
            "examples/air-lab.toml",
            "examples/ad-shared.toml",
            "examples/jsa-site.toml",
        ];
        let path = root().join(files[which]);
        let text = std::fs::read(&path).unwrap();
        let mutated = apply(text, &muts);
        let Ok(text) = String::from_utf8(mutated) else {
            return Ok(());
        };
        let lines = text.lines().count() + 1;
        let err = if files[which].starts_with("rules/") {
            Profile::parse(Path::new("p.toml"), &text).err()
        } else {
            Deployment::parse(Path::new("d.toml"), &text, shipped()).err()
        };
        if let Some(e) = err {
            // Errors point inside the file and say something.
            prop_assert!(e.line >= 1 && e.line <= lines, "{e}");
            prop_assert!(e.column >= 1, "{e}");
            prop_assert!(!e.to_string().is_empty());
        }
    }
}
