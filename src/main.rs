//! The `portaudit` binary: parse arguments, build a validated
//! configuration, run, map the outcome to an exit status.

mod cli;

use std::io::ErrorKind;

use clap::Parser;

use cli::{Cli, Command, FailOn, FormatArg, MatrixFormatArg, RulesCommand};
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
            format: match a.format {
                FormatArg::Csv => Format::Csv,
                FormatArg::Ndjson => Format::Ndjson,
            },
            flows: a.flows.as_deref().map(Output::parse),
            html: a.html.as_deref().map(Output::parse),
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
        }),
        Command::Flows(f) => app::run_flows(&FlowsConfig {
            inputs: f.common.inputs,
            output: Output::parse(&f.output),
            stats: f.common.stats,
            threads: threads(f.common.threads),
            ingest: ingest_options(f.common.max_flows, f.common.max_fragments),
            quiet: f.common.quiet,
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
