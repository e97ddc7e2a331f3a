//! DCE/RPC (C706, MS-RPCE) read from one packet's payload: the interfaces a
//! bind asks for and the endpoints an endpoint mapper's `ept_map` answer
//! hands out.
//!
//! Pure and panic-free: every read goes through `Reader`, which returns
//! `None` past the end of its slice. Nothing is allocated but the returned
//! lists, and those are capped at [`MAX_ITEMS`].

use std::fmt;
use std::net::Ipv4Addr;

/// A DCE/RPC interface UUID, in canonical (RFC 4122 / string) byte order,
/// whatever the wire's data representation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Uuid(pub [u8; 16]);

impl Uuid {
    /// The UUID whose canonical bytes are `v` big-endian, so that
    /// `Uuid::from_u128(0xe1af8308_5d1f_11c9_91a4_08002b14a0fa)` reads like
    /// its string form (and can be a `const`).
    pub const fn from_u128(v: u128) -> Uuid {
        Uuid(v.to_be_bytes())
    }

    /// Reads the string form `12345778-1234-abcd-ef00-0123456789ab` (8-4-4-4-12
    /// hex digits, either case); `None` for anything else (no braces, no
    /// `urn:uuid:`).
    pub fn parse(s: &str) -> Option<Uuid> {
        let s = s.as_bytes();
        if s.len() != 36 {
            return None;
        }
        let mut out = [0u8; 16];
        let mut nibbles = 0usize;
        for (i, &c) in s.iter().enumerate() {
            if matches!(i, 8 | 13 | 18 | 23) {
                if c != b'-' {
                    return None;
                }
                continue;
            }
            let v = char::from(c).to_digit(16)?;
            let byte = out.get_mut(nibbles / 2)?;
            // `to_digit(16)` is below 16, so the cast keeps every bit.
            *byte = (*byte << 4) | v as u8;
            nibbles += 1;
        }
        Some(Uuid(out))
    }

    /// A UUID as NDR marshals it: the first three fields (u32, u16, u16) in
    /// the data representation's byte order, the last eight bytes as they are.
    fn from_wire(b: [u8; 16], little_endian: bool) -> Uuid {
        let mut out = b;
        if little_endian {
            out[..4].reverse();
            out[4..6].reverse();
            out[6..8].reverse();
        }
        Uuid(out)
    }
}

impl fmt::Display for Uuid {
    /// Lowercase 8-4-4-4-12.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, b) in self.0.iter().enumerate() {
            if matches!(i, 4 | 6 | 8 | 10) {
                f.write_str("-")?;
            }
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

/// An RPC interface: its UUID and version, as a bind's abstract syntax or a
/// tower's first floor gives them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Interface {
    /// The interface UUID.
    pub uuid: Uuid,
    /// Major version.
    pub major: u16,
    /// Minor version.
    pub minor: u16,
}

/// The transport of a tower's fourth floor (C706 appendix I protocol ids).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TowerTransport {
    /// Protocol id 0x07: the port is a TCP port (`ncacn_ip_tcp`).
    Tcp,
    /// Protocol id 0x08: the port is a UDP port (`ncadg_ip_udp`).
    Udp,
    /// Another protocol id whose right-hand side is a port; only 0x1f, HTTP
    /// (`ncacn_http`, MS-RPCE 2.1.1.2), a TCP port of the RPC-over-HTTP
    /// proxy protocol.
    Other(u8),
}

/// One endpoint an `ept_map` answer hands out: an interface reachable at a
/// port (and, when the tower says so, an IPv4 address).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Tower {
    /// The interface of floor 1.
    pub interface: Interface,
    /// The transport of floor 4.
    pub transport: TowerTransport,
    /// Floor 4's port (big-endian on the wire).
    pub port: u16,
    /// Floor 5's IPv4 address, if the tower has one (often 0.0.0.0 in
    /// requests, the server's address in answers).
    pub ip: Option<Ipv4Addr>,
}

/// Why a payload that is DCE/RPC could not be read. Stable kebab-case labels
/// via [`Unreadable::label`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Unreadable {
    /// The PDU's fragment length runs past the payload (a PDU split across
    /// TCP segments, or a cut capture).
    Split,
    /// A PDU that is one fragment of several (first_frag/last_frag flags not
    /// both set).
    Fragmented,
    /// The stub or header does not follow the layout (a lying length, a
    /// count past the end, a bad floor).
    Malformed,
}

impl Unreadable {
    /// The stable label: `split-across-segments`, `fragmented-pdu` or
    /// `malformed`.
    pub fn label(self) -> &'static str {
        match self {
            Unreadable::Split => "dcerpc-split-across-segments",
            Unreadable::Fragmented => "dcerpc-fragmented-pdu",
            Unreadable::Malformed => "dcerpc-malformed",
        }
    }
}

/// What the first PDU of a payload says, of the two kinds portaudit learns
/// from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Pdu {
    /// A bind or alter_context: the abstract syntaxes of its presentation
    /// contexts, deduplicated, in order.
    Bind(Vec<Interface>),
    /// An `ept_map` answer: the towers it hands out that carry a TCP, UDP or
    /// HTTP port, deduplicated, in order (named pipes and local RPC are
    /// left out). Empty when the mapper knows no endpoint (status
    /// `EPT_S_NOT_REGISTERED`).
    MapResponse(Vec<Tower>),
}

/// At most this many contexts in a bind, and towers in a map answer; more is
/// [`Unreadable::Malformed`].
pub const MAX_ITEMS: usize = 64;

/// The endpoint mapper's interface, `ept` (C706 appendix O, MS-RPCE 2.2.1.2.5).
const EPM: Uuid = Uuid::from_u128(0xe1af8308_5d1f_11c9_91a4_08002b14a0fa);

/// Connection-oriented PDU types (C706 12.6.4.1).
const CO_RESPONSE: u8 = 2;
const CO_BIND: u8 = 11;
const CO_ALTER_CONTEXT: u8 = 14;
/// Connectionless PDU type of a response (C706 12.5.3.1).
const CL_RESPONSE: u8 = 2;

const PFC_FIRST_FRAG: u8 = 0x01;
const PFC_LAST_FRAG: u8 = 0x02;
/// Connectionless flags1 bit: this PDU is a fragment.
const CL_FRAG: u8 = 0x04;

