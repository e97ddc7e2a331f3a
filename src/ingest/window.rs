//! Where a walk gets its bytes: positional reads of a file, or a stream
//! read ahead by a thread of its own, through a window refilled a chunk at
//! a time.

use std::fs::File;
use std::io::{self, Read};
use std::os::unix::fs::FileExt;
use std::sync::mpsc;

use crate::capture::{read_up_to, Damage, DamageKind};

/// Where a walk gets its bytes.
pub(super) trait Source {
    /// Reads the next bytes into `buf`; 0 at the end of the input.
    fn fill(&mut self, buf: &mut [u8]) -> io::Result<usize>;
}

/// A plain file read from an offset on with positional reads, so that
/// several walks read one file at once.
pub(super) struct FileAt<'f> {
    pub(super) file: &'f File,
    pub(super) offset: u64,
}

impl Source for FileAt<'_> {
    fn fill(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            match self.file.read_at(buf, self.offset) {
                Ok(n) => {
                    self.offset += n as u64;
                    return Ok(n);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }
}

/// A stream read ahead by a thread of its own, so that reading (and
/// inflating) overlaps the walk. Two chunks are in flight at most.
pub(super) struct Streamed {
    pub(super) full: mpsc::Receiver<io::Result<Vec<u8>>>,
    pub(super) free: mpsc::Sender<Vec<u8>>,
    pub(super) chunk: Vec<u8>,
    pub(super) at: usize,
    pub(super) reader: Option<std::thread::JoinHandle<()>>,
}

impl Streamed {
    /// Starts the reading thread. It ends after sending the end of the
    /// input or an error; when the walk stops early (damage) it ends at
    /// its next send, or with the process if the input blocks (a live
    /// stdin).
    pub(super) fn start(
        mut reader: Box<dyn Read + Send>,
        chunk_bytes: usize,
    ) -> io::Result<Streamed> {
        let chunk_bytes = chunk_bytes.max(1);
        let (full_tx, full) = mpsc::sync_channel::<io::Result<Vec<u8>>>(1);
        let (free, free_rx) = mpsc::channel::<Vec<u8>>();
        let handle = std::thread::Builder::new()
            .name("portaudit-read".into())
            .spawn(move || loop {
                let mut buf = free_rx.try_recv().unwrap_or_default();
                buf.resize(chunk_bytes, 0);
                let (n, error) = read_up_to(&mut reader, &mut buf);
                buf.truncate(n);
                // A short read is the end of the input, or an error after
                // the bytes read before it.
                let end = error.is_some() || n < chunk_bytes;
                if n > 0 && full_tx.send(Ok(buf)).is_err() {
                    return;
                }
                if end {
                    let _ = full_tx.send(error.map_or(Ok(Vec::new()), Err));
                    return;
                }
            })?;
        Ok(Streamed {
            full,
            free,
            chunk: Vec::new(),
            at: 0,
            reader: Some(handle),
        })
    }
}

impl Source for Streamed {
    fn fill(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.at == self.chunk.len() {
            let _ = self.free.send(std::mem::take(&mut self.chunk));
            self.at = 0;
            match self.full.recv() {
                Ok(Ok(chunk)) => self.chunk = chunk,
                Ok(Err(e)) => return Err(e),
                // The thread has ended after the end of the input.
                Err(_) => {}
            }
            if self.chunk.is_empty() {
                if let Some(h) = self.reader.take() {
                    let _ = h.join();
                }
                return Ok(0);
            }
        }
        let n = buf.len().min(self.chunk.len() - self.at);
        buf[..n].copy_from_slice(&self.chunk[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

/// The bytes of an input from offset `base` on, `buf[..len]`, refilled
/// from a source a chunk at a time.
pub(super) struct Window<S> {
    pub(super) source: S,
    pub(super) buf: Vec<u8>,
    pub(super) len: usize,
    pub(super) base: u64,
    pub(super) at_eof: bool,
    /// The bytes are inflated from a gzip stream (for messages).
    pub(super) compressed: bool,
}

impl<S: Source> Window<S> {
    pub(super) fn new(source: S, base: u64, chunk_bytes: usize, compressed: bool) -> Self {
        Window {
            source,
            buf: vec![0; chunk_bytes.max(1)],
            len: 0,
            base,
            at_eof: false,
            compressed,
        }
    }

    pub(super) fn bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }

    /// Drops the bytes before `pos` and reads more after the rest, making
    /// room for at least `need` more. A read error ends the input there,
    /// and is returned as damage.
    pub(super) fn advance(&mut self, pos: usize, need: usize) -> Option<Damage> {
        self.buf.copy_within(pos..self.len, 0);
        self.base += pos as u64;
        self.len -= pos;
        if self.buf.len() < self.len + need.max(1) {
            self.buf.resize(self.len + need.max(1), 0);
        }
        match self.source.fill(&mut self.buf[self.len..]) {
            Ok(0) => self.at_eof = true,
            Ok(n) => self.len += n,
            Err(e) => {
                self.at_eof = true;
                return Some(Damage {
                    offset: self.base + self.len as u64,
                    kind: DamageKind::Unreadable {
                        compressed: self.compressed,
                        error: e.to_string(),
                    },
                });
            }
        }
        None
    }
}
