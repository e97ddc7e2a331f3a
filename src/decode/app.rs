//! What a packet's first payload bytes are: the application protocol
//! ([`App`]), whether its sender asked or answered ([`Ask`]), and the
//! server name a client used (TLS SNI, HTTP `Host`). Read from one
//! segment, no reassembly: a flow's protocol is what the first payload of
//! each direction says (docs/audit.md#application-protocols), and the
//! initiator comes from who asked before the port heuristic
//! (docs/audit.md#initiator, basis `payload`).
//!
//! Every reader here looks at a slice and never past it; a lying length
//! leaves the protocol it claims unconfirmed ([`App::Unknown`]), never a
//! panic.

use super::packet::{Hello, PROTO_TCP, PROTO_UDP};

/// What a packet's payload says of its sender.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Ask {
    /// Nothing: no payload, or it does not tell.
    #[default]
    None,
    /// The sender asked: it is the client.
    Request,
    /// The sender answered: the receiver is the client.
    Reply,
}

/// Declares the application protocols from one table: a variant, the
/// label reports and rules use, and what it is.
macro_rules! apps {
    ($($(#[$doc:meta])* $app:ident = $label:literal;)*) => {
        /// An application protocol, as a payload's first bytes show it.
        #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
        #[repr(u8)]
        pub enum App {
            $($(#[$doc])* $app,)*
        }

        impl App {
            pub const ALL: &'static [App] = &[$(App::$app,)*];

            /// The protocol's name in reports, rules and flow files.
            pub fn label(self) -> &'static str {
                match self {
                    $(App::$app => $label,)*
                }
            }
        }
    };
}

apps! {
    /// No payload seen (a handshake only, or nothing sent that way).
    #[default]
    None = "none";
    /// A payload none of the readers here recognises.
    Unknown = "unknown";
    /// TLS (any record version from SSL 3.0 to TLS 1.3): HTTPS, LDAPS,
    /// syslog over TLS, AMQPS all begin so.
    Tls = "tls";
    /// HTTP/1.x: a request line or a status line.
    Http = "http";
    /// WS-Management over HTTP: a request for `/wsman` (WinRM).
    Winrm = "winrm";
    /// An SSH identification string (`SSH-2.0-...`).
    Ssh = "ssh";
    Dns = "dns";
    /// Multicast DNS (RFC 6762), on UDP 5353.
    Mdns = "mdns";
    /// Link-Local Multicast Name Resolution (RFC 4795), on UDP 5355.
    Llmnr = "llmnr";
    /// NetBIOS name and datagram services (RFC 1002), on UDP 137 and 138.
    Netbios = "netbios";
    /// LDAP over TCP: a BER message with an LDAP operation.
    Ldap = "ldap";
    /// Connectionless LDAP (RFC 1798), LDAP over UDP.
    Cldap = "cldap";
    Kerberos = "kerberos";
    /// SMB1, SMB2 and SMB3, with or without the NetBIOS session header.
    Smb = "smb";
    /// DCE/RPC, connection-oriented (5.x) or connectionless (4).
    Dcerpc = "dcerpc";
    /// ONC-RPC (Sun RPC) calls and replies: NFS, mountd, the portmapper.
    OncRpc = "onc-rpc";
    Ntp = "ntp";
    Snmp = "snmp";
    /// Syslog with a priority (RFC 3164, RFC 5424, RFC 6587 framing).
    Syslog = "syslog";
    /// AMQP 0-9-1 and 1.0.
    Amqp = "amqp";
    /// PostgreSQL's startup, SSLRequest and GSSENCRequest, and the
    /// server's answers.
    Postgresql = "postgresql";
    /// NATS client protocol (`INFO {`, `CONNECT {`).
    Nats = "nats";
    /// RDP's X.224 connection request and confirm in TPKT.
    Rdp = "rdp";
    Smtp = "smtp";
    Ftp = "ftp";
    Dhcp = "dhcp";
    Dhcpv6 = "dhcpv6";
    /// SSDP (UPnP discovery), HTTP-like over UDP 1900.
    Ssdp = "ssdp";
    /// QUIC long-header packets of a known version.
    Quic = "quic";
    /// MySQL's server greeting (protocol 10).
    Mysql = "mysql";
    /// PPTP control messages (RFC 2637), on TCP.
    Pptp = "pptp";
    /// WS-Discovery, SOAP over UDP (a `<?xml` or SOAP envelope).
    WsDiscovery = "ws-discovery";
    /// Samsung's device discovery (`SEARCH BSDP/`), over UDP.
    SamsungSdp = "samsung-sdp";
    /// Canon's printer protocol (`BJNP`, `BJNB`, `BJNS`, `MFNP`).
    Bjnp = "bjnp";
    /// Dropbox's LAN sync discovery (JSON broadcasts on UDP 17500).
    DropboxLansync = "dropbox-lansync";
    /// BACnet/IP (ASHRAE 135 Annex J), on UDP 47808.
    Bacnet = "bacnet";
}

impl App {
    /// The protocol of `label`, as a rule or a flow file names it.
    pub fn of_label(label: &str) -> Option<App> {
        App::ALL.iter().copied().find(|a| a.label() == label)
    }

    /// The protocol a flow engine names: Zeek's `service` (one of a
    /// comma-separated list; `-` marks one Zeek gave up on) or Suricata's
    /// `app_proto`, where it is one portaudit reads too.
    pub fn of_engine(names: &str) -> Option<App> {
        names.split(',').find_map(|name| {
            Some(match name.trim() {
                "ssl" | "tls" => App::Tls,
                "http" => App::Http,
                "ssh" => App::Ssh,
                "dns" => App::Dns,
                "krb" | "krb_tcp" | "krb5" => App::Kerberos,
                "ldap" | "ldap_tcp" => App::Ldap,
                "ldap_udp" => App::Cldap,
                "smb" => App::Smb,
                "dce_rpc" | "dcerpc" => App::Dcerpc,
                "ntp" => App::Ntp,
                "snmp" => App::Snmp,
                "syslog" => App::Syslog,
                "smtp" => App::Smtp,
                "ftp" => App::Ftp,
                "dhcp" => App::Dhcp,
                "quic" => App::Quic,
                "rdp" | "rdpeudp" => App::Rdp,
                "mysql" => App::Mysql,
                "postgresql" => App::Postgresql,
                "nfs" => App::OncRpc,
                _ => return None,
            })
        })
    }

    /// Something was recognised (neither no payload nor unknown).
    pub fn is_known(self) -> bool {
        !matches!(self, App::None | App::Unknown)
    }

    /// Whether traffic identified as `self` is `wanted`: the same
    /// protocol, or a refinement of it (WinRM is HTTP).
    pub fn is(self, wanted: App) -> bool {
        self == wanted || (self == App::Winrm && wanted == App::Http)
    }

    fn from_bits(b: u8) -> App {
        App::ALL
            .get(usize::from(b))
            .copied()
            .unwrap_or(App::Unknown)
    }
}

impl std::fmt::Display for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.label())
    }
}

/// What one payload showed, packed in a byte for the packet summary: the
/// protocol (6 bits) and who asked (2 bits).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Heard(u8);

const _: () = assert!(App::ALL.len() <= 64);

impl Heard {
    pub const NOTHING: Heard = Heard(0);

    pub fn new(app: App, ask: Ask) -> Heard {
        let ask = match ask {
            Ask::None => 0,
            Ask::Request => 1,
            Ask::Reply => 2,
        };
        Heard(app as u8 | ask << 6)
    }

    pub fn app(self) -> App {
        App::from_bits(self.0 & 0x3f)
    }

    pub fn ask(self) -> Ask {
        match self.0 >> 6 {
            1 => Ask::Request,
            2 => Ask::Reply,
            _ => Ask::None,
        }
    }
}

