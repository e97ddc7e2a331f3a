//! Integration tests: the binary run on fixture and corpus captures.

mod apps;
mod cli;
mod corpus;
mod corpus_report;
mod diff;
mod exports;
mod filter;
mod flow_files;
mod fuzz;
mod golden;
mod html;
mod limits;
mod live_files;
mod messages;
mod ndpi;
mod outputs;
mod profiles_cli;
mod records;
mod reports;
mod rpc;
mod seeds;
mod synth;
mod terminal;
mod tshark;
mod tshark_tunnels;
mod tunnels;
mod waivers;
mod watch;
mod zeek;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_portaudit"))
}

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The folder with the third-party corpus (`captures/`) and the vendor
/// documents (`seeds/`): `$PORTAUDIT_SHARED`, else `../shared` beside the
/// repository. A clone on its own has neither.
pub fn shared_dir() -> PathBuf {
    std::env::var_os("PORTAUDIT_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("../shared"))
}

/// Whether the test `what` must be skipped because the shared folder is
/// not there: says so on stderr (once per test) and passes; with
/// `PORTAUDIT_REQUIRE_SHARED=1` (CI) its absence fails the test instead.
pub fn shared_missing(what: &str) -> bool {
    static SAID: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());
    let dir = shared_dir();
    if dir.join("captures").is_dir() && dir.join("seeds").is_dir() {
        return false;
    }
    let why = format!(
        "{what}: {} not found (set PORTAUDIT_SHARED=DIR holding captures/ and seeds/)",
        dir.display()
    );
    assert!(
        std::env::var("PORTAUDIT_REQUIRE_SHARED").as_deref() != Ok("1"),
        "PORTAUDIT_REQUIRE_SHARED=1, but {why}"
    );
    let mut said = SAID.lock().unwrap_or_else(|e| e.into_inner());
    if !said.iter().any(|w| w == what) {
        said.push(what.to_string());
        skip(&why);
    }
    true
}

/// A path of the repository, or of the shared folder for `@shared/...`.
pub fn input_path(rel: &str) -> PathBuf {
    match rel.strip_prefix("@shared/") {
        Some(rest) => shared_dir().join(rest),
        None => root().join(rel),
    }
}

/// The shared third-party corpus.
pub fn corpus() -> PathBuf {
    shared_dir().join("captures")
}

/// The capture files of the corpus (not its MANIFEST or CSV), sorted.
pub fn corpus_captures() -> Vec<PathBuf> {
    let mut files: Vec<_> = std::fs::read_dir(corpus())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "pcap" || x == "pcapng"))
        .collect();
    files.sort();
    files
}

/// Says why a test did not run, on the test process's own stderr: the
/// harness swallows `eprintln!` of tests that pass, and a skip must be
/// seen.
pub fn skip(why: &str) {
    use std::io::Write as _;
    let _ = writeln!(std::io::stderr(), "skipped: {why}");
}

/// Says that `what` is skipped because `tool` is not installed; in CI,
/// which installs every tool (`.ci/run`), fails instead.
pub fn tool_missing(tool: &str, what: &str) {
    assert!(
        std::env::var_os("CI").is_none(),
        "{tool} is required in CI (.ci/run installs it)"
    );
    skip(&format!("{what}: {tool} is not installed"));
}

/// The first of `names` found in a directory of PATH, then of `extra`
/// (in name order, then directory order).
pub fn find_program(names: &[&str], extra: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let dirs: Vec<PathBuf> = std::env::split_paths(&path)
        .chain(extra.iter().map(PathBuf::from))
        .collect();
    names
        .iter()
        .flat_map(|name| dirs.iter().map(move |d| d.join(name)))
        .find(|p| p.is_file())
}

pub fn run(args: &[&str]) -> Output {
    bin()
        .args(args)
        .output()
        .expect("the portaudit binary runs")
}

/// Runs portaudit in the repository's root, so that inputs named relative
/// to it are named so in reports (golden files hold no machine's paths).
pub fn run_in_root(args: &[&str]) -> Output {
    bin()
        .current_dir(root())
        .args(args)
        .env_remove("NO_COLOR")
        .output()
        .expect("the portaudit binary runs")
}

