//! A plain file read in segments at once, each from a guessed record
//! start, checked and joined in file order (see the module documentation
//! of [`super`]).

use std::fs::File;
use std::sync::Mutex;

use super::feed::Tally;
use super::walk::{open_walk, walk, Stop, Until, Walked};
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

/// The segments of a file being walked at once, and what their tables
/// hold: a thread whose segment is done takes the second half of what is
/// left of the segment with the most left ([`Segments::split`]), so that
/// no thread waits while another walks on (a capture's flows are seldom
/// spread evenly over its bytes). The tables read ahead share the limits
/// between them: each may hold what the others leave.
struct Segments {
    spans: Mutex<Spans>,
    limits: Limits,
    /// The file's size when opened: where the last segment ends, as far
    /// as a split can tell.
    size: u64,
    /// Less than this left of a segment is not split.
    min_split: u64,
    /// Segments there may be at most, split ones included: twice those
    /// the file was cut into. Joining the tables costs each flow a look
    /// into every table before its own.
    max_spans: usize,
}

struct Spans {
    all: Vec<Span>,
    /// A table went over its share: the file is walked again as one
    /// segment, and nothing more is split.
    over: bool,
}

#[derive(Clone, Copy, Debug)]
struct Span {
    from: u64,
    /// Where its walk stops: the first record at or after it.
    until: u64,
    /// How far its walk has read: it asks for `until` again before it
    /// reads further, so a split lands at or after it.
    reached: u64,
    /// The flows and fragments its table holds, as of its last ask.
    held: (usize, usize),
    walking: bool,
}

impl Segments {
    fn new(bounds: &[u64], limits: Limits, size: u64, min_split: u64) -> Segments {
        let all = (bounds.windows(2))
            .map(|b| Span {
                from: b[0],
                until: b[1],
                reached: b[0],
                held: (0, 0),
                walking: true,
            })
            .collect();
        Segments {
            spans: Mutex::new(Spans { all, over: false }),
            limits,
            size,
            min_split,
            max_spans: 2 * bounds.len().saturating_sub(1),
        }
    }

    fn spans(&self) -> std::sync::MutexGuard<'_, Spans> {
        // A walk that panicked leaves nothing half-written here.
        self.spans.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Segment `id`'s walk is over; `over`: its table went over its share.
    fn done(&self, id: usize, over: bool) {
        let mut spans = self.spans();
        spans.all[id].walking = false;
        spans.over |= over;
    }

    /// Takes the second half of what is left of the segment with the most
    /// left, if that is worth a walk of its own: the new segment's index.
    fn split(&self) -> Option<usize> {
        let mut spans = self.spans();
        if spans.over || spans.all.len() >= self.max_spans {
            return None;
        }
        let left = |s: &Span| s.until.min(self.size).saturating_sub(s.reached);
        let (id, most) = (spans.all.iter().enumerate())
            .filter(|(_, s)| s.walking)
            .map(|(i, s)| (i, left(s)))
            .max_by_key(|&(i, left)| (left, std::cmp::Reverse(i)))?;
        if most < self.min_split.max(2) {
            return None;
        }
        let victim = &mut spans.all[id];
        let at = victim.reached + most / 2;
        let until = std::mem::replace(&mut victim.until, at);
        spans.all.push(Span {
            from: at,
            until,
            reached: at,
            held: (0, 0),
            walking: true,
        });
        Some(spans.all.len() - 1)
    }
}

/// Segment `id` of `segments`, as its walk sees its end.
struct SpanOf<'a> {
    segments: &'a Segments,
    id: usize,
}

