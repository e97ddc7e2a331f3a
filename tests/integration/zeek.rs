//! Flows against Zeek's: Zeek's own regression traces for tunnels, PPPoE,
//! MPLS and ERSPAN (tests/data/zeek, see its MANIFEST.md), read with
//! `--tunnels both`, against the conn.log baselines Zeek wrote from them.
//! Every connection Zeek logs must be a flow of ours with the same
//! endpoints, the same originator and the same packet counts; the flows
//! Zeek does not log are those of protocols other than TCP, UDP and ICMP
//! (the carriers of GRE and IP-in-IP tunnels, which Zeek keeps in
//! tunnel.log, and IGMP).

use std::collections::BTreeMap;
use std::path::Path;

use crate::{code, path_str, root, run};

/// A flow as both sides name it: protocol, then the two endpoints in
/// sorted order.
pub(crate) type Key = (String, (String, String), (String, String));

#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) struct Seen {
    /// The originator's endpoint, as `addr:port`.
    pub(crate) originator: String,
    pub(crate) packets: u64,
}

fn endpoint(addr: &str, port: &str) -> (String, String) {
    (addr.to_string(), port.to_string())
}

fn key(proto: &str, a: (String, String), b: (String, String)) -> Key {
    let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
    (proto.to_string(), lo, hi)
}

/// Zeek's connections, by key; several lines of one key (a connection
/// Zeek split by time) add up.
pub(crate) fn zeek_conns(log: &Path) -> BTreeMap<Key, Seen> {
    let text = std::fs::read_to_string(log).unwrap();
    let mut fields: Vec<&str> = Vec::new();
    let mut out: BTreeMap<Key, Seen> = BTreeMap::new();
    for line in text.lines() {
        if let Some(f) = line.strip_prefix("#fields\t") {
            fields = f.split('\t').collect();
            continue;
        }
        if line.starts_with('#') {
            continue;
        }
        // A baseline written through zeek-cut: a plain header line.
        if fields.is_empty() {
            fields = line.split('\t').collect();
            continue;
        }
        let cells: BTreeMap<&str, &str> = fields.iter().copied().zip(line.split('\t')).collect();
        let proto = cells["proto"];
        let (op, rp) = if proto == "icmp" {
            // Zeek's ICMP "ports" are type and code; ours are type and
            // counterpart type. Both have the originator's type first.
            (cells["id.orig_p"], "")
        } else {
            (cells["id.orig_p"], cells["id.resp_p"])
        };
        let o = endpoint(cells["id.orig_h"], op);
        let r = endpoint(cells["id.resp_h"], rp);
        let n = |f: &str| cells[f].parse::<u64>().unwrap_or(0);
        let e = out.entry(key(proto, o.clone(), r)).or_default();
        if e.originator.is_empty() {
            e.originator = format!("{}:{}", o.0, o.1);
        }
        e.packets += n("orig_pkts") + n("resp_pkts");
    }
    out
}

/// Our flows with `--tunnels both`, by key, and how many flows are of
/// protocols Zeek does not log.
pub(crate) fn our_flows(pcap: &Path) -> (BTreeMap<Key, Seen>, usize) {
    let o = run(&["flows", &path_str(pcap), "--tunnels", "both", "-q"]);
    assert!(code(&o) == 0, "{}", String::from_utf8_lossy(&o.stderr));
    let text = String::from_utf8(o.stdout).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).unwrap();
    let mut out = BTreeMap::new();
    let mut not_logged = 0;
    for line in lines {
        let c: Vec<&str> = line.split(',').collect();
        let proto = c[col("proto")];
        // Zeek's conn.log holds TCP, UDP and ICMP connections only: the
        // carriers of GRE and IP-in-IP live in its tunnel.log, and other
        // protocols (IGMP, ESP...) in no log.
        if !matches!(proto, "tcp" | "udp" | "icmp" | "icmpv6") {
            not_logged += 1;
            continue;
        }
        let icmp = proto == "icmp" || proto == "icmpv6";
        let proto = if proto == "icmpv6" { "icmp" } else { proto };
        let (ip, iport) = (c[col("initiator_ip")], c[col("initiator_port")]);
        let rport = if icmp { "" } else { c[col("responder_port")] };
        let i = endpoint(ip, iport);
        let r = endpoint(c[col("responder_ip")], rport);
        let n = |f: &str| c[col(f)].parse::<u64>().unwrap();
        out.insert(
            key(proto, i.clone(), r),
            Seen {
                originator: format!("{}:{}", i.0, i.1),
                packets: n("packets_sent") + n("packets_received"),
            },
        );
    }
    (out, not_logged)
}

