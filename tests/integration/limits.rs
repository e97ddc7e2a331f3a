//! Resource bounds on a generated hostile capture (random flows, a SYN
//! flood, fragments that never complete): what the limits keep out is
//! counted and reported, and memory stays bounded by them.

use std::path::Path;

use portaudit::flow::Limits;
use portaudit::ingest::{ingest_reader_with, IngestOptions};
use portaudit_synth::FloodCounts;

use crate::{assert_file_reads_as, code, flood_file, path_str, root, run};

fn flood(dir: &Path, packets: u64) -> (std::path::PathBuf, FloodCounts) {
    flood_file(dir, "flood.pcap", packets, 1)
}

#[test]
fn limits_are_counted_reported_and_findings_say_so() {
    let dir = tempfile::tempdir().unwrap();
    let (capture, counts) = flood(dir.path(), 60_000);
    let stats = dir.path().join("stats.json");
    let findings = dir.path().join("findings.csv");
    let o = run(&[
        "audit",
        "-d",
        &path_str(&root().join("examples/air-lab.toml")),
        "--max-flows",
        "5000",
        "--max-fragments",
        "1000",
        "--stats",
        &path_str(&stats),
        "-o",
        &path_str(&findings),
        &path_str(&capture),
    ]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    // The lab's required rules are missing from a flood: exit 1.
    assert_eq!(code(&o), 1, "{stderr}");
    let s: serde_json::Value = serde_json::from_slice(&std::fs::read(&stats).unwrap()).unwrap();
    let f = &s["files"][0];
    // Every flow packet is distinct: all but the first 5000 are kept out.
    let flow_packets = counts.random_flows + counts.syn_flood + counts.fragment_pairs;
    assert_eq!(s["flows"]["total"], 5000);
    assert_eq!(f["limits"]["packets_kept_out"], flow_packets - 5000);
    assert_eq!(f["skipped"]["flow-limit"], flow_packets - 5000);
    assert_eq!(f["packets_used"], 5000);
    let kept_out = f["limits"]["flows_kept_out"].as_u64().unwrap() as f64;
    let exact = (flow_packets - 5000) as f64;
    assert!(
        (kept_out - exact).abs() / exact < 0.05,
        "{kept_out} vs {exact}"
    );
    // The budget keeps at most 1000 first fragments: the rest are forgotten.
    let forgotten = f["limits"]["fragments_forgotten"].as_u64().unwrap();
    assert!(forgotten >= counts.fragment_pairs - 1000, "{forgotten}");
    assert_eq!(
        f["skipped"]["fragment-without-first"], counts.fragment_pairs,
        "later fragments of datagrams never begun"
    );
    let read = f["packets_read"].as_u64().unwrap();
    let skipped: u64 = f["skipped"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_u64().unwrap())
        .sum();
    assert_eq!((read, 5000 + skipped), (counts.packets(), read));
    assert!(stderr.contains("warning: flow limit reached"), "{stderr}");
    assert!(
        stderr.contains("warning: fragment limit reached"),
        "{stderr}"
    );
    let csv = std::fs::read_to_string(&findings).unwrap();
    let limits: Vec<&str> = csv
        .lines()
        .filter(|l| l.contains(",tracking-limit,"))
        .collect();
    assert_eq!(limits.len(), 2, "{csv}");
    assert!(limits.iter().all(|l| l.starts_with("warning,")), "{csv}");
    assert!(limits[0].contains("--max-flows 5000"), "{}", limits[0]);
    assert!(limits[1].contains("--max-fragments 1000"), "{}", limits[1]);
    // Missing-expected findings say the limit may be why.
    let missing: Vec<&str> = csv
        .lines()
        .filter(|l| l.contains(",missing-expected,"))
        .collect();
    assert!(!missing.is_empty());
    for l in missing {
        assert!(
            l.contains("packets of flows past --max-flows 5000 were not audited"),
            "{l}"
        );
    }
}

#[test]
fn the_same_flood_gives_the_same_report_on_any_thread_count() {
    let dir = tempfile::tempdir().unwrap();
    let (capture, _) = flood(dir.path(), 200_000);
    let mut outs = Vec::new();
    for threads in ["1", "2", "3"] {
        let o = run(&[
            "flows",
            "-q",
            "--max-flows",
            "30000",
            "--max-fragments",
            "500",
            "--threads",
            threads,
            &path_str(&capture),
        ]);
        assert_eq!(code(&o), 0);
        outs.push(o.stdout);
    }
    assert_eq!(outs[0], outs[1]);
    assert_eq!(outs[0], outs[2]);
    assert_eq!(
        outs[0].iter().filter(|&&b| b == b'\n').count(),
        30_001,
        "header and the 30000 flows first seen"
    );
}

#[test]
fn zero_limits_are_refused() {
    let o = run(&["flows", "--max-flows", "0", "x.pcap"]);
    assert_eq!(code(&o), 2);
    assert!(String::from_utf8_lossy(&o.stderr).contains("--max-flows"));
}

/// Peak resident memory of a child, read from /proc while it runs: VmHWM
/// only grows, so the last value read is the peak to within one poll.
#[cfg(target_os = "linux")]
fn peak_rss_kb(mut child: std::process::Child) -> (std::process::ExitStatus, u64) {
    let status_path = format!("/proc/{}/status", child.id());
    let mut peak = 0;
    loop {
        if let Ok(s) = std::fs::read_to_string(&status_path) {
            if let Some(v) = s
                .lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            {
                peak = v;
            }
        }
        if let Some(status) = child.try_wait().unwrap() {
            return (status, peak);
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
}

/// 2.5 million distinct flows need over a gigabyte; with the limit at
/// 100 000 the run stays far below, whatever the file size.
#[cfg(target_os = "linux")]
#[test]
fn memory_is_bounded_by_the_flow_limit_not_the_capture() {
    let dir = tempfile::tempdir().unwrap();
    let (capture, _) = flood(dir.path(), 3_000_000);
    let child = crate::bin()
        .args([
            "flows",
            "-q",
            "-o",
            "/dev/null",
            "--max-flows",
            "100000",
            &path_str(&capture),
        ])
        .spawn()
        .unwrap();
    let (status, peak_kb) = peak_rss_kb(child);
    assert_eq!(status.code(), Some(0));
    assert!(peak_kb > 0, "VmHWM was read");
    assert!(peak_kb < 200 * 1024, "peak {peak_kb} kB");
}

/// A file read in segments whose tables outgrow the limits is read again in
/// one walk within them: the same flows kept, the same packets kept out,
/// the same fragments forgotten as a stream read from the start. And when
/// the segments stay within the limits, their tables absorbed in order
/// keep out exactly what one walk keeps out.
#[test]
fn segments_keep_out_what_one_walk_keeps_out() {
    let dir = tempfile::tempdir().unwrap();
    let (path, _) = flood(dir.path(), 60_000);
    let bytes = std::fs::read(&path).unwrap();
    for (max_flows, max_fragments) in [(500, 64), (40_000, 1 << 20), (usize::MAX, usize::MAX)] {
        let limits = Limits {
            max_flows,
            max_fragments,
        };
        let stream = IngestOptions {
            limits,
            ..IngestOptions::default()
        };
        let (t, whole) = ingest_reader_with(
            "flood",
            Box::new(std::io::Cursor::new(bytes.clone())),
            &stream,
        );
        let flows = t.finish();
        for segments in [2, 7] {
            // Split again for threads out of work: the tables read ahead
            // share the limits however many they become.
            let opts = IngestOptions {
                segments: Some(segments),
                split_bytes: 64 << 10,
                ..stream.clone()
            };
            let what = format!("{limits:?}, {segments} segments");
            assert_file_reads_as(&path, &opts, &whole, &flows, &what);
        }
    }
}

/// An audit of many flows, read in segments and classified in many chunks
/// whose results merge pairwise in whatever shape the thread pool takes,
/// gives byte-identical reports on any thread count.
#[test]
fn the_same_enterprise_capture_gives_the_same_audit_on_any_thread_count() {
    use portaudit_synth::{write_enterprise, EnterpriseSpec};
    let dir = tempfile::tempdir().unwrap();
    let capture = dir.path().join("enterprise.pcap");
    let spec = EnterpriseSpec {
        bytes: 40 << 20,
        flows: 30_000,
        seed: 7,
        dns_names: 0,
    };
    let file = std::io::BufWriter::new(std::fs::File::create(&capture).unwrap());
    write_enterprise(file, &spec).unwrap();
    let deployment = root().join("benches/enterprise-site.toml");
    let mut outs = Vec::new();
    for threads in ["1", "2", "3"] {
        let out = |name: &str| dir.path().join(format!("{name}-{threads}"));
        let o = run(&[
            "audit",
            "-q",
            "-d",
            &path_str(&deployment),
            "--threads",
            threads,
            "-o",
            &path_str(&out("findings.csv")),
            "--flows",
            &path_str(&out("flows.csv")),
            "--stats",
            &path_str(&out("stats.json")),
            &path_str(&capture),
        ]);
        assert!(code(&o) <= 1, "{}", String::from_utf8_lossy(&o.stderr));
        let read = |name: &str| std::fs::read(out(name)).unwrap();
        outs.push((read("findings.csv"), read("flows.csv"), read("stats.json")));
    }
    let flows = String::from_utf8_lossy(&outs[0].1).lines().count();
    assert_eq!(flows, 30_001, "header and every flow");
    assert!(String::from_utf8_lossy(&outs[0].0).lines().count() > 100);
    assert!(outs[1] == outs[0], "2 threads differ from 1");
    assert!(outs[2] == outs[0], "3 threads differ from 1");
}

/// A role bound to a whole network makes every host of it seen in the
/// captures a source of its each-source rules: past 1000 rows a rule's
/// missing-expected findings share one row that counts the rest.
#[test]
fn missing_expected_rows_per_rule_are_bounded_and_the_rest_counted() {
    let dir = tempfile::tempdir().unwrap();
    let (capture, _) = flood(dir.path(), 6000);
    let dep = dir.path().join("wide.toml");
    std::fs::write(
        &dep,
        "name = \"wide\"\n[profiles.binalyze-air.hosts]\nconsole = [\"192.0.2.10\"]\nresponder = [\"10.0.0.0/8\"]\n",
    )
    .unwrap();
    let o = run(&[
        "audit",
        "-q",
        "-d",
        &path_str(&dep),
        &path_str(&capture),
        "--format",
        "ndjson",
    ]);
    assert_eq!(code(&o), 1, "{}", String::from_utf8_lossy(&o.stderr));
    let rows: Vec<serde_json::Value> = o
        .stdout
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| serde_json::from_slice(l).unwrap())
        .collect();
    let of_rule: Vec<&serde_json::Value> = rows
        .iter()
        .filter(|r| {
            r["kind"] == "missing-expected" && r["rule_id"] == "responder-to-console-https-443"
        })
        .collect();
    assert_eq!(of_rule.len(), 1001);
    let rest: Vec<_> = of_rule.iter().filter(|r| r["src_ip"].is_null()).collect();
    assert_eq!(rest.len(), 1);
    let detail = rest[0]["detail"].as_str().unwrap();
    assert!(
        detail.contains("more source(s) of responder never showed it"),
        "{detail}"
    );
}

/// `--max-findings N` keeps N finding rows of flows (the first in key
/// order, on any number of threads) and counts the rest by kind in a
/// tracking-limit row; the exit status stays the audit's.
#[test]
fn max_findings_keeps_the_first_rows_and_counts_the_rest() {
    let dep = path_str(&root().join("examples/air-lab.toml"));
    let cap = path_str(&root().join("fixtures/binalyze-air/violations.pcap"));
    let all = run(&["audit", "-q", "-d", &dep, &cap, "--format", "ndjson"]);
    let capped = |threads: &str| {
        run(&[
            "audit",
            "-q",
            "-d",
            &dep,
            &cap,
            "--format",
            "ndjson",
            "--max-findings",
            "2",
            "--threads",
            threads,
        ])
    };
    let o = capped("1");
    assert_eq!(code(&o), code(&all));
    assert_eq!(o.stdout, capped("2").stdout);
    let text = String::from_utf8(o.stdout).unwrap();
    let limit: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("--max-findings 2:"))
        .collect();
    assert_eq!(limit.len(), 1, "{text}");
    assert!(limit[0].contains("\"kind\":\"tracking-limit\""), "{text}");
    let flow_rows = |t: &str| {
        t.lines()
            .filter(|l| !l.contains("missing-expected") && !l.contains("tracking-limit"))
            .count()
    };
    assert_eq!(flow_rows(&text), 2, "{text}");
    assert!(flow_rows(&String::from_utf8(all.stdout).unwrap()) > 2);
    let o = run(&["audit", "-d", &dep, &cap, "--max-findings", "0"]);
    assert_eq!(code(&o), 2);
}

/// A classic pcap (as the generator writes it: little-endian, 24-byte
/// header) cut into `parts` files of consecutive records, in `dir`.
fn split_pcap(capture: &Path, dir: &Path, parts: usize) {
    let bytes = std::fs::read(capture).unwrap();
    let (header, mut rest) = bytes.split_at(24);
    let mut records = Vec::new();
    while rest.len() >= 16 {
        let len = u32::from_le_bytes(rest[8..12].try_into().unwrap()) as usize;
        let (record, tail) = rest.split_at(16 + len);
        records.push(record);
        rest = tail;
    }
    let per = records.len().div_ceil(parts);
    std::fs::create_dir_all(dir).unwrap();
    for (i, chunk) in records.chunks(per).enumerate() {
        let mut out = header.to_vec();
        for r in chunk {
            out.extend_from_slice(r);
        }
        std::fs::write(dir.join(format!("part{i:02}.pcap")), out).unwrap();
    }
}

/// Once the run's table is full, later files are read against it (only
/// its flows tracked): the flows, what is kept out and every count are
/// those of any thread count, whichever files share a wave.
#[test]
fn files_read_after_the_budget_is_spent_keep_out_what_absorbing_would() {
    let dir = tempfile::tempdir().unwrap();
    let (capture, _) = flood(dir.path(), 120_000);
    let parts = dir.path().join("parts");
    split_pcap(&capture, &parts, 10);
    let mut outs = Vec::new();
    for threads in ["1", "2", "3"] {
        let stats = dir.path().join(format!("s{threads}.json"));
        let o = run(&[
            "flows",
            "-q",
            "--max-flows",
            "10000",
            "--threads",
            threads,
            "--stats",
            &path_str(&stats),
            &path_str(&parts),
        ]);
        assert_eq!(code(&o), 0);
        let s: serde_json::Value = serde_json::from_slice(&std::fs::read(&stats).unwrap()).unwrap();
        assert!(
            s["limits"]["packets_kept_out"].as_u64().unwrap() > 0,
            "the budget bites"
        );
        outs.push((
            o.stdout,
            s["limits"].clone(),
            s["files"].clone(),
            s["packets"].clone(),
        ));
    }
    assert_eq!(outs[0], outs[1]);
    assert_eq!(outs[0], outs[2]);
}
