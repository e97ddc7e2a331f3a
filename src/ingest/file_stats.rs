//! What reading one input showed: counts, damage, times, limits met.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::Skip;
use crate::capture::{Damage, LiveCounts, Timestamp};
use crate::flow::Overflow;

/// What reading one capture showed, for the summary and `--stats`.
#[derive(Clone, Debug, Default)]
pub struct FileStats {
    pub name: String,
    pub format: String,
    pub compressed: bool,
    /// Link types met, by name.
    pub link_types: BTreeSet<String>,
    pub packets_read: u64,
    pub packets_decoded: u64,
    /// Wire bytes (original lengths) of all packets read.
    pub bytes_read: u64,
    /// Packets read but not used, by reason.
    pub skipped: BTreeMap<Skip, u64>,
    /// Tunnelled packets whose inside could not be used, by why: they are
    /// used, counted in their carrier flows (docs/audit.md#tunnels).
    pub tunnels_unopened: BTreeMap<crate::decode::SkipReason, u64>,
    /// Damage met; the last one may have stopped the read.
    pub damage: Vec<Damage>,
    /// The input could not be read at all (bad header, cannot open).
    pub unreadable: Option<String>,
    pub first_ts: Option<Timestamp>,
    pub last_ts: Option<Timestamp>,
    /// Packets without a timestamp (pcapng simple packet blocks).
    pub untimed_packets: u64,
    pub times: TimeFacts,
    /// What the limits kept out while this file was read and absorbed.
    pub overflow: Overflow,
    /// A file of flow records, not a capture: its counts of packets are
    /// counts of records (docs/inputs.md).
    pub records: Option<crate::capture::RecordFormat>,
    /// Damaged records counted (under [`FileStats::skipped`]) beyond those
    /// described one by one in [`FileStats::damage`].
    pub damaged_records_not_detailed: u64,
    /// A flow export that declared packet sampling: the largest interval
    /// (1 in N packets) it named. Its records cannot prove an absence.
    pub sampling: Option<u32>,
    /// Only for a live collector: records (0) and v9 export packets (1)
    /// that the exporters' sequence numbers show never arrived.
    pub export_lost: [u64; 2],
    /// Only for a live capture: what the kernel counted.
    pub live: Option<LiveCounts>,
    /// Only for a live capture: why capturing stopped before it was asked
    /// to.
    pub capture_failed: Option<String>,
    /// Only for a flow file: the inputs its flows were read from, as
    /// `portaudit flows` found them then.
    pub carried: Vec<CarriedInput>,
    /// What RPC mappers announced in the input and what its connections
    /// said of themselves (docs/audit.md#announced-ports); [`ingest`]
    /// moves it into the run's store ([`crate::ingest::Ingested::rpc`]).
    ///
    /// [`ingest`]: crate::ingest::ingest
    pub rpc: crate::rpc::Learned,
}

/// An input whose flows a flow file carries, as `portaudit flows` read
/// it: its counts, and what was wrong with it, so that the audit of the
/// flow file says so (and exits 3) as the audit of the input would have
/// (docs/inputs.md#portaudit-flow-files).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CarriedInput {
    pub name: String,
    pub format: String,
    /// Packets, or records.
    pub read: u64,
    pub used: u64,
    /// Not used, by reason (the labels of `--stats`).
    pub skipped: BTreeMap<String, u64>,
    /// What was wrong: unreadable, damaged, incomplete, as the summary
    /// said it.
    pub problems: Vec<String>,
    /// A flow export that declared packet sampling: 1 in this many.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sampling: Option<u32>,
    /// Of `skipped`, the packets `--filter` kept out (told from the
    /// reasons when the input was read, not from their labels after).
    #[serde(default)]
    pub filtered: u64,
    /// What RPC mappers announced, and what connections said of
    /// themselves: a flow file keeps what the whole run learned on its
    /// first input (`portaudit flows` reads all inputs into one store).
    #[serde(default, skip_serializing_if = "crate::rpc::StoredLearned::is_empty")]
    pub rpc: crate::rpc::StoredLearned,
}

impl CarriedInput {
    /// What a flow file of `files`' flows carries: each input as it was
    /// read, and for a flow file among them, the inputs it carries (and
    /// itself, when it had problems of its own).
    pub fn of_all(files: &[FileStats]) -> Vec<CarriedInput> {
        let mut out = Vec::new();
        for f in files {
            out.extend(f.carried.iter().cloned());
            let own = CarriedInput::of(f);
            if f.carried.is_empty() || !own.problems.is_empty() {
                out.push(own);
            }
        }
        out
    }

