//! The findings as SARIF 2.1.0, for GitHub code scanning and other SARIF
//! viewers. A finding that rests on a rule of the matrix (missing-expected,
//! wrong-direction, ...) has that rule as its SARIF rule, `profile/rule-id`,
//! described by its purpose and the vendor sentence it quotes; a finding no
//! rule explains (unexpected-port) has its kind as rule. The location is
//! the capture file (a capture has no lines; the flow is in the message and
//! the properties). Damaged or unreadable captures are tool notifications.
//! No times or dates: the same input gives the same bytes.

use std::collections::BTreeMap;
use std::io::{self, Write};

use serde_json::{json, Value};

use crate::audit::Finding;
use crate::rules::{FindingKind, Severity};

use super::cells::FindingText;
use super::doc::finding_line;
use super::finding_key::key_of;
use super::text::percent_encode;
use super::writer::{Audited, ReportWriter};
use super::AuditDoc;

const SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";

fn level(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "note",
    }
}

/// GitHub's `security-severity`: high, medium, low.
fn security_severity(s: Severity) -> &'static str {
    match s {
        Severity::Error => "7.5",
        Severity::Warning => "5.0",
        Severity::Info => "2.0",
    }
}

/// The SARIF rule a finding is filed under.
fn rule_id(f: &Finding) -> String {
    match &f.rule_id {
        None => f.kind.label().to_string(),
        Some(rule) => format!("{}/{rule}", f.profiles.join(";")),
    }
}

/// A path as a URI reference: relative paths stay relative (GitHub
/// resolves them against the checkout), absolute ones become `file://`.
fn uri(path: &str) -> String {
    let scheme = if path.starts_with('/') { "file://" } else { "" };
    format!("{scheme}{}", percent_encode(path, b"/"))
}

/// Stable across runs and machines: what the finding is about, not when.
fn fingerprint(f: &Finding) -> String {
    super::finding_key::fingerprint(&key_of(f))
}

fn rule_descriptor(doc: &AuditDoc, id: &str, f: &Finding) -> Value {
    let tags = json!(["security", "network", f.kind.label()]);
    let cov = f.rule_id.as_ref().and_then(|rule| {
        doc.coverage()
            .iter()
            .find(|c| f.profiles == [c.profile.as_str()] && c.rule_id == *rule)
    });
    match cov {
        Some(c) => json!({
            "id": id,
            "name": c.rule_id,
            "shortDescription": {"text": format!("{} -> {} {}/{}: {}", c.from.join(","), c.to.join(","), c.proto.label(), c.ports, c.purpose)},
            "fullDescription": {"text": c.source},
            "help": {"text": format!(
                "Rule {} of profile {} ({}, {}, scope {}): {} -> {} {}/{}. {}\nSource: {}",
                c.rule_id, c.profile,
                if c.required { "required" } else { "optional" },
                if c.active { "active" } else { "inactive: its feature is off" },
                c.scope.label(), c.from.join(";"), c.to.join(";"), c.proto.label(), c.ports, c.purpose, c.source
            )},
            "defaultConfiguration": {"level": level(f.severity)},
            "properties": {"tags": tags, "security-severity": security_severity(f.severity)},
        }),
        _ => json!({
            "id": id,
            "name": f.kind.label(),
            "shortDescription": {"text": f.kind.description()},
            "fullDescription": {"text": f.kind.description()},
            "defaultConfiguration": {"level": level(f.severity)},
            "properties": {"tags": tags, "security-severity": security_severity(f.severity)},
        }),
    }
}

/// Where a finding's first flow was first seen, as a SARIF location: the
/// input (its artifact index when it is one of the run's captures), and
/// the line or byte offset in it.
fn source_location(place: &crate::flow::Place, captures: &[&str]) -> Value {
    use crate::flow::Unit;
    let name = place.input.name.as_str();
    let mut artifact = json!({"uri": uri(name)});
    if let Some(i) = captures.iter().position(|c| *c == name) {
        artifact["index"] = json!(i);
    }
    let mut physical = json!({"artifactLocation": artifact});
    match place.input.unit {
        Unit::Line => physical["region"] = json!({"startLine": place.at}),
        Unit::Byte => physical["region"] = json!({"byteOffset": place.at}),
        Unit::Packet => {}
    }
    let mut location = json!({"physicalLocation": physical});
    if place.input.unit == Unit::Packet {
        location["message"] = json!({"text": place.to_string()});
    }
    location
}

