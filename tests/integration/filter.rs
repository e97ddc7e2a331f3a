//! `--filter`: without libpcap, a clear error; with it, our BPF interpreter
//! against libpcap's on every corpus packet, and filtered runs against
//! tcpdump's own filtering of the same captures.

use super::*;

#[cfg(not(feature = "libpcap"))]
#[test]
fn filter_and_watch_say_how_to_build_with_libpcap() {
    if crate::shared_missing("filter::filter_and_watch_say_how_to_build_with_libpcap") {
        return;
    }
    let capture = path_str(&corpus().join("pcap-le-usec-web-browsing.pcap"));
    let deployment = path_str(&root().join("examples/air-lab.toml"));
    let runs = [
        run(&["flows", "--filter", "tcp", "-o", "/dev/null", &capture]),
        run(&["audit", "-d", &deployment, "--filter", "tcp", &capture]),
        run(&["watch", "-i", "lo", "-d", &deployment]),
    ];
    for o in &runs {
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(code(o), 2, "{err}");
        assert!(err.contains("--features libpcap"), "{err}");
        assert!(err.contains("libpcap-dev"), "{err}");
        assert!(o.stdout.is_empty(), "nothing is read, nothing written");
    }
}

#[cfg(feature = "libpcap")]
mod with_libpcap {
    use super::*;
    use portaudit::capture::{LinkType, Step, Walker};
    use portaudit::filter::{compile, FilterCursor, FilterVerdict, PacketFilter};
    use std::collections::BTreeMap;
    use std::sync::Arc;

    /// Expressions that touch every part of the compiler: protocols,
    /// hosts and nets, port ranges, VLANs, IPv6, header bytes, lengths,
    /// and link-layer terms that fail on links without one.
    const EXPRESSIONS: &[&str] = &[
        "tcp",
        "udp port 53",
        "tcp port 443 or tcp port 80",
        "net 10.0.0.0/8 or net 192.168.0.0/16",
        "ip6",
        "icmp or icmp6",
        "vlan and tcp",
        "tcp[tcpflags] & (tcp-syn|tcp-ack) == tcp-syn",
        "greater 200",
        "less 100",
        "ip[6:2] & 0x3fff != 0",
        "not arp and not ip",
        "ip proto 47 or ip6 proto 47",
        "portrange 1000-2000",
        "src net 192.168.0.0/16 and dst port 443",
        "ether broadcast",
        "ip6 and tcp dst port 80",
        "udp and ip[8] < 64",
    ];

    /// A packet as both readers see it: link type, captured bytes, length
    /// on the wire.
    type Packet = (LinkType, Vec<u8>, u32);

    /// Every packet of a capture, as our walker reads it.
    fn our_packets(path: &Path) -> Vec<Packet> {
        let buf = std::fs::read(path).unwrap();
        let Ok(Some((mut walker, mut pos))) = Walker::open(&buf, true) else {
            return Vec::new();
        };
        let mut packets = Vec::new();
        loop {
            match walker.step(&buf, pos, 0) {
                Step::Packet { record, next } => {
                    packets.push((record.link, record.data.to_vec(), record.orig_len));
                    pos = next;
                }
                Step::Skipped { next, .. } | Step::Block { next, .. } => pos = next,
                _ => break,
            }
        }
        packets
    }

    /// (captured, wire) lengths of the packets libpcap reads from `path`
    /// through `filter`; `None` when it cannot open, filter or finish the
    /// file.
    fn libpcap_reads(path: &Path, filter: Option<&str>) -> Option<Vec<(u32, u32)>> {
        let mut cap = pcap::Capture::from_file(path).ok()?;
        if let Some(f) = filter {
            cap.filter(f, true).ok()?;
        }
        let mut out = Vec::new();
        loop {
            match cap.next_packet() {
                Ok(p) => out.push((p.header.caplen, p.header.len)),
                Err(pcap::Error::NoMorePackets) => return Some(out),
                Err(_) => return None,
            }
        }
    }