/// The connection-oriented common header, and with the response header
/// fields (alloc_hint, p_cont_id, cancel_count, reserved).
const CO_HEADER: usize = 16;
const CO_RESPONSE_HEADER: usize = 24;
/// The connectionless header.
const CL_HEADER: usize = 80;
/// sec_trailer (auth_type, auth_level, auth_pad_length, reserved,
/// auth_context_id) in front of the auth verifier.
const SEC_TRAILER: usize = 8;

/// Reads a connection-oriented (TCP, version 5.0) or connectionless (UDP,
/// version 4) DCE/RPC PDU.
///
/// `None`: not DCE/RPC, or a PDU of another kind (requests, other responses,
/// acks...). A response is recognised as an `ept_map` answer by its stub's
/// layout (a response carries no opnum), read as NDR or NDR64 (Windows
/// answers in NDR64 when the bind negotiated it), and strictly: anything off
/// the layout is `None`, so that other answers on port 135 (`ept_lookup`,
/// `ServerAlive2`...) are not taken for one. Once the fixed part of the
/// layout has matched, a count or length that runs past the end is
/// [`Unreadable::Malformed`].
pub fn parse(payload: &[u8], over_tcp: bool) -> Option<Result<Pdu, Unreadable>> {
    if over_tcp {
        parse_connection_oriented(payload)
    } else {
        parse_connectionless(payload)
    }
}

/// Whether `drep` (the first three bytes of the format label) is one C706
/// 14.1 defines: integers big/little-endian, ASCII/EBCDIC, four float
/// formats. Returns whether integers are little-endian.
fn little_endian(drep: [u8; 3]) -> Option<bool> {
    let [ints_chars, floats, _reserved] = drep;
    if ints_chars >> 4 > 1 || ints_chars & 0x0f > 1 || floats > 3 {
        return None;
    }
    Some(ints_chars & 0x10 != 0)
}

fn parse_connection_oriented(payload: &[u8]) -> Option<Result<Pdu, Unreadable>> {
    let header = payload.get(..CO_HEADER)?;
    let mut r = Reader::new(header, true);
    let (vers, vers_minor, ptype, flags) = (r.u8()?, r.u8()?, r.u8()?, r.u8()?);
    let drep = r.array::<4>()?;
    let little = little_endian([drep[0], drep[1], drep[2]])?;
    r.little = little;
    let frag_len = usize::from(r.u16()?);
    let auth_len = usize::from(r.u16()?);
    if vers != 5 || vers_minor > 1 || frag_len < CO_HEADER {
        return None;
    }
    let complete = frag_len <= payload.len();
    let whole = flags & (PFC_FIRST_FRAG | PFC_LAST_FRAG) == PFC_FIRST_FRAG | PFC_LAST_FRAG;
    let pdu = payload.get(..frag_len).unwrap_or(payload);
    // The stub or context list ends where the auth trailer starts.
    let trailer = if auth_len > 0 {
        auth_len + SEC_TRAILER
    } else {
        0
    };
    match ptype {
        CO_BIND | CO_ALTER_CONTEXT => {
            if !complete {
                return Some(Err(Unreadable::Split));
            }
            if !whole {
                return Some(Err(Unreadable::Fragmented));
            }
            let Some(body) = frag_len
                .checked_sub(trailer)
                .and_then(|end| pdu.get(CO_HEADER..end))
            else {
                return Some(Err(Unreadable::Malformed));
            };
            Some(read_bind(body, little).map(Pdu::Bind))
        }
        CO_RESPONSE => {
            // A middle or last fragment starts inside the stub: nothing to
            // recognise it by.
            if flags & PFC_FIRST_FRAG == 0 {
                return None;
            }
            let stub_end = if complete && auth_len > 0 {
                // auth_pad_length, the sec_trailer's third byte, pads the stub
                // to 16 bytes in front of the trailer.
                let sec_trailer = frag_len.checked_sub(trailer)?;
                let pad = usize::from(*pdu.get(sec_trailer + 2)?);
                sec_trailer.checked_sub(pad)?
            } else {
                frag_len.saturating_sub(trailer).min(pdu.len())
            };
            let stub = pdu.get(CO_RESPONSE_HEADER..stub_end)?;
            judge_map_stub(read_map_stub(stub, little), complete, whole)
        }
        _ => None,
    }
}

fn parse_connectionless(payload: &[u8]) -> Option<Result<Pdu, Unreadable>> {
    let header = payload.get(..CL_HEADER)?;
    let mut r = Reader::new(header, true);
    let (vers, ptype, flags1, _flags2) = (r.u8()?, r.u8()?, r.u8()?, r.u8()?);
    let drep = r.array::<3>()?;
    let little = little_endian(drep)?;
    r.little = little;
    let _serial_hi = r.u8()?;
    let _object = r.array::<16>()?;
    let if_id = Uuid::from_wire(r.array::<16>()?, little);
    let _activity = r.array::<16>()?;
    let _server_boot = r.u32()?;
    let _if_vers = r.u32()?;
    let _seqnum = r.u32()?;
    let _opnum = r.u16()?;
    let _ihint = r.u16()?;
    let _ahint = r.u16()?;
    let body_len = usize::from(r.u16()?);
    let fragnum = r.u16()?;
    if vers != 4 || ptype != CL_RESPONSE || if_id != EPM {
        return None;
    }
    // A fragment after the first starts inside the stub.
    let fragment = flags1 & CL_FRAG != 0;
    if fragment && fragnum != 0 {
        return None;
    }
    let end = CL_HEADER + body_len;
    let complete = end <= payload.len();
    // The auth verifier, if any, follows the body; `len` does not count it.
    let stub = payload.get(CL_HEADER..end.min(payload.len()))?;
    judge_map_stub(read_map_stub(stub, little), complete, !fragment)
}

/// How a stub read as an `ept_map` answer went wrong.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Miss {
    /// Not the layout: some other answer.
    NotMap,
    /// The layout matched, then a count or length ran past the end: a lie if
    /// the PDU is whole, the cut of a split or fragmented one otherwise.
    Short,
    /// The layout matched, then something no split explains (more towers
    /// than the cap, a floor past its tower's end).
    Bad,
}

