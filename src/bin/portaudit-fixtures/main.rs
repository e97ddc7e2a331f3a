//! Writes the fixture captures under `fixtures/` (see fixtures/README.md):
//! for each example deployment, a compliant capture and one with
//! violations. Deterministic: the same binary writes the same bytes.
//!
//! Usage: cargo run --bin portaudit-fixtures -- [FIXTURES_DIR]

mod ad_shared;
mod air;
mod cayosoft;
mod jsa;
mod netwrix;

use std::fs::File;
use std::io::BufWriter;
use std::path::PathBuf;

use portaudit::synth::Scenario;

/// How a fixture is written: both container formats are exercised.
enum Container {
    Pcap,
    Pcapng,
}

/// (directory, file name, container, scenario).
type Fixture = (&'static str, &'static str, Container, fn() -> Scenario);

const FIXTURES: &[Fixture] = &[
    (
        "binalyze-air",
        "compliant.pcapng",
        Container::Pcapng,
        air::compliant,
    ),
    (
        "binalyze-air",
        "violations.pcap",
        Container::Pcap,
        air::violations,
    ),
    (
        "juniper-jsa",
        "compliant.pcapng",
        Container::Pcapng,
        jsa::compliant,
    ),
    (
        "juniper-jsa",
        "violations.pcap",
        Container::Pcap,
        jsa::violations,
    ),
    (
        "netwrix-threat-manager",
        "compliant.pcap",
        Container::Pcap,
        netwrix::compliant,
    ),
    (
        "netwrix-threat-manager",
        "violations.pcapng",
        Container::Pcapng,
        netwrix::violations,
    ),
    (
        "cayosoft-guardian",
        "compliant.pcapng",
        Container::Pcapng,
        cayosoft::compliant,
    ),
    (
        "cayosoft-guardian",
        "violations.pcap",
        Container::Pcap,
        cayosoft::violations,
    ),
    (
        "ad-shared",
        "compliant.pcap",
        Container::Pcap,
        ad_shared::compliant,
    ),
    (
        "ad-shared",
        "violations.pcapng",
        Container::Pcapng,
        ad_shared::violations,
    ),
];

fn main() -> std::io::Result<()> {
    let root = PathBuf::from(std::env::args().nth(1).unwrap_or_else(|| "fixtures".into()));
    for (dir, file, container, scenario) in FIXTURES {
        let dir = root.join(dir);
        std::fs::create_dir_all(&dir)?;
        let out = BufWriter::new(File::create(dir.join(file))?);
        match container {
            Container::Pcap => scenario().write_pcap(out)?,
            Container::Pcapng => scenario().write_pcapng(out)?,
        }
    }
    Ok(())
}
