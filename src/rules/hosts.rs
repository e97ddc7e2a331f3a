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

#[cfg(test)]
mod tests {
    use super::*;

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
