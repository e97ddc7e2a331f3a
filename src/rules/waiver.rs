//! Waivers (`[[waiver]]` in a deployment): a known finding kept in every
//! report but not failing the run, with a reason and an expiry date, so
//! that nothing is silenced forever.

use std::ops::Range;
use std::path::Path;

use serde::Deserialize;
use toml::Spanned;

use super::deployment::{host_ref, HostRef, ProfileBinding, SiteRule};
use super::{FindingKind, PortSet, Proto, RulesError};

/// A day, counted from 1970-01-01.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Day(pub i64);

impl Day {
    /// A `YYYY-MM-DD` date of the proleptic Gregorian calendar.
    pub fn parse(s: &str) -> Result<Day, String> {
        let bad = || format!("{s:?} is not a date; write it as YYYY-MM-DD, e.g. \"2027-03-31\"");
        let parts: Vec<&str> = s.split('-').collect();
        let [y, m, d] = parts.as_slice() else {
            return Err(bad());
        };
        if y.len() != 4 || m.len() != 2 || d.len() != 2 {
            return Err(bad());
        }
        let (y, m, d): (i64, u32, u32) = (
            y.parse().map_err(|_| bad())?,
            m.parse().map_err(|_| bad())?,
            d.parse().map_err(|_| bad())?,
        );
        let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
        let days_in = [
            31,
            if leap { 29 } else { 28 },
            31,
            30,
            31,
            30,
            31,
            31,
            30,
            31,
            30,
            31,
        ];
        if !(1..=12).contains(&m) || d == 0 || d > days_in[m as usize - 1] {
            return Err(bad());
        }
        Ok(Day(days_from_civil(y, m, d)))
    }

    /// Today: `SOURCE_DATE_EPOCH` when set (reproducible CI), else the
    /// clock.
    pub fn today() -> Day {
        let secs = std::env::var("SOURCE_DATE_EPOCH")
            .ok()
            .and_then(|v| v.trim().parse::<i64>().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_secs() as i64)
            });
        Day(secs.div_euclid(86_400))
    }
}

impl std::fmt::Display for Day {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (y, m, d) = civil_from_days(self.0);
        write!(f, "{y:04}-{m:02}-{d:02}")
    }
}

