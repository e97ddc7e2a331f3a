//! Wiring: a validated configuration in, stages run in order, an outcome
//! (with its exit status) out. The threading lives in [`ingest`].

mod check;
mod ingest;
mod progress;
mod scaffold;

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::PathBuf;
use std::sync::Arc;

pub use check::{run_check, CheckConfig};
pub use ingest::{
    ingest, ingest_bytes, ingest_one, ingest_reader, ingest_reader_with, kept_out, FileStats,
    IngestOptions, Ingested, Progress, TimeFacts, FLOW_LIMIT,
};
pub use scaffold::deployment_skeleton;

use progress::ProgressLine;

use crate::audit::{AuditReport, Auditor, FlowVerdict, Verdict};
use crate::capture::{expand_inputs, CaptureInput, InputError, Timestamp};
use crate::flow::resolve;
pub use crate::report::Format;
use crate::report::{self, AuditDoc, MatrixFormat, RunSummary, Summary};
use crate::rules::{Catalog, Deployment, Profile, RulesError, Severity};

/// Exit statuses (README and `--help` document them).
pub mod exit_code {
    /// No finding at or above `--fail-on`.
    pub const CLEAN: i32 = 0;
    /// Findings at or above `--fail-on`.
    pub const FINDINGS: i32 = 1;
    /// Usage, deployment or rules error, or a capture that cannot be read.
    pub const ERROR: i32 = 2;
    /// A capture was damaged; what could be read was audited.
    pub const DAMAGED: i32 = 3;
}

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

    pub fn open(&self) -> io::Result<Box<dyn Write>> {
        Ok(match self {
            Output::Stdout => Box::new(BufWriter::new(io::stdout().lock())),
            Output::File(p) => Box::new(BufWriter::new(File::create(p).map_err(|e| {
                io::Error::new(e.kind(), format!("cannot write {}: {e}", p.display()))
            })?)),
        })
    }
}

/// `portaudit audit`, validated.
pub struct AuditConfig {
    pub deployment: PathBuf,
    pub rules_dirs: Vec<PathBuf>,
    pub inputs: Vec<PathBuf>,
    pub output: Output,
    pub format: Format,
    pub flows: Option<Output>,
    pub html: Option<Output>,
    pub junit: Option<Output>,
    pub sarif: Option<Output>,
    pub stats: Option<PathBuf>,
    /// `None`: never fail on findings.
    pub fail_on: Option<Severity>,
    pub threads: usize,
    pub ingest: IngestOptions,
    pub quiet: bool,
    /// Paint the stderr summary with ANSI colours.
    pub color: bool,
    /// Show a progress line on stderr while captures are read.
    pub progress: bool,
}

/// `portaudit flows`, validated.
pub struct FlowsConfig {
    pub inputs: Vec<PathBuf>,
    pub output: Output,
    pub format: Format,
    pub stats: Option<PathBuf>,
    pub threads: usize,
    pub ingest: IngestOptions,
    pub quiet: bool,
    /// Paint the stderr summary with ANSI colours.
    pub color: bool,
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
}

impl std::fmt::Display for RunError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RunError::Rules(e) => write!(f, "{e}"),
            RunError::Input(e) => write!(f, "{e}"),
            RunError::Io(e) => write!(f, "{e}"),
            RunError::Threads(e) => write!(f, "cannot start worker threads: {e}"),
            RunError::Usage(e) => write!(f, "{e}"),
        }
    }
}

