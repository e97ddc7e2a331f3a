//! The findings and rule-coverage tables of the HTML page.

use std::fmt::{self, Write as _};

use super::*;

/// Columns the script sorts as numbers.
const NUMERIC: [&str; 5] = ["severity", "dst_port", "connections", "packets", "bytes"];

pub(super) fn findings(s: &mut String, doc: &AuditDoc, max_rows: usize) -> fmt::Result {
    let fs = doc.findings();
    let shown = &fs[..fs.len().min(max_rows)];
    writeln!(s, "<section id=\"findings-section\">")?;
    writeln!(s, "<h2>Findings</h2>")?;
    if fs.is_empty() {
        writeln!(s, "<p>No findings.</p>")?;
    } else if shown.len() < fs.len() {
        writeln!(
            s,
            "<p class=\"notice\" id=\"findings-left-out\">{} findings: this page shows the first {} and leaves {} out, so that a browser can still open it. The findings report (CSV or NDJSON, on standard output or in the <code>-o</code> file) has them all; sorting and filtering here see only the rows shown.</p>",
            fs.len(),
            shown.len(),
            fs.len() - shown.len()
        )?;
    } else {
        writeln!(
            s,
            "<p>{}, in the order of the findings report. Click a column header to sort; numeric columns sort by number.</p>",
            plural(fs.len(), "finding", "findings")
        )?;
    }
    writeln!(
        s,
        "<div class=\"controls\" id=\"findings-controls\" hidden>"
    )?;
    writeln!(
        s,
        "<label>Filter <input type=\"search\" id=\"filter-text\" placeholder=\"text in the row, e.g. udp 10.1.0.10\"></label>"
    )?;
    write!(
        s,
        "<label>Kind <select id=\"filter-kind\"><option value=\"\">all</option>"
    )?;
    for kind in FindingKind::ALL {
        let n = shown.iter().filter(|f| f.kind == *kind).count();
        if n > 0 {
            write!(s, "<option value=\"{0}\">{0} ({n})</option>", kind.label())?;
        }
    }
    writeln!(s, "</select></label>")?;
    write!(
        s,
        "<label>Severity <select id=\"filter-severity\"><option value=\"\">all</option>"
    )?;
    for sev in [Severity::Error, Severity::Warning, Severity::Info] {
        let n = shown.iter().filter(|f| f.severity == sev).count();
        if n > 0 {
            write!(s, "<option value=\"{0}\">{0} ({n})</option>", sev.label())?;
        }
    }
    writeln!(s, "</select></label>")?;
    writeln!(s, "<span id=\"findings-shown\" class=\"muted\"></span>")?;
    writeln!(s, "</div>")?;
    writeln!(s, "<p id=\"findings-scope\"></p>")?;
    writeln!(s, "<div class=\"scroll\">")?;
    writeln!(s, "<table id=\"findings\" class=\"sortable\">")?;
    write!(s, "<thead><tr>")?;
    for key in FINDINGS_COLUMNS {
        if NUMERIC.contains(&key) {
            write!(
                s,
                "<th data-key=\"{key}\" data-type=\"num\" class=\"num\">{key}</th>"
            )?;
        } else {
            write!(s, "<th data-key=\"{key}\">{key}</th>")?;
        }
    }
    writeln!(s, "</tr></thead>")?;
    writeln!(s, "<tbody>")?;
    for (i, f) in shown.iter().enumerate() {
        finding_row(s, i + 1, f)?;
    }
    writeln!(s, "</tbody></table>")?;
    writeln!(s, "</div>")?;
    writeln!(s, "</section>")
}

