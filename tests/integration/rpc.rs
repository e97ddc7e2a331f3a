//! Ports the RPC mappers announce (docs/audit.md#announced-ports), on real
//! captures of the shared corpus: an announced port passes, the same
//! connection moved to a port nobody announced does not, an announced
//! interface a rule does not cover is named, and every announcement
//! tshark decodes is learned.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::{bin, code, corpus, path_str, shared_missing};

/// `ad-ldap-winrm-smb-kerberos.pcap`: the domain controller's endpoint
/// mapper answers 172.18.39.5's map request for Netlogon with 49674, and
/// the client connects to it.
const NETLOGON: &str = "ad-ldap-winrm-smb-kerberos.pcap";
const CLIENT: &str = "172.18.39.5";
const DC: &str = "172.18.38.5";

/// A deployment with one site rule from `from` to `to`: TCP 135, and the
/// ports `mapper` announces in 49152-65535 for `services`.
fn epm_deployment(dir: &Path, from: &str, to: &str, services: &str) -> PathBuf {
    let path = dir.join("epm.toml");
    let text = format!(
        r#"name = "epm"
scope = "all"
[profiles.binalyze-air.hosts]
console = ["192.0.2.250"]

[[site_rule]]
id = "site-epm"
from = ["{from}"]
to = ["{to}"]
proto = "tcp"
ports = "135"
purpose = "endpoint mapper"
source = "test: the endpoint mapper"

[[site_rule]]
id = "site-rpc-dynamic"
from = ["{from}"]
to = ["{to}"]
proto = "tcp"
ports = "49152-65535"
dynamic = "epm"
{services}
purpose = "what the endpoint mapper announces"
source = "test: the ports it announces"
"#
    );
    std::fs::write(&path, text).unwrap();
    path
}

/// The deployment of the Netwrix profile alone: the Threat Manager server
/// and one domain controller.
fn netwrix(dir: &Path, server: &str, dc: &str) -> PathBuf {
    let path = dir.join("netwrix.toml");
    let text = format!(
        "name = \"netwrix\"\n[profiles.netwrix-threat-manager.hosts]\ntm_server = [\"{server}\"]\ndomain_controller = [\"{dc}\"]\n"
    );
    std::fs::write(&path, text).unwrap();
    path
}

/// Findings (CSV rows as header → value maps) and `--flows` rows of an
/// audit, with its `--stats`.
struct Audit {
    status: i32,
    findings: Vec<std::collections::BTreeMap<String, String>>,
    flows: Vec<std::collections::BTreeMap<String, String>>,
    stats: serde_json::Value,
}

pub(crate) fn rows(csv: &[u8]) -> Vec<std::collections::BTreeMap<String, String>> {
    let mut r = csv::Reader::from_reader(csv);
    let header = r.headers().unwrap().clone();
    r.records()
        .map(|row| {
            header
                .iter()
                .zip(row.unwrap().iter())
                .map(|(h, v)| (h.to_string(), v.to_string()))
                .collect()
        })
        .collect()
}

fn audit(deployment: &Path, capture: &Path) -> Audit {
    let dir = tempfile::tempdir().unwrap();
    let (findings, flows, stats) = (
        dir.path().join("f.csv"),
        dir.path().join("flows.csv"),
        dir.path().join("stats.json"),
    );
    let o = bin()
        .args(["audit", "-q", "-d", &path_str(deployment), "-o"])
        .arg(&findings)
        .arg("--flows")
        .arg(&flows)
        .arg("--stats")
        .arg(&stats)
        .arg(capture)
        .output()
        .unwrap();
    assert!(
        code(&o) < 2,
        "{}: {}",
        capture.display(),
        String::from_utf8_lossy(&o.stderr)
    );
    Audit {
        status: code(&o),
        findings: rows(&std::fs::read(&findings).unwrap()),
        flows: rows(&std::fs::read(&flows).unwrap()),
        stats: serde_json::from_slice(&std::fs::read(&stats).unwrap()).unwrap(),
    }
}

fn kinds_to(a: &Audit, dst: &str, port: &str) -> Vec<String> {
    a.findings
        .iter()
        .filter(|f| f["dst_ip"] == dst && f["dst_port"] == port)
        .map(|f| f["kind"].clone())
        .collect()
}

