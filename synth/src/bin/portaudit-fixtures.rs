//! `portaudit-fixtures`: writes the fixture captures under `fixtures/` (see
//! fixtures/README.md) and, on demand, large generated captures.
//! Deterministic: the same arguments write the same bytes.
//!
//!   cargo run -p portaudit-synth --bin portaudit-fixtures -- fixtures [DIR]
//!   cargo run --release -p portaudit-synth --bin portaudit-fixtures -- flood PACKETS FILE [--seed N]
//!   cargo run --release -p portaudit-synth --bin portaudit-fixtures -- enterprise BYTES FLOWS FILE [--seed N] [--dns-names N]
//!
//! The seed may also come last without `--seed`, as in earlier versions.
//! Counts take a decimal suffix: 2G, 200M, 50k. Bad arguments exit 2, a
//! file that cannot be written exits 1.

use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::error::ErrorKind;
use clap::{Args, CommandFactory, Parser, Subcommand};
use portaudit_synth::fixtures::write_fixtures;
use portaudit_synth::{write_enterprise, write_flood, EnterpriseSpec, FloodCounts};

/// Writes portaudit's fixture captures and generated test captures.
#[derive(Parser)]
#[command(name = "portaudit-fixtures", version, arg_required_else_help = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Writes the fixture captures: for each example deployment, a compliant
    /// capture and one with violations.
    Fixtures {
        /// Directory to write them under, one subdirectory per deployment
        /// (relative paths start where the command runs: the repository
        /// root for the default).
        #[arg(default_value = "fixtures")]
        dir: PathBuf,
    },
    /// Writes a hostile capture for testing --max-flows and
    /// --max-fragments: a third random UDP flows, a third a SYN flood, a
    /// third fragments that never complete.
    Flood {
        /// Packets to write (a decimal suffix is allowed: 3M, 50k).
        #[arg(value_parser = parse_count)]
        packets: u64,
        /// The pcap file to write.
        file: PathBuf,
        #[command(flatten)]
        seed: Seed,
    },
    /// Writes a realistic capture for throughput benchmarks: interleaved TCP
    /// sessions (some refused, some mid-stream), DNS, syslog, NTP, SNMP and
    /// ping, over IPv4 and IPv6, some VLAN-tagged, a few fragmented.
    Enterprise {
        /// Target file size in bytes (a decimal suffix is allowed: 2G, 200M).
        #[arg(value_parser = parse_count)]
        bytes: u64,
        /// Exact number of distinct flows (a decimal suffix is allowed: 200k).
        #[arg(value_parser = parse_count)]
        flows: u64,
        /// The pcap file to write.
        file: PathBuf,
        #[command(flatten)]
        seed: Seed,
        /// DNS queries ask one of this many names, as real resolvers see
        /// the same names again and again (default: every query asks a
        /// new name).
        #[arg(long, value_name = "N", value_parser = parse_count)]
        dns_names: Option<u64>,
    },
}

/// The generator's seed, as `--seed N` or as a last positional argument.
#[derive(Args)]
struct Seed {
    /// Seed of the generator [default: 1].
    #[arg(long = "seed", value_name = "N", conflicts_with = "seed_last")]
    flag: Option<u64>,
    /// The seed, given without --seed.
    #[arg(id = "seed_last", value_name = "SEED")]
    last: Option<u64>,
}

impl Seed {
    fn value(&self) -> u64 {
        self.flag.or(self.last).unwrap_or(1)
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let (file, written) = match cli.command {
        Command::Fixtures { dir } => {
            let written = write_fixtures(&dir);
            (dir, written)
        }
        Command::Flood {
            packets,
            file,
            seed,
        } => {
            let written = flood(&file, packets, seed.value());
            (file, written)
        }
        Command::Enterprise {
            bytes,
            flows,
            file,
            seed,
            dns_names,
        } => {
            if flows > EnterpriseSpec::MAX_FLOWS {
                let mut cli = Cli::command();
                cli.build();
                cli.find_subcommand_mut("enterprise")
                    .expect("the subcommand being run")
                    .error(
                        ErrorKind::ValueValidation,
                        format!(
                            "{flows} flows asked, at most {} can be kept distinct",
                            EnterpriseSpec::MAX_FLOWS
                        ),
                    )
                    .exit();
            }
            let spec = EnterpriseSpec {
                bytes,
                flows,
                seed: seed.value(),
                dns_names: dns_names.unwrap_or(0),
            };
            let written = enterprise(&file, &spec);
            (file, written)
        }
    };
    match written {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("portaudit-fixtures: {}: {e}", file.display());
            ExitCode::FAILURE
        }
    }
}

fn flood(file: &Path, packets: u64, seed: u64) -> std::io::Result<()> {
    let counts = FloodCounts::of(packets);
    write_flood(BufWriter::new(File::create(file)?), counts, seed)?;
    eprintln!(
        "{}: {} packets ({} random flows, {} SYN flood, {} fragment pairs)",
        file.display(),
        counts.packets(),
        counts.random_flows,
        counts.syn_flood,
        counts.fragment_pairs
    );
    Ok(())
}

fn enterprise(file: &Path, spec: &EnterpriseSpec) -> std::io::Result<()> {
    let (_, s) = write_enterprise(BufWriter::new(File::create(file)?), spec)?;
    eprintln!(
        "{}: {} bytes, {} packets (mean frame {:.0} bytes), {} flows: {} TCP ({} refused, {} mid-stream), {} UDP, {} ICMP; {} IPv6 flows ({} frames), {} VLAN-tagged frames, {} fragmented datagrams",
        file.display(),
        s.bytes,
        s.packets,
        s.mean_frame(),
        s.flows,
        s.tcp_flows,
        s.tcp_refused,
        s.tcp_mid_stream,
        s.udp_flows,
        s.icmp_flows,
        s.ipv6_flows,
        s.ipv6_frames,
        s.vlan_frames,
        s.fragmented_datagrams
    );
    Ok(())
}

/// A count with an optional decimal suffix: `2G`, `200M`, `50k`, `1500`.
fn parse_count(s: &str) -> Result<u64, String> {
    let (digits, scale) = match s.char_indices().last() {
        Some((i, 'k' | 'K')) => (&s[..i], 1_000),
        Some((i, 'm' | 'M')) => (&s[..i], 1_000_000),
        Some((i, 'g' | 'G')) => (&s[..i], 1_000_000_000),
        _ => (s, 1),
    };
    digits
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(scale))
        .ok_or_else(|| {
            format!(
                "`{s}` is not a count: digits, optionally followed by k, M or G (50k, 200M, 2G)"
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_take_decimal_suffixes() {
        assert_eq!(parse_count("1500"), Ok(1500));
        assert_eq!(parse_count("50k"), Ok(50_000));
        assert_eq!(parse_count("200M"), Ok(200_000_000));
        assert_eq!(parse_count("2G"), Ok(2_000_000_000));
        assert_eq!(parse_count("2g"), Ok(2_000_000_000));
        for bad in ["", "k", "2T", "-1", "1.5G", "2 G", "99999999999999999999G"] {
            assert!(parse_count(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn the_argument_definitions_are_consistent() {
        Cli::command().debug_assert();
    }
}
