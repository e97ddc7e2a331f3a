//! Wiring: a validated configuration in, stages run in order, an outcome
//! (with its exit status) out. The threading of reading lives in
//! [`crate::ingest`].

mod check;
mod collect;
mod diff;

mod progress;
mod scaffold;
mod sink;
mod watch;

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::PathBuf;
use std::sync::Arc;

pub use check::{run_check, CheckConfig};
pub use collect::{run_collect, CollectConfig};
pub use diff::{run_diff, DiffConfig, DiffFormat};
pub use scaffold::deployment_skeleton;
pub use watch::{run_watch, WatchConfig};

use progress::ProgressLine;
use sink::Sink;

use crate::audit::{AuditReport, Auditor, BaselineState, Finding, FlowVerdict, Verdict};
use crate::capture::{expand_inputs, CaptureInput, InputError, Timestamp};
use crate::filter::PacketFilter;
use crate::flow::{resolve, FlowStats, FlowSummary, PackedKey};
use crate::ingest::{ingest, kept_out, FileStats, IngestOptions, Ingested, Progress};
pub use crate::report::Format;
use crate::report::{
    self, read_findings, AuditDoc, Audited, Baseline, FindingRow, FlowColumns, MatrixFormat,
    ReportWriter, RunSummary,
};
use crate::rpc::Knowledge;
use crate::rules::{Catalog, Deployment, Profile, RulesError, Severity};

pub use crate::report::exit_code;

/// Where a report goes: a file, or stdout for `-`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Output {
    Stdout,
    File(PathBuf),
}

impl Output {
    pub fn parse(s: &std::path::Path) -> Output {
        if s.as_os_str() == "-" {
            Output::Stdout
        } else {
            Output::File(s.to_path_buf())
        }
    }

    pub fn open(&self) -> io::Result<Box<dyn Write + Send>> {
        Ok(match self {
            // Unlocked, so that a Parquet writer may move it between threads;
            // the buffer takes the lock once per 8 KiB.
            Output::Stdout => Box::new(BufWriter::new(io::stdout())),
            Output::File(p) => Box::new(BufWriter::new(File::create(p).map_err(|e| {
                io::Error::new(e.kind(), format!("cannot write {}: {e}", p.display()))
            })?)),
        })
    }
}