impl From<io::Error> for RunError {
    fn from(e: io::Error) -> Self {
        RunError::Io(e)
    }
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

/// Exit status for what the inputs showed.
fn input_status(files: &[FileStats]) -> Option<i32> {
    if files.iter().any(|f| f.unreadable.is_some()) {
        Some(exit_code::ERROR)
    } else if files.iter().any(|f| !f.damage.is_empty()) {
        Some(exit_code::DAMAGED)
    } else {
        None
    }
}

/// Unreadable and damaged inputs, printed even with `--quiet`.
fn print_problems(files: &[FileStats]) {
    for f in files {
        if let Some(u) = &f.unreadable {
            eprintln!("error: {}: {u}", f.name);
        }
        for d in &f.damage {
            eprintln!("damaged: {}: {d}", f.name);
        }
    }
}

fn write_stats(path: &Option<PathBuf>, summary: &RunSummary) -> Result<(), RunError> {
    if let Some(p) = path {
        let mut w = Output::File(p.clone()).open()?;
        serde_json::to_writer_pretty(&mut w, &summary.to_json()).map_err(io::Error::other)?;
        w.write_all(b"\n")?;
        w.flush()?;
    }
    Ok(())
}

/// Runs an audit; returns the exit status.
pub fn run_audit(cfg: &AuditConfig) -> Result<i32, RunError> {
    let catalog = load_catalog(&cfg.rules_dirs).map_err(RunError::Rules)?;
    let deployment = Deployment::load(&cfg.deployment, &catalog).map_err(RunError::Rules)?;
    let inputs = expand_inputs(&cfg.inputs).map_err(RunError::Input)?;
    let pool = pool(cfg.threads)?;
    let Ingested { table, files } = read_all(&inputs.captures, &cfg.ingest, cfg.progress, &pool);
    let flows = pool.install(|| table.finish());
    let kept_out = kept_out(&files);
    let auditor = Auditor::new(&deployment);
    let keep = cfg.flows.is_some();
    let report: AuditReport =
        pool.install(|| auditor.audit(&flows, &kept_out, &cfg.ingest.limits, keep));
    drop(flows);
    let summary_flows = report.summary.clone();
    let mut out = cfg.output.open()?;
    report::write_findings(&mut out, &report.findings, cfg.format)?;
    drop(out);
    if let Some(f) = &cfg.flows {
        report::write_flows(f.open()?, &report.flows, true, cfg.format)?;
    }
    let summary = RunSummary {
        files: &files,
        flows: summary_flows,
        findings: Some(&report.findings),
        coverage: &report.coverage,
        not_captures: &inputs.not_captures,
        fail_on: cfg.fail_on,
    };
    let doc = AuditDoc {
        deployment: &deployment,
        deployment_file: cfg.deployment.display().to_string(),
        run: &summary,
    };
    if let Some(o) = &cfg.html {
        report::write_html(o.open()?, &doc)?;
    }
    if let Some(o) = &cfg.junit {
        report::write_junit(o.open()?, &doc)?;
    }
    if let Some(o) = &cfg.sarif {
        report::write_sarif(o.open()?, &doc)?;
    }
    if !cfg.quiet {
        eprint!("{}", summary.to_text(cfg.color));
    }
    write_stats(&cfg.stats, &summary)?;
    if let Some(code) = input_status(&files) {
        if cfg.quiet {
            print_problems(&files);
        }
        return Ok(code);
    }
    Ok(if summary.failing() > 0 {
        exit_code::FINDINGS
    } else {
        exit_code::CLEAN
    })
}

/// Writes the flow table alone; returns the exit status.
pub fn run_flows(cfg: &FlowsConfig) -> Result<i32, RunError> {
    let inputs = expand_inputs(&cfg.inputs).map_err(RunError::Input)?;
    let pool = pool(cfg.threads)?;
    let ingested = read_all(&inputs.captures, &cfg.ingest, cfg.progress, &pool);
    let flows: Vec<FlowVerdict> = pool.install(|| {
        use rayon::prelude::*;
        ingested
            .table
            .finish()
            .as_slice()
            .par_iter()
            .map(|(k, s)| FlowVerdict {
                flow: resolve(&k.unpack(), s, &|_, _| false),
                verdict: Verdict::OutOfScope,
                profile: "",
                rule_id: "",
            })
            .collect()
    });
    report::write_flows(cfg.output.open()?, &flows, false, cfg.format)?;
    let summary = RunSummary {
        files: &ingested.files,
        flows: Summary::of(flows.iter().map(|v| &v.flow)),
        findings: None,
        coverage: &[],
        not_captures: &inputs.not_captures,
        fail_on: None,
    };
    if cfg.quiet {
        print_problems(&ingested.files);
    } else {
        eprint!("{}", summary.to_text(cfg.color));
    }
    write_stats(&cfg.stats, &summary)?;
    Ok(input_status(&ingested.files).unwrap_or(exit_code::CLEAN))
}
