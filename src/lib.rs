//! portaudit: audits packet captures against the port matrices that vendors
//! publish for their products.
//!
//! The pipeline runs one way: [`capture`] (records) → [`decode`] (packet
//! summaries) → [`flow`] (mergeable flow tables) → [`audit`] (rules × flows
//! → findings) → [`report`] (writers that format, never decide). [`rules`]
//! loads profiles and deployments; [`app`] wires the stages and owns the
//! threading. Nothing in the library sees the command line.

#![forbid(unsafe_code)]

pub mod app;
pub mod audit;
pub mod capture;
pub mod decode;
pub mod filter;
pub mod flow;
pub mod ingest;
pub mod report;
pub mod rpc;
pub mod rules;
