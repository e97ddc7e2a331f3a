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

use super::flood::{PcapWriter, Rng};

/// What to generate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EnterpriseSpec {
    /// Target file size in bytes; reached within a few percent unless the
    /// flows cannot fit in it (then each flow is as small as its kind
    /// allows).
    pub bytes: u64,
    /// Exact number of distinct flows (at most [`EnterpriseSpec::MAX_FLOWS`]).
    pub flows: u64,
    pub seed: u64,
}

impl EnterpriseSpec {
    /// The most flows that are guaranteed distinct: every class that runs
    /// out falls back to TCP sessions of either IP version.
    pub const MAX_FLOWS: u64 = 2 * TRIPLES;
}

/// What was generated.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EnterpriseStats {
    pub packets: u64,
    /// File bytes, pcap headers included.
    pub bytes: u64,
    /// Frame bytes on the wire (the records' lengths).
    pub wire_bytes: u64,
    pub flows: u64,
    /// TCP flows of every kind, refused and mid-stream included.
    pub tcp_flows: u64,
    /// TCP flows whose SYN was answered by RST.
    pub tcp_refused: u64,
    /// TCP flows without handshake (the capture started late).
    pub tcp_mid_stream: u64,
    pub udp_flows: u64,
    /// ICMP and ICMPv6 echo flows.
    pub icmp_flows: u64,
    pub ipv6_flows: u64,
    pub ipv6_frames: u64,
    /// Frames with an 802.1Q tag.
    pub vlan_frames: u64,
    /// UDP datagrams sent as two IPv4 fragments.
    pub fragmented_datagrams: u64,
}

impl EnterpriseStats {
    /// Mean frame length on the wire.
    pub fn mean_frame(&self) -> f64 {
        if self.packets == 0 {
            0.0
        } else {
            self.wire_bytes as f64 / self.packets as f64
        }
    }
}

/// Flows active at once, at most.
const POOL_MAX: usize = 2048;

const CLIENTS: u64 = 300;
const SERVERS: u64 = 40;
const HOSTS: u64 = CLIENTS + SERVERS;
const EPHEMERAL_FIRST: u64 = 32768;
/// 32768..=60999, Linux's default range.
const EPHEMERAL_PORTS: u64 = 28232;
/// (client, client port, server) triples of one TCP or UDP class.
const TRIPLES: u64 = CLIENTS * EPHEMERAL_PORTS * SERVERS;
/// Ordered pairs of distinct hosts, for ping flows of one IP version.
const HOST_PAIRS: u64 = HOSTS * (HOSTS - 1);
const _: () = assert!(TRIPLES <= 1 << 30 && HOST_PAIRS <= 1 << 18);

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

/// One UDP datagram in this many (IPv4 only) is sent as two fragments.
const FRAGMENT_ONE_IN: u64 = 200;
/// IP payload of a first fragment: a full 1500-byte packet.
const FIRST_FRAGMENT: usize = 1480;
const MORE_FRAGMENTS: u16 = 0x2000;
const DONT_FRAGMENT: u16 = 0x4000;

const FIN: u8 = 0x01;
const SYN: u8 = 0x02;
const RST: u8 = 0x04;
const PSH: u8 = 0x08;
const ACK: u8 = 0x10;

/// Heavy tail of session sizes: Pareto with this shape (finite mean,
/// infinite variance), cut at [`SESSION_CAP`] times the mean.
const PARETO_ALPHA: f64 = 1.2;
const SESSION_CAP: f64 = 1000.0;
/// Smallest session budget: a handshake, a setup exchange (TLS hello and
/// certificates...) and a close; when the target is tight, down to a
/// handshake, one small exchange and a close.
const MIN_SESSION: f64 = 4000.0;
const MIN_SESSION_SQUEEZED: f64 = 800.0;
/// Smallest mid-stream budget: one exchange.
const MIN_MID_STREAM: f64 = 400.0;

/// What a flow is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// Handshake, request/response rounds, then FINs, an RST from the
    /// client, or nothing (still open when the capture ends).
    Session,
    /// SYN answered by RST-ACK.
    Refused,
    /// Rounds without handshake, as if the capture started late.
    MidStream,
    Dns,
    Syslog,
    Ntp,
    Snmp,
    SnmpTrap,
    Ping,
}

/// Share of flows per kind, per mille.
const KIND_MIX: [(Kind, u64); 9] = [
    (Kind::Session, 450),
    (Kind::Refused, 50),
    (Kind::MidStream, 60),
    (Kind::Dns, 280),
    (Kind::Syslog, 40),
    (Kind::Ntp, 30),
    (Kind::Snmp, 40),
    (Kind::SnmpTrap, 10),
    (Kind::Ping, 40),
];

