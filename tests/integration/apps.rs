//! Application protocols by content (docs/audit.md#application-protocols):
//! a scenario of TLS, SSH, cleartext HTTP, LDAP and LDAPS, NATS, syslog
//! and encrypted syslog on the ports of the Binalyze AIR and Juniper JSA
//! profiles. Every flow whose content is another protocol than the
//! document names for its port is a `protocol-mismatch`; no clean flow is
//! flagged; flows with nothing to check count as unverifiable.

use portaudit_synth::{sock, Scenario};

use crate::rpc::rows;
use crate::{bin, code, path_str};

const DEPLOYMENT: &str = r#"name = "apps"
scope = "bound"

[profiles.binalyze-air]
features = ["ad_integration", "syslog", "realtime_tasks"]

[profiles.binalyze-air.hosts]
console = ["10.1.0.10"]
responder = ["10.1.20.0/24"]
ad = ["10.1.0.2"]
syslog = ["10.1.0.50"]

[profiles.juniper-jsa.hosts]
console = ["10.2.0.10"]
managed_host = ["10.2.1.5"]
admin_workstation = ["10.2.5.0/24"]
log_source = ["10.2.50.0/24"]
"#;

fn client_hello(name: &str) -> Vec<u8> {
    portaudit_synth::tls_client_hello(name)
}

const SERVER_HELLO: &[u8] = &[0x16, 3, 3, 0, 6, 2, 0, 0, 2, 3, 3];
const SSH_CLIENT: &[u8] = b"SSH-2.0-OpenSSH_9.6\r\n";
const SSH_SERVER: &[u8] = b"SSH-2.0-OpenSSH_8.0\r\n";
const GET: &[u8] = b"GET /console/ HTTP/1.1\r\nHost: jsa.example\r\n\r\n";
const OK: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
const LDAP_BIND: &[u8] = &[
    0x30, 0x0c, 0x02, 0x01, 0x01, 0x60, 0x07, 0x02, 0x01, 0x03, 4, 0, 0x80, 0,
];
const LDAP_BOUND: &[u8] = &[
    0x30, 0x0c, 0x02, 0x01, 0x01, 0x61, 0x07, 0x0a, 0x01, 0x00, 4, 0, 4, 0,
];
const SYSLOG: &[u8] = b"<134>1 2026-12-04T10:00:00Z console air - - - task done";

/// A scenario connection: client, server, port, what it carries, the
/// request and the response, and whether it must be a mismatch.
type Exchange<'a> = (
    &'a str,
    &'static str,
    u16,
    &'static str,
    &'a [u8],
    &'a [u8],
    bool,
);

