//! Port lists and ranges as rules write them: `"443"`, `"389,636"`,
//! `"20000-23000"`.

use std::fmt;

/// A set of ports (or ICMP types) as inclusive ranges, in the rule's order.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct PortSet {
    ranges: Vec<(u16, u16)>,
}

impl PortSet {
    /// Parses a port list; the error says what to write instead.
    pub fn parse(s: &str) -> Result<PortSet, String> {
        let mut ranges = Vec::new();
        for part in s.split(',') {
            let part = part.trim();
            if part.is_empty() {
                return Err(format!("empty entry in port list {s:?}; write ports like \"443\", \"389,636\" or \"20000-23000\""));
            }
            let (lo, hi) = match part.split_once('-') {
                Some((a, b)) => (parse_port(a.trim(), s)?, parse_port(b.trim(), s)?),
                None => {
                    let p = parse_port(part, s)?;
                    (p, p)
                }
            };
            if lo > hi {
                return Err(format!(
                    "port range {part:?} is reversed; write it as \"{hi}-{lo}\""
                ));
            }
            ranges.push((lo, hi));
        }
        Ok(PortSet { ranges })
    }

    pub fn contains(&self, port: u16) -> bool {
        self.ranges
            .iter()
            .any(|&(lo, hi)| (lo..=hi).contains(&port))
    }

    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }

    /// Every listed port when the set is small (for multi-valued cells).
    pub fn ranges(&self) -> &[(u16, u16)] {
        &self.ranges
    }
}

fn parse_port(p: &str, whole: &str) -> Result<u16, String> {
    match p.parse::<u32>() {
        Ok(0) => Err(format!("port 0 in {whole:?} is not a port; ports run from 1 to 65535")),
        Ok(n) if n <= 65535 => Ok(n as u16),
        Ok(n) => Err(format!("port {n} in {whole:?} is above 65535")),
        Err(_) => Err(format!("{p:?} in {whole:?} is not a port number; write ports like \"443\", \"389,636\" or \"20000-23000\"")),
    }
}

impl fmt::Display for PortSet {
    /// Ranges joined by `;` (the multi-valued cell separator of reports).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, &(lo, hi)) in self.ranges.iter().enumerate() {
            if i > 0 {
                f.write_str(";")?;
            }
            if lo == hi {
                write!(f, "{lo}")?;
            } else {
                write!(f, "{lo}-{hi}")?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_and_ranges() {
        let p = PortSet::parse("139, 445,20000-23000").unwrap();
        assert!(p.contains(445) && p.contains(21000) && !p.contains(140));
        assert_eq!(p.to_string(), "139;445;20000-23000");
    }

    #[test]
    fn errors_say_what_to_fix() {
        assert!(PortSet::parse("0").unwrap_err().contains("1 to 65535"));
        assert!(PortSet::parse("70000").unwrap_err().contains("above 65535"));
        assert!(PortSet::parse("23000-20000")
            .unwrap_err()
            .contains("\"20000-23000\""));
        assert!(PortSet::parse("https")
            .unwrap_err()
            .contains("not a port number"));
        assert!(PortSet::parse("443,").unwrap_err().contains("empty entry"));
    }
}
