//! Command-line arguments (clap). Only `main.rs` uses this module; the
//! library below `app` never sees clap.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use portaudit::flow::Limits;

const EXIT_STATUS: &str = "\
Exit status:
  0  no finding at or above --fail-on (default: error)
  1  findings at or above --fail-on
  2  usage, deployment or rules error, or a capture that cannot be read
  3  a capture is damaged (truncated, corrupt record): what could be read
     was audited and reported; the damage is named with file and byte offset";

/// Audit packet captures against the port matrices vendors publish.
#[derive(Parser, Debug)]
#[command(name = "portaudit", version, about, after_help = EXIT_STATUS)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Audit captures against a deployment and write findings as CSV.
    #[command(after_help = EXIT_STATUS)]
    Audit(AuditArgs),
    /// Write the flow table of captures as CSV, with no rules.
    #[command(after_help = EXIT_STATUS)]
    Flows(FlowsArgs),
    /// List, show and check profiles; check deployments.
    #[command(subcommand)]
    Rules(RulesCommand),
    /// Print a deployment skeleton for one or more profiles, to fill in.
    Init(InitArgs),
}

#[derive(Subcommand, Debug)]
pub enum RulesCommand {
    /// The profiles: id, name, rule counts, aliases, source document.
    List(ListArgs),
    /// One profile's matrix: roles, features and every rule.
    Show(ShowArgs),
    /// Validate profiles and deployments; exit 2 on any error.
    #[command(after_help = "\
Each FILE is told apart by its keys: a profile has `id`, `vendor`, [roles]
and [[rule]]; a deployment has [profiles.<id>]. Profiles given here are
known to the deployments given with them. Errors name file:line:column and
go to stderr; `ok` and `warning` lines go to stdout.

Exit status:
  0  every file is valid (warnings do not fail)
  2  at least one file has an error")]
    Check(CheckArgs),
}

#[derive(Args, Debug)]
pub struct RulesDirArg {
    /// Extra profile directory (*.toml); overrides shipped profiles by id.
    #[arg(long = "rules", value_name = "DIR")]
    pub rules: Vec<PathBuf>,
}

#[derive(Args, Debug)]
pub struct ListArgs {
    #[arg(long, value_enum, default_value_t = MatrixFormatArg::Table)]
    pub format: MatrixFormatArg,
    #[command(flatten)]
    pub dirs: RulesDirArg,
}

#[derive(Args, Debug)]
pub struct ShowArgs {
    /// Profile id or alias (see `portaudit rules list`).
    #[arg(value_name = "ID")]
    pub id: String,
    #[arg(long, value_enum, default_value_t = MatrixFormatArg::Table)]
    pub format: MatrixFormatArg,
    #[command(flatten)]
    pub dirs: RulesDirArg,
}

#[derive(Args, Debug)]
pub struct CheckArgs {
    /// Profile and deployment files.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    #[command(flatten)]
    pub dirs: RulesDirArg,
}

#[derive(Args, Debug)]
pub struct InitArgs {
    /// Profile id or alias; repeat for a deployment of several products.
    #[arg(long = "profile", short, value_name = "ID", required = true)]
    pub profiles: Vec<String>,
    /// Where to write the skeleton (- for stdout).
    #[arg(long, short, value_name = "FILE", default_value = "-")]
    pub output: PathBuf,
    /// Overwrite --output if it exists.
    #[arg(long)]
    pub force: bool,
    #[command(flatten)]
    pub dirs: RulesDirArg,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum MatrixFormatArg {
    Table,
    Csv,
    Json,
}

#[derive(Args, Debug)]
pub struct CommonArgs {
    /// Capture files (pcap, pcapng, gzip of either), directories of them,
    /// or - for stdin.
    #[arg(required = true, value_name = "CAPTURE")]
    pub inputs: Vec<PathBuf>,
    /// Write the run summary as JSON to FILE.
    #[arg(long, value_name = "FILE")]
    pub stats: Option<PathBuf>,
    /// Worker threads (default: all cores).
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
    /// Flows tracked at most (about 300 bytes each); packets of flows first
    /// seen after that are counted and reported, not audited.
    #[arg(long, value_name = "N", default_value_t = Limits::DEFAULT.max_flows,
          value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    pub max_flows: usize,
    /// Fragmented datagrams remembered at most while their later fragments
    /// are awaited; past it the oldest are forgotten, and counted.
    #[arg(long, value_name = "N", default_value_t = Limits::DEFAULT.max_fragments,
          value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    pub max_fragments: usize,
    /// Print no summary on stderr (errors and damage are still printed).
    #[arg(long, short)]
    pub quiet: bool,
}

#[derive(Args, Debug)]
pub struct AuditArgs {
    /// The deployment: which hosts hold which roles, features, site rules.
    #[arg(long, short, value_name = "FILE")]
    pub deployment: PathBuf,
    /// Findings output (- for stdout).
    #[arg(long, short, value_name = "FILE", default_value = "-")]
    pub output: PathBuf,
    /// Findings format.
    #[arg(long, value_enum, default_value_t = FormatArg::Csv)]
    pub format: FormatArg,
    /// Also write every flow with its verdict and matched rule (in --format).
    #[arg(long, value_name = "FILE")]
    pub flows: Option<PathBuf>,
    /// Also write a self-contained HTML report: the role matrix coloured by
    /// status, the findings (sort and filter), the decode statistics.
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    /// Extra profile directory (*.toml); overrides shipped profiles by id.
    #[arg(long = "rules", value_name = "DIR")]
    pub rules: Vec<PathBuf>,
    /// Lowest severity that makes the exit status 1.
    #[arg(long, value_enum, default_value_t = FailOn::Error)]
    pub fail_on: FailOn,
    #[command(flatten)]
    pub common: CommonArgs,
}

#[derive(Args, Debug)]
pub struct FlowsArgs {
    /// Flows output (- for stdout).
    #[arg(long, short, value_name = "FILE", default_value = "-")]
    pub output: PathBuf,
    #[command(flatten)]
    pub common: CommonArgs,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum FormatArg {
    Csv,
    Ndjson,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum FailOn {
    Error,
    Warning,
    Info,
    Never,
}