/// Where the findings and reports of an audit go.
pub struct Reports {
    /// `--format` of the findings and flows.
    pub format: Format,
    /// The findings' format, which may be a table for a terminal.
    pub findings_format: Format,
    /// The reports asked for and where each goes, in the order of
    /// [`report::WRITERS`].
    pub outputs: Vec<(&'static dyn ReportWriter, Output)>,
}

impl Reports {
    /// The reports asked for: `(option, where)` pairs, an option naming a
    /// writer of [`report::WRITERS`] (`output` for the findings). Two
    /// reports cannot share a file, nor standard output.
    pub fn new(
        (format, findings_format): (Format, Format),
        asked: &[(&str, Option<Output>)],
    ) -> Result<Reports, RunError> {
        let outputs: Vec<(&'static dyn ReportWriter, Output)> = report::WRITERS
            .iter()
            .filter_map(|&w| {
                let (_, out) = asked.iter().find(|(o, _)| *o == w.option())?;
                Some((w, out.clone()?))
            })
            .collect();
        check_distinct(outputs.iter().map(|(w, o)| (w.option(), o)))?;
        Ok(Reports {
            format,
            findings_format,
            outputs,
        })
    }

    /// Whether a report needs every flow with its verdict.
    fn need_flows(&self) -> bool {
        self.outputs.iter().any(|(w, _)| w.needs_flows())
    }
}

/// What an audit judges against and where it reports: the same for
/// `audit` and `watch`.
pub struct AuditSetup {
    pub deployment: PathBuf,
    pub rules_dirs: Vec<PathBuf>,
    pub reports: Reports,
    /// `None`: never fail on findings.
    pub fail_on: Option<Severity>,
    /// `--baseline`: an earlier run's findings report.
    pub baseline: Option<PathBuf>,
    /// `--fail-on-baseline`: findings the baseline had fail too.
    pub fail_on_baseline: bool,
    /// `--max-findings`: finding rows of flows kept at most.
    pub max_findings: usize,
}

impl AuditSetup {
    /// The baseline's findings, read before any capture is.
    fn read_baseline(&self) -> Result<Option<Vec<FindingRow>>, RunError> {
        let Some(path) = &self.baseline else {
            return Ok(None);
        };
        let text = std::fs::read_to_string(path).map_err(|e| {
            RunError::Usage(format!("--baseline {}: cannot read: {e}", path.display()))
        })?;
        read_findings(&text)
            .map(Some)
            .map_err(|e| RunError::Usage(format!("--baseline {}: {e}", path.display())))
    }
}

/// Marks each finding new or unchanged against the baseline's rows
/// (matched by [`report::key_of`]); returns the baseline's findings this
/// run no longer has.
fn apply_baseline(findings: &mut [Finding], baseline: &[FindingRow]) -> Vec<FindingRow> {
    let key = |row: &FindingRow| {
        let values: Vec<&str> = report::KEY_COLUMNS
            .iter()
            .map(|c| row.get(*c).map_or("", String::as_str))
            .collect();
        report::fingerprint(&values)
    };
    let mut known: std::collections::HashMap<String, Vec<usize>> = Default::default();
    for (i, row) in baseline.iter().enumerate().rev() {
        known.entry(key(row)).or_default().push(i);
    }
    let mut matched = vec![false; baseline.len()];
    for f in findings.iter_mut() {
        let k = report::fingerprint(&report::key_of(f));
        f.baseline = Some(match known.get_mut(&k).and_then(Vec::pop) {
            Some(i) => {
                matched[i] = true;
                BaselineState::Unchanged
            }
            None => BaselineState::New,
        });
    }
    baseline
        .iter()
        .zip(matched)
        .filter(|(_, m)| !m)
        .map(|(r, _)| r.clone())
        .collect()
}

/// How a run reads and speaks: the same for every command that reads.
pub struct RunOptions {
    pub threads: usize,
    pub ingest: IngestOptions,
    pub quiet: bool,
    /// Paint the stderr summary with ANSI colours.
    pub color: bool,
    /// stderr is a terminal: counts in the summary get thousands
    /// separators.
    pub terminal: bool,
}

/// `portaudit audit`, validated.
pub struct AuditConfig {
    pub setup: AuditSetup,
    pub run: RunOptions,
    pub inputs: Vec<PathBuf>,
    /// Show a progress line on stderr while captures are read.
    pub progress: bool,
}

/// `portaudit flows`, validated.
pub struct FlowsConfig {
    pub run: RunOptions,
    pub inputs: Vec<PathBuf>,
    pub output: Output,
    /// `None`: Parquet (a flow file for other tools and for `audit`).
    pub format: Option<Format>,
    pub stats: Option<PathBuf>,
    /// Show a progress line on stderr while captures are read.
    pub progress: bool,
}

/// Timestamps later than this are "in the future": a day past now, or past
/// `SOURCE_DATE_EPOCH` when it is set, so that runs can be reproduced.
pub fn future_after() -> Timestamp {
    const DAY_NS: i128 = 86_400 * 1_000_000_000;
    let now_secs = std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|v| v.trim().parse::<i64>().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs() as i64)
        });
    Timestamp(i128::from(now_secs) * 1_000_000_000 + DAY_NS)
}

/// Why a run could not complete.
#[derive(Debug)]
pub enum RunError {
    Rules(RulesError),
    Input(InputError),
    Io(io::Error),
    Threads(String),
    /// A name on the command line that means nothing (an unknown profile).
    Usage(String),
    /// A live capture cannot start (permission, interface, filter).
    Capture(String),
}