/// From a stub's reading and the PDU's completeness to what [`parse`] says.
fn judge_map_stub(
    read: Result<Vec<Tower>, Miss>,
    complete: bool,
    whole: bool,
) -> Option<Result<Pdu, Unreadable>> {
    match read {
        Err(Miss::NotMap) => None,
        Err(Miss::Bad) => Some(Err(Unreadable::Malformed)),
        _ if !complete => Some(Err(Unreadable::Split)),
        _ if !whole => Some(Err(Unreadable::Fragmented)),
        Err(Miss::Short) => Some(Err(Unreadable::Malformed)),
        Ok(towers) => Some(Ok(Pdu::MapResponse(towers))),
    }
}

/// The presentation context list of a bind or alter_context (C706 12.6.4.3):
/// max_xmit_frag, max_recv_frag, assoc_group_id, then `p_context_elem`.
fn read_bind(body: &[u8], little: bool) -> Result<Vec<Interface>, Unreadable> {
    let mut r = Reader::new(body, little);
    let malformed = Unreadable::Malformed;
    let _max_xmit = r.u16().ok_or(malformed)?;
    let _max_recv = r.u16().ok_or(malformed)?;
    let _assoc_group = r.u32().ok_or(malformed)?;
    let n_contexts = usize::from(r.u8().ok_or(malformed)?);
    r.skip(3).ok_or(malformed)?;
    if n_contexts > MAX_ITEMS {
        return Err(malformed);
    }
    let mut interfaces: Vec<Interface> = Vec::with_capacity(n_contexts);
    for _ in 0..n_contexts {
        let _context_id = r.u16().ok_or(malformed)?;
        let n_transfer = usize::from(r.u8().ok_or(malformed)?);
        r.skip(1).ok_or(malformed)?;
        let uuid = Uuid::from_wire(r.array::<16>().ok_or(malformed)?, little);
        // p_syntax_id_t's if_version is one u32: major in the low half.
        let version = r.u32().ok_or(malformed)?;
        // Each transfer syntax is a UUID and a u32 version.
        r.skip(n_transfer * 20).ok_or(malformed)?;
        let interface = Interface {
            uuid,
            major: (version & 0xffff) as u16,
            minor: (version >> 16) as u16,
        };
        if !interfaces.contains(&interface) {
            interfaces.push(interface);
        }
    }
    Ok(interfaces)
}

/// The two transfer syntaxes an `ept_map` answer may be marshalled in: they
/// differ in the width of counts and pointers and in alignment.
#[derive(Clone, Copy)]
enum Ndr {
    /// NDR (C706 chapter 14): counts and referent ids are u32.
    Ndr20,
    /// NDR64 (MS-RPCE 2.2.5): counts and referent ids are u64, aligned to 8.
    Ndr64,
}

impl Ndr {
    fn count(self, r: &mut Reader<'_>) -> Option<u64> {
        match self {
            Ndr::Ndr20 => r.align(4)?.u32().map(u64::from),
            Ndr::Ndr64 => r.align(8)?.u64(),
        }
    }

    /// A conformant structure's alignment: NDR64 aligns the conformance (u64)
    /// that leads it.
    fn struct_align(self) -> usize {
        match self {
            Ndr::Ndr20 => 4,
            Ndr::Ndr64 => 8,
        }
    }
}

/// Reads a response stub as the out-parameters of `ept_map` (C706 appendix
/// O, opnum 3), in either transfer syntax.
fn read_map_stub(stub: &[u8], little: bool) -> Result<Vec<Tower>, Miss> {
    let ndr = match read_map_stub_as(stub, little, Ndr::Ndr20) {
        Ok(towers) => return Ok(towers),
        Err(miss) => miss,
    };
    match read_map_stub_as(stub, little, Ndr::Ndr64) {
        Ok(towers) => Ok(towers),
        // Either reading cut short: the PDU may well be one, cut.
        Err(ndr64) if ndr == Miss::Short || ndr64 == Miss::Short => Err(Miss::Short),
        Err(ndr64) => Err(ndr.max(ndr64)),
    }
}

/// `entry_handle` (a 20-byte context handle), `num_towers`, the conformant
/// varying array of `twr_p_t` (unique pointers), the `twr_t`s they point to,
/// then `status`.
fn read_map_stub_as(stub: &[u8], little: bool, ndr: Ndr) -> Result<Vec<Tower>, Miss> {
    let mut r = Reader::new(stub, little);
    // The fixed part: until it has matched, running out of bytes only means
    // this is not the layout.
    let fixed = (|| {
        r.skip(20)?;
        let num_towers = r.u32()?;
        let max_count = ndr.count(&mut r)?;
        let offset = ndr.count(&mut r)?;
        let actual_count = ndr.count(&mut r)?;
        Some((num_towers, max_count, offset, actual_count))
    })();
    let Some((num_towers, max_count, offset, actual_count)) = fixed else {
        return Err(Miss::NotMap);
    };
    if offset != 0 || actual_count > max_count || actual_count != u64::from(num_towers) {
        return Err(Miss::NotMap);
    }
    let count = usize::try_from(actual_count).map_err(|_| Miss::Bad)?;
    if count > MAX_ITEMS {
        return Err(Miss::Bad);
    }
    let mut present = 0usize;
    for _ in 0..count {
        let referent = ndr.count(&mut r).ok_or(Miss::Short)?;
        if referent != 0 {
            present += 1;
        }
    }
    let mut towers: Vec<Tower> = Vec::with_capacity(present);
    for _ in 0..present {
        r.align(ndr.struct_align()).ok_or(Miss::Short)?;
        let size = ndr.count(&mut r).ok_or(Miss::Short)?;
        let tower_length = r.u32().ok_or(Miss::Short)?;
        if size != u64::from(tower_length) {
            return Err(Miss::NotMap);
        }
        let octets = usize::try_from(tower_length)
            .ok()
            .and_then(|n| r.take(n))
            .ok_or(Miss::Short)?;
        if let Some(tower) = read_tower(octets)? {
            if !towers.contains(&tower) {
                towers.push(tower);
            }
        }
    }
    let _status = r.align(4).and_then(|r| r.u32()).ok_or(Miss::Short)?;
    // What follows the status can only be padding.
    let rest = r.rest();
    if rest.len() >= 8 || rest.iter().any(|&b| b != 0) {
        return Err(Miss::NotMap);
    }
    Ok(towers)
}

