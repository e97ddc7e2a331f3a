//! Command-line arguments (clap). Only `main.rs` uses this module; the
//! library below `app` never sees clap.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};
use portaudit::flow::Limits;

const EXIT_STATUS: &str = "\
Exit status:
  0  no finding at or above --fail-on (default: error)
  1  findings at or above --fail-on
  2  usage, deployment or rules error, or an input that cannot be read
  3  an input is damaged (a truncated capture, a corrupt packet record, a
     flow record that cannot be used): what could be read was audited and
     reported; the damage is named with file and byte offset or line";

const DIFF_HELP: &str = "\
Findings are matched by what they are about (kind, profile, rule, source
and destination address and role, protocol, service port), never by client
ports, times or counts; a finding in both whose severity, state or counts
differ is \"changed\".

Exit status:
  0  nothing new in NEW
  1  NEW has findings OLD does not
  2  a report cannot be read (the file and line are named)";

const FLOWS_EXIT_STATUS: &str = "\
Exit status:
  0  every input was read whole
  2  usage error, or an input that cannot be read
  3  an input is damaged (a truncated capture, a corrupt packet record, a
     flow record that cannot be used): what could be read is in the flows;
     the damage is named with file and byte offset or line";

const WATCH_HELP: &str = "\
Every --interval the findings file (-o) and the other reports are replaced
whole and the summary is printed; expected traffic is judged on everything
captured since the start. Ctrl-C or SIGTERM (or --duration) ends the watch
with a final report, also to stdout when -o is -; a second Ctrl-C quits at
once. Capturing needs root or the CAP_NET_RAW capability.

Exit status:
  0  no finding at or above --fail-on (default: error)
  1  findings at or above --fail-on
  2  usage, deployment or rules error, or the interface cannot be captured
  3  packets were lost (dropped by the kernel, or the capture failed): what
     was captured was audited and reported";

const COLLECT_HELP: &str = "\
Exporters (routers, probes, softflowd, nProbe, a Zeek or Suricata host
exporting flows) send to --listen; each datagram is one export message.
Templates are kept per exporter and observation domain. Every --interval
the findings file (-o) and the other reports are replaced whole and the
summary is printed; expected traffic is judged on everything received
since the start. Ctrl-C or SIGTERM (or --duration) ends the collection
with a final report; a second Ctrl-C quits at once. Records an exporter's
sequence numbers show were sent and never received are counted.

Exit status:
  0  no finding at or above --fail-on (default: error)
  1  findings at or above --fail-on
  2  usage, deployment or rules error, or the address cannot be bound
  3  records were lost (sequence gaps) or damaged: what was received was
     audited and reported";

/// Audit packet captures and flow records against the port matrices
/// vendors publish.
#[derive(Parser, Debug)]
#[command(name = "portaudit", version, about, after_help = EXIT_STATUS)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Audit captures against a deployment: findings as CSV, NDJSON or JSON,
    /// and JUnit, SARIF or HTML reports.
    #[command(after_help = EXIT_STATUS)]
    Audit(AuditArgs),
    /// Write the flow table of captures and flow records (CSV, NDJSON, JSON
    /// or Parquet), with no rules.
    #[command(after_help = FLOWS_EXIT_STATUS)]
    Flows(FlowsArgs),
    /// Audit live traffic on an interface: reports rewritten every
    /// interval, the final one on Ctrl-C (needs --features libpcap).
    #[command(after_help = WATCH_HELP)]
    Watch(WatchArgs),
    /// Audit the IPFIX and NetFlow v5/v7/v9 exports sent to a UDP port:
    /// reports rewritten every interval, the final one on Ctrl-C.
    #[command(after_help = COLLECT_HELP)]
    Collect(CollectArgs),
    /// List, show and check profiles; check deployments.
    #[command(subcommand)]
    Rules(RulesCommand),
    /// Print a deployment skeleton for one or more profiles, to fill in.
    Init(InitArgs),
    /// Compare two findings reports (CSV, NDJSON or JSON, as `audit -o`
    /// writes them): new, fixed and changed findings.
    #[command(after_help = DIFF_HELP)]
    Diff(DiffArgs),
    /// Print the completion script for a shell.
    #[command(after_help = "\
Install, for example:
  bash: portaudit completions bash > ~/.local/share/bash-completion/completions/portaudit
  zsh:  portaudit completions zsh > ~/.zfunc/_portaudit   (with fpath+=~/.zfunc)
  fish: portaudit completions fish > ~/.config/fish/completions/portaudit.fish")]
    Completions(CompletionsArgs),
    /// Print the man page, or write one page per command into a directory.
    Man(ManArgs),
}

