//! The `portaudit` binary: parse arguments, build a validated
//! configuration, run, map the outcome to an exit status.

mod cli;
mod man;

use std::io::{ErrorKind, IsTerminal};

use clap::{CommandFactory, Parser};

use cli::{
    Cli, ColorArg, Command, CommonArgs, DiffFormatArg, FailOn, FlowsFormatArg, FormatArg,
    MatrixFormatArg, ReportArgs, RulesCommand, RunArgs, TunnelsArg,
};
use portaudit::app::{
    self, exit_code, AuditConfig, AuditSetup, CheckConfig, CollectConfig, DiffConfig, DiffFormat,
    FlowsConfig, Format, Output, Reports, RunError, RunOptions, WatchConfig,
};
use portaudit::decode::TunnelMode;
use portaudit::flow::Limits;
use portaudit::ingest::IngestOptions;
use portaudit::report::MatrixFormat;
use portaudit::rules::Severity;

fn main() {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Audit(a) => ingest_options(&a.common).and_then(|ingest| {
            app::run_audit(&AuditConfig {
                setup: AuditSetup {
                    deployment: a.deployment,
                    rules_dirs: a.reports.rules.clone(),
                    reports: reports(&a.reports, &a.common.run)?,
                    fail_on: fail_on(a.reports.fail_on),
                    baseline: a.reports.baseline.clone(),
                    fail_on_baseline: a.reports.fail_on_baseline,
                    max_findings: a.reports.max_findings,
                },
                run: run_options(&a.common.run, ingest)?,
                inputs: a.common.inputs,
                progress: progress(a.common.run.quiet),
            })
        }),
        Command::Flows(f) => ingest_options(&f.common).and_then(|ingest| {
            app::run_flows(&FlowsConfig {
                run: run_options(&f.common.run, ingest)?,
                inputs: f.common.inputs,
                format: flows_format(f.format, &f.output, f.common.run.color),
                output: Output::parse(&f.output),
                stats: f.common.run.stats,
                progress: progress(f.common.run.quiet),
            })
        }),
        Command::Watch(w) => {
            live_setup(w.live.deployment, &w.reports, &w.run).and_then(|(setup, run)| {
                app::run_watch(&WatchConfig {
                    setup,
                    run,
                    interface: w.interface,
                    filter: w.filter,
                    interval: w.live.interval,
                    duration: w.live.duration,
                })
            })
        }
        Command::Collect(c) => {
            live_setup(c.live.deployment, &c.reports, &c.run).and_then(|(setup, run)| {
                app::run_collect(&CollectConfig {
                    setup,
                    run,
                    listen: c.listen,
                    interval: c.live.interval,
                    duration: c.live.duration,
                })
            })
        }
        Command::Rules(RulesCommand::List(l)) => {
            app::run_rules_list(&l.dirs.rules, matrix_format(l.format), &Output::Stdout)
        }
        Command::Rules(RulesCommand::Show(s)) => app::run_rules_show(
            &s.dirs.rules,
            &s.id,
            matrix_format(s.format),
            &Output::Stdout,
        ),
        Command::Rules(RulesCommand::Check(c)) => app::run_check(
            &CheckConfig {
                files: c.files,
                rules_dirs: c.dirs.rules,
            },
            &mut std::io::stdout().lock(),
        ),
        Command::Diff(d) => app::run_diff(&DiffConfig {
            old: d.old,
            new: d.new,
            format: match d.format {
                DiffFormatArg::Table => DiffFormat::Table,
                DiffFormatArg::Json => DiffFormat::Json,
            },
            output: Output::parse(&d.output),
        }),
        Command::Init(i) => app::run_init(
            &i.dirs.rules,
            &i.profiles,
            &Output::parse(&i.output),
            i.force,
        ),
        Command::Completions(c) => {
            let mut cmd = Cli::command();
            clap_complete::generate(c.shell, &mut cmd, "portaudit", &mut std::io::stdout());
            Ok(exit_code::CLEAN)
        }
        Command::Man(m) => man(m.dir.as_deref()).map(|()| exit_code::CLEAN),
    };
    let code = match result {
        Ok(code) => code,
        // A closed pipe (`| head`) is the reader's choice, not a failure.
        Err(RunError::Io(e)) if e.kind() == ErrorKind::BrokenPipe => exit_code::CLEAN,
        Err(e) => {
            eprintln!("error: {e}");
            exit_code::ERROR
        }
    };
    std::process::exit(code);
}

