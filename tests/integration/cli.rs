//! Command-line behaviour: errors in deployments and rules, exit statuses,
//! stdin and gzip input.

use std::io::Write;
use std::process::Stdio;

use crate::{bin, code, csv_without, path_str, root, run};

fn deployment(text: &str) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("site.toml");
    std::fs::write(&p, text).unwrap();
    (dir, path_str(&p))
}

fn audit_err(text: &str) -> String {
    let (_d, p) = deployment(text);
    let capture = path_str(&root().join("fixtures/binalyze-air/compliant.pcapng"));
    let o = run(&["audit", "-d", &p, &capture]);
    assert_eq!(code(&o), 2);
    String::from_utf8(o.stderr).unwrap()
}

#[test]
fn unknown_role_names_line_and_column_and_the_known_roles() {
    let err = audit_err("name = \"x\"\n[profiles.binalyze-air.hosts]\nconsol = [\"10.0.0.1\"]\n");
    assert!(
        err.contains("site.toml:3:1: unknown role \"consol\""),
        "{err}"
    );
    assert!(err.contains("console"), "{err}");
}

#[test]
fn bad_cidr_and_unknown_keys_are_positioned() {
    let err =
        audit_err("name = \"x\"\n[profiles.binalyze-air.hosts]\nconsole = [\"10.0.0.5/24\"]\n");
    assert!(
        err.contains(":3:12:") && err.contains("did you mean \"10.0.0.0/24\""),
        "{err}"
    );
    let err = audit_err("name = \"x\"\nscop = \"all\"\n[profiles.binalyze-air.hosts]\n");
    assert!(
        err.contains(":2:1:") && err.contains("unknown field `scop`"),
        "{err}"
    );
    let err = audit_err("name = \"x\"\n[profiles.nope]\n");
    assert!(
        err.contains(":2:11:") && err.contains("unknown profile \"nope\""),
        "{err}"
    );
}

#[test]
fn site_rule_port_errors_say_what_to_fix() {
    let err = audit_err(
        "name = \"x\"\n[profiles.binalyze-air.hosts]\nconsole = [\"10.0.0.1\"]\n[[site_rule]]\nid = \"a\"\nfrom = [\"*\"]\nto = [\"console\"]\nproto = \"tcp\"\nports = \"90-80\"\npurpose = \"p\"\nsource = \"s\"\n",
    );
    assert!(err.contains(":9:9:") && err.contains("reversed"), "{err}");
}