/// Share of flows whose size stretches to meet the byte target (sessions).
const ELASTIC_SHARE: f64 = 0.51;

/// Server ports of TCP flows, weighted.
const TCP_PORTS: [(u16, u64); 17] = [
    (443, 30),
    (445, 12),
    (80, 8),
    (389, 6),
    (88, 6),
    (135, 4),
    (3389, 4),
    (22, 4),
    (1433, 4),
    (636, 3),
    (5985, 3),
    (8443, 3),
    (49668, 3),
    (3268, 2),
    (8080, 2),
    (9389, 1),
    (25, 1),
];

impl Kind {
    fn is_tcp(self) -> bool {
        matches!(self, Kind::Session | Kind::Refused | Kind::MidStream)
    }

    fn is_elastic(self) -> bool {
        matches!(self, Kind::Session | Kind::MidStream)
    }

    /// Index of the tuple space the flow's endpoints come from.
    fn class(self, v6: bool) -> usize {
        let base = match self {
            Kind::Session | Kind::Refused | Kind::MidStream => 0,
            Kind::Ping => 4,
            _ => 2,
        };
        base + usize::from(v6)
    }

    /// Datagrams (or echo pairs) are answered.
    fn two_way(self) -> bool {
        matches!(self, Kind::Dns | Kind::Ntp | Kind::Snmp | Kind::Ping)
    }
}

/// Picks from a weighted table.
fn pick<T: Copy>(rng: &mut Rng, table: &[(T, u64)]) -> T {
    let total: u64 = table.iter().map(|e| e.1).sum();
    let mut r = rng.below(total);
    for &(v, w) in table {
        if r < w {
            return v;
        }
        r -= w;
    }
    unreachable!("r < total")
}

/// Uniform in (0, 1].
fn unit(rng: &mut Rng) -> f64 {
    ((rng.next_u64() >> 11) + 1) as f64 / (1u64 << 53) as f64
}

fn log_uniform(rng: &mut Rng, lo: f64, hi: f64) -> u32 {
    (lo * (hi / lo).powf(unit(rng))) as u32
}

/// A keyed permutation of `0..size`: a balanced Feistel network on
/// `2 * half_bits` bits, cycle-walked into range, handed out in order.
struct TupleSpace {
    size: u64,
    half_bits: u32,
    keys: [u64; 4],
    next: u64,
}