/// A copy of classic pcap `from` whose IPv4 TCP packets on port `old`
/// (either side) use port `new` instead: the connection moved, the
/// endpoint mapper's answer (in the payload) left as it was.
fn move_port(from: &Path, to: &Path, old: u16, new: u16) -> usize {
    let mut b = std::fs::read(from).unwrap();
    let le = b[..4] == [0xd4, 0xc3, 0xb2, 0xa1];
    assert!(le || b[..4] == [0xa1, 0xb2, 0xc3, 0xd4], "a classic pcap");
    let u32_at = |b: &[u8], at: usize| {
        let w = [b[at], b[at + 1], b[at + 2], b[at + 3]];
        if le {
            u32::from_le_bytes(w)
        } else {
            u32::from_be_bytes(w)
        }
    };
    let (mut at, mut moved) = (24, 0);
    while at + 16 <= b.len() {
        let caplen = u32_at(&b, at + 8) as usize;
        let frame = at + 16;
        // Ethernet, IPv4, TCP.
        if caplen >= 14 + 20 + 4 && b[frame + 12..frame + 14] == [8, 0] && b[frame + 23] == 6 {
            let tcp = frame + 14 + usize::from(b[frame + 14] & 0x0f) * 4;
            for side in [tcp, tcp + 2] {
                if b[side..side + 2] == old.to_be_bytes() {
                    b[side..side + 2].copy_from_slice(&new.to_be_bytes());
                    moved += 1;
                }
            }
        }
        at = frame + caplen;
    }
    std::fs::write(to, b).unwrap();
    moved
}

/// Writes `out`, the Netlogon capture as `editcap OPTIONS IN OUT
/// FRAMES` makes it (classic pcap); `false`, said, when editcap is not
/// installed (CI requires it).
fn editcap(options: &[&str], out: &Path, frames: &[&str]) -> bool {
    let o = Command::new("editcap")
        .args(["-F", "pcap"])
        .args(options)
        .arg(corpus().join(NETLOGON))
        .arg(out)
        .args(frames)
        .output();
    if o.is_ok_and(|o| o.status.success()) {
        return true;
    }
    crate::tool_missing("editcap", "rpc");
    false
}

#[test]
fn an_announced_port_passes_and_the_flow_names_its_announcement() {
    if shared_missing("rpc::an_announced_port_passes_and_the_flow_names_its_announcement") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = epm_deployment(dir.path(), CLIENT, DC, "");
    let a = audit(&d, &corpus().join(NETLOGON));
    assert_eq!(
        kinds_to(&a, DC, "49674"),
        Vec::<String>::new(),
        "{:?}",
        a.findings
    );
    let flow = a
        .flows
        .iter()
        .find(|f| f["responder_port"] == "49674" && f["initiator_ip"] == CLIENT)
        .expect("the connection to 49674");
    assert_eq!(flow["verdict"], "allowed");
    assert_eq!(flow["rule_id"], "site-rpc-dynamic");
    assert!(
        flow["rpc"].starts_with("netlogon v1.0 announced by epm 172.18.38.5 at 2020-10-22T"),
        "{flow:?}"
    );
    let announced = a.stats["rpc"]["announcements"].as_array().unwrap();
    let netlogon = announced
        .iter()
        .find(|x| x["port"] == 49674 && x["service"] == "netlogon v1.0")
        .expect("the announcement of 49674");
    assert_eq!(netlogon["client"], CLIENT);
    assert_eq!(netlogon["server"], DC);
    assert_eq!(netlogon["flows_allowed"], 1);
}

#[test]
fn the_same_connection_on_a_port_nobody_announced_is_a_finding() {
    if shared_missing("rpc::the_same_connection_on_a_port_nobody_announced_is_a_finding") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let moved = dir.path().join("moved.pcap");
    assert!(move_port(&corpus().join(NETLOGON), &moved, 49674, 49999) > 0);
    let d = epm_deployment(dir.path(), CLIENT, DC, "");
    let a = audit(&d, &moved);
    let f = a
        .findings
        .iter()
        .find(|f| f["dst_port"] == "49999")
        .expect("a finding on the moved port");
    assert_eq!(f["kind"], "unannounced-dynamic-port");
    // The captures hold the domain controller's endpoint-mapper answers.
    assert_eq!(f["severity"], "error");
    assert!(
        f["detail"].contains("none to 172.18.39.5 named this port before the connection ended"),
        "{f:?}"
    );
    // The connection's own bind still says what it is.
    assert!(f["detail"].contains("Netlogon"), "{f:?}");
    assert_eq!(a.status, 1);
}

