//! Naming and opening capture inputs: files, gzip files and stdin (all read
//! front to back), directories (expanded to their files, sorted).
//!
//! Files are read with `pread(2)`, not memory-mapped: a map over a file that
//! another process truncates raises SIGBUS when the lost pages are touched,
//! and a capture being written or rotated while we read it is ordinary. Read
//! this way, a file that shrinks simply ends early and is reported as cut
//! short. The copy costs what `cat` costs, into a buffer small enough to be
//! walked while still in cache.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use super::Container;

/// One capture the user named, or found in a directory the user named.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CaptureInput {
    File(PathBuf),
    Stdin,
}

impl CaptureInput {
    /// How the input is named in messages and reports.
    pub fn display_name(&self) -> String {
        match self {
            CaptureInput::File(p) => p.display().to_string(),
            CaptureInput::Stdin => "<stdin>".into(),
        }
    }

    /// Opens the input for reading front to back; gzip is recognised by
    /// its magic bytes, not its name.
    pub fn open(&self) -> Result<InputSource, InputError> {
        match self {
            CaptureInput::Stdin => {
                let stdin = BufReader::with_capacity(1 << 20, io::stdin());
                Ok(stream_maybe_gzip(stdin)
                    .map_err(|e| InputError::new(self, format!("cannot read stdin: {e}")))?)
            }
            CaptureInput::File(path) => {
                let file = File::open(path)
                    .map_err(|e| InputError::new(self, format!("cannot open: {e}")))?;
                if file
                    .metadata()
                    .map_err(|e| InputError::new(self, format!("cannot stat: {e}")))?
                    .is_dir()
                {
                    return Err(InputError::new(self, "is a directory".into()));
                }
                let meta = file.metadata().ok();
                if !meta.as_ref().is_some_and(|m| m.is_file()) {
                    // A FIFO, `<(zcat ...)`, `/dev/stdin` on a pipe, a
                    // character device: it cannot seek, so it is read as a
                    // stream, front to back, as `-` is.
                    let buffered = BufReader::with_capacity(1 << 20, file);
                    return stream_maybe_gzip(buffered)
                        .map_err(|e| InputError::new(self, format!("cannot read: {e}")));
                }
                let mut magic = [0u8; 2];
                let mut f = &file;
                let (got, error) = read_up_to(&mut f, &mut magic);
                if let Some(e) = error {
                    return Err(InputError::new(self, format!("cannot read: {e}")));
                }
                let compressed = Container::sniff(&magic[..got]) == Some(Container::Gzip);
                let mut file = file;
                file.seek(SeekFrom::Start(0))
                    .map_err(|e| InputError::new(self, format!("cannot seek: {e}")))?;
                let size = meta.as_ref().map(|m| m.len());
                // A regular file can be read at any offset, by several
                // threads; a pipe or device only front to back.
                let positional = (!compressed && meta.is_some_and(|m| m.is_file()))
                    .then(|| file.try_clone().ok())
                    .flatten();
                let reader: Box<dyn Read + Send> = if compressed {
                    let buffered = BufReader::with_capacity(1 << 20, file);
                    Box::new(flate2::bufread::MultiGzDecoder::new(buffered))
                } else {
                    Box::new(file)
                };
                Ok(InputSource {
                    reader,
                    compressed,
                    size: size.filter(|_| !compressed),
                    file: positional,
                })
            }
        }
    }
}

/// Reads until `buf` is full, the input ends or fails; returns the bytes
/// read and the failure.
pub(crate) fn read_up_to(r: &mut impl Read, buf: &mut [u8]) -> (usize, Option<io::Error>) {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return (n, Some(e)),
        }
    }
    (n, None)
}