impl std::fmt::Display for RunError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RunError::Rules(e) => write!(f, "{e}"),
            RunError::Input(e) => write!(f, "{e}"),
            RunError::Io(e) => write!(f, "{e}"),
            RunError::Threads(e) => write!(f, "cannot start worker threads: {e}"),
            RunError::Usage(e) | RunError::Capture(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for RunError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            RunError::Rules(e) => Some(e),
            RunError::Input(e) => Some(e),
            RunError::Io(e) => Some(e),
            RunError::Threads(_) | RunError::Usage(_) | RunError::Capture(_) => None,
        }
    }
}

impl From<io::Error> for RunError {
    fn from(e: io::Error) -> Self {
        RunError::Io(e)
    }
}

/// Compiles `--filter` for our reader (see [`crate::filter`]).
#[cfg(feature = "libpcap")]
pub fn packet_filter(expression: &str) -> Result<Arc<PacketFilter>, RunError> {
    PacketFilter::libpcap(expression)
        .map(Arc::new)
        .map_err(RunError::Usage)
}

/// Without libpcap nothing compiles a filter: says how to build with it.
#[cfg(not(feature = "libpcap"))]
pub fn packet_filter(_expression: &str) -> Result<Arc<PacketFilter>, RunError> {
    Err(watch::needs_libpcap("--filter"))
}

/// Loads the shipped profiles and any `--rules` directories.
pub fn load_catalog(dirs: &[PathBuf]) -> Result<Catalog, RulesError> {
    let mut c = Catalog::shipped()?;
    for d in dirs {
        c.add_dir(d)?;
    }
    Ok(c)
}

/// Looks profile `id` up, or says which ids exist.
fn find_profile<'c>(catalog: &'c Catalog, id: &str) -> Result<&'c Profile, RunError> {
    catalog.get(id).ok_or_else(|| {
        RunError::Usage(format!(
            "unknown profile {id:?}; known profiles: {} (see `portaudit rules list`)",
            catalog.names().join(", ")
        ))
    })
}

/// `portaudit rules list`.
pub fn run_rules_list(
    rules_dirs: &[PathBuf],
    format: MatrixFormat,
    output: &Output,
) -> Result<i32, RunError> {
    let catalog = load_catalog(rules_dirs).map_err(RunError::Rules)?;
    report::write_profile_list(output.open()?, catalog.profiles(), format)?;
    Ok(exit_code::CLEAN)
}

/// `portaudit rules show ID`.
pub fn run_rules_show(
    rules_dirs: &[PathBuf],
    id: &str,
    format: MatrixFormat,
    output: &Output,
) -> Result<i32, RunError> {
    let catalog = load_catalog(rules_dirs).map_err(RunError::Rules)?;
    let p = find_profile(&catalog, id)?;
    report::write_matrix(output.open()?, p, format)?;
    Ok(exit_code::CLEAN)
}

/// `portaudit init --profile ID...`; an existing file is kept unless `force`.
pub fn run_init(
    rules_dirs: &[PathBuf],
    ids: &[String],
    output: &Output,
    force: bool,
) -> Result<i32, RunError> {
    if let Output::File(p) = output {
        if !force && p.exists() {
            return Err(RunError::Usage(format!(
                "{} exists; pass --force to overwrite it",
                p.display()
            )));
        }
    }
    let catalog = load_catalog(rules_dirs).map_err(RunError::Rules)?;
    let mut profiles: Vec<&Profile> = Vec::new();
    for id in ids {
        let p = find_profile(&catalog, id)?;
        if profiles.iter().any(|q| q.id == p.id) {
            return Err(RunError::Usage(format!(
                "profile {:?} is named twice (an alias names the same profile)",
                p.id
            )));
        }
        profiles.push(p);
    }
    let mut out = output.open()?;
    out.write_all(deployment_skeleton(&profiles).as_bytes())?;
    out.flush()?;
    Ok(exit_code::CLEAN)
}

fn pool(threads: usize) -> Result<rayon::ThreadPool, RunError> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .map_err(|e| RunError::Threads(e.to_string()))
}

