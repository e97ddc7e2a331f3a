//! One conversation ([`Flow`]) as a state machine that emits a frame per
//! step: handshakes, request/response rounds sized to a budget, closes,
//! datagrams and echoes; and the state all flows share ([`Ctx`]).

use super::dns::{dns_query_len, write_dns, DNS_ANSWER};
use super::frames::checksum_v6;
use super::spec::{log_uniform, unit, Kind};
use super::{ACK, FIN, MEAN_FRAME, NOISE_SPAN, PSH, RECORD_HEADER, RST, SYN};
use crate::Rng;

/// State shared by all flows.
pub(super) struct Ctx {
    pub(super) rng: Rng,
    /// IP identification of the next fragmented datagram: one counter for
    /// all, so that a later fragment can only join its own first fragment.
    pub(super) fragment_ident: u16,
    pub(super) fragmented: u64,
    pub(super) noise: Vec<u8>,
    /// Frames and frame bytes so far, to steer the mean frame size.
    pub(super) frames: u64,
    pub(super) frame_bytes: u64,
    /// [`crate::EnterpriseSpec::dns_names`].
    pub(super) dns_names: u64,
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

    pub(super) fn noise_at(&mut self) -> usize {
        self.rng.below(NOISE_SPAN) as usize
    }
}

/// The second fragment of a datagram, sent right after the first.
#[derive(Clone, Copy, Debug)]
pub(super) struct LaterFragment {
    pub(super) from: usize,
    pub(super) ident: u16,
    pub(super) len: usize,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Phase {
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
pub(super) struct Flow {
    pub(super) kind: Kind,
    pub(super) v6: bool,
    /// 802.1Q tag control information, if the flow's frames are tagged.
    pub(super) vlan: Option<u16>,
    pub(super) flow_label: u32,
    pub(super) addr: [[u8; 16]; 2],
    pub(super) mac: [[u8; 6]; 2],
    pub(super) port: [u16; 2],
    pub(super) ttl: [u8; 2],
    pub(super) window: [u16; 2],
    pub(super) ip_id: [u16; 2],
    pub(super) seq: [u32; 2],
    pub(super) mss: u32,
    pub(super) phase: Phase,
    /// Side sending the current message, datagram or echo.
    pub(super) sender: usize,
    /// Bytes of the current TCP message not yet sent.
    pub(super) left: u32,
    /// The server's answer to the current request.
    pub(super) reply: u32,
    /// Segments the receiver has not acknowledged yet.
    pub(super) unacked: u8,
    /// The receiver acknowledges every this many segments.
    pub(super) ack_every: u8,
    pub(super) ack_due: bool,
    pub(super) rounds: u32,
    /// Datagrams (one-way kinds) or exchanges (two-way kinds) to come.
    pub(super) exchanges: u32,
    /// DNS: payload of the query being answered; ping: echo payload.
    pub(super) query: u32,
    /// Echo identifier, DNS transaction id.
    pub(super) exchange_id: u16,
    /// Seed of the name a DNS query asks for.
    pub(super) dns_name: u64,
    pub(super) icmp_seq: u16,
    pub(super) pending: Option<LaterFragment>,
    /// Planned file bytes (sessions stop when it is spent).
    pub(super) budget: u64,
    /// File bytes written so far, record headers included.
    pub(super) written: u64,
    /// Frames sent in a row when the flow is picked during a transfer, so
    /// that large sessions end within the capture.
    pub(super) burst: u32,
}

impl Flow {
    pub(super) fn is_done(&self) -> bool {
        self.phase == Phase::Done && self.pending.is_none()
    }

    /// Writes the frame of the flow's next step into `buf`; returns its
    /// length.
    pub(super) fn step(&mut self, c: &mut Ctx, buf: &mut [u8]) -> usize {
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
    pub(super) fn next_round(&mut self, c: &mut Ctx) {
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
                    if c.dns_names > 0 {
                        self.dns_name %= c.dns_names;
                    }
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
}
