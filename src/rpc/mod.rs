//! Ports a mapper announces (docs/audit.md#announced-ports): what the
//! DCE/RPC endpoint mapper (135) and the ONC-RPC portmapper (111) answer,
//! learned while packets are read, and what a connection on a dynamic
//! port says of itself (the interface of its DCE/RPC bind, the program of
//! its ONC-RPC call).
//!
//! Decoding finds [`Seen`] things in single packets ([`inspect`]); each
//! input gathers them, with their first time and a count, into a bounded
//! [`Learned`] (carried in flow files, so that shards audit as the whole);
//! the run resolves all of them into [`Knowledge`]: announcements (who
//! asked, which server, port, transport and service) and the services each
//! connection named, which the classification asks for each flow a
//! `dynamic` rule covers.

mod answers;
pub mod dcerpc;
mod inspect;
mod knowledge;
mod learned;
pub mod names;
pub mod onc;

use std::fmt;

use serde::{Deserialize, Serialize};

use dcerpc::{Interface, Uuid};

pub use answers::MAX_DNS_ANSWERS;
pub use inspect::{inspect, name_hash, Pending, Seen, Shown};
pub use knowledge::{Announcement, Attribution, Knowledge};
pub use learned::{Learned, Sightings, StoredLearned, StoredSeen};

/// The DCE/RPC endpoint mapper's port.
pub const EPM_PORT: u16 = 135;
/// The ONC-RPC portmapper's (rpcbind's) port.
pub const PORTMAP_PORT: u16 = 111;
/// The portmapper's program number.
const PORTMAP_PROGRAM: u32 = 100_000;

/// IP protocol numbers (as `decode` names them; this module sits beside
/// decoding, which calls it, and imports none of it).
const PROTO_TCP: u8 = 6;
const PROTO_UDP: u8 = 17;

/// Distinct things a [`Learned`] store keeps at most (the run has one,
/// and each stretch of a file read in parallel one while it is read);
/// past it the last in [`Seen`]'s order are counted in
/// [`Learned::dropped`], not kept. About 10 MB at the limit.
pub const MAX_LEARNED: usize = 65_536;

/// The mapper that announces a rule's ports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mapper {
    /// The DCE/RPC endpoint mapper, port 135.
    Epm,
    /// The ONC-RPC portmapper / rpcbind, port 111.
    Portmap,
}

impl Mapper {
    pub fn label(self) -> &'static str {
        match self {
            Mapper::Epm => "epm",
            Mapper::Portmap => "portmap",
        }
    }

    /// The mapper in a sentence.
    pub fn title(self) -> &'static str {
        match self {
            Mapper::Epm => "endpoint mapper",
            Mapper::Portmap => "portmapper",
        }
    }

    pub fn port(self) -> u16 {
        match self {
            Mapper::Epm => EPM_PORT,
            Mapper::Portmap => PORTMAP_PORT,
        }
    }

    /// The mapper a port is the well-known port of.
    fn of_port(port: u16) -> Option<Mapper> {
        match port {
            EPM_PORT => Some(Mapper::Epm),
            PORTMAP_PORT => Some(Mapper::Portmap),
            _ => None,
        }
    }
}

/// What a connection speaks: a DCE/RPC interface, or an ONC-RPC program.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Service {
    Interface(Interface),
    Program { number: u32, version: u32 },
}

impl Service {
    /// The well-known name (`drsuapi`, `mountd`), if the table has one.
    pub fn name(&self) -> Option<&'static str> {
        match self {
            Service::Interface(i) => names::interface(i.uuid).map(|k| k.name),
            Service::Program { number, .. } => names::program(*number).map(|k| k.name),
        }
    }

    /// A sentence's name: the title and name, or the bare number.
    pub fn title(&self) -> String {
        match self {
            Service::Interface(i) => match names::interface(i.uuid) {
                Some(k) => format!("{} ({} v{}.{})", k.title, k.name, i.major, i.minor),
                None => format!("interface {} v{}.{}", i.uuid, i.major, i.minor),
            },
            Service::Program { number, version } => match names::program(*number) {
                Some(k) => format!("{} ({} v{version})", k.title, k.name),
                None => format!("program {number} v{version}"),
            },
        }
    }
}