/// Flows by (destination, port, what they carry), each with whether it
/// must be a protocol-mismatch.
fn scenario() -> (Scenario, Vec<(&'static str, u16, &'static str, bool)>) {
    let hello = client_hello("console.jsa.example");
    let (dc_hello, jsa_hello) = (client_hello("dc.corp.example"), client_hello("jsa.example"));
    let ssl_request: &[u8] = &[0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f];
    let nats: (&[u8], &[u8]) = (
        b"CONNECT {\"verbose\":false}\r\n",
        b"INFO {\"server_id\":\"x\"}\r\n",
    );
    #[rustfmt::skip]
    let flows: [Exchange; 17] = [
        // Binalyze AIR: the document names no protocol for 443 and 4222.
        ("10.1.20.11", "10.1.0.10", 443, "tls", &hello, SERVER_HELLO, false),
        ("10.1.20.12", "10.1.0.10", 4222, "nats", nats.0, nats.1, false),
        // LDAP on 389, LDAPS on 636; cleartext LDAP on 636 is a mismatch.
        ("10.1.0.10", "10.1.0.2", 389, "ldap", LDAP_BIND, LDAP_BOUND, false),
        ("10.1.0.10", "10.1.0.2", 636, "tls", &dc_hello, SERVER_HELLO, false),
        ("10.1.0.10", "10.1.0.2", 636, "ldap", LDAP_BIND, LDAP_BOUND, true),
        // Syslog on 514; TLS there is not what the document says.
        ("10.1.0.10", "10.1.0.50", 514, "syslog", SYSLOG, &[], false),
        ("10.1.0.10", "10.1.0.50", 514, "tls", &hello, SERVER_HELLO, true),
        // Juniper JSA: Apache/HTTPS on 443, SSH on 22, encrypted syslog on 6514.
        ("10.2.5.5", "10.2.0.10", 443, "tls", &hello, SERVER_HELLO, false),
        ("10.2.5.6", "10.2.0.10", 443, "http", GET, OK, true),
        ("10.2.1.5", "10.2.0.10", 443, "ssh", SSH_CLIENT, SSH_SERVER, true),
        ("10.2.5.5", "10.2.0.10", 22, "ssh", SSH_CLIENT, SSH_SERVER, false),
        ("10.2.5.7", "10.2.0.10", 22, "tls", &hello, SERVER_HELLO, true),
        ("10.2.50.9", "10.2.0.10", 6514, "tls", &jsa_hello, SERVER_HELLO, false),
        ("10.2.50.8", "10.2.0.10", 6514, "syslog", SYSLOG, &[], true),
        ("10.2.50.7", "10.2.0.10", 514, "syslog", SYSLOG, &[], false),
        ("10.2.1.5", "10.2.0.10", 5432, "postgresql", ssl_request, b"S", false),
        // Nothing to check: a payload no reader recognises.
        ("10.2.5.8", "10.2.0.10", 443, "unknown", &[0x5a; 64], &[0x5a; 64], false),
    ];
    let mut s = Scenario::new(1_790_000_000);
    let mut expect = Vec::new();
    for (i, (from, to, port, what, request, response, bad)) in flows.into_iter().enumerate() {
        let client = sock(&format!("{from}:{}", 40_001 + i));
        s.tcp_exchange(client, sock(&format!("{to}:{port}")), request, response);
        expect.push((to, port, what, bad));
    }
    s.udp_exchange(sock("10.1.0.10:40500"), sock("10.1.0.50:514"), SYSLOG, &[]);
    expect.push(("10.1.0.50", 514, "syslog", false));
    (s, expect)
}