    /// On every corpus file that libpcap reads packet for packet as we do,
    /// each expression keeps exactly the packets libpcap's own filtering
    /// keeps (its link-type mapping, its wire lengths); where libpcap
    /// cannot compile an expression for the file's link type, neither can
    /// we.
    #[test]
    fn bpf_interpreter_agrees_with_libpcap_on_every_corpus_packet() {
        if crate::shared_missing(
            "filter::bpf_interpreter_agrees_with_libpcap_on_every_corpus_packet",
        ) {
            return;
        }
        let mut files = 0;
        let mut packets = 0;
        let mut counts: BTreeMap<&str, (u64, u64)> = BTreeMap::new();
        for path in corpus_captures() {
            let ours = our_packets(&path);
            let lengths = |p: &Packet| (p.1.len() as u32, p.2);
            // Files the two readers see differently (damage, odd blocks)
            // say nothing of filtering.
            if libpcap_reads(&path, None) != Some(ours.iter().map(lengths).collect()) {
                continue;
            }
            if ours.is_empty() {
                continue;
            }
            files += 1;
            packets += ours.len();
            for expr in EXPRESSIONS {
                let theirs = libpcap_reads(&path, Some(expr));
                let e = expr.to_string();
                let filter = Arc::new(PacketFilter::with_compiler(expr, move |l| compile(&e, l)));
                let mut cursor = FilterCursor::new(Arc::clone(&filter));
                let verdicts: Vec<FilterVerdict> = ours
                    .iter()
                    .map(|(l, data, wire)| cursor.judge(*l, data, *wire))
                    .collect();
                let name = path.display();
                let Some(theirs) = &theirs else {
                    assert!(
                        verdicts.iter().all(|v| *v == FilterVerdict::Inapplicable),
                        "{expr:?} on {name}: libpcap cannot compile it, we can"
                    );
                    continue;
                };
                assert!(
                    filter.failures().is_empty(),
                    "{expr:?} on {name}: libpcap compiles it, we cannot: {:?}",
                    filter.failures()
                );
                let kept: Vec<(u32, u32)> = ours
                    .iter()
                    .zip(&verdicts)
                    .filter(|(_, v)| **v == FilterVerdict::Match)
                    .map(|(p, _)| lengths(p))
                    .collect();
                assert_eq!(&kept, theirs, "{expr:?} on {name}");
                let v = counts.entry(expr).or_default();
                v.0 += kept.len() as u64;
                v.1 += (ours.len() - kept.len()) as u64;
            }
        }
        assert!(
            files > 50 && packets > 50_000,
            "{files} files, {packets} packets"
        );
        for expr in EXPRESSIONS {
            let (kept, rejected) = counts.get(expr).copied().unwrap_or_default();
            assert!(
                kept > 0 && rejected > 0,
                "{expr:?} both keeps and rejects corpus packets ({kept}/{rejected})"
            );
        }
    }

    fn tcpdump() -> Option<PathBuf> {
        let found = find_program(&["tcpdump"], &["/usr/sbin", "/sbin"]);
        if found.is_none() {
            assert!(
                std::env::var_os("PORTAUDIT_REQUIRE_TCPDUMP").is_none(),
                "PORTAUDIT_REQUIRE_TCPDUMP is set and tcpdump is not installed"
            );
            skip("tcpdump is not installed (apt-get install tcpdump)");
        }
        found
    }

