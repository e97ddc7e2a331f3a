//! Writes the fixture captures under `fixtures/` (see fixtures/README.md):
//! for each example deployment, a compliant capture and one with
//! violations; and, on demand, large generated captures. Deterministic:
//! the same binary writes the same bytes.
//!
//! Usage:
//!   cargo run -p portaudit-synth --bin portaudit-fixtures -- [FIXTURES_DIR]
//!   cargo run --release -p portaudit-synth --bin portaudit-fixtures -- flood PACKETS FILE [SEED]
//!   cargo run --release -p portaudit-synth --bin portaudit-fixtures -- enterprise BYTES FLOWS FILE [SEED]
//!
//! `flood` writes a hostile capture: a third random UDP flows, a third a
//! SYN flood, a third fragments that never complete (see
//! `portaudit_synth::write_flood`), for testing `--max-flows` and
//! `--max-fragments`.
//!
//! `enterprise` writes a realistic capture of about BYTES bytes holding
//! exactly FLOWS distinct flows, interleaved: TCP sessions (some refused,
//! some mid-stream), DNS, syslog, NTP, SNMP, ping, over IPv4 and IPv6,
//! some VLAN-tagged, a few fragmented (see
//! `portaudit_synth::write_enterprise`), for throughput benchmarks.
//! BYTES and FLOWS take a decimal suffix: 2G, 200M, 50k.

use std::fs::File;
use std::io::BufWriter;
use std::path::PathBuf;

use portaudit_synth::fixtures::write_fixtures;
use portaudit_synth::{write_enterprise, write_flood, EnterpriseSpec, FloodCounts};

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("flood") {
        return flood(&args[1..]);
    }
    if args.first().map(String::as_str) == Some("enterprise") {
        return enterprise(&args[1..]);
    }
    let root = PathBuf::from(args.first().cloned().unwrap_or_else(|| "fixtures".into()));
    write_fixtures(&root)?;
    Ok(())
}

fn flood(args: &[String]) -> std::io::Result<()> {
    let usage = || {
        std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "usage: portaudit-fixtures flood PACKETS FILE [SEED]",
        )
    };
    let packets: u64 = args
        .first()
        .and_then(|a| a.parse().ok())
        .ok_or_else(usage)?;
    let file = args.get(1).ok_or_else(usage)?;
    let seed: u64 = match args.get(2) {
        Some(s) => s.parse().map_err(|_| usage())?,
        None => 1,
    };
    let counts = FloodCounts::of(packets);
    write_flood(BufWriter::new(File::create(file)?), counts, seed)?;
    eprintln!(
        "{file}: {} packets ({} random flows, {} SYN flood, {} fragment pairs)",
        counts.packets(),
        counts.random_flows,
        counts.syn_flood,
        counts.fragment_pairs
    );
    Ok(())
}

fn enterprise(args: &[String]) -> std::io::Result<()> {
    let usage = || {
        std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "usage: portaudit-fixtures enterprise BYTES FLOWS FILE [SEED] (BYTES, FLOWS: 2G, 200M, 50k or plain)",
        )
    };
    let bytes = args.first().and_then(|a| count(a)).ok_or_else(usage)?;
    let flows = args.get(1).and_then(|a| count(a)).ok_or_else(usage)?;
    let file = args.get(2).ok_or_else(usage)?;
    let seed: u64 = match args.get(3) {
        Some(s) => s.parse().map_err(|_| usage())?,
        None => 1,
    };
    let spec = EnterpriseSpec { bytes, flows, seed };
    let (_, s) = write_enterprise(BufWriter::new(File::create(file)?), &spec)?;
    eprintln!(
        "{file}: {} bytes, {} packets (mean frame {:.0} bytes), {} flows: {} TCP ({} refused, {} mid-stream), {} UDP, {} ICMP; {} IPv6 flows ({} frames), {} VLAN-tagged frames, {} fragmented datagrams",
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
fn count(s: &str) -> Option<u64> {
    let (digits, scale) = match s.char_indices().last()? {
        (i, 'k' | 'K') => (&s[..i], 1_000),
        (i, 'm' | 'M') => (&s[..i], 1_000_000),
        (i, 'g' | 'G') => (&s[..i], 1_000_000_000),
        _ => (s, 1),
    };
    digits.parse::<u64>().ok()?.checked_mul(scale)
}