/// DNS's port: where its format is read, and its answers
/// ([`super::dns::answers`]).
pub(super) const DNS: u16 = 53;
const MDNS: u16 = 5353;
const LLMNR: u16 = 5355;
const NTP: u16 = 123;
const KERBEROS: [u16; 2] = [88, 464];
const POSTGRESQL: u16 = 5432;

/// What a flow learns from its first payload one way, between ports
/// `sport` and `dport`: what it is and says of its sender ([`heard`]),
/// and, when it asks or is off its protocol's own ports, the server name
/// and ALPN it names and its quote ([`Hello`]).
pub fn listen(proto: u8, sport: u16, dport: u16, payload: &[u8]) -> (Heard, Hello) {
    let heard = heard(proto, sport, dport, payload);
    let said = quote(heard, sport, dport, payload);
    let hello = if said.is_some() || heard.ask() == Ask::Request {
        Hello {
            name: server_name(heard, payload).map(String::into_boxed_str),
            alpn: alpn(heard, payload).map(String::into_boxed_str),
            said: said.map(String::into_boxed_str),
        }
    } else {
        Hello::default()
    };
    (heard, hello)
}

/// What a TCP or UDP `payload` between ports `sport` and `dport` is, and
/// what it says of its sender. A non-empty payload is at least
/// [`App::Unknown`].
#[inline]
pub fn heard(proto: u8, sport: u16, dport: u16, payload: &[u8]) -> Heard {
    let (app, ask) = match proto {
        PROTO_TCP => tcp(sport, dport, payload),
        PROTO_UDP => udp(sport, dport, payload),
        _ => return Heard::NOTHING,
    };
    Heard::new(app, ask)
}

type Found = (App, Ask);
const UNKNOWN: Found = (App::Unknown, Ask::None);

/// A TCP segment's payload: the first byte picks the few protocols it
/// can begin (a MySQL greeting begins with its length, so with any).
fn tcp(sport: u16, dport: u16, p: &[u8]) -> Found {
    let on = |port: u16| sport == port || dport == port;
    let Some(&first) = p.first() else {
        return (App::None, Ask::None);
    };
    let found = match first {
        0x14..=0x17 => tls(p),
        0x00 => smb(p)
            .or_else(|| postgresql_request(p))
            .or_else(|| pptp(p))
            .or_else(|| {
                KERBEROS
                    .into_iter()
                    .any(on)
                    .then(|| kerberos(&p[4.min(p.len())..]))
                    .flatten()
            })
            .or_else(|| on(DNS).then(|| dns(p.get(2..)?, App::Dns)).flatten()),
        0x80 => onc_rpc(p.get(4..).unwrap_or_default()),
        0x03 => rdp(p),
        0x05 => dcerpc(p),
        0x30 => ldap(p, App::Ldap),
        b'<' => syslog(p),
        b'1'..=b'9' => (first == b'2')
            .then(|| greeting(sport, p))
            .flatten()
            .or_else(|| syslog_counted(p)),
        b'S' if p.starts_with(b"SSH-") => Some((App::Ssh, Ask::None)),
        b'S' | b'N' if p.len() == 1 && sport == POSTGRESQL => Some((App::Postgresql, Ask::Reply)),
        b'R' | b'E' if sport == POSTGRESQL && postgresql_message(p) => {
            Some((App::Postgresql, Ask::Reply))
        }
        b'A' if p.starts_with(b"AMQP") => Some((App::Amqp, Ask::Request)),
        0x01 if amqp_start(p) => Some((App::Amqp, Ask::Reply)),
        b'I' if p.starts_with(b"INFO {") => Some((App::Nats, Ask::Reply)),
        b'C' if p.starts_with(b"CONNECT {") => Some((App::Nats, Ask::Request)),
        b'E' | b'H' if p.starts_with(b"EHLO ") || p.starts_with(b"HELO ") => {
            Some((App::Smtp, Ask::Request))
        }
        b'U' if on(21) && p.starts_with(b"USER ") => Some((App::Ftp, Ask::Request)),
        // The first letters of HTTP's methods, status line and HTTP/2's
        // preface.
        b'G' | b'P' | b'H' | b'D' | b'O' | b'C' | b'T' => mysql(p).or_else(|| http(p)),
        _ => mysql(p),
    };
    found.unwrap_or(UNKNOWN)
}

fn mysql(p: &[u8]) -> Option<Found> {
    mysql_greeting(p).then_some((App::Mysql, Ask::Reply))
}

/// A UDP datagram's payload: the well-known ports first (their formats
/// are too plain to tell by content alone), then content.
fn udp(sport: u16, dport: u16, p: &[u8]) -> Found {
    let on = |port: u16| sport == port || dport == port;
    if p.is_empty() {
        return (App::None, Ask::None);
    }
    let by_port = if on(DNS) {
        dns(p, App::Dns)
    } else if on(MDNS) {
        dns(p, App::Mdns)
    } else if on(LLMNR) {
        dns(p, App::Llmnr)
    } else if on(137) {
        dns(p, App::Netbios)
    } else if on(138) {
        netbios_datagram(p)
    } else if on(NTP) {
        ntp(p)
    } else if on(67) || on(68) {
        dhcp(p)
    } else if on(546) || on(547) {
        dhcpv6(p)
    } else if KERBEROS.into_iter().any(on) {
        kerberos(p)
    } else if on(135) {
        dcerpc_cl(p)
    } else if on(1900) {
        ssdp(p)
    } else {
        None
    };
    if let Some(found) = by_port {
        return found;
    }
    let found = match p[0] {
        0x30 => ldap(p, App::Cldap),
        b'<' if on(3702) => Some((App::WsDiscovery, Ask::None)),
        b'<' => syslog(p),
        b'S' if p.starts_with(b"SEARCH BSDP/") => Some((App::SamsungSdp, Ask::Request)),
        b'B' | b'M'
            if [&b"BJNP"[..], b"BJNB", b"BJNS", b"MFNP"]
                .iter()
                .any(|m| p.starts_with(m)) =>
        {
            bjnp(p)
        }
        b'{' if on(17500) && p.starts_with(b"{\"host_int\"") => {
            Some((App::DropboxLansync, Ask::None))
        }
        0x81 if on(47808) => bacnet(p),
        0xc0..=0xff => quic(p),
        0x09 | 0x0d | 0x19 | 0x1d => gquic(p),
        _ => None,
    };
    found.or_else(|| onc_rpc(p)).unwrap_or(UNKNOWN)
}

/// A TLS record (RFC 8446 §5.1; SSL 3.0 to TLS 1.3 record versions) of a
/// known content type with a plausible length; a handshake's first
/// message tells who asked.
fn tls(p: &[u8]) -> Option<Found> {
    match *p {
        [kind @ 0x14..=0x17, 3, 0..=4, hi, lo, ..] if u16::from_be_bytes([hi, lo]) <= 18432 => {
            let ask = match (kind, p.get(5)) {
                (0x16, Some(1)) => Ask::Request,
                (0x16, Some(2)) => Ask::Reply,
                _ => Ask::None,
            };
            Some((App::Tls, ask))
        }
        _ => None,
    }
}

/// An HTTP/1.x request line (RFC 9112 §3: a method, a space, a target),
/// a status line, or HTTP/2's cleartext preface; a request for `/wsman`
/// is WinRM.
fn http(p: &[u8]) -> Option<Found> {
    const METHODS: [&[u8]; 9] = [
        b"GET ",
        b"POST ",
        b"HEAD ",
        b"PUT ",
        b"DELETE ",
        b"OPTIONS ",
        b"PATCH ",
        b"CONNECT ",
        b"TRACE ",
    ];
    if p.starts_with(b"HTTP/1.") {
        return Some((App::Http, Ask::Reply));
    }
    // HTTP/2 over cleartext TCP begins with its connection preface
    // (RFC 9113 §3.4).
    if p.starts_with(b"PRI * HTTP/2.0\r\n") {
        return Some((App::Http, Ask::Request));
    }
    let method = METHODS.iter().find(|m| p.starts_with(m))?;
    let target = &p[method.len()..];
    let wsman = target
        .get(..6)
        .is_some_and(|t| t.eq_ignore_ascii_case(b"/wsman"));
    Some((if wsman { App::Winrm } else { App::Http }, Ask::Request))
}