    /// `portaudit flows --filter E capture` gives exactly the flows of
    /// `portaudit flows` on what `tcpdump -r capture -w out E` keeps, and
    /// counts every other packet as not matching.
    #[test]
    fn filtered_flows_are_the_flows_of_what_tcpdump_keeps() {
        if crate::shared_missing("filter::filtered_flows_are_the_flows_of_what_tcpdump_keeps") {
            return;
        }
        let Some(tcpdump) = tcpdump() else { return };
        let dir = tempfile::tempdir().unwrap();
        let cases = [
            ("pcap-le-usec-web-browsing.pcap", "tcp port 80"),
            ("pcap-le-usec-mixed-lan.pcap", "vlan or ip6"),
            ("pcap-le-usec-mixed-lan.pcap", "udp and not port 53"),
            ("ad-ldap-kerberos-smb-dns.pcap", "port 88 or port 389"),
            (
                "ad-rdp-https-dcerpc.pcapng",
                "tcp[tcpflags] & tcp-syn != 0 or udp",
            ),
            ("ipv4-fragments-nfs.pcap", "udp"),
            ("raw-dlt101-ipv4-ipv6.pcap", "ip6"),
            ("sll-mixed.pcap", "tcp or udp port 53"),
            ("sll2-http-gro-large-frames.pcap", "tcp port 80"),
            ("vlan-8021q.pcap", "vlan"),
        ];
        let mut checked = 0;
        for (file, expr) in cases {
            let input = corpus().join(file);
            if !input.exists() {
                panic!("{file} is in the corpus");
            }
            let kept = dir.path().join(format!("kept-{checked}.pcap"));
            let t = Command::new(&tcpdump)
                .args(["-r", &path_str(&input), "-w", &path_str(&kept), expr])
                .output()
                .unwrap();
            assert!(
                t.status.success(),
                "tcpdump: {}",
                String::from_utf8_lossy(&t.stderr)
            );
            let ours = flows_filtered(&input, Some(expr));
            let reference = flows_filtered(&kept, None);
            // The same flows, each first seen in another file.
            assert_eq!(
                crate::csv_without(&ours.0, "source"),
                crate::csv_without(&reference.0, "source"),
                "{file} {expr:?}: the flows"
            );
            let (used, read) = (
                ours.1["packets"]["used"].clone(),
                ours.1["packets"]["read"].clone(),
            );
            assert_eq!(
                used, reference.1["packets"]["used"],
                "{file} {expr:?}: packets used"
            );
            let not_matching = &ours.1["packets"]["skipped_by_reason"]["not-matching-filter"];
            assert_eq!(
                read.as_u64().unwrap() - reference.1["packets"]["read"].as_u64().unwrap(),
                not_matching.as_u64().unwrap_or(0),
                "{file} {expr:?}: every packet tcpdump left out is counted"
            );
            assert!(used.as_u64().unwrap() > 0, "{file} {expr:?} keeps packets");
            checked += 1;
        }
        assert_eq!(checked, cases.len());
    }

    /// The flows CSV and the stats of `portaudit flows [--filter E] input`.
    fn flows_filtered(input: &Path, filter: Option<&str>) -> (Vec<u8>, serde_json::Value) {
        let args = filter.map_or(vec![], |f| vec!["--filter", f]);
        let (o, v) = flows_run(input, &args);
        assert!(
            code(&o) == 0 || code(&o) == 3,
            "{}",
            String::from_utf8_lossy(&o.stderr)
        );
        (o.stdout, v)
    }

    /// A flow file of a filtered run carries how many packets the filter
    /// kept out: the audit of the flow file qualifies its missing-expected
    /// findings as the audit of the capture does.
    #[test]
    fn a_flow_file_keeps_its_filters_caveat() {
        let tmp = tempfile::tempdir().unwrap();
        let capture = path_str(&root().join("fixtures/binalyze-air/violations.pcap"));
        let deployment = path_str(&root().join("examples/air-lab.toml"));
        let parquet = tmp.path().join("tcp.parquet");
        let o = run(&[
            "flows",
            "-q",
            "--filter",
            "tcp",
            "-o",
            &path_str(&parquet),
            &capture,
        ]);
        assert_eq!(code(&o), 0, "{}", String::from_utf8_lossy(&o.stderr));
        let direct = run(&[
            "audit",
            "-q",
            "-d",
            &deployment,
            "--filter",
            "tcp",
            &capture,
        ]);
        let read = run(&["audit", "-q", "-d", &deployment, &path_str(&parquet)]);
        for o in [&direct, &read] {
            let text = String::from_utf8_lossy(&o.stdout);
            let missing: Vec<&str> = text
                .lines()
                .filter(|l| l.contains("missing-expected"))
                .collect();
            assert!(!missing.is_empty(), "{text}");
            for row in missing {
                assert!(row.contains("packets did not match --filter"), "{row}");
            }
        }
        assert_eq!(
            crate::csv_without(&read.stdout, "source"),
            crate::csv_without(&direct.stdout, "source")
        );
    }

