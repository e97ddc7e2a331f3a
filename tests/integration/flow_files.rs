//! portaudit's own flow files (docs/inputs.md#portaudit-flow-files): the
//! flows of a capture's shards, written by `portaudit flows` as Parquet or
//! NDJSON and audited together, give byte for byte the audit of the
//! capture, wherever it was cut (a connection across the cut included).

use std::path::{Path, PathBuf};

use crate::{code, corpus_captures, path_str, root, run, shared_missing};

/// A classic pcap's global header and its records, as byte ranges.
fn pcap_records(bytes: &[u8]) -> (&[u8], Vec<&[u8]>) {
    whole_pcap(bytes).expect("a whole little-endian pcap")
}

/// [`pcap_records`], or `None` for anything but a whole little-endian
/// pcap (the corpus has cut and corrupt ones on purpose).
fn whole_pcap(bytes: &[u8]) -> Option<(&[u8], Vec<&[u8]>)> {
    let magic = bytes.get(..4)?;
    if magic != b"\xd4\xc3\xb2\xa1" && magic != b"\x4d\x3c\xb2\xa1" {
        return None;
    }
    let mut records = Vec::new();
    let mut at = 24;
    while at + 16 <= bytes.len() {
        let len = u32::from_le_bytes(bytes[at + 8..at + 12].try_into().unwrap()) as usize;
        records.push(bytes.get(at..at + 16 + len)?);
        at += 16 + len;
    }
    (at == bytes.len()).then_some((&bytes[..24], records))
}

/// Cuts `capture` before each of the packets `cuts` names into shard
/// captures in `dir`.
fn shards(capture: &Path, cuts: &[usize], dir: &Path) -> Vec<PathBuf> {
    let bytes = std::fs::read(capture).unwrap();
    let (header, records) = pcap_records(&bytes);
    let mut bounds = vec![0];
    bounds.extend_from_slice(cuts);
    bounds.push(records.len());
    bounds
        .windows(2)
        .enumerate()
        .map(|(i, w)| {
            let path = dir.join(format!("shard-{i}.pcap"));
            let mut out = header.to_vec();
            for r in &records[w[0]..w[1]] {
                out.extend_from_slice(r);
            }
            std::fs::write(&path, out).unwrap();
            path
        })
        .collect()
}

/// `portaudit flows` of one capture into a flow file (Parquet for
/// `.parquet`, else NDJSON).
fn flow_file(capture: &Path, out: &Path) {
    let mut args = vec!["flows", "-q", "-o"];
    let out_s = path_str(out);
    args.push(&out_s);
    if out.extension().is_some_and(|e| e == "ndjson") {
        args.extend(["--format", "ndjson"]);
    }
    let cap = path_str(capture);
    args.push(&cap);
    let o = run(&args);
    assert_eq!(code(&o), 0, "{}", String::from_utf8_lossy(&o.stderr));
}

/// The findings and every flow with its verdict, as `audit` writes them
/// for `inputs`; and its exit status.
fn audit(deployment: &Path, inputs: &[PathBuf], dir: &Path) -> (i32, Vec<u8>, Vec<u8>) {
    let (findings, flows) = (dir.join("findings.csv"), dir.join("flows.csv"));
    let mut args = vec![
        "audit".to_string(),
        "-q".into(),
        "-d".into(),
        path_str(deployment),
        "-o".into(),
        path_str(&findings),
        "--flows".into(),
        path_str(&flows),
    ];
    args.extend(inputs.iter().map(|p| path_str(p)));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let o = run(&args);
    (
        code(&o),
        std::fs::read(&findings).unwrap(),
        std::fs::read(&flows).unwrap(),
    )
}

const FIXTURES: [(&str, &str); 3] = [
    ("binalyze-air/violations.pcap", "air-lab.toml"),
    ("juniper-jsa/violations.pcap", "jsa-site.toml"),
    ("cayosoft-guardian/violations.pcap", "cayosoft-site.toml"),
];

