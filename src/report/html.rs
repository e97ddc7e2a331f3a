//! The HTML report (`audit --html FILE`): one self-contained page that a
//! person opens in a browser, offline. Everything is rendered here as static
//! HTML, so the page reads without JavaScript; a small inline script
//! (`html/report.js`) only sorts and filters rows, keeping its view in the URL
//! fragment. Like every writer it formats what the audit decided: statuses
//! and severities come from the classifier.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::{self, Write as _};
use std::io::{self, Write};
use std::net::IpAddr;

use super::cells::FindingText;
use super::records::FINDINGS_COLUMNS;
use super::writer::{Audited, ReportWriter};
use super::AuditDoc;
use crate::audit::{Finding, RuleCoverage, SITE_PROFILE as SITE};
use crate::capture::Timestamp;
use crate::ingest::{kept_out, FileStats, Skip};
use crate::rules::{AuditScope, FindingKind, ProfileBinding, Severity};

const STYLE: &str = include_str!("html/report.css");
const SCRIPT: &str = include_str!("html/report.js");

/// Finding rows the page holds at most: past this a browser opens the page
/// slowly or not at all, and the findings report has every row anyway.
const MAX_FINDING_ROWS: usize = 5000;

/// Coverage statuses, the worst first: a matrix cell takes the first one
/// among its rules. With what each means, for the legend.
const STATUSES: [(&str, &str); 10] = [
    (
        "violated",
        "traffic broke the rule (opened the wrong way, or used a local-only or retired port)",
    ),
    ("missing", "required, and no matching traffic was attempted"),
    ("refused", "attempted, and every attempt was refused (RST)"),
    ("unanswered", "attempted, and never answered"),
    ("observed", "matching traffic was seen"),
    ("unused", "optional, and not seen"),
    (
        "unbound",
        "one of its sides has no host bound in the deployment",
    ),
    (
        "local",
        "documented as internal or localhost-only; not seen between hosts",
    ),
    (
        "retired",
        "documented as disabled in current versions; not seen",
    ),
    ("inactive", "its feature is not enabled in the deployment"),
];

/// How bad a status is: lower is worse; a status this writer does not
/// know ranks after all the others.
fn status_rank(status: &str) -> usize {
    STATUSES
        .iter()
        .position(|(s, _)| *s == status)
        .unwrap_or(STATUSES.len())
}

/// Writes the audit as one self-contained HTML page.
pub fn write_html<W: Write>(mut out: W, doc: &AuditDoc) -> io::Result<()> {
    out.write_all(render(doc, MAX_FINDING_ROWS).as_bytes())?;
    out.flush()
}

/// The page, with at most `max_rows` finding rows.
fn render(doc: &AuditDoc, max_rows: usize) -> String {
    let mut s = String::with_capacity(64 * 1024 + doc.findings().len().min(max_rows) * 1024);
    page(&mut s, doc, max_rows).expect("formatting into a String does not fail");
    s
}

/// Text escaped for HTML: element content and quoted attribute values.
/// Capture names, deployment names and rule text are user input.
struct Esc<'a>(&'a str);

impl fmt::Display for Esc<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut done = 0;
        for (i, c) in self.0.char_indices() {
            let entity = match c {
                '&' => "&amp;",
                '<' => "&lt;",
                '>' => "&gt;",
                '"' => "&quot;",
                '\'' => "&#39;",
                _ => continue,
            };
            f.write_str(&self.0[done..i])?;
            f.write_str(entity)?;
            done = i + c.len_utf8();
        }
        f.write_str(&self.0[done..])
    }
}

/// A value for the URL fragment the script reads: every byte but the
/// unreserved ones percent-encoded.
fn fragment_value(v: &str) -> String {
    super::doc::percent_encode(v, b"")
}

/// True when the `;`-joined `list` holds `item`.
fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

fn ts(t: Option<Timestamp>) -> String {
    t.map(|t| t.to_string()).unwrap_or_default()
}

/// A sort key for an address: IPv4 before IPv6, each in numeric order.
fn ip_key(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(a) => {
            let o = a.octets();
            format!("4-{:03}.{:03}.{:03}.{:03}", o[0], o[1], o[2], o[3])
        }
        IpAddr::V6(a) => {
            let segs: Vec<String> = a.segments().iter().map(|x| format!("{x:04x}")).collect();
            format!("6-{}", segs.join(":"))
        }
    }
}

