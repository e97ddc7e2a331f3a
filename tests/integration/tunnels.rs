//! Tunnels and link-layer shims: the same conversations, carried in every
//! encapsulation portaudit opens (written by `portaudit-synth`, header by
//! header from the RFCs), give the same flows as when captured plain, and
//! a mirror target's capture audits as the network it mirrors.

use std::path::{Path, PathBuf};

use portaudit_synth::{fixtures, sock, Encapsulation, Scenario};

use crate::{code, path_str, root, run};

/// A TCP session, a UDP exchange and a ping; over IPv6 when `v6`.
fn conversations(v6: bool) -> Scenario {
    let mut s = Scenario::new(1_700_000_000);
    if v6 {
        s.tcp_session(sock("[fd00::1]:50000"), sock("[fd00::2]:443"), 2);
        s.udp(sock("[fd00::1]:50001"), sock("[fd00::3]:514"), 2, true);
        s.ping("fd00::1".parse().unwrap(), "fd00::2".parse().unwrap(), 2);
    } else {
        s.tcp_session(sock("10.1.0.1:50000"), sock("10.1.0.2:443"), 2);
        s.udp(sock("10.1.0.1:50001"), sock("10.1.0.3:514"), 2, true);
        s.ping("10.1.0.1".parse().unwrap(), "10.1.0.2".parse().unwrap(), 2);
    }
    s
}

fn write(dir: &Path, name: &str, s: &Scenario) -> PathBuf {
    let p = dir.join(name);
    s.write_pcap(std::fs::File::create(&p).unwrap()).unwrap();
    p
}

/// `portaudit flows` as CSV rows (header first).
fn flows(file: &Path, tunnels: &str) -> Vec<Vec<String>> {
    let o = run(&["flows", &path_str(file), "--tunnels", tunnels, "-q"]);
    assert_eq!(code(&o), 0, "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8(o.stdout)
        .unwrap()
        .lines()
        .map(|l| l.split(',').map(str::to_string).collect())
        .collect()
}

/// The rows without the byte columns (a tunnel adds its headers to every
/// frame) and without the tunnel column.
fn without_bytes(rows: &[Vec<String>]) -> Vec<Vec<String>> {
    rows.iter()
        .map(|r| {
            r.iter()
                .enumerate()
                .filter(|&(i, _)| i != 9 && i != 11 && i < 15)
                .map(|(_, c)| c.clone())
                .collect()
        })
        .collect()
}

#[test]
fn every_encapsulation_gives_the_flows_inside_it() {
    let dir = tempfile::tempdir().unwrap();
    for e in Encapsulation::ALL {
        for v6 in [false, true] {
            if e == Encapsulation::Teredo && !v6 {
                continue;
            }
            let plain = conversations(v6);
            let plain_file = write(dir.path(), "plain.pcap", &plain);
            let tunnelled = write(dir.path(), "tunnelled.pcap", &plain.encapsulated(e));
            let want = flows(&plain_file, "inner");
            let got = flows(&tunnelled, "inner");
            assert_eq!(
                without_bytes(&got),
                without_bytes(&want),
                "{e:?} (IPv6 inside: {v6})"
            );
            // The tunnel column names the tunnel where there is one.
            match e.kind() {
                Some(kind) => {
                    assert_eq!(got[0][15], "tunnel", "{e:?}");
                    for row in &got[1..] {
                        assert!(row[15].starts_with(&format!("{kind} ")), "{e:?}: {row:?}");
                    }
                }
                None => assert_eq!(got[0][15], "client_app", "{e:?}: no tunnel column"),
            }
        }
    }
}

#[test]
fn tunnel_modes_choose_inner_outer_or_both() {
    let dir = tempfile::tempdir().unwrap();
    let plain = conversations(false);
    let file = write(
        dir.path(),
        "vxlan.pcap",
        &plain.encapsulated(Encapsulation::Vxlan),
    );
    let inner = flows(&file, "inner");
    let outer = flows(&file, "outer");
    let both = flows(&file, "both");
    assert_eq!(inner.len() - 1, 3, "tcp, udp, icmp inside");
    // Outer: the two VXLAN flows (each end sends to the other's 4789).
    assert_eq!(outer.len() - 1, 2, "{outer:?}");
    assert!(outer[1..].iter().all(|r| r[4] == "4789"), "{outer:?}");
    assert_eq!(
        outer[0][15], "client_app",
        "nothing opened, no tunnel column"
    );
    // Both: the inner flows and the carriers, marked as such.
    assert_eq!(both.len() - 1, 5);
    let carriers: Vec<_> = both[1..]
        .iter()
        .filter(|r| r[15] == "vxlan carrier")
        .collect();
    assert_eq!(carriers.len(), 2, "{both:?}");
    // --stats counts them by kind.
    let stats = dir.path().join("s.json");
    let o = run(&[
        "flows",
        &path_str(&file),
        "-q",
        "-o",
        "/dev/null",
        "--tunnels",
        "both",
        "--stats",
        &path_str(&stats),
    ]);
    assert_eq!(code(&o), 0);
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&stats).unwrap()).unwrap();
    assert_eq!(v["flows"]["tunnelled"]["vxlan"], 3, "{}", v["flows"]);
    assert_eq!(v["flows"]["carriers"]["vxlan"], 2, "{}", v["flows"]);
    // Nested: the innermost tunnel is named; the outermost carries.
    let nested = write(
        dir.path(),
        "nested.pcap",
        &plain.encapsulated(Encapsulation::VxlanInGre),
    );
    let both = flows(&nested, "both");
    assert!(both[1..].iter().any(|r| r[15] == "gre carrier"), "{both:?}");
    assert!(
        both[1..]
            .iter()
            .any(|r| r[15] == "vxlan 192.0.2.1>192.0.2.2 vni=4096"),
        "{both:?}"
    );
}

