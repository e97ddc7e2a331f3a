//! Where a flow was first seen: the input, and the place in it (a capture
//! record's byte offset, a log line, a live packet's number), so that a
//! finding names the evidence a person can open (docs/audit.md#finding-rows).
//!
//! A flow keeps its origin as an index into the run's list of inputs plus
//! a position: 16 bytes. An input reads its flows with index 0 for itself
//! (a flow file, with its own list of the inputs its flows came from); the
//! run gives each input its place in one list, in the order inputs are
//! absorbed, and renumbers the input's flows as it takes them.

use std::collections::HashMap;
use std::fmt;

/// How an input's positions are counted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Unit {
    /// Byte offset of the packet record or export message, from 0.
    Byte,
    /// Line number, from 1.
    Line,
    /// Packet (live capture) or datagram (live collector) number, from 1.
    Packet,
}

impl Unit {
    pub fn label(self) -> &'static str {
        match self {
            Unit::Byte => "byte",
            Unit::Line => "line",
            Unit::Packet => "packet",
        }
    }

    pub fn parse(s: &str) -> Option<Unit> {
        [Unit::Byte, Unit::Line, Unit::Packet]
            .into_iter()
            .find(|u| u.label() == s)
    }
}

/// An input as origins name it.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Input {
    /// As the input was named to portaudit (a path as given).
    pub name: String,
    pub unit: Unit,
}

/// A flow's first evidence: an input of the run's [`Inputs`] and a place
/// in it. Compact: `input` is the index plus one, 0 for none.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Origin {
    input: u32,
    at: u64,
}

impl Origin {
    /// Position `at` of the input read (index 0 of its own list).
    pub const fn here(at: u64) -> Origin {
        Origin { input: 1, at }
    }

    /// Position `at` of input `index` of a list.
    pub fn of(index: u32, at: u64) -> Origin {
        Origin {
            input: index.saturating_add(1),
            at,
        }
    }

    pub fn is_none(&self) -> bool {
        self.input == 0
    }

    /// The input's index in its list, unless there is no origin.
    pub fn input(&self) -> Option<u32> {
        self.input.checked_sub(1)
    }

    pub fn at(&self) -> u64 {
        self.at
    }

    /// The same place, its input renumbered by `map` (old index → new).
    fn renumbered(self, map: &[u32]) -> Origin {
        match self.input().and_then(|i| map.get(i as usize)) {
            Some(&to) => Origin::of(to, self.at),
            None => Origin::default(),
        }
    }
}

/// The inputs origins name, in the order the run absorbed them; an input
/// named twice (a flow file of a capture also read) is listed once.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Inputs {
    list: Vec<Input>,
    index: HashMap<Input, u32>,
}

impl Inputs {
    pub fn new() -> Inputs {
        Inputs::default()
    }

    pub fn of(list: impl IntoIterator<Item = Input>) -> Inputs {
        let mut inputs = Inputs::new();
        for i in list {
            inputs.intern(i);
        }
        inputs
    }

    /// The index of `input`, listed now if it was not.
    pub fn intern(&mut self, input: Input) -> u32 {
        if let Some(&i) = self.index.get(&input) {
            return i;
        }
        let i = u32::try_from(self.list.len()).unwrap_or(u32::MAX);
        self.list.push(input.clone());
        self.index.insert(input, i);
        i
    }

    /// Lists every input of `other` (an input's own list): the
    /// renumbering of its indices into this list, `None` when it is the
    /// same numbering (nothing to renumber).
    pub fn take(&mut self, other: &Inputs) -> Option<Vec<u32>> {
        let map: Vec<u32> = other.list.iter().map(|i| self.intern(i.clone())).collect();
        let same = map.iter().enumerate().all(|(k, &i)| i as usize == k);
        (!same).then_some(map)
    }

    pub fn get(&self, index: u32) -> Option<&Input> {
        self.list.get(index as usize)
    }

    /// The input `origin` names and the position, borrowed.
    pub fn get_place(&self, origin: Origin) -> Option<(&Input, u64)> {
        Some((self.get(origin.input()?)?, origin.at))
    }

    /// Where `origin` is, as a finding names it.
    pub fn place(&self, origin: Origin) -> Option<Place> {
        let (input, at) = self.get_place(origin)?;
        Some(Place {
            input: input.clone(),
            at,
        })
    }

    pub fn len(&self) -> usize {
        self.list.len()
    }

    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }
}

/// A place in an input, named: what a finding row shows as its `source`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Place {
    pub input: Input,
    pub at: u64,
}

/// `conn.log line 17`, `a.pcap byte 24`, `eth0 packet 3`.
impl fmt::Display for Place {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} {}",
            self.input.name,
            self.input.unit.label(),
            self.at
        )
    }
}

/// Renumbers the origins of `flows` by `map` (see [`Inputs::take`]).
pub(super) fn renumber<'a>(stats: impl Iterator<Item = &'a mut super::FlowStats>, map: &[u32]) {
    for s in stats {
        let o = s.origin();
        if !o.is_none() {
            s.set_origin(o.renumbered(map));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(name: &str, unit: Unit) -> Input {
        Input {
            name: name.into(),
            unit,
        }
    }

    #[test]
    fn inputs_are_listed_once_and_renumbered() {
        let mut run = Inputs::of([input("a.pcap", Unit::Byte)]);
        let own = Inputs::of([input("a.pcap", Unit::Byte)]);
        assert_eq!(run.take(&own), None, "same numbering: nothing to do");
        let file = Inputs::of([input("b.log", Unit::Line), input("a.pcap", Unit::Byte)]);
        let map = run.take(&file).unwrap();
        assert_eq!(map, vec![1, 0]);
        assert_eq!(Origin::of(0, 7).renumbered(&map), Origin::of(1, 7));
        assert_eq!(
            run.place(Origin::of(1, 7)).unwrap().to_string(),
            "b.log line 7"
        );
        assert!(Origin::default().renumbered(&map).is_none());
    }
}