/// A DNS header (RFC 1035 §4.1.1): QR is 0 in a query, 1 in a response;
/// a standard opcode (0-6) and at most 255 questions, or it is not DNS.
/// NetBIOS names (RFC 1002), mDNS and LLMNR share it.
fn dns(p: &[u8], app: App) -> Option<Found> {
    match *p {
        [_, _, flags, _, 0, _, ..] if p.len() >= 12 && (flags >> 3) & 0x0f <= 6 => {
            let ask = if flags & 0x80 == 0 {
                Ask::Request
            } else {
                Ask::Reply
            };
            Some((app, ask))
        }
        _ => None,
    }
}

/// A NetBIOS datagram (RFC 1002 §4.4): message types 0x10-0x16.
fn netbios_datagram(p: &[u8]) -> Option<Found> {
    match p.first() {
        Some(0x10..=0x16) if p.len() >= 10 => Some((App::Netbios, Ask::None)),
        _ => None,
    }
}

/// An NTP packet (RFC 5905 §7.3): version 1-4, mode 3 (client) or 4
/// (server); symmetric and broadcast modes say nothing of who asked.
fn ntp(p: &[u8]) -> Option<Found> {
    match p.first() {
        Some(b) if p.len() >= 48 && (1..=4).contains(&((b >> 3) & 7)) => {
            let ask = match b & 7 {
                3 => Ask::Request,
                4 => Ask::Reply,
                _ => Ask::None,
            };
            Some((App::Ntp, ask))
        }
        _ => None,
    }
}

/// A DHCP message (RFC 2131 §2): op 1 (request) or 2 (reply), and the
/// magic cookie after the fixed part.
fn dhcp(p: &[u8]) -> Option<Found> {
    match (p.first(), p.get(236..240)) {
        (Some(&op @ (1 | 2)), Some([0x63, 0x82, 0x53, 0x63])) => {
            Some((App::Dhcp, if op == 1 { Ask::Request } else { Ask::Reply }))
        }
        _ => None,
    }
}

/// A DHCPv6 message (RFC 8415 §7.3): client messages ask, ADVERTISE (2)
/// and REPLY (7) answer; relay messages (12, 13) say nothing.
fn dhcpv6(p: &[u8]) -> Option<Found> {
    let ask = match p.first()? {
        1 | 3..=6 | 8 | 9 | 11 => Ask::Request,
        2 | 7 => Ask::Reply,
        12 | 13 => Ask::None,
        _ => return None,
    };
    (p.len() >= 4).then_some((App::Dhcpv6, ask))
}

/// A Kerberos message's application tag (RFC 4120 §5.10) and a DER
/// length, then a SEQUENCE: AS-REQ [10] and TGS-REQ [12] ask; AS-REP
/// [11], TGS-REP [13] and KRB-ERROR [30] answer. Kpasswd (port 464)
/// begins with its own length: read as unknown.
fn kerberos(p: &[u8]) -> Option<Found> {
    let ask = match p.first()? {
        0x6a | 0x6c => Ask::Request,
        0x6b | 0x6d | 0x7e => Ask::Reply,
        _ => return None,
    };
    let (_, rest) = ber_header(p)?;
    (rest.first() == Some(&0x30)).then_some((App::Kerberos, ask))
}

/// A BER tag of one byte and a definite length (short or long form, at
/// most four length bytes): the length and what follows the header.
fn ber_header(p: &[u8]) -> Option<(usize, &[u8])> {
    let first = *p.get(1)?;
    if first < 0x80 {
        return Some((usize::from(first), p.get(2..)?));
    }
    let n = usize::from(first & 0x7f);
    if n == 0 || n > 4 {
        return None;
    }
    let bytes = p.get(2..2 + n)?;
    let len = bytes.iter().fold(0usize, |v, &b| v << 8 | usize::from(b));
    Some((len, &p[2 + n..]))
}

/// An LDAP message (RFC 4511 §4.1.1): a SEQUENCE holding a message ID
/// (an INTEGER of 1-4 bytes) and an operation, an [APPLICATION n] tag.
/// An SNMP message (RFC 3416) is a SEQUENCE holding its version (0, 1
/// or 3) and then a community string or a v3 header.
fn ldap(p: &[u8], app: App) -> Option<Found> {
    let (_, body) = ber_header(p)?;
    let [0x02, n @ 1..=4, ..] = *body else {
        return None;
    };
    let n = usize::from(n);
    let value = body.get(2..2 + n)?;
    let after = *body.get(2 + n)?;
    if n == 1 && matches!(value[0], 0 | 1 | 3) && matches!(after, 0x04 | 0x30) {
        return snmp(&body[2 + n..]);
    }
    let ask = match after {
        0x60 | 0x42 | 0x63 | 0x66 | 0x68 | 0x4a | 0x6c | 0x6e | 0x50 | 0x77 => Ask::Request,
        0x61 | 0x64 | 0x65 | 0x67 | 0x69 | 0x6b | 0x6d | 0x6f | 0x73 | 0x78 | 0x79 => Ask::Reply,
        _ => return None,
    };
    Some((app, ask))
}

/// The rest of an SNMP message after its version: a v1/v2c community
/// string and a PDU whose tag says who asked (get, get-next, set,
/// get-bulk, inform, traps ask; a response answers), or a v3 header.
fn snmp(p: &[u8]) -> Option<Found> {
    if p.first() == Some(&0x30) {
        return Some((App::Snmp, Ask::None));
    }
    let (len, rest) = ber_header(p)?;
    let ask = match rest.get(len) {
        Some(0xa0 | 0xa1 | 0xa3 | 0xa4 | 0xa5 | 0xa6 | 0xa7) => Ask::Request,
        Some(0xa2 | 0xa8) => Ask::Reply,
        Some(_) => return None,
        None => Ask::None,
    };
    Some((App::Snmp, ask))
}

/// SMB1 (`\xffSMB`), SMB2/3 (`\xfeSMB`) or an SMB3 transform header
/// (`\xfdSMB`), behind a NetBIOS session message header (RFC 1002 §4.3.1;
/// type 0) or Direct TCP's 4 bytes. A response sets SMB1's reply flag
/// or SMB2's SERVER_TO_REDIR flag.
fn smb(p: &[u8]) -> Option<Found> {
    let m = p.get(4..)?;
    let ask = match *m {
        [0xff, b'S', b'M', b'B', _, _, _, _, _, flags, ..] => reply_if(flags & 0x80 != 0),
        [0xfe, b'S', b'M', b'B', ..] => match m.get(16) {
            Some(f) => reply_if(f & 1 != 0),
            None => Ask::None,
        },
        [0xfd, b'S', b'M', b'B', ..] => Ask::None,
        _ => return None,
    };
    Some((App::Smb, ask))
}

fn reply_if(reply: bool) -> Ask {
    if reply {
        Ask::Reply
    } else {
        Ask::Request
    }
}