fn finding_row(s: &mut String, n: usize, f: &Finding) -> fmt::Result {
    let sev = f.severity.label();
    let t = FindingText::of(f);
    writeln!(
        s,
        "<tr id=\"f{n}\" class=\"sev-{sev}\" data-severity=\"{sev}\" data-kind=\"{}\" data-profile=\"{}\" data-rule=\"{}\" data-src-role=\"{}\" data-dst-role=\"{}\">",
        f.kind.label(),
        Esc(&t.profile),
        Esc(&t.rule_id),
        Esc(&t.src_role),
        Esc(&t.dst_role)
    )?;
    writeln!(
        s,
        "<td data-v=\"{}\">{sev}</td><td>{}</td><td>{}</td><td class=\"wrap\">{}</td>",
        severity_rank(f.severity),
        f.kind.label(),
        Esc(&t.profile),
        Esc(&t.rule_id)
    )?;
    for (ip, role) in [(f.src_ip, &t.src_role), (f.dst_ip, &t.dst_role)] {
        match ip {
            Some(ip) => write!(s, "<td class=\"mono\" data-v=\"{}\">{ip}</td>", ip_key(ip))?,
            None => write!(s, "<td></td>")?,
        }
        writeln!(s, "<td>{}</td>", Esc(role))?;
    }
    writeln!(
        s,
        "<td>{}</td><td class=\"num\">{}</td><td>{}</td><td>{}</td>",
        Esc(&t.proto),
        Esc(&t.dst_port),
        Esc(&t.initiator_basis),
        Esc(&t.state)
    )?;
    writeln!(
        s,
        "<td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>",
        f.connections, f.packets, f.bytes
    )?;
    writeln!(
        s,
        "<td class=\"mono\">{}</td><td class=\"mono\">{}</td><td class=\"mono wrap cid\">{}</td>",
        ts(f.first_seen),
        ts(f.last_seen),
        Esc(&t.community_id)
    )?;
    writeln!(s, "<td class=\"wrap detail\">{}</td>", Esc(&f.detail))?;
    writeln!(s, "</tr>")
}

pub(super) fn coverage(s: &mut String, doc: &AuditDoc) -> fmt::Result {
    writeln!(s, "<section id=\"coverage-section\">")?;
    writeln!(s, "<h2>Rule coverage</h2>")?;
    writeln!(
        s,
        "<p>Every rule of the deployment, its profiles' and its own, and how the captures exercised it.</p>"
    )?;
    writeln!(s, "<div class=\"scroll\">")?;
    writeln!(s, "<table id=\"coverage\" class=\"sortable\">")?;
    write!(s, "<thead><tr>")?;
    for (key, label, numeric) in [
        ("profile", "profile", false),
        ("rule_id", "rule", false),
        ("sides", "from \u{2192} to", false),
        ("ports", "proto/ports", false),
        ("required", "required", false),
        ("status", "status", false),
        ("flows", "flows", true),
        ("observed", "observed", true),
        ("refused", "refused", true),
        ("unanswered", "unanswered", true),
        ("violations", "violations", true),
        ("bytes", "bytes", true),
    ] {
        if numeric {
            write!(
                s,
                "<th data-key=\"{key}\" data-type=\"num\" class=\"num\">{label}</th>"
            )?;
        } else {
            write!(s, "<th data-key=\"{key}\">{label}</th>")?;
        }
    }
    writeln!(s, "</tr></thead>")?;
    writeln!(s, "<tbody>")?;
    for c in doc.coverage() {
        writeln!(
            s,
            "<tr data-profile=\"{}\" data-rule=\"{}\" data-status=\"{}\">",
            Esc(&c.profile),
            Esc(&c.rule_id),
            Esc(c.status.label())
        )?;
        writeln!(
            s,
            "<td>{}</td><td title=\"{}\">{}</td><td>{} \u{2192} {}</td><td>{}</td><td>{}</td>",
            Esc(&c.profile),
            Esc(&c.purpose),
            Esc(&c.rule_id),
            Esc(&c.from.join(", ")),
            Esc(&c.to.join(", ")),
            breakable(&proto_ports(c.proto.label(), &c.ports.to_string())),
            if c.required { "required" } else { "optional" }
        )?;
        writeln!(
            s,
            "<td data-v=\"{}\"><span class=\"chip st-{}\"><small>{}</small></span></td>",
            status_rank(c.status.label()),
            Esc(c.status.label()),
            Esc(c.status.label())
        )?;
        writeln!(
            s,
            "<td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>",
            c.flows, c.observed, c.refused, c.unanswered, c.violations, c.bytes
        )?;
        writeln!(s, "</tr>")?;
    }
    writeln!(s, "</tbody></table>")?;
    writeln!(s, "</div>")?;
    writeln!(s, "</section>")
}