fn severity_rank(s: Severity) -> u8 {
    match s {
        Severity::Info => 0,
        Severity::Warning => 1,
        Severity::Error => 2,
    }
}

/// A rule's protocol and ports as a chip says them: `tcp/443`,
/// `udp/137,138`, `tcp/udp 389,636` (a space where a slash would read as a
/// third protocol), or the protocol alone when the rule names no port.
fn proto_ports(proto: &str, ports: &str) -> String {
    let ports = ports.replace(';', ",");
    if ports.is_empty() {
        proto.to_string()
    } else if proto.contains('/') {
        format!("{proto} {ports}")
    } else {
        format!("{proto}/{ports}")
    }
}

/// Escaped text that may wrap after each comma: a list of twenty ports
/// should not push a matrix cell across the page.
fn breakable(text: &str) -> String {
    Esc(text).to_string().replace(',', ",<wbr>")
}

fn page(s: &mut String, doc: &AuditDoc, max_rows: usize) -> fmt::Result {
    let verdict = Verdict::of(doc);
    writeln!(s, "<!doctype html>")?;
    writeln!(s, "<html lang=\"en\">")?;
    writeln!(s, "<head>")?;
    writeln!(s, "<meta charset=\"utf-8\">")?;
    writeln!(
        s,
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
    )?;
    // The page loads nothing: no fonts, images, scripts or styles by URL.
    writeln!(
        s,
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'\">"
    )?;
    writeln!(s, "<meta name=\"generator\" content=\"portaudit\">")?;
    writeln!(
        s,
        "<title>{}: {} \u{2014} portaudit</title>",
        Esc(&doc.deployment.name),
        verdict.word
    )?;
    writeln!(s, "<style>\n{STYLE}</style>")?;
    writeln!(s, "</head>")?;
    writeln!(s, "<body>")?;
    header(s, doc, &verdict)?;
    matrix(s, doc)?;
    findings(s, doc, max_rows)?;
    coverage(s, doc)?;
    decode(s, doc)?;
    writeln!(
        s,
        "<footer>Written by portaudit. Every finding is also in the findings report (CSV or NDJSON, on standard output or in the <code>-o</code> file); <code>--stats</code> writes these statistics as JSON.</footer>"
    )?;
    writeln!(s, "<script>\n{SCRIPT}</script>")?;
    writeln!(s, "</body>")?;
    writeln!(s, "</html>")
}

/// Pass or fail against `--fail-on`, as the exit status says it.
struct Verdict {
    word: &'static str,
    class: &'static str,
    why: String,
}

impl Verdict {
    fn of(doc: &AuditDoc) -> Verdict {
        let failing = doc.run.failing();
        match doc.run.fail_on {
            None => Verdict {
                word: "PASS",
                class: "pass",
                why: "--fail-on never: findings do not fail the audit".into(),
            },
            Some(level) if failing > 0 => Verdict {
                word: "FAIL",
                class: "fail",
                why: format!(
                    "{} at or above {level} (--fail-on {level})",
                    plural(failing, "finding", "findings")
                ),
            },
            Some(level) => Verdict {
                word: "PASS",
                class: "pass",
                why: format!("no finding at or above {level} (--fail-on {level})"),
            },
        }
    }
}