/// PostgreSQL's first client message (protocol §55.2): SSLRequest,
/// GSSENCRequest, CancelRequest (their codes 1234.5679, .5680, .5678), or
/// a StartupMessage of protocol 3.0; each after a length of at least 8.
fn postgresql_request(p: &[u8]) -> Option<Found> {
    match *p {
        [0, 0, hi, lo, 0x04, 0xd2, 0x16, 0x2e..=0x30, ..] | [0, 0, hi, lo, 0, 3, 0, 0, ..]
            if u16::from_be_bytes([hi, lo]) >= 8 =>
        {
            Some((App::Postgresql, Ask::Request))
        }
        _ => None,
    }
}

/// A PostgreSQL server message (`R` authentication, `E` error) with a
/// plausible length, from its port.
fn postgresql_message(p: &[u8]) -> bool {
    matches!(*p, [_, 0, 0, hi, lo, ..] if (8..=8192).contains(&u16::from_be_bytes([hi, lo])))
}

/// AMQP 0-9-1's first server frame: a method frame (1) on channel 0
/// carrying Connection.Start (class 10, method 10).
fn amqp_start(p: &[u8]) -> bool {
    matches!(*p, [1, 0, 0, _, _, _, _, 0, 10, 0, 10, ..])
}

/// An ONC-RPC message (RFC 5531 §9), after TCP's record mark: a call of
/// RPC version 2, or an accepted or denied reply whose verifier has a
/// known flavour and a bounded length.
fn onc_rpc(p: &[u8]) -> Option<Found> {
    let word = |i: usize| {
        p.get(i * 4..i * 4 + 4)
            .map(|w| u32::from_be_bytes([w[0], w[1], w[2], w[3]]))
    };
    match (word(1)?, word(2)?) {
        (0, 2) => Some((App::OncRpc, Ask::Request)),
        (1, 0) => match (word(3)?, word(4)?) {
            (0..=6, 0..=400) => Some((App::OncRpc, Ask::Reply)),
            _ => None,
        },
        (1, 1) => Some((App::OncRpc, Ask::Reply)),
        _ => None,
    }
}

/// RDP's start (MS-RDPBCGR §2.2.1.1): a TPKT header (version 3) holding
/// an X.224 connection request (0xE0) or confirm (0xD0), or data (0xF0).
fn rdp(p: &[u8]) -> Option<Found> {
    let [3, 0, hi, lo, _li, code, ..] = *p else {
        return None;
    };
    if u16::from_be_bytes([hi, lo]) < 7 {
        return None;
    }
    let ask = match code & 0xf0 {
        0xe0 => Ask::Request,
        0xd0 => Ask::Reply,
        0xf0 => Ask::None,
        _ => return None,
    };
    Some((App::Rdp, ask))
}

/// A connection-oriented DCE/RPC PDU (C706 §12.6): version 5.0 or 5.1, a
/// known packet type, a data representation of ASCII and either byte
/// order, and a fragment at least as long as its header.
fn dcerpc(p: &[u8]) -> Option<Found> {
    let [5, 0 | 1, ptype @ 0..=20, _flags, drep @ (0x00 | 0x10), _, _, _, f0, f1, ..] = *p else {
        return None;
    };
    let frag = if drep == 0x10 {
        u16::from_le_bytes([f0, f1])
    } else {
        u16::from_be_bytes([f0, f1])
    };
    if frag < 16 {
        return None;
    }
    let ask = match ptype {
        0 | 11 | 14 => Ask::Request,
        2 | 12 | 13 | 15 => Ask::Reply,
        _ => Ask::None,
    };
    Some((App::Dcerpc, ask))
}

/// A connectionless DCE/RPC PDU (C706 §12.5): version 4, a packet type
/// of 0-10; a request (0) asks, a response (2) answers.
fn dcerpc_cl(p: &[u8]) -> Option<Found> {
    let [4, ptype @ 0..=10, ..] = *p else {
        return None;
    };
    let ask = match ptype {
        0 => Ask::Request,
        2 => Ask::Reply,
        _ => Ask::None,
    };
    (p.len() >= 80).then_some((App::Dcerpc, ask))
}

/// A syslog message's priority (RFC 5424 §6.2.1, RFC 3164 §4.1.1): `<`,
/// one to three digits of at most 191, `>`. The sender only tells.
fn syslog(p: &[u8]) -> Option<Found> {
    // After octet counting's length nothing has checked the `<` yet.
    let [b'<', after @ ..] = p else {
        return None;
    };
    let end = after.iter().take(4).position(|&b| b == b'>')?;
    let digits = &after[..end];
    let pri = std::str::from_utf8(digits).ok()?.parse::<u16>().ok()?;
    let well_formed = !digits.is_empty() && digits.iter().all(u8::is_ascii_digit);
    (well_formed && pri <= 191).then_some((App::Syslog, Ask::Request))
}

/// Syslog over TCP with octet counting (RFC 6587 §3.4.1): a length, a
/// space, then the message.
fn syslog_counted(p: &[u8]) -> Option<Found> {
    let space = p.iter().take(6).position(|&b| b == b' ')?;
    p[..space]
        .iter()
        .all(u8::is_ascii_digit)
        .then(|| syslog(&p[space + 1..]))
        .flatten()
}

/// A server's `220` greeting (RFC 5321 §4.2, RFC 959 §4.2): SMTP or FTP
/// by its port, else by what the greeting names.
fn greeting(sport: u16, p: &[u8]) -> Option<Found> {
    if !(p.starts_with(b"220 ") || p.starts_with(b"220-")) {
        return None;
    }
    let line = &p[..p.iter().position(|&b| b == b'\n').unwrap_or(p.len())];
    let names = |word: &[u8]| {
        line.windows(word.len())
            .any(|w| w.eq_ignore_ascii_case(word))
    };
    let app = match sport {
        25 | 465 | 587 | 2525 => App::Smtp,
        21 => App::Ftp,
        _ if names(b"SMTP") => App::Smtp,
        _ if names(b"FTP") => App::Ftp,
        _ => return None,
    };
    Some((app, Ask::Reply))
}

/// SSDP (UPnP Device Architecture §1): an M-SEARCH or NOTIFY request, or
/// an HTTP response to a search.
fn ssdp(p: &[u8]) -> Option<Found> {
    if p.starts_with(b"M-SEARCH ") || p.starts_with(b"NOTIFY ") {
        Some((App::Ssdp, Ask::Request))
    } else if p.starts_with(b"HTTP/1.") {
        Some((App::Ssdp, Ask::Reply))
    } else {
        None
    }
}

/// MySQL's first server packet (client/server protocol, "Initial
/// Handshake"): a 3-byte length, sequence 0, protocol version 10, a
/// printable server version ending in a NUL.
fn mysql_greeting(p: &[u8]) -> bool {
    let [l0, l1, l2, 0, 10, ref rest @ ..] = *p else {
        return false;
    };
    let len = usize::from(l0) | usize::from(l1) << 8 | usize::from(l2) << 16;
    let version = rest.iter().take(40).position(|&b| b == 0);
    (20..=1024).contains(&len)
        && version.is_some_and(|n| n > 0 && rest[..n].iter().all(u8::is_ascii_graphic))
}

/// A PPTP control message (RFC 2637 §2): its length, message type 1
/// (control), the magic cookie 0x1A2B3C4D; a start-control-connection
/// request asks, its reply answers.
fn pptp(p: &[u8]) -> Option<Found> {
    let [_, _, 0, 1, 0x1a, 0x2b, 0x3c, 0x4d, 0, kind, ..] = *p else {
        return None;
    };
    let ask = match kind {
        1 | 7 | 9 => Ask::Request,
        2 | 8 => Ask::Reply,
        _ => Ask::None,
    };
    Some((App::Pptp, ask))
}

/// A BJNP or MFNP header (Canon): the magic, a packet type whose high bit
/// marks a response.
fn bjnp(p: &[u8]) -> Option<Found> {
    let kind = *p.get(4)?;
    Some((App::Bjnp, reply_if(kind & 0x80 != 0)))
}

