//! Captures that change while they are read: a file cut by log rotation or
//! by the tool writing it. Files are read, not memory-mapped, so a file
//! that shrinks ends early (damage, exit 3) instead of killing the process
//! with SIGBUS.

use std::fs::OpenOptions;

use portaudit::capture::CaptureInput;
use portaudit::ingest::ingest_reader;

use crate::{flood_file, path_str, run};

fn flood(dir: &std::path::Path, packets: u64) -> std::path::PathBuf {
    flood_file(dir, "live.pcap", packets, 3).0
}

/// Opened at full length, cut before the first byte is read: the read
/// ends at the cut, named with its offset. (A memory map made at open
/// would fault here.)
#[test]
fn a_file_cut_after_open_is_damage_at_the_cut() {
    let dir = tempfile::tempdir().unwrap();
    let path = flood(dir.path(), 100_000);
    let source = CaptureInput::File(path.clone()).open().unwrap();
    // Records are 76 bytes after the 24-byte header: cut inside record 1000.
    let cut = 24 + 1000 * 76 + 30;
    OpenOptions::new()
        .write(true)
        .open(&path)
        .unwrap()
        .set_len(cut)
        .unwrap();
    let (_, stats) = ingest_reader("live.pcap", source.reader);
    assert_eq!(stats.packets_read, 1000);
    assert_eq!(stats.damage.len(), 1, "{:?}", stats.damage);
    assert_eq!(stats.damage[0].offset, 24 + 1000 * 76);
    assert!(matches!(
        stats.damage[0].kind,
        portaudit::capture::DamageKind::CutShort { .. }
    ));
}

/// The same while the binary runs, at whatever moment the cut lands: the
/// process exits with a status (0 if the read was done, 3 if it was cut),
/// never by a signal.
#[test]
fn a_file_shrinking_during_the_run_never_kills_the_process() {
    let dir = tempfile::tempdir().unwrap();
    let path = flood(dir.path(), 1_000_000);
    for delay_ms in [0, 20, 80] {
        let copy = dir.path().join(format!("copy-{delay_ms}.pcap"));
        std::fs::copy(&path, &copy).unwrap();
        let child = crate::bin()
            .args(["flows", "-q", "-o", "/dev/null", &path_str(&copy)])
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(delay_ms));
        OpenOptions::new()
            .write(true)
            .open(&copy)
            .unwrap()
            .set_len(4096 + 7)
            .unwrap();
        let out = child.wait_with_output().unwrap();
        let status = out.status.code();
        assert!(
            matches!(status, Some(0) | Some(3)),
            "delay {delay_ms} ms: {:?}",
            out.status
        );
    }
    // A run on the cut file itself reports the cut.
    let copy = dir.path().join("copy-0.pcap");
    let o = run(&["flows", "-q", "-o", "/dev/null", &path_str(&copy)]);
    assert_eq!(o.status.code(), Some(3));
}
