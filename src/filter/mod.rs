//! `--filter`: tcpdump's filter expressions on the packets our reader walks.
//!
//! libpcap compiles the expression once per link type met (a pcapng file
//! may hold several); the [`bpf::Program`] it gives runs in safe Rust on
//! every packet, on every worker, before decoding. So a filtered run and an
//! unfiltered one read, count and decode through the same code, and a
//! packet the filter rejects is counted (`not-matching-filter`), never lost.
//!
//! Compiling needs libpcap, so it exists only with the `libpcap` feature;
//! the rest of this module does not, and its tests run in every build.

pub mod bpf;
#[cfg(feature = "libpcap")]
mod libpcap;

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex};

use crate::capture::LinkType;
use bpf::Program;

#[cfg(feature = "libpcap")]
pub use libpcap::compile;

/// What compiling for one link type gave: the program, or libpcap's reason.
type Compiled = Arc<Result<Program, String>>;

type Compiler = dyn Fn(LinkType) -> Result<Program, String> + Send + Sync;

/// A filter expression and its programs, compiled as link types are met.
pub struct PacketFilter {
    expression: String,
    compile: Box<Compiler>,
    programs: Mutex<BTreeMap<u32, Compiled>>,
}

impl fmt::Debug for PacketFilter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PacketFilter")
            .field("expression", &self.expression)
            .finish_non_exhaustive()
    }
}

/// What the filter says of one packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FilterVerdict {
    Match,
    NoMatch,
    /// The expression means nothing on this link type (`ether host` on raw
    /// IP): libpcap could not compile it, see [`PacketFilter::failures`].
    Inapplicable,
}

impl PacketFilter {
    /// A filter whose programs `compile` gives, per link type.
    pub fn with_compiler(
        expression: &str,
        compile: impl Fn(LinkType) -> Result<Program, String> + Send + Sync + 'static,
    ) -> PacketFilter {
        PacketFilter {
            expression: expression.to_string(),
            compile: Box::new(compile),
            programs: Mutex::new(BTreeMap::new()),
        }
    }

    /// A filter compiled by libpcap. The expression must compile for at
    /// least one of the link types captures usually have (Ethernet, raw IP,
    /// Linux cooked, BSD loopback), else libpcap's message for Ethernet is
    /// the error: a typo is caught before any capture is read.
    #[cfg(feature = "libpcap")]
    pub fn libpcap(expression: &str) -> Result<PacketFilter, String> {
        let expr = expression.to_string();
        let filter = PacketFilter::with_compiler(expression, move |link| compile(&expr, link));
        let usual = [
            LinkType::ETHERNET,
            LinkType::RAW,
            LinkType::LINUX_SLL,
            LinkType::NULL,
        ];
        let mut first_error = None;
        for link in usual {
            match &*filter.program(link) {
                Ok(_) => return Ok(filter),
                Err(e) => {
                    first_error.get_or_insert_with(|| e.clone());
                }
            }
        }
        Err(format!(
            "--filter {expression:?}: {}",
            first_error.unwrap_or_default()
        ))
    }

    pub fn expression(&self) -> &str {
        &self.expression
    }

    /// The program for `link`, compiled on first use.
    pub fn program(&self, link: LinkType) -> Compiled {
        // A poisoned lock only means another worker panicked while
        // compiling; the map itself is still whole.
        let mut programs = self.programs.lock().unwrap_or_else(|p| p.into_inner());
        Arc::clone(
            programs
                .entry(link.0)
                .or_insert_with(|| Arc::new((self.compile)(link))),
        )
    }

    /// Link types met that the expression could not be compiled for, with
    /// libpcap's reason, in link-type order.
    pub fn failures(&self) -> Vec<(LinkType, String)> {
        let programs = self.programs.lock().unwrap_or_else(|p| p.into_inner());
        programs
            .iter()
            .filter_map(|(&l, c)| c.as_ref().as_ref().err().map(|e| (LinkType(l), e.clone())))
            .collect()
    }

    /// What reports say of this filter after a run.
    pub fn report(&self) -> FilterReport {
        FilterReport {
            expression: self.expression.clone(),
            not_applicable: self.failures(),
        }
    }
}