impl TupleSpace {
    fn new(size: u64, half_bits: u32, rng: &mut Rng) -> TupleSpace {
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
    fn take(&mut self) -> Option<u64> {
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
fn host_addr(i: u64, v6: bool) -> [u8; 16] {
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

fn host_mac(i: u64) -> [u8; 6] {
    [0x02, 0x42, 0x0a, (i >> 16) as u8, (i >> 8) as u8, i as u8]
}

/// Time-to-live a host's stack starts with: servers 10.10.x.(4k+10) run
/// Linux, the rest Windows.
fn host_ttl(i: u64) -> u8 {
    if i >= CLIENTS && (i - CLIENTS) % 4 == 0 {
        64
    } else {
        128
    }
}

/// State shared by all flows.
struct Ctx {
    rng: Rng,
    /// IP identification of the next fragmented datagram: one counter for
    /// all, so that a later fragment can only join its own first fragment.
    fragment_ident: u16,
    fragmented: u64,
    noise: Vec<u8>,
    /// Frames and frame bytes so far, to steer the mean frame size.
    frames: u64,
    frame_bytes: u64,
}

impl Ctx {
    /// How much bulkier (0 to 1) the next TCP messages should be: more
    /// bulk answers and fewer ACKs while the mean frame so far is below
    /// [`MEAN_FRAME`], fewer above. The mean so far integrates the error,
    /// so a steep gain settles close to the target.
    fn bulkiness(&self) -> f64 {
        if self.frames == 0 {
            return 0.5;
        }
        let mean = self.frame_bytes as f64 / self.frames as f64;
        (0.5 + 40.0 * (MEAN_FRAME - mean) / MEAN_FRAME).clamp(0.0, 1.0)
    }

    fn noise_at(&mut self) -> usize {
        self.rng.below(NOISE_SPAN) as usize
    }
}

/// The second fragment of a datagram, sent right after the first.
#[derive(Clone, Copy, Debug)]
struct LaterFragment {
    from: usize,
    ident: u16,
    len: usize,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    Syn,
    SynAck,
    HandshakeAck,
    RstAck,
    /// TCP messages, alternating client and server.
    Transfer,
    /// Close step 0, 1 or 2: FIN from the closer, FIN back, last ACK.
    Close(u8),
    /// The client resets the connection.
    Abort,
    /// UDP datagrams or ICMP echoes.
    Datagrams,
    Done,
}

/// One conversation. Index 0 of each pair is the client (the initiator),
/// 1 the server.
struct Flow {
    kind: Kind,
    v6: bool,
    /// 802.1Q tag control information, if the flow's frames are tagged.
    vlan: Option<u16>,
    flow_label: u32,
    addr: [[u8; 16]; 2],
    mac: [[u8; 6]; 2],
    port: [u16; 2],
    ttl: [u8; 2],
    window: [u16; 2],
    ip_id: [u16; 2],
    seq: [u32; 2],
    mss: u32,
    phase: Phase,
    /// Side sending the current message, datagram or echo.
    sender: usize,
    /// Bytes of the current TCP message not yet sent.
    left: u32,
    /// The server's answer to the current request.
    reply: u32,
    /// Segments the receiver has not acknowledged yet.
    unacked: u8,
    /// The receiver acknowledges every this many segments.
    ack_every: u8,
    ack_due: bool,
    rounds: u32,
    /// Datagrams (one-way kinds) or exchanges (two-way kinds) to come.
    exchanges: u32,
    /// DNS: payload of the query being answered; ping: echo payload.
    query: u32,
    /// Echo identifier, DNS transaction id.
    exchange_id: u16,
    /// Seed of the name a DNS query asks for.
    dns_name: u64,
    icmp_seq: u16,
    pending: Option<LaterFragment>,
    /// Planned file bytes (sessions stop when it is spent).
    budget: u64,
    /// File bytes written so far, record headers included.
    written: u64,
    /// Frames sent in a row when the flow is picked during a transfer, so
    /// that large sessions end within the capture.
    burst: u32,
}

impl Flow {
    fn is_done(&self) -> bool {
        self.phase == Phase::Done && self.pending.is_none()
    }

    /// Writes the frame of the flow's next step into `buf`; returns its
    /// length.
    fn step(&mut self, c: &mut Ctx, buf: &mut [u8]) -> usize {
        if let Some(p) = self.pending.take() {
            let at = self.headers(buf, p.from, 17, p.len, Some((p.ident, 185)));
            let noise = c.noise_at();
            return self.body(c, buf, at, p.len, noise);
        }
        match self.phase {
            Phase::Syn => {
                self.phase = if self.kind == Kind::Refused {
                    Phase::RstAck
                } else {
                    Phase::SynAck
                };
                self.tcp(c, buf, 0, SYN, 0)
            }
            Phase::RstAck => {
                self.phase = Phase::Done;
                self.tcp(c, buf, 1, RST | ACK, 0)
            }
            Phase::SynAck => {
                self.phase = Phase::HandshakeAck;
                self.tcp(c, buf, 1, SYN | ACK, 0)
            }
            Phase::HandshakeAck => {
                let n = self.tcp(c, buf, 0, ACK, 0);
                self.phase = Phase::Transfer;
                self.next_round(c);
                n
            }
            Phase::Transfer => self.transfer(c, buf),
            Phase::Close(k) => {
                let closer = self.sender;
                let (from, flags, next) = match k {
                    0 => (closer, FIN | ACK, Phase::Close(1)),
                    1 => (1 - closer, FIN | ACK, Phase::Close(2)),
                    _ => (closer, ACK, Phase::Done),
                };
                self.phase = next;
                self.tcp(c, buf, from, flags, 0)
            }
            Phase::Abort => {
                self.phase = Phase::Done;
                self.tcp(c, buf, 0, RST | ACK, 0)
            }
            Phase::Datagrams => self.datagram(c, buf),
            Phase::Done => unreachable!("a finished flow is not stepped"),
        }
    }

    /// One segment of the current message, or the receiver's ACK.
    fn transfer(&mut self, c: &mut Ctx, buf: &mut [u8]) -> usize {
        if self.ack_due {
            self.ack_due = false;
            self.unacked = 0;
            let n = self.tcp(c, buf, 1 - self.sender, ACK, 0);
            if self.left == 0 {
                self.next_message(c);
            }
            return n;
        }
        let seg = self.left.min(self.mss);
        self.left -= seg;
        let flags = if self.left == 0 { ACK | PSH } else { ACK };
        let n = self.tcp(c, buf, self.sender, flags, seg);
        self.unacked += 1;
        if self.left == 0 {
            // Delayed ACK, or the ACK rides on the answer.
            let delayed = unit(&mut c.rng) < 0.5 - 0.45 * c.bulkiness();
            if self.unacked >= 2 || delayed {
                self.ack_due = true;
            } else {
                self.next_message(c);
            }
        } else if self.unacked >= self.ack_every {
            self.ack_due = true;
        }
        n
    }

    fn next_message(&mut self, c: &mut Ctx) {
        self.unacked = 0;
        // Receivers that coalesce (LRO) acknowledge every fourth segment.
        self.ack_every = if unit(&mut c.rng) < 0.6 * c.bulkiness() {
            4
        } else {
            2
        };
        if self.sender == 0 {
            self.sender = 1;
            self.left = self.reply;
        } else {
            self.rounds += 1;
            self.next_round(c);
        }
    }

    /// File bytes a message of `payload` bytes costs, with its ACKs.
    fn message_cost(&self, payload: u32) -> i64 {
        let frame_overhead = self.header_len(20) as i64 + RECORD_HEADER as i64;
        let segments = i64::from(payload.div_ceil(self.mss).max(1));
        i64::from(payload) + segments * frame_overhead + (segments / 2) * (frame_overhead + 6)
    }

    /// Starts the next request/response round, or the end of the flow
    /// when the budget is spent.
    fn next_round(&mut self, c: &mut Ctx) {
        let close = 3 * (self.header_len(20).max(60) as i64 + RECORD_HEADER as i64);
        let avail = self.budget as i64 - self.written as i64 - close;
        let k = c.bulkiness();
        let bulk_share = 0.03 + 0.57 * k;
        let rng = &mut c.rng;
        let (mut q, mut r) = if self.rounds == 0 && self.kind == Kind::Session {
            // Session setup: TLS hello and certificates, SMB or Kerberos
            // negotiation.
            let answer = 1500.0 + unit(rng) * (2000.0 + 4000.0 * k);
            (200 + rng.below(500) as u32, answer as u32)
        } else {
            let request = (60.0 + 140.0 * k + unit(rng) * (440.0 + 760.0 * k)) as u32;
            let answer = if unit(rng) < bulk_share {
                log_uniform(rng, 1460.0, 65_536.0)
            } else {
                log_uniform(rng, 100.0, 1460.0)
            };
            // Some rounds upload (a file write): the bulk goes to the server.
            if rng.below(100) < 8 {
                (answer.max(request), 40 + rng.below(160) as u32)
            } else {
                (request, answer)
            }
        };
        let over = self.message_cost(q) + self.message_cost(r) - avail;
        if over > 0 {
            if self.rounds > 0 && avail < 600 {
                self.end(c);
                return;
            }
            // Shrink the larger side to fit what is left.
            let big = if q > r { &mut q } else { &mut r };
            let shrink = (over as f64 * 0.95) as u32;
            *big = big.saturating_sub(shrink).max(40);
        }
        self.sender = 0;
        self.left = q;
        self.reply = r;
    }

    /// Closes with FINs, or with an RST from the client as many Windows
    /// programs do; some sessions (half the mid-stream ones) just stop:
    /// the capture ends before they do.
    fn end(&mut self, c: &mut Ctx) {
        let r = c.rng.below(100);
        if (self.kind == Kind::MidStream && r < 50) || r < 15 {
            self.phase = Phase::Done;
        } else if r % 3 == 0 {
            self.phase = Phase::Abort;
        } else {
            self.phase = Phase::Close(0);
            self.sender = usize::from(c.rng.below(10) >= 7);
        }
    }

    /// One UDP datagram or ICMP echo.
    fn datagram(&mut self, c: &mut Ctx, buf: &mut [u8]) -> usize {
        let from = self.sender;
        let rng = &mut c.rng;
        let n = if self.kind == Kind::Ping {
            self.echo(c, buf, from)
        } else {
            let payload = match (self.kind, from) {
                (Kind::Dns, 0) => {
                    self.dns_name = rng.next_u64();
                    self.query = dns_query_len(self.dns_name) as u32;
                    self.query
                }
                (Kind::Dns, _) => self.query + DNS_ANSWER * (1 + rng.below(6) as u32),
                (Kind::Ntp, _) => 48,
                (Kind::Snmp, 0) => 40 + rng.below(50) as u32,
                (Kind::Snmp, _) => 50 + rng.below(550) as u32,
                (Kind::SnmpTrap, _) => 100 + rng.below(300) as u32,
                _ => 60 + rng.below(540) as u32,
            };
            let n = self.udp(c, buf, from, payload as usize);
            let at = self.header_len(8);
            // A first fragment holds less than the datagram.
            let end = n.min(at + payload as usize);
            self.application(&mut buf[at..end], from);
            if self.v6 {
                let to = 1 - from;
                let sum = checksum_v6(&self.addr[from], &self.addr[to], 17, &buf[at - 8..end]);
                let sum = if sum == 0 { 0xFFFF } else { sum };
                buf[at - 2..at].copy_from_slice(&sum.to_be_bytes());
            }
            n
        };
        if self.kind.two_way() && from == 0 {
            self.sender = 1;
        } else {
            self.sender = 0;
            self.exchanges -= 1;
            if self.exchanges == 0 {
                self.phase = Phase::Done;
            }
        }
        n
    }

    /// Writes what the application puts at the start of a UDP payload, so
    /// that dissectors read DNS, NTP and syslog (SNMP stays noise).
    fn application(&self, data: &mut [u8], from: usize) {
        match self.kind {
            Kind::Dns => {
                let id = self.exchange_id.wrapping_add(self.exchanges as u16);
                write_dns(data, id, self.dns_name, from == 1);
            }
            Kind::Ntp if data.len() >= 4 => {
                // LI 0, version 4, mode client (3) or server (4); stratum,
                // poll, precision.
                let (mode, stratum) = if from == 0 { (3, 0) } else { (4, 2) };
                data[..4].copy_from_slice(&[0x20 | mode, stratum, 6, 0xE9]);
            }
            Kind::Syslog => {
                for b in data.iter_mut() {
                    *b = b' ' + *b % 95;
                }
                let pri = b"<134>1 ";
                let n = pri.len().min(data.len());
                data[..n].copy_from_slice(&pri[..n]);
            }
            _ => {}
        }
    }

    /// Bytes of link and IP headers plus `l4` bytes of transport header.
    fn header_len(&self, l4: usize) -> usize {
        14 + if self.vlan.is_some() { 4 } else { 0 } + if self.v6 { 40 } else { 20 } + l4
    }

    /// Writes the Ethernet (and VLAN) and IP headers of a packet sent by
    /// side `from`; returns where the IP payload starts. `fragment` is an
    /// IPv4 identification and flags/offset field for fragments.
    fn headers(
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
    fn body(
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
    fn tcp(&mut self, c: &mut Ctx, buf: &mut [u8], from: usize, flags: u8, payload: u32) -> usize {
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
    fn udp(&mut self, c: &mut Ctx, buf: &mut [u8], from: usize, payload: usize) -> usize {
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
    fn echo(&mut self, c: &mut Ctx, buf: &mut [u8], from: usize) -> usize {
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
fn checksum_v6(src: &[u8; 16], dst: &[u8; 16], next_header: u8, data: &[u8]) -> u16 {
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

/// DNS header, question (a name under corp.example.com, type A, class IN).
const DNS_FIXED: usize = 12 + 1 + 5 + 8 + 4 + 1 + 4;
/// One answer record: name pointer, type, class, TTL, length, IPv4 address.
const DNS_ANSWER: u32 = 16;

fn dns_query_len(name: u64) -> usize {
    DNS_FIXED + dns_label_len(name)
}

fn dns_label_len(name: u64) -> usize {
    3 + (name % 18) as usize
}

/// Writes a DNS query for the name `name` stands for, or its answer with
/// as many A records as fit in `data`.
fn write_dns(data: &mut [u8], id: u16, name: u64, answer: bool) {
    let label = dns_label_len(name);
    let question = DNS_FIXED - 12 + label;
    if data.len() < 12 + question {
        return;
    }
    let records = if answer {
        (data.len() - 12 - question) / DNS_ANSWER as usize
    } else {
        0
    };
    let flags: u16 = if answer { 0x8180 } else { 0x0100 };
    data[0..2].copy_from_slice(&id.to_be_bytes());
    data[2..4].copy_from_slice(&flags.to_be_bytes());
    data[4..6].copy_from_slice(&1u16.to_be_bytes());
    data[6..8].copy_from_slice(&(records as u16).to_be_bytes());
    data[8..12].fill(0);
    let q = &mut data[12..12 + question];
    q[0] = label as u8;
    let mut letters = Rng::new(name);
    for b in &mut q[1..=label] {
        *b = b'a' + letters.below(26) as u8;
    }
    q[1 + label..].copy_from_slice(b"\x04corp\x07example\x03com\x00\x00\x01\x00\x01");
    let mut at = 12 + question;
    for _ in 0..records {
        let rr = &mut data[at..at + DNS_ANSWER as usize];
        rr[..12].copy_from_slice(&[0xC0, 0x0C, 0, 1, 0, 1, 0, 0, 0x0E, 0x10, 0, 4]);
        rr[12..16].copy_from_slice(&[
            10,
            10,
            1 + letters.below(2) as u8,
            10 + letters.below(20) as u8,
        ]);
        at += DNS_ANSWER as usize;
    }
}

/// Starts flows: picks kind, endpoints and size.
struct Generator {
    spec: EnterpriseSpec,
    ctx: Ctx,
    /// TCP, UDP, ICMP tuple spaces; IPv4 then IPv6 for each.
    spaces: [TupleSpace; 6],
    started: u64,
    /// File bytes written or planned, record headers included.
    committed: i64,
    fixed_planned: u64,
    fixed_started: u64,
    stats: EnterpriseStats,
}

impl Generator {
    fn new(spec: &EnterpriseSpec) -> Generator {
        let mut rng = Rng::new(spec.seed);
        let mut space = |size, half_bits| TupleSpace::new(size, half_bits, &mut rng);
        let spaces = [
            space(TRIPLES, 15),
            space(TRIPLES, 15),
            space(TRIPLES, 15),
            space(TRIPLES, 15),
            space(HOST_PAIRS, 9),
            space(HOST_PAIRS, 9),
        ];
        let noise = (0..NOISE_SPAN as usize + MAX_FRAME)
            .map(|_| rng.next_u64() as u8)
            .collect();
        let fragment_ident = rng.next_u64() as u16;
        Generator {
            spec: *spec,
            ctx: Ctx {
                rng,
                fragment_ident,
                fragmented: 0,
                noise,
                frames: 0,
                frame_bytes: 0,
            },
            spaces,
            started: 0,
            committed: PCAP_HEADER as i64,
            fixed_planned: 0,
            fixed_started: 0,
            stats: EnterpriseStats::default(),
        }
    }

    fn start_flow(&mut self) -> Flow {
        let remaining_flows = self.spec.flows - self.started;
        self.started += 1;
        let left = i64::try_from(self.spec.bytes).unwrap_or(i64::MAX) - self.committed;
        let rng = &mut self.ctx.rng;
        let mut v6 = rng.below(100) < 12;
        let mut kind = pick(rng, &KIND_MIX);
        if remaining_flows == 1 && left > 20_000 {
            // The last flow takes whatever is left.
            kind = Kind::Session;
        }
        let slot = match self.spaces[kind.class(v6)].take() {
            Some(s) => s,
            None => {
                kind = Kind::Session;
                match self.spaces[kind.class(v6)].take() {
                    Some(s) => s,
                    None => {
                        v6 = !v6;
                        self.spaces[kind.class(v6)]
                            .take()
                            .expect("at most MAX_FLOWS flows, checked first")
                    }
                }
            }
        };
        let rng = &mut self.ctx.rng;
        let (client, server, client_port) = if kind == Kind::Ping {
            let a = slot / (HOSTS - 1);
            let b = slot % (HOSTS - 1);
            (a, b + u64::from(b >= a), 0)
        } else {
            let port = EPHEMERAL_FIRST + slot / CLIENTS % EPHEMERAL_PORTS;
            (
                slot % CLIENTS,
                CLIENTS + slot / (CLIENTS * EPHEMERAL_PORTS),
                port as u16,
            )
        };
        let server_port = match kind {
            Kind::Session | Kind::Refused | Kind::MidStream => pick(rng, &TCP_PORTS),
            Kind::Dns => 53,
            Kind::Syslog => 514,
            Kind::Ntp => 123,
            Kind::Snmp => 161,
            Kind::SnmpTrap => 162,
            Kind::Ping => 0,
        };
        let vlan = (rng.below(5) == 0).then_some(100 + (client % 8) as u16);
        let exchanges = match kind {
            Kind::Dns => 1 + u32::from(rng.below(10) < 3),
            Kind::Ntp => 1,
            Kind::Snmp => 1 + rng.below(6) as u32,
            Kind::SnmpTrap => 1 + rng.below(2) as u32,
            Kind::Syslog if rng.below(10) == 0 => 5 + rng.below(40) as u32,
            Kind::Syslog => 1 + rng.below(3) as u32,
            Kind::Ping => 1 + rng.below(4) as u32,
            _ => 0,
        };
        let mut flow = Flow {
            kind,
            v6,
            vlan,
            flow_label: rng.next_u64() as u32 & 0xF_FFFF,
            addr: [host_addr(client, v6), host_addr(server, v6)],
            mac: [host_mac(client), host_mac(server)],
            port: [client_port, server_port],
            ttl: [host_ttl(client), host_ttl(server)],
            window: [1026 + rng.below(1024) as u16, 2053 + rng.below(2048) as u16],
            ip_id: [rng.next_u64() as u16, rng.next_u64() as u16],
            seq: [rng.next_u64() as u32, rng.next_u64() as u32],
            mss: if v6 { 1440 } else { 1460 },
            phase: Phase::Datagrams,
            sender: 0,
            left: 0,
            reply: 0,
            unacked: 0,
            ack_every: 2,
            ack_due: false,
            rounds: 0,
            exchanges,
            query: if rng.below(2) == 0 { 32 } else { 56 },
            exchange_id: rng.next_u64() as u16,
            dns_name: 0,
            icmp_seq: 1,
            pending: None,
            budget: 0,
            written: 0,
            burst: 1,
        };
        match kind {
            Kind::Session => flow.phase = Phase::Syn,
            Kind::Refused => {
                flow.phase = Phase::Syn;
                flow.seq[1] = 0;
            }
            Kind::MidStream => flow.phase = Phase::Transfer,
            _ => {}
        }
        flow.budget = if kind.is_elastic() {
            self.session_budget(kind, remaining_flows, left)
        } else {
            let plan = fixed_plan(&flow);
            self.fixed_planned += plan;
            self.fixed_started += 1;
            plan
        };
        if kind.is_elastic() {
            flow.burst = (1 + flow.budget / 200_000).min(64) as u32;
        }
        if kind == Kind::MidStream {
            // Join in the middle of an answer.
            flow.next_round(&mut self.ctx);
            flow.sender = 1;
            flow.left = flow.reply;
        }
        self.committed += flow.budget as i64;
        let s = &mut self.stats;
        s.flows += 1;
        s.tcp_flows += u64::from(kind.is_tcp());
        s.tcp_refused += u64::from(kind == Kind::Refused);
        s.tcp_mid_stream += u64::from(kind == Kind::MidStream);
        s.icmp_flows += u64::from(kind == Kind::Ping);
        s.udp_flows += u64::from(!kind.is_tcp() && kind != Kind::Ping);
        s.ipv6_flows += u64::from(v6);
        flow
    }

    /// A heavy-tailed budget whose mean spreads what is left of the target
    /// over the sessions expected to come.
    fn session_budget(&mut self, kind: Kind, remaining_flows: u64, left: i64) -> u64 {
        let fixed_mean = if self.fixed_started == 0 {
            300.0
        } else {
            self.fixed_planned as f64 / self.fixed_started as f64
        };
        let remaining = remaining_flows as f64;
        let sessions = (remaining * ELASTIC_SHARE).max(1.0);
        let for_sessions = left as f64 - (remaining - sessions) * fixed_mean;
        let mean = for_sessions / sessions;
        // Sessions carry at least their setup, unless the target leaves
        // too little room for that.
        let floor = match kind {
            Kind::Session => (mean / 2.0).clamp(MIN_SESSION_SQUEEZED, MIN_SESSION),
            _ => MIN_MID_STREAM,
        };
        if remaining_flows == 1 {
            return (left as f64).max(floor) as u64;
        }
        let cap = (for_sessions / 4.0).min(mean * SESSION_CAP);
        let x_min = pareto_scale(mean, floor, cap);
        let x = x_min * unit(&mut self.ctx.rng).powf(-1.0 / PARETO_ALPHA);
        x.min(cap).max(floor) as u64
    }

    fn finish_flow(&mut self, f: &Flow) {
        self.committed += f.written as i64 - f.budget as i64;
    }
}

/// The scale of a Pareto law whose samples, raised to `floor` and cut at
/// `cap`, have mean `mean` (or the smallest scale if even that is too
/// much).
fn pareto_scale(mean: f64, floor: f64, cap: f64) -> f64 {
    if mean <= floor || cap <= floor {
        return 1.0;
    }
    let a = PARETO_ALPHA;
    // E[max(floor, min(X, cap))] = lo + ∫ from lo to cap of P(X > t) dt,
    // lo = max(floor, scale): increasing in the scale, so bisect.
    let expected = |scale: f64| {
        let lo = floor.max(scale).min(cap);
        lo + scale.powf(a) / (a - 1.0) * (lo.powf(1.0 - a) - cap.powf(1.0 - a))
    };
    let (mut lo, mut hi) = (1.0, mean);
    for _ in 0..30 {
        let mid = 0.5 * (lo + hi);
        if expected(mid) < mean {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    lo
}

/// Expected file bytes of a flow of fixed shape.
fn fixed_plan(f: &Flow) -> u64 {
    let extra = RECORD_HEADER + if f.v6 { 20 } else { 0 } + if f.vlan.is_some() { 4 } else { 0 };
    let e = u64::from(f.exchanges);
    // Mean frame lengths (IPv4, untagged) of each message.
    let (frames, frame_bytes) = match f.kind {
        Kind::Refused => (2, 66 + 60),
        Kind::Dns => (2 * e, e * (87 + 193)),
        Kind::Ntp => (2 * e, e * 2 * 90),
        Kind::Snmp => (2 * e, e * (107 + 367)),
        Kind::SnmpTrap => (e, e * 292),
        Kind::Syslog => (e, e * 372),
        Kind::Ping => (2 * e, e * 2 * (42 + u64::from(f.query))),
        Kind::Session | Kind::MidStream => (0, 0),
    };
    frames * extra + frame_bytes
}

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
    use crate::flow::{resolve, FlowState};
    use crate::ingest::ingest_bytes;

    /// (timestamp in µs, frame length) of every record of a classic pcap.
    fn records(bytes: &[u8]) -> Vec<(u64, usize)> {
        let mut out = Vec::new();
        let mut at = 24;
        while at < bytes.len() {
            let h = &bytes[at..at + 16];
            let word = |i: usize| u32::from_le_bytes([h[i], h[i + 1], h[i + 2], h[i + 3]]);
            let len = word(8) as usize;
            assert_eq!(word(12) as usize, len, "nothing is cut");
            out.push((u64::from(word(0)) * 1_000_000 + u64::from(word(4)), len));
            at += 16 + len;
        }
        assert_eq!(at, bytes.len());
        out
    }

    const SPEC: EnterpriseSpec = EnterpriseSpec {
        bytes: 3_000_000,
        flows: 800,
        seed: 7,
    };

    #[test]
    fn every_frame_decodes_into_exactly_the_flows_asked_for() {
        let (bytes, st) = write_enterprise(Vec::new(), &SPEC).unwrap();
        assert_eq!(bytes.len() as u64, st.bytes);
        let target = SPEC.bytes as f64;
        assert!(
            (st.bytes as f64 - target).abs() <= 0.05 * target,
            "{} bytes for {target}",
            st.bytes
        );
        let (table, fs) = ingest_bytes("ent", &bytes);
        assert!(fs.skipped.is_empty(), "skipped: {:?}", fs.skipped);
        assert_eq!(fs.packets_read, st.packets);
        assert_eq!(fs.packets_decoded, st.packets);
        assert_eq!(fs.bytes_read, st.wire_bytes);
        assert_eq!(fs.times.out_of_order, 0);
        let flows = table.finish();
        assert_eq!(flows.len() as u64, SPEC.flows);
        assert_eq!(st.flows, SPEC.flows);
        let mean = st.mean_frame();
        assert!((450.0..=650.0).contains(&mean), "mean frame {mean}");
        assert!(st.ipv6_frames > 0 && st.vlan_frames > 0, "{st:?}");
        assert!(st.fragmented_datagrams > 0, "{st:?}");

        let recs = records(&bytes);
        assert!(recs.windows(2).all(|w| w[0].0 < w[1].0), "time moves on");
        assert!(recs.iter().all(|r| (60..=MAX_FRAME).contains(&r.1)));

        let mut refused = 0;
        let mut mid_stream = 0;
        let (mut tcp, mut udp, mut icmp, mut v6) = (0, 0, 0, 0);
        for (key, s) in flows.iter() {
            let f = resolve(&key, s, &|_, p| p < 32768);
            refused += u64::from(f.state == FlowState::Refused);
            mid_stream += u64::from(f.state == FlowState::MidStream);
            tcp += u64::from(f.proto == 6);
            udp += u64::from(f.proto == 17);
            icmp += u64::from(f.proto == 1 || f.proto == 58);
            v6 += u64::from(key.a.addr.is_ipv6());
        }
        assert_eq!((refused, mid_stream), (st.tcp_refused, st.tcp_mid_stream));
        assert_eq!(
            (tcp, udp, icmp, v6),
            (st.tcp_flows, st.udp_flows, st.icmp_flows, st.ipv6_flows)
        );
        assert!(refused > 0 && mid_stream > 0 && icmp > 0 && v6 > 0);
    }

    #[test]
    fn same_seed_same_bytes_other_seed_other_bytes() {
        let a = write_enterprise(Vec::new(), &SPEC).unwrap();
        let b = write_enterprise(Vec::new(), &SPEC).unwrap();
        assert_eq!(a, b);
        let other = EnterpriseSpec { seed: 8, ..SPEC };
        let c = write_enterprise(Vec::new(), &other).unwrap();
        assert_ne!(a.0, c.0);
    }

    #[test]
    fn tuple_space_hands_out_each_element_once() {
        let mut space = TupleSpace::new(HOST_PAIRS, 9, &mut Rng::new(3));
        let mut seen = vec![false; HOST_PAIRS as usize];
        while let Some(x) = space.take() {
            assert!(!std::mem::replace(&mut seen[x as usize], true), "{x} twice");
        }
        assert!(seen.iter().all(|&s| s));
    }

    #[test]
    fn few_large_flows_and_many_small_ones_still_meet_the_target() {
        for (bytes, flows) in [(2_000_000, 3), (2_000_000, 1000), (0, 0)] {
            let spec = EnterpriseSpec {
                bytes,
                flows,
                seed: 1,
            };
            let (out, st) = write_enterprise(Vec::new(), &spec).unwrap();
            let (table, fs) = ingest_bytes("ent", &out);
            assert_eq!(table.finish().len() as u64, flows);
            assert!(fs.skipped.is_empty());
            if flows == 0 {
                assert_eq!(st.bytes, 24);
            } else {
                let off = (st.bytes as f64 - bytes as f64).abs() / bytes as f64;
                assert!(off <= 0.05, "{bytes} bytes, {flows} flows: {}", st.bytes);
            }
        }
    }
}
