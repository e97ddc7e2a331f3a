//! Live capture from a network interface (`portaudit watch`), through
//! libpcap: only with the `libpcap` feature. The counts the kernel keeps
//! exist in every build, since reports carry them.

/// What the kernel counted of a live capture (`pcap_stats`): packets that
/// passed its filter, and those it had to drop because they came faster
/// than they were read (not audited). `interface_dropped` is the
/// interface's own count, for all its traffic, filtered or not: told, not
/// held against the capture.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LiveCounts {
    pub received: u64,
    pub dropped: u64,
    pub interface_dropped: u64,
}

#[cfg(feature = "libpcap")]
pub use capture::{LiveCapture, LiveError, LivePacket};

#[cfg(feature = "libpcap")]
mod capture {
    use std::fmt;

    use ::pcap::{Active, Capture, Device, Error};

    use super::LiveCounts;
    use crate::capture::{LinkType, Timestamp};

    /// Bytes kept of each packet: the headers are all an audit reads (the
    /// wire length is kept whole), and a small snap length makes the
    /// kernel's ring slots small: on loopback, or with GRO, a whole packet
    /// can be 64 KB, and the ring would hold only a few hundred.
    const SNAPLEN: i32 = 1024;
    /// The kernel's buffer: some 50 000 packets wait there while the
    /// capture thread copies the table for a report.
    const BUFFER_BYTES: i32 = 64 << 20;
    /// The kernel's delivery timeout; reads themselves do not block (see
    /// [`LiveCapture::wait`]).
    const READ_TIMEOUT_MS: i32 = 100;
    /// How long [`LiveCapture::wait`] waits for a packet at most.
    const WAIT: rustix::event::Timespec = rustix::event::Timespec {
        tv_sec: 0,
        tv_nsec: 100_000_000,
    };

    /// Why capturing could not start, or went on no longer.
    #[derive(Debug)]
    pub enum LiveError {
        /// No CAP_NET_RAW (or not root).
        Permission {
            interface: String,
            message: String,
        },
        NoSuchInterface {
            interface: String,
            known: Vec<String>,
        },
        /// `--filter` does not compile for the interface's link type.
        Filter {
            expression: String,
            message: String,
        },
        Other {
            interface: String,
            message: String,
        },
    }