/// The flow files of a capture's shards audit exactly as the shards'
/// captures do (findings, flows, status, byte for byte: findings name the
/// capture and byte where each was first seen, which the flow files carry);
/// and as the uncut capture does, but for where the evidence is (another
/// file).
#[test]
fn the_flow_files_of_shards_audit_as_the_capture() {
    let tmp = tempfile::tempdir().unwrap();
    for (fixture, deployment) in FIXTURES {
        let capture = root().join("fixtures").join(fixture);
        let deployment = root().join("examples").join(deployment);
        let whole = audit(&deployment, std::slice::from_ref(&capture), tmp.path());
        assert!(!whole.1.is_empty());
        let packets = pcap_records(&std::fs::read(&capture).unwrap()).1.len();
        // Two shards cut before every packet, and three at a few places.
        let mut cuts: Vec<Vec<usize>> = (1..packets).map(|k| vec![k]).collect();
        cuts.extend([vec![1, packets / 2], vec![packets / 3, 2 * packets / 3]]);
        for cut in cuts {
            let dir = tempfile::tempdir_in(tmp.path()).unwrap();
            let captures = shards(&capture, &cut, dir.path());
            let files: Vec<PathBuf> = captures
                .iter()
                .enumerate()
                .map(|(i, shard)| {
                    // Parquet and NDJSON mixed: both are flow files.
                    let ext = if i % 2 == 0 { "parquet" } else { "ndjson" };
                    let out = shard.with_extension(ext);
                    flow_file(shard, &out);
                    out
                })
                .collect();
            let shards = audit(&deployment, &files, dir.path());
            let read = audit(&deployment, &captures, dir.path());
            assert_eq!(shards.0, read.0, "{fixture} cut at {cut:?}: status");
            assert!(
                shards.1 == read.1,
                "{fixture} cut at {cut:?}: findings differ from the shards':\n{}\n---\n{}",
                String::from_utf8_lossy(&shards.1),
                String::from_utf8_lossy(&read.1)
            );
            assert!(
                shards.2 == read.2,
                "{fixture} cut at {cut:?}: flows differ from the shards'"
            );
            assert_eq!(shards.0, whole.0, "{fixture} cut at {cut:?}: status");
            assert_eq!(
                crate::csv_without(&shards.1, "source"),
                crate::csv_without(&whole.1, "source"),
                "{fixture} cut at {cut:?}: findings differ from the capture's"
            );
            assert!(
                crate::csv_without(&shards.2, "source") == crate::csv_without(&whole.2, "source"),
                "{fixture} cut at {cut:?}: flows differ"
            );
        }
    }
}

/// The corpus's whole classic pcaps, each cut in three: `portaudit flows`
/// of the shards' flow files is byte for byte the flows of the shard
/// captures read together, and the flows of the whole capture but where a
/// fragmented datagram straddles a cut (its later fragments, in the next
/// file, find no first fragment: files do not share fragments,
/// docs/inputs.md#portaudit-flow-files).
#[test]
fn corpus_flow_files_of_shards_are_the_captures_flows() {
    if shared_missing("flow_files::corpus_flow_files_of_shards_are_the_captures_flows") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let (mut checked, mut differ, mut straddle) = (0, Vec::new(), Vec::new());
    for capture in corpus_captures() {
        let bytes = std::fs::read(&capture).unwrap();
        if bytes.len() > 8 << 20 {
            continue;
        }
        let Some((_, records)) = whole_pcap(&bytes) else {
            continue;
        };
        let n = records.len();
        if n < 3 {
            continue;
        }
        let dir = tempfile::tempdir_in(tmp.path()).unwrap();
        let shards = shards(&capture, &[n / 3, 2 * n / 3], dir.path());
        let files: Vec<PathBuf> = shards
            .iter()
            .map(|s| {
                let out = s.with_extension("parquet");
                flow_file(s, &out);
                out
            })
            .collect();
        let flows_of = |inputs: &[PathBuf], out: &str| {
            let out = dir.path().join(out);
            let mut args = vec![
                "flows".to_string(),
                "-q".into(),
                "-o".into(),
                path_str(&out),
            ];
            args.extend(inputs.iter().map(|p| path_str(p)));
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            run(&args);
            std::fs::read(out).unwrap()
        };
        let together = flows_of(&shards, "shards.csv");
        let merged = flows_of(&files, "merged.csv");
        if together != merged {
            differ.push(capture.display().to_string());
        }
        let whole = flows_of(std::slice::from_ref(&capture), "whole.csv");
        // The same flows but for where each was first seen (a shard).
        if crate::csv_without(&whole, "source") != crate::csv_without(&together, "source") {
            straddle.push(capture.display().to_string());
        }
        checked += 1;
    }
    assert!(
        differ.is_empty(),
        "flow files differ from their captures: {differ:#?}"
    );
    assert!(
        straddle.iter().all(|c| c.contains("fragments")),
        "cutting changed more than fragments: {straddle:#?}"
    );
    assert!(checked >= 5, "only {checked} classic pcaps in the corpus");
}

