//! Where one report is written: straight to its output, or to a file
//! beside it that takes the output's place when complete, so that a
//! reader (of a live audit's reports) never sees half a report.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use super::Output;

pub(crate) enum Sink {
    Direct(Box<dyn Write + Send>),
    Replacing {
        file: BufWriter<File>,
        tmp: TempPath,
        dest: PathBuf,
    },
}

/// A file beside a report: removed when dropped, unless it took the
/// report's place.
pub(crate) struct TempPath(Option<PathBuf>);

impl Drop for TempPath {
    fn drop(&mut self) {
        if let Some(p) = self.0.take() {
            let _ = std::fs::remove_file(p);
        }
    }
}

impl Sink {
    /// Writes `output` in place (stdout, or a file truncated first).
    pub(crate) fn direct(output: &Output) -> io::Result<Sink> {
        output.open().map(Sink::Direct)
    }

    /// A sink that replaces `dest` when done, when it is (or will be) a
    /// regular file; anything else (a FIFO, /dev/null) is written in place.
    pub(crate) fn replacing(dest: &Path) -> io::Result<Sink> {
        let regular = std::fs::metadata(dest).map_or(true, |m| m.is_file());
        if !regular {
            return Sink::direct(&Output::File(dest.to_path_buf()));
        }
        let mut name = dest.file_name().unwrap_or_default().to_os_string();
        name.push(".portaudit-tmp");
        let tmp = dest.with_file_name(name);
        let file = File::create(&tmp).map_err(|e| {
            io::Error::new(
                e.kind(),
                format!(
                    "cannot write {} (through {}): {e}",
                    dest.display(),
                    tmp.display()
                ),
            )
        })?;
        Ok(Sink::Replacing {
            file: BufWriter::new(file),
            tmp: TempPath(Some(tmp)),
            dest: dest.to_path_buf(),
        })
    }

    /// Flushes, and puts a replacing file in the output's place. Dropped
    /// instead, a sink leaves the output as it was.
    pub(crate) fn done(self) -> io::Result<()> {
        match self {
            Sink::Direct(mut w) => w.flush(),
            Sink::Replacing {
                file,
                mut tmp,
                dest,
            } => {
                file.into_inner().map_err(|e| e.into_error())?.sync_data()?;
                let from = tmp.0.as_deref().expect("set until done");
                std::fs::rename(from, &dest).map_err(|e| {
                    io::Error::new(e.kind(), format!("cannot replace {}: {e}", dest.display()))
                })?;
                tmp.0 = None;
                Ok(())
            }
        }
    }
}

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Sink::Direct(w) => w.write(buf),
            Sink::Replacing { file, .. } => file.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Sink::Direct(w) => w.flush(),
            Sink::Replacing { file, .. } => file.flush(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_replacing_sink_swaps_whole_or_leaves_the_old_file() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("findings.csv");
        std::fs::write(&dest, "old\n").unwrap();
        let mut sink = Sink::replacing(&dest).unwrap();
        sink.write_all(b"half").unwrap();
        drop(sink);
        assert_eq!(std::fs::read_to_string(&dest).unwrap(), "old\n");
        let mut sink = Sink::replacing(&dest).unwrap();
        sink.write_all(b"new\n").unwrap();
        sink.done().unwrap();
        assert_eq!(std::fs::read_to_string(&dest).unwrap(), "new\n");
        let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(left.len(), 1, "no file is left beside it");
        let err = Sink::replacing(&dir.path().join("missing/findings.csv"))
            .err()
            .unwrap()
            .to_string();
        assert!(
            err.starts_with("cannot write ") && err.contains("missing/findings.csv"),
            "{err}"
        );
    }
}