/// Days from 1970-01-01 to a civil date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// A validated waiver: what it matches (every field given must match;
/// absent fields match anything), why, and until when.
#[derive(Clone, Debug)]
pub struct Waiver {
    pub kind: Option<FindingKind>,
    /// `(profile id, rule id)`; profile `site` for site rules.
    pub rule: Option<(String, String)>,
    /// Any of these (empty: any source).
    pub src: Vec<HostRef>,
    pub dst: Vec<HostRef>,
    pub proto: Option<Proto>,
    pub port: Option<PortSet>,
    pub reason: String,
    /// The last day it waives.
    pub expires: Day,
    pub owner: Option<String>,
    pub ticket: Option<String>,
    /// `file:line` of its `[[waiver]]` table, to name it in reports.
    pub place: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawWaiver {
    kind: Option<Spanned<String>>,
    rule: Option<Spanned<String>>,
    #[serde(default)]
    src: Vec<Spanned<String>>,
    #[serde(default)]
    dst: Vec<Spanned<String>>,
    proto: Option<Spanned<Proto>>,
    port: Option<Spanned<String>>,
    reason: Option<Spanned<String>>,
    expires: Option<Spanned<String>>,
    owner: Option<String>,
    ticket: Option<String>,
}

/// Checks a `[[waiver]]` table against the deployment it is in; the
/// table's own span (`at`) names it when a required key is missing.
pub(super) fn waiver(
    raw: Spanned<RawWaiver>,
    profiles: &[ProfileBinding],
    site_rules: &[SiteRule],
    file: &Path,
    text: &str,
) -> Result<Waiver, RulesError> {
    let at: Range<usize> = raw.span();
    let err = |span: Range<usize>, msg: String| RulesError::at(file, text, Some(span), msg);
    let r = raw.into_inner();
    let reason =
        match &r.reason {
            Some(s) if !s.get_ref().trim().is_empty() => s.get_ref().trim().to_string(),
            Some(s) => {
                return Err(err(
                    s.span(),
                    "the waiver's `reason` is empty; say why this finding is accepted".into(),
                ))
            }
            None => return Err(err(
                at,
                "the waiver has no `reason`; say why this finding is accepted (`reason = \"...\"`)"
                    .into(),
            )),
        };
    let expires = match &r.expires {
        Some(s) => Day::parse(s.get_ref()).map_err(|m| err(s.span(), format!("`expires`: {m}")))?,
        None => return Err(err(at, "the waiver has no `expires` date (YYYY-MM-DD): a waiver must end, so that nothing is silenced forever".into())),
    };
    let kind = match &r.kind {
        Some(k) => Some(
            FindingKind::ALL
                .iter()
                .copied()
                .find(|c| c.label() == k.get_ref())
                .ok_or_else(|| {
                    let known: Vec<&str> = FindingKind::ALL.iter().map(|c| c.label()).collect();
                    err(
                        k.span(),
                        format!(
                            "unknown finding kind {:?}; known kinds: {}",
                            k.get_ref(),
                            known.join(", ")
                        ),
                    )
                })?,
        ),
        None => None,
    };
    let rule = match &r.rule {
        Some(s) => Some(rule_ref(s.get_ref(), profiles, site_rules).map_err(|m| err(s.span(), m))?),
        None => None,
    };
    let sides = |hosts: &[Spanned<String>]| -> Result<Vec<HostRef>, RulesError> {
        hosts
            .iter()
            .map(|h| host_ref(h.get_ref(), profiles).map_err(|m| err(h.span(), m)))
            .collect()
    };
    let (src, dst) = (sides(&r.src)?, sides(&r.dst)?);
    let port = match &r.port {
        Some(p) => Some(PortSet::parse(p.get_ref()).map_err(|m| err(p.span(), m))?),
        None => None,
    };
    let proto = r.proto.as_ref().map(|p| *p.get_ref());
    if kind.is_none()
        && rule.is_none()
        && src.is_empty()
        && dst.is_empty()
        && proto.is_none()
        && port.is_none()
    {
        return Err(err(at, "the waiver names nothing to match, so it would waive every finding; give at least one of kind, rule, src, dst, proto, port".into()));
    }
    let (line, _) = super::error::line_col(text, at.start);
    Ok(Waiver {
        kind,
        rule,
        src,
        dst,
        proto,
        port,
        reason,
        expires,
        owner: r.owner,
        ticket: r.ticket,
        place: format!("{}:{line}", file.display()),
    })
}

/// `profile/rule-id` (or `site/rule-id`) naming a rule the deployment has.
fn rule_ref(
    s: &str,
    profiles: &[ProfileBinding],
    site_rules: &[SiteRule],
) -> Result<(String, String), String> {
    let Some((p, id)) = s.split_once('/') else {
        return Err(format!(
            "{s:?}: write a rule as \"profile/rule-id\" (\"site/rule-id\" for a site rule)"
        ));
    };
    if p == "site" {
        if site_rules.iter().any(|r| r.rule.id == id) {
            return Ok(("site".into(), id.into()));
        }
        return Err(format!("{s:?}: the deployment has no site rule {id:?}"));
    }
    let Some(b) = profiles
        .iter()
        .find(|b| b.profile.id == p || b.profile.aliases.iter().any(|a| a == p))
    else {
        return Err(format!("{s:?}: the deployment uses no profile {p:?}"));
    };
    if !b.profile.rules.iter().any(|r| r.id == id) {
        return Err(format!(
            "{s:?}: profile {:?} has no rule {id:?}",
            b.profile.id
        ));
    }
    Ok((b.profile.id.clone(), id.into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_round_trip_and_bad_ones_say_how_to_write_them() {
        for s in ["1970-01-01", "2000-02-29", "2026-12-02", "2027-03-31"] {
            assert_eq!(Day::parse(s).unwrap().to_string(), s);
        }
        assert_eq!(Day::parse("1970-01-02").unwrap(), Day(1));
        for s in [
            "2026-02-29",
            "2026-13-01",
            "26-01-01",
            "2026/01/01",
            "soon",
            "2026-1-1",
        ] {
            assert!(Day::parse(s).unwrap_err().contains("YYYY-MM-DD"), "{s}");
        }
    }
}
