//! Live capture from a network interface (`portaudit watch`), through
//! libpcap: only with the `libpcap` feature. The counts the kernel keeps
//! exist in every build, since reports carry them.

/// What the kernel counted of a live capture (`pcap_stats`): packets that
/// passed its filter, and those it or the interface had to drop because
/// they came faster than they were read. Dropped packets are not audited.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LiveCounts {
    pub received: u64,
    pub dropped: u64,
    pub interface_dropped: u64,
}

impl LiveCounts {
    /// Packets lost before they could be read.
    pub fn lost(&self) -> u64 {
        self.dropped + self.interface_dropped
    }
}

#[cfg(feature = "libpcap")]
pub use capture::{LiveCapture, LiveError, LivePacket};

#[cfg(feature = "libpcap")]
mod capture {
    use std::fmt;

    use ::pcap::{Active, Capture, Device, Error};

    use super::LiveCounts;
    use crate::capture::{LinkType, Timestamp};

    /// Bytes kept of each packet: the whole packet, as tcpdump keeps it.
    const SNAPLEN: i32 = 262_144;
    /// The kernel's buffer: a burst of a few seconds at 100 Mbit/s waits
    /// there while the table is snapshotted.
    const BUFFER_BYTES: i32 = 32 << 20;
    /// The kernel's delivery timeout; reads do not block (see
    /// [`LiveCapture::next_packet`]).
    const READ_TIMEOUT_MS: i32 = 100;
    /// How long [`LiveCapture::next_packet`] pauses when no packet is waiting.
    /// libpcap's own read timeout may never expire on an idle Linux
    /// interface (TPACKET_V3), so reads do not block, and an idle capture
    /// wakes up a hundred times a second; packets wait in the kernel's
    /// buffer meanwhile.
    const IDLE_PAUSE: std::time::Duration = std::time::Duration::from_millis(10);

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
        /// copied.
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

        /// The next packet, or `None` after a short pause when none is
        /// waiting.
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
                Err(Error::TimeoutExpired) => {
                    std::thread::sleep(IDLE_PAUSE);
                    Ok(None)
                }
                Err(e) => Err(LiveError::Other {
                    interface: self.interface.clone(),
                    message: message(e),
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
        if lower.contains("permission") || lower.contains("not permitted") {
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
