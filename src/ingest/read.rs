//! The entry points of reading: a capture input, a stream, bytes in
//! memory. Every one ends in [`read_source`].

use std::io::{self, Read};
use std::os::unix::fs::FileExt;

use super::feed::{fill_stats, Tally};
use super::records::read_records;
use super::segments::read_file;
use super::stream::read_stream;
use super::{FileStats, IngestOptions};
use crate::capture::RecordFormat;
use crate::capture::{CaptureInput, Damage, DamageKind, InputSource};
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
    // Flow records are told from captures by their first bytes; a
    // capture's reader goes on from where the look left it.
    let (head, source) = match peek(source) {
        Ok(peeked) => peeked,
        Err(e) => {
            stats.damage.push(Damage {
                offset: 0,
                kind: DamageKind::Unreadable {
                    compressed: stats.compressed,
                    error: e.to_string(),
                },
            });
            return (FlowTable::new(), stats);
        }
    };
    if let Some(format) = RecordFormat::sniff(&head) {
        let reader = io::BufReader::with_capacity(1 << 20, source.reader);
        let mut table = read_records(format, reader, &mut stats, opts);
        stats.overflow = table.take_overflow();
        return (table, stats);
    }
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

/// Bytes looked at to tell a record file from a capture: a Zeek header's
/// first line, or a JSON line's first fields.
const PEEK: usize = 4096;

/// The first bytes of `source`, and the source to read from its start.
fn peek(mut source: InputSource) -> io::Result<(Vec<u8>, InputSource)> {
    let mut head = vec![0; PEEK];
    if let Some(file) = &source.file {
        // A plain file: a positional read leaves its reader where it was.
        let mut n = 0;
        while n < head.len() {
            match file.read_at(&mut head[n..], n as u64) {
                Ok(0) => break,
                Ok(k) => n += k,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        head.truncate(n);
        return Ok((head, source));
    }
    let (n, error) = crate::capture::read_up_to(&mut source.reader, &mut head);
    if let Some(e) = error {
        return Err(e);
    }
    head.truncate(n);
    source.reader = Box::new(io::Cursor::new(head.clone()).chain(source.reader));
    Ok((head, source))
}