/// Writes the findings as one SARIF 2.1.0 log.
pub fn write_sarif<W: Write>(mut out: W, doc: &AuditDoc) -> io::Result<()> {
    let captures: Vec<&str> = doc.captures().filter(|c| *c != "<stdin>").collect();
    let locations: Vec<Value> = captures
        .iter()
        .enumerate()
        .map(
            |(i, c)| json!({"physicalLocation": {"artifactLocation": {"uri": uri(c), "index": i}}}),
        )
        .collect();
    // Rules in order of first use, so indices follow the results.
    let mut index: BTreeMap<String, usize> = BTreeMap::new();
    let mut rules: Vec<Value> = Vec::new();
    for f in doc.findings() {
        if let std::collections::btree_map::Entry::Vacant(e) = index.entry(rule_id(f)) {
            rules.push(rule_descriptor(doc, e.key(), f));
            e.insert(rules.len() - 1);
        }
    }
    let result = |f: &Finding| {
        let id = rule_id(f);
        let t = FindingText::of(f);
        let mut result = json!({
            "ruleId": id,
            "ruleIndex": index[&id],
            "kind": "fail",
            "level": level(f.severity),
            "message": {"text": finding_line(f)},
            "locations": match &f.source {
                Some(place) => vec![source_location(place, &captures)],
                None => locations.clone(),
            },
            "partialFingerprints": {"portauditFinding/v1": fingerprint(f)},
            "properties": {
                "severity": f.severity.label(),
                "kind": f.kind.label(),
                "profile": t.profile,
                "rule_id": t.rule_id,
                "src_ip": f.src_ip.map(|a| a.to_string()),
                "src_role": t.src_role,
                "dst_ip": f.dst_ip.map(|a| a.to_string()),
                "dst_role": t.dst_role,
                "proto": t.proto,
                "dst_port": t.dst_port,
                "initiator_basis": t.initiator_basis,
                "state": t.state,
                "connections": f.connections,
                "packets": f.packets,
                "bytes": f.bytes,
                "first_seen": f.first_seen.map(|t| t.to_string()),
                "last_seen": f.last_seen.map(|t| t.to_string()),
                "community_id": t.community_id,
                "source": f.source.as_ref().map(ToString::to_string),
            },
        });
        if let Some(w) = &f.waived {
            // Waived: kept, shown as suppressed with the reason.
            result["suppressions"] = json!([{
                "kind": "external",
                "justification": format!("{} (waiver at {}, until {})", w.reason, w.place, w.expires),
            }]);
        }
        if let Some(b) = f.baseline {
            // SARIF's own words for it, so code scanning shows new alerts.
            result["baselineState"] = json!(b.label());
        }
        result
    };
    let mut notifications: Vec<Value> = Vec::new();
    for file in doc.run.files {
        let problems = file
            .unreadable
            .iter()
            .map(|u| format!("cannot be read: {u}"))
            .chain(
                file.damage
                    .iter()
                    .map(|d| format!("damaged: {}", file.describe(d))),
            )
            .chain(file.incomplete_note().map(|n| format!("incomplete: {n}")));
        for text in problems {
            let mut n = json!({
                "level": "error",
                "message": {"text": format!("{}: {text}", file.name)},
                "descriptor": {"id": "capture-input"},
            });
            if let Some(at) = captures.iter().position(|c| *c == file.name) {
                n["locations"] = json!([{"physicalLocation": {"artifactLocation": {"uri": uri(&file.name), "index": at}}}]);
            }
            notifications.push(n);
        }
    }
    let readable = doc.run.files.iter().all(|f| f.unreadable.is_none());
    let log = json!({
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "portaudit",
                "version": env!("CARGO_PKG_VERSION"),
                "semanticVersion": env!("CARGO_PKG_VERSION"),
                "rules": rules,
            }},
            "automationDetails": {"id": format!("portaudit/{}/", doc.deployment.name)},
            "artifacts": captures.iter().map(|c| json!({
                "location": {"uri": uri(c)},
                "roles": ["analysisTarget"],
            })).collect::<Vec<_>>(),
            "invocations": [{
                "executionSuccessful": readable,
                "toolExecutionNotifications": notifications,
            }],
            "properties": {
                "deployment": doc.deployment.name,
                "deploymentFile": doc.deployment_file,
                "failOn": doc.run.fail_on.map(Severity::label),
                "findingsByKind": FindingKind::ALL.iter().map(|k| (k.label(), doc.findings().iter().filter(|f| f.kind == *k).count())).collect::<BTreeMap<_, _>>(),
            },
            "results": [],
        }],
    });
    // The results are written one at a time into the log's empty
    // "results" array, so that a large audit is never held twice as JSON.
    // A marker of quotes and brackets cannot occur inside a JSON string.
    let text = serde_json::to_string_pretty(&log)?;
    let marker = "\"results\": []";
    let at = text.find(marker).expect("the log has a results array");
    out.write_all(&text.as_bytes()[..at])?;
    out.write_all(b"\"results\": [")?;
    for (i, f) in doc.findings().iter().enumerate() {
        out.write_all(if i == 0 { b"\n" } else { b",\n" })?;
        let one = serde_json::to_string_pretty(&result(f))?;
        for (j, line) in one.lines().enumerate() {
            if j > 0 {
                out.write_all(b"\n")?;
            }
            // Indented as the array's elements would be.
            out.write_all(b"        ")?;
            out.write_all(line.as_bytes())?;
        }
    }
    if !doc.findings().is_empty() {
        out.write_all(b"\n      ")?;
    }
    out.write_all(b"]")?;
    out.write_all(&text.as_bytes()[at + marker.len()..])?;
    out.write_all(b"\n")?;
    out.flush()
}

/// SARIF 2.1.0 (`--sarif`).
pub struct SarifReport;

impl ReportWriter for SarifReport {
    fn option(&self) -> &'static str {
        "sarif"
    }

    fn write(&self, out: &mut dyn Write, a: &Audited<'_>) -> io::Result<()> {
        write_sarif(out, a.doc)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_become_uri_references() {
        assert_eq!(uri("fixtures/a b.pcap"), "fixtures/a%20b.pcap");
        assert_eq!(uri("/tmp/x#1.pcap"), "file:///tmp/x%231.pcap");
        assert_eq!(uri("caf\u{e9}.pcap"), "caf%C3%A9.pcap");
    }
}
