//! Per-flow packet and byte totals against tshark on real captures. tshark
//! is the reference: where it is missing the test says so and fails in CI.

use std::collections::BTreeMap;
use std::process::Command;

use crate::{corpus, path_str, run, skip};

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
            assert!(
                std::env::var_os("CI").is_none(),
                "tshark is required in CI (.ci/run installs it)"
            );
            skip("the tshark comparison: tshark is not installed");
            return;
        };
        let ours = our_flows(&file);
        assert_eq!(ours.len(), theirs.len(), "{name}: flow count");
        assert_eq!(ours, theirs, "{name}: per-flow packets and bytes");
    }
}
