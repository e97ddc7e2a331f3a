//! The role matrix of the HTML page: a grid per profile and one for the
//! site rules, each cell a chip per rule coloured by its status.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::{self, Write as _};

use super::*;

pub(super) fn matrix(s: &mut String, doc: &AuditDoc) -> fmt::Result {
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