/// A BACnet virtual link control header (ASHRAE 135 Annex J.2): type
/// 0x81, a function of 0-0x0c, the message's length.
fn bacnet(p: &[u8]) -> Option<Found> {
    let [0x81, 0..=0x0c, hi, lo, ..] = *p else {
        return None;
    };
    (usize::from(u16::from_be_bytes([hi, lo])) == p.len()).then_some((App::Bacnet, Ask::None))
}

/// A Google QUIC packet from a client (gQUIC, before IETF QUIC): public
/// flags with the version and an 8-byte connection ID, then a version
/// `Q0nn`.
fn gquic(p: &[u8]) -> Option<Found> {
    let [flags, ..] = *p else { return None };
    let version = p.get(9..13)?;
    let ok = flags & 0x80 == 0
        && flags & 0x09 == 0x09
        && version[0] == b'Q'
        && version[1..].iter().all(u8::is_ascii_digit);
    ok.then_some((App::Quic, Ask::Request))
}

/// A QUIC long-header packet (RFC 9000 §17.2) of version 1, 2 (RFC 9369)
/// or an IETF draft: an Initial from a client asks.
fn quic(p: &[u8]) -> Option<Found> {
    let [first, v0, v1, v2, v3, ..] = *p else {
        return None;
    };
    let version = u32::from_be_bytes([v0, v1, v2, v3]);
    let known = version == 1 || version == 0x6b33_43cf || version >> 8 == 0x00ff_0000;
    if first & 0x40 == 0 || !known || p.len() < 20 {
        return None;
    }
    Some((App::Quic, Ask::None))
}

/// The longest server name kept (a DNS name is at most 253 bytes).
pub const MAX_NAME: usize = 253;

/// The server name a client's first payload names: the `server_name` of
/// a TLS ClientHello (RFC 6066 §3), or the `Host` of an HTTP request (RFC
/// 9110 §7.2) without its port, lower-cased. `None` when the payload
/// holds none, or not whole in this segment.
pub fn server_name(heard: Heard, p: &[u8]) -> Option<String> {
    let raw = match (heard.app(), heard.ask()) {
        (App::Tls, Ask::Request) => sni(p)?,
        (App::Http | App::Winrm, Ask::Request) => host(p)?,
        _ => return None,
    };
    let ok = |b: &u8| b.is_ascii_alphanumeric() || b"-._*:[]".contains(b);
    if raw.is_empty() || raw.len() > MAX_NAME || !raw.iter().all(ok) {
        return None;
    }
    Some(String::from_utf8_lossy(raw).to_ascii_lowercase())
}

/// The longest ALPN offer kept, as text ([`alpn`]).
pub const MAX_ALPN: usize = 64;

/// The protocols a TLS ClientHello offers in its
/// `application_layer_protocol_negotiation` extension (RFC 7301 §3.1), in
/// its order, joined by commas: `h2,http/1.1`. Identifiers that are not
/// printable ASCII (GREASE values, RFC 8701) or hold a comma are left
/// out, and the offer is cut after the last that fits in [`MAX_ALPN`]
/// bytes. `None` for any other payload, a hello without the extension,
/// or one not whole in this segment up to it.
pub fn alpn(heard: Heard, p: &[u8]) -> Option<String> {
    if (heard.app(), heard.ask()) != (App::Tls, Ask::Request) {
        return None;
    }
    let body = hello_extension(p, 16)?;
    let [hi, lo, ref list @ ..] = *body else {
        return None;
    };
    let mut list = list.get(..usize::from(u16::from_be_bytes([hi, lo])))?;
    let mut offer = String::new();
    while let [len, ref rest @ ..] = *list {
        let id = rest.get(..usize::from(len))?;
        list = &rest[usize::from(len)..];
        let printable = |b: &u8| b.is_ascii_graphic() && *b != b',';
        if id.is_empty() || !id.iter().all(printable) {
            continue;
        }
        if offer.len() + usize::from(!offer.is_empty()) + id.len() > MAX_ALPN {
            break;
        }
        if !offer.is_empty() {
            offer.push(',');
        }
        offer.push_str(std::str::from_utf8(id).ok()?);
    }
    (!offer.is_empty()).then_some(offer)
}

/// The longest quote kept of a payload, in characters ([`quote`]).
pub const MAX_QUOTE: usize = 64;

/// The ports a protocol is registered (or customary) on, where a flow of
/// it needs no quote to show what it spoke ([`quote`]).
#[inline]
fn own_ports(app: App) -> &'static [u16] {
    match app {
        App::None | App::Unknown => &[],
        App::Tls => &[
            443, 636, 853, 989, 990, 993, 995, 3269, 5061, 5671, 5986, 6514, 8443,
        ],
        // WinRM's port too: a WinRM server's replies are plain HTTP.
        App::Http => &[80, 8080, 5985],
        App::Winrm => &[5985],
        App::Ssh => &[22],
        App::Dns => &[53],
        App::Mdns => &[MDNS],
        App::Llmnr => &[LLMNR],
        App::Netbios => &[137, 138, 139],
        App::Ldap => &[389, 3268],
        App::Cldap => &[389],
        App::Kerberos => &KERBEROS,
        App::Smb => &[139, 445],
        // DCE/RPC and ONC-RPC live on ports their mappers hand out: what
        // they spoke is named by interface and program (src/rpc), not
        // quoted.
        App::Dcerpc | App::OncRpc => &[],
        App::Ntp => &[NTP],
        App::Snmp => &[161, 162],
        App::Syslog => &[514, 601],
        App::Amqp => &[5672],
        App::Postgresql => &[POSTGRESQL],
        App::Nats => &[4222, 6222],
        App::Rdp => &[3389],
        App::Smtp => &[25, 587],
        App::Ftp => &[21],
        App::Dhcp => &[67, 68],
        App::Dhcpv6 => &[546, 547],
        App::Ssdp => &[1900],
        App::Quic => &[443],
        App::Mysql => &[3306],
        App::Pptp => &[1723],
        App::WsDiscovery => &[3702],
        App::SamsungSdp => &[],
        App::Bjnp => &[8610, 8611, 8612],
        App::DropboxLansync => &[17500],
        App::Bacnet => &[47808],
    }
}

/// What a payload between ports `sport` and `dport` showed, quoted for a
/// finding's detail (`protocol-mismatch`): the first line of a text
/// protocol (a request line, a banner, a syslog header), the record and
/// handshake of TLS, the first 16 bytes in hex of any other. At most
/// [`MAX_QUOTE`] characters, bytes that are not printable ASCII escaped
/// as `\xNN` (and `\` and `"` by a backslash), `…` where it was cut.
///
/// Only for a protocol off its own ports ([`own_ports`]): a flow keeps a
/// quote where a rule may document another protocol on the port, and
/// not, say, for every HTTP request on port 80. `None` as well for no
/// payload, an unknown one, and RPC (named by its interface instead).
#[inline]
pub fn quote(heard: Heard, sport: u16, dport: u16, p: &[u8]) -> Option<String> {
    // Most payloads are unknown, or on their own port: decided here,
    // inline, before the call that quotes.
    let own = own_ports(heard.app());
    if own.is_empty() || own.contains(&sport) || own.contains(&dport) {
        return None;
    }
    quote_off_port(heard.app(), p)
}

