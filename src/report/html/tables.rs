//! The findings and rule-coverage tables of the HTML page.

use std::collections::HashMap;
use std::fmt::{self, Write as _};

use super::*;

/// The findings table's columns: (sort key, header, numeric). What a
/// reader needs to judge a finding is visible at 1400 px; the rest (profile,
/// initiator basis, state, counters, times, Community IDs) is in each
/// row's details.
const FINDING_COLUMNS: [(&str, &str, bool); 7] = [
    ("severity", "severity", true),
    ("kind", "kind", false),
    ("route", "source (role) \u{2192} destination (role)", false),
    ("service", "service", false),
    ("rule_id", "rule", false),
    ("bytes", "bytes", true),
    ("detail", "detail", false),
];

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
    // Against --baseline and the deployment's waivers: which findings are
    // new, known, waived.
    let standings: Vec<(&str, usize)> = ["new", "unchanged", "waived", "active"]
        .iter()
        .map(|&st| {
            (
                st,
                shown.iter().filter(|f| standing(f).contains(&st)).count(),
            )
        })
        .collect();
    let compared = shown
        .iter()
        .any(|f| f.baseline.is_some() || f.waived.is_some());
    if compared {
        write!(
            s,
            "<label>Standing <select id=\"filter-standing\"><option value=\"\">all</option>"
        )?;
        for (st, n) in standings.iter().filter(|(_, n)| *n > 0) {
            write!(s, "<option value=\"{st}\">{st} ({n})</option>")?;
        }
        writeln!(s, "</select></label>")?;
    }
    writeln!(s, "<span id=\"findings-shown\" class=\"muted\"></span>")?;
    writeln!(s, "</div>")?;
    writeln!(s, "<p id=\"findings-scope\"></p>")?;
    writeln!(s, "<div class=\"scroll\">")?;
    writeln!(s, "<table id=\"findings\" class=\"sortable\">")?;
    write!(s, "<thead><tr>")?;
    for (key, label, numeric) in FINDING_COLUMNS {
        if numeric {
            write!(
                s,
                "<th data-key=\"{key}\" data-type=\"num\" class=\"num col-{key}\">{label}</th>"
            )?;
        } else {
            write!(s, "<th data-key=\"{key}\" class=\"col-{key}\">{label}</th>")?;
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

/// A finding's standing: `new` or `unchanged` against `--baseline`,
/// `waived` by a waiver of the deployment or else `active`.
fn standing(f: &Finding) -> Vec<&'static str> {
    let mut out = Vec::new();
    if let Some(b) = f.baseline {
        out.push(b.label());
    }
    out.push(if f.waived.is_some() {
        "waived"
    } else {
        "active"
    });
    out
}

fn finding_row(s: &mut String, n: usize, f: &Finding) -> fmt::Result {
    let sev = f.severity.label();
    let t = FindingText::of(f);
    writeln!(
        s,
        "<tr id=\"f{n}\" class=\"sev-{sev}{}\" data-severity=\"{sev}\" data-standing=\"{}\" data-kind=\"{}\" data-profile=\"{}\" data-rule=\"{}\" data-src-role=\"{}\" data-dst-role=\"{}\">",
        if f.waived.is_some() { " waived" } else { "" },
        standing(f).join(";"),
        f.kind.label(),
        Esc(&t.profile),
        Esc(&t.rule_id),
        Esc(&t.src_role),
        Esc(&t.dst_role)
    )?;
    write!(
        s,
        "<td data-v=\"{}\">{sev}</td><td class=\"nowrap\">{}",
        severity_rank(f.severity),
        f.kind.label(),
    )?;
    if let Some(b) = f.baseline {
        write!(s, " <span class=\"tag tag-{0}\">{0}</span>", b.label())?;
    }
    if let Some(w) = &f.waived {
        write!(
            s,
            " <span class=\"tag tag-waived\" title=\"{}\">waived until {}</span>",
            Esc(&format!("{} (waiver at {})", w.reason, w.place)),
            w.expires
        )?;
    }
    writeln!(s, "</td>")?;
    // The route: each end's address (when the row has one) and roles.
    let end = |ip: Option<IpAddr>, roles: &str| {
        let roles = Esc(&FindingText::roles_shown(roles, ", ")).to_string();
        match ip {
            Some(ip) => {
                format!("<span class=\"mono\">{ip}</span> <span class=\"role\">({roles})</span>")
            }
            None => format!("<span class=\"role\">{roles}</span>"),
        }
    };
    writeln!(
        s,
        "<td class=\"route\" data-v=\"{}\">{} \u{2192} {}</td>",
        f.src_ip.map(ip_key).unwrap_or_default(),
        end(f.src_ip, &t.src_role),
        end(f.dst_ip, &t.dst_role)
    )?;
    let service = t.service();
    writeln!(
        s,
        "<td class=\"nowrap mono\">{}</td><td class=\"rule\" title=\"{}\">{}</td><td class=\"num col-bytes\">{}</td>",
        breakable(&service),
        Esc(&t.rule_id),
        Esc(&t.rule_id),
        f.bytes
    )?;
    writeln!(
        s,
        "<td class=\"detail\">{}<details><summary>flows</summary><dl class=\"more\">",
        Esc(&f.detail)
    )?;
    for (what, value) in [
        ("profile", t.profile.replace(';', ", ")),
        ("initiator basis", t.initiator_basis.replace(';', ", ")),
        ("state", t.state.replace(';', ", ")),
        ("connections", f.connections.to_string()),
        ("packets", f.packets.to_string()),
        ("first seen", ts(f.first_seen)),
        ("last seen", ts(f.last_seen)),
        ("first seen in", t.source.clone()),
    ] {
        if !value.is_empty() {
            write!(s, "<dt>{what}</dt><dd>{}</dd>", Esc(&value))?;
        }
    }
    if !t.community_id.is_empty() {
        write!(
            s,
            "<dt>community IDs</dt><dd class=\"mono cid\">{}</dd>",
            Esc(&t.community_id).to_string().replace(';', "<br>")
        )?;
    }
    writeln!(s, "</dl></details></td>")?;
    writeln!(s, "</tr>")
}

pub(super) fn coverage(s: &mut String, doc: &AuditDoc) -> fmt::Result {
    writeln!(s, "<section id=\"coverage-section\">")?;
    writeln!(s, "<h2>Rule coverage</h2>")?;
    writeln!(
        s,
        "<p>Every rule of the deployment, its profiles' and its own, and how the captures exercised it. The numbers are those of the chips in the role matrix; a rule's findings link to their rows.</p>"
    )?;
    writeln!(s, "<div class=\"scroll\">")?;
    writeln!(s, "<table id=\"coverage\" class=\"sortable\">")?;
    write!(s, "<thead><tr>")?;
    for (key, label, numeric) in [
        ("n", "#", true),
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
        ("findings", "findings", true),
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
    let mut findings_of: HashMap<(&str, &str), usize> = HashMap::new();
    for f in doc.findings() {
        if let Some(rule) = f.rule_id.as_deref() {
            for p in &f.profiles {
                *findings_of.entry((p.as_str(), rule)).or_default() += 1;
            }
        }
    }
    for (i, c) in doc.coverage().iter().enumerate() {
        let n = i + 1;
        writeln!(
            s,
            "<tr id=\"r{n}\" data-profile=\"{}\" data-rule=\"{}\" data-status=\"{}\">",
            Esc(&c.profile),
            Esc(&c.rule_id),
            Esc(c.status.label())
        )?;
        let kind = requirement(c);
        writeln!(
            s,
            "<td class=\"num\">{n}</td><td>{}</td><td class=\"rule\" title=\"{}\">{}</td><td>{} \u{2192} {}</td><td>{}</td><td>{kind}</td>",
            Esc(&c.profile),
            Esc(&c.purpose),
            Esc(&c.rule_id),
            Esc(&c.from.join(", ")),
            Esc(&c.to.join(", ")),
            breakable(&proto_ports(c.proto.label(), &c.ports.to_string())),
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
        match findings_of.get(&(c.profile.as_str(), c.rule_id.as_str())) {
            Some(&k) => writeln!(
                s,
                "<td class=\"num\"><a href=\"#profile={}&amp;rule={}\" title=\"the findings on this rule\">{k}</a></td>",
                fragment_value(&c.profile),
                fragment_value(&c.rule_id)
            )?,
            None => writeln!(s, "<td class=\"num\">0</td>")?,
        }
        writeln!(s, "</tr>")?;
    }
    writeln!(s, "</tbody></table>")?;
    writeln!(s, "</div>")?;
    writeln!(s, "</section>")
}