    /// A pcapng file with Ethernet, BSD loopback and raw IP interfaces:
    /// `ether host` compiles for the first only; the packets of the others
    /// are counted by link type and named in the summary, not dropped.
    #[test]
    fn a_link_type_the_filter_cannot_apply_to_is_counted_and_named() {
        if crate::shared_missing(
            "filter::a_link_type_the_filter_cannot_apply_to_is_counted_and_named",
        ) {
            return;
        }
        let input = corpus().join("pcapng-11-idb-eth-null-rawip.pcapng");
        let stats = tempfile::NamedTempFile::new().unwrap();
        let o = run(&[
            "flows",
            "-o",
            "/dev/null",
            "--color",
            "never",
            "--stats",
            &path_str(stats.path()),
            "--filter",
            "ether src 00:00:00:00:00:00 or ip",
            &path_str(&input),
        ]);
        let err = String::from_utf8_lossy(&o.stderr);
        let v: serde_json::Value =
            serde_json::from_slice(&std::fs::read(stats.path()).unwrap()).unwrap();
        let skipped = &v["packets"]["skipped_by_reason"];
        let read = v["packets"]["read"].as_u64().unwrap();
        let used = v["packets"]["used"].as_u64().unwrap();
        let all_skipped: u64 = skipped
            .as_object()
            .unwrap()
            .values()
            .map(|n| n.as_u64().unwrap())
            .sum();
        assert_eq!(read, used + all_skipped, "every packet is accounted for");
        let not_applicable: Vec<&String> = skipped
            .as_object()
            .unwrap()
            .keys()
            .filter(|k| k.starts_with("filter-not-applicable-to-"))
            .collect();
        assert!(!not_applicable.is_empty(), "{skipped}");
        assert!(used > 0, "the Ethernet packets are audited");
        assert!(
            err.contains("warning: --filter cannot be compiled for link type"),
            "{err}"
        );
        assert_eq!(
            v["filter"]["expression"],
            "ether src 00:00:00:00:00:00 or ip"
        );
        assert!(!v["filter"]["not_applicable"].as_array().unwrap().is_empty());
    }

    #[test]
    fn a_filter_that_does_not_parse_stops_the_run_before_reading() {
        if crate::shared_missing(
            "filter::a_filter_that_does_not_parse_stops_the_run_before_reading",
        ) {
            return;
        }
        let capture = path_str(&corpus().join("pcap-le-usec-web-browsing.pcap"));
        let o = run(&["flows", "--filter", "tcp prot 80", &capture]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(code(&o), 2, "{err}");
        assert!(
            err.contains("--filter \"tcp prot 80\"") && err.contains("syntax error"),
            "{err}"
        );
        assert!(o.stdout.is_empty());
    }

    /// Filtering runs in the readers' walks: a file read in parallel
    /// segments gives what a stream of the same bytes gives.
    #[test]
    fn filtered_segments_and_streams_agree() {
        if crate::shared_missing("filter::filtered_segments_and_streams_agree") {
            return;
        }
        let input = corpus().join("pcap-le-usec-web-browsing.pcap");
        let filter = std::sync::Arc::new(
            portaudit::filter::PacketFilter::libpcap("tcp port 80 or udp").unwrap(),
        );
        let opts = portaudit::ingest::IngestOptions {
            filter: Some(filter),
            segments: Some(5),
            chunk_bytes: 4096,
            ..Default::default()
        };
        let (table, cut) = portaudit::ingest::ingest_one(
            &portaudit::capture::CaptureInput::File(input.clone()),
            &opts,
        );
        let bytes = std::fs::read(&input).unwrap();
        let (streamed_table, streamed) = portaudit::ingest::ingest_reader_with(
            "stream",
            Box::new(std::io::Cursor::new(bytes)),
            &opts,
        );
        assert_eq!(cut.skipped, streamed.skipped);
        assert_eq!(cut.packets_decoded, streamed.packets_decoded);
        assert!(cut.skipped[&portaudit::ingest::Skip::NotMatchingFilter] > 0);
        assert_eq!(table.finish(), streamed_table.finish());
    }
}
