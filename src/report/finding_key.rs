//! What a finding is about, as opposed to when and how much: the columns
//! that stay the same when the same departure shows up in another run.
//! SARIF's `partialFingerprints` and `portaudit diff` both match findings
//! by them.

use sha1::{Digest, Sha1};

use super::cells::FindingText;
use crate::audit::Finding;

/// The key columns, named as in the findings reports. Client ports,
/// timestamps and counts are not among them: the destination port is the
/// service's.
pub const KEY_COLUMNS: [&str; 9] = [
    "kind", "profile", "rule_id", "src_ip", "src_role", "dst_ip", "dst_role", "proto", "dst_port",
];

/// The key of a finding: its [`KEY_COLUMNS`] as the reports print them.
pub fn key_of(f: &Finding) -> [String; 9] {
    let t = FindingText::of(f);
    let ip = |a: Option<std::net::IpAddr>| a.map(|a| a.to_string()).unwrap_or_default();
    [
        f.kind.label().to_string(),
        t.profile,
        t.rule_id,
        ip(f.src_ip),
        t.src_role,
        ip(f.dst_ip),
        t.dst_role,
        t.proto,
        t.dst_port,
    ]
}

/// A key as a stable hex digest (SHA-1 over the values, each ended by a
/// NUL byte), the same on every machine and run.
pub fn fingerprint<S: AsRef<str>>(key: &[S]) -> String {
    let mut h = Sha1::new();
    for part in key {
        h.update(part.as_ref().as_bytes());
        h.update([0]);
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}
