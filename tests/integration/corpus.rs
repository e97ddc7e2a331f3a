//! Damaged and odd files of the shared corpus: damage named with its
//! offset and message, skips by reason. `corpus_report.rs` pins what every
//! file gives and compares it with capinfos.

use std::path::Path;

use portaudit::ingest::{ingest_bytes, IngestOptions};

use crate::{assert_file_reads_as, code, corpus, corpus_captures, flows_with_stats, path_str, run};

struct Read {
    status: i32,
    stats: serde_json::Value,
    stderr: String,
}

fn read(file: &Path) -> Read {
    let (o, stats) = flows_with_stats(file);
    Read {
        status: code(&o),
        stats,
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
    }
}

fn file_stats(r: &Read) -> &serde_json::Value {
    &r.stats["files"][0]
}

fn damage_offsets(r: &Read) -> Vec<u64> {
    file_stats(r)["damage"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["offset"].as_u64().unwrap())
        .collect()
}

#[test]
fn cut_files_are_damaged_at_the_cut() {
    if crate::shared_missing("corpus::cut_files_are_damaged_at_the_cut") {
        return;
    }
    for (name, packets, offset) in [
        ("cut-mid-record-winrm-smb-ntp.pcap", 153, 435_312),
        ("cut-mid-record-http.pcap", 2696, 2_715_459),
    ] {
        let r = read(&corpus().join(name));
        assert_eq!(r.status, 3, "{name}");
        assert_eq!(file_stats(&r)["packets_read"], packets, "{name}");
        assert_eq!(damage_offsets(&r), vec![offset], "{name}");
        assert!(
            r.stderr.contains(&format!(
                "byte {offset}: the file ends in the middle of a record"
            )),
            "{}",
            r.stderr
        );
    }
}

#[test]
fn bogus_record_lengths_stop_the_read_with_the_offset() {
    if crate::shared_missing("corpus::bogus_record_lengths_stop_the_read_with_the_offset") {
        return;
    }
    let r = read(&corpus().join("corrupt-pcap-bogus-len-smtp.pcap"));
    assert_eq!(
        (r.status, file_stats(&r)["packets_read"].as_u64()),
        (3, Some(18))
    );
    assert_eq!(damage_offsets(&r), vec![3695]);
    assert!(
        r.stderr.contains("3925868813 captured bytes"),
        "{}",
        r.stderr
    );
}

/// capinfos and tshark report 2 packets here because Wireshark, on a bad
/// record, retries the file as other pcap variants; a strict reader takes
/// record 1's declared 188 bytes and meets a garbage header at byte 228.
#[test]
fn huge_record_length_strict_reader_differs_from_capinfos() {
    if crate::shared_missing("corpus::huge_record_length_strict_reader_differs_from_capinfos") {
        return;
    }
    let r = read(&corpus().join("corrupt-pcap-huge-record-len.pcap"));
    assert_eq!(
        (r.status, file_stats(&r)["packets_read"].as_u64()),
        (3, Some(1))
    );
    assert_eq!(damage_offsets(&r), vec![228]);
}

#[test]
fn corrupt_headers_are_unreadable_with_position() {
    if crate::shared_missing("corpus::corrupt_headers_are_unreadable_with_position") {
        return;
    }
    for (name, what) in [
        ("corrupt-pcap-version-1-4.pcap", "byte 4: pcap version 1.4"),
        (
            "corrupt-pcap-linktype-reserved-bits.pcap",
            "byte 20: link-type field 0x00300000",
        ),
        (
            "corrupt-pcapng-version-0-1.pcapng",
            "byte 12: pcapng version 0.1",
        ),
    ] {
        let r = read(&corpus().join(name));
        assert_eq!(r.status, 2, "{name}");
        assert!(
            file_stats(&r)["unreadable"]
                .as_str()
                .unwrap()
                .contains(what),
            "{name}: {}",
            r.stats
        );
    }
    // The first block's length and trailer disagree: nothing can be read.
    let r = read(&corpus().join("corrupt-pcapng-shb-option-too-long.pcapng"));
    assert_eq!(r.status, 2);
    assert_eq!(
        file_stats(&r)["unreadable"],
        "byte 0: block of type 0x0a0d0d0a starts with length 52 but ends with length 808464432: the block is corrupt"
    );
}