/// A flow file's bad rows are counted and named, the rest audited; a
/// file of another layout version is refused row by row.
#[test]
fn a_damaged_flow_file_is_counted_and_the_rest_read() {
    let tmp = tempfile::tempdir().unwrap();
    let capture = root().join("fixtures/binalyze-air/violations.pcap");
    let good = tmp.path().join("good.ndjson");
    flow_file(&capture, &good);
    let text = std::fs::read_to_string(&good).unwrap();
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    // Flows, and a last line that lists the inputs (not a record).
    assert!(lines.last().unwrap().starts_with("{\"portaudit_inputs\":"));
    let n = lines.len() - 1;
    let version = format!("\"v\":{}", portaudit::flow::STORED_VERSION);
    lines[1] = lines[1].replace(&version, "\"v\":99");
    lines[2] = lines[2].replace("\"syn_dir\":1", "\"syn_dir\":7");
    lines[3].truncate(40);
    let bad = tmp.path().join("bad.ndjson");
    std::fs::write(&bad, lines.join("\n") + "\n").unwrap();
    let (o, stats) = crate::flows_run(&bad, &["-o", "/dev/null"]);
    assert_eq!(code(&o), 3, "{}", String::from_utf8_lossy(&o.stderr));
    let file = &stats["files"][0];
    assert_eq!(file["format"], "portaudit-flows", "{file}");
    assert_eq!(file["packets_read"], n, "{file}");
    assert_eq!(file["packets_used"], n - 3, "{file}");
    let damage = file["damage"].to_string();
    for said in ["line 2", "version 99", "line 3", "syn_dir 7", "line 4"] {
        assert!(damage.contains(said), "{said}: {damage}");
    }
}

/// DuckDB, a reader others wrote, reads a Parquet flow file as it is: the
/// CSV's columns with their types, and the same flows.
#[test]
fn duckdb_reads_a_parquet_flow_file() {
    let python = std::process::Command::new("python3")
        .args(["-c", "import duckdb"])
        .output();
    if !python.is_ok_and(|o| o.status.success()) {
        assert!(
            std::env::var("PORTAUDIT_REQUIRE_DUCKDB").as_deref() != Ok("1"),
            "PORTAUDIT_REQUIRE_DUCKDB=1 and python3 cannot import duckdb"
        );
        return crate::skip("DuckDB's Python module is not installed (pip install duckdb)");
    }
    let tmp = tempfile::tempdir().unwrap();
    let capture = root().join("fixtures/binalyze-air/violations.pcap");
    let parquet = tmp.path().join("flows.parquet");
    flow_file(&capture, &parquet);
    let csv = tmp.path().join("flows.csv");
    let o = run(&["flows", "-q", &path_str(&capture), "-o", &path_str(&csv)]);
    assert_eq!(code(&o), 0);
    let ours = std::fs::read_to_string(&csv).unwrap().replace("\r\n", "\n");
    let header = ours.lines().next().unwrap();
    // The times are typed (TIMESTAMP WITH TIME ZONE, in nanoseconds):
    // printed as the CSV prints them; the source is typed in three
    // columns.
    let select = header
        .split(',')
        .map(|c| match c {
            "first_seen" | "last_seen" => format!("strftime({c}, '%Y-%m-%dT%H:%M:%S.%fZ') AS {c}"),
            "source" => "rec_source_input || ' ' || rec_source_unit || ' ' || rec_source_at \
                         AS source"
                .to_string(),
            c => c.to_string(),
        })
        .collect::<Vec<_>>()
        .join(", ");
    let query = format!(
        "import duckdb\n\
         duckdb.sql(\"SET TimeZone='UTC'\")\n\
         rows = duckdb.sql(\"SELECT {select} FROM '{}'\")\n\
         print(','.join(rows.columns))\n\
         for r in rows.fetchall():\n    print(','.join('' if v is None else str(v) for v in r))\n\
         print(duckdb.sql(\"SELECT typeof(responder_port), typeof(rec_first_ns), typeof(first_seen) FROM '{}' LIMIT 1\").fetchall()[0])",
        path_str(&parquet),
        path_str(&parquet)
    );
    let o = std::process::Command::new("python3")
        .args(["-c", &query])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let out = String::from_utf8(o.stdout).unwrap();
    let (table, types) = out.trim_end().rsplit_once('\n').unwrap();
    assert_eq!(table, ours.trim_end(), "DuckDB's rows are the CSV's");
    assert_eq!(types, "('UBIGINT', 'DECIMAL(38,0)', 'TIMESTAMPTZ_NS')");
}

