//! The types a walk of any capture format yields: link types, records,
//! steps, and the byte-order reader the formats share.

use super::damage::Damage;
use super::Timestamp;

/// A link-layer header type (LINKTYPE_* number from tcpdump.org).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LinkType(pub u32);

impl LinkType {
    pub const NULL: LinkType = LinkType(0);
    pub const ETHERNET: LinkType = LinkType(1);
    pub const RAW_OPENBSD: LinkType = LinkType(12);
    pub const RAW_14: LinkType = LinkType(14);
    pub const LOOP: LinkType = LinkType(108);
    pub const RAW: LinkType = LinkType(101);
    pub const LINUX_SLL: LinkType = LinkType(113);
    pub const IPV4: LinkType = LinkType(228);
    pub const IPV6: LinkType = LinkType(229);
    pub const LINUX_SLL2: LinkType = LinkType(276);

    /// Short name as tcpdump and capinfos print it, for summaries.
    pub fn name(self) -> String {
        match self.0 {
            0 => "null".into(),
            1 => "ethernet".into(),
            12 | 14 | 101 => "raw-ip".into(),
            108 => "loop".into(),
            113 => "linux-sll".into(),
            228 => "raw-ipv4".into(),
            229 => "raw-ipv6".into(),
            276 => "linux-sll2".into(),
            n => format!("linktype-{n}"),
        }
    }
}

/// One packet record as stored in the file.
#[derive(Clone, Copy, Debug)]
pub struct Record<'a> {
    /// The captured bytes (possibly cut by the snap length).
    pub data: &'a [u8],
    /// The packet's length on the wire; the byte count reports use.
    pub orig_len: u32,
    /// Absent for pcapng Simple Packet Blocks, which carry no time.
    pub ts: Option<Timestamp>,
    pub link: LinkType,
    /// Byte offset of the record header in the (decompressed) input.
    pub offset: u64,
}

/// A packet record that exists in the file but cannot be handed to the
/// decoder; it is counted, never dropped silently.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RecordSkip {
    /// pcapng packet naming an interface that no IDB of its section declared.
    UnknownInterface,
    /// pcapng packet block whose captured length overruns its own block.
    CorruptBlock,
}

impl RecordSkip {
    pub fn label(self) -> &'static str {
        match self {
            RecordSkip::UnknownInterface => "pcapng-unknown-interface",
            RecordSkip::CorruptBlock => "pcapng-corrupt-packet-block",
        }
    }
}

/// What one step of a walk found at the current position.
#[derive(Debug)]
pub enum Step<'a> {
    /// A packet; the walk continues at `next`.
    Packet { record: Record<'a>, next: usize },
    /// A packet record that cannot be used (counted by reason), and the
    /// damage that made it unusable, if it is damage.
    Skipped {
        skip: RecordSkip,
        next: usize,
        damage: Option<Damage>,
    },
    /// A block that holds no packet (pcapng SHB, IDB, statistics, custom...),
    /// with damage inside it that did not stop the walk.
    Block { next: usize, damage: Option<Damage> },
    /// The buffer ends before the next record does: `need` more bytes at
    /// least. At the end of the input this is a truncated file.
    NeedMore { need: usize },
    /// The buffer is exhausted exactly at a record boundary.
    End,
    /// The record at this position is corrupt; the walk cannot go on.
    Damaged(Damage),
}

/// The largest record we accept. Real captures stay far below (65 KB GRO
/// frames, 256 KB snap lengths); a larger length is a corrupt header, and
/// accepting it would let one bad length swallow the rest of the file.
pub(crate) const MAX_RECORD_LEN: usize = 16 * 1024 * 1024;

/// The largest pcapng block accepted: a record and its options.
pub(crate) const MAX_BLOCK_LEN: usize = MAX_RECORD_LEN + 64 * 1024;

/// Reads fixed-width integers in the byte order of the file or section.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Endian {
    Little,
    Big,
}

impl Endian {
    #[inline]
    pub(crate) fn u16(self, b: &[u8], at: usize) -> u16 {
        let v = [b[at], b[at + 1]];
        match self {
            Endian::Little => u16::from_le_bytes(v),
            Endian::Big => u16::from_be_bytes(v),
        }
    }

    #[inline]
    pub(crate) fn u32(self, b: &[u8], at: usize) -> u32 {
        let v = [b[at], b[at + 1], b[at + 2], b[at + 3]];
        match self {
            Endian::Little => u32::from_le_bytes(v),
            Endian::Big => u32::from_be_bytes(v),
        }
    }

    #[inline]
    pub(crate) fn u64(self, b: &[u8], at: usize) -> u64 {
        let mut v = [0u8; 8];
        v.copy_from_slice(&b[at..at + 8]);
        match self {
            Endian::Little => u64::from_le_bytes(v),
            Endian::Big => u64::from_be_bytes(v),
        }
    }
}
