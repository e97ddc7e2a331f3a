//! A live capture's flow table, fed a packet at a time.

use super::feed::{fill_stats, Feed};
use super::{FileStats, IngestOptions};
use crate::capture::{LinkType, Timestamp};
use crate::flow::{Flows, SequentialTable};

/// A live capture's flow table, fed a packet at a time in arrival order
/// (`portaudit watch`), audited from snapshots while it grows.
pub struct LiveIngest {
    name: String,
    table: SequentialTable,
    feed: Feed,
    failed: Option<String>,
}

impl LiveIngest {
    /// An empty table within `opts.limits`, for the input called `name`.
    pub fn new(name: &str, opts: &IngestOptions) -> LiveIngest {
        LiveIngest {
            name: name.to_string(),
            table: SequentialTable::new(opts.limits),
            feed: Feed::new(opts),
            failed: None,
        }
    }

    /// Takes one captured packet, added to the table at once: its
    /// payload is read, if it is its flow's first that way, while `data`
    /// holds it.
    pub fn packet(&mut self, link: LinkType, data: &[u8], orig_len: u32, ts: Timestamp) {
        let number = self.feed.tally.read + 1;
        self.feed.packet(
            link,
            data,
            orig_len,
            Some(ts),
            number,
            data,
            &mut self.table,
        );
        self.feed.flush(&mut self.table, data);
    }

    /// Notes why capturing stopped before it was asked to.
    pub fn stopped(&mut self, why: &str) {
        self.failed = Some(why.to_string());
    }

    /// A copy of the flows so far (to audit elsewhere), and the
    /// counts; the table keeps growing.
    pub fn snapshot(&mut self) -> (Flows, FileStats) {
        // Nothing waits: each packet was added as it came, while its
        // buffer held it.
        self.feed.flush(&mut self.table, &[]);
        let mut stats = FileStats::named(self.name.clone());
        stats.format = "live capture".to_string();
        fill_stats(
            &mut stats,
            self.feed.tally.clone(),
            self.table.overflow().clone(),
            self.table.orphan_packets(),
        );
        stats.capture_failed = self.failed.clone();
        let inputs = crate::flow::Inputs::of([crate::flow::Input {
            name: self.name.clone(),
            unit: crate::flow::Unit::Packet,
        }]);
        (self.table.copy_flows().with_inputs(inputs), stats)
    }
}
