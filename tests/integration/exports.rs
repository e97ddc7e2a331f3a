//! IPFIX and NetFlow exports as inputs (docs/inputs.md#ipfix-and-netflow):
//! what softflowd, an exporter others wrote, makes of a capture is read as
//! the flows portaudit builds from the capture itself, and audits to the
//! same findings wherever the export can say who began.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead as _, BufReader, Read as _};
use std::net::UdpSocket;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::{bin, code, find_program, path_str, root, run, skip};

/// A CSV written by portaudit, as rows of named cells (no cell before the
/// last holds a comma).
fn table(path: &Path) -> Vec<BTreeMap<String, String>> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    let header: Vec<String> = lines.next().unwrap().split(',').map(String::from).collect();
    lines
        .map(|l| {
            header
                .iter()
                .cloned()
                .zip(l.split(',').map(String::from))
                .collect()
        })
        .collect()
}

fn flows_of(input: &Path, dir: &Path) -> Vec<BTreeMap<String, String>> {
    let out = dir.join("flows.csv");
    let o = run(&["flows", "-q", &path_str(input), "-o", &path_str(&out)]);
    assert_eq!(code(&o), 0, "{}", String::from_utf8_lossy(&o.stderr));
    table(&out)
}

fn capture() -> PathBuf {
    root().join("fixtures/binalyze-air/violations.pcap")
}

/// Flows by Community ID.
fn by_id(flows: Vec<BTreeMap<String, String>>) -> BTreeMap<String, BTreeMap<String, String>> {
    flows
        .into_iter()
        .map(|f| (f["community_id"].clone(), f))
        .collect()
}

fn packets(f: &BTreeMap<String, String>) -> u64 {
    f["packets_sent"].parse::<u64>().unwrap() + f["packets_received"].parse::<u64>().unwrap()
}

/// The export's flows are the capture's: the same keys (v5 carries no
/// IPv6), the same packets, and wherever the export could tell who began
/// (a SYN nobody answered, a listening port) the same initiator.
fn same_flows_as_capture(export: &Path, dir: &Path) -> usize {
    let ours = by_id(flows_of(&capture(), dir));
    let theirs = by_id(flows_of(export, dir));
    let v4_only = export.to_string_lossy().contains("v5");
    let mut checked = 0;
    for (id, c) in &ours {
        if v4_only && c["initiator_ip"].contains(':') {
            continue;
        }
        let e = theirs
            .get(id)
            .unwrap_or_else(|| panic!("{}: no flow {id} ({c:?})", export.display()));
        assert_eq!(packets(e), packets(c), "{}: {id}", export.display());
        if e["initiator_basis"] != "first-packet" {
            assert_eq!(
                (&e["initiator_ip"], &e["initiator_port"]),
                (&c["initiator_ip"], &c["initiator_port"]),
                "{}: {id} ({})",
                export.display(),
                e["initiator_basis"]
            );
        }
        checked += 1;
    }
    assert_eq!(
        theirs.len(),
        checked,
        "{}: flows of its own",
        export.display()
    );
    checked
}

#[test]
fn stored_exports_give_the_flows_of_their_capture() {
    let tmp = tempfile::tempdir().unwrap();
    let data = root().join("tests/data/records");
    for (name, flows, format) in [
        ("softflowd-v5.netflow", 12, "netflow"),
        ("softflowd-v9.netflow", 13, "netflow"),
        ("softflowd.ipfix", 13, "ipfix"),
        ("softflowd-biflow.ipfix", 13, "ipfix"),
    ] {
        let export = data.join(name);
        assert_eq!(same_flows_as_capture(&export, tmp.path()), flows, "{name}");
        let (o, stats) = crate::flows_run(&export, &[]);
        assert_eq!(code(&o), 0);
        let file = &stats["files"][0];
        assert_eq!(file["format"], format, "{name}: {file}");
        assert_eq!(file["unit"], "records", "{name}");
    }
}