fn header(s: &mut String, doc: &AuditDoc, verdict: &Verdict) -> fmt::Result {
    let d = doc.deployment;
    let files = doc.run.files;
    writeln!(s, "<header>")?;
    writeln!(s, "<h1>portaudit: {}</h1>", Esc(&d.name))?;
    writeln!(
        s,
        "<p><span class=\"verdict {}\" id=\"verdict\">{}</span> {}</p>",
        verdict.class,
        verdict.word,
        Esc(&verdict.why)
    )?;
    let troubled: Vec<&FileStats> = files
        .iter()
        .filter(|f| f.unreadable.is_some() || !f.damage.is_empty() || f.incomplete_note().is_some())
        .collect();
    if !troubled.is_empty() {
        writeln!(
            s,
            "<p class=\"notice\">{} damaged, incomplete or unreadable: what could be read was audited; the damage is named under <a href=\"#decode\">decode statistics</a>, and the exit status is 3.</p>",
            plural(troubled.len(), "capture is", "captures are")
        )?;
    }
    let flows = &doc.run.flows;
    if flows.mostly_one_way() {
        writeln!(
            s,
            "<p class=\"notice\">{:.0}% of flows show only one direction: the capture may have missed the other side (SPAN/TAP direction, asymmetric routing), and missing traffic may be the capture's doing.</p>",
            flows.one_way_share() * 100.0
        )?;
    }
    writeln!(s, "<dl class=\"facts\">")?;
    let scope = match d.scope {
        AuditScope::Bound => "bound",
        AuditScope::All => "all",
    };
    writeln!(
        s,
        "<dt>Deployment</dt><dd>{} from <code>{}</code> (scope: {scope})</dd>",
        Esc(&d.name),
        Esc(&doc.deployment_file)
    )?;
    writeln!(s, "<dt>Profiles</dt><dd><ul class=\"plain\">")?;
    for b in &d.profiles {
        let features: Vec<&str> = b.features.iter().map(String::as_str).collect();
        writeln!(
            s,
            "<li>{} (<code>{}</code>); features: {}</li>",
            Esc(&b.profile.name),
            Esc(&b.profile.id),
            if features.is_empty() {
                "none".to_string()
            } else {
                Esc(&features.join(", ")).to_string()
            }
        )?;
    }
    writeln!(s, "</ul></dd>")?;
    writeln!(s, "<dt>Captures</dt><dd><ul class=\"plain\">")?;
    for f in files {
        writeln!(
            s,
            "<li><code>{}</code> {}</li>",
            Esc(&f.name),
            Esc(&format!(
                "({}, {} packets)",
                if f.format.is_empty() {
                    "unreadable"
                } else {
                    &f.format
                },
                f.packets_read
            ))
        )?;
    }
    writeln!(s, "</ul></dd>")?;
    let read: u64 = files.iter().map(|f| f.packets_read).sum();
    let used: u64 = files.iter().map(|f| f.packets_decoded).sum();
    let first = files.iter().filter_map(|f| f.first_ts).min();
    let last = files.iter().filter_map(|f| f.last_ts).max();
    writeln!(
        s,
        "<dt>Traffic</dt><dd>{read} packets read, {used} used; {} ({:.1}% one-way, {:.1}% of TCP flows mid-stream){}</dd>",
        plural(flows.flows as usize, "flow", "flows"),
        flows.one_way_share() * 100.0,
        flows.mid_stream_share() * 100.0,
        match (first, last) {
            (Some(a), Some(b)) => format!("; from {a} to {b}"),
            _ => String::new(),
        }
    )?;
    let fs = doc.findings();
    let by_severity: Vec<String> = [Severity::Error, Severity::Warning, Severity::Info]
        .iter()
        .map(|&sev| (sev, fs.iter().filter(|f| f.severity == sev).count()))
        .filter(|&(_, n)| n > 0)
        .map(|(sev, n)| format!("{n} {sev}"))
        .collect();
    writeln!(
        s,
        "<dt>Findings</dt><dd>{}{}</dd>",
        fs.len(),
        if by_severity.is_empty() {
            String::new()
        } else {
            format!(": {}", by_severity.join(", "))
        }
    )?;
    writeln!(s, "</dl>")?;
    writeln!(
        s,
        "<table class=\"counts\" id=\"kinds\"><thead><tr><th>kind</th><th class=\"num\">findings</th></tr></thead><tbody>"
    )?;
    for kind in FindingKind::ALL {
        let n = fs.iter().filter(|f| f.kind == *kind).count();
        let label = kind.label();
        if n == 0 {
            writeln!(
                s,
                "<tr class=\"zero\" data-kind=\"{label}\"><td>{label}</td><td class=\"num\">0</td></tr>"
            )?;
        } else {
            writeln!(
                s,
                "<tr data-kind=\"{label}\"><td><a href=\"#kind={label}\">{label}</a></td><td class=\"num\">{n}</td></tr>"
            )?;
        }
    }
    writeln!(s, "</tbody></table>")?;
    writeln!(s, "</header>")?;
    writeln!(
        s,
        "<nav><a href=\"#matrix\">Role matrix</a><a href=\"#findings-section\">Findings</a><a href=\"#coverage-section\">Rule coverage</a><a href=\"#decode\">Decode statistics</a></nav>"
    )
}

