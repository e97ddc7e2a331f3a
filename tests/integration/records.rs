//! Flow records as inputs (docs/inputs.md): Zeek's conn.log baselines
//! read back as the connections Zeek logged, the same flows as the traces
//! Zeek read, records mixed with captures, and damaged records counted by
//! line.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use crate::zeek::{our_flows, zeek_conns, zeek_group_originator};
use crate::{code, flows_run, path_str, root, run};

/// A BTest baseline as Zeek wrote it before btest canonified it: its
/// first line is btest's, and times are masked (`XXXXXXXXXX.XXXXXX`).
fn unmasked(log: &Path, dir: &Path) -> PathBuf {
    let text = std::fs::read_to_string(log).unwrap();
    let body: String = text
        .lines()
        .filter(|l| !l.starts_with("###"))
        .map(|l| l.replace("XXXXXXXXXX.XXXXXX", "1600000000.000001") + "\n")
        .collect();
    let out = dir.join(log.file_name().unwrap());
    std::fs::write(&out, body).unwrap();
    out
}

fn baselines() -> Vec<PathBuf> {
    let mut logs: Vec<PathBuf> = std::fs::read_dir(root().join("tests/data/zeek"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(".conn.log"))
        .collect();
    logs.sort();
    logs
}

/// Every connection of every baseline is a flow read from the log with
/// Zeek's originator (unless a group address, which portaudit never makes
/// an initiator) and Zeek's packet count; and the flows read from the log
/// are the flows portaudit builds from the trace Zeek read, but for the
/// differences the packet comparison (zeek.rs) explains.
#[test]
fn zeek_conn_logs_read_back_as_zeek_logged_them() {
    let tmp = tempfile::tempdir().unwrap();
    let (mut conns, mut same_as_trace) = (0, 0);
    let mut differ = Vec::new();
    let mut logs = 0;
    for log in baselines() {
        let name = log
            .file_name()
            .unwrap()
            .to_string_lossy()
            .replace(".conn.log", "");
        let input = unmasked(&log, tmp.path());
        if !std::fs::read_to_string(&input)
            .unwrap()
            .starts_with("#separator")
        {
            // Written through zeek-cut: a table, no longer a Zeek log.
            continue;
        }
        logs += 1;
        let zeek = zeek_conns(&log);
        let (from_log, _) = our_flows(&input);
        let (from_trace, _) = our_flows(&root().join(format!("tests/data/zeek/{name}.pcap")));
        assert_eq!(
            from_log.keys().collect::<Vec<_>>(),
            zeek.keys().collect::<Vec<_>>(),
            "{name}: the log's connections are its flows"
        );
        for (k, z) in &zeek {
            conns += 1;
            let o = &from_log[k];
            assert_eq!(o.packets, z.packets, "{name}: {k:?}");
            if !zeek_group_originator(&z.originator) {
                assert_eq!(o.originator, z.originator, "{name}: {k:?}");
            }
            match from_trace.get(k) {
                Some(t) if t == o => same_as_trace += 1,
                other => differ.push(format!("{name}: {k:?}: log {o:?}, trace {other:?}")),
            }
        }
    }
    eprintln!(
        "{logs} logs, {conns} connections read back; {same_as_trace} the same flow as the trace gives; \
         differ: {differ:#?}"
    );
    assert!(
        logs >= 20 && conns >= 80,
        "{logs} logs, {conns} connections"
    );
    // The trace and the log differ only where zeek.rs explains why (IP
    // fragments counted as frames, a tunnel Zeek could not read, group
    // originators), and where the payload says who asked: a DHCPv6
    // server's unicast Advertise and Reply to a client that asked by
    // multicast (pppoe) have the client as initiator (basis payload), where
    // Zeek names the first sender.
    assert!(differ.len() <= 7, "{differ:#?}");
}

/// A conn.log, gzipped, and the capture it was made from, in one run: the
/// records and the packets of one connection are one flow.
#[test]
fn records_mix_with_captures_and_gzip() {
    let tmp = tempfile::tempdir().unwrap();
    let log = unmasked(
        &root().join("tests/data/zeek/vxlan-http.conn.log"),
        tmp.path(),
    );
    let gz = tmp.path().join("conn.log.gz");
    let mut enc = flate2::write::GzEncoder::new(
        std::fs::File::create(&gz).unwrap(),
        flate2::Compression::default(),
    );
    enc.write_all(&std::fs::read(&log).unwrap()).unwrap();
    enc.finish().unwrap();
    let pcap = root().join("tests/data/zeek/vxlan-http.pcap");
    let both = tmp.path().join("both.csv");
    let (o, stats) = flows_run(&gz, &["-o", &path_str(&both), &path_str(&pcap)]);
    assert_eq!(code(&o), 0, "{}", String::from_utf8_lossy(&o.stderr));
    let files = stats["files"].as_array().unwrap();
    let log = files.iter().find(|f| f["unit"] == "records").unwrap();
    assert_eq!(log["format"], "zeek-conn");
    assert_eq!(log["compressed"], true);
    // The VXLAN carrier's record is left out as its packets are
    // (--tunnels inner), counted.
    assert_eq!(log["skipped"]["record-tunnel-carrier"], 1);
    assert_eq!(stats["records"]["used"], 1);
    let text = std::fs::read_to_string(&both).unwrap();
    let flows: Vec<&str> = text.lines().skip(1).collect();
    assert_eq!(flows.len(), 1, "one connection, from both inputs: {text}");
    // 7 + 5 packets from the log, 7 + 5 from the trace.
    assert!(flows[0].contains(",syn,established,2,14,"), "{}", flows[0]);
}

/// Damaged lines: each counted by reason, the first ones named by line,
/// the rest of the log audited, exit status 3 (damaged input).
#[test]
fn damaged_records_are_counted_by_line_and_the_rest_audited() {
    let tmp = tempfile::tempdir().unwrap();
    let good = unmasked(&root().join("tests/data/zeek/gre.conn.log"), tmp.path());
    let text = std::fs::read_to_string(&good).unwrap();
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    let first_data = lines.iter().position(|l| !l.starts_with('#')).unwrap();
    let records = lines.iter().filter(|l| !l.starts_with('#')).count();
    lines.insert(
        first_data + 1,
        "1600000000.1\tCx\t10.0.0.1\tnot-a-port".into(),
    );
    lines.insert(first_data + 1, "garbage".into());
    let bad = tmp.path().join("damaged.conn.log");
    std::fs::write(&bad, lines.join("\n") + "\n").unwrap();
    let deployment = root().join("examples/air-lab.toml");
    let o = run(&[
        "audit",
        "-q",
        "-d",
        &path_str(&deployment),
        &path_str(&bad),
        "-o",
        "/dev/null",
    ]);
    assert_eq!(code(&o), 3, "{}", String::from_utf8_lossy(&o.stderr));
    let (_, stats) = flows_run(&bad, &["-o", "/dev/null"]);
    let f = &stats["files"][0];
    assert_eq!(f["packets_read"], records as u64 + 2);
    assert_eq!(f["packets_used"], records as u64);
    assert_eq!(f["skipped"]["record-malformed"], 2);
    let damage = f["damage"].as_array().unwrap();
    let line = first_data + 2;
    assert!(
        damage[0]["message"]
            .as_str()
            .unwrap()
            .starts_with(&format!("line {line}: 1 fields where")),
        "{damage:?}"
    );
}

/// A directory of Zeek logs: the conn logs are read, other logs are not
/// inputs.
#[test]
fn a_directory_of_zeek_logs_reads_its_conn_logs() {
    let tmp = tempfile::tempdir().unwrap();
    unmasked(&root().join("tests/data/zeek/gre.conn.log"), tmp.path());
    std::fs::write(
        tmp.path().join("dns.log"),
        "#separator \\x09\n#path\tdns\n#fields\tts\tquery\n#types\ttime\tstring\n1.0\ta.b\n",
    )
    .unwrap();
    let (o, stats) = flows_run(tmp.path(), &["-o", "/dev/null"]);
    assert_eq!(
        code(&o),
        3,
        "the dns log is named and refused: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let files = stats["files"].as_array().unwrap();
    assert_eq!(files.len(), 2);
    let dns = files
        .iter()
        .find(|f| f["file"].as_str().unwrap().ends_with("dns.log"))
        .unwrap();
    assert!(
        dns["damage"][0]["message"]
            .as_str()
            .unwrap()
            .contains("a Zeek dns log, not a conn log"),
        "{dns}"
    );
}

/// Suricata EVE: flow events are flows (the TCP flags decide the
/// initiator), other events are counted and left out.
#[test]
fn suricata_eve_flow_events() {
    let tmp = tempfile::tempdir().unwrap();
    let eve = tmp.path().join("eve.json");
    std::fs::write(
        &eve,
        concat!(
            r#"{"timestamp":"2024-05-01T10:00:01.000000+0000","event_type":"alert","src_ip":"10.0.0.5","src_port":51000,"dest_ip":"10.0.0.9","dest_port":443,"proto":"TCP"}"#, "\n",
            r#"{"timestamp":"2024-05-01T10:00:05.000000+0000","event_type":"flow","src_ip":"10.0.0.5","src_port":51000,"dest_ip":"10.0.0.9","dest_port":443,"proto":"TCP","flow":{"pkts_toserver":7,"pkts_toclient":8,"bytes_toserver":4000,"bytes_toclient":900,"start":"2024-05-01T10:00:00.500000+0000","end":"2024-05-01T10:00:04.000000+0000","state":"closed"},"tcp":{"tcp_flags":"1b","tcp_flags_ts":"1b","tcp_flags_tc":"1b"}}"#, "\n",
            r#"{"timestamp":"2024-05-01T10:00:06.000000+0000","event_type":"flow","src_ip":"10.0.0.5","src_port":5353,"dest_ip":"224.0.0.251","dest_port":5353,"proto":"UDP","flow":{"pkts_toserver":2,"pkts_toclient":0,"bytes_toserver":200,"bytes_toclient":0,"start":"2024-05-01T10:00:05.000000+0000","end":"2024-05-01T10:00:06.000000+0000"}}"#, "\n",
        ),
    )
    .unwrap();
    let (o, stats) = flows_run(&eve, &[]);
    assert_eq!(code(&o), 0, "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(stats["files"][0]["format"], "suricata-eve");
    assert_eq!(stats["files"][0]["skipped"]["record-not-a-flow-event"], 1);
    let text = String::from_utf8(o.stdout).unwrap();
    // A SYN to the server and one to the client: the client's SYN and
    // the server's SYN-ACK, evidence.
    assert!(
        text.contains("tcp,10.0.0.5,51000,10.0.0.9,443,syn,established,1,7,4000,8,900,"),
        "{text}"
    );
    assert!(
        text.contains("udp,10.0.0.5,5353,224.0.0.251,5353,group-address,one-way,"),
        "{text}"
    );
}

/// The audit judges a connection the same whether it comes as packets or
/// as a conn.log line: the AIR violations fixture, and a conn.log written
/// (as Zeek would, history and all) from the flows portaudit found in it,
/// give the same findings: kind, severity, rule, endpoints, port, state.
#[test]
fn a_conn_log_is_audited_as_its_capture_is() {
    let tmp = tempfile::tempdir().unwrap();
    let pcap = root().join("fixtures/binalyze-air/violations.pcap");
    let deployment = path_str(&root().join("examples/air-lab.toml"));
    let flows = tmp.path().join("flows.csv");
    let o = run(&["flows", "-q", &path_str(&pcap), "-o", &path_str(&flows)]);
    assert_eq!(code(&o), 0);
    let text = std::fs::read_to_string(&flows).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).unwrap();
    let mut log = String::from(
        "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\tconn\n\
         #fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tconn_state\thistory\t\
         orig_pkts\torig_ip_bytes\tresp_pkts\tresp_ip_bytes\n\
         #types\ttime\tstring\taddr\tport\taddr\tport\tenum\tstring\tstring\tcount\tcount\tcount\tcount\n",
    );
    for (i, line) in lines.enumerate() {
        let c: Vec<&str> = line.split(',').collect();
        let (state, history) = match c[col("state")] {
            "established" => ("SF", "ShADadFf"),
            "refused" => ("REJ", "Sr"),
            "unanswered" => ("S0", "S"),
            "mid-stream" => ("OTH", "DdA"),
            _ => ("SF", "Dd"),
        };
        log += &format!(
            "{}.0\tC{i}\t{}\t{}\t{}\t{}\t{}\t{state}\t{history}\t{}\t{}\t{}\t{}\n",
            1_767_229_200 + i,
            c[col("initiator_ip")],
            c[col("initiator_port")],
            c[col("responder_ip")],
            c[col("responder_port")],
            c[col("proto")],
            c[col("packets_sent")],
            c[col("bytes_sent")],
            c[col("packets_received")],
            c[col("bytes_received")],
        );
    }
    let conn = tmp.path().join("conn.log");
    std::fs::write(&conn, log).unwrap();
    let findings = |input: &Path| {
        let out = tmp.path().join("findings.csv");
        let o = run(&[
            "audit",
            "-q",
            "-d",
            &deployment,
            &path_str(input),
            "-o",
            &path_str(&out),
        ]);
        assert_eq!(code(&o), 1, "{}", String::from_utf8_lossy(&o.stderr));
        let text = std::fs::read_to_string(&out).unwrap();
        let mut lines = text.lines();
        let header: Vec<String> = lines.next().unwrap().split(',').map(String::from).collect();
        let keep = [
            "severity", "kind", "rule_id", "src_ip", "dst_ip", "proto", "dst_port", "state",
        ];
        let cols: Vec<usize> = keep
            .iter()
            .map(|k| header.iter().position(|h| h == k).unwrap())
            .collect();
        let mut rows: Vec<Vec<String>> = lines
            .map(|l| {
                let c: Vec<&str> = l.split(',').collect();
                cols.iter().map(|&i| c[i].to_string()).collect()
            })
            .collect();
        rows.sort();
        rows
    };
    let (from_log, from_pcap) = (findings(&conn), findings(&pcap));
    assert!(from_pcap.len() >= 8, "{from_pcap:#?}");
    assert_eq!(from_log, from_pcap);
}

/// A finding from records names the record: the log line (Zeek, EVE), the
/// export message's byte offset (IPFIX, NetFlow), and a flow file names
/// where its flows were first seen.
#[test]
fn findings_name_the_record_they_come_from() {
    let tmp = tempfile::tempdir().unwrap();
    let deployment = path_str(&crate::everything_deployment(tmp.path()));
    let data = root().join("tests/data/records");
    let pcap = root().join("fixtures/binalyze-air/violations.pcap");
    let parquet = tmp.path().join("violations.flows.parquet");
    let o = run(&["flows", "-q", "-o", &path_str(&parquet), &path_str(&pcap)]);
    assert_eq!(code(&o), 0);
    let mut checked = 0;
    for (name, unit) in [
        ("zeek-conn.log", "line"),
        ("zeek-conn.json", "line"),
        ("eve.json", "line"),
        ("softflowd.ipfix", "byte"),
        ("softflowd-v9.netflow", "byte"),
        ("softflowd-v5.netflow", "byte"),
        ("violations.flows.parquet", "byte"),
    ] {
        let file = match name.ends_with(".parquet") {
            true => path_str(&parquet),
            false => path_str(&data.join(name)),
        };
        let o = run(&[
            "audit",
            "-q",
            "-d",
            &deployment,
            &file,
            "--format",
            "ndjson",
        ]);
        let bytes = std::fs::read(&file).unwrap();
        let text = String::from_utf8_lossy(&bytes);
        let lines: Vec<&str> = text.lines().collect();
        for row in String::from_utf8_lossy(&o.stdout).lines() {
            let f: serde_json::Value = serde_json::from_str(row).unwrap();
            if f["kind"] == "missing-expected" {
                continue;
            }
            let source = f["source"]
                .as_str()
                .unwrap_or_else(|| panic!("{name}: {f}"));
            let (input, at) = source
                .rsplit_once(&format!(" {unit} "))
                .unwrap_or_else(|| panic!("{name}: {source}"));
            let at: usize = at.parse().unwrap();
            let (src, dst) = (f["src_ip"].as_str().unwrap(), f["dst_ip"].as_str().unwrap());
            if name.ends_with(".parquet") {
                // The flow file carries the capture its flows came from.
                assert_eq!(input, path_str(&pcap));
            } else if unit == "line" {
                assert_eq!(input, file);
                let line = lines[at - 1];
                assert!(
                    line.contains(src) && line.contains(dst),
                    "{name} line {at}: {line}"
                );
            } else {
                assert_eq!(input, file);
                // An export message starts there: its version.
                let version = u16::from_be_bytes([bytes[at], bytes[at + 1]]);
                assert!(
                    [5, 9, 10].contains(&version),
                    "{name} byte {at}: version {version}"
                );
            }
            checked += 1;
        }
    }
    assert!(checked >= 30, "only {checked} findings checked");
}