/// An IPFIX file is the datagrams a collector received, back to back: sent
/// one message a datagram to the collector's reader, they give the flows
/// and counts the file gives.
#[test]
fn a_collector_reads_datagrams_as_the_file_of_them() {
    use portaudit::ingest::records::Collector;
    use portaudit::ingest::{ingest_one, IngestOptions};
    for name in ["softflowd.ipfix", "softflowd-biflow.ipfix"] {
        let path = root().join("tests/data/records").join(name);
        let bytes = std::fs::read(&path).unwrap();
        let mut c = Collector::new("udp/test", &IngestOptions::default());
        let from = "127.0.0.1:4739".parse().unwrap();
        let mut rest = &bytes[..];
        while rest.len() >= 4 {
            let n = usize::from(u16::from_be_bytes([rest[2], rest[3]]));
            c.datagram(from, &rest[..n]);
            rest = &rest[n..];
        }
        let (flows, live) = c.snapshot();
        let input = portaudit::capture::CaptureInput::File(path);
        let (table, file) = ingest_one(&input, &IngestOptions::default());
        assert_eq!(
            (live.packets_read, live.packets_decoded, &live.skipped),
            (file.packets_read, file.packets_decoded, &file.skipped),
            "{name}"
        );
        assert_eq!((live.first_ts, live.last_ts), (file.first_ts, file.last_ts));
        assert_eq!(
            live.export_lost,
            [0, 0],
            "{name}: softflowd numbers its messages"
        );
        assert_eq!(flows, table.finish(), "{name}");
    }
}

/// Findings keyed without what an export cannot show (severity and state
/// follow from handshake evidence, which ORed flags do not give), leaving
/// out flows whose initiator no one could tell from the export.
fn findings(input: &Path, dir: &Path, unknowable: &BTreeSet<String>) -> Vec<Vec<String>> {
    let out = dir.join("findings.csv");
    let o = run(&[
        "audit",
        "-q",
        "-d",
        &deployment(),
        &path_str(input),
        "-o",
        &path_str(&out),
    ]);
    assert_eq!(code(&o), 1, "{}", String::from_utf8_lossy(&o.stderr));
    key_rows(&out, unknowable)
}

fn deployment() -> String {
    path_str(&root().join("examples/air-lab.toml"))
}

/// The rows of a findings CSV, keyed as [`findings`] keys them.
fn key_rows(csv: &Path, unknowable: &BTreeSet<String>) -> Vec<Vec<String>> {
    let keep = [
        "kind",
        "rule_id",
        "src_ip",
        "dst_ip",
        "proto",
        "dst_port",
        "community_id",
    ];
    let mut rows: Vec<Vec<String>> = table(csv)
        .into_iter()
        .filter(|r| !unknowable.contains(&r["community_id"]))
        .map(|r| keep.iter().map(|k| r[*k].clone()).collect())
        .collect();
    rows.sort();
    rows
}

/// Flows of an export whose initiator is a guess (nothing in the export
/// says who began, and no port tells).
fn unknowable(export: &Path, dir: &Path) -> BTreeSet<String> {
    flows_of(export, dir)
        .into_iter()
        .filter(|f| f["initiator_basis"] == "first-packet")
        .map(|f| f["community_id"].clone())
        .collect()
}

/// softflowd, or `None` (the test is skipped) where it is not installed
/// and CI does not require it.
fn softflowd() -> Option<PathBuf> {
    let found = find_program(&["softflowd"], &["/usr/sbin", "/sbin"]);
    if found.is_none() {
        assert!(
            std::env::var("PORTAUDIT_REQUIRE_SOFTFLOWD").as_deref() != Ok("1"),
            "PORTAUDIT_REQUIRE_SOFTFLOWD=1 and softflowd is not installed"
        );
        skip("softflowd is not installed (apt-get install softflowd)");
    }
    found
}

/// How softflowd is asked for each export: IPFIX with millisecond times,
/// RFC 5103 biflows, NetFlow v9.
const VARIANTS: [(&str, &[&str]); 3] = [
    ("ipfix", &["-v", "10", "-A", "milli"]),
    ("biflow", &["-v", "10", "-b", "-A", "milli"]),
    ("v9", &["-v", "9"]),
];