#[test]
fn every_mismatch_is_found_and_no_clean_flow_flagged() {
    let dir = tempfile::tempdir().unwrap();
    let (s, expect) = scenario();
    let capture = dir.path().join("apps.pcap");
    s.write_pcap(std::fs::File::create(&capture).unwrap())
        .unwrap();
    let deployment = dir.path().join("apps.toml");
    std::fs::write(&deployment, DEPLOYMENT).unwrap();
    let (findings, flows, stats) = (
        dir.path().join("f.csv"),
        dir.path().join("flows.csv"),
        dir.path().join("stats.json"),
    );
    // Audits `input` against the deployment into `out`: findings and
    // flows as CSV, and the stats.
    let audit = |input: &std::path::Path, out: [&std::path::Path; 3]| {
        bin()
            .args(["audit", "-q", "-d", &path_str(&deployment)])
            .args(["-o", &path_str(out[0]), "--flows", &path_str(out[1])])
            .args(["--stats", &path_str(out[2]), &path_str(input)])
            .output()
            .unwrap()
    };
    let o = audit(&capture, [&findings, &flows, &stats]);
    assert_eq!(code(&o), 1, "{}", String::from_utf8_lossy(&o.stderr));
    let findings = rows(&std::fs::read(&findings).unwrap());
    let flows = rows(&std::fs::read(&flows).unwrap());
    // Each flow's protocol is what it carried.
    for (dst, port, what, _) in &expect {
        let f = flows
            .iter()
            .find(|f| {
                f["responder_ip"] == *dst
                    && f["responder_port"] == port.to_string()
                    && (f["client_app"] == *what || f["server_app"] == *what)
            })
            .unwrap_or_else(|| panic!("no {what} flow to {dst}:{port}: {flows:#?}"));
        assert_ne!(f["verdict"], "", "{f:?}");
    }
    let mismatches: Vec<(String, String)> = findings
        .iter()
        .filter(|f| f["kind"] == "protocol-mismatch")
        .map(|f| (f["dst_ip"].clone(), f["dst_port"].clone()))
        .collect();
    let want: Vec<(String, String)> = expect
        .iter()
        .filter(|e| e.3)
        .map(|e| (e.0.to_string(), e.1.to_string()))
        .collect();
    let (mut got_sorted, mut want_sorted) = (mismatches.clone(), want.clone());
    got_sorted.sort();
    want_sorted.sort();
    assert_eq!(got_sorted, want_sorted, "{findings:#?}");
    // Nothing else is a finding of a flow: every clean flow passes (the
    // required rules the scenario leaves unused are missing, as they
    // should be).
    let others: Vec<_> = findings
        .iter()
        .filter(|f| f["kind"] != "protocol-mismatch" && f["kind"] != "missing-expected")
        .collect();
    assert!(others.is_empty(), "{others:#?}");
    // The detail says what was seen and what the rule documents.
    let ssh = findings
        .iter()
        .find(|f| f["kind"] == "protocol-mismatch" && f["src_ip"] == "10.2.1.5")
        .unwrap();
    assert!(
        ssh["detail"].starts_with("ssh, where rule jsa-components-to-console-https-443 documents tls (Secure communications from all JSA products to the console) on tcp 443"),
        "{ssh:?}"
    );
    let ldap = findings
        .iter()
        .find(|f| f["kind"] == "protocol-mismatch" && f["dst_port"] == "636")
        .unwrap();
    assert!(
        ldap["detail"].contains("documents tls") && ldap["detail"].starts_with("ldap"),
        "{ldap:?}"
    );
    let tls = findings
        .iter()
        .find(|f| f["kind"] == "protocol-mismatch" && f["dst_port"] == "514")
        .unwrap();
    assert!(
        tls["detail"].contains("the client named console.jsa.example"),
        "{tls:?}"
    );
    // Each mismatch quotes what its payloads said: text by its first
    // line, TLS by its record, binary as hex.
    let detail = |port: &str, src: &str| {
        let f = findings
            .iter()
            .find(|f| {
                f["kind"] == "protocol-mismatch"
                    && f["dst_port"] == port
                    && f["src_ip"].starts_with(src)
            })
            .unwrap_or_else(|| panic!("no mismatch on {port}: {findings:#?}"));
        f["detail"].clone()
    };
    for (port, src, quote) in [
        (
            "443",
            "10.2.1.5",
            r#"; the client sent "SSH-2.0-OpenSSH_9.6" and the server "SSH-2.0-OpenSSH_8.0""#,
        ),
        (
            "443",
            "10.2.5.6",
            r#"; the client sent "GET /console/ HTTP/1.1" and the server "HTTP/1.1 200 OK""#,
        ),
        (
            "636",
            "10.1.0.10",
            r#"; the client sent "30 0c 02 01 01 60 07 02 01 03 04 00 80 00" and the server "30 0c 02 01 01 61 07 0a 01 00 04 00 04 00""#,
        ),
        (
            "22",
            "10.2.5.7",
            r#"; the client sent "TLS handshake ClientHello, record version 3.1" and the server "TLS handshake ServerHello, record version 3.3""#,
        ),
        (
            "6514",
            "10.2.50.8",
            r#"; the client sent "<134>1 2026-12-04T10:00:00Z console air - - - task done""#,
        ),
    ] {
        let d = detail(port, src);
        assert!(d.ends_with(quote), "{port}: {d}");
    }
    // Only flows whose protocol is off its own ports keep a quote: here,
    // exactly the mismatches.
    let quoted: Vec<(String, String)> = flows
        .iter()
        .filter(|f| !f["client_said"].is_empty() || !f["server_said"].is_empty())
        .map(|f| (f["responder_ip"].clone(), f["responder_port"].clone()))
        .collect();
    let mut quoted_sorted = quoted.clone();
    quoted_sorted.sort();
    assert_eq!(quoted_sorted, want_sorted, "{flows:#?}");
    // Flow files carry the quotes: an audit of the capture's NDJSON and
    // Parquet flow files gives the same findings and flows.
    for ext in ["ndjson", "parquet"] {
        let file = dir.path().join(format!("flows.{ext}"));
        let o = bin()
            .args([
                "flows",
                "-q",
                "--format",
                ext,
                "-o",
                &path_str(&file),
                &path_str(&capture),
            ])
            .output()
            .unwrap();
        assert_eq!(code(&o), 0, "{}", String::from_utf8_lossy(&o.stderr));
        let (f2, flows2) = (dir.path().join("f2.csv"), dir.path().join("flows2.csv"));
        let o = audit(&file, [&f2, &flows2, &dir.path().join("stats2.json")]);
        assert_eq!(code(&o), 1, "{}", String::from_utf8_lossy(&o.stderr));
        let again = rows(&std::fs::read(&f2).unwrap());
        assert_eq!(again, findings, "{ext}");
        let again = rows(&std::fs::read(&flows2).unwrap());
        for (a, b) in again.iter().zip(&flows) {
            assert_eq!(
                (&a["client_said"], &a["server_said"]),
                (&b["client_said"], &b["server_said"]),
                "{ext}"
            );
        }
    }
    // TLS server names are in --flows.
    let named: Vec<&str> = flows
        .iter()
        .map(|f| f["server_name"].as_str())
        .filter(|n| !n.is_empty())
        .collect();
    assert!(
        named.contains(&"dc.corp.example") && named.contains(&"jsa.example"),
        "{named:?}"
    );
    // So are the protocols each ClientHello offered (ALPN), and only
    // for flows that began with one.
    for f in &flows {
        let hello = f["client_app"] == "tls" && !f["server_name"].is_empty();
        let want = if hello { "h2" } else { "" };
        assert_eq!(f["alpn"], want, "{f:?}");
    }
    // --stats counts flows by protocol and what the content check found.
    let stats: serde_json::Value = serde_json::from_slice(&std::fs::read(&stats).unwrap()).unwrap();
    let f = &stats["flows"];
    assert_eq!(f["by_app"]["tls"], 6, "{f}");
    assert_eq!(f["by_app"]["unknown"], 1, "{f}");
    let c = &f["content_check"];
    assert_eq!(c["mismatched"], want.len() as u64, "{c}");
    assert_eq!(c["unverifiable"], 1, "{c}");
    assert_eq!(c["verified"], 9, "{c}");
}