/// The most floors a tower is read for; later ones are only checked to fit.
const FLOORS: usize = 5;

/// A tower's octets (C706 appendix L, always little-endian): a floor count,
/// then floors of (lhs length, lhs, rhs length, rhs). `Ok(None)`: a
/// well-formed tower that is not an IP endpoint (a named pipe, local RPC).
fn read_tower(octets: &[u8]) -> Result<Option<Tower>, Miss> {
    let mut r = Reader::new(octets, true);
    let count = r.u16().ok_or(Miss::Bad)?;
    let mut floors: [(&[u8], &[u8]); FLOORS] = [(&[], &[]); FLOORS];
    for i in 0..usize::from(count) {
        let lhs_len = usize::from(r.u16().ok_or(Miss::Bad)?);
        let lhs = r.take(lhs_len).ok_or(Miss::Bad)?;
        let rhs_len = usize::from(r.u16().ok_or(Miss::Bad)?);
        let rhs = r.take(rhs_len).ok_or(Miss::Bad)?;
        if let Some(floor) = floors.get_mut(i) {
            *floor = (lhs, rhs);
        }
    }
    if count < 4 {
        return Ok(None);
    }
    let [(id_lhs, id_rhs), _transfer_syntax, (rpc, _), (transport, port), (host, address)] = floors;
    // Floor 1: 0x0d, the interface UUID, its major version; minor on the right.
    let interface = match (id_lhs, id_rhs) {
        ([0x0d, uuid @ .., a, b], [c, d]) if uuid.len() == 16 => {
            let mut bytes = [0u8; 16];
            bytes.copy_from_slice(uuid);
            Interface {
                uuid: Uuid::from_wire(bytes, true),
                major: u16::from_le_bytes([*a, *b]),
                minor: u16::from_le_bytes([*c, *d]),
            }
        }
        _ => return Ok(None),
    };
    // Floor 3: RPC connection-oriented (0x0b) or connectionless (0x0a).
    if !matches!(rpc, [0x0a] | [0x0b]) {
        return Ok(None);
    }
    let transport = match transport {
        [0x07] => TowerTransport::Tcp,
        [0x08] => TowerTransport::Udp,
        [0x1f] => TowerTransport::Other(0x1f),
        _ => return Ok(None),
    };
    let &[hi, lo] = port else {
        return Ok(None);
    };
    let ip = match (host, address) {
        ([0x09], &[a, b, c, d]) => Some(Ipv4Addr::new(a, b, c, d)),
        _ => None,
    };
    Ok(Some(Tower {
        interface,
        transport,
        port: u16::from_be_bytes([hi, lo]),
        ip,
    }))
}

/// A cursor over a slice: every read is `None` past the end, integers in the
/// byte order `little` says.
struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
    little: bool,
}

impl<'a> Reader<'a> {
    fn new(bytes: &'a [u8], little: bool) -> Reader<'a> {
        Reader {
            bytes,
            pos: 0,
            little,
        }
    }

    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.pos.checked_add(n)?;
        let out = self.bytes.get(self.pos..end)?;
        self.pos = end;
        Some(out)
    }

    fn skip(&mut self, n: usize) -> Option<()> {
        self.take(n).map(|_| ())
    }

    fn array<const N: usize>(&mut self) -> Option<[u8; N]> {
        self.take(N)?.try_into().ok()
    }