/// Runs softflowd on the capture, exporting to udp/127.0.0.1:`port` with
/// `extra` options, until it is done; `while_running` is called over and
/// over meanwhile (to receive), and once more after it exits.
fn softflowd_exports(
    softflowd: &Path,
    extra: &[&str],
    port: u16,
    dir: &Path,
    mut while_running: impl FnMut(bool),
) {
    let ctl = dir.join("ctl");
    let mut child = Command::new(softflowd)
        .args(["-D", "-r", &path_str(&capture())])
        .args(["-n", &format!("127.0.0.1:{port}")])
        .args(extra)
        .args(["-c", &path_str(&ctl)])
        .args(["-p", &path_str(&dir.join("pid"))])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // softflowd 1.1.0 reading a file may stop to accept a control
    // connection nobody asked for (its poll results are not set when it
    // reads a file, so whether it does depends on the stack): a harmless
    // command from this thread lets it go on.
    let done = Arc::new(AtomicBool::new(false));
    let nudger = {
        let (ctl, done) = (ctl.clone(), done.clone());
        std::thread::spawn(move || {
            use std::io::{Read as _, Write as _};
            while !done.load(Ordering::Relaxed) {
                if let Ok(mut s) = std::os::unix::net::UnixStream::connect(&ctl) {
                    let _ = s.set_read_timeout(Some(Duration::from_millis(200)));
                    let _ = s.write_all(b"statistics\n");
                    let _ = s.read_to_end(&mut Vec::new());
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        })
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        while_running(false);
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("softflowd {extra:?}: no end");
        }
    };
    while_running(true);
    assert!(status.success(), "softflowd {extra:?} failed");
    done.store(true, Ordering::Relaxed);
    nudger.join().unwrap();
    let _ = std::fs::remove_file(&ctl);
}

/// softflowd reads the capture and exports IPFIX to a collector on
/// loopback (a socket of this test's); the export audits to the capture's
/// findings.
#[test]
fn softflowd_ipfix_audits_as_its_capture() {
    let Some(softflowd) = softflowd() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    for (name, extra) in VARIANTS {
        let collector = UdpSocket::bind("127.0.0.1:0").unwrap();
        collector
            .set_read_timeout(Some(Duration::from_millis(300)))
            .unwrap();
        let port = collector.local_addr().unwrap().port();
        let mut export = Vec::new();
        let mut buf = vec![0u8; 65536];
        softflowd_exports(&softflowd, extra, port, tmp.path(), |exited| {
            // Once softflowd is done, until quiet for a while: all is here.
            while let Ok(n) = collector.recv(&mut buf) {
                export.extend_from_slice(&buf[..n]);
                if !exited {
                    break;
                }
            }
        });
        assert!(!export.is_empty(), "softflowd {name} exported nothing");
        let file = tmp.path().join(format!("{name}.export"));
        std::fs::write(&file, &export).unwrap();
        same_flows_as_capture(&file, tmp.path());
        let unknowable = unknowable(&file, tmp.path());
        let (theirs, ours) = (
            findings(&file, tmp.path(), &unknowable),
            findings(&capture(), tmp.path(), &unknowable),
        );
        assert!(ours.len() >= 7, "{ours:#?}");
        assert_eq!(theirs, ours, "softflowd {name}");
    }
}

/// `portaudit collect` receives what softflowd exports on loopback, and
/// its final report (on SIGINT, as a user ends it) holds the capture's
/// findings; nothing is lost or damaged, so the status is 1 (findings).
#[test]
fn softflowd_to_collect_audits_as_its_capture() {
    let Some(softflowd) = softflowd() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    for (name, extra) in VARIANTS {
        // A port nobody holds: bound and let go (the collector binds it
        // next; softflowd sends only once the collector says it listens).
        let port = UdpSocket::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let out = tmp.path().join(format!("collect-{name}.csv"));
        let stats = tmp.path().join(format!("collect-{name}.json"));
        let mut collect = bin()
            .args(["collect", "--listen", &format!("127.0.0.1:{port}")])
            .args(["-d", &deployment(), "--interval", "1h"])
            .args(["-o", &path_str(&out), "--stats", &path_str(&stats)])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stderr = BufReader::new(collect.stderr.take().unwrap());
        let mut first = String::new();
        stderr.read_line(&mut first).unwrap();
        assert!(
            first.starts_with(&format!(
                "collect: receiving IPFIX and NetFlow v5/v7/v9 on udp/127.0.0.1:{port}"
            )),
            "{first}"
        );
        softflowd_exports(&softflowd, extra, port, tmp.path(), |_| {
            std::thread::sleep(Duration::from_millis(20))
        });
        // Datagrams on loopback are in the socket by now; SIGINT ends the
        // collection with its final report.
        std::thread::sleep(Duration::from_millis(300));
        let killed = Command::new("kill")
            .args(["-INT", &collect.id().to_string()])
            .status()
            .unwrap();
        assert!(killed.success());
        let mut rest = String::new();
        stderr.read_to_string(&mut rest).unwrap();
        let status = collect.wait().unwrap();
        assert_eq!(status.code(), Some(1), "collect {name}: {first}{rest}");
        assert!(rest.contains("final report (interrupted)"), "{rest}");
        let stored = match name {
            "v9" => "softflowd-v9.netflow",
            _ => "softflowd.ipfix",
        };
        let unknowable = unknowable(&root().join("tests/data/records").join(stored), tmp.path());
        let ours = findings(&capture(), tmp.path(), &unknowable);
        assert_eq!(key_rows(&out, &unknowable), ours, "collect {name}");
        let stats: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&stats).unwrap()).unwrap();
        let file = &stats["files"][0];
        assert_eq!(file["file"], format!("udp/127.0.0.1:{port}"), "{file}");
        assert_eq!(file["unit"], "records", "{file}");
        assert_eq!(file["damage"], serde_json::json!([]), "{file}");
    }
}