/// Reads the captures on `pool`, with a progress line on stderr when asked.
fn read_all(
    captures: &[CaptureInput],
    opts: &IngestOptions,
    progress: bool,
    pool: &rayon::ThreadPool,
) -> Ingested {
    let mut opts = opts.clone();
    let line = progress.then(|| {
        let counts = Arc::new(Progress::default());
        opts.progress = Some(Arc::clone(&counts));
        ProgressLine::start(counts, progress::total_bytes(captures))
    });
    let ingested = pool.install(|| ingest(captures, &opts));
    if let Some(line) = line {
        line.finish();
    }
    ingested
}

use crate::report::input_status;

/// Unreadable and damaged inputs, printed even with `--quiet`.
fn print_problems(files: &[FileStats]) {
    for f in files {
        if let Some(u) = &f.unreadable {
            eprintln!("error: {}: {u}", f.name);
        }
        for d in &f.damage {
            eprintln!("damaged: {}: {}", f.name, f.describe(d));
        }
        if let Some(note) = f.incomplete_note() {
            eprintln!("incomplete: {}: {note}", f.name);
        }
    }
}

/// Runs an audit; returns the exit status.
pub fn run_audit(cfg: &AuditConfig) -> Result<i32, RunError> {
    let catalog = load_catalog(&cfg.setup.rules_dirs).map_err(RunError::Rules)?;
    let deployment = Deployment::load(&cfg.setup.deployment, &catalog).map_err(RunError::Rules)?;
    let inputs = expand_inputs(&cfg.inputs).map_err(RunError::Input)?;
    cfg.setup.reports.check_writable()?;
    let baseline = cfg.setup.read_baseline()?;
    let pool = pool(cfg.run.threads)?;
    let Ingested { table, files, rpc } =
        read_all(&inputs.captures, &cfg.run.ingest, cfg.progress, &pool);
    // What the inputs taught is resolved while the flows are.
    let (flows, knowledge) = pool.install(|| rayon::join(|| table.finish(), || Knowledge::of(rpc)));
    let auditor = Auditor::new(&deployment)
        .max_findings(cfg.setup.max_findings)
        .knowing(Arc::new(knowledge));
    let filter_report = cfg.run.ingest.filter.as_ref().map(|f| f.report());
    let left_out = crate::ingest::left_out(&files);
    let mut report = audit_flows(
        &auditor,
        flows,
        &files,
        left_out.as_deref(),
        &cfg.setup.reports,
        &cfg.run.ingest.limits,
        &pool,
    );
    let absent = baseline
        .as_deref()
        .map(|rows| apply_baseline(&mut report.findings, rows));
    let baseline_file = cfg.setup.baseline.as_ref().map(|p| p.display().to_string());
    let summary = audit_summary(
        &report,
        &files,
        &inputs.not_captures,
        &cfg.setup,
        filter_report.as_ref(),
        baseline_of(&cfg.setup, baseline_file.as_deref(), absent.as_deref()),
    );
    let doc = AuditDoc {
        deployment: &deployment,
        deployment_file: cfg.setup.deployment.display().to_string(),
        run: &summary,
    };
    let failed = pool.install(|| write_reports(&cfg.setup.reports, &report, &doc, Writes::All));
    if !cfg.run.quiet {
        eprint!(
            "{}",
            summary.to_text_grouped(cfg.run.color, cfg.run.terminal)
        );
    }
    let status = after_writes(failed, verdict(&summary, cfg.run.quiet));
    // The run ends here: its largest tables (the findings, what the
    // inputs taught) are left to the process's end rather than freed
    // piece by piece.
    drop(summary);
    std::mem::forget(report);
    std::mem::forget(auditor);
    Ok(status)
}

