//! Scripted conversations ([`Scenario`]): TCP sessions, refusals, UDP
//! exchanges and pings between given sockets, written as real pcap or
//! pcapng bytes. Frames are built by `etherparse`, independent of
//! portaudit's decoder.

use std::io::{self, Write};
use std::net::IpAddr;

use etherparse::PacketBuilder;

use crate::PcapWriter;

/// An address and port.
pub type Sock = (IpAddr, u16);

/// A list of frames with timestamps, built conversation by conversation.
#[derive(Default)]
pub struct Scenario {
    frames: Vec<(u64, Vec<u8>)>,
    /// Nanoseconds since the epoch of the next frame.
    clock: u64,
    isn: u32,
}

const MAC_A: [u8; 6] = [0x02, 0, 0, 0, 0, 0x0A];
const MAC_B: [u8; 6] = [0x02, 0, 0, 0, 0, 0x0B];

impl Scenario {
    /// Starts at `start_secs` since the epoch.
    pub fn new(start_secs: u64) -> Self {
        Scenario {
            frames: Vec::new(),
            clock: start_secs * 1_000_000_000,
            isn: 1000,
        }
    }

    /// The same frames, each carried as `e` carries it.
    pub fn encapsulated(&self, e: crate::Encapsulation) -> Scenario {
        Scenario {
            frames: self.frames.iter().map(|(ts, f)| (*ts, e.wrap(f))).collect(),
            clock: self.clock,
            isn: self.isn,
        }
    }

    /// Frames so far.
    pub fn len(&self) -> usize {
        self.frames.len()
    }

    /// No frame yet.
    pub fn is_empty(&self) -> bool {
        self.frames.is_empty()
    }

    fn push(&mut self, frame: Vec<u8>) {
        self.frames.push((self.clock, frame));
        self.clock += 1_250_000; // 1.25 ms between frames
    }

    fn tcp(
        &mut self,
        src: Sock,
        dst: Sock,
        seq: u32,
        ack: Option<u32>,
        flags: &str,
        payload: usize,
    ) {
        self.tcp_data(src, dst, seq, ack, flags, &vec![0x5A; payload]);
    }

    /// A TCP segment carrying `data`.
    fn tcp_data(
        &mut self,
        src: Sock,
        dst: Sock,
        seq: u32,
        ack: Option<u32>,
        flags: &str,
        data: &[u8],
    ) {
        let payload = data.len();
        let b = base(src.0, dst.0);
        let mut t = b.tcp(src.1, dst.1, seq, 64240);
        for f in flags.chars() {
            t = match f {
                'S' => t.syn(),
                'F' => t.fin(),
                'R' => t.rst(),
                'P' => t.psh(),
                _ => t,
            };
        }
        if let Some(a) = ack {
            t = t.ack(a);
        }
        let mut v = Vec::with_capacity(t.size(payload));
        t.write(&mut v, data)
            .expect("building a frame into a Vec cannot fail");
        self.push(v);
    }

    fn next_isn(&mut self) -> u32 {
        self.isn = self.isn.wrapping_add(100_000);
        self.isn
    }

    /// A complete TCP connection: handshake, `requests` request/response
    /// exchanges (200 and 900 bytes), orderly close.
    pub fn tcp_session(&mut self, client: Sock, server: Sock, requests: usize) {
        let (request, response) = ([0x5A; 200], [0x5A; 900]);
        let exchanges = vec![(&request[..], &response[..]); requests];
        self.tcp_connection(client, server, &exchanges);
    }

    /// A complete TCP connection whose one exchange carries `request`
    /// and `response` (an RPC bind or map request, and its answer).
    pub fn tcp_exchange(&mut self, client: Sock, server: Sock, request: &[u8], response: &[u8]) {
        self.tcp_connection(client, server, &[(request, response)]);
    }

    /// Handshake, each (request, response) exchange, orderly close.
    fn tcp_connection(&mut self, client: Sock, server: Sock, exchanges: &[(&[u8], &[u8])]) {
        let (c, s) = (self.next_isn(), self.next_isn());
        self.tcp(client, server, c, None, "S", 0);
        self.tcp(server, client, s, Some(c + 1), "S", 0);
        self.tcp(client, server, c + 1, Some(s + 1), "", 0);
        let (mut cs, mut ss) = (c + 1, s + 1);
        for (request, response) in exchanges {
            self.tcp_data(client, server, cs, Some(ss), "P", request);
            cs += request.len() as u32;
            self.tcp_data(server, client, ss, Some(cs), "P", response);
            ss += response.len() as u32;
        }
        self.tcp(client, server, cs, Some(ss), "F", 0);
        self.tcp(server, client, ss, Some(cs + 1), "F", 0);
        self.tcp(client, server, cs + 1, Some(ss + 1), "", 0);
    }

    /// A SYN answered by RST: the port is closed.
    pub fn tcp_refused(&mut self, client: Sock, server: Sock) {
        let c = self.next_isn();
        self.tcp(client, server, c, None, "S", 0);
        self.tcp(server, client, 0, Some(c + 1), "R", 0);
    }

    /// A SYN sent three times (retransmissions) and never answered.
    pub fn tcp_unanswered(&mut self, client: Sock, server: Sock) {
        let c = self.next_isn();
        for _ in 0..3 {
            self.tcp(client, server, c, None, "S", 0);
        }
    }

    /// Data both ways with no handshake: the capture started mid-stream.
    pub fn tcp_mid_stream(&mut self, client: Sock, server: Sock, exchanges: usize) {
        let (mut cs, mut ss) = (self.next_isn(), self.next_isn());
        for _ in 0..exchanges {
            self.tcp(client, server, cs, Some(ss), "P", 120);
            cs += 120;
            self.tcp(server, client, ss, Some(cs), "P", 480);
            ss += 480;
        }
    }