/// What reports say of a filter: its expression, and the link types met
/// that it could not be compiled for, with libpcap's reason.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FilterReport {
    pub expression: String,
    pub not_applicable: Vec<(LinkType, String)>,
}

impl FilterReport {
    /// A filter that runs elsewhere (in the kernel, for a live capture).
    pub fn named(expression: &str) -> FilterReport {
        FilterReport {
            expression: expression.to_string(),
            not_applicable: Vec::new(),
        }
    }
}

/// A walk's view of a filter: the program of the link type of the packet
/// before, so that a run of packets of one link type takes no lock.
#[derive(Debug)]
pub struct FilterCursor {
    filter: Arc<PacketFilter>,
    last: Option<(LinkType, Compiled)>,
    /// A BSD loopback packet whose family is in the other byte order.
    swapped: Vec<u8>,
}

impl FilterCursor {
    pub fn new(filter: Arc<PacketFilter>) -> FilterCursor {
        FilterCursor {
            filter,
            last: None,
            swapped: Vec::new(),
        }
    }

    /// Judges one packet: `data` as captured, `wire_len` on the wire.
    #[inline]
    pub fn judge(&mut self, link: LinkType, data: &[u8], wire_len: u32) -> FilterVerdict {
        let program = match &self.last {
            Some((l, p)) if *l == link => p,
            _ => {
                let p = self.filter.program(link);
                &self.last.insert((link, p)).1
            }
        };
        // BSD loopback's address family is in the byte order of the
        // machine that captured, and libpcap compiles for this machine's
        // (reading a file of the other order, it swaps its constants):
        // a family in the other order is swapped here instead.
        let data = match data.first_chunk::<4>() {
            Some(af) if link == LinkType::NULL && foreign_family(*af) => {
                self.swapped.clear();
                self.swapped.extend_from_slice(data);
                self.swapped[..4].reverse();
                &self.swapped
            }
            _ => data,
        };
        match program.as_ref() {
            Ok(p) if p.run(data, wire_len) > 0 => FilterVerdict::Match,
            Ok(_) => FilterVerdict::NoMatch,
            Err(_) => FilterVerdict::Inapplicable,
        }
    }
}

/// Whether a BSD loopback family reads as a family only in the other
/// byte order (families are small numbers).
fn foreign_family(af: [u8; 4]) -> bool {
    let here = u32::from_ne_bytes(af);
    here > 0xffff && here.swap_bytes() <= 0xffff
}

#[cfg(test)]
mod tests {
    use super::bpf::Insn;
    use super::*;

    /// `ip` for Ethernet; nothing else compiles.
    fn ip_filter() -> PacketFilter {
        PacketFilter::with_compiler("ip", |link| {
            if link != LinkType::ETHERNET {
                return Err(format!("no IP on {}", link.name()));
            }
            Program::new(vec![
                Insn {
                    code: 0x28,
                    jt: 0,
                    jf: 0,
                    k: 12,
                },
                Insn {
                    code: 0x15,
                    jt: 0,
                    jf: 1,
                    k: 0x0800,
                },
                Insn {
                    code: 0x06,
                    jt: 0,
                    jf: 0,
                    k: 65535,
                },
                Insn {
                    code: 0x06,
                    jt: 0,
                    jf: 0,
                    k: 0,
                },
            ])
            .map_err(|e| e.to_string())
        })
    }

    #[test]
    fn judges_per_link_type_and_remembers_failures() {
        let filter = Arc::new(ip_filter());
        let mut cursor = FilterCursor::new(Arc::clone(&filter));
        let mut frame = [0u8; 34];
        frame[12] = 0x08;
        assert_eq!(
            cursor.judge(LinkType::ETHERNET, &frame, 34),
            FilterVerdict::Match
        );
        frame[12] = 0x86;
        assert_eq!(
            cursor.judge(LinkType::ETHERNET, &frame, 34),
            FilterVerdict::NoMatch
        );
        assert_eq!(
            cursor.judge(LinkType::RAW, &frame, 34),
            FilterVerdict::Inapplicable
        );
        assert_eq!(
            cursor.judge(LinkType::ETHERNET, &frame, 34),
            FilterVerdict::NoMatch
        );
        assert_eq!(
            filter.failures(),
            vec![(LinkType::RAW, "no IP on raw-ip".to_string())]
        );
    }
}