/// The run summary of an audit.
fn audit_summary<'a>(
    report: &'a AuditReport<'_>,
    files: &'a [FileStats],
    not_captures: &'a [PathBuf],
    setup: &AuditSetup,
    filter: Option<&'a crate::filter::FilterReport>,
    baseline: Option<Baseline<'a>>,
) -> RunSummary<'a> {
    RunSummary {
        files,
        flows: report.summary.clone(),
        findings: Some(&report.findings),
        coverage: &report.coverage,
        not_captures,
        fail_on: setup.fail_on,
        filter,
        baseline,
        rpc: Some(&report.rpc),
    }
}

/// What the summary says of `--baseline`, once findings are marked.
fn baseline_of<'a>(
    setup: &AuditSetup,
    file: Option<&'a str>,
    absent: Option<&'a [FindingRow]>,
) -> Option<Baseline<'a>> {
    Some(Baseline {
        file: file?,
        absent: absent?,
        fail_on_known: setup.fail_on_baseline,
    })
}

/// Audits finished flows; the flows themselves are kept in the report
/// only when `--flows` asks for them.
fn audit_flows<'d>(
    auditor: &Auditor<'d>,
    flows: crate::flow::Flows,
    files: &[FileStats],
    left_out: Option<&str>,
    reports: &Reports,
    limits: &crate::flow::Limits,
    pool: &rayon::ThreadPool,
) -> AuditReport<'d> {
    let kept_out = kept_out(files);
    let keep = reports.need_flows();
    pool.install(|| auditor.audit(&flows, &kept_out, left_out, limits, keep))
}

/// Refuses two outputs on one file, or two on standard output: the
/// second would silently overwrite, or run into, the first.
fn check_distinct<'a>(
    outputs: impl Iterator<Item = (&'a str, &'a Output)>,
) -> Result<(), RunError> {
    let mut seen: Vec<(&str, &Output, Option<PathBuf>)> = Vec::new();
    for (option, output) in outputs {
        // The same file under two names (`x.csv`, `./x.csv`) is the same.
        let canonical = match output {
            Output::File(p) => std::path::absolute(p).ok(),
            Output::Stdout => None,
        };
        if let Some((other, _, _)) = seen
            .iter()
            .find(|(_, o, c)| *o == output || (canonical.is_some() && *c == canonical))
        {
            let what = match output {
                Output::Stdout => "standard output (-)".to_string(),
                Output::File(p) => p.display().to_string(),
            };
            return Err(RunError::Usage(format!(
                "--{other} and --{option} both write to {what}; give each report its own file"
            )));
        }
        seen.push((option, output, canonical));
    }
    Ok(())
}

/// Checks that every file among `outputs` can be created, leaving nothing
/// behind.
fn check_writable<'a>(outputs: impl Iterator<Item = &'a Output>) -> io::Result<()> {
    for output in outputs {
        if let Output::File(path) = output {
            drop(Sink::replacing(path)?);
        }
    }
    Ok(())
}

/// Which outputs a call of [`write_reports`] writes, and how.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Writes {
    /// Every output, in place (an audit).
    All,
    /// Files only, each replaced whole: a live audit's interval report
    /// (stdout gets the final report alone).
    #[cfg_attr(not(feature = "libpcap"), allow(dead_code))]
    Interval,
    /// Every output, files replaced whole: a live audit's final report,
    /// which must not destroy the last interval's if it is cut short.
    #[cfg_attr(not(feature = "libpcap"), allow(dead_code))]
    Final,
}

/// Writes the findings and every report asked for. One output that fails
/// (a closed pipe, a full disk) does not stop the others; files are
/// written beside and renamed, so a failed one leaves nothing half
/// written. Returns the failures, each naming its output.
fn write_reports(
    reports: &Reports,
    report: &AuditReport,
    doc: &AuditDoc<'_>,
    writes: Writes,
) -> Vec<io::Error> {
    let audited = Audited {
        report,
        doc,
        format: reports.format,
        findings_format: reports.findings_format,
    };
    let mut failed = Vec::new();
    for (writer, output) in &reports.outputs {
        let sink = match (output, writes) {
            (Output::Stdout, Writes::Interval) => continue,
            (Output::Stdout, _) => Sink::direct(output),
            (Output::File(p), _) => Sink::replacing(p),
        };
        let written = sink.and_then(|mut sink| {
            writer.write(&mut sink, &audited)?;
            sink.done()
        });
        if let Err(e) = written {
            failed.push(name_output(e, output));
        }
    }
    failed
}

