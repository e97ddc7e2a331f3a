//! Why a record, packet or flow that was read was not used: one
//! vocabulary for every stage, each reason with a stable label.

use std::cmp::Ordering;
use std::fmt;

use serde::{Serialize, Serializer};

use crate::capture::{LinkType, RecordSkip};
use crate::decode::SkipReason;

/// A reason a packet that was read is not in the audit. A reason is its
/// label: two values with one label (two link types of one name) are the
/// same reason, counted together.
#[derive(Clone, Copy, Debug)]
pub enum Skip {
    /// The container's record could not be handed to the decoder.
    Record(RecordSkip),
    /// The decoder could not make a flow's packet of it.
    Packet(SkipReason),
    /// `--filter` rejected it.
    NotMatchingFilter,
    /// `--filter` cannot be compiled for its link type.
    FilterInapplicable(LinkType),
    /// Its flow was first seen after `--max-flows` flows were tracked.
    FlowLimit,
    /// A line of a flow-record input that is no usable record.
    FlowRecord(super::records::RecordFault),
}

impl Skip {
    /// The stable kebab-case label reports and `--stats` use.
    pub fn label(&self) -> String {
        match self {
            Skip::Record(r) => r.label().to_string(),
            Skip::Packet(p) => p.label(),
            Skip::NotMatchingFilter => "not-matching-filter".into(),
            Skip::FilterInapplicable(link) => {
                format!("filter-not-applicable-to-{}", link.name())
            }
            Skip::FlowLimit => "flow-limit".into(),
            Skip::FlowRecord(f) => f.label().into(),
        }
    }

    /// Left out by `--filter`: traffic the user chose not to audit.
    pub fn is_filter(&self) -> bool {
        matches!(self, Skip::NotMatchingFilter | Skip::FilterInapplicable(_))
    }
}

impl fmt::Display for Skip {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.label())
    }
}

/// Reasons are listed in the order of their labels, in every report.
impl Ord for Skip {
    fn cmp(&self, other: &Self) -> Ordering {
        self.label().cmp(&other.label())
    }
}

impl PartialEq for Skip {
    fn eq(&self, other: &Self) -> bool {
        self.label() == other.label()
    }
}

impl Eq for Skip {}

impl std::hash::Hash for Skip {
    fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
        self.label().hash(h);
    }
}

impl PartialOrd for Skip {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Serialize for Skip {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_the_pinned_ones_and_order_follows_them() {
        let all = [
            Skip::FlowLimit,
            Skip::NotMatchingFilter,
            Skip::FilterInapplicable(LinkType::RAW),
            Skip::Packet(SkipReason::NonIpEthertype(0x0806)),
            Skip::Record(RecordSkip::CorruptBlock),
        ];
        let labels: Vec<String> = all.iter().map(Skip::label).collect();
        assert_eq!(
            labels,
            [
                "flow-limit",
                "not-matching-filter",
                "filter-not-applicable-to-raw-ip",
                "non-ip-ethertype-0x0806",
                "pcapng-corrupt-packet-block"
            ]
        );
        let mut sorted = all.to_vec();
        sorted.sort();
        let mut by_label = labels.clone();
        by_label.sort();
        assert_eq!(sorted.iter().map(Skip::label).collect::<Vec<_>>(), by_label);
        assert!(Skip::NotMatchingFilter.is_filter());
        assert!(!Skip::FlowLimit.is_filter());
    }
}