/// The quote of a payload of `app` off its own ports ([`quote`]).
#[cold]
#[inline(never)]
fn quote_off_port(app: App, p: &[u8]) -> Option<String> {
    let mut q = String::new();
    match app {
        App::Tls => {
            let content = match p.first()? {
                0x14 => "change_cipher_spec",
                0x15 => "alert",
                0x16 => "handshake",
                _ => "application_data",
            };
            let message = match (p[0], p.get(5)) {
                (0x16, Some(1)) => " ClientHello",
                (0x16, Some(2)) => " ServerHello",
                _ => "",
            };
            let (major, minor) = (p.get(1)?, p.get(2)?);
            q = format!("TLS {content}{message}, record version {major}.{minor}");
        }
        App::Http
        | App::Winrm
        | App::Ssh
        | App::Syslog
        | App::Amqp
        | App::Nats
        | App::Smtp
        | App::Ftp
        | App::Ssdp
        | App::WsDiscovery
        | App::SamsungSdp
        | App::DropboxLansync => {
            let line = p.split(|&b| b == b'\r' || b == b'\n').next().unwrap_or(p);
            // Where the quote ends before the last escape that leaves
            // room for the mark of a cut.
            let mut fits = 0;
            for &b in line {
                let escaped = match b {
                    b'\\' | b'"' => format!("\\{}", b as char),
                    b' '..=b'~' => (b as char).to_string(),
                    _ => format!("\\x{b:02x}"),
                };
                if q.len() + escaped.len() > MAX_QUOTE {
                    q.truncate(fits);
                    q.push('…');
                    break;
                }
                q.push_str(&escaped);
                if q.len() < MAX_QUOTE {
                    fits = q.len();
                }
            }
        }
        _ => {
            let shown = &p[..p.len().min(16)];
            let hex: Vec<String> = shown.iter().map(|b| format!("{b:02x}")).collect();
            q = hex.join(" ");
            if p.len() > shown.len() {
                q.push_str(" …");
            }
        }
    }
    (!q.is_empty()).then_some(q)
}

/// The host name of a ClientHello's `server_name` extension, read as far
/// as this segment holds the hello.
fn sni(p: &[u8]) -> Option<&[u8]> {
    // server_name_list: its length, then (type, length, name).
    let [_, _, 0, hi, lo, ref name @ ..] = *hello_extension(p, 0)? else {
        return None;
    };
    name.get(..usize::from(u16::from_be_bytes([hi, lo])))
}

/// The body of the first extension of type `kind` of a ClientHello,
/// read as far as this segment holds the hello.
fn hello_extension(p: &[u8], kind: usize) -> Option<&[u8]> {
    let u16_at = |b: &[u8], i: usize| {
        b.get(i..i + 2)
            .map(|w| usize::from(u16::from_be_bytes([w[0], w[1]])))
    };
    // Record header (5), handshake header (4), version (2), random (32).
    let mut at = 5 + 4 + 2 + 32;
    let session = usize::from(*p.get(at)?);
    at += 1 + session;
    at += 2 + u16_at(p, at)?; // cipher suites
    at += 1 + usize::from(*p.get(at)?); // compression methods
    let end = (at + 2 + u16_at(p, at)?).min(p.len());
    at += 2;
    while at + 4 <= end {
        let (found, len) = (u16_at(p, at)?, u16_at(p, at + 2)?);
        let body = p.get(at + 4..at + 4 + len)?;
        if found == kind {
            return Some(body);
        }
        at += 4 + len;
    }
    None
}