/// `e` with the output it happened on, unless it names it already.
fn name_output(e: io::Error, output: &Output) -> io::Error {
    let name = match output {
        Output::Stdout => "standard output".to_string(),
        Output::File(p) => p.display().to_string(),
    };
    if e.to_string().contains(&name) {
        e
    } else {
        io::Error::new(e.kind(), format!("cannot write {name}: {e}"))
    }
}

/// The exit status once reports were written: a report that could not be
/// written is an error (2), said on stderr; a closed standard output is
/// the reader's choice, and leaves `status` as it is.
fn after_writes(failed: Vec<io::Error>, status: i32) -> i32 {
    let mut code = status;
    for e in failed {
        if e.kind() != io::ErrorKind::BrokenPipe {
            eprintln!("error: {e}");
            code = exit_code::ERROR;
        }
    }
    code
}

impl Reports {
    /// Checks, before a long run, that every report file can be written
    /// (its directory exists and takes new files), leaving nothing behind.
    fn check_writable(&self) -> io::Result<()> {
        check_writable(self.outputs.iter().map(|(_, o)| o))
    }
}

/// The exit status of a finished audit: inputs first, then findings.
fn verdict(summary: &RunSummary<'_>, quiet: bool) -> i32 {
    if quiet && input_status(summary.files).is_some() {
        print_problems(summary.files);
    }
    summary.status()
}

/// Writes the flow table alone; returns the exit status.
pub fn run_flows(cfg: &FlowsConfig) -> Result<i32, RunError> {
    let stats = cfg.stats.as_ref().map(|p| Output::parse(p));
    let outputs = [("output", Some(&cfg.output)), ("stats", stats.as_ref())];
    let outputs = outputs.iter().filter_map(|&(o, out)| Some((o, out?)));
    check_distinct(outputs.clone())?;
    check_writable(outputs.map(|(_, o)| o))?;
    let inputs = expand_inputs(&cfg.inputs).map_err(RunError::Input)?;
    let pool = pool(cfg.run.threads)?;
    let mut ingested = read_all(&inputs.captures, &cfg.run.ingest, cfg.progress, &pool);
    let table = ingested.table.finish();
    let rpc_learned = std::mem::take(&mut ingested.rpc);
    let rpc = Knowledge::of(rpc_learned.clone());
    let flows: Vec<FlowVerdict> = pool.install(|| {
        use rayon::prelude::*;
        let verdict = |(k, s): &(PackedKey, FlowStats)| {
            let mut flow = resolve(&k.unpack(), s, &|_, _| false);
            crate::audit::with_payload_evidence(&rpc, &mut flow);
            FlowVerdict {
                rpc: crate::audit::describe_rpc(&rpc, &flow),
                dns_name: flow.dns_name(&rpc).map(Box::from),
                flow,
                verdict: Verdict::OutOfScope,
                profile: "",
                rule_id: "",
            }
        };
        // Each run straight into place: no second copy of the verdicts.
        let mut verdicts = Vec::with_capacity(table.len());
        for run in table.runs() {
            verdicts.par_extend(run.par_iter().map(verdict));
        }
        verdicts
    });
    // NDJSON and Parquet are flow files: each row carries its flow whole,
    // for `audit` to read back.
    let stored: Vec<&(PackedKey, FlowStats)> = match cfg.format {
        None | Some(Format::Ndjson) => table.runs().flatten().collect(),
        Some(_) => Vec::new(),
    };
    let mut carried = crate::ingest::CarriedInput::of_all(&ingested.files);
    // What the run learned of RPC services, carried once, on the first
    // input: an audit of the flow file reads it back whole.
    if let Some(first) = carried.first_mut() {
        first.rpc = rpc_learned.stored();
    }
    let file = report::FlowFile {
        flows: &stored,
        carried: &carried,
    };
    let mut failed = Vec::new();
    let written = pool.install(|| {
        let mut sink = sink_for(&cfg.output)?;
        match cfg.format {
            None => report::write_flows_parquet(&mut sink, &flows, table.inputs(), &file)?,
            Some(format) => {
                let file = (format == Format::Ndjson).then_some(&file);
                let inputs = table.inputs();
                report::write_flows(&mut sink, &flows, FlowColumns::Flows, format, inputs, file)?
            }
        }
        sink.done()
    });
    failed.extend(written.err().map(|e| name_output(e, &cfg.output)));
    let filter_report = cfg.run.ingest.filter.as_ref().map(|f| f.report());
    let summary = RunSummary {
        files: &ingested.files,
        flows: FlowSummary::of(flows.iter().map(|v| (&v.flow, v.dns_name.is_some()))),
        findings: None,
        coverage: &[],
        not_captures: &inputs.not_captures,
        fail_on: None,
        filter: filter_report.as_ref(),
        baseline: None,
        rpc: Some(&rpc),
    };
    if cfg.run.quiet {
        print_problems(&ingested.files);
    } else {
        eprint!(
            "{}",
            summary.to_text_grouped(cfg.run.color, cfg.run.terminal)
        );
    }
    if let Some(out) = &stats {
        let written = sink_for(out).and_then(|mut sink| {
            report::write_stats(&mut sink, &summary)?;
            sink.done()
        });
        failed.extend(written.err().map(|e| name_output(e, out)));
    }
    let status = input_status(&ingested.files).unwrap_or(exit_code::CLEAN);
    Ok(after_writes(failed, status))
}

