//! The `portaudit` binary: parse arguments, build a validated
//! configuration, run, map the outcome to an exit status.

mod cli;

use std::io::{ErrorKind, IsTerminal};

use clap::{CommandFactory, Parser};

use cli::{Cli, ColorArg, Command, FailOn, FormatArg, MatrixFormatArg, RulesCommand};
use portaudit::app::{
    self, exit_code, AuditConfig, CheckConfig, FlowsConfig, Format, IngestOptions, Output, RunError,
};
use portaudit::flow::Limits;
use portaudit::report::MatrixFormat;
use portaudit::rules::Severity;

fn main() {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Audit(a) => app::run_audit(&AuditConfig {
            deployment: a.deployment,
            rules_dirs: a.rules,
            inputs: a.common.inputs,
            output: Output::parse(&a.output),
            format: format(a.format),
            flows: a.flows.as_deref().map(Output::parse),
            html: a.html.as_deref().map(Output::parse),
            junit: a.junit.as_deref().map(Output::parse),
            sarif: a.sarif.as_deref().map(Output::parse),
            stats: a.common.stats,
            fail_on: match a.fail_on {
                FailOn::Error => Some(Severity::Error),
                FailOn::Warning => Some(Severity::Warning),
                FailOn::Info => Some(Severity::Info),
                FailOn::Never => None,
            },
            threads: threads(a.common.threads),
            ingest: ingest_options(a.common.max_flows, a.common.max_fragments),
            quiet: a.common.quiet,
            color: color(a.common.color),
            progress: progress(a.common.quiet),
        }),
        Command::Flows(f) => app::run_flows(&FlowsConfig {
            inputs: f.common.inputs,
            output: Output::parse(&f.output),
            format: format(f.format),
            stats: f.common.stats,
            threads: threads(f.common.threads),
            ingest: ingest_options(f.common.max_flows, f.common.max_fragments),
            quiet: f.common.quiet,
            color: color(f.common.color),
            progress: progress(f.common.quiet),
        }),
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

/// Colour on a terminal unless NO_COLOR (https://no-color.org) is set.
fn color(c: ColorArg) -> bool {
    match c {
        ColorArg::Always => true,
        ColorArg::Never => false,
        ColorArg::Auto => {
            std::io::stderr().is_terminal()
                && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
        }
    }
}

/// A progress line only for a person watching a terminal.
fn progress(quiet: bool) -> bool {
    !quiet && std::io::stderr().is_terminal()
}

fn format(f: FormatArg) -> Format {
    match f {
        FormatArg::Csv => Format::Csv,
        FormatArg::Ndjson => Format::Ndjson,
        FormatArg::Json => Format::Json,
    }
}

/// The man page on stdout, or every page (one per command) into `dir`.
fn man(dir: Option<&std::path::Path>) -> Result<(), RunError> {
    let cmd = Cli::command();
    let Some(dir) = dir else {
        let mut out = std::io::stdout().lock();
        clap_mangen::Man::new(cmd).render(&mut out)?;
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
        let mut buf = Vec::new();
        clap_mangen::Man::new(page.bin_name(name.replace('-', " ")))
            .title(name.clone())
            .render(&mut buf)?;
        std::fs::write(&path, buf).map_err(|e| {
            std::io::Error::new(e.kind(), format!("cannot write {}: {e}", path.display()))
        })?;
    }
    Ok(())
}

fn matrix_format(f: MatrixFormatArg) -> MatrixFormat {
    match f {
        MatrixFormatArg::Table => MatrixFormat::Table,
        MatrixFormatArg::Csv => MatrixFormat::Csv,
        MatrixFormatArg::Json => MatrixFormat::Json,
    }
}

fn ingest_options(max_flows: usize, max_fragments: usize) -> IngestOptions {
    IngestOptions {
        limits: Limits {
            max_flows,
            max_fragments,
        },
        future_after: Some(app::future_after()),
        ..IngestOptions::default()
    }
}

fn threads(n: Option<usize>) -> usize {
    n.filter(|&n| n > 0)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}