    /// UDP datagrams from client to server, each answered if `replies`.
    pub fn udp(&mut self, client: Sock, server: Sock, datagrams: usize, replies: bool) {
        for _ in 0..datagrams {
            self.udp_one(client, server, 80);
            if replies {
                self.udp_one(server, client, 160);
            }
        }
    }

    fn udp_one(&mut self, src: Sock, dst: Sock, payload: usize) {
        self.udp_data(src, dst, &vec![0x33; payload]);
    }

    fn udp_data(&mut self, src: Sock, dst: Sock, payload: &[u8]) {
        let u = base(src.0, dst.0).udp(src.1, dst.1);
        let mut v = Vec::with_capacity(u.size(payload.len()));
        u.write(&mut v, payload)
            .expect("building a frame into a Vec cannot fail");
        self.push(v);
    }

    /// One datagram from client to server carrying `request`, answered
    /// with `response` unless it is empty.
    pub fn udp_exchange(&mut self, client: Sock, server: Sock, request: &[u8], response: &[u8]) {
        self.udp_data(client, server, request);
        if !response.is_empty() {
            self.udp_data(server, client, response);
        }
    }

    /// `count` ICMP (or ICMPv6) echo requests from `a` to `b`, each answered.
    pub fn ping(&mut self, a: IpAddr, b: IpAddr, count: u16) {
        let id = (self.next_isn() >> 8) as u16;
        for seq in 0..count {
            self.echo(a, b, id, seq, true);
            self.echo(b, a, id, seq, false);
        }
    }

    fn echo(&mut self, src: IpAddr, dst: IpAddr, id: u16, seq: u16, request: bool) {
        let payload = [0x61; 56];
        let mut v = Vec::new();
        let built = match (src, request) {
            (IpAddr::V4(_), true) => {
                let e = base(src, dst).icmpv4_echo_request(id, seq);
                e.write(&mut v, &payload)
            }
            (IpAddr::V4(_), false) => {
                let e = base(src, dst).icmpv4_echo_reply(id, seq);
                e.write(&mut v, &payload)
            }
            (IpAddr::V6(_), true) => {
                let e = base(src, dst).icmpv6_echo_request(id, seq);
                e.write(&mut v, &payload)
            }
            (IpAddr::V6(_), false) => {
                let e = base(src, dst).icmpv6_echo_reply(id, seq);
                e.write(&mut v, &payload)
            }
        };
        built.expect("building a frame into a Vec cannot fail");
        self.push(v);
    }

    /// Writes a classic pcap (little-endian, microseconds, Ethernet).
    pub fn write_pcap<W: Write>(&self, w: W) -> io::Result<()> {
        let mut out = PcapWriter::new(w)?;
        for (ts, f) in &self.frames {
            out.record(*ts, f)?;
        }
        out.finish().map(|_| ())
    }

    /// Writes pcapng: one section, one Ethernet interface with nanosecond
    /// resolution (if_tsresol = 9), Enhanced Packet Blocks.
    pub fn write_pcapng<W: Write>(&self, mut w: W) -> io::Result<()> {
        let block = |w: &mut W, kind: u32, body: &[u8]| -> io::Result<()> {
            let pad = (4 - body.len() % 4) % 4;
            let total = (12 + body.len() + pad) as u32;
            w.write_all(&kind.to_le_bytes())?;
            w.write_all(&total.to_le_bytes())?;
            w.write_all(body)?;
            w.write_all(&[0; 3][..pad])?;
            w.write_all(&total.to_le_bytes())
        };
        let mut shb = 0x1A2B_3C4Du32.to_le_bytes().to_vec();
        shb.extend_from_slice(&1u16.to_le_bytes());
        shb.extend_from_slice(&0u16.to_le_bytes());
        shb.extend_from_slice(&(-1i64).to_le_bytes());
        block(&mut w, 0x0A0D_0D0A, &shb)?;
        let mut idb = 1u16.to_le_bytes().to_vec();
        idb.extend_from_slice(&[0, 0]);
        idb.extend_from_slice(&262_144u32.to_le_bytes());
        idb.extend_from_slice(&[9, 0, 1, 0, 9, 0, 0, 0, 0, 0, 0, 0]);
        block(&mut w, 1, &idb)?;
        for (ts, f) in &self.frames {
            let mut epb = 0u32.to_le_bytes().to_vec();
            epb.extend_from_slice(&((ts >> 32) as u32).to_le_bytes());
            epb.extend_from_slice(&(*ts as u32).to_le_bytes());
            epb.extend_from_slice(&(f.len() as u32).to_le_bytes());
            epb.extend_from_slice(&(f.len() as u32).to_le_bytes());
            epb.extend_from_slice(f);
            block(&mut w, 6, &epb)?;
        }
        w.flush()
    }
}

fn base(src: IpAddr, dst: IpAddr) -> etherparse::PacketBuilderStep<etherparse::IpHeaders> {
    let eth = PacketBuilder::ethernet2(MAC_A, MAC_B);
    match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => eth.ipv4(s.octets(), d.octets(), 64),
        (IpAddr::V6(s), IpAddr::V6(d)) => eth.ipv6(s.octets(), d.octets(), 64),
        _ => panic!("a conversation cannot mix IPv4 and IPv6 addresses"),
    }
}

/// Parses `"10.0.0.1:443"` or `"[fd00::1]:443"` (for scripting scenarios).
pub fn sock(s: &str) -> Sock {
    let sa: std::net::SocketAddr = s.parse().expect("scenario socket addresses are literals");
    (sa.ip(), sa.port())
}
