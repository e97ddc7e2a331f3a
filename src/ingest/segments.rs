//! A plain file read in segments at once, each from a guessed record
//! start, checked and joined in file order (see the module documentation
//! of [`super`]).

use std::fs::File;

use rayon::prelude::*;

use super::feed::Tally;
use super::walk::{open_walk, walk, Stop, Walked};
use super::window::{FileAt, Source, Window};
use super::{FileStats, IngestOptions, MIN_SEGMENT_BYTES};
use crate::capture::{Step, Walker};
use crate::flow::{FlowTable, Limits, SegmentTable, SequentialTable};

/// A segment walked from a guessed start, in a guessed state.
pub(super) struct Guessed {
    state: Walker,
    /// Where the walk began, and the walk (`None`: nothing looked like a
    /// record).
    walked: Option<(u64, Walked<SegmentTable>)>,
}

/// Reads a plain file `size` bytes long (when opened): in segments at
/// once when it is large enough, else in one walk.
pub(super) fn read_file(
    file: &File,
    size: u64,
    stats: &mut FileStats,
    opts: &IngestOptions,
) -> Option<(FlowTable, Tally)> {
    let chunk = opts.chunk_bytes;
    let mut head = Window::new(FileAt { file, offset: 0 }, 0, chunk, false);
    let (walker, first) = open_walk(&mut head, stats)?;
    let first = head.base + first as u64;
    let span = size.saturating_sub(first);
    let segments = opts.segments.unwrap_or_else(|| {
        let threads = rayon::current_num_threads() as u64;
        (span / MIN_SEGMENT_BYTES).clamp(1, threads.max(1)) as usize
    });
    // Tables read ahead hold at most their share of the limits between
    // them; one that would hold more sends the file back to one walk. So
    // reading ahead never takes more memory than the limits allow.
    let share = Limits {
        max_flows: (opts.limits.max_flows / segments).max(1),
        max_fragments: (opts.limits.max_fragments / segments).max(1),
    };
    // Walks from a record start at `at`, in `state`.
    let window_at = |at: u64| Window::new(FileAt { file, offset: at }, at, chunk, false);
    // Walks a segment from a record start at `at`, in `state`.
    let walk_at = |at: u64, state: Walker, until: u64| {
        let table = SegmentTable::new(share).within(opts.frozen.clone());
        walk(&mut window_at(at), 0, state, table, until, opts)
    };
    // Walks the whole file within the limits.
    let whole = || {
        let table = SequentialTable::new(opts.limits).within(opts.frozen.clone());
        let w = walk(
            &mut window_at(first),
            0,
            walker.clone(),
            table,
            u64::MAX,
            opts,
        );
        Some((w.table.into(), w.tally))
    };
    if segments <= 1 {
        return whole();
    }
    // The state a walk has at the first packet: what later segments assume.
    let Some(at_first_packet) = state_at_first_packet(&head, walker.clone(), first) else {
        return whole();
    };
    drop(head);
    let bounds: Vec<u64> = (0..segments as u64)
        .map(|k| first + span / segments as u64 * k)
        .chain(std::iter::once(u64::MAX))
        .collect();
    let guessed: Vec<Guessed> = (0..segments)
        .into_par_iter()
        .map(|k| {
            let (from, until) = (bounds[k], bounds[k + 1]);
            if k == 0 {
                let walked = walk_at(first, walker.clone(), until);
                return Guessed {
                    state: walker.clone(),
                    walked: Some((first, walked)),
                };
            }
            let mut win = Window::new(FileAt { file, offset: from }, from, chunk, false);
            while win.len == 0 && !win.at_eof {
                let need = win.buf.len();
                let _ = win.advance(0, need);
            }
            let state = at_first_packet.clone();
            let walked = state.find_record(win.bytes(), 0, from).map(|pos| {
                let table = SegmentTable::new(share).within(opts.frozen.clone());
                let w = walk(&mut win, pos, state.clone(), table, until, opts);
                (from + pos as u64, w)
            });
            Guessed { state, walked }
        })
        .collect();
    // Each segment whose guess proves right, or walked again from where
    // the one before ended, absorbed in file order.
    let mut table = FlowTable::new();
    let mut tally = Tally::default();
    let (mut end, mut state) = (first, walker.clone());
    let mut over = false;
    for (k, guess) in guessed.into_iter().enumerate() {
        let w = match guess {
            Guessed {
                state: assumed,
                walked: Some((start, w)),
            } if start == end && assumed == state => w,
            _ => walk_at(end, state, bounds[k + 1]),
        };
        if w.stop == Stop::OverBudget {
            over = true;
            break;
        }
        table.absorb(w.table, &opts.limits);
        tally.merge(w.tally);
        if w.stop != Stop::Boundary {
            break;
        }
        (end, state) = (w.end, w.walker);
    }
    if over {
        // Every table read ahead is dropped by now: the walk within the
        // limits starts with nothing else held.
        drop(table);
        return whole();
    }
    Some((table, tally))
}

/// The state a walk from input offset `first` is in when it meets the
/// first packet record, if `head` holds that far.
pub(super) fn state_at_first_packet<S: Source>(
    head: &Window<S>,
    mut walker: Walker,
    first: u64,
) -> Option<Walker> {
    let mut pos = (first - head.base) as usize;
    loop {
        let mut probe = walker.clone();
        match probe.step(head.bytes(), pos, head.base) {
            Step::Block { next, .. } => {
                walker = probe;
                pos = next;
            }
            Step::Packet { .. } | Step::Skipped { .. } => return Some(walker),
            _ => return None,
        }
    }
}
