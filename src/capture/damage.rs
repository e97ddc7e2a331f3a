//! What is wrong with a capture, where: a kind with its numbers, and the
//! byte offset. Messages are built from the kind, in one place.

use std::fmt;

use super::record::MAX_RECORD_LEN;

/// The largest pcapng block accepted (see [`super::pcapng`]).
pub(crate) const MAX_BLOCK_LEN: usize = MAX_RECORD_LEN + 4096;

/// What is wrong at a byte offset of a capture.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum DamageKind {
    /// The input is shorter than any file header.
    TooShortForHeader { len: usize },
    /// A pcap file header cut short.
    PcapHeaderCut { present: usize },
    /// A pcapng section header block cut short.
    PcapngHeaderCut { present: usize },
    /// The first bytes are no capture format portaudit reads.
    NotACapture { magic: [u8; 4] },
    /// A record of a flow-record input that cannot be used: its line's
    /// number in a text input (the damage's offset is where it starts).
    Record { line: Option<u64>, why: String },
    /// A pcap version other than 2.x.
    PcapVersion { major: u16, minor: u16 },
    /// The pcap link-type field has reserved bits set.
    LinkTypeReservedBits { network: u32, reserved: u32 },
    /// The first section header's byte-order magic is neither order.
    ByteOrderMagic,
    /// The first section header names a pcapng version other than 1.x.
    PcapngVersion { major: u16, minor: u16 },
    /// A later section header's byte-order magic is neither order.
    SectionByteOrder,
    /// A later section header names a pcapng version other than 1.x.
    SectionVersion { major: u16, minor: u16 },
    /// A section header block shorter than its fixed fields.
    SectionHeaderTooShort { len: usize },
    /// A pcap record header claims more bytes than a record may hold.
    RecordTooLong { caplen: usize },
    /// A pcapng block's length is not a multiple of 4 in bounds.
    BlockLength { block_type: u32, total: usize },
    /// A pcapng block's trailing length differs from its leading one.
    BlockTrailer {
        block_type: u32,
        total: usize,
        trailer: usize,
    },
    /// An interface description block shorter than its fixed fields.
    InterfaceTooShort,
    /// A packet block shorter than its fixed fields.
    PacketBlockTooShort,
    /// A simple packet block shorter than its fixed fields.
    SimplePacketTooShort,
    /// A packet block claims more captured bytes than it holds.
    PacketOverrun { caplen: usize, holds: usize },
    /// A block option runs past its block.
    OptionOverrun {
        code: u16,
        len: usize,
        remain: usize,
    },
    /// The input ends inside a record.
    CutShort { present: usize, needed: usize },
    /// Reading failed: the compressed stream is corrupt, or the input
    /// could not be read further.
    Unreadable { compressed: bool, error: String },
}

impl fmt::Display for DamageKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DamageKind::TooShortForHeader { len } => write!(
                f,
                "file is {len} bytes long, too short for a pcap or pcapng header"
            ),
            DamageKind::PcapHeaderCut { present } => write!(
                f,
                "pcap file header cut short: 24 bytes needed, {present} present"
            ),
            DamageKind::PcapngHeaderCut { present } => write!(
                f,
                "pcapng section header block cut short ({present} bytes in file)"
            ),
            DamageKind::NotACapture { magic: m } => write!(
                f,
                "not a pcap or pcapng file nor flow records (first bytes {:02x} {:02x} {:02x} {:02x}); \
                 give a .pcap, .pcapng, a Zeek conn.log, a Suricata EVE file, IPFIX or NetFlow \
                 export messages, a portaudit flow file, or a gzip of one",
                m[0], m[1], m[2], m[3]
            ),
            DamageKind::Record {
                line: Some(line),
                why,
            } => write!(f, "line {line}: {why}"),
            DamageKind::Record { line: None, why } => f.write_str(why),
            DamageKind::PcapVersion { major, minor } => write!(
                f,
                "pcap version {major}.{minor} is not supported (only 2.x exists); \
                 the file header is corrupt"
            ),
            DamageKind::LinkTypeReservedBits { network, reserved } => write!(
                f,
                "link-type field 0x{network:08x} has reserved bits set (0x{reserved:08x}); \
                 the file header is corrupt"
            ),
            DamageKind::ByteOrderMagic => f.write_str(
                "pcapng byte-order magic is neither 1a2b3c4d nor 4d3c2b1a; \
                 the section header is corrupt",
            ),
            DamageKind::PcapngVersion { major, minor } => write!(
                f,
                "pcapng version {major}.{minor} is not supported (only 1.x exists); \
                 the section header is corrupt"
            ),
            DamageKind::SectionByteOrder => f.write_str(
                "section header block has a bad byte-order magic; the section is corrupt",
            ),
            DamageKind::SectionVersion { major, minor } => write!(
                f,
                "section header says pcapng version {major}.{minor}; only 1.x exists"
            ),
            DamageKind::SectionHeaderTooShort { len } => write!(
                f,
                "section header block is {len} bytes long, 28 is the minimum"
            ),
            DamageKind::RecordTooLong { caplen } => write!(
                f,
                "record header claims {caplen} captured bytes (more than the \
                 {MAX_RECORD_LEN}-byte limit): the record header is corrupt"
            ),
            DamageKind::BlockLength { block_type, total } => write!(
                f,
                "block of type 0x{block_type:08x} claims a total length of {total} bytes \
                 (must be a multiple of 4 between 12 and {MAX_BLOCK_LEN}): the block header is corrupt"
            ),
            DamageKind::BlockTrailer {
                block_type,
                total,
                trailer,
            } => write!(
                f,
                "block of type 0x{block_type:08x} starts with length {total} but ends with \
                 length {trailer}: the block is corrupt"
            ),
            DamageKind::InterfaceTooShort => {
                f.write_str("interface description block too short for its fixed fields")
            }
            DamageKind::PacketBlockTooShort => {
                f.write_str("packet block too short for its fixed fields")
            }
            DamageKind::SimplePacketTooShort => f.write_str("simple packet block too short"),
            DamageKind::PacketOverrun { caplen, holds } => write!(
                f,
                "packet block claims {caplen} captured bytes but holds only {holds}"
            ),
            DamageKind::OptionOverrun { code, len, remain } => write!(
                f,
                "option {code} claims {len} bytes but only {remain} remain in its block: \
                 the options are corrupt"
            ),
            DamageKind::CutShort { present, needed } => write!(
                f,
                "the file ends in the middle of a record: {present} byte(s) present, \
                 {needed} more needed (the capture was cut short)"
            ),
            DamageKind::Unreadable {
                compressed: true,
                error,
            } => write!(f, "the compressed stream is corrupt or cut short: {error}"),
            DamageKind::Unreadable {
                compressed: false,
                error,
            } => write!(f, "the input could not be read further: {error}"),
        }
    }
}

/// Where and why a walk had to stop early, or a record was unusable.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Damage {
    /// Byte offset (in the decompressed stream) of the record that is bad.
    pub offset: u64,
    pub kind: DamageKind,
}

impl fmt::Display for Damage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "byte {}: {}", self.offset, self.kind)
    }
}

impl std::error::Error for Damage {}

/// A file header that cannot be read: nothing in the file is usable.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FormatError {
    pub offset: u64,
    pub kind: DamageKind,
}

impl fmt::Display for FormatError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "byte {}: {}", self.offset, self.kind)
    }
}

impl std::error::Error for FormatError {}

impl From<Damage> for FormatError {
    fn from(d: Damage) -> FormatError {
        FormatError {
            offset: d.offset,
            kind: d.kind,
        }
    }
}