/// A flow file carries what was wrong with the inputs its flows were read
/// from: an audit of the flow file of a damaged capture says the capture
/// was damaged and exits 3, as the audit of the capture does, with the
/// same findings (which name the capture), and `--stats` lists the
/// capture's counts.
#[test]
fn a_flow_file_carries_its_inputs_damage() {
    let tmp = tempfile::tempdir().unwrap();
    let bytes = std::fs::read(root().join("fixtures/binalyze-air/violations.pcap")).unwrap();
    let cut = tmp.path().join("cut.pcap");
    // Into the middle of a record: the capture ends cut short.
    std::fs::write(&cut, &bytes[..bytes.len() * 2 / 3 + 7]).unwrap();
    let deployment = root().join("examples/air-lab.toml");
    let direct = audit(&deployment, std::slice::from_ref(&cut), tmp.path());
    assert_eq!(direct.0, 3, "a capture cut short is damaged input");
    for ext in ["parquet", "ndjson"] {
        let file = tmp.path().join(format!("cut.{ext}"));
        let mut args = vec!["flows", "-q", "-o"];
        let file_s = path_str(&file);
        args.push(&file_s);
        if ext == "ndjson" {
            args.extend(["--format", "ndjson"]);
        }
        let cut_s = path_str(&cut);
        args.push(&cut_s);
        assert_eq!(code(&run(&args)), 3, "{ext}: flows says so too");
        let read = audit(&deployment, std::slice::from_ref(&file), tmp.path());
        assert_eq!(
            read.0, 3,
            "{ext}: the flow file's audit exits as the capture's"
        );
        assert_eq!(read.1, direct.1, "{ext}: findings");
        let o = run(&[
            "audit",
            "-d",
            &path_str(&deployment),
            &file_s,
            "-o",
            "/dev/null",
        ]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(
            err.contains("incomplete:") && err.contains(&cut_s) && err.contains("damaged"),
            "{ext}: {err}"
        );
        let (_, stats) = crate::flows_run(&file, &["-o", "/dev/null"]);
        let carried = &stats["files"][0]["carried_inputs"][0];
        assert_eq!(carried["name"], cut_s.as_str(), "{stats}");
        assert!(carried["read"].as_u64().unwrap() > 40, "{carried}");
        assert_eq!(carried["read"], carried["used"], "{carried}");
        assert!(
            carried["problems"][0].as_str().unwrap().contains("damaged"),
            "{carried}"
        );
    }
}

/// Flow files of layout version 1 (before sources) still read: the same
/// findings as the capture's, but for the source they cannot name.
#[test]
fn version_1_flow_files_still_read() {
    let tmp = tempfile::tempdir().unwrap();
    let deployment = root().join("examples/air-lab.toml");
    let capture = root().join("fixtures/binalyze-air/violations.pcap");
    let direct = audit(&deployment, std::slice::from_ref(&capture), tmp.path());
    for name in ["violations-v1.flows.ndjson", "violations-v1.flows.parquet"] {
        let file = root().join("tests/data/records").join(name);
        let read = audit(&deployment, std::slice::from_ref(&file), tmp.path());
        assert_eq!(read.0, direct.0, "{name}: status");
        assert_eq!(
            crate::csv_without(&read.1, "source"),
            crate::csv_without(&direct.1, "source"),
            "{name}: findings"
        );
        let text = String::from_utf8_lossy(&read.1);
        assert!(
            text.lines().skip(1).all(|l| l.ends_with(',')),
            "{name}: {text}"
        );
    }
}

/// Flow files of layout version 2 (the Parquet flow by the key's sides in
/// rec_* columns of its own, before layout 4 took them from the readable
/// columns) still read: the capture's findings, sources included (as
/// named when the file was written, relative to the repository).
#[test]
fn version_2_flow_files_still_read() {
    let tmp = tempfile::tempdir().unwrap();
    let deployment = root().join("examples/air-lab.toml");
    let capture = root().join("fixtures/binalyze-air/violations.pcap");
    let direct = audit(&deployment, std::slice::from_ref(&capture), tmp.path());
    for name in ["violations-v2.flows.ndjson", "violations-v2.flows.parquet"] {
        let file = root().join("tests/data/records").join(name);
        let read = audit(&deployment, std::slice::from_ref(&file), tmp.path());
        assert_eq!(read.0, direct.0, "{name}: status");
        let prefix = format!("{}/", path_str(&root()));
        let direct = String::from_utf8_lossy(&direct.1).replace(&prefix, "");
        let read = String::from_utf8_lossy(&read.1).to_string();
        assert!(
            read.contains(",fixtures/binalyze-air/violations.pcap byte "),
            "{read}"
        );
        assert!(
            read == direct,
            "{name}: findings\n{read}\nagainst\n{direct}"
        );
    }
}

/// A time the readable `first_seen` cannot hold (nanoseconds past 2262,
/// as a Zeek line may give) is kept whole in `rec_first_ns`: the flows of
/// the Parquet file read back are the conn.log's, times included.
#[test]
fn a_time_past_2262_survives_a_parquet_flow_file() {
    let tmp = tempfile::tempdir().unwrap();
    let log = std::fs::read_to_string(root().join("tests/data/records/zeek-conn.log")).unwrap();
    let far = log.replacen("\n1600000001.001111\t", "\n9999999999.001111\t", 1);
    assert_ne!(far, log, "the fixture's first line moved");
    let input = tmp.path().join("far.conn.log");
    std::fs::write(&input, far).unwrap();
    let flows = |input: &Path, out: &Path| {
        let o = run(&["flows", "-q", &path_str(input), "-o", &path_str(out)]);
        assert_eq!(code(&o), 0, "{}", String::from_utf8_lossy(&o.stderr));
        std::fs::read_to_string(out).unwrap_or_default()
    };
    let direct = flows(&input, &tmp.path().join("direct.csv"));
    assert!(direct.contains(",2286-11-20T17:46:39.001111Z,"), "{direct}");
    let parquet = tmp.path().join("far.parquet");
    flows(&input, &parquet);
    let back = flows(&parquet, &tmp.path().join("back.csv"));
    let rows = |csv: &str| crate::csv_without(csv.as_bytes(), "source");
    assert_eq!(rows(&back), rows(&direct));
}

/// A Parquet footer whose schema list claims 300 million elements in a
/// 25-byte file: parquet 57 reserved them all first (28.8 GB) and the
/// process aborted; now the file is damage, named, exit 3, and the capture
/// beside it is audited as it is alone (found by the `flow_records` fuzz
/// target).
#[test]
fn a_parquet_footer_that_lies_about_its_lists_is_damage_not_an_abort() {
    fn varint(mut n: u64, out: &mut Vec<u8>) {
        while n >= 0x80 {
            out.push(n as u8 | 0x80);
            n >>= 7;
        }
        out.push(n as u8);
    }
    // FileMetaData, Thrift compact: version (i32) 2, then the schema as a
    // list of structs whose size says 300 000 000.
    let mut meta = vec![0x15, 0x04, 0x19, 0xfc];
    varint(300_000_000, &mut meta);
    meta.extend([0; 4]);
    let mut file = b"PAR1".to_vec();
    file.extend(&meta);
    file.extend((meta.len() as u32).to_le_bytes());
    file.extend(b"PAR1");
    let tmp = tempfile::tempdir().unwrap();
    let lying = tmp.path().join("lying.parquet");
    std::fs::write(&lying, &file).unwrap();
    let deployment = root().join("examples/air-lab.toml");
    let capture = root().join("fixtures/binalyze-air/violations.pcap");
    let alone = audit(&deployment, std::slice::from_ref(&capture), tmp.path());
    let both = audit(&deployment, &[capture, lying.clone()], tmp.path());
    assert_eq!(alone.0, 1, "the capture's violations");
    assert_eq!(both.0, 3, "damage");
    assert_eq!((&both.1, &both.2), (&alone.1, &alone.2));
    let o = run(&["flows", "-q", &path_str(&lying)]);
    assert_eq!(code(&o), 3);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("lying.parquet: byte 0: not a Parquet file") && err.contains("300000000"),
        "{err}"
    );
}