#[test]
fn gzip_and_stdin_read_like_the_file() {
    let capture = root().join("fixtures/binalyze-air/violations.pcap");
    let bytes = std::fs::read(&capture).unwrap();
    let dep = path_str(&root().join("examples/air-lab.toml"));
    let plain = run(&["audit", "-q", "-d", &dep, &path_str(&capture)]);
    let dir = tempfile::tempdir().unwrap();
    let gz = dir.path().join("v.pcap.gz");
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(&bytes).unwrap();
    std::fs::write(&gz, enc.finish().unwrap()).unwrap();
    let gzipped = run(&["audit", "-q", "-d", &dep, &path_str(&gz)]);
    // The same findings; each names the file it was read from.
    assert_eq!(
        csv_without(&plain.stdout, "source"),
        csv_without(&gzipped.stdout, "source")
    );
    // Offsets in a gzip file count inflated bytes, as its damage does.
    assert!(String::from_utf8_lossy(&gzipped.stdout).contains("v.pcap.gz byte 5004"));
    let mut child = bin()
        .args(["audit", "-q", "-d", &dep, "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(&bytes).unwrap();
    let piped = child.wait_with_output().unwrap();
    assert_eq!(
        csv_without(&plain.stdout, "source"),
        csv_without(&piped.stdout, "source")
    );
    assert!(String::from_utf8_lossy(&piped.stdout).contains(",<stdin> byte 5004"));
    assert_eq!(code(&piped), 1);
}

#[test]
fn truncated_gzip_is_damage_not_a_crash() {
    let bytes = std::fs::read(root().join("fixtures/binalyze-air/violations.pcap")).unwrap();
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(&bytes).unwrap();
    let gz = enc.finish().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cut = dir.path().join("cut.pcap.gz");
    std::fs::write(&cut, &gz[..gz.len() / 2]).unwrap();
    let o = run(&["flows", "-q", "-o", "/dev/null", &path_str(&cut)]);
    assert_eq!(code(&o), 3);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("damaged:"), "{err}");
    // The offset counts inflated bytes, and says so.
    assert!(err.contains(": uncompressed byte "), "{err}");
}

#[test]
fn corrupt_gzip_is_damage_not_a_crash() {
    let bytes = std::fs::read(root().join("fixtures/binalyze-air/violations.pcap")).unwrap();
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(&bytes).unwrap();
    let mut gz = enc.finish().unwrap();
    let n = gz.len();
    // A damaged byte in the deflate data, and a wrong CRC at the end.
    gz[n / 2] ^= 0x55;
    gz[n - 6] ^= 0xFF;
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.pcap.gz");
    std::fs::write(&bad, &gz).unwrap();
    let o = run(&["flows", "-q", "-o", "/dev/null", &path_str(&bad)]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(code(&o), 3, "{stderr}");
    let damage: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("damaged:"))
        .collect();
    // The garbage the bad byte decompresses to, then the checksum, in
    // file order.
    assert_eq!(damage.len(), 2, "{stderr}");
    assert!(damage[0].contains("record header claims"), "{stderr}");
    assert!(
        damage[1].contains("the compressed stream is corrupt or cut short"),
        "{stderr}"
    );
}

#[test]
fn directories_expand_and_skip_non_captures() {
    let dir = root().join("fixtures/binalyze-air");
    let (o, v) = crate::flows_with_stats(&dir);
    assert_eq!(code(&o), 0);
    assert_eq!(v["files"].as_array().unwrap().len(), 2);
    assert_eq!(
        v["not_captures"].as_array().unwrap().len(),
        2,
        "the golden CSVs"
    );
}

#[test]
fn shipped_profiles_all_load() {
    let c = portaudit::rules::Catalog::shipped().expect("shipped profiles parse");
    for id in [
        "binalyze-air",
        "xdr-forensics",
        "netwrix-threat-manager",
        "juniper-jsa",
        "cayosoft-guardian",
    ] {
        assert!(c.get(id).is_some(), "{id}");
    }
}

/// A dedicated role's address inside another product's network is as much
/// a conflict as the same address bound twice; both entries are named.
#[test]
fn a_dedicated_host_inside_another_products_network_is_an_error() {
    let err = audit_err(
        "name = \"x\"\n[profiles.netwrix-threat-manager.hosts]\ndomain_controller = [\"10.0.0.0/24\"]\n[profiles.binalyze-air.hosts]\nconsole = [\"10.0.0.1\"]\n",
    );
    assert!(err.contains("site.toml:5:12:"), "{err}");
    assert!(
        err.contains("10.0.0.1 overlaps 10.0.0.0/24 (line 3, column 22)"),
        "{err}"
    );
    assert!(err.contains("dedicated"), "{err}");
}

/// A capture given to `-d`, an empty deployment and a huge value each get
/// a message that says what is wrong, not a TOML parser's.
#[test]
fn a_capture_an_empty_file_and_a_huge_value_as_deployment_are_told_plainly() {
    let capture = path_str(&root().join("fixtures/binalyze-air/violations.pcap"));
    let o = run(&["audit", "-d", &capture, &capture]);
    assert_eq!(code(&o), 2);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("violations.pcap:1:1: this is a packet capture"),
        "{err}"
    );
    let err = audit_err("\n  \n");
    assert!(err.contains("site.toml:1:1: the file is empty"), "{err}");
    let huge = "x".repeat(100_000);
    let err = audit_err(&format!(
        "name = \"x\"\n[profiles.binalyze-air.hosts]\nconsole = [\"{huge}\"]\n"
    ));
    assert!(err.len() < 1000, "{} bytes", err.len());
    assert!(err.contains("(100000 bytes)"), "{err}");
}
