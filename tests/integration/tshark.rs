//! Per-flow packet and byte totals against tshark on real captures. tshark
//! is the reference: where it is missing the test says so and fails in CI.

use std::collections::BTreeMap;
use std::process::Command;

use crate::{corpus, path_str, run};

type Key = (String, String, String);

fn tshark_flows(file: &str) -> Option<BTreeMap<Key, (u64, u64)>> {
    let o = Command::new("tshark")
        .args([
            "-n",
            "-r",
            file,
            "-Y",
            "(tcp or udp) and not icmp and not icmpv6",
            "-T",
            "fields",
            "-E",
            "separator=/t",
        ])
        .args([
            "-e",
            "frame.len",
            "-e",
            "ip.src",
            "-e",
            "ip.dst",
            "-e",
            "ipv6.src",
            "-e",
            "ipv6.dst",
        ])
        .args([
            "-e",
            "tcp.srcport",
            "-e",
            "tcp.dstport",
            "-e",
            "udp.srcport",
            "-e",
            "udp.dstport",
        ])
        .output()
        .ok()?;
    assert!(
        o.status.success(),
        "tshark failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let mut m = BTreeMap::new();
    for line in String::from_utf8(o.stdout).unwrap().lines() {
        let c: Vec<&str> = line.split('\t').collect();
        assert!(
            !line.contains(','),
            "{file}: nested headers in {line}; pick captures without tunnels"
        );
        let (src, dst) = if c[1].is_empty() {
            (c[3], c[4])
        } else {
            (c[1], c[2])
        };
        let (proto, sp, dp) = if c[5].is_empty() {
            ("udp", c[7], c[8])
        } else {
            ("tcp", c[5], c[6])
        };
        let a = format!("{src}|{sp}");
        let b = format!("{dst}|{dp}");
        let key = if a <= b {
            (proto.to_string(), a, b)
        } else {
            (proto.to_string(), b, a)
        };
        let e = m.entry(key).or_insert((0, 0));
        e.0 += 1;
        e.1 += c[0].parse::<u64>().unwrap();
    }
    Some(m)
}

fn our_flows(file: &str) -> BTreeMap<Key, (u64, u64)> {
    let o = run(&["flows", "-q", "-o", "-", file]);
    let mut m = BTreeMap::new();
    let text = String::from_utf8(o.stdout).unwrap();
    for line in text.lines().skip(1) {
        let c: Vec<&str> = line.split(',').collect();
        if c[0] != "tcp" && c[0] != "udp" {
            continue;
        }
        let a = format!("{}|{}", c[1], c[2]);
        let b = format!("{}|{}", c[3], c[4]);
        let key = if a <= b {
            (c[0].to_string(), a, b)
        } else {
            (c[0].to_string(), b, a)
        };
        let n = |i: usize| c[i].parse::<u64>().unwrap();
        let e = m.entry(key).or_insert((0, 0));
        e.0 += n(8) + n(10);
        e.1 += n(9) + n(11);
    }
    m
}

#[test]
fn flows_match_tshark_on_real_captures() {
    if crate::shared_missing("tshark::flows_match_tshark_on_real_captures") {
        return;
    }
    let files = [
        "pcap-le-usec-web-browsing.pcap",
        "ad-ldap-kerberos-smb-dns.pcap",
        "smb3-multichannel.pcap",
        "kerberos-kinit.pcap",
        "tls-ipv4-ipv6-bulk.pcap",
        "rdp-to-ssl.pcap",
        "snmp-walk.pcap",
        "ad-rdp-https-dcerpc.pcapng",
    ];
    for name in files {
        let file = path_str(&corpus().join(name));
        let Some(theirs) = tshark_flows(&file) else {
            crate::tool_missing("tshark", "the tshark comparison");
            return;
        };
        let ours = our_flows(&file);
        assert_eq!(ours.len(), theirs.len(), "{name}: flow count");
        assert_eq!(ours, theirs, "{name}: per-flow packets and bytes");
    }
}

/// Every finding names where its first flow was first seen: the capture
/// and the byte offset of a packet record. tshark (`frame.file_off`) finds
/// a frame at that offset, between the finding's two addresses, on its
/// port: on fixtures and on real captures, pcap and pcapng, tunnels too.
#[test]
fn finding_sources_are_frames_tshark_finds_at_that_offset() {
    if crate::shared_missing("tshark::finding_sources_are_frames_tshark_finds_at_that_offset") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let everything = crate::everything_deployment(dir.path());
    let mut files: Vec<String> = [
        "pcap-le-usec-web-browsing.pcap",
        "ad-rdp-https-dcerpc.pcapng",
        "kerberos-kinit.pcap",
        "gre-various.pcap",
        "ipv4-fragments-bulk.pcap",
        "icmpv6-mixed.pcap",
        "pcap-le-usec-mixed-lan.pcap",
        "ad-ldap-kerberos-smb-dns.pcap",
        "ad-ldap-winrm-smb-kerberos.pcap",
        "pcap-be-usec-pptp-gre.pcap",
        "ipip-6in4.pcap",
        "ipv6-fragments-mdns.pcap",
        "null-loopback-ipv6-macos.pcap",
    ]
    .iter()
    .map(|n| path_str(&corpus().join(n)))
    .collect();
    files.push(path_str(
        &crate::root().join("fixtures/netwrix-threat-manager/violations.pcapng"),
    ));
    let mut checked = 0;
    for file in &files {
        let o = Command::new("tshark")
            .args([
                "-n",
                "-o",
                "frame.show_file_off:TRUE",
                "-o",
                "ip.defragment:FALSE",
            ])
            .args(["-o", "ipv6.defragment:FALSE", "-r", file, "-T", "fields"])
            .args(["-E", "separator=/t", "-e", "frame.file_off", "-e", "ip.src"])
            .args(["-e", "ip.dst", "-e", "ipv6.src", "-e", "ipv6.dst"])
            .args(["-e", "tcp.port", "-e", "udp.port", "-e", "icmp.type"])
            .args(["-e", "icmpv6.type", "-e", "sctp.port"])
            .output();
        let Ok(o) = o else {
            crate::tool_missing("tshark", "the tshark comparison");
            return;
        };
        let frames: BTreeMap<u64, String> = String::from_utf8_lossy(&o.stdout)
            .lines()
            .filter_map(|l| {
                let (off, rest) = l.split_once('\t')?;
                Some((off.parse().ok()?, rest.replace('\t', ",")))
            })
            .collect();
        assert!(!frames.is_empty(), "{file}: tshark gave no offsets");
        let audit = crate::run(&[
            "audit",
            "-q",
            "-d",
            &path_str(&everything),
            file,
            "--format",
            "ndjson",
        ]);
        for line in String::from_utf8_lossy(&audit.stdout).lines() {
            let f: serde_json::Value = serde_json::from_str(line).unwrap();
            if f["kind"] == "missing-expected" || f["kind"] == "tracking-limit" {
                continue;
            }
            let source = f["source"]
                .as_str()
                .unwrap_or_else(|| panic!("{file}: {f}"));
            let (name, at) = source.rsplit_once(" byte ").expect("a capture names bytes");
            assert_eq!(name, file);
            let at: u64 = at.parse().unwrap();
            let frame = frames
                .get(&at)
                .unwrap_or_else(|| panic!("{file}: no frame at byte {at} ({f})"));
            let cells: Vec<&str> = frame.split(',').collect();
            for end in ["src_ip", "dst_ip"] {
                let ip = f[end].as_str().unwrap();
                assert!(cells.contains(&ip), "{file} byte {at}: {frame} lacks {ip}");
            }
            if let Some(port) = f["dst_port"].as_u64() {
                assert!(
                    cells.contains(&port.to_string().as_str()),
                    "{file} byte {at}: {frame} lacks port {port}"
                );
            }
            checked += 1;
        }
    }
    assert!(checked > 100, "only {checked} findings checked");
}
