//! The record walker shared by both file formats, and the types a walk yields.

use std::fmt;

use super::pcap::PcapWalker;
use super::pcapng::PcapngWalker;
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

/// Where and why a walk had to stop early.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Damage {
    /// Byte offset (in the decompressed stream) of the record that is bad.
    pub offset: u64,
    pub message: String,
}

impl fmt::Display for Damage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "byte {}: {}", self.offset, self.message)
    }
}

/// A file header that cannot be read: nothing in the file is usable.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FormatError {
    pub offset: u64,
    pub message: String,
}

impl fmt::Display for FormatError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "byte {}: {}", self.offset, self.message)
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

/// Walks the records of one capture, whatever its format.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Walker {
    Pcap(PcapWalker),
    Pcapng(PcapngWalker),
}

/// The largest record we accept. Real captures stay far below (65 KB GRO
/// frames, 256 KB snap lengths); a larger length is a corrupt header, and
/// accepting it would let one bad length swallow the rest of the file.
pub(crate) const MAX_RECORD_LEN: usize = 16 * 1024 * 1024;

impl Walker {
    /// Bytes needed to recognise the format and read the file header.
    pub const SNIFF_LEN: usize = 24;

    /// Recognises the format from the first bytes of the input and reads the
    /// file header. `Ok(None)`: more bytes are needed (pcapng's first block
    /// is longer than [`Self::SNIFF_LEN`]). Returns the walker and the
    /// position of the first record.
    pub fn open(buf: &[u8], at_eof: bool) -> Result<Option<(Walker, usize)>, FormatError> {
        if buf.len() < 4 {
            return if at_eof {
                Err(FormatError {
                    offset: 0,
                    message: format!(
                        "file is {} bytes long, too short for a pcap or pcapng header",
                        buf.len()
                    ),
                })
            } else {
                Ok(None)
            };
        }
        let magic = [buf[0], buf[1], buf[2], buf[3]];
        if PcapWalker::recognises(magic) {
            if buf.len() < 24 {
                return if at_eof {
                    Err(FormatError {
                        offset: buf.len() as u64,
                        message: format!(
                            "pcap file header cut short: 24 bytes needed, {} present",
                            buf.len()
                        ),
                    })
                } else {
                    Ok(None)
                };
            }
            let w = PcapWalker::from_header(buf)?;
            return Ok(Some((Walker::Pcap(w), 24)));
        }
        if magic == [0x0A, 0x0D, 0x0D, 0x0A] {
            return match PcapngWalker::open(buf)? {
                Some((w, next)) => Ok(Some((Walker::Pcapng(w), next))),
                None if at_eof => Err(FormatError {
                    offset: 0,
                    message: format!(
                        "pcapng section header block cut short ({} bytes in file)",
                        buf.len()
                    ),
                }),
                None => Ok(None),
            };
        }
        Err(FormatError {
            offset: 0,
            message: format!(
                "not a pcap or pcapng file (first bytes {:02x} {:02x} {:02x} {:02x}); \
                 give a .pcap, .pcapng or a gzip of one",
                magic[0], magic[1], magic[2], magic[3]
            ),
        })
    }

    /// Reads the record at `pos` of `buf`; `base` is the input offset of
    /// `buf[0]`, used only for positions in messages and records.
    #[inline]
    pub fn step<'a>(&mut self, buf: &'a [u8], pos: usize, base: u64) -> Step<'a> {
        match self {
            Walker::Pcap(w) => w.step(buf, pos, base),
            Walker::Pcapng(w) => w.step(buf, pos, base),
        }
    }

    /// Where a walk that begins mid-file may pick up: the first position
    /// at or after `from` that looks like the start of a record, judged
    /// by a chain of plausible headers after it (`base` is the input
    /// offset of `buf[0]`). A guess, for speed only: a caller must check
    /// it against where the walk of the bytes before really ends, and that
    /// this walker's state is the one the walk has there.
    pub fn find_record(&self, buf: &[u8], from: usize, base: u64) -> Option<usize> {
        match self {
            Walker::Pcap(w) => w.find_record(buf, from),
            Walker::Pcapng(w) => w.find_block(buf, from, base),
        }
    }

    /// A short description of the format for summaries.
    pub fn format_name(&self) -> &'static str {
        match self {
            Walker::Pcap(w) => w.format_name(),
            Walker::Pcapng(_) => "pcapng",
        }
    }
}

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
