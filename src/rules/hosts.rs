//! Host specifications: an address or a CIDR network, IPv4 or IPv6.

use std::fmt;
use std::net::IpAddr;

/// An address (a /32 or /128) or a network.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Net {
    pub addr: IpAddr,
    pub prefix: u8,
}

impl Net {
    /// Parses `10.1.0.10`, `10.1.20.0/24`, `fd00:20::/64`. A network with
    /// host bits set is refused: it is almost always a typo.
    pub fn parse(s: &str) -> Result<Net, String> {
        let (a, p) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let addr: IpAddr = a.trim().parse().map_err(|_| {
            format!("{s:?} is not an IP address or CIDR network; write e.g. \"10.1.0.10\", \"10.1.20.0/24\" or \"fd00:20::/64\"")
        })?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match p {
            None => max,
            Some(p) => match p.trim().parse::<u8>() {
                Ok(n) if n <= max => n,
                _ => return Err(format!("{s:?}: prefix length must be 0 to {max}")),
            },
        };
        let net = Net { addr, prefix };
        let base = net.network();
        if base != addr {
            return Err(format!(
                "{s:?} has host bits set; did you mean \"{base}/{prefix}\"?"
            ));
        }
        Ok(net)
    }

    fn network(&self) -> IpAddr {
        mask(self.addr, self.prefix)
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        ip.is_ipv4() == self.addr.is_ipv4() && mask(ip, self.prefix) == self.addr
    }

    /// A single host rather than a network.
    pub fn is_host(&self) -> bool {
        self.prefix == if self.addr.is_ipv4() { 32 } else { 128 }
    }
}

fn mask(ip: IpAddr, prefix: u8) -> IpAddr {
    match ip {
        IpAddr::V4(a) => {
            let m = if prefix == 0 {
                0
            } else {
                u32::MAX << (32 - u32::from(prefix))
            };
            IpAddr::from((u32::from(a) & m).to_be_bytes())
        }
        IpAddr::V6(a) => {
            let m = if prefix == 0 {
                0
            } else {
                u128::MAX << (128 - u32::from(prefix))
            };
            IpAddr::from((u128::from(a) & m).to_be_bytes())
        }
    }
}

impl fmt::Display for Net {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_host() {
            write!(f, "{}", self.addr)
        } else {
            write!(f, "{}/{}", self.addr, self.prefix)
        }
    }
}

/// A host bound by the name its clients use for it (a TLS server name,
/// an HTTP `Host`): `api.example.com`, or `*.example.com` for any name
/// under it (not the name itself). Lower case.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NamePattern(String);

impl NamePattern {
    /// Parses a host name or a `*.` wildcard; `None` when `s` is not one
    /// (then it is read as an address).
    pub fn parse(s: &str) -> Option<NamePattern> {
        let s = s.trim().to_ascii_lowercase();
        let name = s.strip_prefix("*.").unwrap_or(&s);
        let label_ok = |l: &str| {
            !l.is_empty()
                && l.len() <= 63
                && l.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        };
        let labels: Vec<&str> = name.split('.').collect();
        let ok = name.len() <= 253
            && labels.len() >= 2
            && labels.iter().all(|l| label_ok(l))
            && labels
                .last()
                .is_some_and(|l| l.bytes().any(|b| b.is_ascii_alphabetic()));
        ok.then_some(NamePattern(s))
    }

    /// Whether a client's name for a server is this one.
    pub fn matches(&self, name: &str) -> bool {
        match self.0.strip_prefix("*.") {
            Some(suffix) => name
                .strip_suffix(suffix)
                .is_some_and(|head| head.len() > 1 && head.ends_with('.')),
            None => name == self.0,
        }
    }
}

impl fmt::Display for NamePattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_wildcards() {
        let exact = NamePattern::parse("API.Telemetry.Cayosoft.com").unwrap();
        assert!(exact.matches("api.telemetry.cayosoft.com"));
        assert!(!exact.matches("x.api.telemetry.cayosoft.com"));
        let any = NamePattern::parse("*.office365.com").unwrap();
        assert!(any.matches("outlook.office365.com") && any.matches("a.b.office365.com"));
        assert!(!any.matches("office365.com") && !any.matches("evil-office365.com"));
        for not_a_name in [
            "10.1.0.10",
            "10.1.0.0/24",
            "fd00::1",
            "console",
            "a b.com",
            "*.*.com",
        ] {
            assert_eq!(NamePattern::parse(not_a_name), None, "{not_a_name}");
        }
    }

    #[test]
    fn parses_and_contains() {
        let n = Net::parse("10.1.20.0/24").unwrap();
        assert!(n.contains("10.1.20.77".parse().unwrap()));
        assert!(!n.contains("10.1.21.1".parse().unwrap()));
        let n = Net::parse("fd00:20::/64").unwrap();
        assert!(n.contains("fd00:20::5".parse().unwrap()));
        assert!(Net::parse("10.0.0.1").unwrap().is_host());
    }

    #[test]
    fn rejects_typos() {
        assert!(Net::parse("10.1.20.5/24")
            .unwrap_err()
            .contains("\"10.1.20.0/24\""));
        assert!(Net::parse("10.1.20.0/33").unwrap_err().contains("0 to 32"));
        assert!(Net::parse("10.1.300.0")
            .unwrap_err()
            .contains("not an IP address"));
    }
}