    fn of(f: &FileStats) -> CarriedInput {
        let mut problems: Vec<String> = f
            .unreadable
            .iter()
            .map(|u| format!("cannot be read: {u}"))
            .collect();
        problems.extend(
            f.damage
                .iter()
                .map(|d| format!("damaged: {}", f.describe(d))),
        );
        if f.damaged_records_not_detailed > 0 {
            problems.push(format!(
                "damaged: {} more damaged records",
                f.damaged_records_not_detailed
            ));
        }
        problems.extend(f.own_incomplete_note().map(|n| format!("incomplete: {n}")));
        CarriedInput {
            name: f.name.clone(),
            format: f.format.clone(),
            read: f.packets_read,
            used: f.packets_decoded,
            skipped: f.skipped.iter().map(|(k, n)| (k.to_string(), *n)).collect(),
            problems,
            sampling: f.sampling,
            filtered: f
                .skipped
                .iter()
                .filter(|(k, _)| k.is_filter())
                .map(|(_, n)| n)
                .sum(),
            rpc: f.rpc.stored(),
        }
    }
}

/// Timestamps that are odd but not wrong: every packet is audited anyway,
/// and these counts say how far its times can be trusted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TimeFacts {
    /// Packets dated earlier than the packet before them in the file.
    pub out_of_order: u64,
    /// Packets dated exactly 1970-01-01T00:00:00Z.
    pub zero: u64,
    /// Packets dated after [`IngestOptions::future_after`].
    pub future: u64,
}

impl FileStats {
    /// The input as flows' origins name it: how its positions count.
    pub fn as_input(&self) -> crate::flow::Input {
        use crate::capture::RecordFormat;
        use crate::flow::Unit;
        let unit = match self.records {
            None if self.live.is_some() => Unit::Packet,
            None | Some(RecordFormat::Ipfix | RecordFormat::Netflow) => Unit::Byte,
            Some(_) => Unit::Line,
        };
        crate::flow::Input {
            name: self.name.clone(),
            unit,
        }
    }

    /// Packets `--filter` kept out of the audit.
    pub fn filtered(&self) -> u64 {
        self.skipped
            .iter()
            .filter(|(reason, _)| reason.is_filter())
            .map(|(_, n)| n)
            .sum()
    }

    pub(crate) fn named(name: String) -> FileStats {
        FileStats {
            name,
            ..FileStats::default()
        }
    }

    /// What a live capture missed, said for people: packets the kernel
    /// dropped, a capture that failed. `None` when nothing was missed (or
    /// the input is a file).
    pub fn incomplete_note(&self) -> Option<String> {
        let troubled: Vec<String> = self
            .carried
            .iter()
            .filter(|c| !c.problems.is_empty())
            .map(|c| format!("{}: {}", c.name, c.problems.join("; ")))
            .collect();
        let carried = (!troubled.is_empty()).then(|| {
            format!(
                "its flows come from inputs that were not read whole when `portaudit flows` \
                 read them ({})",
                troubled.join("; ")
            )
        });
        match (self.own_incomplete_note(), carried) {
            (Some(a), Some(b)) => Some(format!("{a}; {b}")),
            (a, b) => a.or(b),
        }
    }

    /// [`FileStats::incomplete_note`] without what a flow file carries.
    fn own_incomplete_note(&self) -> Option<String> {
        let mut parts = Vec::new();
        if let Some(l) = self.live.filter(|l| l.dropped > 0) {
            let mut note = format!(
                "the kernel dropped {} packets before they could be read: they are not audited",
                l.dropped
            );
            if l.interface_dropped > 0 {
                note += &format!(
                    " (the interface also counts {} dropped, in all its traffic)",
                    l.interface_dropped
                );
            }
            parts.push(note);
        }
        {
            let [records, packets] = self.export_lost;
            let mut lost = Vec::new();
            if records > 0 {
                lost.push(format!("{records} records"));
            }
            if packets > 0 {
                lost.push(format!("{packets} NetFlow v9 export packets"));
            }
            if !lost.is_empty() {
                parts.push(format!(
                    "the exporters' sequence numbers show {} sent and never received \
                     (lost on the way, or dropped by a full socket buffer): they are not audited",
                    lost.join(" and ")
                ));
            }
        }
        if let Some(why) = &self.capture_failed {
            parts.push(match self.records {
                Some(_) => format!(
                    "receiving stopped after {} records: {why}",
                    self.packets_read
                ),
                None => format!(
                    "capturing stopped after {} packets: {why}",
                    self.packets_read
                ),
            });
        }
        (!parts.is_empty()).then(|| parts.join("; "))
    }

    /// A damage as reports say it: its byte offset, which in a compressed
    /// input counts bytes of the inflated capture ("uncompressed byte N"),
    /// and what is wrong.
    pub fn describe(&self, d: &Damage) -> String {
        if self.compressed {
            format!("uncompressed {d}")
        } else {
            d.to_string()
        }
    }

    /// Moves packets counted as decoded into a skip reason.
    pub(crate) fn unuse(&mut self, reason: Skip, packets: u64) {
        if packets > 0 {
            *self.skipped.entry(reason).or_default() += packets;
            self.packets_decoded -= packets;
        }
    }
}