/// Colour on stderr (the summary): on a terminal unless NO_COLOR
/// (https://no-color.org) is set.
fn color(c: ColorArg) -> bool {
    color_on(c, std::io::stderr().is_terminal())
}

/// `--color` for an output that is a terminal or not.
fn color_on(c: ColorArg, terminal: bool) -> bool {
    match c {
        ColorArg::Always => true,
        ColorArg::Never => false,
        ColorArg::Auto => terminal && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
    }
}

/// A progress line only for a person watching a terminal.
fn progress(quiet: bool) -> bool {
    !quiet && std::io::stderr().is_terminal()
}

fn format(f: FormatArg, c: ColorArg) -> Format {
    match f {
        FormatArg::Csv => Format::Csv,
        FormatArg::Ndjson => Format::Ndjson,
        FormatArg::Json => Format::Json,
        FormatArg::Table => Format::Table {
            color: stdout_color(c),
            width: stdout_width(),
        },
    }
}

/// The format of `portaudit flows`: `None` for Parquet, which is also
/// what a `.parquet` output gets without --format.
fn flows_format(
    f: Option<FlowsFormatArg>,
    output: &std::path::Path,
    c: ColorArg,
) -> Option<Format> {
    let parquet = output
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("parquet"));
    match f {
        Some(FlowsFormatArg::Parquet) => None,
        None if parquet => None,
        None | Some(FlowsFormatArg::Csv) => Some(Format::Csv),
        Some(FlowsFormatArg::Ndjson) => Some(format(FormatArg::Ndjson, c)),
        Some(FlowsFormatArg::Json) => Some(format(FormatArg::Json, c)),
        Some(FlowsFormatArg::Table) => Some(format(FormatArg::Table, c)),
    }
}

/// The formats of the flows and of the findings: `--format` for both; without
/// it CSV, but findings a person reads on a terminal are a table.
fn formats(r: &ReportArgs, c: ColorArg) -> (Format, Format) {
    match r.format {
        Some(f) => {
            let f = format(f, c);
            (f, f)
        }
        None if r.output.as_os_str() == "-" && std::io::stdout().is_terminal() => {
            (Format::Csv, format(FormatArg::Table, c))
        }
        None => (Format::Csv, Format::Csv),
    }
}

/// The terminal's width when standard output is one: tables for people
/// wrap to it.
fn stdout_width() -> Option<usize> {
    let out = std::io::stdout();
    if !out.is_terminal() {
        return None;
    }
    terminal_size::terminal_size_of(&out).map(|(w, _)| usize::from(w.0))
}

/// Colour on standard output: as `--color` says, `auto` when stdout is a
/// terminal and NO_COLOR is not set.
fn stdout_color(c: ColorArg) -> bool {
    color_on(c, std::io::stdout().is_terminal())
}

/// The man page on stdout, or every page (one per command) into `dir`.
fn man(dir: Option<&std::path::Path>) -> Result<(), RunError> {
    let cmd = Cli::command();
    let Some(dir) = dir else {
        use std::io::Write as _;
        std::io::stdout().write_all(&man::page(cmd, "portaudit")?)?;
        return Ok(());
    };
    std::fs::create_dir_all(dir).map_err(|e| {
        std::io::Error::new(e.kind(), format!("cannot create {}: {e}", dir.display()))
    })?;
    let mut pages = vec![(String::from("portaudit"), cmd.clone())];
    for sub in cmd.get_subcommands() {
        pages.push((format!("portaudit-{}", sub.get_name()), sub.clone()));
        for leaf in sub.get_subcommands() {
            pages.push((
                format!("portaudit-{}-{}", sub.get_name(), leaf.get_name()),
                leaf.clone(),
            ));
        }
    }
    for (name, page) in pages {
        let path = dir.join(format!("{name}.1"));
        let buf = man::page(page.bin_name(name.replace('-', " ")), &name)?;
        std::fs::write(&path, buf).map_err(|e| {
            std::io::Error::new(e.kind(), format!("cannot write {}: {e}", path.display()))
        })?;
    }
    Ok(())
}