#[test]
fn skipped_packets_are_counted_by_reason() {
    if crate::shared_missing("corpus::skipped_packets_are_counted_by_reason") {
        return;
    }
    let cases = [
        (
            "unsupported-linktype-dbus.pcap",
            "unsupported-link-type-231",
            2,
        ),
        (
            "pkt-ipv4-invalid-hdr-length.pcap",
            "malformed-ipv4-header",
            1,
        ),
        (
            "trunc-caplen-exceeds-snaplen1.pcap",
            "truncated-link-header",
            1,
        ),
        ("sll2-icmp-arp.pcap", "non-ip-ethertype-0x0806", 1),
    ];
    for (name, reason, n) in cases {
        let r = read(&corpus().join(name));
        assert_eq!(
            file_stats(&r)["skipped"][reason].as_u64(),
            Some(n),
            "{name}: {}",
            file_stats(&r)
        );
    }
}

/// Every corpus file read as a file cut into segments, walked at once from
/// guessed starts and split again for threads out of work, gives what one
/// walk from the start gives: damaged, multi-section and odd files
/// included.
#[test]
fn every_corpus_file_reads_the_same_in_segments() {
    if crate::shared_missing("corpus::every_corpus_file_reads_the_same_in_segments") {
        return;
    }
    let files = corpus_captures();
    assert!(files.len() > 70, "{}", files.len());
    for path in files {
        let bytes = std::fs::read(&path).unwrap();
        let (t, whole) = ingest_bytes("corpus", &bytes);
        let flows = t.finish();
        // Segments split for threads out of work wherever a few KB are
        // left, as well as not at all.
        for (segments, chunk, split) in [(2, 1 << 18, u64::MAX), (5, 4096, 4096), (33, 1500, 1500)]
        {
            let opts = IngestOptions {
                segments: Some(segments),
                chunk_bytes: chunk,
                split_bytes: split,
                ..IngestOptions::default()
            };
            let what = format!("{}, {segments} segments split past {split}", path.display());
            assert_file_reads_as(&path, &opts, &whole, &flows, &what);
        }
    }
}

/// `portaudit flows` rows of a corpus file, split into cells.
fn corpus_flows(name: &str, tunnels: &str) -> Vec<Vec<String>> {
    let o = run(&[
        "flows",
        "-q",
        "--tunnels",
        tunnels,
        &path_str(&corpus().join(name)),
    ]);
    assert_eq!(
        code(&o),
        0,
        "{name}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout)
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| l.split(',').map(str::to_string).collect())
        .collect()
}

/// SCTP associations keep their ports: the Community ID tshark and the
/// Community ID reference give for ipv4-fragments-bulk.pcap's association
/// 2940/2940.
#[test]
fn sctp_flows_have_their_ports_and_community_id() {
    if crate::shared_missing("corpus::sctp_flows_have_their_ports_and_community_id") {
        return;
    }
    let rows = corpus_flows("ipv4-fragments-bulk.pcap", "inner");
    let sctp: Vec<_> = rows.iter().filter(|r| r[0] == "sctp").collect();
    assert_eq!(sctp.len(), 1, "{sctp:?}");
    assert_eq!((sctp[0][2].as_str(), sctp[0][4].as_str()), ("2940", "2940"));
    assert_eq!(sctp[0][14], "1:XfzTLDcVa6l+gXHRdkdWqb21Jx0=");
}

/// PPPoE session frames are read: syslog-udp-514.pcap's 6 PPPoE frames
/// were skipped as a foreign EtherType before, and 3 flows with them.
#[test]
fn pppoe_sessions_and_6in4_are_read() {
    if crate::shared_missing("corpus::pppoe_sessions_and_6in4_are_read") {
        return;
    }
    let r = read(&corpus().join("syslog-udp-514.pcap"));
    let stats = file_stats(&r);
    assert_eq!(stats["packets_read"], stats["packets_used"], "{stats}");
    assert_eq!(stats["packets_read"], 94);
    // Inside: the 6in4 tunnels carry one IPv6 syslog flow, which the
    // outer view sees as two IPv6-in-IPv4 flows.
    let inner = corpus_flows("syslog-udp-514.pcap", "inner");
    let outer = corpus_flows("syslog-udp-514.pcap", "outer");
    assert!(inner.iter().any(|r| r[0] == "udp"
        && r[3] == "2001:470:765b::b15:22"
        && r[4] == "514"
        && r[15].starts_with("ip-in-ip ")));
    assert_eq!(outer.iter().filter(|r| r[0] == "ipv6-in-ip").count(), 2);
    assert!(inner.iter().all(|r| r[0] != "ipv6-in-ip"));
}
