//! The shipped profiles against the vendor documents they transcribe
//! (`../shared/seeds/`): every port a document's port table names is
//! covered by a rule of its profile, and every rule quotes the document.
//!
//! Each document lays its table out differently, so each has its own
//! reader below; what they return is the same: the ports (and protocols,
//! where the document gives one) that a profile must cover.

use std::path::PathBuf;

use portaudit::rules::{Catalog, Profile, Proto};
use regex::Regex;

fn seed(name: &str) -> String {
    let p: PathBuf = crate::shared_dir().join("seeds").join(name);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// A port or range the document names, with its protocols when stated.
#[derive(Debug)]
struct Entry {
    /// The document's words, for the failure message.
    text: String,
    ports: Vec<(u16, u16)>,
    /// Empty: the document gives no protocol for this entry.
    protos: Vec<u8>,
    icmp: bool,
}

const TCP: u8 = 6;
const UDP: u8 = 17;

fn protos(cell: &str) -> Vec<u8> {
    let c = cell.to_ascii_uppercase();
    let mut v = Vec::new();
    if c.contains("TCP") {
        v.push(TCP);
    }
    if c.contains("UDP") {
        v.push(UDP);
    }
    v
}

fn port(s: &str) -> u16 {
    s.parse().unwrap_or_else(|_| panic!("{s:?} is not a port"))
}

/// Binalyze AIR (and its XDR Forensics copy): "TCP 443:", "TCP/UDP 389 and 636:".
fn air_entries(text: &str) -> Vec<Entry> {
    let re = Regex::new(r"\b(TCP/UDP|TCP|UDP) (\d+)(?: and (\d+))?:").unwrap();
    re.captures_iter(text)
        .map(|c| Entry {
            text: c[0].to_string(),
            ports: [c.get(2), c.get(3)]
                .into_iter()
                .flatten()
                .map(|m| (port(m.as_str()), port(m.as_str())))
                .collect(),
            protos: protos(&c[1]),
            icmp: false,
        })
        .collect()
}

/// Netwrix: rows run together ("InboundUDP10000Syslog..."), plus the
/// dynamic range note "(49152 through 65535)".
fn netwrix_entries(text: &str) -> Vec<Entry> {
    let row = Regex::new(r"(Inbound|Outbound|Bidirectional)(TCP|UDP)(\d+(?:/\d+)*)").unwrap();
    let mut out: Vec<Entry> = row
        .captures_iter(text)
        .map(|c| Entry {
            text: c[0].to_string(),
            ports: c[3].split('/').map(|p| (port(p), port(p))).collect(),
            protos: protos(&c[2]),
            icmp: false,
        })
        .collect();
    let range = Regex::new(r"\((\d+) through (\d+)\)").unwrap();
    for c in range.captures_iter(text) {
        out.push(Entry {
            text: c[0].to_string(),
            ports: vec![(port(&c[1]), port(&c[2]))],
            protos: vec![TCP],
            icmp: false,
        });
    }
    out
}

/// Cayosoft: Markdown tables, "| TCP | 80/443 |" and "| TCP 443 |". Only
/// table cells are read, so "Office 365" in the prose is not a port.
fn cayosoft_entries(text: &str) -> Vec<Entry> {
    let cells = Regex::new(r"\|\s*(TCP|UDP)\s*\|\s*(\d+(?:/\d+)*)\s*\|").unwrap();
    let inline = Regex::new(r"\|\s*(TCP|UDP) (\d+)\s*\|").unwrap();
    cells
        .captures_iter(text)
        .chain(inline.captures_iter(text))
        .map(|c| Entry {
            text: c[0].to_string(),
            ports: c[2].split('/').map(|p| (port(p), port(p))).collect(),
            protos: protos(&c[1]),
            icmp: false,
        })
        .collect()
}

/// JSA: one cell per line; an entry starts with a line that starts with a
/// port ("22", "9393, 9394", "20000-23000", "135 and dynamically allocated
/// ports above 1024", "26000 traefik TCP") and its protocol is the first
/// protocol line before the next entry. "above N" means N+1 to 65535.
fn jsa_entries(text: &str) -> Vec<Entry> {
    let number = Regex::new(r"(above )?(\d+)(?:-(\d+))?").unwrap();
    let proto_line = Regex::new(r"^(TCP|UDP|TCP/UDP|UDP/TCP)$").unwrap();
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let mut out = Vec::new();
    for (i, l) in lines.iter().enumerate() {
        if *l == "ICMP" && lines.get(i + 1) == Some(&"ICMP") {
            out.push(Entry {
                text: "ICMP".into(),
                ports: Vec::new(),
                protos: Vec::new(),
                icmp: true,
            });
            continue;
        }
        if !l.starts_with(|c: char| c.is_ascii_digit()) {
            continue;
        }
        let ports = number
            .captures_iter(l)
            .map(|c| {
                let lo = port(&c[2]);
                match (c.get(1), c.get(3)) {
                    (Some(_), _) => (lo + 1, 65535),
                    (None, Some(hi)) => (lo, port(hi.as_str())),
                    (None, None) => (lo, lo),
                }
            })
            .collect();
        let inline = protos(l.rsplit(' ').next().unwrap_or(""));
        let protos = if !inline.is_empty() && l.contains(' ') {
            inline
        } else {
            lines[i + 1..]
                .iter()
                .take_while(|n| !n.starts_with(|c: char| c.is_ascii_digit()))
                .find(|n| proto_line.is_match(n))
                .map(|n| protos(n))
                .unwrap_or_default()
        };
        out.push(Entry {
            text: l.to_string(),
            ports,
            protos,
            icmp: false,
        });
    }
    out
}

/// The entries no rule of `p` covers, as messages.
fn uncovered(p: &Profile, entries: &[Entry]) -> Vec<String> {
    let mut missing = Vec::new();
    for e in entries {
        if e.icmp {
            if !p.rules.iter().any(|r| r.proto == Proto::Icmp) {
                missing.push(format!("{:?}: no icmp rule", e.text));
            }
            continue;
        }
        let protos: &[u8] = if e.protos.is_empty() {
            &[TCP, UDP]
        } else {
            &e.protos
        };
        for &(lo, hi) in &e.ports {
            let covered = |proto: u8, port: u16| p.rules.iter().any(|r| r.covers(proto, port));
            // A port with no stated protocol needs a rule for either.
            let ok = |port: u16| {
                if e.protos.is_empty() {
                    protos.iter().any(|&pr| covered(pr, port))
                } else {
                    protos.iter().all(|&pr| covered(pr, port))
                }
            };
            for port in [lo, hi] {
                if !ok(port) {
                    missing.push(format!("{:?}: port {port} ({protos:?})", e.text));
                }
            }
        }
    }
    missing
}

fn check(profile: &str, seed_file: &str, entries: fn(&str) -> Vec<Entry>, at_least: usize) {
    let catalog = Catalog::shipped().unwrap();
    let p = catalog.get(profile).unwrap();
    let text = seed(seed_file);
    let found = entries(&text);
    // A reader that silently finds nothing would make this test pass.
    assert!(
        found.len() >= at_least,
        "{seed_file}: read {} port entries, expected at least {at_least}: {found:#?}",
        found.len()
    );
    let missing = uncovered(p, &found);
    assert!(
        missing.is_empty(),
        "{profile}: ports of {seed_file} covered by no rule:\n{}",
        missing.join("\n")
    );
}

#[test]
fn air_covers_every_port_of_its_document_and_of_the_rebranded_copy() {
    if crate::shared_missing(
        "seeds::air_covers_every_port_of_its_document_and_of_the_rebranded_copy",
    ) {
        return;
    }
    check("binalyze-air", "001_0bfc17306464f1a8.txt", air_entries, 5);
    check("xdr-forensics", "000_b1033579698ed57f.txt", air_entries, 5);
}

#[test]
fn netwrix_covers_every_port_of_its_document() {
    if crate::shared_missing("seeds::netwrix_covers_every_port_of_its_document") {
        return;
    }
    check(
        "netwrix-threat-manager",
        "002_0bd7dc4ddc864d86.txt",
        netwrix_entries,
        11,
    );
}

#[test]
fn jsa_covers_every_port_of_its_document() {
    if crate::shared_missing("seeds::jsa_covers_every_port_of_its_document") {
        return;
    }
    check("juniper-jsa", "003_b45ddd7f0351128e.txt", jsa_entries, 60);
}

#[test]
fn cayosoft_covers_every_port_of_its_document() {
    if crate::shared_missing("seeds::cayosoft_covers_every_port_of_its_document") {
        return;
    }
    check(
        "cayosoft-guardian",
        "004_7d48626219c302ae.txt",
        cayosoft_entries,
        12,
    );
}

#[test]
fn readers_find_what_the_documents_say() {
    if crate::shared_missing("seeds::readers_find_what_the_documents_say") {
        return;
    }
    // The readers themselves, on the entries that are easy to get wrong.
    let jsa = jsa_entries(&seed("003_b45ddd7f0351128e.txt"));
    let get = |start: &str| {
        jsa.iter()
            .find(|e| e.text.starts_with(start))
            .unwrap_or_else(|| panic!("no entry {start:?}"))
    };
    assert_eq!(get("135 and").ports, [(135, 135), (1025, 65535)]);
    assert_eq!(
        get("7676,").ports,
        [(7676, 7676), (7677, 7677), (32001, 65535)]
    );
    assert_eq!(get("20000-23000").ports, [(20000, 23000)]);
    assert_eq!(get("26000").protos, [TCP]);
    assert_eq!(get("514").protos, [TCP, UDP]);
    assert!(get("15432").protos.is_empty(), "the document gives none");
    assert!(jsa.iter().any(|e| e.icmp));
    let cayo = cayosoft_entries(&seed("004_7d48626219c302ae.txt"));
    assert!(cayo.iter().all(|e| e.ports.iter().all(|&(p, _)| p != 365)));
    let nwx = netwrix_entries(&seed("002_0bd7dc4ddc864d86.txt"));
    assert!(nwx.iter().any(|e| e.ports == [(5435, 5435), (5439, 5439)]));
}

#[test]
fn a_profile_missing_a_documented_port_fails() {
    if crate::shared_missing("seeds::a_profile_missing_a_documented_port_fails") {
        return;
    }
    let catalog = Catalog::shipped().unwrap();
    let mut p = catalog.get("juniper-jsa").unwrap().clone();
    p.rules.retain(|r| !r.covers(TCP, 7789));
    let entries = jsa_entries(&seed("003_b45ddd7f0351128e.txt"));
    let missing = uncovered(&p, &entries);
    assert!(
        missing
            .iter()
            .any(|m| m.contains("\"7789\": port 7789 ([6, 17])")),
        "{missing:?}"
    );
    p.rules.retain(|r| r.proto != Proto::Icmp);
    assert!(uncovered(&p, &entries)
        .iter()
        .any(|m| m.contains("no icmp rule")));
}

/// Whitespace runs become one space; typographic quotes become plain.
fn normalize(s: &str) -> String {
    let s = s
        .replace(['\u{2019}', '\u{2018}'], "'")
        .replace(['\u{201c}', '\u{201d}'], "\"")
        .replace('\u{a0}', " ");
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Every rule's `source` is the document's own words: each ` | `-separated
/// cell of it appears in the seed verbatim (up to whitespace and quotes).
#[test]
fn every_rule_quotes_its_document() {
    if crate::shared_missing("seeds::every_rule_quotes_its_document") {
        return;
    }
    let catalog = Catalog::shipped().unwrap();
    let mut bad = Vec::new();
    for p in catalog.profiles() {
        let seed_file = p
            .seed
            .as_deref()
            .unwrap_or_else(|| panic!("{}: shipped profiles name their seed", p.id));
        let text = normalize(&seed(seed_file));
        for r in &p.rules {
            for cell in r.source.split(" | ") {
                let cell = normalize(cell);
                if !cell.is_empty() && !text.contains(&cell) {
                    bad.push(format!("{}/{}: {cell:?}", p.id, r.id));
                }
            }
        }
    }
    assert!(
        bad.is_empty(),
        "sources not found in their seed:\n{}",
        bad.join("\n")
    );
}
