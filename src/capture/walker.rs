//! The record walker of any capture: the format is recognised once, then
//! each step goes to that format's walker.

use super::damage::{DamageKind, FormatError};
use super::format::Container;
use super::pcap::PcapWalker;
use super::pcapng::PcapngWalker;
use super::record::Step;

/// Walks the records of one capture, whatever its format.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Walker {
    Pcap(PcapWalker),
    Pcapng(PcapngWalker),
}

impl Walker {
    /// Recognises the format from the first bytes of the input and reads the
    /// file header. `Ok(None)`: more bytes are needed (pcapng's first block
    /// is longer than a pcap header). Returns the walker and the
    /// position of the first record.
    pub fn open(buf: &[u8], at_eof: bool) -> Result<Option<(Walker, usize)>, FormatError> {
        let short = |kind: DamageKind, offset: usize| {
            if at_eof {
                Err(FormatError {
                    offset: offset as u64,
                    kind,
                })
            } else {
                Ok(None)
            }
        };
        if buf.len() < Container::SNIFF_LEN {
            return short(DamageKind::TooShortForHeader { len: buf.len() }, 0);
        }
        match Container::sniff(buf) {
            Some(Container::Pcap) if buf.len() < PcapWalker::HEADER_LEN => {
                short(DamageKind::PcapHeaderCut { present: buf.len() }, buf.len())
            }
            Some(Container::Pcap) => {
                let w = PcapWalker::from_header(buf)?;
                Ok(Some((Walker::Pcap(w), PcapWalker::HEADER_LEN)))
            }
            Some(Container::Pcapng) => match PcapngWalker::open(buf)? {
                Some((w, next)) => Ok(Some((Walker::Pcapng(w), next))),
                None => short(DamageKind::PcapngHeaderCut { present: buf.len() }, 0),
            },
            // Inflated bytes that are gzip again are no capture either.
            Some(Container::Gzip) | None => Err(FormatError {
                offset: 0,
                kind: DamageKind::NotACapture {
                    magic: [buf[0], buf[1], buf[2], buf[3]],
                },
            }),
        }
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
