//! Who talks to whom: the keyed permutation ([`TupleSpace`]) that hands
//! every flow endpoints no other flow has, and the addresses, MACs and TTLs
//! of the hosts.

use crate::Rng;

pub(super) const CLIENTS: u64 = 300;
const SERVERS: u64 = 40;
pub(super) const HOSTS: u64 = CLIENTS + SERVERS;
pub(super) const EPHEMERAL_FIRST: u64 = 32768;
/// 32768..=60999, Linux's default range.
pub(super) const EPHEMERAL_PORTS: u64 = 28232;
/// (client, client port, server) triples of one TCP or UDP class.
pub(super) const TRIPLES: u64 = CLIENTS * EPHEMERAL_PORTS * SERVERS;
/// Ordered pairs of distinct hosts, for ping flows of one IP version.
pub(super) const HOST_PAIRS: u64 = HOSTS * (HOSTS - 1);
const _: () = assert!(TRIPLES <= 1 << 30 && HOST_PAIRS <= 1 << 18);

/// A keyed permutation of `0..size`: a balanced Feistel network on
/// `2 * half_bits` bits, cycle-walked into range, handed out in order.
pub(super) struct TupleSpace {
    size: u64,
    half_bits: u32,
    keys: [u64; 4],
    next: u64,
}

impl TupleSpace {
    pub(super) fn new(size: u64, half_bits: u32, rng: &mut Rng) -> TupleSpace {
        debug_assert!(size <= 1 << (2 * half_bits));
        TupleSpace {
            size,
            half_bits,
            keys: [
                rng.next_u64(),
                rng.next_u64(),
                rng.next_u64(),
                rng.next_u64(),
            ],
            next: 0,
        }
    }

    /// The next element never handed out before, if any is left.
    pub(super) fn take(&mut self) -> Option<u64> {
        if self.next == self.size {
            return None;
        }
        let mut x = self.next;
        self.next += 1;
        // Walking the cycle from an in-range start until it re-enters the
        // range is a bijection of the range.
        loop {
            x = self.feistel(x);
            if x < self.size {
                return Some(x);
            }
        }
    }

    fn feistel(&self, x: u64) -> u64 {
        let mask = (1u64 << self.half_bits) - 1;
        let (mut l, mut r) = (x >> self.half_bits, x & mask);
        for k in self.keys {
            let mut z = (r ^ k).wrapping_mul(0x9E37_79B9_7F4A_7C15);
            z = (z ^ (z >> 29)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z ^= z >> 32;
            (l, r) = (r, l ^ (z & mask));
        }
        (l << self.half_bits) | r
    }
}

/// Addresses of host `i`: clients 10.20.1.10.. and fd00::20:10..,
/// servers 10.10.1.10.. and fd00::10:10...
pub(super) fn host_addr(i: u64, v6: bool) -> [u8; 16] {
    let mut a = [0u8; 16];
    let (server, n) = if i < CLIENTS {
        (false, i)
    } else {
        (true, i - CLIENTS)
    };
    if v6 {
        a[0] = 0xfd;
        a[13] = if server { 0x10 } else { 0x20 };
        a[15] = (0x10 + n) as u8;
        a[14] = ((0x10 + n) >> 8) as u8;
    } else {
        let per = if server { 20 } else { 200 };
        a[0] = 10;
        a[1] = if server { 10 } else { 20 };
        a[2] = 1 + (n / per) as u8;
        a[3] = 10 + (n % per) as u8;
    }
    a
}

pub(super) fn host_mac(i: u64) -> [u8; 6] {
    [0x02, 0x42, 0x0a, (i >> 16) as u8, (i >> 8) as u8, i as u8]
}

/// Time-to-live a host's stack starts with: servers 10.10.x.(4k+10) run
/// Linux, the rest Windows.
pub(super) fn host_ttl(i: u64) -> u8 {
    if i >= CLIENTS && (i - CLIENTS) % 4 == 0 {
        64
    } else {
        128
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tuple_space_hands_out_each_element_once() {
        let mut space = TupleSpace::new(HOST_PAIRS, 9, &mut Rng::new(3));
        let mut seen = vec![false; HOST_PAIRS as usize];
        while let Some(x) = space.take() {
            assert!(!std::mem::replace(&mut seen[x as usize], true), "{x} twice");
        }
        assert!(seen.iter().all(|&s| s));
    }
}