/// `app_required`: a flow with nothing to check on such a port is an
/// `unverified-protocol` warning; the same flow without it passes.
#[test]
fn a_rule_that_requires_its_protocol_be_checked_flags_what_cannot_be() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = Scenario::new(1_790_000_000);
    s.tcp_exchange(
        sock("10.9.0.1:40001"),
        sock("10.9.0.2:8443"),
        &[0x5a; 40],
        &[0x5a; 40],
    );
    s.tcp_exchange(
        sock("10.9.0.1:40002"),
        sock("10.9.0.2:8443"),
        &client_hello("x.example"),
        SERVER_HELLO,
    );
    let capture = dir.path().join("strict.pcap");
    s.write_pcap(std::fs::File::create(&capture).unwrap())
        .unwrap();
    for (required, want) in [
        ("app_required = true", vec!["unverified-protocol"]),
        ("", vec![]),
    ] {
        let deployment = dir.path().join("strict.toml");
        std::fs::write(
            &deployment,
            format!(
                "name = \"strict\"\nscope = \"all\"\n[profiles.binalyze-air.hosts]\nconsole = [\"192.0.2.1\"]\n\n[[site_rule]]\nid = \"site-https\"\nfrom = [\"10.9.0.1\"]\nto = [\"10.9.0.2\"]\nproto = \"tcp\"\nports = \"8443\"\napp = [\"tls\"]\n{required}\npurpose = \"web\"\nsource = \"test\"\n"
            ),
        )
        .unwrap();
        let o = bin()
            .args([
                "audit",
                "-q",
                "-d",
                &path_str(&deployment),
                "--format",
                "csv",
                &path_str(&capture),
            ])
            .output()
            .unwrap();
        let kinds: Vec<String> = rows(&o.stdout).iter().map(|f| f["kind"].clone()).collect();
        assert_eq!(
            kinds,
            want,
            "{required}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
}

/// What a rule's `app` may say, and the messages when it is wrong.
#[test]
fn app_fields_are_checked_with_clear_messages() {
    let dir = tempfile::tempdir().unwrap();
    let check = |rule: &str| -> String {
        let path = dir.path().join("d.toml");
        std::fs::write(
            &path,
            format!("name = \"d\"\n[profiles.binalyze-air.hosts]\nconsole = [\"192.0.2.1\"]\n\n[[site_rule]]\nid = \"r\"\nfrom = [\"console\"]\nto = [\"10.0.0.1\"]\n{rule}\npurpose = \"p\"\nsource = \"s\"\n"),
        )
        .unwrap();
        let o = bin()
            .args(["rules", "check", &path_str(&path)])
            .output()
            .unwrap();
        String::from_utf8_lossy(&o.stderr).into_owned()
    };
    let e = check("proto = \"tcp\"\nports = \"443\"\napp = [\"https\"]");
    assert!(
        e.contains("d.toml:11:") && e.contains("write \"tls\""),
        "{e}"
    );
    let e = check("proto = \"tcp\"\nports = \"443\"\napp = []");
    assert!(e.contains("empty `app`"), "{e}");
    let e = check("proto = \"icmp\"\napp = [\"tls\"]");
    assert!(e.contains("only TCP and UDP payloads"), "{e}");
    let e = check("proto = \"tcp\"\nports = \"389,636\"\napp_by_port = { \"3269\" = [\"tls\"] }");
    assert!(
        e.contains("port 3269, which is not among the rule's ports"),
        "{e}"
    );
    let e = check("proto = \"tcp\"\nports = \"443\"\napp_required = true");
    assert!(e.contains("`app_required` but no `app`"), "{e}");
    let e = check("proto = \"tcp\"\nports = \"443\"\napp = [\"unknown\"]");
    assert!(e.contains("cannot be in `app`"), "{e}");
    assert!(check("proto = \"tcp\"\nports = \"389,636\"\napp_by_port = { \"389\" = [\"ldap\"], \"636\" = [\"tls\"] }").is_empty());
}

/// The shipped profiles name the protocols their documents name.
#[test]
fn rules_show_lists_each_rules_protocols() {
    let o = bin()
        .args(["rules", "show", "binalyze-air", "--format", "json"])
        .output()
        .unwrap();
    assert_eq!(code(&o), 0);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let rule = |id: &str| {
        v["rules"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["id"] == id)
            .unwrap()
            .clone()
    };
    assert_eq!(
        rule("console-to-syslog-514")["app"],
        serde_json::json!(["syslog"])
    );
    assert_eq!(
        rule("console-to-ad-ldap-ldaps")["app_by_port"][1],
        serde_json::json!({"ports": "636", "app": ["tls"]})
    );
    assert_eq!(
        rule("responder-to-console-https-443")["app"],
        serde_json::json!([])
    );
    assert!(rule("responder-to-console-https-443")["note"]
        .as_str()
        .unwrap()
        .contains("no `app`"));
}

/// Flow records carry no payload, but their engines name the protocol:
/// Zeek's `service` and Suricata's `app_proto` become the protocol of each
/// side that sent.
#[test]
fn flow_records_take_the_protocol_their_engine_found() {
    let flows = |file: &str| {
        let o = bin()
            .args(["flows", &path_str(&crate::root().join(file))])
            .output()
            .unwrap();
        assert_eq!(code(&o), 0, "{}", String::from_utf8_lossy(&o.stderr));
        rows(&o.stdout)
    };
    let zeek = flows("tests/data/records/zeek-conn.log");
    let ssh = zeek.iter().find(|f| f["responder_port"] == "22").unwrap();
    assert_eq!((&*ssh["client_app"], &*ssh["server_app"]), ("ssh", "ssh"));
    // A DNS query nobody answered: the server side sent nothing.
    let dns = zeek.iter().find(|f| f["responder_port"] == "53").unwrap();
    assert_eq!((&*dns["client_app"], &*dns["server_app"]), ("dns", "none"));
    let eve = flows("tests/data/records/eve.json");
    let tls = eve.iter().find(|f| f["responder_port"] == "443").unwrap();
    assert_eq!((&*tls["client_app"], &*tls["server_app"]), ("tls", "tls"));
}

/// A DNS query for `name` (id 0x4242, type A), and its reply giving
/// `addr` through a CNAME (to the name's `edge.` form).
fn dns_exchange(name: &str, addr: [u8; 4]) -> (Vec<u8>, Vec<u8>) {
    let wire = |n: &str| {
        let mut b = Vec::new();
        for l in n.split('.') {
            b.push(l.len() as u8);
            b.extend_from_slice(l.as_bytes());
        }
        b.push(0);
        b
    };
    let mut query = vec![0x42, 0x42, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0];
    query.extend(wire(name));
    query.extend_from_slice(&[0, 1, 0, 1]);
    let mut reply = query.clone();
    reply[2..8].copy_from_slice(&[0x81, 0x80, 0, 1, 0, 2]);
    let edge = format!("edge.{name}");
    let record = |owner: &str, kind: u8, data: Vec<u8>| {
        let mut r = wire(owner);
        r.extend_from_slice(&[0, kind, 0, 1, 0, 0, 0, 60, 0, data.len() as u8]);
        r.extend(data);
        r
    };
    reply.extend(record(name, 5, wire(&edge)));
    reply.extend(record(&edge, 1, addr.to_vec()));
    (query, reply)
}

/// A role bound by host name holds every server its clients named so
/// (TLS SNI), exactly or under a `*.` wildcard, or that a DNS answer
/// named so before a flow to it: the Cayosoft document's cloud endpoints
/// become auditable. A name no client used is said.
#[test]
fn roles_bound_by_host_name_hold_the_servers_clients_named_so() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = Scenario::new(1_790_000_000);
    let server = "10.5.0.10";
    let hello = |name: &str| client_hello(name);
    s.tcp_exchange(
        sock(&format!("{server}:40001")),
        sock("203.0.113.5:443"),
        &hello("api.telemetry.cayosoft.com"),
        SERVER_HELLO,
    );
    s.tcp_exchange(
        sock(&format!("{server}:40002")),
        sock("198.51.100.7:443"),
        &hello("outlook.office365.com"),
        SERVER_HELLO,
    );
    s.tcp_exchange(
        sock(&format!("{server}:40003")),
        sock("192.0.2.99:443"),
        &hello("files.elsewhere.example"),
        SERVER_HELLO,
    );
    // A connection with no name of its own, before and after a DNS
    // answer gives its server's address a name (through a CNAME).
    let unnamed = |s: &mut Scenario, port: u16| {
        s.tcp_exchange(
            sock(&format!("{server}:{port}")),
            sock("192.0.2.50:443"),
            b"\x00\x01 not a hello",
            b"\x00\x02",
        )
    };
    unnamed(&mut s, 40004);
    let (query, reply) = dns_exchange("updates.cayosoft.example", [192, 0, 2, 50]);
    s.udp_exchange(
        sock(&format!("{server}:50000")),
        sock("10.5.0.2:53"),
        &query,
        &reply,
    );
    unnamed(&mut s, 40005);
    let capture = dir.path().join("names.pcap");
    s.write_pcap(std::fs::File::create(&capture).unwrap())
        .unwrap();
    let deployment = dir.path().join("names.toml");
    std::fs::write(
        &deployment,
        format!(
            "name = \"names\"\nscope = \"all\"\n[profiles.cayosoft-guardian]\nfeatures = [\"online_licensing\", \"microsoft_365\", \"automatic_updates\"]\n[profiles.cayosoft-guardian.hosts]\nguardian_server = [\"{server}\"]\ncayosoft_license_service = [\"api.telemetry.cayosoft.com\"]\nmicrosoft_cloud = [\"*.office365.com\"]\ncayosoft_update_service = [\"updates.cayosoft.example\", \"mirror.cayosoft.example\"]\n"
        ),
    )
    .unwrap();
    let stats = dir.path().join("stats.json");
    let o = bin()
        .args([
            "audit",
            "-d",
            &path_str(&deployment),
            "--format",
            "csv",
            "--stats",
            &path_str(&stats),
            &path_str(&capture),
        ])
        .output()
        .unwrap();
    let findings = rows(&o.stdout);
    let stderr = String::from_utf8_lossy(&o.stderr);
    let to = |ip: &str| -> Vec<String> {
        findings
            .iter()
            .filter(|f| f["dst_ip"] == ip)
            .map(|f| f["kind"].clone())
            .collect()
    };
    // Named as the document's endpoints: allowed, and of their role.
    assert!(to("203.0.113.5").is_empty(), "{findings:#?}");
    assert!(to("198.51.100.7").is_empty(), "{findings:#?}");
    // Named by DNS: of its role, both connections to it allowed.
    assert!(to("192.0.2.50").is_empty(), "{findings:#?}");
    // Named otherwise: a server no rule allows.
    assert_eq!(to("192.0.2.99"), ["unexpected-port"], "{findings:#?}");
    assert!(
        stderr.contains("host name *.office365.com: 1 server named so\n"),
        "{stderr}"
    );
    assert!(
        stderr.contains("host name updates.cayosoft.example: 1 server named so\n"),
        "{stderr}"
    );
    assert!(
        stderr.contains(
            "warning: host name mirror.cayosoft.example: no server in the captures was named so"
        ),
        "{stderr}"
    );
    assert!(
        stderr.contains("server names: 3 flows named by their client (TLS SNI, HTTP Host), 1 by a DNS answer before them"),
        "{stderr}"
    );
    // The flow after the answer has its name; the one before, none.
    let o = bin()
        .args(["flows", "-q", "--format", "csv", &path_str(&capture)])
        .output()
        .unwrap();
    let flows = rows(&o.stdout);
    let dns_name = |port: &str| {
        let f = flows.iter().find(|f| f["initiator_port"] == port).unwrap();
        (f["server_name"].clone(), f["dns_name"].clone())
    };
    assert_eq!(dns_name("40004"), ("".into(), "".into()), "{flows:#?}");
    assert_eq!(
        dns_name("40005"),
        ("".into(), "updates.cayosoft.example".into()),
        "{flows:#?}"
    );
    assert_eq!(dns_name("40001").1, "", "a client's own name comes first");
    let stats: serde_json::Value = serde_json::from_slice(&std::fs::read(&stats).unwrap()).unwrap();
    assert_eq!(
        stats["flows"]["names_bound"]["api.telemetry.cayosoft.com"], 1,
        "{}",
        stats["flows"]
    );
    assert_eq!(stats["flows"]["names_bound"]["updates.cayosoft.example"], 1);
    assert_eq!(stats["flows"]["names_bound"]["mirror.cayosoft.example"], 0);
    assert_eq!(stats["flows"]["server_names"]["by_dns"], 1);
    // `rules check` says, before any capture, what a name binding needs.
    let o = bin()
        .args(["rules", "check", &path_str(&deployment)])
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{out}");
    assert!(
        out.contains("warning: ")
            && out.contains("role cayosoft-guardian/microsoft_cloud is bound by host name *.office365.com: it holds a server only where a capture names it"),
        "{out}"
    );
    assert_eq!(out.matches("is bound by host name").count(), 4, "{out}");
    // A name that is neither an address nor a host name is refused.
    std::fs::write(
        &deployment,
        "name = \"n\"\n[profiles.cayosoft-guardian.hosts]\nmicrosoft_cloud = [\"*.*.com\"]\n",
    )
    .unwrap();
    let o = bin()
        .args(["rules", "check", &path_str(&deployment)])
        .output()
        .unwrap();
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(
        e.contains("\"*.*.com\" is neither an address, a CIDR network nor a host name"),
        "{e}"
    );
}