fn stream_maybe_gzip<R: BufRead + Send + 'static>(mut r: R) -> io::Result<InputSource> {
    let head = r.fill_buf()?;
    let compressed = Container::sniff(head) == Some(Container::Gzip);
    let reader: Box<dyn Read + Send> = if compressed {
        Box::new(flate2::bufread::MultiGzDecoder::new(r))
    } else {
        Box::new(r)
    };
    Ok(InputSource {
        reader,
        compressed,
        size: None,
        file: None,
    })
}

/// An opened capture, read front to back.
pub struct InputSource {
    /// The capture's bytes, decompressed.
    pub reader: Box<dyn Read + Send>,
    pub compressed: bool,
    /// The size of a plain file when it was opened, to cut it into
    /// segments. Only a hint: the file may grow or shrink.
    pub size: Option<u64>,
    /// A regular file, uncompressed: read at offsets, in parallel.
    pub file: Option<File>,
}

/// An input that could not be opened or listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputError {
    pub input: String,
    pub message: String,
}

impl InputError {
    fn new(input: &CaptureInput, message: String) -> Self {
        InputError {
            input: input.display_name(),
            message,
        }
    }
}

impl std::fmt::Display for InputError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.input, self.message)
    }
}

impl std::error::Error for InputError {}

/// The captures named by the user's arguments, and the files met in named
/// directories that are not captures (listed in the summary, not read).
#[derive(Debug, Default)]
pub struct ExpandedInputs {
    pub captures: Vec<CaptureInput>,
    pub not_captures: Vec<PathBuf>,
}

/// Turns the user's arguments into captures: `-` is stdin, a directory
/// stands for every capture file below it (recursively, sorted by path so
/// that runs are reproducible; files whose first bytes are not pcap, pcapng
/// or gzip are set aside), anything else is a file.
pub fn expand_inputs(args: &[PathBuf]) -> Result<ExpandedInputs, InputError> {
    let mut out = ExpandedInputs::default();
    for arg in args {
        if arg.as_os_str() == "-" {
            if out.captures.contains(&CaptureInput::Stdin) {
                return Err(InputError {
                    input: "-".into(),
                    message: "standard input is named twice; it can be read once".into(),
                });
            }
            out.captures.push(CaptureInput::Stdin);
        } else if arg.is_dir() {
            let mut files = Vec::new();
            collect_dir(arg, &mut files).map_err(|e| InputError {
                input: arg.display().to_string(),
                message: format!("cannot list directory: {e}"),
            })?;
            files.sort();
            if files.is_empty() {
                return Err(InputError {
                    input: arg.display().to_string(),
                    message: "directory holds no files".into(),
                });
            }
            for file in files {
                if looks_like_capture(&file) {
                    out.captures.push(CaptureInput::File(file));
                } else {
                    out.not_captures.push(file);
                }
            }
        } else {
            out.captures.push(CaptureInput::File(arg.clone()));
        }
    }
    Ok(out)
}

/// True when the file starts like a pcap or pcapng file or flow records
/// (docs/inputs.md), gzipped or not.
fn looks_like_capture(path: &Path) -> bool {
    let Ok(f) = File::open(path) else {
        // Unreadable files are kept so that opening them reports why.
        return true;
    };
    let mut head = [0u8; 4096];
    let (mut n, _) = read_up_to(&mut &f, &mut head);
    if Container::sniff(&head[..n]) == Some(Container::Gzip) {
        let Ok(f) = File::open(path) else {
            return true;
        };
        let mut inflated = flate2::read::MultiGzDecoder::new(f);
        (n, _) = read_up_to(&mut inflated, &mut head);
    }
    let head = &head[..n];
    matches!(
        Container::sniff(head),
        Some(Container::Pcap | Container::Pcapng)
    ) || super::RecordFormat::sniff(head).is_some()
}

fn collect_dir(dir: &Path, out: &mut Vec<PathBuf>) -> io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let path = entry.path();
        let kind = entry.file_type()?;
        if kind.is_dir() {
            collect_dir(&path, out)?;
        } else if path.is_file() {
            out.push(path);
        }
    }
    Ok(())
}