fn matrix(s: &mut String, doc: &AuditDoc) -> fmt::Result {
    writeln!(s, "<section id=\"matrix\">")?;
    writeln!(s, "<h2>Role matrix</h2>")?;
    writeln!(
        s,
        "<p>Rows: the role that opens the connection; columns: the role that answers. Each chip is a rule of the profile with its protocol, ports and coverage (hover for the rule, its purpose and the sentence it comes from); a cell takes the colour of its worst rule. A red number counts the findings from the row's role to the column's and links to them.</p>"
    )?;
    writeln!(s, "<ul class=\"legend\">")?;
    for (status, meaning) in STATUSES {
        writeln!(
            s,
            "<li><span class=\"chip st-{status}\"><small>{status}</small></span> {meaning}</li>"
        )?;
    }
    writeln!(s, "</ul>")?;
    for b in &doc.deployment.profiles {
        profile_grid(s, doc, b)?;
    }
    site_grid(s, doc)?;
    writeln!(s, "</section>")
}

/// One chip: a rule's protocol and ports with its status word, the rest in
/// its title.
fn chip(s: &mut String, c: &RuleCoverage) -> fmt::Result {
    let title = format!(
        "{} ({}, {})\n{}\n\u{201c}{}\u{201d}\n{}",
        c.rule_id,
        c.status.label(),
        if c.required { "required" } else { "optional" },
        c.purpose,
        c.source,
        c.counts()
    );
    write!(
        s,
        "<span class=\"chip st-{}\" data-rule=\"{}\" title=\"{}\"><b>{}</b> <small>{}</small></span>",
        Esc(c.status.label()),
        Esc(&c.rule_id),
        Esc(&title),
        breakable(&proto_ports(c.proto.label(), &c.ports.to_string())),
        Esc(c.status.label())
    )
}

/// One grid cell: its rules as chips, coloured by the worst of them, and
/// the number of findings linked to `href`.
fn cell(
    s: &mut String,
    from: &str,
    to: &str,
    rules: &[&RuleCoverage],
    findings: usize,
    href: &str,
) -> fmt::Result {
    let worst = rules
        .iter()
        .map(|c| c.status.label())
        .min_by_key(|st| status_rank(st))
        .unwrap_or("none");
    write!(
        s,
        "<td data-from=\"{}\" data-to=\"{}\" data-status=\"{}\" data-findings=\"{findings}\" class=\"st-{}{}\">",
        Esc(from),
        Esc(to),
        Esc(worst),
        Esc(worst),
        if findings > 0 { " hit" } else { "" }
    )?;
    for c in rules {
        chip(s, c)?;
    }
    if findings > 0 {
        write!(
            s,
            "<a class=\"badge\" href=\"{}\" title=\"{} from {} to {}\">{findings}</a>",
            Esc(href),
            plural(findings, "finding", "findings"),
            Esc(from),
            Esc(to)
        )?;
    }
    writeln!(s, "</td>")
}

fn profile_grid(s: &mut String, doc: &AuditDoc, b: &ProfileBinding) -> fmt::Result {
    let p = &b.profile;
    let ids: BTreeSet<&str> = p.rules.iter().map(|r| r.id.as_str()).collect();
    let rules: Vec<&RuleCoverage> = doc
        .coverage()
        .iter()
        .filter(|c| c.profile == p.id && ids.contains(c.rule_id.as_str()))
        .collect();
    let roles: Vec<&str> = p.roles.iter().map(|r| r.id.as_str()).collect();
    // Findings by (from, to) role, counted once per pair; the rest have an
    // end bound to no role of this profile.
    let mut hits: BTreeMap<(&str, &str), usize> = BTreeMap::new();
    let mut outside = 0;
    for f in doc.findings().iter().filter(|f| f.concerns(&p.id)) {
        let src: Vec<&str> = f
            .src_roles
            .iter()
            .map(String::as_str)
            .filter(|r| roles.contains(r))
            .collect();
        let dst: Vec<&str> = f
            .dst_roles
            .iter()
            .map(String::as_str)
            .filter(|r| roles.contains(r))
            .collect();
        if src.is_empty() || dst.is_empty() {
            outside += 1;
        }
        for a in &src {
            for b in &dst {
                *hits.entry((a, b)).or_default() += 1;
            }
        }
    }
    writeln!(
        s,
        "<h3>{} <span class=\"muted\">(<code>{}</code>)</span></h3>",
        Esc(&p.name),
        Esc(&p.id)
    )?;
    writeln!(s, "<div class=\"wide\">")?;
    writeln!(s, "<table class=\"grid\" data-profile=\"{}\">", Esc(&p.id))?;
    write!(
        s,
        "<thead><tr><th class=\"corner\">from \u{2193} to \u{2192}</th>"
    )?;
    for r in &p.roles {
        write!(
            s,
            "<th scope=\"col\" title=\"{}\">{}</th>",
            Esc(&role_title(b, &r.id, &r.name)),
            Esc(&r.id)
        )?;
    }
    writeln!(s, "</tr></thead>")?;
    writeln!(s, "<tbody>")?;
    for from in &p.roles {
        let bound = b.hosts.get(&from.id).is_some_and(|h| !h.is_empty());
        writeln!(
            s,
            "<tr><th scope=\"row\" title=\"{}\"{}>{}</th>",
            Esc(&role_title(b, &from.id, &from.name)),
            if bound { "" } else { " class=\"unbound-role\"" },
            Esc(&from.id)
        )?;
        for to in &p.roles {
            let here: Vec<&RuleCoverage> = rules
                .iter()
                .copied()
                .filter(|c| c.from.contains(&from.id) && c.to.contains(&to.id))
                .collect();
            let n = hits
                .get(&(from.id.as_str(), to.id.as_str()))
                .copied()
                .unwrap_or(0);
            let href = format!(
                "#profile={}&src={}&dst={}",
                fragment_value(&p.id),
                fragment_value(&from.id),
                fragment_value(&to.id)
            );
            cell(s, &from.id, &to.id, &here, n, &href)?;
        }
        writeln!(s, "</tr>")?;
    }
    writeln!(s, "</tbody></table>")?;
    writeln!(s, "</div>")?;
    if outside > 0 {
        writeln!(
            s,
            "<p class=\"muted\">{} of this profile {} an end bound to no role of it (an unknown host, or a limit of the audit) and {} only in the <a href=\"#profile={}\">findings table</a>.</p>",
            plural(outside, "finding", "findings"),
            if outside == 1 { "has" } else { "have" },
            if outside == 1 { "is" } else { "are" },
            fragment_value(&p.id)
        )?;
    }
    Ok(())
}

