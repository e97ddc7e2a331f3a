//! Recognising an input by its first bytes, in one place: pcap (either
//! byte order, micro- or nanosecond), pcapng, or gzip around one of them.

use super::pcap::PcapWalker;
use super::pcapng::PcapngWalker;

/// What the first bytes of an input say it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Container {
    Pcap,
    Pcapng,
    Gzip,
}

impl Container {
    /// Bytes [`Container::sniff`] needs.
    pub const SNIFF_LEN: usize = 4;

    /// The container `head` starts, if any (`None` also when `head` is
    /// shorter than [`Container::SNIFF_LEN`]).
    pub fn sniff(head: &[u8]) -> Option<Container> {
        if head.starts_with(&[0x1F, 0x8B]) {
            return Some(Container::Gzip);
        }
        let magic: [u8; 4] = head.get(..4)?.try_into().ok()?;
        if PcapWalker::recognises(magic) {
            Some(Container::Pcap)
        } else if PcapngWalker::recognises(magic) {
            Some(Container::Pcapng)
        } else {
            None
        }
    }
}
