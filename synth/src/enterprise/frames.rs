//! The frames a [`Flow`] writes, built by hand into one reused buffer:
//! Ethernet (802.1Q-tagged or not), IPv4 (fragments too) or IPv6 headers,
//! TCP segments, UDP datagrams, ICMP and ICMPv6 echoes, and their
//! checksums.

use super::flow::{Ctx, Flow, LaterFragment};
use super::{ACK, FIN, NOISE_SPAN, RECORD_HEADER, SYN};

/// One UDP datagram in this many (IPv4 only) is sent as two fragments.
const FRAGMENT_ONE_IN: u64 = 200;
/// IP payload of a first fragment: a full 1500-byte packet.
const FIRST_FRAGMENT: usize = 1480;
const MORE_FRAGMENTS: u16 = 0x2000;
const DONT_FRAGMENT: u16 = 0x4000;

impl Flow {
    /// Bytes of link and IP headers plus `l4` bytes of transport header.
    pub(super) fn header_len(&self, l4: usize) -> usize {
        14 + if self.vlan.is_some() { 4 } else { 0 } + if self.v6 { 40 } else { 20 } + l4
    }

    /// Writes the Ethernet (and VLAN) and IP headers of a packet sent by
    /// side `from`; returns where the IP payload starts. `fragment` is an
    /// IPv4 identification and flags/offset field for fragments.
    pub(super) fn headers(
        &mut self,
        buf: &mut [u8],
        from: usize,
        proto: u8,
        ip_payload: usize,
        fragment: Option<(u16, u16)>,
    ) -> usize {
        let to = 1 - from;
        buf[0..6].copy_from_slice(&self.mac[to]);
        buf[6..12].copy_from_slice(&self.mac[from]);
        let mut at = 12;
        if let Some(tci) = self.vlan {
            buf[12..14].copy_from_slice(&0x8100u16.to_be_bytes());
            buf[14..16].copy_from_slice(&tci.to_be_bytes());
            at = 16;
        }
        if self.v6 {
            buf[at..at + 2].copy_from_slice(&0x86DDu16.to_be_bytes());
            let ip = &mut buf[at + 2..at + 42];
            ip[0..4].copy_from_slice(&(0x6000_0000 | self.flow_label).to_be_bytes());
            ip[4..6].copy_from_slice(&(ip_payload as u16).to_be_bytes());
            ip[6] = proto;
            ip[7] = self.ttl[from];
            ip[8..24].copy_from_slice(&self.addr[from]);
            ip[24..40].copy_from_slice(&self.addr[to]);
            return at + 42;
        }
        let (ident, frag) = match fragment {
            Some(f) => f,
            None => {
                let id = self.ip_id[from];
                self.ip_id[from] = id.wrapping_add(1);
                (id, if proto == 6 { DONT_FRAGMENT } else { 0 })
            }
        };
        buf[at..at + 2].copy_from_slice(&0x0800u16.to_be_bytes());
        let ip = &mut buf[at + 2..at + 22];
        ip[0] = 0x45;
        ip[1] = 0;
        ip[2..4].copy_from_slice(&((20 + ip_payload) as u16).to_be_bytes());
        ip[4..6].copy_from_slice(&ident.to_be_bytes());
        ip[6..8].copy_from_slice(&frag.to_be_bytes());
        ip[8] = self.ttl[from];
        ip[9] = proto;
        ip[10..12].fill(0);
        ip[12..16].copy_from_slice(&self.addr[from][..4]);
        ip[16..20].copy_from_slice(&self.addr[to][..4]);
        let sum = internet_checksum(ip);
        ip[10..12].copy_from_slice(&sum.to_be_bytes());
        at + 22
    }

    /// Fills `payload` bytes at `at` and pads to the Ethernet minimum;
    /// returns the frame length and counts it as written.
    pub(super) fn body(
        &mut self,
        c: &mut Ctx,
        buf: &mut [u8],
        at: usize,
        payload: usize,
        noise: usize,
    ) -> usize {
        buf[at..at + payload].copy_from_slice(&c.noise[noise..noise + payload]);
        let min = if self.vlan.is_some() { 64 } else { 60 };
        let mut len = at + payload;
        if len < min {
            buf[len..min].fill(0);
            len = min;
        }
        self.written += len as u64 + RECORD_HEADER;
        c.frames += 1;
        c.frame_bytes += len as u64;
        len
    }

    /// A TCP segment from `from`; SYNs carry MSS, window scale and SACK
    /// options. TCP checksums are left zero.
    pub(super) fn tcp(
        &mut self,
        c: &mut Ctx,
        buf: &mut [u8],
        from: usize,
        flags: u8,
        payload: u32,
    ) -> usize {
        let to = 1 - from;
        let syn = flags & SYN != 0;
        let hl = if syn { 32 } else { 20 };
        let at = self.headers(buf, from, 6, hl + payload as usize, None);
        let ack = if flags & ACK != 0 { self.seq[to] } else { 0 };
        let window = if syn { 64240 } else { self.window[from] };
        let t = &mut buf[at..at + hl];
        t[0..2].copy_from_slice(&self.port[from].to_be_bytes());
        t[2..4].copy_from_slice(&self.port[to].to_be_bytes());
        t[4..8].copy_from_slice(&self.seq[from].to_be_bytes());
        t[8..12].copy_from_slice(&ack.to_be_bytes());
        t[12] = ((hl / 4) as u8) << 4;
        t[13] = flags;
        t[14..16].copy_from_slice(&window.to_be_bytes());
        t[16..20].fill(0);
        if syn {
            let mss = (self.mss as u16).to_be_bytes();
            t[20..32].copy_from_slice(&[2, 4, mss[0], mss[1], 1, 3, 3, 8, 1, 1, 4, 2]);
        }
        let advance = payload + u32::from(flags & (SYN | FIN) != 0);
        self.seq[from] = self.seq[from].wrapping_add(advance);
        let noise = c.noise_at();
        self.body(c, buf, at + hl, payload as usize, noise)
    }