/// A role's name and the hosts the deployment binds to it.
fn role_title(b: &ProfileBinding, id: &str, name: &str) -> String {
    match b.hosts.get(id) {
        Some(hosts) if !hosts.is_empty() => {
            let hosts: Vec<String> = hosts.iter().map(|h| h.to_string()).collect();
            format!("{name}: {}", hosts.join(", "))
        }
        _ => format!("{name}: no host bound"),
    }
}

/// The deployment's own rules, keyed by the words of their sides (roles,
/// `*`, addresses). Their findings are counted by rule: a site rule's
/// sides are not roles that a finding's ends could be matched against.
fn site_grid(s: &mut String, doc: &AuditDoc) -> fmt::Result {
    let ids: BTreeSet<&str> = doc
        .deployment
        .site_rules
        .iter()
        .map(|r| r.rule.id.as_str())
        .collect();
    let rules: Vec<&RuleCoverage> = doc
        .coverage()
        .iter()
        .filter(|c| c.profile == SITE && ids.contains(c.rule_id.as_str()))
        .collect();
    if rules.is_empty() {
        return Ok(());
    }
    let mut froms: Vec<&str> = Vec::new();
    let mut tos: Vec<&str> = Vec::new();
    for c in &rules {
        for t in c.from.iter().map(String::as_str) {
            if !froms.contains(&t) {
                froms.push(t);
            }
        }
        for t in c.to.iter().map(String::as_str) {
            if !tos.contains(&t) {
                tos.push(t);
            }
        }
    }
    let mut by_rule: BTreeMap<&str, usize> = BTreeMap::new();
    for f in doc.findings().iter().filter(|f| f.concerns(SITE)) {
        *by_rule
            .entry(f.rule_id.as_deref().unwrap_or_default())
            .or_default() += 1;
    }
    writeln!(
        s,
        "<h3>Site rules <span class=\"muted\">(<code>{SITE}</code>, from the deployment)</span></h3>"
    )?;
    writeln!(
        s,
        "<p>Sides as the deployment writes them: roles, addresses, <code>*</code> for any bound host. A red number counts the findings on the rules of the cell.</p>"
    )?;
    writeln!(s, "<div class=\"wide\">")?;
    writeln!(s, "<table class=\"grid\" data-profile=\"{SITE}\">")?;
    write!(
        s,
        "<thead><tr><th class=\"corner\">from \u{2193} to \u{2192}</th>"
    )?;
    for t in &tos {
        write!(s, "<th scope=\"col\">{}</th>", Esc(t))?;
    }
    writeln!(s, "</tr></thead>")?;
    writeln!(s, "<tbody>")?;
    for from in &froms {
        writeln!(s, "<tr><th scope=\"row\">{}</th>", Esc(from))?;
        for to in &tos {
            let here: Vec<&RuleCoverage> = rules
                .iter()
                .copied()
                .filter(|c| c.from.iter().any(|r| r == from) && c.to.iter().any(|r| r == to))
                .collect();
            let mut rule_ids: Vec<&str> = here.iter().map(|c| c.rule_id.as_str()).collect();
            rule_ids.dedup();
            let n: usize = rule_ids
                .iter()
                .map(|id| by_rule.get(id).copied().unwrap_or(0))
                .sum();
            let href = format!(
                "#profile={SITE}&rule={}",
                fragment_value(&rule_ids.join(","))
            );
            cell(s, from, to, &here, n, &href)?;
        }
        writeln!(s, "</tr>")?;
    }
    writeln!(s, "</tbody></table>")?;
    writeln!(s, "</div>")
}