    impl fmt::Display for LiveError {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            match self {
                LiveError::Permission { interface, message } => write!(
                    f,
                    "cannot capture on {interface}: permission denied ({message}). \
                     A live capture needs root or the CAP_NET_RAW capability: run it with \
                     sudo, or grant the binary the capability once with \
                     `sudo setcap cap_net_raw,cap_net_admin=eip \"$(command -v portaudit)\"`"
                ),
                LiveError::NoSuchInterface { interface, known } => write!(
                    f,
                    "no interface named {interface:?}; interfaces: {}",
                    if known.is_empty() {
                        "none found".to_string()
                    } else {
                        known.join(", ")
                    }
                ),
                LiveError::Filter {
                    expression,
                    message,
                } => write!(f, "--filter {expression:?}: {message}"),
                LiveError::Other { interface, message } => {
                    write!(f, "capture on {interface}: {message}")
                }
            }
        }
    }

    impl std::error::Error for LiveError {}

    /// One captured packet.
    #[derive(Clone, Copy, Debug)]
    pub struct LivePacket<'a> {
        pub data: &'a [u8],
        pub orig_len: u32,
        pub ts: Timestamp,
    }

    /// An open capture on an interface.
    pub struct LiveCapture {
        cap: Capture<Active>,
        interface: String,
        link: LinkType,
    }

    impl LiveCapture {
        /// Opens `interface`, not promiscuous, with `filter` (tcpdump's
        /// syntax) set in the kernel so that what it rejects is never
        /// copied. Reads do not block: libpcap's read timeout may never
        /// expire on an idle Linux interface (TPACKET_V3), so waiting is
        /// [`LiveCapture::wait`]'s, with poll(2).
        pub fn open(interface: &str, filter: Option<&str>) -> Result<LiveCapture, LiveError> {
            let other = |e: Error| LiveError::Other {
                interface: interface.to_string(),
                message: message(e),
            };
            let opened = Capture::from_device(interface)
                .map_err(other)?
                .promisc(false)
                .snaplen(SNAPLEN)
                .buffer_size(BUFFER_BYTES)
                .timeout(READ_TIMEOUT_MS)
                .immediate_mode(true)
                .open();
            let mut cap = match opened.and_then(|c| c.setnonblock()) {
                Ok(c) => c,
                Err(e) => return Err(open_error(interface, e)),
            };
            if let Some(expression) = filter {
                cap.filter(expression, true)
                    .map_err(|e| LiveError::Filter {
                        expression: expression.to_string(),
                        message: message(e),
                    })?;
            }
            let link = LinkType(u32::try_from(cap.get_datalink().0).unwrap_or(u32::MAX));
            Ok(LiveCapture {
                cap,
                interface: interface.to_string(),
                link,
            })
        }

        pub fn link(&self) -> LinkType {
            self.link
        }

        pub fn interface(&self) -> &str {
            &self.interface
        }

        /// The next packet, or `None` when none is waiting.
        pub fn next_packet(&mut self) -> Result<Option<LivePacket<'_>>, LiveError> {
            match self.cap.next_packet() {
                Ok(p) => {
                    let tv = p.header.ts;
                    Ok(Some(LivePacket {
                        data: p.data,
                        orig_len: p.header.len,
                        ts: Timestamp::from_parts(
                            i128::from(tv.tv_sec),
                            u64::try_from(tv.tv_usec).unwrap_or(0),
                            1_000_000,
                        ),
                    }))
                }
                Err(Error::TimeoutExpired) => Ok(None),
                Err(e) => Err(LiveError::Other {
                    interface: self.interface.clone(),
                    message: message(e),
                }),
            }
        }

        /// Waits until a packet is waiting, a tenth of a second at most,
        /// or a signal comes.
        pub fn wait(&self) -> Result<(), LiveError> {
            use rustix::event::{poll, PollFd, PollFlags};
            let mut fds = [PollFd::new(&self.cap, PollFlags::IN)];
            match poll(&mut fds, Some(&WAIT)) {
                Ok(_) | Err(rustix::io::Errno::INTR) => Ok(()),
                Err(e) => Err(LiveError::Other {
                    interface: self.interface.clone(),
                    message: format!("waiting for packets: {e}"),
                }),
            }
        }

        /// The kernel's counts so far, if it keeps them.
        pub fn counts(&mut self) -> Option<LiveCounts> {
            self.cap.stats().ok().map(|s| LiveCounts {
                received: u64::from(s.received),
                dropped: u64::from(s.dropped),
                interface_dropped: u64::from(s.if_dropped),
            })
        }
    }

    /// libpcap's own words, without the crate's prefix.
    fn message(e: Error) -> String {
        match e {
            Error::PcapError(m) => m,
            other => other.to_string(),
        }
    }

    /// Names the reason an interface could not be opened.
    fn open_error(interface: &str, e: Error) -> LiveError {
        let text = message(e);
        let lower = text.to_ascii_lowercase();
        if lower.contains("permission")
            || lower.contains("not permitted")
            || lower.contains("cap_net_raw")
        {
            return LiveError::Permission {
                interface: interface.to_string(),
                message: text,
            };
        }
        if lower.contains("no such device") || lower.contains("doesn't exist") {
            let known = Device::list()
                .map(|d| d.into_iter().map(|d| d.name).collect())
                .unwrap_or_default();
            return LiveError::NoSuchInterface {
                interface: interface.to_string(),
                known,
            };
        }
        LiveError::Other {
            interface: interface.to_string(),
            message: text,
        }
    }
}
