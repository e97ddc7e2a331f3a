//! Tunnelled flows against tshark, a second reference beside Zeek: on
//! Zeek's tunnel traces (tests/data/zeek) and on the corpus's tunnel
//! files, the flows `--tunnels inner` gives, keyed by their innermost
//! IP addresses and TCP/UDP ports, hold the frames tshark decodes down to
//! the same innermost layers, packet for packet and byte for byte.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use crate::{corpus, path_str, root, run};

type Key = (String, String, String);

fn key(proto: &str, a: String, b: String) -> Key {
    if a <= b {
        (proto.to_string(), a, b)
    } else {
        (proto.to_string(), b, a)
    }
}

/// (packets, bytes) by innermost flow, as tshark decodes the frames:
/// Teredo heuristics on (Zeek and portaudit recognise Teredo on any port),
/// no IP reassembly (portaudit counts frames).
fn tshark_flows(file: &Path) -> Option<BTreeMap<Key, (u64, u64)>> {
    let mut cmd = Command::new("tshark");
    cmd.args(["-n", "-r", &path_str(file), "-o", "ip.defragment:FALSE"])
        .args(["--enable-heuristic", "teredo_udp", "-T", "fields"])
        .args([
            "-E",
            "separator=/t",
            "-E",
            "occurrence=a",
            "-E",
            "aggregator=,",
        ]);
    for f in [
        "frame.len",
        "frame.protocols",
        "ip.src",
        "ip.dst",
        "ipv6.src",
        "ipv6.dst",
        "tcp.srcport",
        "tcp.dstport",
        "udp.srcport",
        "udp.dstport",
    ] {
        cmd.args(["-e", f]);
    }
    let o = cmd.output().ok()?;
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let mut m = BTreeMap::new();
    for line in String::from_utf8(o.stdout).unwrap().lines() {
        let c: Vec<&str> = line.split('\t').collect();
        let layers: Vec<&str> = c[1].split(':').collect();
        // The quoted header inside an ICMP error is no flow's frame.
        if layers.iter().any(|l| l.starts_with("icmp")) {
            continue;
        }
        // The innermost TCP/UDP layer, and the IP layer right below it: a
        // tunnel with nothing usable inside (a Teredo bubble) counts in
        // its carrier, as portaudit counts it.
        let Some(transport) = layers.iter().rposition(|l| *l == "tcp" || *l == "udp") else {
            continue;
        };
        // A tunnel carrying another protocol over IP (IGMP in VXLAN) makes
        // a flow of that protocol, not of the tunnel's transport.
        let inner_ip = layers[transport..]
            .iter()
            .position(|l| *l == "ip" || *l == "ipv6");
        if inner_ip.is_some_and(|at| transport + at + 1 < layers.len()) {
            continue;
        }
        let Some(ip) = layers[..transport]
            .iter()
            .rposition(|l| *l == "ip" || *l == "ipv6")
        else {
            continue;
        };
        // Fields list every occurrence; pick the one of that layer.
        let nth = |col: usize, kind: &str, upto: usize| {
            let n = layers[..upto].iter().filter(|l| **l == kind).count();
            c[col].split(',').nth(n).unwrap_or("").to_string()
        };
        let (src, dst) = if layers[ip] == "ip" {
            (nth(2, "ip", ip), nth(3, "ip", ip))
        } else {
            (nth(4, "ipv6", ip), nth(5, "ipv6", ip))
        };
        let kind = layers[transport];
        let (sp, dp) = if kind == "tcp" {
            (nth(6, "tcp", transport), nth(7, "tcp", transport))
        } else {
            (nth(8, "udp", transport), nth(9, "udp", transport))
        };
        let proto = kind;
        let e = m
            .entry(key(proto, format!("{src}|{sp}"), format!("{dst}|{dp}")))
            .or_insert((0, 0));
        e.0 += 1;
        e.1 += c[0].parse::<u64>().unwrap();
    }
    Some(m)
}

fn our_flows(file: &Path) -> BTreeMap<Key, (u64, u64)> {
    let o = run(&["flows", "-q", "--tunnels", "inner", &path_str(file)]);
    let text = String::from_utf8(o.stdout).unwrap();
    let mut m = BTreeMap::new();
    for line in text.lines().skip(1) {
        let c: Vec<&str> = line.split(',').collect();
        if c[0] != "tcp" && c[0] != "udp" {
            continue;
        }
        let n = |i: usize| c[i].parse::<u64>().unwrap();
        let k = key(
            c[0],
            format!("{}|{}", c[1], c[2]),
            format!("{}|{}", c[3], c[4]),
        );
        let e = m.entry(k).or_insert((0, 0));
        e.0 += n(8) + n(10);
        e.1 += n(9) + n(11);
    }
    m
}

#[test]
fn tunnelled_flows_match_tshark() {
    let zeek = root().join("tests/data/zeek");
    let mut files: Vec<_> = std::fs::read_dir(&zeek)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "pcap"))
        // Their outer packets are IP fragments: with no reassembly tshark
        // finds no inner ports in the later fragments (portaudit counts
        // them with the carrier, docs/audit.md#tunnels).
        .filter(|p| !p.to_string_lossy().contains("gtp-outer-ip-frag"))
        .filter(|p| !p.to_string_lossy().contains("gtp-different-ports"))
        .collect();
    if !crate::shared_missing("tshark_tunnels::tunnelled_flows_match_tshark") {
        for name in [
            "gre-various.pcap",
            "pcap-be-usec-pptp-gre.pcap",
            "syslog-udp-514.pcap",
            "ipip-4in4.pcap",
            "ipip-4in6.pcap",
            "ipip-6in4.pcap",
            "vxlan-udp4789.pcap",
        ] {
            files.push(corpus().join(name));
        }
    }
    files.sort();
    let mut flows = 0;
    for file in &files {
        let Some(theirs) = tshark_flows(file) else {
            crate::tool_missing("tshark", "the tshark tunnel comparison");
            return;
        };
        let ours = our_flows(file);
        assert_eq!(ours, theirs, "{}", file.display());
        flows += ours.len();
    }
    eprintln!("{flows} TCP/UDP flows agree with tshark");
    assert!(flows >= 70, "{flows} flows compared");
}