#[test]
fn without_the_mappers_answer_an_unannounced_port_is_a_warning() {
    if shared_missing("rpc::without_the_mappers_answer_an_unannounced_port_is_a_warning") {
        return;
    }
    // The capture without the map exchange (frames 416-419) and the
    // answer's retransmission (432): the connection to 49674 and its bind
    // remain, the endpoint mapper's payloads do not (its connection's
    // empty FIN and ACKs do).
    let dir = tempfile::tempdir().unwrap();
    let late = dir.path().join("late.pcap");
    if !editcap(&["-r"], &late, &["420-431", "433-1121"]) {
        return;
    }
    let d = epm_deployment(dir.path(), CLIENT, DC, "");
    let a = audit(&d, &late);
    let f = a
        .findings
        .iter()
        .find(|f| f["dst_port"] == "49674")
        .expect("a finding on 49674");
    assert_eq!(f["kind"], "unannounced-dynamic-port");
    assert_eq!(f["severity"], "warning", "{f:?}");
    assert!(f["detail"].contains("they may have begun after"), "{f:?}");
}

#[test]
fn an_answer_cut_by_the_snap_length_is_counted_and_proves_nothing() {
    if shared_missing("rpc::an_answer_cut_by_the_snap_length_is_counted_and_proves_nothing") {
        return;
    }
    // 128 bytes a frame: the binds' headers survive, the endpoint
    // mapper's 268-byte answer does not.
    let dir = tempfile::tempdir().unwrap();
    let cut = dir.path().join("cut.pcap");
    if !editcap(&["-s", "128"], &cut, &[]) {
        return;
    }
    let a = audit(&epm_deployment(dir.path(), CLIENT, DC, ""), &cut);
    let f = a
        .findings
        .iter()
        .find(|f| f["dst_port"] == "49674")
        .expect("a finding on 49674");
    assert_eq!(f["kind"], "unannounced-dynamic-port");
    assert_eq!(f["severity"], "warning", "{f:?}");
    let unreadable = &a.stats["rpc"]["unreadable"];
    assert!(
        unreadable["dcerpc-split-across-segments"].as_u64() >= Some(1),
        "{unreadable}"
    );
}

#[test]
fn an_announced_interface_the_document_does_not_cover_is_named() {
    if shared_missing("rpc::an_announced_interface_the_document_does_not_cover_is_named") {
        return;
    }
    // ad-rdp-https-dcerpc.pcapng: 172.18.39.6's endpoint mapper hands out
    // 49671 for the Task Scheduler to 172.18.39.5, which connects.
    let dir = tempfile::tempdir().unwrap();
    let d = netwrix(dir.path(), "172.18.39.5", "172.18.39.6");
    let a = audit(&d, &corpus().join("ad-rdp-https-dcerpc.pcapng"));
    let f = a
        .findings
        .iter()
        .find(|f| f["dst_port"] == "49671")
        .expect("a finding on 49671");
    assert_eq!(f["kind"], "uncovered-rpc-service");
    assert_eq!(f["severity"], "error");
    assert_eq!(f["rule_id"], "server-to-dc-rpc-dynamic-49152-65535");
    assert!(f["detail"].contains("for drsuapi only"), "{f:?}");
    assert!(f["detail"].contains("Task Scheduler"), "{f:?}");
    // The DRSUAPI port another capture's controller announces passes the
    // same rule.
    let a = audit(
        &netwrix(dir.path(), CLIENT, DC),
        &corpus().join("ad-ldap-kerberos-smb-dns.pcap"),
    );
    assert_eq!(
        kinds_to(&a, DC, "49674"),
        Vec::<String>::new(),
        "{:?}",
        a.findings
    );
    let flow = a
        .flows
        .iter()
        .find(|f| f["responder_port"] == "49674")
        .expect("the DRSUAPI connection");
    assert_eq!(flow["rule_id"], "server-to-dc-rpc-dynamic-49152-65535");
    assert!(
        flow["rpc"].starts_with("drsuapi v4.0 announced by epm"),
        "{flow:?}"
    );
}

