//! Naming and opening capture inputs: files (memory-mapped), gzip files and
//! stdin (streamed), directories (expanded to their files, sorted).

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use memmap2::Mmap;

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

    /// Opens the input: a plain file is memory-mapped; gzip (recognised by
    /// its magic bytes, not its name) and stdin are streamed.
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
                let len = file
                    .metadata()
                    .map_err(|e| InputError::new(self, format!("cannot stat: {e}")))?
                    .len();
                let mut magic = [0u8; 2];
                let is_gzip = len >= 2 && {
                    let mut f = &file;
                    f.read_exact(&mut magic)
                        .map_err(|e| InputError::new(self, format!("cannot read: {e}")))?;
                    magic == [0x1F, 0x8B]
                };
                if is_gzip {
                    let file = File::open(path)
                        .map_err(|e| InputError::new(self, format!("cannot open: {e}")))?;
                    let reader = BufReader::with_capacity(1 << 20, file);
                    return Ok(InputSource::Stream {
                        reader: Box::new(flate2::bufread::MultiGzDecoder::new(reader)),
                        compressed: true,
                    });
                }
                if len == 0 {
                    return Ok(InputSource::Memory(Vec::new()));
                }
                // SAFETY: the map is read-only and private to this process.
                // A file truncated by another process while we read it would
                // fault; see the README's note on live files.
                let map = unsafe { Mmap::map(&file) }
                    .map_err(|e| InputError::new(self, format!("cannot map: {e}")))?;
                #[cfg(unix)]
                {
                    let _ = map.advise(memmap2::Advice::Sequential);
                }
                Ok(InputSource::Mapped(map))
            }
        }
    }
}

fn stream_maybe_gzip<R: BufRead + Send + 'static>(mut r: R) -> io::Result<InputSource> {
    let head = r.fill_buf()?;
    let compressed = head.starts_with(&[0x1F, 0x8B]);
    let reader: Box<dyn Read + Send> = if compressed {
        Box::new(flate2::bufread::MultiGzDecoder::new(r))
    } else {
        Box::new(r)
    };
    Ok(InputSource::Stream { reader, compressed })
}

/// The bytes of an opened capture.
pub enum InputSource {
    /// The whole file, memory-mapped.
    Mapped(Mmap),
    /// A small in-memory capture (empty files, tests).
    Memory(Vec<u8>),
    /// Read front to back in chunks: gzip and stdin.
    Stream {
        reader: Box<dyn Read + Send>,
        compressed: bool,
    },
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

/// True when the file starts like a pcap, pcapng or gzip file.
fn looks_like_capture(path: &Path) -> bool {
    let mut magic = [0u8; 4];
    let Ok(mut f) = File::open(path) else {
        // Unreadable files are kept so that opening them reports why.
        return true;
    };
    if f.read_exact(&mut magic).is_err() {
        return false;
    }
    magic[..2] == [0x1F, 0x8B]
        || magic == [0x0A, 0x0D, 0x0D, 0x0A]
        || super::PcapWalker::recognises(magic)
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