/// The value of an HTTP request's `Host` header, without a port, from
/// the headers this segment holds.
fn host(p: &[u8]) -> Option<&[u8]> {
    let head = &p[..p.len().min(4096)];
    for line in head.split(|&b| b == b'\n').skip(1) {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() {
            break;
        }
        let Some(value) = line
            .get(..5)
            .filter(|n| n.eq_ignore_ascii_case(b"host:"))
            .map(|_| line[5..].trim_ascii())
        else {
            continue;
        };
        let without_port = match value.first() {
            Some(b'[') => {
                &value[..value
                    .iter()
                    .position(|&b| b == b']')
                    .map_or(value.len(), |i| i + 1)]
            }
            _ => &value[..value.iter().position(|&b| b == b':').unwrap_or(value.len())],
        };
        return Some(without_port);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn tcp_heard(sport: u16, dport: u16, p: &[u8]) -> (App, Ask) {
        let h = heard(PROTO_TCP, sport, dport, p);
        (h.app(), h.ask())
    }

    fn udp_heard(sport: u16, dport: u16, p: &[u8]) -> (App, Ask) {
        let h = heard(PROTO_UDP, sport, dport, p);
        (h.app(), h.ask())
    }

    #[test]
    fn heard_packs_every_protocol_and_role() {
        for &app in App::ALL {
            for ask in [Ask::None, Ask::Request, Ask::Reply] {
                let h = Heard::new(app, ask);
                assert_eq!((h.app(), h.ask()), (app, ask));
            }
            assert_eq!(App::of_label(app.label()), Some(app));
        }
    }

    #[test]
    fn who_asked_in_each_protocol() {
        use Ask::*;
        let mut dns_query = vec![0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0];
        assert_eq!(udp_heard(40000, 53, &dns_query), (App::Dns, Request));
        assert_eq!(udp_heard(5353, 5353, &dns_query), (App::Mdns, Request));
        dns_query[2] = 0x81;
        assert_eq!(udp_heard(53, 40000, &dns_query), (App::Dns, Reply));
        let mut ntp = vec![0u8; 48];
        ntp[0] = 0x23; // version 4, mode 3
        assert_eq!(udp_heard(123, 123, &ntp), (App::Ntp, Request));
        ntp[0] = 0x24;
        assert_eq!(udp_heard(123, 123, &ntp), (App::Ntp, Reply));
        ntp[0] = 0x21; // symmetric active
        assert_eq!(udp_heard(123, 123, &ntp), (App::Ntp, None));
        assert_eq!(
            udp_heard(5000, 88, &[0x6a, 0x81, 0x99, 0x30, 0x81]),
            (App::Kerberos, Request)
        );
        assert_eq!(
            tcp_heard(88, 5000, &[0, 0, 1, 0, 0x7e, 0x82, 0, 4, 0x30]),
            (App::Kerberos, Reply)
        );
        let hello = [0x16, 3, 1, 0, 200, 1, 0, 0];
        assert_eq!(tcp_heard(50000, 443, &hello), (App::Tls, Request));
        assert_eq!(
            tcp_heard(443, 50000, &[0x16, 3, 3, 0, 90, 2]),
            (App::Tls, Reply)
        );
        assert_eq!(
            tcp_heard(443, 50000, &[0x17, 3, 3, 0, 90, 0]),
            (App::Tls, None)
        );
        assert_eq!(
            tcp_heard(50000, 8080, b"GET / HTTP/1.1\r\n"),
            (App::Http, Request)
        );
        assert_eq!(
            tcp_heard(50000, 5985, b"POST /wsman HTTP/1.1\r\n"),
            (App::Winrm, Request)
        );
        assert_eq!(
            tcp_heard(8080, 50000, b"HTTP/1.1 200 OK\r\n"),
            (App::Http, Reply)
        );
        assert_eq!(
            tcp_heard(50000, 8080, b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"),
            (App::Http, Request)
        );
        assert_eq!(
            tcp_heard(50000, 22, b"SSH-2.0-OpenSSH_9.6\r\n"),
            (App::Ssh, None)
        );
        // LDAP bindRequest and bindResponse; an SNMP get.
        let bind = [0x30, 0x0c, 0x02, 0x01, 0x01, 0x60, 0x07, 0x02, 0x01, 0x03];
        assert_eq!(tcp_heard(50000, 389, &bind), (App::Ldap, Request));
        assert_eq!(udp_heard(50000, 389, &bind), (App::Cldap, Request));
        let bound = [0x30, 0x0c, 0x02, 0x01, 0x01, 0x61, 0x07, 0x0a, 0x01, 0x00];
        assert_eq!(tcp_heard(389, 50000, &bound), (App::Ldap, Reply));
        let get = [
            0x30, 0x26, 0x02, 0x01, 0x01, 0x04, 0x06, b'p', b'u', b'b', b'l', b'i', b'c', 0xa0,
            0x19,
        ];
        assert_eq!(udp_heard(50000, 161, &get), (App::Snmp, Request));
        // SMB2 negotiate behind a NetBIOS header, and its response.
        let mut smb2 = vec![0, 0, 0, 100, 0xfe, b'S', b'M', b'B'];
        smb2.extend([0u8; 16]);
        assert_eq!(tcp_heard(50000, 445, &smb2), (App::Smb, Request));
        smb2[20] = 1;
        assert_eq!(tcp_heard(445, 50000, &smb2), (App::Smb, Reply));
        let bind_pdu = [5, 0, 11, 3, 0x10, 0, 0, 0, 0x48, 0, 0, 0];
        assert_eq!(tcp_heard(50000, 135, &bind_pdu), (App::Dcerpc, Request));
        assert_eq!(
            udp_heard(
                50000,
                514,
                b"<34>Oct 11 22:14:15 mymachine su: 'su root' failed"
            ),
            (App::Syslog, Request)
        );
        assert_eq!(
            tcp_heard(
                50000,
                6514,
                b"87 <165>1 2003-10-11T22:14:15.003Z host app - - msg"
            ),
            (App::Syslog, Request)
        );
        // A length and a space with no `<` after them (found by the `app`
        // fuzz target: the priority was sliced before its `<` was checked).
        for odd in [&b"8 >>>>"[..], b"8 >", b"8 ", b"12 x<1>", b"3 <>"] {
            assert_eq!(tcp_heard(50000, 6514, odd), (App::Unknown, Ask::None));
        }
        assert_eq!(
            tcp_heard(50000, 5672, b"AMQP\x00\x00\x09\x01"),
            (App::Amqp, Request)
        );
        let ssl_request = [0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f];
        assert_eq!(
            tcp_heard(50000, 5432, &ssl_request),
            (App::Postgresql, Request)
        );
        assert_eq!(tcp_heard(5432, 50000, b"N"), (App::Postgresql, Reply));
        assert_eq!(
            tcp_heard(4222, 50000, b"INFO {\"server_id\":1}"),
            (App::Nats, Reply)
        );
        assert_eq!(
            tcp_heard(50000, 4222, b"CONNECT {\"verbose\":false}"),
            (App::Nats, Request)
        );
        let x224 = [3, 0, 0, 19, 14, 0xe0, 0, 0, 0, 0, 0];
        assert_eq!(tcp_heard(50000, 3389, &x224), (App::Rdp, Request));
        assert_eq!(
            tcp_heard(25, 50000, b"220 mail.example.com ESMTP ready\r\n"),
            (App::Smtp, Reply)
        );
        assert_eq!(
            tcp_heard(2121, 50000, b"220 ProFTPD Server ready\r\n"),
            (App::Ftp, Reply)
        );
        assert_eq!(
            tcp_heard(50000, 25, b"EHLO client\r\n"),
            (App::Smtp, Request)
        );
        let call = [
            0x80, 0, 0, 40, 0, 0, 0, 7, 0, 0, 0, 0, 0, 0, 0, 2, 0, 1, 0x86, 0xa0,
        ];
        assert_eq!(tcp_heard(800, 2049, &call), (App::OncRpc, Request));
        assert_eq!(udp_heard(800, 111, &call[4..]), (App::OncRpc, Request));
    }

    #[test]
    fn unrecognised_and_short_payloads_are_unknown() {
        assert_eq!(
            tcp_heard(50000, 443, b"\x00\x01garbage"),
            (App::Unknown, Ask::None)
        );
        assert_eq!(
            udp_heard(40000, 53, &[0x12, 0x34, 0x01]),
            (App::Unknown, Ask::None)
        );
        assert_eq!(udp_heard(123, 123, &[0x23; 20]), (App::Unknown, Ask::None));
        // A DNS header off the DNS ports says nothing.
        let dns_query = [0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0];
        assert_eq!(
            udp_heard(40000, 9999, &dns_query),
            (App::Unknown, Ask::None)
        );
        // A TLS record header claiming more than a record may hold.
        assert_eq!(
            tcp_heard(50000, 443, &[0x16, 3, 1, 0xff, 0xff, 1]),
            (App::Unknown, Ask::None)
        );
        // LDAP with a length field of five bytes.
        assert_eq!(
            tcp_heard(50000, 389, &[0x30, 0x85, 1, 1, 1, 1, 1, 2]),
            (App::Unknown, Ask::None)
        );
        assert_eq!(
            heard(PROTO_TCP, 1, 2, &[]),
            Heard::new(App::None, Ask::None)
        );
    }

    fn client_hello(name: &[u8]) -> Vec<u8> {
        portaudit_synth::tls_client_hello(std::str::from_utf8(name).unwrap())
    }

    #[test]
    fn server_names_from_client_hellos_and_http_requests() {
        let hello = client_hello(b"Console.Example.COM");
        let h = heard(PROTO_TCP, 50000, 443, &hello);
        assert_eq!(
            server_name(h, &hello).as_deref(),
            Some("console.example.com")
        );
        // Cut inside the name: no name rather than part of one.
        let cut = &hello[..hello.len() - 14];
        assert_eq!(server_name(h, cut), None);
        let get = b"GET /x HTTP/1.1\r\nUser-Agent: t\r\nHost: api.example.com:8443\r\n\r\n";
        let h = heard(PROTO_TCP, 50000, 8443, get);
        assert_eq!(server_name(h, get).as_deref(), Some("api.example.com"));
        let v6 = b"GET / HTTP/1.1\r\nhost: [2001:db8::1]:80\r\n\r\n";
        assert_eq!(server_name(h, v6).as_deref(), Some("[2001:db8::1]"));
        // A name with a byte no host name has is none.
        let odd = b"GET / HTTP/1.1\r\nHost: a b\r\n\r\n";
        assert_eq!(server_name(h, odd), None);
        // A server's answer names nothing.
        let reply = heard(PROTO_TCP, 443, 50000, &[0x16, 3, 3, 0, 90, 2]);
        assert_eq!(server_name(reply, &hello), None);
    }

    /// The hello of [`client_hello`] with its ALPN extension's list
    /// replaced by `ids`.
    fn hello_offering(ids: &[&[u8]]) -> Vec<u8> {
        let mut hello = client_hello(b"a.example");
        // The synthetic hello ends in ALPN "h2": 00 10, 00 05, 00 03, 02 h2.
        hello.truncate(hello.len() - 9);
        let list: Vec<u8> = ids
            .iter()
            .flat_map(|id| [&[id.len() as u8][..], id].concat())
            .collect();
        let mut ext = vec![0, 0x10];
        ext.extend(((list.len() + 2) as u16).to_be_bytes());
        ext.extend((list.len() as u16).to_be_bytes());
        ext.extend(list);
        hello.extend(&ext);
        // Lengths: record (at 3), handshake (at 6), extensions (at 5 + 4
        // + 2 + 32 + 33 + 4 + 2).
        let grow = |h: &mut Vec<u8>, at: usize, by: usize, wide: usize| {
            let mut n = 0usize;
            for b in &h[at..at + wide] {
                n = n << 8 | usize::from(*b);
            }
            let n = n - 9 + by;
            for (i, b) in h[at..at + wide].iter_mut().enumerate() {
                *b = (n >> (8 * (wide - 1 - i))) as u8;
            }
        };
        let by = ext.len();
        grow(&mut hello, 3, by, 2);
        grow(&mut hello, 6, by, 3);
        grow(&mut hello, 5 + 4 + 2 + 32 + 33 + 4 + 2, by, 2);
        hello
    }

    /// ALPN offers read as tshark shows them (`tls.handshake.extensions_alpn_str`),
    /// GREASE left out, bounded.
    #[test]
    fn alpn_offers_from_client_hellos() {
        let hello = client_hello(b"a.example");
        let h = heard(PROTO_TCP, 50000, 443, &hello);
        assert_eq!(alpn(h, &hello).as_deref(), Some("h2"));
        assert_eq!(server_name(h, &hello).as_deref(), Some("a.example"));
        let both = hello_offering(&[b"\x0a\x0a", b"h2", b"http/1.1"]);
        let h = heard(PROTO_TCP, 50000, 443, &both);
        assert_eq!(server_name(h, &both).as_deref(), Some("a.example"));
        assert_eq!(alpn(h, &both).as_deref(), Some("h2,http/1.1"));
        let long: Vec<u8> = vec![b'x'; 40];
        let many = hello_offering(&[b"h2", &long, &long]);
        assert_eq!(
            alpn(h, &many).as_deref(),
            Some(&*format!("h2,{}", "x".repeat(40)))
        );
        // Cut inside the list, or a list longer than its extension: none.
        assert_eq!(alpn(h, &both[..both.len() - 3]), None);
        let mut lying = both.clone();
        // The list's length, before its 15 bytes.
        let at = lying.len() - 15 - 2;
        lying[at..at + 2].copy_from_slice(&[0, 99]);
        assert_eq!(alpn(h, &lying), None);
        // Not a client's hello: none.
        let reply = heard(PROTO_TCP, 443, 50000, &[0x16, 3, 3, 0, 90, 2]);
        assert_eq!(alpn(reply, &hello), None);
    }

    /// A quote is kept only off the protocol's own ports; text by its
    /// first line, escaped and cut with a mark; TLS by its record; other
    /// protocols by their first bytes in hex.
    #[test]
    fn quotes_show_what_a_payload_said_off_its_own_ports() {
        let q = |sport, dport, p: &[u8]| quote(heard(PROTO_TCP, sport, dport, p), sport, dport, p);
        let ssh = b"SSH-2.0-OpenSSH_9.6\r\nrest";
        assert_eq!(q(50000, 22, ssh), None);
        assert_eq!(q(22, 50000, ssh), None);
        assert_eq!(q(50000, 443, ssh).as_deref(), Some("SSH-2.0-OpenSSH_9.6"));
        // Escaped: a quote, a backslash, a byte that is not printable.
        let odd = b"GET /a\"b\\c\x01 HTTP/1.1\r\n";
        assert_eq!(
            q(50000, 443, odd).as_deref(),
            Some(r#"GET /a\"b\\c\x01 HTTP/1.1"#)
        );
        // Cut at MAX_QUOTE characters, never inside an escape.
        let mut long = b"GET /".to_vec();
        long.extend(std::iter::repeat_n(0x01u8, 40));
        let cut = q(50000, 443, &long).unwrap();
        assert!(
            cut.ends_with("\\x01…") && cut.chars().count() <= MAX_QUOTE,
            "{cut}"
        );
        let mut exact = b"GET /".to_vec();
        exact.extend(std::iter::repeat_n(b'a', MAX_QUOTE - 5));
        assert_eq!(
            q(50000, 443, &exact).as_deref(),
            std::str::from_utf8(&exact).ok()
        );
        exact.push(b'a');
        let cut = q(50000, 443, &exact).unwrap();
        assert_eq!(cut.chars().count(), MAX_QUOTE);
        assert!(cut.ends_with("a…"), "{cut}");
        // TLS: its record; on its own ports nothing.
        let hello = client_hello(b"a.example");
        assert_eq!(q(50000, 443, &hello), None);
        assert_eq!(
            q(50000, 22, &hello).as_deref(),
            Some("TLS handshake ClientHello, record version 3.1")
        );
        // LDAP off 389: the first 16 bytes in hex, a mark for the rest.
        let bind = [
            0x30, 0x12, 0x02, 0x01, 0x01, 0x60, 0x0d, 0x02, 0x01, 0x03, 4, 0, 0x80, 6, b's', b'e',
            b'c', b'r', b'e', b't',
        ];
        assert_eq!(q(50000, 389, &bind), None);
        assert_eq!(
            q(50000, 636, &bind).as_deref(),
            Some("30 12 02 01 01 60 0d 02 01 03 04 00 80 06 73 65 …")
        );
        // Nothing for an unknown payload, and nothing for RPC.
        assert_eq!(q(50000, 636, &[0x5a; 20]), None);
        let bind_rpc = [5, 0, 11, 3, 0x10, 0, 0, 0, 72, 0, 0, 0, 1, 0, 0, 0];
        let h = heard(PROTO_TCP, 50000, 49671, &bind_rpc);
        assert_eq!(h.app(), App::Dcerpc);
        assert_eq!(quote(h, 50000, 49671, &bind_rpc), None);
    }

    /// What any payload must give: `none` only when empty, and a name,
    /// an offer and a quote each bounded and printable.
    fn read_whole(
        proto: u8,
        sport: u16,
        dport: u16,
        payload: &[u8],
    ) -> Result<(), proptest::test_runner::TestCaseError> {
        let h = heard(proto, sport, dport, payload);
        prop_assert_eq!(h.app() == App::None, payload.is_empty());
        if let Some(n) = server_name(h, payload) {
            prop_assert!(!n.is_empty() && n.len() <= MAX_NAME);
        }
        if let Some(a) = alpn(h, payload) {
            prop_assert!(!a.is_empty() && a.len() <= MAX_ALPN);
        }
        if let Some(q) = quote(h, sport, dport, payload) {
            prop_assert!(h.app().is_known());
            prop_assert!(!q.is_empty() && q.chars().count() <= MAX_QUOTE, "{:?}", q);
            prop_assert!(!q.chars().any(char::is_control), "{:?}", q);
        }
        Ok(())
    }

    proptest! {
        /// Any payload on any port of either protocol is read without a
        /// panic; a non-empty one is at least unknown, and a name found
        /// is a bounded host name.
        #[test]
        fn any_payload_is_read(
            payload in proptest::collection::vec(any::<u8>(), 0..96),
            proto in prop_oneof![Just(PROTO_TCP), Just(PROTO_UDP)],
            sport in prop_oneof![Just(53u16), Just(88), Just(123), Just(443), Just(5432), any::<u16>()],
            dport in any::<u16>(),
        ) {
            read_whole(proto, sport, dport, &payload)?;
        }

        /// The same for text shaped as the text protocols' readers expect
        /// (an octet count, a priority's digits and `<>`, then printable
        /// text and line ends): random bytes almost never spell `8 >`,
        /// which once panicked the syslog reader.
        #[test]
        fn any_text_payload_is_read(
            payload in "([0-9]{1,4} )?[0-9 <>]{0,8}[ -~\\r\\n]{0,32}",
            proto in prop_oneof![Just(PROTO_TCP), Just(PROTO_UDP)],
            sport in prop_oneof![Just(21u16), Just(25), Just(80), Just(514), Just(6514), any::<u16>()],
            dport in any::<u16>(),
        ) {
            read_whole(proto, sport, dport, payload.as_bytes())?;
        }

        /// A ClientHello's name is found whatever it is, and any cut of
        /// the hello reads without a panic.
        #[test]
        fn client_hello_names_survive_any_cut(
            name in "[a-z0-9]{1,20}(\\.[a-z0-9]{1,20}){0,3}",
            cut in 0usize..400,
        ) {
            let hello = client_hello(name.as_bytes());
            let h = heard(PROTO_TCP, 50000, 443, &hello);
            prop_assert_eq!(server_name(h, &hello), Some(name));
            prop_assert_eq!(alpn(h, &hello), Some("h2".to_string()));
            let _ = server_name(h, &hello[..cut.min(hello.len())]);
            let _ = alpn(h, &hello[..cut.min(hello.len())]);
        }
    }
}
