//! Profiles for people and scripts: `rules list` and `rules show`.

use std::io::{self, Write};

use serde_json::{json, Value};

use super::records::{csv_err, csv_writer};
use super::table::{fit, write_table, Column};
use crate::decode::App;
use crate::rules::{Expect, Profile, Requirement, Rule};

/// Output format of `rules list` and `rules show`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MatrixFormat {
    /// Aligned columns for people, fitted to `width` when given (a
    /// terminal's).
    Table {
        width: Option<usize>,
    },
    Csv,
    Json,
}

const LIST_COLUMNS: [&str; 9] = [
    "id", "name", "vendor", "rules", "required", "aliases", "document", "seed", "origin",
];

fn list_row(p: &Profile) -> Vec<String> {
    vec![
        p.id.clone(),
        p.name.clone(),
        p.vendor.clone(),
        p.rules.len().to_string(),
        p.required_rules().count().to_string(),
        p.aliases.join(";"),
        p.document.clone(),
        p.seed.clone().unwrap_or_default(),
        p.origin.to_string(),
    ]
}

/// One line per profile: id, name, rule counts, aliases, source document.
pub fn write_profile_list<W: Write>(
    mut out: W,
    profiles: &[Profile],
    format: MatrixFormat,
) -> io::Result<()> {
    match format {
        MatrixFormat::Table { width } => {
            let columns = [
                Column::new("ID"),
                Column::new("NAME"),
                Column::new("RULES"),
                Column::new("REQUIRED"),
                Column::new("ALIASES"),
                Column::wrapped("DOCUMENT", 48),
                Column::new("ORIGIN"),
            ];
            let rows: Vec<Vec<String>> = profiles
                .iter()
                .map(|p| {
                    vec![
                        p.id.clone(),
                        p.name.clone(),
                        p.rules.len().to_string(),
                        p.required_rules().count().to_string(),
                        p.aliases.join(", "),
                        p.document.clone(),
                        p.origin.to_string(),
                    ]
                })
                .collect();
            write_table(&mut out, &fit(&columns, &rows, width), &rows)
        }
        MatrixFormat::Csv => {
            let rows: Vec<Vec<String>> = profiles.iter().map(list_row).collect();
            write_csv(out, &LIST_COLUMNS, &rows)
        }
        MatrixFormat::Json => {
            let v: Vec<Value> = profiles
                .iter()
                .map(|p| {
                    json!({
                        "id": p.id,
                        "name": p.name,
                        "vendor": p.vendor,
                        "rules": p.rules.len(),
                        "required": p.required_rules().count(),
                        "aliases": p.aliases,
                        "document": p.document,
                        "seed": p.seed,
                        "origin": p.origin.to_string(),
                    })
                })
                .collect();
            write_json(out, &Value::Array(v))
        }
    }
}

const RULE_COLUMNS: [&str; 17] = [
    "profile",
    "rule_id",
    "from",
    "to",
    "proto",
    "ports",
    "initiator",
    "requirement",
    "expect",
    "feature",
    "scope",
    "purpose",
    "source",
    "note",
    "origin",
    "dynamic",
    "app",
];

/// The application protocols a rule says its port carries: `tls`,
/// `ldap;tls`, with `(required)` when the content must be checked; empty when the
/// document names none.
fn app_text(r: &Rule, sep: &str) -> String {
    let labels = |apps: &[App]| apps.iter().map(|a| a.label()).collect::<Vec<_>>().join(sep);
    let mut parts: Vec<String> = r
        .app_by_port
        .iter()
        .map(|(ports, apps)| format!("{ports}: {}", labels(apps)))
        .collect();
    if !r.app.is_empty() {
        parts.push(match parts.is_empty() {
            true => labels(&r.app),
            false => format!("other: {}", labels(&r.app)),
        });
    }
    let required = if r.app_required && !parts.is_empty() {
        " (required)"
    } else {
        ""
    };
    match parts.is_empty() {
        true => String::new(),
        false => format!("{}{required}", parts.join("; ")),
    }
}

/// Ports as a rule writes them (`389,636`); empty for "any ICMP type".
fn ports_text(r: &Rule) -> String {
    r.ports.to_string().replace(';', ",")
}

/// What announces a rule's ports, and the services it covers: `epm:
/// drsuapi`, `portmap: nfs/mountd`; empty for fixed ports.
fn dynamic_text(r: &Rule) -> String {
    match &r.dynamic {
        Some(d) => format!("{}: {}", d.mapper.label(), d.services_text()),
        None => String::new(),
    }
}

/// The requirement as a reader says it.
fn requirement_text(r: &Rule) -> &'static str {
    match (r.requirement, r.expect) {
        (Requirement::Required, Expect::EachSource) => "required, each source",
        (Requirement::Required, Expect::Any) => "required",
        (Requirement::Optional, _) => "optional",
    }
}

/// A profile's whole matrix: roles, features and every rule.
pub fn write_matrix<W: Write>(mut out: W, p: &Profile, format: MatrixFormat) -> io::Result<()> {
    match format {
        MatrixFormat::Table { width } => write_matrix_table(&mut out, p, width),
        MatrixFormat::Csv => {
            let rows: Vec<Vec<String>> = p
                .rules
                .iter()
                .map(|r| {
                    vec![
                        p.id.clone(),
                        r.id.clone(),
                        r.from.join(";"),
                        r.to.join(";"),
                        r.proto.label().to_string(),
                        r.ports.to_string(),
                        r.initiator.label().to_string(),
                        r.requirement.label().to_string(),
                        r.expect.label().to_string(),
                        r.feature.clone().unwrap_or_default(),
                        r.scope.label().to_string(),
                        r.purpose.clone(),
                        r.source.clone(),
                        r.note.clone().unwrap_or_default(),
                        p.origin.to_string(),
                        dynamic_text(r),
                        app_text(r, ", "),
                    ]
                })
                .collect();
            write_csv(out, &RULE_COLUMNS, &rows)
        }
        MatrixFormat::Json => write_json(out, &profile_json(p)),
    }
}

