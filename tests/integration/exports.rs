//! IPFIX and NetFlow exports as inputs (docs/inputs.md#ipfix-and-netflow):
//! what softflowd, an exporter others wrote, makes of a capture is read as
//! the flows portaudit builds from the capture itself, and audits to the
//! same findings wherever the export can say who began.

use std::collections::{BTreeMap, BTreeSet};
use std::net::UdpSocket;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::{code, find_program, path_str, root, run, skip};

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

/// Findings keyed without what an export cannot show (severity and state
/// follow from handshake evidence, which ORed flags do not give), leaving
/// out flows whose initiator no one could tell from the export.
fn findings(input: &Path, dir: &Path, unknowable: &BTreeSet<String>) -> Vec<Vec<String>> {
    let deployment = path_str(&root().join("examples/air-lab.toml"));
    let out = dir.join("findings.csv");
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
    let keep = [
        "kind",
        "rule_id",
        "src_ip",
        "dst_ip",
        "proto",
        "dst_port",
        "community_id",
    ];
    let mut rows: Vec<Vec<String>> = table(&out)
        .into_iter()
        .filter(|r| !unknowable.contains(&r["community_id"]))
        .map(|r| keep.iter().map(|k| r[*k].clone()).collect())
        .collect();
    rows.sort();
    rows
}

/// softflowd reads the capture and exports IPFIX to a collector on
/// loopback (a socket of this test's); the export audits to the capture's
/// findings.
#[test]
fn softflowd_ipfix_audits_as_its_capture() {
    let Some(softflowd) = find_program(&["softflowd"], &["/usr/sbin", "/sbin"]) else {
        assert!(
            std::env::var("PORTAUDIT_REQUIRE_SOFTFLOWD").as_deref() != Ok("1"),
            "PORTAUDIT_REQUIRE_SOFTFLOWD=1 and softflowd is not installed"
        );
        return skip("softflowd is not installed (apt-get install softflowd)");
    };
    let tmp = tempfile::tempdir().unwrap();
    for (name, extra) in [
        ("ipfix", &["-v", "10", "-A", "milli"][..]),
        ("biflow", &["-v", "10", "-b", "-A", "milli"][..]),
        ("v9", &["-v", "9"][..]),
    ] {
        let collector = UdpSocket::bind("127.0.0.1:0").unwrap();
        collector
            .set_read_timeout(Some(Duration::from_millis(300)))
            .unwrap();
        let port = collector.local_addr().unwrap().port();
        let mut child = Command::new(&softflowd)
            .args(["-D", "-r", &path_str(&capture())])
            .args(["-n", &format!("127.0.0.1:{port}")])
            .args(extra)
            .args(["-c", &path_str(&tmp.path().join("ctl"))])
            .args(["-p", &path_str(&tmp.path().join("pid"))])
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        // softflowd 1.1.0 reading a file may stop to accept a control
        // connection nobody asked for (its poll results are not set when
        // it reads a file, so whether it does depends on the stack): a
        // harmless command from this thread lets it go on.
        let ctl = tmp.path().join("ctl");
        let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let nudger = {
            let (ctl, done) = (ctl.clone(), done.clone());
            std::thread::spawn(move || {
                use std::io::{Read as _, Write as _};
                while !done.load(std::sync::atomic::Ordering::Relaxed) {
                    if let Ok(mut s) = std::os::unix::net::UnixStream::connect(&ctl) {
                        let _ = s.set_read_timeout(Some(Duration::from_millis(200)));
                        let _ = s.write_all(b"statistics\n");
                        let _ = s.read_to_end(&mut Vec::new());
                    }
                    std::thread::sleep(Duration::from_millis(20));
                }
            })
        };
        let mut export = Vec::new();
        let mut buf = vec![0u8; 65536];
        let deadline = Instant::now() + Duration::from_secs(20);
        let mut exited = None;
        loop {
            match collector.recv(&mut buf) {
                Ok(n) => export.extend_from_slice(&buf[..n]),
                // Quiet for a while after softflowd is done: all is here.
                Err(_) if exited.is_some() => break,
                Err(_) => {}
            }
            if exited.is_none() {
                exited = child.try_wait().unwrap();
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!("softflowd {name}: no end");
            }
        }
        assert!(child.wait().unwrap().success(), "softflowd {name} failed");
        done.store(true, std::sync::atomic::Ordering::Relaxed);
        nudger.join().unwrap();
        let _ = std::fs::remove_file(&ctl);
        assert!(!export.is_empty(), "softflowd {name} exported nothing");
        let file = tmp.path().join(format!("{name}.export"));
        std::fs::write(&file, &export).unwrap();
        same_flows_as_capture(&file, tmp.path());
        let unknowable: BTreeSet<String> = flows_of(&file, tmp.path())
            .into_iter()
            .filter(|f| f["initiator_basis"] == "first-packet")
            .map(|f| f["community_id"].clone())
            .collect();
        let (theirs, ours) = (
            findings(&file, tmp.path(), &unknowable),
            findings(&capture(), tmp.path(), &unknowable),
        );
        assert!(ours.len() >= 7, "{ours:#?}");
        assert_eq!(theirs, ours, "softflowd {name}");
    }
}
