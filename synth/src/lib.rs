//! Synthetic captures for portaudit's tests and benchmarks: scripted
//! conversations ([`Scenario`]) written as real pcap or pcapng bytes, the
//! fixture captures made of them ([`fixtures`]), the same frames in every
//! tunnel and link-layer shim portaudit opens ([`Encapsulation`]), streamed hostile floods
//! ([`write_flood`]) and enterprise-like traffic ([`write_enterprise`]).
//!
//! This crate does not depend on portaudit: portaudit's tests, benches and
//! unit tests use it as a dev-dependency, and the frames it writes are built
//! independently of the decoder they check. The `portaudit-fixtures` binary
//! writes all of it to files.

#![forbid(unsafe_code)]

mod encap;
mod enterprise;
pub mod fixtures;
mod flood;
mod payloads;
mod pcap_writer;
mod rng;
mod scenario;

pub use encap::Encapsulation;
pub use enterprise::{write_enterprise, EnterpriseSpec, EnterpriseStats};
pub use flood::{write_flood, FloodCounts};
pub use payloads::tls_client_hello;
pub use pcap_writer::PcapWriter;
pub use rng::Rng;
pub use scenario::{sock, Scenario, Sock};