/// DCOM object interfaces (MS-DCOM 1.9, MS-WMI 1.9): a connection whose
/// bind names one reached a port DCOM handed out in an activation reply
/// (the object exporter's string bindings), which is not read here.
const DCOM_OBJECT_INTERFACES: [Uuid; 5] = [
    Uuid::from_u128(0x00000131_0000_0000_c000_000000000046), // IRemUnknown
    Uuid::from_u128(0x00000143_0000_0000_c000_000000000046), // IRemUnknown2
    Uuid::from_u128(0xf309ad18_d86a_11d0_a075_00c04fb68820), // IWbemLevel1Login
    Uuid::from_u128(0x9556dc99_828c_11cf_a37e_00aa003240c7), // IWbemServices
    Uuid::from_u128(0x027947e1_d731_11ce_a357_000000000001), // IEnumWbemClassObject
];

impl Service {
    /// A DCOM object interface: its port came from DCOM activation, not
    /// from the endpoint mapper.
    pub fn is_dcom_object(&self) -> bool {
        match self {
            Service::Interface(i) => DCOM_OBJECT_INTERFACES.contains(&i.uuid),
            Service::Program { .. } => false,
        }
    }
}

/// Short form, for cells: `drsuapi v4.0`, `mountd v3`, or the number.
impl fmt::Display for Service {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Service::Interface(i) => match names::interface(i.uuid) {
                Some(k) => write!(f, "{} v{}.{}", k.name, i.major, i.minor),
                None => write!(f, "{} v{}.{}", i.uuid, i.major, i.minor),
            },
            Service::Program { number, version } => match names::program(*number) {
                Some(k) => write!(f, "{} v{version}", k.name),
                None => write!(f, "program {number} v{version}"),
            },
        }
    }
}

/// What a rule's `services` names: an interface (any version) or a
/// program (any version).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ServiceSpec {
    Interface(Uuid),
    Program(u32),
}

impl ServiceSpec {
    /// A name of the table (`drsuapi`, `nfs`), an interface UUID, or a
    /// program number, for `mapper`'s kind of service.
    pub fn parse(s: &str, mapper: Mapper) -> Result<ServiceSpec, String> {
        match mapper {
            Mapper::Epm => names::interface_named(s)
                .map(|k| ServiceSpec::Interface(k.uuid))
                .or_else(|| Uuid::parse(s).map(ServiceSpec::Interface))
                .ok_or_else(|| {
                    format!(
                        "unknown DCE/RPC interface {s:?}: give a UUID or one of {}",
                        names::interfaces()
                            .iter()
                            .map(|k| k.name)
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                }),
            Mapper::Portmap => names::program_named(s)
                .map(|k| ServiceSpec::Program(k.number))
                .or_else(|| s.parse().ok().map(ServiceSpec::Program))
                .ok_or_else(|| {
                    format!(
                        "unknown ONC-RPC program {s:?}: give a program number or one of {}",
                        names::programs()
                            .iter()
                            .map(|k| k.name)
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                }),
        }
    }

    pub fn covers(&self, s: &Service) -> bool {
        match (self, s) {
            (ServiceSpec::Interface(u), Service::Interface(i)) => *u == i.uuid,
            (ServiceSpec::Program(n), Service::Program { number, .. }) => n == number,
            _ => false,
        }
    }
}

impl fmt::Display for ServiceSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ServiceSpec::Interface(u) => match names::interface(*u) {
                Some(k) => f.write_str(k.name),
                None => write!(f, "{u}"),
            },
            ServiceSpec::Program(n) => match names::program(*n) {
                Some(k) => f.write_str(k.name),
                None => write!(f, "{n}"),
            },
        }
    }
}

/// Asserts that three parts merged forwards and backwards are `whole`
/// (the stores' merges do not depend on order); `cut` names the split.
#[cfg(test)]
fn assert_merges_to<T: Clone + PartialEq + fmt::Debug>(
    [x, y, z]: [T; 3],
    whole: &T,
    merge: fn(&mut T, T),
    cut: &str,
) {
    let mut forward = x.clone();
    merge(&mut forward, y.clone());
    merge(&mut forward, z.clone());
    let mut backward = z;
    merge(&mut backward, y);
    merge(&mut backward, x);
    assert_eq!(&forward, whole, "cut at {cut}");
    assert_eq!(&backward, whole, "cut at {cut}, merged backwards");
}