#[derive(Args, Debug)]
pub struct CompletionsArgs {
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

#[derive(Args, Debug)]
pub struct ManArgs {
    /// Write portaudit.1 and portaudit-<command>.1 pages here instead.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
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
pub struct DiffArgs {
    /// The earlier findings report.
    pub old: PathBuf,
    /// The later findings report.
    pub new: PathBuf,
    /// A table for people, or one JSON object for scripts.
    #[arg(long, value_enum, default_value_t = DiffFormatArg::Table)]
    pub format: DiffFormatArg,
    /// Where to write it (- for stdout).
    #[arg(long, short, value_name = "FILE", default_value = "-")]
    pub output: PathBuf,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum DiffFormatArg {
    Table,
    Json,
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
    /// Inputs, recognised by content: captures (pcap, pcapng), flow
    /// records (Zeek conn.log as TSV or JSON, Suricata EVE, IPFIX or
    /// NetFlow v5/v7/v9 export files, portaudit flow files as NDJSON or
    /// Parquet), any of them gzipped; directories of them; - for stdin.
    #[arg(required = true, value_name = "INPUT")]
    pub inputs: Vec<PathBuf>,
    /// Only packets that match this tcpdump filter expression (e.g.
    /// 'host 10.0.0.5 and not port 22'); the others are counted as
    /// not-matching-filter. Needs a build with --features libpcap.
    #[arg(long, value_name = "EXPRESSION")]
    pub filter: Option<String>,
    #[command(flatten)]
    pub run: RunArgs,
}

/// What every reading command takes: limits, threads, what to print.
#[derive(Args, Debug)]
pub struct RunArgs {
    /// Write the run summary as JSON to FILE.
    #[arg(long, value_name = "FILE")]
    pub stats: Option<PathBuf>,
    /// Worker threads: 0 or absent for one per core; at most 4 per core.
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
    /// Tunnels (VXLAN, GENEVE, GRE, ERSPAN, IP-in-IP, Teredo, GTP-U): audit
    /// the flows inside them (inner), the tunnels themselves (outer), or
    /// both, the tunnels then listed as carriers, not judged as services.
    #[arg(long, value_enum, value_name = "WHICH", default_value_t = TunnelsArg::Inner)]
    pub tunnels: TunnelsArg,
    /// Print no summary and no progress on stderr (errors and damage are
    /// still printed).
    #[arg(long, short)]
    pub quiet: bool,
    /// Colour the summary: auto = when stderr is a terminal and NO_COLOR
    /// is not set.
    #[arg(long, value_enum, value_name = "WHEN", default_value_t = ColorArg::Auto)]
    pub color: ColorArg,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum ColorArg {
    Auto,
    Always,
    Never,
}

#[derive(Args, Debug)]
pub struct AuditArgs {
    /// The deployment: which hosts hold which roles, features, site rules.
    #[arg(long, short, value_name = "FILE")]
    pub deployment: PathBuf,
    #[command(flatten)]
    pub reports: ReportArgs,
    #[command(flatten)]
    pub common: CommonArgs,
}

/// Where an audit's findings and reports go, and what fails it.
#[derive(Args, Debug)]
pub struct ReportArgs {
    /// Findings output (- for stdout).
    #[arg(long, short, value_name = "FILE", default_value = "-")]
    pub output: PathBuf,
    /// Format of the findings and of --flows: RFC 4180 CSV, NDJSON (an
    /// object per line), one JSON array (the same fields, typed in JSON),
    /// or an aligned table for people. Without it: findings on a terminal
    /// are a table, anything else CSV.
    #[arg(long, value_enum)]
    pub format: Option<FormatArg>,
    /// Also write every flow with its verdict and matched rule (in --format).
    #[arg(long, value_name = "FILE")]
    pub flows: Option<PathBuf>,
    /// Also write a self-contained HTML report: the role matrix coloured by
    /// status, the findings (sort and filter), the decode statistics.
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    /// Also write JUnit XML: a test case per active rule (passed when
    /// observed and not violated), per finding kind outside the matrix, per
    /// capture file.
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// Also write the findings as SARIF 2.1.0 (GitHub code scanning).
    #[arg(long, value_name = "FILE")]
    pub sarif: Option<PathBuf>,
    /// Extra profile directory (*.toml); overrides shipped profiles by id.
    #[arg(long = "rules", value_name = "DIR")]
    pub rules: Vec<PathBuf>,
    /// Lowest severity that makes the exit status 1.
    #[arg(long, value_enum, default_value_t = FailOn::Error)]
    pub fail_on: FailOn,
    /// An earlier run's findings report (CSV, NDJSON or JSON): each finding
    /// is marked new or unchanged, the baseline's missing ones are counted
    /// as fixed, and only new findings count against --fail-on.
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,
    /// With --baseline, findings the baseline had count against --fail-on
    /// too.
    #[arg(long, requires = "baseline")]
    pub fail_on_baseline: bool,
    /// Finding rows of flows kept at most (about 2 KB each); past it the
    /// first rows in key order are kept and a tracking-limit finding counts
    /// the rest by kind.
    #[arg(long, value_name = "N", default_value_t = portaudit::audit::DEFAULT_MAX_FINDINGS,
          value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    pub max_findings: usize,
}

#[derive(Args, Debug)]
pub struct WatchArgs {
    /// The interface to capture on (see `ip link`; lo for loopback).
    #[arg(long, short, value_name = "IFACE")]
    pub interface: String,
    #[command(flatten)]
    pub live: LiveArgs,
    /// Capture only packets that match this tcpdump filter expression; it
    /// runs in the kernel, so what it rejects is never copied or counted.
    #[arg(long, value_name = "EXPRESSION")]
    pub filter: Option<String>,
    #[command(flatten)]
    pub reports: ReportArgs,
    #[command(flatten)]
    pub run: RunArgs,
}

/// What `watch` and `collect` share: the deployment and the clock.
#[derive(Args, Debug)]
pub struct LiveArgs {
    /// The deployment: which hosts hold which roles, features, site rules.
    #[arg(long, short, value_name = "FILE")]
    pub deployment: PathBuf,
    /// How often the reports are rewritten and the summary printed
    /// (500ms, 30s, 10m, 1h30m; a bare number is seconds).
    #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = parse_duration)]
    pub interval: Duration,
    /// Stop after this long and write the final report (default: until
    /// Ctrl-C or SIGTERM).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub duration: Option<Duration>,
}

#[derive(Args, Debug)]
pub struct CollectArgs {
    /// The address and UDP port exporters send to (0.0.0.0:4739 is
    /// IPFIX's port, 0.0.0.0:2055 NetFlow's custom; [::]:4739 for IPv6).
    #[arg(long, short, value_name = "ADDR:PORT")]
    pub listen: std::net::SocketAddr,
    #[command(flatten)]
    pub live: LiveArgs,
    #[command(flatten)]
    pub reports: ReportArgs,
    #[command(flatten)]
    pub run: RunArgs,
}

/// `500ms`, `30s`, `10m`, `2h`, `1h30m`, or a bare number of seconds.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let bad = || {
        format!("{text:?} is not a duration: write a number and a unit, as 500ms, 30s, 10m, 1h30m")
    };
    if let Ok(secs) = text.parse::<u64>() {
        return (secs > 0)
            .then(|| Duration::from_secs(secs))
            .ok_or_else(|| "the duration must be more than zero".to_string());
    }
    let mut total = Duration::ZERO;
    let mut rest = text;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        let n: u64 = rest[..digits].parse().map_err(|_| bad())?;
        rest = &rest[digits..];
        let unit = rest.bytes().take_while(u8::is_ascii_alphabetic).count();
        let part = match &rest[..unit] {
            "ms" => Duration::from_millis(n),
            "s" => Duration::from_secs(n),
            "m" => Duration::from_secs(n.saturating_mul(60)),
            "h" => Duration::from_secs(n.saturating_mul(3600)),
            _ => return Err(bad()),
        };
        total = total.saturating_add(part);
        rest = &rest[unit..];
    }
    if total.is_zero() {
        return Err("the duration must be more than zero".to_string());
    }
    Ok(total)
}

#[derive(Args, Debug)]
pub struct FlowsArgs {
    /// Flows output (- for stdout).
    #[arg(long, short, value_name = "FILE", default_value = "-")]
    pub output: PathBuf,
    /// RFC 4180 CSV, NDJSON (an object per line), one JSON array, an
    /// aligned table for people, or Parquet (default: parquet when -o ends
    /// in .parquet, else csv). NDJSON and Parquet are flow files: `audit`
    /// reads them back as inputs.
    #[arg(long, value_enum)]
    pub format: Option<FlowsFormatArg>,
    #[command(flatten)]
    pub common: CommonArgs,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum FlowsFormatArg {
    Csv,
    Ndjson,
    Json,
    Table,
    Parquet,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum FormatArg {
    Csv,
    Ndjson,
    Json,
    Table,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum TunnelsArg {
    Inner,
    Outer,
    Both,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum FailOn {
    Error,
    Warning,
    Info,
    Never,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_as_people_write_them() {
        let ok = |t: &str| parse_duration(t).unwrap();
        assert_eq!(ok("60"), Duration::from_secs(60));
        assert_eq!(ok("500ms"), Duration::from_millis(500));
        assert_eq!(ok("30s"), Duration::from_secs(30));
        assert_eq!(ok("10m"), Duration::from_secs(600));
        assert_eq!(ok("1h30m"), Duration::from_secs(5400));
        for bad in ["", "0", "0s", "10x", "m", "1.5s", "-3s", "10 s"] {
            assert!(parse_duration(bad).is_err(), "{bad:?}");
        }
        assert!(parse_duration("7d")
            .unwrap_err()
            .contains("500ms, 30s, 10m, 1h30m"));
    }
}