/// A sampled export cannot prove an absence, and neither can the flow
/// file made from it: missing-expected findings say "inconclusive
/// (sampled 1:N)" when the export is audited, and when its flow file is.
#[test]
fn a_sampled_export_stays_inconclusive_through_its_flow_file() {
    let tmp = tempfile::tempdir().unwrap();
    let mut bytes = std::fs::read(root().join("tests/data/records/softflowd-v5.netflow")).unwrap();
    // Each v5 header declares 1 in 100 packets sampled (mode 1, interval
    // 100, RFC 3954's predecessor: the header's last 16 bits).
    let mut at = 0;
    while at + 24 <= bytes.len() {
        let count = usize::from(u16::from_be_bytes([bytes[at + 2], bytes[at + 3]]));
        bytes[at + 22..at + 24].copy_from_slice(&(0x4000u16 | 100).to_be_bytes());
        at += 24 + 48 * count;
    }
    assert_eq!(at, bytes.len(), "whole v5 messages");
    let export = tmp.path().join("sampled.netflow");
    std::fs::write(&export, &bytes).unwrap();
    let parquet = tmp.path().join("sampled.parquet");
    let o = run(&["flows", "-q", "-o", &path_str(&parquet), &path_str(&export)]);
    assert_eq!(code(&o), 0, "{}", String::from_utf8_lossy(&o.stderr));
    for input in [&export, &parquet] {
        let o = run(&[
            "audit",
            "-q",
            "-d",
            &deployment(),
            &path_str(input),
            "--format",
            "ndjson",
        ]);
        let text = String::from_utf8_lossy(&o.stdout);
        let missing: Vec<&str> = text
            .lines()
            .filter(|l| l.contains("missing-expected"))
            .collect();
        assert!(!missing.is_empty(), "{}: {text}", input.display());
        for row in missing {
            assert!(
                row.contains("inconclusive (sampled 1:100)"),
                "{}: {row}",
                input.display()
            );
        }
    }
}