/// Columns the script sorts as numbers.
const NUMERIC: [&str; 5] = ["severity", "dst_port", "connections", "packets", "bytes"];

fn findings(s: &mut String, doc: &AuditDoc, max_rows: usize) -> fmt::Result {
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

fn coverage(s: &mut String, doc: &AuditDoc) -> fmt::Result {
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

fn decode(s: &mut String, doc: &AuditDoc) -> fmt::Result {
    let files = doc.run.files;
    writeln!(s, "<section id=\"decode\">")?;
    writeln!(s, "<h2>Decode statistics</h2>")?;
    writeln!(
        s,
        "<p>Bytes are frame bytes on the wire (original lengths). A packet read but not used is counted under its reason, never dropped silently.</p>"
    )?;
    writeln!(s, "<div class=\"wide\">")?;
    writeln!(s, "<table id=\"files\">")?;
    writeln!(
        s,
        "<thead><tr><th>file</th><th>format</th><th>link types</th><th class=\"num\">packets read</th><th class=\"num\">used</th><th class=\"num\">skipped</th><th class=\"num\">bytes</th><th>first seen</th><th>last seen</th><th>damage</th></tr></thead>"
    )?;
    writeln!(s, "<tbody>")?;
    for f in files {
        let skipped: u64 = f.skipped.values().sum();
        let format = match (f.format.as_str(), f.compressed) {
            ("", _) => "-".to_string(),
            (fmt, true) => format!("{fmt} (gzip)"),
            (fmt, false) => fmt.to_string(),
        };
        let links: Vec<&str> = f.link_types.iter().map(String::as_str).collect();
        writeln!(
            s,
            "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{skipped}</td><td class=\"num\">{}</td><td class=\"mono\">{}</td><td class=\"mono\">{}</td>",
            Esc(&f.name),
            Esc(&format),
            Esc(&links.join(", ")),
            f.packets_read,
            f.packets_decoded,
            f.bytes_read,
            ts(f.first_ts),
            ts(f.last_ts)
        )?;
        write!(s, "<td>")?;
        if let Some(u) = &f.unreadable {
            write!(s, "<p>unreadable: {}</p>", Esc(u))?;
        }
        if !f.damage.is_empty() {
            write!(s, "<ul class=\"plain\">")?;
            for d in &f.damage {
                write!(
                    s,
                    "<li>byte {}: {}</li>",
                    d.offset,
                    Esc(&d.kind.to_string())
                )?;
            }
            write!(s, "</ul>")?;
        }
        if let Some(note) = f.incomplete_note() {
            write!(s, "<p>incomplete: {}</p>", Esc(&note))?;
        }
        if f.unreadable.is_none() && f.damage.is_empty() && f.incomplete_note().is_none() {
            write!(s, "none")?;
        }
        writeln!(s, "</td></tr>")?;
    }
    writeln!(s, "</tbody></table>")?;
    writeln!(s, "</div>")?;
    file_notes(s, files)?;
    if !doc.run.not_captures.is_empty() {
        writeln!(s, "<h3>Not captures, not read</h3>")?;
        writeln!(s, "<ul>")?;
        for p in doc.run.not_captures {
            writeln!(s, "<li><code>{}</code></li>", Esc(&p.display().to_string()))?;
        }
        writeln!(s, "</ul>")?;
    }
    let mut skipped: BTreeMap<Skip, u64> = BTreeMap::new();
    for f in files {
        for (reason, n) in &f.skipped {
            *skipped.entry(*reason).or_default() += n;
        }
    }
    writeln!(s, "<h3>Skipped by reason</h3>")?;
    if skipped.is_empty() {
        writeln!(s, "<p>No packet was skipped.</p>")?;
    } else {
        writeln!(
            s,
            "<table class=\"counts\" id=\"skipped\"><thead><tr><th>reason</th><th class=\"num\">packets</th></tr></thead><tbody>"
        )?;
        for (reason, n) in &skipped {
            writeln!(
                s,
                "<tr><td>{}</td><td class=\"num\">{n}</td></tr>",
                Esc(&reason.label())
            )?;
        }
        writeln!(s, "</tbody></table>")?;
    }
    let fl = &doc.run.flows;
    writeln!(s, "<h3>Flows</h3>")?;
    writeln!(
        s,
        "<table class=\"counts\" id=\"flows\"><tbody><tr><td>flows</td><td class=\"num\">{}</td></tr><tr><td>one-way (only one side seen)</td><td class=\"num\">{} ({:.1}%)</td></tr><tr><td>TCP flows</td><td class=\"num\">{}</td></tr><tr><td>TCP flows seen mid-stream</td><td class=\"num\">{} ({:.1}%)</td></tr></tbody></table>",
        fl.flows,
        fl.one_way,
        fl.one_way_share() * 100.0,
        fl.tcp_flows,
        fl.mid_stream,
        fl.mid_stream_share() * 100.0
    )?;
    writeln!(s, "</section>")
}

/// What the file table has no column for: odd timestamps, untimed
/// packets, what the limits kept out.
fn file_notes(s: &mut String, files: &[FileStats]) -> fmt::Result {
    let mut notes: Vec<String> = Vec::new();
    for f in files {
        let mut odd = super::summary::odd_times(f);
        if f.untimed_packets > 0 {
            odd.push(format!("{} have none", f.untimed_packets));
        }
        if !odd.is_empty() {
            notes.push(format!(
                "{}: packet timestamps: {}; {}",
                f.name,
                odd.join(", "),
                super::summary::ODD_TIMES
            ));
        }
        let o = &f.overflow;
        if o.packets > 0 {
            notes.push(format!(
                "{}: flow limit reached: {} packets ({} bytes) of about {} flows were not audited (--max-flows)",
                f.name,
                o.packets,
                o.bytes,
                o.flows.estimate()
            ));
        }
        if o.fragments_forgotten > 0 {
            notes.push(format!(
                "{}: fragment limit reached: {} fragmented datagrams were forgotten before their later fragments came (--max-fragments)",
                f.name, o.fragments_forgotten
            ));
        }
    }
    if notes.is_empty() {
        return Ok(());
    }
    let all = kept_out(files);
    writeln!(s, "<ul>")?;
    for n in &notes {
        writeln!(s, "<li>{}</li>", Esc(n))?;
    }
    if all.packets > 0 {
        writeln!(
            s,
            "<li>In all: {} packets kept out by the flow limit.</li>",
            all.packets
        )?;
    }
    writeln!(s, "</ul>")
}

/// The HTML page (`--html`).
pub struct HtmlReport;

impl ReportWriter for HtmlReport {
    fn option(&self) -> &'static str {
        "html"
    }

    fn write(&self, out: &mut dyn Write, a: &Audited<'_>) -> io::Result<()> {
        write_html(out, a.doc)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_the_five_characters_html_gives_meaning_to() {
        let e = |t: &str| Esc(t).to_string();
        assert_eq!(
            e(r#"<a href="x">Tom & Jerry's</a>"#),
            "&lt;a href=&quot;x&quot;&gt;Tom &amp; Jerry&#39;s&lt;/a&gt;"
        );
        assert_eq!(e(""), "");
        assert_eq!(e("plain text"), "plain text");
        // Multi-byte characters around the escapes survive whole.
        assert_eq!(e("é<ü>€&"), "é&lt;ü&gt;€&amp;");
        assert_eq!(e("&amp;"), "&amp;amp;");
    }

    #[test]
    fn fragment_values_keep_only_unreserved_bytes() {
        assert_eq!(fragment_value("binalyze-air"), "binalyze-air");
        assert_eq!(fragment_value("a,b&c=d #é"), "a%2Cb%26c%3Dd%20%23%C3%A9");
    }

    #[test]
    fn worst_status_first() {
        let mut v = vec![
            "observed", "unused", "missing", "violated", "refused", "new",
        ];
        v.sort_by_key(|s| status_rank(s));
        assert_eq!(
            v,
            ["violated", "missing", "refused", "observed", "unused", "new"]
        );
    }

    /// A deployment, a capture name and a finding that all try to inject
    /// markup, and four findings on a page that holds two.
    fn hostile() -> (crate::rules::Deployment, Vec<FileStats>, Vec<Finding>) {
        let catalog = crate::rules::Catalog::shipped().unwrap();
        let text = r#"
name = "<script>alert('x')</script> & co"
[profiles.binalyze-air.hosts]
console = ["10.1.0.10"]
responder = ["10.1.20.0/24"]
[[site_rule]]
id = "site-dns"
from = ["*"]
to = ["10.1.0.2"]
proto = "udp"
ports = "53"
purpose = "DNS <b>bold</b>"
source = "Site <i>policy</i>"
"#;
        let d = crate::rules::Deployment::parse(std::path::Path::new("d.toml"), text, &catalog)
            .unwrap();
        let files = vec![FileStats {
            name: "<img src=x onerror=alert(1)>.pcap".into(),
            format: "pcap".into(),
            ..FileStats::default()
        }];
        let finding = |n: u64| Finding {
            severity: Severity::Error,
            kind: FindingKind::UnexpectedPort,
            profiles: vec!["binalyze-air".into()],
            rule_id: None,
            src_ip: Some("10.1.20.5".parse().unwrap()),
            src_roles: vec!["responder".into()],
            dst_ip: Some("10.1.0.10".parse().unwrap()),
            dst_roles: vec!["console".into()],
            proto: Some(crate::audit::FindingProto::Ip(6)),
            dst_port: Some(crate::audit::FindingPorts::Port(22)),
            initiator_bases: [crate::flow::InitiatorBasis::Syn].into(),
            state: crate::audit::FindingState::Flows([crate::flow::FlowState::Established].into()),
            connections: 1,
            packets: n,
            bytes: 100 * n,
            first_seen: None,
            last_seen: None,
            community_ids: Vec::new(),
            more_flows: 0,
            detail: "\"quoted\" </td><script>x</script>".into(),
        };
        (d, files, (1..=4).map(finding).collect())
    }

    #[test]
    fn user_text_cannot_inject_markup_and_long_reports_say_what_they_left_out() {
        let (d, files, findings) = hostile();
        let coverage = vec![RuleCoverage {
            profile: SITE.into(),
            rule_id: "site-dns".into(),
            from: vec!["*".into()],
            to: vec!["10.1.0.2".into()],
            proto: crate::rules::Proto::Udp,
            ports: crate::rules::PortSet::parse("53").unwrap(),
            active: false,
            required: false,
            scope: crate::rules::Scope::Network,
            status: crate::audit::RuleStatus::Unused,
            flows: 0,
            observed: 0,
            refused: 0,
            unanswered: 0,
            violations: 0,
            bytes: 0,
            purpose: "DNS <b>bold</b>".into(),
            source: "Site <i>policy</i>".into(),
        }];
        let run = crate::report::RunSummary {
            files: &files,
            flows: crate::flow::FlowSummary::default(),
            findings: Some(&findings),
            coverage: &coverage,
            not_captures: &[],
            fail_on: Some(Severity::Error),
            filter: None,
        };
        let doc = AuditDoc {
            deployment: &d,
            deployment_file: "dir/<d>.toml".into(),
            run: &run,
        };
        let page = render(&doc, 2);
        for raw in [
            "<script>alert",
            "<img",
            "<b>bold",
            "<i>",
            "</td><script>",
            "<d>",
            "\"quoted\"",
        ] {
            assert!(!page.contains(raw), "unescaped {raw:?}");
        }
        assert!(page.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; co"));
        assert!(page.contains("&lt;img src=x onerror=alert(1)&gt;.pcap"));
        assert!(page.contains("4 findings: this page shows the first 2 and leaves 2 out"));
        assert_eq!(page.matches("<tr id=\"f").count(), 2);
        // The only script is the report's own.
        assert_eq!(page.matches("<script").count(), 1);
        assert!(page.contains("<td data-from=\"responder\" data-to=\"console\""));
        // Header counts and the grid see every finding, not only the rows shown.
        assert!(page.contains("data-findings=\"4\""));
        assert_eq!(render(&doc, 2), page, "the same audit, the same page");
    }

    #[test]
    fn addresses_sort_by_number() {
        let k = |s: &str| ip_key(s.parse().unwrap());
        assert!(k("10.1.0.9") < k("10.1.0.10"));
        assert!(k("192.0.2.1") < k("fd00::1"));
        assert!(k("fd00::2") < k("fd00::10"));
    }
}
