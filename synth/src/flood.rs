//! Hostile captures, streamed: floods of distinct flows and of fragments
//! that never complete, as an attacker (or a scanner) would send them.
//! Frames are built by hand, not by `etherparse`, so that millions of them
//! are written in seconds; the decoder tests check the layout independently.

use std::io::{self, Write};

use crate::{PcapWriter, Rng};

/// What a flood is made of, in equal thirds of its packets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FloodCounts {
    /// UDP datagrams between random addresses and ports.
    pub random_flows: u64,
    /// TCP SYNs from random sources to one target port.
    pub syn_flood: u64,
    /// First fragments of UDP datagrams that never complete, each followed
    /// by a later fragment of a datagram whose first fragment never came.
    pub fragment_pairs: u64,
}

impl FloodCounts {
    /// `packets` split in thirds (fragments come in pairs).
    pub fn of(packets: u64) -> FloodCounts {
        let third = packets / 3;
        FloodCounts {
            random_flows: third,
            syn_flood: third,
            fragment_pairs: (packets - 2 * third) / 2,
        }
    }

    /// Packets in all.
    pub fn packets(&self) -> u64 {
        self.random_flows + self.syn_flood + 2 * self.fragment_pairs
    }
}

/// Writes a hostile capture: random flows, then a SYN flood, then a
/// fragment flood, 60-byte frames 1 µs apart.
pub fn write_flood<W: Write>(out: W, counts: FloodCounts, seed: u64) -> io::Result<W> {
    let mut w = PcapWriter::new(out)?;
    let mut rng = Rng::new(seed);
    let mut ts: u64 = 1_700_000_000 * 1_000_000_000;
    let mut frame = [0u8; 60];
    let mut tick = |w: &mut PcapWriter<W>, frame: &[u8]| {
        ts += 1000;
        w.record(ts, frame)
    };
    for _ in 0..counts.random_flows {
        let r = rng.next_u64();
        let src = [10, (r >> 8) as u8, (r >> 16) as u8, (r >> 24) as u8];
        let dst = [
            172,
            16 | ((r >> 32) as u8 & 15),
            (r >> 40) as u8,
            (r >> 48) as u8,
        ];
        let ports = rng.next_u64();
        ipv4_frame(&mut frame, src, dst, 17, 0, 0x4000);
        udp_ports(&mut frame, ports as u16, (ports >> 16) as u16);
        tick(&mut w, &frame)?;
    }
    for i in 0..counts.syn_flood {
        let r = rng.next_u64();
        let src = [
            (r >> 8) as u8 | 1,
            (r >> 16) as u8,
            (r >> 24) as u8,
            (r >> 32) as u8,
        ];
        ipv4_frame(
            &mut frame,
            src,
            [192, 0, 2, 10],
            6,
            (i & 0xFFFF) as u16,
            0x4000,
        );
        tcp_syn(&mut frame, (r >> 40) as u16 | 1024, 443, (r >> 48) as u32);
        tick(&mut w, &frame)?;
    }
    for i in 0..counts.fragment_pairs {
        let r = rng.next_u64();
        let src = [10, 9, (r >> 8) as u8, (r >> 16) as u8];
        let dst = [10, 10, (r >> 24) as u8, (r >> 32) as u8];
        let ident = (i & 0xFFFF) as u16;
        // First fragment: more fragments, offset 0, ports present.
        ipv4_frame(&mut frame, src, dst, 17, ident, 0x2000);
        udp_ports(&mut frame, (r >> 40) as u16, 2049);
        tick(&mut w, &frame)?;
        // A later fragment (offset 1480) of another datagram, never begun.
        ipv4_frame(&mut frame, dst, src, 17, ident ^ 0x8000, 185);
        tick(&mut w, &frame)?;
    }
    w.finish()
}

/// Ethernet + IPv4 header (no options) in a 60-byte frame; the payload
/// bytes after the header are zeroed.
fn ipv4_frame(f: &mut [u8; 60], src: [u8; 4], dst: [u8; 4], proto: u8, ident: u16, frag: u16) {
    f.fill(0);
    f[0..6].copy_from_slice(&[0x02, 0, 0, 0, 0, 0x0B]);
    f[6..12].copy_from_slice(&[0x02, 0, 0, 0, 0, 0x0A]);
    f[12..14].copy_from_slice(&0x0800u16.to_be_bytes());
    let ip = &mut f[14..34];
    ip[0] = 0x45;
    ip[2..4].copy_from_slice(&46u16.to_be_bytes());
    ip[4..6].copy_from_slice(&ident.to_be_bytes());
    ip[6..8].copy_from_slice(&frag.to_be_bytes());
    ip[8] = 64;
    ip[9] = proto;
    ip[12..16].copy_from_slice(&src);
    ip[16..20].copy_from_slice(&dst);
    let mut sum: u32 = 0;
    for c in ip.chunks(2) {
        sum += u32::from(u16::from_be_bytes([c[0], c[1]]));
    }
    while sum > 0xFFFF {
        sum = (sum & 0xFFFF) + (sum >> 16);
    }
    ip[10..12].copy_from_slice(&(!(sum as u16)).to_be_bytes());
}

fn udp_ports(f: &mut [u8; 60], src: u16, dst: u16) {
    f[34..36].copy_from_slice(&src.to_be_bytes());
    f[36..38].copy_from_slice(&dst.to_be_bytes());
    f[38..40].copy_from_slice(&26u16.to_be_bytes());
}

fn tcp_syn(f: &mut [u8; 60], src: u16, dst: u16, seq: u32) {
    f[34..36].copy_from_slice(&src.to_be_bytes());
    f[36..38].copy_from_slice(&dst.to_be_bytes());
    f[38..42].copy_from_slice(&seq.to_be_bytes());
    f[46] = 0x50;
    f[47] = 0x02;
    f[48..50].copy_from_slice(&64240u16.to_be_bytes());
}