    /// A UDP datagram from `from`; now and then too large for one packet,
    /// then sent as a first fragment now and a later one next step. The
    /// checksum is left zero (IPv4 allows it; the caller fills it in for
    /// IPv6, which does not).
    pub(super) fn udp(
        &mut self,
        c: &mut Ctx,
        buf: &mut [u8],
        from: usize,
        payload: usize,
    ) -> usize {
        let noise = c.noise_at();
        if !self.v6 && c.rng.below(FRAGMENT_ONE_IN) == 0 {
            // 1473..=2952 bytes: more than one packet, less than three.
            let payload = 1473 + c.rng.below(1480) as usize;
            let ident = c.fragment_ident;
            c.fragment_ident = ident.wrapping_add(1);
            c.fragmented += 1;
            let at = self.headers(buf, from, 17, FIRST_FRAGMENT, Some((ident, MORE_FRAGMENTS)));
            self.udp_header(buf, at, from, 8 + payload);
            self.pending = Some(LaterFragment {
                from,
                ident,
                len: 8 + payload - FIRST_FRAGMENT,
            });
            return self.body(c, buf, at + 8, FIRST_FRAGMENT - 8, noise);
        }
        let at = self.headers(buf, from, 17, 8 + payload, None);
        self.udp_header(buf, at, from, 8 + payload);
        self.body(c, buf, at + 8, payload, noise)
    }

    fn udp_header(&self, buf: &mut [u8], at: usize, from: usize, len: usize) {
        let u = &mut buf[at..at + 8];
        u[0..2].copy_from_slice(&self.port[from].to_be_bytes());
        u[2..4].copy_from_slice(&self.port[1 - from].to_be_bytes());
        u[4..6].copy_from_slice(&(len as u16).to_be_bytes());
        u[6..8].fill(0);
    }

    /// An echo request (from the client) or reply, carrying the same
    /// payload both ways, with its checksum.
    pub(super) fn echo(&mut self, c: &mut Ctx, buf: &mut [u8], from: usize) -> usize {
        let payload = self.query as usize;
        let proto = if self.v6 { 58 } else { 1 };
        let at = self.headers(buf, from, proto, 8 + payload, None);
        buf[at] = match (self.v6, from) {
            (false, 0) => 8,
            (false, _) => 0,
            (true, 0) => 128,
            (true, _) => 129,
        };
        buf[at + 1] = 0;
        buf[at + 2..at + 4].fill(0);
        buf[at + 4..at + 6].copy_from_slice(&self.exchange_id.to_be_bytes());
        buf[at + 6..at + 8].copy_from_slice(&self.icmp_seq.to_be_bytes());
        let noise = usize::from(self.icmp_seq) * 61 % NOISE_SPAN as usize;
        let len = self.body(c, buf, at + 8, payload, noise);
        let sum = if self.v6 {
            checksum_v6(
                &self.addr[from],
                &self.addr[1 - from],
                58,
                &buf[at..at + 8 + payload],
            )
        } else {
            internet_checksum(&buf[at..at + 8 + payload])
        };
        buf[at + 2..at + 4].copy_from_slice(&sum.to_be_bytes());
        if from == 1 {
            self.icmp_seq = self.icmp_seq.wrapping_add(1);
        }
        len
    }
}

/// RFC 1071 checksum, ready to store (the checksum field must be zero).
fn internet_checksum(data: &[u8]) -> u16 {
    !fold(add_words(0, data))
}

/// Checksum of an upper-layer IPv6 packet (UDP, ICMPv6), pseudo-header
/// included.
pub(super) fn checksum_v6(src: &[u8; 16], dst: &[u8; 16], next_header: u8, data: &[u8]) -> u16 {
    let len = data.len() as u32;
    let sum = add_words(add_words(0, src), dst) + (len >> 16) + (len & 0xFFFF);
    !fold(add_words(sum + u32::from(next_header), data))
}

/// Adds the big-endian 16-bit words of `data` (an odd last byte padded
/// with zero) to `sum`, without folding: a frame's words cannot carry out
/// of 32 bits.
fn add_words(mut sum: u32, data: &[u8]) -> u32 {
    let mut chunks = data.chunks_exact(2);
    for c in &mut chunks {
        sum += u32::from(u16::from_be_bytes([c[0], c[1]]));
    }
    if let [last] = chunks.remainder() {
        sum += u32::from(*last) << 8;
    }
    sum
}

fn fold(mut sum: u32) -> u16 {
    while sum > 0xFFFF {
        sum = (sum & 0xFFFF) + (sum >> 16);
    }
    sum as u16
}
