//! Networks indexed for the two questions a deployment asks of them many
//! times: which networks hold this address, and which overlap this
//! network. A sorted map per prefix length answers either in
//! (prefix lengths in use) × log n, instead of a walk over every network:
//! a deployment of 100 000 hosts loads and audits in about the time of a
//! small one.

use std::collections::BTreeMap;
use std::net::IpAddr;

use super::Net;

/// Values keyed by network.
#[derive(Clone, Debug)]
pub struct NetIndex<T> {
    /// (IPv6?, prefix length) to network address to the values of that
    /// network, in insertion order.
    by_len: BTreeMap<(bool, u8), BTreeMap<u128, Vec<T>>>,
}

impl<T> Default for NetIndex<T> {
    fn default() -> Self {
        NetIndex {
            by_len: BTreeMap::new(),
        }
    }
}

/// An address as a number (IPv4 in the low 32 bits), and its family.
fn bits(ip: IpAddr) -> (bool, u128) {
    match ip {
        IpAddr::V4(a) => (false, u128::from(u32::from(a))),
        IpAddr::V6(a) => (true, u128::from(a)),
    }
}

/// The host bits of a prefix in a family.
fn host_mask(v6: bool, prefix: u8) -> u128 {
    let width = if v6 { 128 } else { 32 };
    let host = u32::from(width - prefix.min(width));
    if host >= 128 {
        u128::MAX
    } else {
        (1u128 << host) - 1
    }
}

impl<T> NetIndex<T> {
    pub fn insert(&mut self, net: Net, value: T) {
        let (v6, addr) = bits(net.addr);
        self.by_len
            .entry((v6, net.prefix))
            .or_default()
            .entry(addr)
            .or_default()
            .push(value);
    }

    /// The values of every network holding `ip`, shortest prefix first.
    pub fn containing(&self, ip: IpAddr) -> impl Iterator<Item = &T> + '_ {
        let (v6, addr) = bits(ip);
        self.by_len
            .range((v6, 0)..=(v6, u8::MAX))
            .filter_map(move |(&(v6, len), nets)| nets.get(&(addr & !host_mask(v6, len))))
            .flatten()
    }

    /// The values of every network overlapping `net` (holding it, or held
    /// by it).
    pub fn overlapping(&self, net: Net) -> impl Iterator<Item = &T> + '_ {
        let (v6, addr) = bits(net.addr);
        let (start, end) = (addr, addr | host_mask(v6, net.prefix));
        self.by_len
            .range((v6, 0)..=(v6, u8::MAX))
            .flat_map(move |(&(v6, len), nets)| {
                let found: Box<dyn Iterator<Item = &Vec<T>>> = if len <= net.prefix {
                    Box::new(nets.get(&(addr & !host_mask(v6, len))).into_iter())
                } else {
                    Box::new(nets.range(start..=end).map(|(_, v)| v))
                };
                found.flatten()
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(s: &str) -> Net {
        Net::parse(s).unwrap()
    }

    #[test]
    fn finds_holders_and_overlaps_as_a_walk_would() {
        let nets = [
            "10.0.0.0/8",
            "10.1.0.0/16",
            "10.1.2.3",
            "192.168.0.0/24",
            "fd00::/8",
            "fd00:20::/64",
            "0.0.0.0/0",
        ];
        let mut index = NetIndex::default();
        for (i, n) in nets.iter().enumerate() {
            index.insert(net(n), i);
        }
        for ip in [
            "10.1.2.3",
            "10.9.9.9",
            "192.168.0.7",
            "172.16.0.1",
            "fd00:20::1",
            "::1",
        ] {
            let ip: IpAddr = ip.parse().unwrap();
            let mut got: Vec<usize> = index.containing(ip).copied().collect();
            got.sort();
            let want: Vec<usize> = (0..nets.len())
                .filter(|&i| net(nets[i]).contains(ip))
                .collect();
            assert_eq!(got, want, "{ip}");
        }
        for probe in [
            "10.1.0.0/24",
            "10.0.0.0/7",
            "192.168.0.128/25",
            "fd00:20::/48",
            "11.0.0.0/8",
        ] {
            let p = net(probe);
            let mut got: Vec<usize> = index.overlapping(p).copied().collect();
            got.sort();
            let want: Vec<usize> = (0..nets.len())
                .filter(|&i| {
                    let n = net(nets[i]);
                    n.contains(p.addr) || p.contains(n.addr)
                })
                .collect();
            assert_eq!(got, want, "{probe}");
        }
    }
}