fn profile_json(p: &Profile) -> Value {
    json!({
        "id": p.id,
        "name": p.name,
        "vendor": p.vendor,
        "aliases": p.aliases,
        "document": p.document,
        "seed": p.seed,
        "origin": p.origin.to_string(),
        "roles": p.roles.iter().map(|r| json!({
            "id": r.id,
            "name": r.name,
            "description": r.description,
            "dedicated": r.dedicated,
        })).collect::<Vec<_>>(),
        "features": p.features.iter().map(|f| json!({
            "id": f.id,
            "name": f.name,
            "description": f.description,
        })).collect::<Vec<_>>(),
        "rules": p.rules.iter().map(|r| json!({
            "id": r.id,
            "from": r.from,
            "to": r.to,
            "proto": r.proto.label(),
            "ports": ports_text(r),
            "initiator": r.initiator.label(),
            "requirement": r.requirement.label(),
            "expect": r.expect.label(),
            "feature": r.feature,
            "scope": r.scope.label(),
            "purpose": r.purpose,
            "source": r.source,
            "note": r.note,
            "dynamic": r.dynamic.as_ref().map(|d| json!({
                "mapper": d.mapper.label(),
                "services": d.services.iter().map(ToString::to_string).collect::<Vec<_>>(),
            })),
            "app": r.app.iter().map(|a| a.label()).collect::<Vec<_>>(),
            "app_by_port": r.app_by_port.iter().map(|(ports, apps)| json!({
                "ports": ports.to_string(),
                "app": apps.iter().map(|a| a.label()).collect::<Vec<_>>(),
            })).collect::<Vec<_>>(),
            "app_required": r.app_required,
        })).collect::<Vec<_>>(),
    })
}

fn write_matrix_table<W: Write>(out: &mut W, p: &Profile, width: Option<usize>) -> io::Result<()> {
    let write_table = |out: &mut W, columns: &[Column], rows: &[Vec<String>]| {
        write_table(out, &fit(columns, rows, width), rows)
    };
    writeln!(out, "{} ({})", p.name, p.id)?;
    writeln!(out, "vendor:   {}", p.vendor)?;
    writeln!(out, "document: {}", p.document)?;
    if let Some(seed) = &p.seed {
        writeln!(out, "seed:     {seed}")?;
    }
    if !p.aliases.is_empty() {
        writeln!(out, "aliases:  {}", p.aliases.join(", "))?;
    }
    writeln!(out, "origin:   {}", p.origin)?;

    writeln!(out, "\nRoles ({})", p.roles.len())?;
    let roles: Vec<Vec<String>> = p
        .roles
        .iter()
        .map(|r| {
            vec![
                r.id.clone(),
                r.name.clone(),
                if r.dedicated { "yes" } else { "" }.to_string(),
                r.description.clone(),
            ]
        })
        .collect();
    write_table(
        out,
        &[
            Column::new("ROLE"),
            Column::wrapped("NAME", 32),
            Column::new("DEDICATED"),
            Column::wrapped("DESCRIPTION", 72),
        ],
        &roles,
    )?;

    if !p.features.is_empty() {
        writeln!(
            out,
            "\nFeatures ({}, off unless the deployment lists them)",
            p.features.len()
        )?;
        let features: Vec<Vec<String>> = p
            .features
            .iter()
            .map(|f| {
                vec![
                    f.id.clone(),
                    f.name.clone(),
                    p.feature_rule_count(&f.id).to_string(),
                    f.description.clone(),
                ]
            })
            .collect();
        write_table(
            out,
            &[
                Column::new("FEATURE"),
                Column::wrapped("NAME", 40),
                Column::new("RULES"),
                Column::wrapped("DESCRIPTION", 64),
            ],
            &features,
        )?;
    }

    writeln!(
        out,
        "\nRules ({}, {} required)",
        p.rules.len(),
        p.required_rules().count()
    )?;
    let rules: Vec<Vec<String>> = p
        .rules
        .iter()
        .map(|r| {
            vec![
                r.id.clone(),
                r.from.join(", "),
                r.to.join(", "),
                r.proto.label().to_string(),
                match &r.dynamic {
                    Some(_) => format!("{} ({})", ports_text(r), dynamic_text(r)),
                    None => ports_text(r),
                },
                app_text(r, ", "),
                r.initiator.label().to_string(),
                requirement_text(r).to_string(),
                r.feature.clone().unwrap_or_default(),
                r.scope.label().to_string(),
                r.purpose.clone(),
            ]
        })
        .collect();
    write_table(
        out,
        &[
            Column::new("RULE"),
            Column::wrapped("FROM", 24),
            Column::wrapped("TO", 24),
            Column::new("PROTO"),
            Column::wrapped("PORTS", 16),
            Column::wrapped("APP", 14),
            Column::new("INITIATOR"),
            Column::wrapped("REQUIREMENT", 21),
            Column::new("FEATURE"),
            Column::new("SCOPE"),
            Column::wrapped("PURPOSE", 48),
        ],
        &rules,
    )
}

fn write_csv<W: Write>(out: W, header: &[&str], rows: &[Vec<String>]) -> io::Result<()> {
    let mut w = csv_writer(out);
    w.write_record(header).map_err(csv_err)?;
    for r in rows {
        w.write_record(r).map_err(csv_err)?;
    }
    w.flush()
}

fn write_json<W: Write>(mut out: W, v: &Value) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut out, v).map_err(io::Error::other)?;
    out.write_all(b"\n")?;
    out.flush()
}