    fn rest(&self) -> &'a [u8] {
        self.bytes.get(self.pos..).unwrap_or_default()
    }

    /// Skips to the next multiple of `n` from the start of the slice (NDR
    /// aligns relative to the stub's start).
    fn align(&mut self, n: usize) -> Option<&mut Self> {
        let pad = (n - self.pos % n) % n;
        self.skip(pad)?;
        Some(self)
    }

    fn u8(&mut self) -> Option<u8> {
        self.array::<1>().map(|[b]| b)
    }

    fn u16(&mut self) -> Option<u16> {
        let b = self.array::<2>()?;
        Some(if self.little {
            u16::from_le_bytes(b)
        } else {
            u16::from_be_bytes(b)
        })
    }

    fn u32(&mut self) -> Option<u32> {
        let b = self.array::<4>()?;
        Some(if self.little {
            u32::from_le_bytes(b)
        } else {
            u32::from_be_bytes(b)
        })
    }

    fn u64(&mut self) -> Option<u64> {
        let b = self.array::<8>()?;
        Some(if self.little {
            u64::from_le_bytes(b)
        } else {
            u64::from_be_bytes(b)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn hex(s: &str) -> Vec<u8> {
        assert!(s.len() % 2 == 0, "odd hex length");
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    const NETLOGON: Uuid = Uuid::from_u128(0x12345678_1234_abcd_ef00_01234567cffb);
    const DRSUAPI: Uuid = Uuid::from_u128(0xe3514235_4b06_11d1_ab04_00c04fc2dcd2);
    const TSCH: Uuid = Uuid::from_u128(0x86d35949_83c9_4044_b424_db363231fd0c);

    /// ad-ldap-winrm-smb-kerberos.pcap frame 419: the endpoint mapper
    /// (172.18.38.5:135) answers ept_map for RPC_NETLOGON with two TCP towers,
    /// 49674 and 49667, in NDR64 (the bind of frame 416 offered NDR64 as
    /// context 1, and the answer is on context 1).
    const MAP_NETLOGON: &str = "05000203100000000c01000002000000f400000001000000000000000000000000000000000000000000000002000000040000000000000000000000000000000200000000000000030000000000000004000000000000004b000000000000004b000000050013000d785634123412cdabef0001234567cffb01000200000013000d045d888aeb1cc9119fe808002b10486002000200000001000b020000000100070200c20a0100090400ac122605004b000000000000004b000000050013000d785634123412cdabef0001234567cffb01000200000013000d045d888aeb1cc9119fe808002b10486002000200000001000b020000000100070200c2030100090400ac1226050000000000";

    /// ad-ldap-kerberos-smb-dns.pcap frame 14: ept_map answer for DRSUAPI
    /// v4.0, towers 49674 and 49667 on 172.18.38.5 (NDR64).
    const MAP_DRSUAPI: &str = "05000203100000000c01000004000000f400000001000000000000000000000000000000000000000000000002000000040000000000000000000000000000000200000000000000030000000000000004000000000000004b000000000000004b000000050013000d354251e3064bd111ab0400c04fc2dcd204000200000013000d045d888aeb1cc9119fe808002b10486002000200000001000b020000000100070200c20a0100090400ac122605004b000000000000004b000000050013000d354251e3064bd111ab0400c04fc2dcd204000200000013000d045d888aeb1cc9119fe808002b10486002000200000001000b020000000100070200c2030100090400ac1226050000000000";

    /// ad-rdp-https-dcerpc.pcapng frame 1776: ept_map answer for the Task
    /// Scheduler (ITaskSchedulerService v1.0), one tower, TCP 49671 on
    /// 172.18.39.6 (NDR64).
    const MAP_TSCH: &str = "0500020310000000ac00000002000000940000000100000000000000000000000000000000000000000000000100000004000000000000000000000000000000010000000000000003000000000000004b000000000000004b000000050013000d4959d386c9834440b424db363231fd0c01000200000013000d045d888aeb1cc9119fe808002b10486002000200000001000b020000000100070200c2070100090400ac1227060000000000";

    /// ad-ldap-winrm-smb-kerberos.pcap frame 416: bind to the endpoint mapper
    /// (v3.0) with three contexts (NDR, NDR64, bind time feature
    /// negotiation), all for the same abstract syntax.
    const BIND_EPM: &str = "05000b0310000000a000000002000000d016d0160000000003000000000001000883afe11f5dc91191a408002b14a0fa03000000045d888aeb1cc9119fe808002b10486002000000010001000883afe11f5dc91191a408002b14a0fa0300000033057171babe37498319b5dbef9ccc3601000000020001000883afe11f5dc91191a408002b14a0fa030000002c1cb76c12984045030000000000000001000000";

    /// ad-ldap-winrm-smb-kerberos.pcap frame 423: bind to RPC_NETLOGON v1.0
    /// on 49674 (the port frame 419 handed out), with a 60-byte NTLMSSP
    /// auth trailer.
    const BIND_NETLOGON: &str = "05000b0710000000e4003c0002000000d016d016000000000300000000000100785634123412cdabef0001234567cffb01000000045d888aeb1cc9119fe808002b1048600200000001000100785634123412cdabef0001234567cffb0100000033057171babe37498319b5dbef9ccc360100000002000100785634123412cdabef0001234567cffb010000002c1cb76c1298404503000000000000000100000044060000000000000000000017000000544845534849524500574f524b53544154494f4e3500087468657368697265056c6f63616c000c574f524b53544154494f4e3500";

    /// ad-ldap-kerberos-smb-dns.pcap frame 21: alter_context for DRSUAPI
    /// v4.0 on 49674 with a 140-byte Kerberos auth trailer.
    const ALTER_DRSUAPI: &str = "05000e0710000000dc008c0002000000d016d016000000000100000001000100354251e3064bd111ab0400c04fc2dcd20400000033057171babe37498319b5dbef9ccc36010000000906000000000000a18189308186a0030a0101a25f045d6f5b3059a003020105a10302010fa24d304ba003020112a2440442cd57734231f38a51739e5cf4e6abcb68d91ffabbb787a274f47bf2066c315f5f719acc66503a8bf4d3f1736f3c8f86b3bd9e77a3d2a5ca4464326af3dc7042656a57a31e041c040404ffffffffff00000000071231db03691629e385421cec232bbb";

    /// ad-ldap-winrm-smb-kerberos.pcap frame 418: the ept_map request itself.
    const MAP_REQUEST: &str = "0500000310000000a800000002000000900000000100030001000000000000000000000000000000000000000000000002000000000000004b000000000000004b000000050013000d785634123412cdabef0001234567cffb01000200000013000d045d888aeb1cc9119fe808002b10486002000200000001000b020000000100070200008701000904000000000000000000000000000000000000000000000000000004000000";

    fn tcp_tower(uuid: Uuid, major: u16, port: u16, ip: [u8; 4]) -> Tower {
        Tower {
            interface: Interface {
                uuid,
                major,
                minor: 0,
            },
            transport: TowerTransport::Tcp,
            port,
            ip: Some(Ipv4Addr::from(ip)),
        }
    }

    fn towers(payload: &[u8], over_tcp: bool) -> Vec<Tower> {
        match parse(payload, over_tcp) {
            Some(Ok(Pdu::MapResponse(t))) => t,
            other => panic!("not a map response: {other:?}"),
        }
    }

    fn interfaces(payload: &[u8]) -> Vec<Interface> {
        match parse(payload, true) {
            Some(Ok(Pdu::Bind(i))) => i,
            other => panic!("not a bind: {other:?}"),
        }
    }

    #[test]
    fn uuid_parses_and_prints_canonically() {
        let u = Uuid::parse("12345778-1234-ABCD-ef00-0123456789ab").unwrap();
        assert_eq!(u, Uuid::from_u128(0x12345778_1234_abcd_ef00_0123456789ab));
        assert_eq!(u.to_string(), "12345778-1234-abcd-ef00-0123456789ab");
        for bad in [
            "",
            "12345778-1234-abcd-ef00-0123456789a",
            "12345778-1234-abcd-ef00-0123456789abc",
            "12345778x1234-abcd-ef00-0123456789ab",
            "1234577g-1234-abcd-ef00-0123456789ab",
            "{2345778-1234-abcd-ef00-0123456789ab",
            "12345778-1234-abcd-ef00-0123456789é",
            "+2345778-1234-abcd-ef00-0123456789ab",
        ] {
            assert_eq!(Uuid::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn netlogon_map_answer_from_a_capture() {
        assert_eq!(
            towers(&hex(MAP_NETLOGON), true),
            [
                tcp_tower(NETLOGON, 1, 49674, [172, 18, 38, 5]),
                tcp_tower(NETLOGON, 1, 49667, [172, 18, 38, 5]),
            ]
        );
    }

    #[test]
    fn drsuapi_map_answer_from_a_capture() {
        assert_eq!(
            towers(&hex(MAP_DRSUAPI), true),
            [
                tcp_tower(DRSUAPI, 4, 49674, [172, 18, 38, 5]),
                tcp_tower(DRSUAPI, 4, 49667, [172, 18, 38, 5]),
            ]
        );
    }

    #[test]
    fn task_scheduler_map_answer_from_a_capture() {
        assert_eq!(
            towers(&hex(MAP_TSCH), true),
            [tcp_tower(TSCH, 1, 49671, [172, 18, 39, 6])]
        );
    }

    #[test]
    fn binds_from_captures() {
        let epm = Interface {
            uuid: EPM,
            major: 3,
            minor: 0,
        };
        assert_eq!(interfaces(&hex(BIND_EPM)), [epm]);
        let netlogon = Interface {
            uuid: NETLOGON,
            major: 1,
            minor: 0,
        };
        assert_eq!(interfaces(&hex(BIND_NETLOGON)), [netlogon]);
        let drsuapi = Interface {
            uuid: DRSUAPI,
            major: 4,
            minor: 0,
        };
        assert_eq!(interfaces(&hex(ALTER_DRSUAPI)), [drsuapi]);
    }

    #[test]
    fn requests_and_udp_readings_are_not_ours() {
        assert_eq!(parse(&hex(MAP_REQUEST), true), None);
        // Connection-oriented PDUs are not read over UDP.
        assert_eq!(parse(&hex(MAP_NETLOGON), false), None);
        assert_eq!(parse(&hex(BIND_EPM), false), None);
        assert_eq!(parse(b"", true), None);
        assert_eq!(parse(b"GET / HTTP/1.1\r\n\r\n", true), None);
    }

    /// A bind in big-endian data representation, built by hand.
    fn big_endian_bind(contexts: &[(Uuid, u16, u16)]) -> Vec<u8> {
        let mut body = Vec::new();
        body.extend_from_slice(&4280u16.to_be_bytes());
        body.extend_from_slice(&4280u16.to_be_bytes());
        body.extend_from_slice(&0u32.to_be_bytes());
        body.extend_from_slice(&[contexts.len() as u8, 0, 0, 0]);
        for (i, (uuid, major, minor)) in contexts.iter().enumerate() {
            body.extend_from_slice(&(i as u16).to_be_bytes());
            body.extend_from_slice(&[1, 0]);
            body.extend_from_slice(&uuid.0); // big-endian: canonical order
            body.extend_from_slice(&((u32::from(*minor) << 16) | u32::from(*major)).to_be_bytes());
            body.extend_from_slice(&Uuid::from_u128(0x8a885d04_1ceb_11c9_9fe8_08002b104860).0);
            body.extend_from_slice(&2u32.to_be_bytes());
        }
        let mut pdu = vec![5, 0, CO_BIND, 0x03, 0x00, 0, 0, 0];
        pdu.extend_from_slice(&((16 + body.len()) as u16).to_be_bytes());
        pdu.extend_from_slice(&0u16.to_be_bytes());
        pdu.extend_from_slice(&7u32.to_be_bytes());
        pdu.extend_from_slice(&body);
        pdu
    }

    #[test]
    fn big_endian_bind_reads_the_same_interfaces() {
        let samr = Uuid::parse("12345778-1234-abcd-ef00-0123456789ac").unwrap();
        let pdu = big_endian_bind(&[(samr, 1, 0), (NETLOGON, 1, 2), (samr, 1, 0)]);
        assert_eq!(
            interfaces(&pdu),
            [
                Interface {
                    uuid: samr,
                    major: 1,
                    minor: 0
                },
                Interface {
                    uuid: NETLOGON,
                    major: 1,
                    minor: 2
                },
            ]
        );
    }

    #[test]
    fn a_bind_that_claims_more_contexts_than_it_holds_is_malformed() {
        let mut pdu = big_endian_bind(&[(NETLOGON, 1, 0)]);
        pdu[24] = 2;
        assert_eq!(parse(&pdu, true), Some(Err(Unreadable::Malformed)));
        pdu[24] = 65;
        assert_eq!(parse(&pdu, true), Some(Err(Unreadable::Malformed)));
    }

    #[test]
    fn split_and_fragmented_pdus() {
        let full = hex(MAP_NETLOGON);
        // The first TCP segment of a PDU split in two.
        assert_eq!(parse(&full[..100], true), Some(Err(Unreadable::Split)));
        let bind = hex(BIND_EPM);
        assert_eq!(parse(&bind[..50], true), Some(Err(Unreadable::Split)));
        // First fragment of several.
        let mut first = full.clone();
        first[3] = PFC_FIRST_FRAG;
        assert_eq!(parse(&first, true), Some(Err(Unreadable::Fragmented)));
        // A later fragment: nothing to recognise it by.
        let mut last = full.clone();
        last[3] = PFC_LAST_FRAG;
        assert_eq!(parse(&last, true), None);
        let mut bind_frag = bind.clone();
        bind_frag[3] = PFC_FIRST_FRAG;
        assert_eq!(parse(&bind_frag, true), Some(Err(Unreadable::Fragmented)));
    }

    #[test]
    fn a_split_pdu_of_another_answer_is_not_ours() {
        // A big response on another interface, cut by the segment: its stub
        // is not an ept_map answer's, so it says nothing.
        let mut pdu = vec![5, 0, CO_RESPONSE, 0x03, 0x10, 0, 0, 0];
        pdu.extend_from_slice(&4000u16.to_le_bytes());
        pdu.extend_from_slice(&[0, 0, 1, 0, 0, 0]);
        pdu.extend_from_slice(&[0xa0, 0x0f, 0, 0, 0, 0, 0, 0]);
        pdu.extend((0..200).map(|i| i as u8 | 1));
        assert_eq!(parse(&pdu, true), None);
    }

    /// An NDR (not NDR64) ept_map answer, little-endian, built by hand.
    fn ndr20_map_answer(towers: &[Vec<u8>], status: u32) -> Vec<u8> {
        let mut stub = vec![0u8; 20];
        let n = towers.len() as u32;
        for v in [n, 4, 0, n] {
            stub.extend_from_slice(&v.to_le_bytes());
        }
        for i in 0..n {
            stub.extend_from_slice(&(i + 1).to_le_bytes());
        }
        for t in towers {
            stub.extend_from_slice(&(t.len() as u32).to_le_bytes());
            stub.extend_from_slice(&(t.len() as u32).to_le_bytes());
            stub.extend_from_slice(t);
            while stub.len() % 4 != 0 {
                stub.push(0);
            }
        }
        stub.extend_from_slice(&status.to_le_bytes());
        co_response(&stub)
    }

    fn co_response(stub: &[u8]) -> Vec<u8> {
        let mut pdu = vec![5, 0, CO_RESPONSE, 0x03, 0x10, 0, 0, 0];
        pdu.extend_from_slice(&((24 + stub.len()) as u16).to_le_bytes());
        pdu.extend_from_slice(&[0, 0, 2, 0, 0, 0]);
        pdu.extend_from_slice(&(stub.len() as u32).to_le_bytes());
        pdu.extend_from_slice(&[0, 0, 0, 0]);
        pdu.extend_from_slice(stub);
        pdu
    }

    /// Tower octets: floor 1 (interface), floor 2 (NDR), floor 3 (0x0b), floor
    /// 4 (`proto`, port), floor 5 (IP).
    fn tower_octets(uuid: Uuid, major: u16, proto: u8, port: &[u8], ip: [u8; 4]) -> Vec<u8> {
        let mut t = 5u16.to_le_bytes().to_vec();
        for id in [
            uuid,
            Uuid::from_u128(0x8a885d04_1ceb_11c9_9fe8_08002b104860),
        ] {
            t.extend_from_slice(&19u16.to_le_bytes());
            t.push(0x0d);
            let mut b = id.0;
            b[..4].reverse();
            b[4..6].reverse();
            b[6..8].reverse();
            t.extend_from_slice(&b);
            t.extend_from_slice(&major.to_le_bytes());
            t.extend_from_slice(&[2, 0, 0, 0]);
        }
        t.extend_from_slice(&[1, 0, 0x0b, 2, 0, 0, 0]);
        t.extend_from_slice(&[1, 0, proto]);
        t.extend_from_slice(&(port.len() as u16).to_le_bytes());
        t.extend_from_slice(port);
        t.extend_from_slice(&[1, 0, 0x09, 4, 0]);
        t.extend_from_slice(&ip);
        t
    }

    #[test]
    fn ndr20_map_answer_with_tcp_udp_and_pipe_towers() {
        let tcp = tower_octets(NETLOGON, 1, 0x07, &[0xc2, 0x0a], [10, 0, 0, 1]);
        let udp = tower_octets(NETLOGON, 1, 0x08, &[0x04, 0x01], [10, 0, 0, 1]);
        let pipe = tower_octets(NETLOGON, 1, 0x0f, b"\\PIPE\\netlogon\0", [10, 0, 0, 1]);
        let http = tower_octets(NETLOGON, 1, 0x1f, &[0x17, 0x75], [10, 0, 0, 1]);
        let pdu = ndr20_map_answer(&[tcp, pipe, udp, http], 0);
        let mut udp_tower = tcp_tower(NETLOGON, 1, 0x0401, [10, 0, 0, 1]);
        udp_tower.transport = TowerTransport::Udp;
        let mut http_tower = tcp_tower(NETLOGON, 1, 6005, [10, 0, 0, 1]);
        http_tower.transport = TowerTransport::Other(0x1f);
        assert_eq!(
            towers(&pdu, true),
            [
                tcp_tower(NETLOGON, 1, 49674, [10, 0, 0, 1]),
                udp_tower,
                http_tower
            ]
        );
    }

    #[test]
    fn not_registered_is_a_map_answer_without_towers() {
        // EPT_S_NOT_REGISTERED, NDR and NDR64.
        let pdu = ndr20_map_answer(&[], 0x16c9_a0d6);
        assert_eq!(towers(&pdu, true), []);
        let mut stub = vec![0u8; 20];
        stub.extend_from_slice(&0u32.to_le_bytes());
        for v in [4u64, 0, 0] {
            stub.extend_from_slice(&v.to_le_bytes());
        }
        stub.extend_from_slice(&0x16c9_a0d6u32.to_le_bytes());
        assert_eq!(towers(&co_response(&stub), true), []);
    }

    #[test]
    fn a_lying_tower_length_is_malformed() {
        let tcp = tower_octets(NETLOGON, 1, 0x07, &[0xc2, 0x0a], [10, 0, 0, 1]);
        let good = ndr20_map_answer(std::slice::from_ref(&tcp), 0);
        // tower_length and the array size both say 200: past the end.
        let mut long = good.clone();
        let at = 24 + 20 + 16 + 4;
        long[at..at + 4].copy_from_slice(&200u32.to_le_bytes());
        long[at + 4..at + 8].copy_from_slice(&200u32.to_le_bytes());
        assert_eq!(parse(&long, true), Some(Err(Unreadable::Malformed)));
        // A floor whose right-hand side runs past the tower's end.
        let mut floor = tcp;
        let last = floor.len() - 6;
        floor[last] = 40;
        assert_eq!(
            parse(&ndr20_map_answer(&[floor], 0), true),
            Some(Err(Unreadable::Malformed))
        );
        // actual_count != num_towers: some other answer.
        let mut other = good;
        other[24 + 20] = 3;
        assert_eq!(parse(&other, true), None);
    }

    #[test]
    fn too_many_towers_are_malformed() {
        let mut stub = vec![0u8; 20];
        for v in [65u32, 65, 0, 65] {
            stub.extend_from_slice(&v.to_le_bytes());
        }
        stub.resize(stub.len() + 65 * 4 + 4, 0);
        assert_eq!(
            parse(&co_response(&stub), true),
            Some(Err(Unreadable::Malformed))
        );
    }

    /// A connectionless (UDP) response of the endpoint mapper carrying `stub`.
    fn cl_response(stub: &[u8], little: bool) -> Vec<u8> {
        let u16b = |v: u16| {
            if little {
                v.to_le_bytes()
            } else {
                v.to_be_bytes()
            }
        };
        let mut pdu = vec![
            4,
            CL_RESPONSE,
            0x20,
            0,
            if little { 0x10 } else { 0 },
            0,
            0,
            0,
        ];
        pdu.extend_from_slice(&[0; 16]);
        let mut epm = EPM.0;
        if little {
            epm[..4].reverse();
            epm[4..6].reverse();
            epm[6..8].reverse();
        }
        pdu.extend_from_slice(&epm);
        pdu.extend_from_slice(&[0x55; 16]);
        pdu.extend_from_slice(&[0; 12]);
        pdu.extend_from_slice(&u16b(3));
        pdu.extend_from_slice(&[0xff, 0xff, 0xff, 0xff]);
        pdu.extend_from_slice(&u16b(stub.len() as u16));
        pdu.extend_from_slice(&[0, 0, 0, 0]);
        pdu.extend_from_slice(stub);
        pdu
    }

    #[test]
    fn connectionless_map_answers() {
        let tcp = tower_octets(NETLOGON, 1, 0x08, &[0x00, 0x87], [10, 0, 0, 9]);
        let co = ndr20_map_answer(&[tcp], 0);
        let stub = &co[24..];
        let mut expected = tcp_tower(NETLOGON, 1, 135, [10, 0, 0, 9]);
        expected.transport = TowerTransport::Udp;
        let pdu = cl_response(stub, true);
        assert_eq!(towers(&pdu, false), [expected]);
        // Not read as connection-oriented.
        assert_eq!(parse(&pdu, true), None);
        assert_eq!(
            parse(&pdu[..pdu.len() - 3], false),
            Some(Err(Unreadable::Split))
        );
        let mut frag = pdu.clone();
        frag[2] |= CL_FRAG;
        assert_eq!(parse(&frag, false), Some(Err(Unreadable::Fragmented)));

        // Big-endian: the stub's integers follow drep, the tower's octets do not.
        let mut be_stub = vec![0u8; 20];
        let tower = tower_octets(NETLOGON, 1, 0x07, &[0xc2, 0x0a], [10, 0, 0, 9]);
        for v in [1u32, 1, 0, 1, 7, tower.len() as u32, tower.len() as u32] {
            be_stub.extend_from_slice(&v.to_be_bytes());
        }
        be_stub.extend_from_slice(&tower);
        while be_stub.len() % 4 != 0 {
            be_stub.push(0);
        }
        be_stub.extend_from_slice(&0u32.to_be_bytes());
        assert_eq!(
            towers(&cl_response(&be_stub, false), false),
            [tcp_tower(NETLOGON, 1, 49674, [10, 0, 0, 9])]
        );

        // A response of another interface is not ours.
        let mut other = pdu;
        other[24] ^= 1;
        assert_eq!(parse(&other, false), None);
    }

    fn summary(r: &Option<Result<Pdu, Unreadable>>) -> usize {
        match r {
            Some(Ok(Pdu::Bind(i))) => i.len(),
            Some(Ok(Pdu::MapResponse(t))) => t.len(),
            _ => 0,
        }
    }

    fn consistent(r: &Option<Result<Pdu, Unreadable>>) -> bool {
        match r {
            Some(Ok(Pdu::Bind(i))) => {
                i.len() <= MAX_ITEMS && i.iter().enumerate().all(|(n, x)| !i[..n].contains(x))
            }
            Some(Ok(Pdu::MapResponse(t))) => {
                t.len() <= MAX_ITEMS && t.iter().enumerate().all(|(n, x)| !t[..n].contains(x))
            }
            _ => true,
        }
    }

    fn samples() -> Vec<(Vec<u8>, bool)> {
        let tcp = tower_octets(NETLOGON, 1, 0x07, &[0xc2, 0x0a], [10, 0, 0, 1]);
        let co = ndr20_map_answer(&[tcp.clone(), tcp], 0);
        let cl = cl_response(&co[24..], true);
        let mut v: Vec<(Vec<u8>, bool)> = [
            MAP_NETLOGON,
            MAP_DRSUAPI,
            MAP_TSCH,
            BIND_EPM,
            BIND_NETLOGON,
            ALTER_DRSUAPI,
        ]
        .iter()
        .map(|h| (hex(h), true))
        .collect();
        v.push((co, true));
        v.push((cl, false));
        v
    }

    #[test]
    fn truncation_never_yields_more() {
        for (full, over_tcp) in samples() {
            let whole = parse(&full, over_tcp);
            assert!(matches!(whole, Some(Ok(_))), "{whole:?}");
            for cut in 0..full.len() {
                let part = parse(&full[..cut], over_tcp);
                assert!(summary(&part) <= summary(&whole), "cut at {cut}: {part:?}");
                assert!(
                    matches!(part, None | Some(Err(Unreadable::Split))),
                    "cut at {cut}: {part:?}"
                );
            }
        }
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400), over_tcp in any::<bool>()) {
            let r = parse(&bytes, over_tcp);
            prop_assert!(consistent(&r));
        }

        /// A DCE/RPC header in front of arbitrary bytes, so that the stub and
        /// context readers are reached.
        #[test]
        fn arbitrary_stubs_never_panic(
            ptype in prop_oneof![Just(CO_BIND), Just(CO_RESPONSE), Just(CO_ALTER_CONTEXT)],
            drep in prop_oneof![Just(0x10u8), Just(0)],
            auth in prop_oneof![Just(0u16), any::<u16>()],
            body in proptest::collection::vec(any::<u8>(), 0..300),
        ) {
            let mut pdu = vec![5, 0, ptype, 3, drep, 0, 0, 0];
            let len = (16 + body.len()) as u16;
            let (len, auth) = if drep == 0x10 { (len.to_le_bytes(), auth.to_le_bytes()) } else { (len.to_be_bytes(), auth.to_be_bytes()) };
            pdu.extend_from_slice(&len);
            pdu.extend_from_slice(&auth);
            pdu.extend_from_slice(&[0; 4]);
            pdu.extend_from_slice(&body);
            prop_assert!(consistent(&parse(&pdu, true)));
        }

        #[test]
        fn mutated_samples_never_panic(pick in any::<prop::sample::Index>(), at in any::<prop::sample::Index>(), byte in any::<u8>()) {
            let all = samples();
            let (mut bytes, over_tcp) = all[pick.index(all.len())].clone();
            let i = at.index(bytes.len());
            bytes[i] = byte;
            let r = parse(&bytes, over_tcp);
            prop_assert!(consistent(&r));
        }
    }
}
