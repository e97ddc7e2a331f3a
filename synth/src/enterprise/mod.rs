//! Enterprise-like captures, streamed: thousands of interleaved
//! conversations (TCP sessions, DNS, syslog, NTP, SNMP, ping) over IPv4 and
//! IPv6, some VLAN-tagged, a few fragmented, sized to a target file size
//! with an exact number of flows, for throughput benchmarks.
//!
//! Memory is bounded by a pool of at most [`POOL_MAX`] active flows, each a
//! small state machine that emits one frame per step. Each step a random
//! flow of the pool moves on, so conversations interleave as on a real
//! link; a finished flow is replaced by a new one until `flows` have
//! started. Frames are built by hand into one reused buffer.
//!
//! The flow count is exact because no two flows share a flow key. TCP and
//! UDP flows take the next element of a keyed permutation (a Feistel
//! network, cycle-walked) of all (client, client port, server) triples of
//! their class (protocol × IP version): 300 × 28 232 × 40 ≈ 339 million
//! per class. Client and server addresses are disjoint, so distinct
//! triples are distinct keys whatever server port each flow picks. ICMP
//! echo is keyed by the two addresses only (the echo identifier is not part
//! of a flow key), so ping flows take ordered pairs of distinct hosts, 340 ×
//! 339 per IP version; when a class runs out, its flows become TCP
//! sessions. Any count up to [`EnterpriseSpec::MAX_FLOWS`] is therefore distinct.
//!
//! The file size is steered, not computed: fixed-shape flows (DNS, NTP,
//! refused connections...) take their natural size, and TCP sessions get a
//! byte budget drawn from a heavy-tailed (Pareto) law whose mean is what is
//! left of the target divided by the sessions expected to come. Budgets are
//! committed when a flow starts and corrected by what it really wrote when
//! it ends, so the total converges on the target. The mean frame length is
//! steered too, towards [`MEAN_FRAME`]: sessions send more bulk answers and
//! fewer ACKs while the mean so far is below it, fewer above. When flows
//! are many for the bytes, the handshakes, ACKs and DNS that every flow
//! needs hold the mean lower (about 470 bytes at 3.75 KB a flow).

use std::io::{self, Write};

use crate::PcapWriter;

mod dns;
mod endpoints;
mod flow;
mod frames;
mod generator;
mod spec;
mod stats;

use flow::{Flow, Phase};
use generator::Generator;
pub use spec::EnterpriseSpec;
pub use stats::EnterpriseStats;

/// Flows active at once, at most.
const POOL_MAX: usize = 2048;

/// The mean frame length (bytes on the wire) TCP sessions steer towards.
const MEAN_FRAME: f64 = 550.0;
/// Mean gap between frames is 4.5 µs: about a gigabit per second.
const MAX_GAP_US: u64 = 8;
const START_SECS: u64 = 1_700_000_000;
/// Largest frame: 1500 bytes of IP, Ethernet header, one VLAN tag.
const MAX_FRAME: usize = 1518;
/// Payload bytes are copied from a random offset of a noise block, so
/// that they do not compress unrealistically well.
const NOISE_SPAN: u64 = 4096;
const PCAP_HEADER: u64 = 24;
const RECORD_HEADER: u64 = 16;

const FIN: u8 = 0x01;
const SYN: u8 = 0x02;
const RST: u8 = 0x04;
const PSH: u8 = 0x08;
const ACK: u8 = 0x10;

/// Writes an enterprise-like capture (classic pcap, microseconds,
/// Ethernet) of about `spec.bytes` bytes holding exactly `spec.flows`
/// distinct flows. The same spec gives the same bytes.
pub fn write_enterprise<W: Write>(
    out: W,
    spec: &EnterpriseSpec,
) -> io::Result<(W, EnterpriseStats)> {
    if spec.flows > EnterpriseSpec::MAX_FLOWS {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "{} flows asked, at most {} can be kept distinct",
                spec.flows,
                EnterpriseSpec::MAX_FLOWS
            ),
        ));
    }
    let mut w = PcapWriter::new(out)?;
    let mut g = Generator::new(spec);
    let pool_size = (spec.flows / 8).clamp(1, POOL_MAX as u64) as usize;
    let mut pool: Vec<Flow> = Vec::with_capacity(pool_size);
    while pool.len() < pool_size && g.started < spec.flows {
        let f = g.start_flow();
        pool.push(f);
    }
    let mut buf = [0u8; MAX_FRAME];
    let mut ts = START_SECS * 1_000_000_000;
    while !pool.is_empty() {
        let i = g.ctx.rng.below(pool.len() as u64) as usize;
        let f = &mut pool[i];
        let mut sent = 0;
        loop {
            let len = f.step(&mut g.ctx, &mut buf);
            ts += 1000 * (1 + g.ctx.rng.below(MAX_GAP_US));
            w.record(ts, &buf[..len])?;
            let s = &mut g.stats;
            s.packets += 1;
            s.wire_bytes += len as u64;
            s.ipv6_frames += u64::from(f.v6);
            s.vlan_frames += u64::from(f.vlan.is_some());
            sent += 1;
            let in_burst = f.phase == Phase::Transfer && sent < f.burst;
            if f.is_done() || (f.pending.is_none() && !in_burst) {
                break;
            }
        }
        if pool[i].is_done() {
            g.finish_flow(&pool[i]);
            if g.started < spec.flows {
                pool[i] = g.start_flow();
            } else {
                pool.swap_remove(i);
            }
        }
    }
    let mut stats = g.stats;
    stats.bytes = PCAP_HEADER + stats.packets * RECORD_HEADER + stats.wire_bytes;
    stats.fragmented_datagrams = g.ctx.fragmented;
    Ok((w.finish()?, stats))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPEC: EnterpriseSpec = EnterpriseSpec {
        bytes: 3_000_000,
        flows: 800,
        seed: 7,
        dns_names: 0,
    };

    #[test]
    fn same_seed_same_bytes_other_seed_other_bytes() {
        let a = write_enterprise(Vec::new(), &SPEC).unwrap();
        let b = write_enterprise(Vec::new(), &SPEC).unwrap();
        assert_eq!(a, b);
        let other = EnterpriseSpec { seed: 8, ..SPEC };
        let c = write_enterprise(Vec::new(), &other).unwrap();
        assert_ne!(a.0, c.0);
    }
}
