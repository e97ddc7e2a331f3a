//! Capture input: classic pcap and pcapng walked record by record over a byte
//! buffer (a chunk read from a file or a stream), gzip and stdin, file
//! discovery.
//!
//! A walker never copies packet bytes and never panics on bad input: a record
//! that cannot be read is a [`Damage`] with its byte offset, and what came
//! before it stays usable.

mod damage;
mod format;
mod input;
mod live;
mod pcap;
mod pcapng;
mod record;
mod timestamp;
mod walker;

pub use damage::{Damage, DamageKind, FormatError};
pub use format::{Container, RecordFormat};
pub(crate) use input::read_up_to;
pub use input::{expand_inputs, CaptureInput, ExpandedInputs, InputError, InputSource};
pub use live::LiveCounts;
#[cfg(feature = "libpcap")]
pub use live::{LiveCapture, LiveError, LivePacket};
pub use pcap::PcapWalker;
pub use pcapng::PcapngWalker;
pub use record::{LinkType, Record, RecordSkip, Step};
pub use timestamp::Timestamp;
pub use walker::Walker;
