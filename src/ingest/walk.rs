//! Walking records from a window into a flow table.

use std::sync::atomic::Ordering;

use super::feed::{Feed, Tally};
use super::window::{Source, Window};
use super::{FileStats, IngestOptions};
use crate::capture::{Damage, DamageKind, Step, Walker};
use crate::flow::{Limits, PacketTable};

/// Why a walk stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Stop {
    /// At the first record at or after the end of its segment.
    Boundary,
    /// At the end of the input (cut short or not).
    End,
    /// At a record too corrupt to walk past.
    Damaged,
    /// Its table would hold more than its budget
    /// ([`PacketTable::over`]).
    OverBudget,
}

/// A walk of records: its flows and counts, and where, in which state
/// and why it stopped.
pub(super) struct Walked<T> {
    pub(super) table: T,
    pub(super) tally: Tally,
    pub(super) end: u64,
    pub(super) walker: Walker,
    pub(super) stop: Stop,
}

/// Where a walk ends: a fixed input offset, or the end of a segment that
/// a thread out of work may move back to take the rest
/// ([`super::segments`]).
pub(super) trait Until {
    /// The offset the walk stops at (the first record at or after it),
    /// asked each time the window is refilled: the walk has read the input
    /// up to `reached` and its table holds `held` flows and fragments. With
    /// it, what the table may hold from now on, if that changes.
    fn at(&self, reached: u64, held: (usize, usize)) -> (u64, Option<Limits>);
}

impl Until for u64 {
    fn at(&self, _: u64, _: (usize, usize)) -> (u64, Option<Limits>) {
        (*self, None)
    }
}

/// Walks the records from `pos` of the window (a record start, in the
/// state `walker` holds there) until the first record at or after input
/// offset `until`, the end of the input, damage that stops the walk, or,
/// for a table with a budget, more flows or fragments than the budget.
pub(super) fn walk<S: Source, T: PacketTable>(
    win: &mut Window<S>,
    mut pos: usize,
    mut walker: Walker,
    mut table: T,
    bound: &impl Until,
    opts: &IngestOptions,
) -> Walked<T> {
    let mut feed = Feed::new(opts);
    // Packets already added to the progress counts.
    let mut counted = 0;
    let stop = 'walk: loop {
        let mut need = 0;
        // Every record the walk reaches before it asks again lies in the
        // window: the end cannot move back past them.
        let (until, budget) = bound.at(win.base + win.len as u64, table.held());
        if let Some(budget) = budget {
            table.set_budget(budget);
        }
        loop {
            if win.base + pos as u64 >= until {
                break 'walk Stop::Boundary;
            }
            match walker.step(win.bytes(), pos, win.base) {
                Step::Packet { record, next } => {
                    let at = win.base + pos as u64;
                    pos = next;
                    let r = record;
                    if feed.packet(
                        r.link,
                        r.data,
                        r.orig_len,
                        r.ts,
                        at,
                        win.bytes(),
                        &mut table,
                    ) {
                        break 'walk Stop::OverBudget;
                    }
                }
                Step::Skipped { skip, next, damage } => {
                    pos = next;
                    feed.tally.read += 1;
                    *feed.tally.record_skips.entry(skip).or_default() += 1;
                    feed.tally.damage.extend(damage);
                }
                Step::Block { next, damage } => {
                    pos = next;
                    feed.tally.damage.extend(damage);
                }
                Step::End if win.at_eof => break 'walk Stop::End,
                Step::End => break,
                Step::NeedMore { need: more } if win.at_eof => {
                    feed.tally.damage.push(Damage {
                        offset: win.base + pos as u64,
                        kind: DamageKind::CutShort {
                            present: win.len - pos,
                            needed: more,
                        },
                    });
                    break 'walk Stop::End;
                }
                Step::NeedMore { need: more } => {
                    need = more;
                    break;
                }
                Step::Damaged(d) => {
                    feed.tally.damage.push(d);
                    break 'walk Stop::Damaged;
                }
            }
        }
        if let Some(p) = &opts.progress {
            p.bytes.fetch_add(pos as u64, Ordering::Relaxed);
            p.packets
                .fetch_add(feed.tally.read - counted, Ordering::Relaxed);
            counted = feed.tally.read;
        }
        // The batch's payloads lie in the window: it is added before the
        // window moves.
        feed.flush(&mut table, win.bytes());
        feed.tally.damage.extend(win.advance(pos, need));
        pos = 0;
    };
    if let Some(p) = &opts.progress {
        p.bytes.fetch_add(pos as u64, Ordering::Relaxed);
        p.packets
            .fetch_add(feed.tally.read - counted, Ordering::Relaxed);
    }
    feed.flush(&mut table, win.bytes());
    Walked {
        table,
        tally: feed.tally,
        end: win.base + pos as u64,
        walker,
        stop,
    }
}

/// Reads the file header; returns the walker and the window positioned at
/// the first record. `None`: the input is not a capture (said in `stats`).
pub(super) fn open_walk<S: Source>(
    win: &mut Window<S>,
    stats: &mut FileStats,
) -> Option<(Walker, usize)> {
    loop {
        match Walker::open(win.bytes(), win.at_eof) {
            Ok(Some((w, pos))) => {
                stats.format = w.format_name().to_string();
                return Some((w, pos));
            }
            Ok(None) => {
                let need = win.buf.len();
                stats.damage.extend(win.advance(0, need));
            }
            Err(e) => {
                stats.unreadable = Some(e.to_string());
                return None;
            }
        }
    }
}