#[test]
fn flows_agree_with_zeek_conn_logs_on_its_tunnel_traces() {
    let dir = root().join("tests/data/zeek");
    let mut traces: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(".conn.log"))
        .collect();
    traces.sort();
    let (mut matched, mut originators, mut packets) = (0, 0, 0);
    let mut by_design = 0;
    let mut explained = 0;
    let mut missing = Vec::new();
    let mut extra = Vec::new();
    let mut report = String::new();
    for log in &traces {
        let name = log
            .file_name()
            .unwrap()
            .to_string_lossy()
            .replace(".conn.log", "");
        let zeek = zeek_conns(log);
        let (ours, not_logged) = our_flows(&dir.join(format!("{name}.pcap")));
        let mut same = 0;
        for (k, z) in &zeek {
            match ours.get(k) {
                Some(o) => {
                    matched += 1;
                    same += 1;
                    if o.originator == z.originator {
                        originators += 1;
                    } else if zeek_group_originator(&z.originator) {
                        // portaudit never makes a broadcast or multicast
                        // address the initiator (docs/audit.md#initiator).
                        by_design += 1;
                        report +=
                            &format!("{name}: group originator {k:?}: zeek {z:?}, ours {o:?}\n");
                    } else {
                        report += &format!("{name}: originator {k:?}: zeek {z:?}, ours {o:?}\n");
                    }
                    if o.packets == z.packets {
                        packets += 1;
                    } else if FRAGMENTED.contains(&name.as_str()) || z.packets == 0 {
                        explained += 1;
                        report +=
                            &format!("{name}: packets (explained) {k:?}: zeek {z:?}, ours {o:?}\n");
                    } else {
                        report += &format!("{name}: packets {k:?}: zeek {z:?}, ours {o:?}\n");
                    }
                }
                None => missing.push(format!("{name}: {k:?}")),
            }
        }
        for k in ours.keys().filter(|k| !zeek.contains_key(*k)) {
            extra.push(format!("{name}: {k:?}"));
        }
        eprintln!(
            "{name}: zeek {} connections, {same} matched; ours {} flows, and {not_logged} of \
             protocols Zeek does not log",
            zeek.len(),
            ours.len()
        );
    }
    eprintln!("{report}missing: {missing:#?}\nextra: {extra:#?}");
    let zeek_total = matched + missing.len();
    eprintln!(
        "{matched} of {zeek_total} Zeek connections matched; originators agree on \
         {originators} ({by_design} more differ by design), packet counts on {packets} \
         ({explained} more differ as explained)"
    );
    // Documented differences (README, "Against Zeek"): at most 3 flows.
    assert!(
        missing.len() + extra.len() <= 3,
        "missing {missing:#?}\nextra {extra:#?}"
    );
    assert!(
        originators * 100 >= (matched - by_design) * 99,
        "{originators} of {matched}\n{report}"
    );
    // Packets: portaudit counts frames, Zeek reassembled datagrams (they
    // differ where the outer packets were fragmented), and Zeek counts no
    // packet for a tunnel whose inside it cannot read (IGMP in VXLAN).
    assert_eq!(packets + explained, matched, "{report}");
}

/// Traces whose outer packets are IP fragments (tshark without
/// reassembly counts as portaudit does).
pub(crate) const FRAGMENTED: [&str; 2] = ["gtp-outer-ip-frag", "gtp-different-ports"];

/// Zeek's originator `addr:port` is a broadcast or multicast address.
pub(crate) fn zeek_group_originator(endpoint: &str) -> bool {
    let addr = endpoint.rsplit_once(':').map_or(endpoint, |(a, _)| a);
    match addr.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V4(a)) => a.is_broadcast() || a.is_multicast(),
        Ok(std::net::IpAddr::V6(a)) => a.is_multicast(),
        Err(_) => false,
    }
}

/// Zeek's IP-in-IP traces (6in6, 6in6 in 6in6, 6in4, 4in6, 4in4): the
/// inner connection its `core.tunnels.ip-in-ip` baseline prints, through
/// the tunnel it names.
#[test]
fn ip_in_ip_traces_give_the_inner_connection_zeek_prints() {
    let dir = root().join("tests/data/zeek");
    let cases = [
        (
            "ip-6in6",
            "udp,dead::beef,30000,cafe::babe,13000",
            "ip-in-ip ",
        ),
        (
            "ip-6in6in6",
            "udp,dead::beef,30000,cafe::babe,13000",
            "ip-in-ip babe::beef>dead::babe",
        ),
        (
            "ip-6in4",
            "udp,dead::beef,30000,cafe::babe,13000",
            "ip-in-ip 1.2.3.4>5.6.7.8",
        ),
        (
            "ip-4in6",
            "tcp,70.55.213.211,31337,192.88.99.1,80",
            "ip-in-ip 2002:4637:d5d3::4637:d5d3>2001:4860:0:2001::68",
        ),
        (
            "ip-4in4",
            "udp,10.0.0.1,30000,10.0.0.2,13000",
            "ip-in-ip 1.2.3.4>5.6.7.8",
        ),
    ];
    for (name, inner, tunnel) in cases {
        let o = run(&["flows", &path_str(&dir.join(format!("{name}.pcap"))), "-q"]);
        assert_eq!(code(&o), 0, "{name}");
        let text = String::from_utf8(o.stdout).unwrap();
        let rows: Vec<&str> = text.lines().skip(1).collect();
        assert_eq!(rows.len(), 1, "{name}: {text}");
        assert!(rows[0].starts_with(inner), "{name}: {text}");
        assert!(rows[0].contains(tunnel), "{name}: {text}");
    }
}