/// A deployment under which every flow is a finding (every flow audited,
/// none allowed), written in `dir`.
pub fn everything_deployment(dir: &Path) -> PathBuf {
    let path = dir.join("everything.toml");
    std::fs::write(
        &path,
        "name = \"everything\"\nscope = \"all\"\n[profiles.binalyze-air.hosts]\nconsole = [\"192.0.2.250\"]\n",
    )
    .unwrap();
    path
}

/// A CSV report's rows without the column `name` (`source`, which names
/// the input each finding or flow was first seen in), to compare the
/// same traffic read from files of other names.
pub fn csv_without(csv: &[u8], name: &str) -> Vec<Vec<String>> {
    let mut r = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(csv);
    let rows: Vec<csv::StringRecord> = r.records().map(Result::unwrap).collect();
    let Some(header) = rows.first() else {
        return Vec::new();
    };
    let skip = header.iter().position(|h| h == name);
    rows.iter()
        .map(|row| {
            row.iter()
                .enumerate()
                .filter(|&(i, _)| Some(i) != skip)
                .map(|(_, c)| c.to_string())
                .collect()
        })
        .collect()
}

pub fn code(o: &Output) -> i32 {
    o.status.code().expect("exited, not killed by a signal")
}

pub fn path_str(p: &Path) -> String {
    p.to_str().expect("test paths are UTF-8").to_string()
}

/// Runs `portaudit flows -q` on `input` and returns the run with its
/// `--stats` JSON.
pub fn flows_with_stats(input: &Path) -> (Output, serde_json::Value) {
    flows_run(input, &["-o", "/dev/null"])
}

/// Runs `portaudit flows -q ARGS input` and returns the run (the flows on
/// stdout unless ARGS say otherwise) with its `--stats` JSON.
pub fn flows_run(input: &Path, args: &[&str]) -> (Output, serde_json::Value) {
    let stats = tempfile::NamedTempFile::new().unwrap();
    let o = bin()
        .args(["flows", "-q", "--stats", &path_str(stats.path())])
        .args(args)
        .arg(input)
        .output()
        .expect("the portaudit binary runs");
    let v = serde_json::from_slice(&std::fs::read(stats.path()).unwrap())
        .unwrap_or_else(|e| panic!("{}: no stats: {e}", input.display()));
    (o, v)
}

/// Writes a generated hostile capture of `packets` packets to `dir/name`
/// (see `portaudit_synth::write_flood`).
pub fn flood_file(
    dir: &Path,
    name: &str,
    packets: u64,
    seed: u64,
) -> (PathBuf, portaudit_synth::FloodCounts) {
    let counts = portaudit_synth::FloodCounts::of(packets);
    let path = dir.join(name);
    let out = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    portaudit_synth::write_flood(out, counts, seed).unwrap();
    (path, counts)
}

/// What one reading of a capture says, to compare two readings of it.
pub fn reading(s: &portaudit::ingest::FileStats) -> impl PartialEq + std::fmt::Debug {
    (
        (
            s.format.clone(),
            s.packets_read,
            s.packets_decoded,
            s.bytes_read,
        ),
        (s.skipped.clone(), s.damage.clone(), s.unreadable.clone()),
        (s.times, s.first_ts, s.last_ts, s.untimed_packets),
        (s.link_types.clone(), s.overflow.clone()),
    )
}

/// Reads `path` as a file with `opts` (segments, chunk size, limits) and
/// checks that it says what `whole`, one walk of the same capture, said,
/// flows included; `what` names the case in a failure.
pub fn assert_file_reads_as(
    path: &Path,
    opts: &portaudit::ingest::IngestOptions,
    whole: &portaudit::ingest::FileStats,
    flows: &portaudit::flow::Flows,
    what: &str,
) {
    let input = portaudit::capture::CaptureInput::File(path.to_path_buf());
    let (t, cut) = portaudit::ingest::ingest_one(&input, opts);
    assert_eq!(reading(whole), reading(&cut), "{what}");
    assert!(*flows == t.finish(), "{what}: flows differ");
}