impl Until for SpanOf<'_> {
    fn at(&self, reached: u64, held: (usize, usize)) -> (u64, Option<Limits>) {
        let mut spans = self.segments.spans();
        let me = &mut spans.all[self.id];
        (me.reached, me.held) = (reached, held);
        let until = me.until;
        // Tables of segments done are held until they are absorbed.
        let others = (spans.all.iter().enumerate())
            .filter(|&(i, _)| i != self.id)
            .fold((0, 0), |(f, g), (_, s)| (f + s.held.0, g + s.held.1));
        let l = self.segments.limits;
        let budget = Limits {
            max_flows: l.max_flows.saturating_sub(others.0).max(1),
            max_fragments: l.max_fragments.saturating_sub(others.1).max(1),
        };
        (until, Some(budget))
    }
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
    // A segment walked again (its start was guessed wrong) holds at most
    // its share of the limits; one that would hold more sends the file
    // back to one walk. So reading ahead never takes more memory than the
    // limits allow.
    let share = Limits {
        max_flows: (opts.limits.max_flows / segments).max(1),
        max_fragments: (opts.limits.max_fragments / segments).max(1),
    };
    // Walks from a record start at `at`, in `state`.
    let window_at = |at: u64| Window::new(FileAt { file, offset: at }, at, chunk, false);
    // The table of a segment (its budget is set again as it walks).
    let segment_table = || SegmentTable::new(share).within(opts.frozen.clone());
    // Walks a segment again from a record start at `at`, in `state`.
    let walk_at = |at: u64, state: Walker, until: u64| {
        walk(&mut window_at(at), 0, state, segment_table(), &until, opts)
    };
    // Walks the whole file within the limits.
    let whole = || {
        let table = SequentialTable::new(opts.limits).within(opts.frozen.clone());
        let w = walk(
            &mut window_at(first),
            0,
            walker.clone(),
            table,
            &u64::MAX,
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
    let shared = Segments::new(&bounds, opts.limits, size, opts.split_bytes);
    // Walks segment `id` (the first from the first record, the others from
    // a guessed one).
    let walk_segment = |id: usize| -> Guessed {
        let bound = SpanOf {
            segments: &shared,
            id,
        };
        let from = shared.spans().all[id].from;
        if id == 0 {
            let walked = walk(
                &mut window_at(first),
                0,
                walker.clone(),
                segment_table(),
                &bound,
                opts,
            );
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
            let w = walk(&mut win, pos, state.clone(), segment_table(), &bound, opts);
            (from + pos as u64, w)
        });
        Guessed { state, walked }
    };
    // Each thread walks a segment, then splits the one with the most left
    // and walks its second half, until none is worth splitting.
    let done: Mutex<Vec<(usize, Guessed)>> = Mutex::new(Vec::new());
    rayon::scope(|scope| {
        for k in 0..segments {
            let (walk_segment, shared, done) = (&walk_segment, &shared, &done);
            scope.spawn(move |_| {
                let mut next = Some(k);
                while let Some(id) = next {
                    let guess = walk_segment(id);
                    let over = guess
                        .walked
                        .as_ref()
                        .is_some_and(|(_, w)| w.stop == Stop::OverBudget);
                    shared.done(id, over);
                    done.lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .push((id, guess));
                    next = shared.split();
                }
            });
        }
    });
    let spans = shared.spans().all.clone();
    let mut guessed = done.into_inner().unwrap_or_else(|e| e.into_inner());
    guessed.sort_by_key(|(id, _)| spans[*id].from);
    // Each segment whose guess proves right, or walked again from where
    // the one before ended, absorbed in file order.
    let mut table = FlowTable::new();
    let mut tally = Tally::default();
    let (mut end, mut state) = (first, walker.clone());
    let mut over = false;
    for (id, guess) in guessed {
        let until = spans[id].until;
        let w = match guess {
            Guessed {
                state: assumed,
                walked: Some((start, w)),
            } if start == end && assumed == state => w,
            _ => walk_at(end, state, until),
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

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(max_flows: usize, max_fragments: usize) -> Limits {
        Limits {
            max_flows,
            max_fragments,
        }
    }

    /// A thread out of work takes the second half of what is left of the
    /// segment with the most left, down to the smallest split; the
    /// segment it split now ends where its own begins.
    #[test]
    fn a_thread_out_of_work_takes_half_of_what_is_left_of_the_longest_segment() {
        let mut segments = Segments::new(&[0, 100, u64::MAX], limits(10, 10), 200, 10);
        assert_eq!(segments.max_spans, 4);
        segments.max_spans = 6;
        let first = SpanOf {
            segments: &segments,
            id: 0,
        };
        let second = SpanOf {
            segments: &segments,
            id: 1,
        };
        // The first has read to 40 (60 left), the second to 180 (20 left:
        // the file ends at 200).
        assert_eq!(first.at(40, (1, 0)).0, 100);
        assert_eq!(second.at(180, (1, 0)).0, u64::MAX);
        segments.done(1, false);
        assert_eq!(segments.split(), Some(2));
        let spans = segments.spans().all.clone();
        assert_eq!((spans[0].from, spans[0].until), (0, 70));
        assert_eq!((spans[2].from, spans[2].until), (70, 100));
        // The first asks again: it now stops at 70.
        assert_eq!(first.at(50, (1, 0)).0, 70);
        // 20 left of the first, 30 of the third (it has read nothing).
        assert_eq!(segments.split(), Some(3));
        let spans = segments.spans().all.clone();
        assert_eq!(
            (spans[2].until, spans[3].from, spans[3].until),
            (85, 85, 100)
        );
        // 5 left of the first and of the third; 15 of the fourth, split.
        SpanOf {
            segments: &segments,
            id: 2,
        }
        .at(80, (0, 0));
        assert_eq!(first.at(65, (1, 0)).0, 70);
        assert_eq!(segments.split(), Some(4));
        assert_eq!(segments.spans().all[3].until, 92);
        // Less than 10 left anywhere: nothing is split, nor once all are
        // done.
        assert_eq!(segments.split(), None);
        segments.spans().all[4].reached = 0;
        assert_eq!(segments.split(), Some(5));
        // Six segments: no more.
        segments.spans().all[5].reached = 0;
        assert_eq!(segments.split(), None);
        for id in 0..5 {
            segments.done(id, false);
        }
        assert_eq!(segments.split(), None);
    }

    /// Once a table went over its share, the file is walked again as one
    /// segment: nothing more is split.
    #[test]
    fn nothing_is_split_once_a_table_went_over() {
        let segments = Segments::new(&[0, 100, u64::MAX], limits(10, 10), 1000, 1);
        segments.done(1, true);
        assert_eq!(segments.split(), None);
    }

    /// Each table read ahead may hold what the others leave of the limits,
    /// the tables of segments done included.
    #[test]
    fn tables_read_ahead_share_the_limits() {
        let segments = Segments::new(&[0, 10, 20, u64::MAX], limits(100, 50), 30, 1);
        let of = |id| SpanOf {
            segments: &segments,
            id,
        };
        assert_eq!(of(0).at(5, (30, 10)).1, Some(limits(100, 50)));
        assert_eq!(of(1).at(15, (20, 45)).1, Some(limits(70, 40)));
        segments.done(1, false);
        // The second's table is held until it is absorbed; none is left a
        // budget of nothing.
        assert_eq!(of(2).at(25, (0, 0)).1, Some(limits(50, 1)));
    }
}
