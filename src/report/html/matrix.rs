//! The role matrix of the HTML page: a grid per profile and one for the
//! site rules, each cell a chip per rule coloured by its status.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::{self, Write as _};

use super::*;

pub(super) fn matrix(s: &mut String, doc: &AuditDoc) -> fmt::Result {
    writeln!(s, "<section id=\"matrix\">")?;
    writeln!(s, "<h2>Role matrix</h2>")?;
    writeln!(
        s,
        "<p>Rows: the role that opens the connection; columns: the role that answers. Each chip is a rule of the profile with its protocol, ports and coverage; its number is its row in the <a href=\"#coverage-section\">rule coverage</a> table (hover for the rule, its purpose and the sentence it comes from). A cell takes the colour of its worst rule, or of its worst finding when that is worse: red for an error, amber for a warning. A red number counts the findings from the row's role to the column's and links to them.</p>"
    )?;
    writeln!(s, "<ul class=\"legend\">")?;
    for (status, meaning) in STATUSES {
        writeln!(
            s,
            "<li><span class=\"chip st-{status}\"><small>{status}</small></span> {meaning}</li>"
        )?;
    }
    writeln!(s, "</ul>")?;
    let numbers: Numbers = doc
        .coverage()
        .iter()
        .enumerate()
        .map(|(i, c)| ((c.profile.as_str(), c.rule_id.as_str()), i + 1))
        .collect();
    for b in &doc.deployment.profiles {
        profile_grid(s, doc, b, &numbers)?;
    }
    site_grid(s, doc, &numbers)?;
    writeln!(s, "</section>")
}

/// Each rule's number: its row in the coverage table, by (profile, rule).
type Numbers<'a> = HashMap<(&'a str, &'a str), usize>;

/// Findings of a cell: how many, and the worst severity among them.
#[derive(Clone, Copy, Default)]
struct Hits {
    count: usize,
    worst: Option<Severity>,
}

impl Hits {
    fn add(&mut self, f: &Finding) {
        self.count += 1;
        self.worst = self.worst.max(Some(f.severity));
    }

    fn join(&mut self, o: Hits) {
        self.count += o.count;
        self.worst = self.worst.max(o.worst);
    }
}

/// One chip: its number, a rule's protocol and ports with its status
/// word, the rest in its title; it links to the rule's coverage row.
fn chip(s: &mut String, c: &RuleCoverage, numbers: &Numbers<'_>) -> fmt::Result {
    let title = format!(
        "{} ({}, {})\n{}\n\u{201c}{}\u{201d}\n{}",
        c.rule_id,
        c.status.label(),
        requirement(c),
        c.purpose,
        c.source,
        c.counts()
    );
    let n = numbers
        .get(&(c.profile.as_str(), c.rule_id.as_str()))
        .copied()
        .unwrap_or(0);
    write!(
        s,
        "<a class=\"chip st-{}\" data-rule=\"{}\" href=\"#r{n}\" title=\"{}\"><span class=\"n\">{n}</span> <b>{}</b> <small>{}</small></a>",
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
    (from, to): (&str, &str),
    rules: &[&RuleCoverage],
    numbers: &Numbers<'_>,
    hits: Hits,
    href: &str,
) -> fmt::Result {
    let findings = hits.count;
    let worst = rules
        .iter()
        .map(|c| c.status.label())
        .min_by_key(|st| status_rank(st))
        .unwrap_or("none");
    // The worst finding colours the cell when it is worse than the worst
    // rule: an error is as bad as a violated rule, a warning as an
    // unanswered one.
    let shade = match hits.worst {
        Some(Severity::Error) if status_rank(worst) > status_rank("violated") => " hit-error",
        Some(Severity::Warning) if status_rank(worst) > status_rank("unanswered") => " hit-warning",
        _ => "",
    };
    write!(
        s,
        "<td data-from=\"{}\" data-to=\"{}\" data-status=\"{}\" data-findings=\"{findings}\" data-worst=\"{}\" class=\"st-{}{}{shade}\">",
        Esc(from),
        Esc(to),
        Esc(worst),
        hits.worst.map_or("none", Severity::label),
        Esc(worst),
        if findings > 0 { " hit" } else { "" }
    )?;
    for c in rules {
        chip(s, c, numbers)?;
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

fn profile_grid(
    s: &mut String,
    doc: &AuditDoc,
    b: &ProfileBinding,
    numbers: &Numbers<'_>,
) -> fmt::Result {
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
    let mut hits: BTreeMap<(&str, &str), Hits> = BTreeMap::new();
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
                hits.entry((a, b)).or_default().add(f);
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
        let bound = b.binds(&from.id);
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
                .unwrap_or_default();
            let href = format!(
                "#profile={}&src={}&dst={}",
                fragment_value(&p.id),
                fragment_value(&from.id),
                fragment_value(&to.id)
            );
            cell(s, (&from.id, &to.id), &here, numbers, n, &href)?;
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
    let hosts = b.hosts.get(id).into_iter().flatten().map(|h| h.to_string());
    let names = b.names.get(id).into_iter().flatten().map(|n| n.to_string());
    let all: Vec<String> = hosts.chain(names).collect();
    match all.is_empty() {
        false => format!("{name}: {}", all.join(", ")),
        true => format!("{name}: no host bound"),
    }
}

/// The deployment's own rules, keyed by the words of their sides (roles,
/// `*`, addresses). Their findings are counted by rule: a site rule's
/// sides are not roles that a finding's ends could be matched against.
fn site_grid(s: &mut String, doc: &AuditDoc, numbers: &Numbers<'_>) -> fmt::Result {
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
    let mut by_rule: BTreeMap<&str, Hits> = BTreeMap::new();
    for f in doc.findings().iter().filter(|f| f.concerns(SITE)) {
        by_rule
            .entry(f.rule_id.as_deref().unwrap_or_default())
            .or_default()
            .add(f);
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
            let mut n = Hits::default();
            for id in &rule_ids {
                n.join(by_rule.get(id).copied().unwrap_or_default());
            }
            let href = format!(
                "#profile={SITE}&rule={}",
                fragment_value(&rule_ids.join(","))
            );
            cell(s, (from, to), &here, numbers, n, &href)?;
        }
        writeln!(s, "</tr>")?;
    }
    writeln!(s, "</tbody></table>")?;
    writeln!(s, "</div>")
}