#[test]
fn portmapper_answers_allow_the_programs_they_name() {
    if shared_missing("rpc::portmapper_answers_allow_the_programs_they_name") {
        return;
    }
    // pcap-be-usec-v2-1-nfsv3.pcap: rpcbind v3 GETADDR answers mountd on
    // UDP 1048 and NFS on 2049; the client then calls both.
    let (client, server) = ("139.25.22.2", "139.25.22.102");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nfs.toml");
    let rules = |services: &str| {
        format!(
            r#"name = "nfs"
scope = "all"
[profiles.juniper-jsa.hosts]
console = ["{server}"]

[[site_rule]]
id = "site-portmapper"
from = ["{client}"]
to = ["{server}"]
proto = "udp"
ports = "111"
purpose = "portmapper"
source = "test: the portmapper"

[[site_rule]]
id = "site-rpc"
from = ["{client}"]
to = ["{server}"]
proto = "udp"
ports = "1024-65535"
dynamic = "portmap"
services = [{services}]
purpose = "what the portmapper announces"
source = "test: the ports it announces"
"#
        )
    };
    std::fs::write(&path, rules(r#""nfs", "mountd""#)).unwrap();
    let capture = corpus().join("pcap-be-usec-v2-1-nfsv3.pcap");
    let a = audit(&path, &capture);
    for port in ["1048", "2049"] {
        assert_eq!(
            kinds_to(&a, server, port),
            Vec::<String>::new(),
            "{:?}",
            a.findings
        );
    }
    let mount = a
        .flows
        .iter()
        .find(|f| f["responder_port"] == "1048")
        .expect("the mount flow");
    assert!(
        mount["rpc"].starts_with("mountd v3 announced by portmap"),
        "{mount:?}"
    );
    // The MNT call comes from port 706, below the server's 1048: the port
    // heuristic would take 706 for the server; the call says otherwise.
    let mnt = a
        .flows
        .iter()
        .find(|f| f["initiator_port"] == "706")
        .expect("the MNT call's flow, its client on 706");
    let got = [
        &mnt["responder_port"],
        &mnt["initiator_basis"],
        &mnt["verdict"],
    ];
    assert_eq!(got, ["1048", "payload", "allowed"]);
    // A rule for NFS alone names mountd as a program it does not cover.
    std::fs::write(&path, rules(r#""nfs""#)).unwrap();
    let a = audit(&path, &capture);
    assert_eq!(kinds_to(&a, server, "1048"), ["uncovered-rpc-service"]);
    assert_eq!(kinds_to(&a, server, "2049"), Vec::<String>::new());
}

/// (server, port, interface) of every ept_map tower tshark decodes in
/// `file`, and (server, port) of every portmapper universal address.
fn tshark_announcements(file: &Path) -> Option<BTreeSet<(String, u16, String)>> {
    let o = Command::new("tshark")
        .arg("-r")
        .arg(file)
        .args([
            "-Y",
            "(epm.opnum == 3 && dcerpc.pkt_type == 2) || portmap.uaddr",
        ])
        .args(["-T", "fields", "-E", "separator=/t"])
        .args(["-e", "ip.src", "-e", "epm.uuid", "-e", "epm.proto.tcp_port"])
        .args(["-e", "epm.proto.udp_port", "-e", "portmap.uaddr"])
        .output()
        .ok()?;
    // A damaged capture: tshark says so and gives what it read before.
    let mut out = BTreeSet::new();
    for line in String::from_utf8(o.stdout).unwrap().lines() {
        let cells: Vec<&str> = line.split('\t').collect();
        let src = cells[0].to_string();
        if let Some(uaddr) = cells.get(4).filter(|u| !u.is_empty()) {
            let parts: Vec<&str> = uaddr.rsplitn(3, '.').collect();
            let port = parts[1].parse::<u16>().unwrap() * 256 + parts[0].parse::<u16>().unwrap();
            out.insert((parts[2].to_string(), port, "program".to_string()));
            continue;
        }
        // Two UUIDs per tower (the interface, then the transfer syntax).
        let uuids: Vec<&str> = cells[1].split(',').step_by(2).collect();
        let ports: Vec<u16> = cells[2]
            .split(',')
            .chain(cells[3].split(','))
            .filter(|p| !p.is_empty())
            .map(|p| p.parse().unwrap())
            .collect();
        for (uuid, port) in uuids.iter().zip(ports) {
            out.insert((src.clone(), port, uuid.to_string()));
        }
    }
    Some(out)
}

#[test]
fn every_announcement_tshark_decodes_in_the_corpus_is_learned() {
    if shared_missing("rpc::every_announcement_tshark_decodes_in_the_corpus_is_learned") {
        return;
    }
    let mut compared = 0;
    for capture in crate::corpus_captures() {
        let Some(theirs) = tshark_announcements(&capture) else {
            crate::tool_missing("tshark", "rpc");
            return;
        };
        let (_, stats) = crate::flows_with_stats(&capture);
        let mut ours = BTreeSet::new();
        for a in stats["rpc"]["announcements"]
            .as_array()
            .into_iter()
            .flatten()
        {
            let service = a["service"].as_str().unwrap();
            let uuid = a["service_name"].as_str().unwrap();
            let interface = match a["mapper"].as_str().unwrap() {
                "portmap" => "program".to_string(),
                _ => uuid_of(service, uuid),
            };
            ours.insert((
                a["server"].as_str().unwrap().to_string(),
                a["port"].as_u64().unwrap() as u16,
                interface,
            ));
        }
        assert_eq!(ours, theirs, "{}", capture.display());
        compared += theirs.len();
    }
    assert_eq!(compared, 7, "announcements compared");
}

/// The UUID of an announcement's interface, from `--stats`' service
/// (`netlogon v1.0`, or the UUID itself) and its title.
fn uuid_of(service: &str, title: &str) -> String {
    let known = portaudit::rpc::names::interface_named(service.split(' ').next().unwrap());
    match known {
        Some(k) => k.uuid.to_string(),
        None => title
            .split(' ')
            .nth(1)
            .unwrap_or(service.split(' ').next().unwrap())
            .to_string(),
    }
}

/// (client, client port, server, server port, interface UUID).
type Bind = (String, u16, String, u16, String);

/// Every DCE/RPC bind and alter context tshark decodes straight over TCP in
/// `file` (not those inside SMB named pipes, which portaudit does not
/// open).
fn tshark_binds(file: &Path) -> Option<BTreeSet<Bind>> {
    let o = Command::new("tshark")
        .arg("-r")
        .arg(file)
        .args([
            "-Y",
            "(dcerpc.pkt_type == 11 || dcerpc.pkt_type == 14) && !smb && !smb2",
        ])
        .args(["-T", "fields", "-E", "separator=/t"])
        .args([
            "-e",
            "ip.src",
            "-e",
            "tcp.srcport",
            "-e",
            "ip.dst",
            "-e",
            "tcp.dstport",
        ])
        .args(["-e", "dcerpc.cn_bind_to_uuid"])
        .output()
        .ok()?;
    let mut out = BTreeSet::new();
    for line in String::from_utf8(o.stdout).unwrap().lines() {
        let c: Vec<&str> = line.split('\t').collect();
        for uuid in c[4].split(',').filter(|u| !u.is_empty()) {
            out.insert((
                c[0].to_string(),
                c[1].parse().unwrap(),
                c[2].to_string(),
                c[3].parse().unwrap(),
                uuid.to_string(),
            ));
        }
    }
    Some(out)
}

#[test]
fn every_bind_tshark_decodes_names_its_connection() {
    if shared_missing("rpc::every_bind_tshark_decodes_names_its_connection") {
        return;
    }
    let mut compared = 0;
    for capture in crate::corpus_captures() {
        let Some(theirs) = tshark_binds(&capture) else {
            crate::tool_missing("tshark", "rpc");
            return;
        };
        if theirs.is_empty() {
            continue;
        }
        let (o, _) = crate::flows_run(&capture, &["-o", "-"]);
        let mut ours = BTreeSet::new();
        for f in rows(&o.stdout) {
            let Some(rpc) = f.get("rpc").filter(|r| !r.is_empty()) else {
                continue;
            };
            // "SERVICE; SERVICE announced by ..." or "SERVICE (its own bind...)".
            let services = rpc.split(" announced").next().unwrap();
            let services = services.split(" (").next().unwrap();
            for s in services.split("; ") {
                let name = s.split(' ').next().unwrap();
                let uuid = match portaudit::rpc::names::interface_named(name) {
                    Some(k) => k.uuid.to_string(),
                    None => name.to_string(),
                };
                ours.insert((
                    f["initiator_ip"].clone(),
                    f["initiator_port"].parse().unwrap(),
                    f["responder_ip"].clone(),
                    f["responder_port"].parse().unwrap(),
                    uuid,
                ));
            }
        }
        for bind in &theirs {
            assert!(
                ours.contains(bind),
                "{}: {bind:?} not in {ours:?}",
                capture.display()
            );
        }
        compared += theirs.len();
    }
    assert_eq!(compared, 6, "binds compared");
}
