//! Flows: bidirectional conversations keyed by protocol and both endpoints,
//! built in mergeable tables (so segments can be decoded on any thread), then
//! resolved into flows with an initiator, a state and a connection count.

mod community_id;
mod key;
mod map;
mod origin;
mod resolve;
mod stats;
mod stored;
mod summary;
mod table;

pub use community_id::{community_id, CommunityId};
pub use key::{icmp_ports, Dir, Endpoint, FlowKey, PackedKey};
pub use origin::{Input, Inputs, Origin, Place, Unit};
pub use resolve::{resolve, Flow, FlowState, InitiatorBasis};
pub use stats::{FlowStats, RecordCounts};
pub use stored::{StoredFlow, StoredSource, StoredTunnel, STORED_VERSION};
pub use summary::{ContentCheck, FlowSummary, ONE_WAY_CAVEAT};
pub use table::{
    DistinctCount, FlowTable, Flows, KeyedRecord, Limits, Named, Overflow, PacketTable,
    SegmentTable, SequentialTable,
};