/// Findings as CSV rows without the bytes column.
fn findings(capture: &Path, deployment: &Path, tunnels: &str) -> (i32, Vec<String>) {
    let o = run(&[
        "audit",
        &path_str(capture),
        "-d",
        &path_str(deployment),
        "--tunnels",
        tunnels,
        "-q",
    ]);
    let rows = String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(|l| {
            let cells: Vec<&str> = l.split(',').collect();
            // The bytes column (14th) grows with the tunnel's headers; the
            // last (source) names the file and the offset.
            let last = cells.len() - 1;
            cells
                .iter()
                .enumerate()
                .filter(|&(i, _)| i != 14 && i != last)
                .map(|(_, c)| *c)
                .collect::<Vec<_>>()
                .join(",")
        })
        .collect();
    (code(&o), rows)
}

/// A capture taken at a VXLAN mirror target (AWS/Azure traffic mirroring)
/// audits as the network it mirrors: the same findings and exit status as
/// the plain capture, and with `--tunnels both` the carriers are listed,
/// not judged.
#[test]
fn a_mirror_target_audits_as_the_mirrored_network() {
    let dir = tempfile::tempdir().unwrap();
    let deployment = root().join("examples/air-lab.toml");
    for (name, scenario) in [
        ("compliant", fixtures::air::compliant()),
        ("violations", fixtures::air::violations()),
    ] {
        let plain = write(dir.path(), &format!("{name}.pcap"), &scenario);
        let mirrored = write(
            dir.path(),
            &format!("{name}-vxlan.pcap"),
            &scenario.encapsulated(Encapsulation::Vxlan),
        );
        let want = findings(&plain, &deployment, "inner");
        assert_eq!(findings(&mirrored, &deployment, "inner"), want, "{name}");
        assert_eq!(findings(&mirrored, &deployment, "both"), want, "{name}");
    }
    let mirrored = dir.path().join("violations-vxlan.pcap");
    let flows_out = dir.path().join("flows.csv");
    let o = run(&[
        "audit",
        &path_str(&mirrored),
        "-d",
        &path_str(&deployment),
        "--tunnels",
        "both",
        "--flows",
        &path_str(&flows_out),
        "-q",
    ]);
    assert!(code(&o) <= 1, "{}", String::from_utf8_lossy(&o.stderr));
    let text = std::fs::read_to_string(&flows_out).unwrap();
    let carriers: Vec<&str> = text.lines().filter(|l| l.contains("carrier")).collect();
    assert!(!carriers.is_empty());
    assert!(
        carriers.iter().all(|l| l.contains(",tunnel-carrier,")),
        "{carriers:?}"
    );
}

/// Tunnels nested deeper than portaudit opens, and tunnels carrying what
/// is not IP, are counted by why, and their packets kept in the flow of
/// the tunnel that carried them: nothing is lost.
#[test]
fn tunnels_that_cannot_be_opened_are_counted_and_kept_in_their_carrier() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = Scenario::new(1_700_000_000);
    s.tcp_session(sock("10.1.0.1:50000"), sock("10.1.0.2:443"), 1);
    let plain = write(dir.path(), "plain.pcap", &s);
    // Five IP-in-IP layers: one more than portaudit opens.
    let mut deep = s.encapsulated(Encapsulation::IpInIpv4);
    for _ in 0..4 {
        deep = deep.encapsulated(Encapsulation::IpInIpv4);
    }
    let deep_file = write(dir.path(), "deep.pcap", &deep);
    // ARP in VXLAN: an Ethernet frame that is not IP.
    let mut arp = vec![0xFF; 6];
    arp.extend_from_slice(&[0x02, 0, 0, 0, 0, 0x0A, 0x08, 0x06]);
    arp.extend_from_slice(&[0; 28]);
    let frame = Encapsulation::Vxlan.wrap(&arp);
    let mut pcap = portaudit_synth::PcapWriter::new(Vec::new()).unwrap();
    pcap.record(1_000_000_000, &frame).unwrap();
    let arp_file = dir.path().join("arp.pcap");
    std::fs::write(&arp_file, pcap.finish().unwrap()).unwrap();

    let packets = flows(&plain, "inner")[1..]
        .iter()
        .map(|r| r[8].parse::<u64>().unwrap() + r[10].parse::<u64>().unwrap())
        .sum::<u64>();
    for (file, why, n) in [
        (&deep_file, "too-many-encapsulations", packets),
        (&arp_file, "non-ip-ethertype-0x0806", 1),
    ] {
        let stats = dir.path().join("s.json");
        let o = run(&[
            "flows",
            &path_str(file),
            "-q",
            "-o",
            "/dev/null",
            "--stats",
            &path_str(&stats),
        ]);
        assert_eq!(code(&o), 0);
        let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&stats).unwrap()).unwrap();
        let f = &v["files"][0];
        assert_eq!(f["tunnels_not_opened"][why], n, "{f}");
        assert_eq!(f["packets_used"], f["packets_read"], "{f}");
        let rows = flows(file, "inner");
        assert!(
            rows[1..].iter().all(|r| r[15].ends_with(" carrier")),
            "{rows:?}"
        );
    }
}
