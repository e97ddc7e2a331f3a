//! The entry points of reading: a capture input, a stream, bytes in
//! memory. Every one ends in [`read_source`].

use std::io::{self, Read};

use super::feed::{fill_stats, Tally};
use super::segments::read_file;
use super::stream::read_stream;
use super::{FileStats, IngestOptions};
use crate::capture::{CaptureInput, InputSource};
use crate::flow::FlowTable;

/// Reads one capture into its own table.
pub fn ingest_one(input: &CaptureInput, opts: &IngestOptions) -> (FlowTable, FileStats) {
    match input.open() {
        Err(e) => {
            let mut stats = FileStats::named(input.display_name());
            stats.unreadable = Some(e.message);
            (FlowTable::new(), stats)
        }
        Ok(source) => read_source(input.display_name(), source, opts),
    }
}

/// Reads a capture held in memory, as a stream is read (tests, fuzzing).
pub fn ingest_bytes(name: &str, buf: &[u8]) -> (FlowTable, FileStats) {
    ingest_reader(name, Box::new(io::Cursor::new(buf.to_vec())))
}

/// Reads a capture front to back from `reader`, as stdin is read.
pub fn ingest_reader(name: &str, reader: Box<dyn Read + Send>) -> (FlowTable, FileStats) {
    ingest_reader_with(name, reader, &IngestOptions::default())
}

/// [`ingest_reader`] with explicit limits.
pub fn ingest_reader_with(
    name: &str,
    reader: Box<dyn Read + Send>,
    opts: &IngestOptions,
) -> (FlowTable, FileStats) {
    let source = InputSource {
        reader,
        compressed: false,
        size: None,
        file: None,
    };
    read_source(name.to_string(), source, opts)
}

/// Reads an opened capture into its own table: every entry point ends here.
pub(super) fn read_source(
    name: String,
    source: InputSource,
    opts: &IngestOptions,
) -> (FlowTable, FileStats) {
    let mut stats = FileStats::named(name);
    stats.compressed = source.compressed;
    let walked = match (source.file, source.size) {
        (Some(file), Some(size)) => read_file(&file, size, &mut stats, opts),
        _ => read_stream(source.reader, &mut stats, opts),
    };
    match walked {
        Some((table, tally)) => finish_file(table, tally, stats),
        None => (FlowTable::new(), stats),
    }
}

/// Seals the table and moves the tally into the file's stats.
pub(super) fn finish_file(
    mut table: FlowTable,
    tally: Tally,
    mut stats: FileStats,
) -> (FlowTable, FileStats) {
    let orphans = table.seal();
    let overflow = table.take_overflow();
    fill_stats(&mut stats, tally, overflow, orphans);
    (table, stats)
}