fn matrix_format(f: MatrixFormatArg) -> MatrixFormat {
    match f {
        MatrixFormatArg::Table => MatrixFormat::Table {
            width: stdout_width(),
        },
        MatrixFormatArg::Csv => MatrixFormat::Csv,
        MatrixFormatArg::Json => MatrixFormat::Json,
    }
}

fn limits(run: &RunArgs) -> Limits {
    Limits {
        max_flows: run.max_flows,
        max_fragments: run.max_fragments,
    }
}

fn tunnels(run: &RunArgs) -> TunnelMode {
    match run.tunnels {
        TunnelsArg::Inner => TunnelMode::Inner,
        TunnelsArg::Outer => TunnelMode::Outer,
        TunnelsArg::Both => TunnelMode::Both,
    }
}

/// How captures are read; `--filter` is compiled here, so that a typo in
/// it stops the run before any capture is read.
fn ingest_options(common: &CommonArgs) -> Result<IngestOptions, RunError> {
    Ok(IngestOptions {
        limits: limits(&common.run),
        tunnels: tunnels(&common.run),
        future_after: Some(app::future_after()),
        filter: common
            .filter
            .as_deref()
            .map(app::packet_filter)
            .transpose()?,
        ..IngestOptions::default()
    })
}

fn reports(r: &ReportArgs, run: &RunArgs) -> Result<Reports, RunError> {
    let out = |p: &Option<std::path::PathBuf>| p.as_deref().map(Output::parse);
    Reports::new(
        formats(r, run.color),
        &[
            ("output", Some(Output::parse(&r.output))),
            ("flows", out(&r.flows)),
            ("html", out(&r.html)),
            ("junit", out(&r.junit)),
            ("sarif", out(&r.sarif)),
            ("stats", out(&run.stats)),
        ],
    )
}

fn run_options(run: &RunArgs, ingest: IngestOptions) -> Result<RunOptions, RunError> {
    Ok(RunOptions {
        threads: threads(run.threads)?,
        ingest,
        quiet: run.quiet,
        color: color(run.color),
        terminal: std::io::stderr().is_terminal(),
    })
}

/// What a live audit (`watch`, `collect`) is judged by and how it reads.
fn live_setup(
    deployment: std::path::PathBuf,
    r: &ReportArgs,
    run: &RunArgs,
) -> Result<(AuditSetup, RunOptions), RunError> {
    let setup = AuditSetup {
        deployment,
        rules_dirs: r.rules.clone(),
        reports: reports(r, run)?,
        fail_on: fail_on(r.fail_on),
        baseline: r.baseline.clone(),
        fail_on_baseline: r.fail_on_baseline,
        max_findings: r.max_findings,
    };
    // Live traffic is dated by the clock as it comes: none is in the
    // future, however long the audit.
    let ingest = IngestOptions {
        limits: limits(run),
        tunnels: tunnels(run),
        ..IngestOptions::default()
    };
    Ok((setup, run_options(run, ingest)?))
}

fn fail_on(f: FailOn) -> Option<Severity> {
    match f {
        FailOn::Error => Some(Severity::Error),
        FailOn::Warning => Some(Severity::Warning),
        FailOn::Info => Some(Severity::Info),
        FailOn::Never => None,
    }
}

/// `--threads`: absent or 0 is one per core; more than
/// [`MAX_THREADS_PER_CORE`] per core is refused, since it only adds
/// overhead (and 100 000 threads take minutes to start).
fn threads(n: Option<usize>) -> Result<usize, RunError> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    match n {
        None | Some(0) => Ok(cores),
        Some(n) if n > MAX_THREADS_PER_CORE * cores => Err(RunError::Usage(format!(
            "--threads {n} is more than {MAX_THREADS_PER_CORE} per core on this machine of {cores} \
             core(s): more threads than cores only add overhead; give at most {}, or 0 for one per core",
            MAX_THREADS_PER_CORE * cores
        ))),
        Some(n) => Ok(n),
    }
}

/// Threads per core `--threads` may ask for at most.
const MAX_THREADS_PER_CORE: usize = 4;