/// Where one report goes: standard output as it is, a file through a
/// file beside it that takes its place when complete.
fn sink_for(output: &Output) -> io::Result<Sink> {
    match output {
        Output::Stdout => Sink::direct(output),
        Output::File(p) => Sink::replacing(p),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::LiveCounts;

    /// Packets the kernel dropped in a live capture are named in the
    /// summary, the JSON and the JUnit report, and make the run
    /// incomplete (exit 3) whatever the findings.
    #[test]
    fn packets_lost_by_the_kernel_are_named_and_fail_the_run() {
        let files = [FileStats {
            name: "live:eth0".into(),
            format: "live capture".into(),
            packets_read: 10,
            packets_decoded: 10,
            live: Some(LiveCounts {
                received: 17,
                dropped: 5,
                interface_dropped: 2,
            }),
            ..FileStats::default()
        }];
        let summary = RunSummary {
            files: &files,
            flows: FlowSummary::default(),
            findings: Some(&[]),
            coverage: &[],
            not_captures: &[],
            fail_on: Some(Severity::Error),
            filter: None,
            baseline: None,
            rpc: None,
        };
        let text = summary.to_text(false);
        assert!(
            text.contains(
                "incomplete: live:eth0: the kernel dropped 5 packets before they could be read: \
                 they are not audited (the interface also counts 2 dropped, in all its traffic)"
            ),
            "{text}"
        );
        assert_eq!(summary.to_json()["files"][0]["live"]["dropped"], 5);
        assert_eq!(verdict(&summary, false), exit_code::DAMAGED);
        // The interface's own count is told, not held against the capture.
        let mut clean = files.clone();
        clean[0].live = Some(LiveCounts {
            received: 10,
            dropped: 0,
            interface_dropped: 2,
        });
        assert_eq!(input_status(&clean), None);
        let mut failed = clean.clone();
        failed[0].capture_failed = Some("the interface went down".into());
        assert_eq!(input_status(&failed), Some(exit_code::DAMAGED));
        assert_eq!(
            failed[0].incomplete_note().unwrap(),
            "capturing stopped after 10 packets: the interface went down"
        );
    }
}
