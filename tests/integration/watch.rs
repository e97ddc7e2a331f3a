//! `portaudit watch` on the loopback interface: the test opens TCP and UDP
//! connections on 127.0.0.x to ports a test deployment allows and forbids
//! while the binary captures, and checks the findings. Skipped, saying
//! why, only when the binary is refused the capture privilege.
#![cfg(feature = "libpcap")]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream, UdpSocket};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use super::*;

/// Sockets on `console` (a 127.0.0.x address of its own per test, so
/// that tests running at once capture apart), each on a port the kernel
/// picks: one TCP and one UDP port that the deployment allows, one of each
/// that it does not.
struct Listeners {
    allowed_tcp: TcpListener,
    forbidden_tcp: TcpListener,
    allowed_udp: UdpSocket,
    forbidden_udp: UdpSocket,
}

impl Listeners {
    fn bind(console: &str) -> Listeners {
        Listeners {
            allowed_tcp: TcpListener::bind((console, 0)).unwrap(),
            forbidden_tcp: TcpListener::bind((console, 0)).unwrap(),
            allowed_udp: UdpSocket::bind((console, 0)).unwrap(),
            forbidden_udp: UdpSocket::bind((console, 0)).unwrap(),
        }
    }

    fn ports(&self) -> [u16; 4] {
        [
            self.allowed_tcp.local_addr().unwrap().port(),
            self.forbidden_tcp.local_addr().unwrap().port(),
            self.allowed_udp.local_addr().unwrap().port(),
            self.forbidden_udp.local_addr().unwrap().port(),
        ]
    }
}

/// A deployment where `console` is the console of Binalyze AIR and
/// 127.0.0.1 (where the kernel sends from) a responder; site rules allow
/// the `allowed` TCP and UDP ports from the responder to the console.
fn deployment(dir: &Path, console: &str, allowed: Option<&Listeners>) -> PathBuf {
    let path = dir.join("live.toml");
    let mut text = format!(
        r#"name = "live-test"
scope = "bound"

[profiles.binalyze-air]

[profiles.binalyze-air.hosts]
console = ["{console}"]
responder = ["127.0.0.1"]
"#
    );
    if let Some(l) = allowed {
        let [tcp, _, udp, _] = l.ports();
        for (proto, port) in [("tcp", tcp), ("udp", udp)] {
            text += &format!(
                r#"
[[site_rule]]
id = "site-test-{proto}"
from = ["127.0.0.1"]
to = ["{console}"]
proto = "{proto}"
ports = "{port}"
purpose = "Test service"
source = "Test policy: the responders reach the console's test service."
"#
            );
        }
    }
    std::fs::write(&path, text).unwrap();
    path
}

/// Starts a watch of lo limited to `console`'s traffic, and waits until it
/// says it captures. `None` (with the reason printed) when the capture is
/// refused for want of privilege.
fn start(dir: &Path, console: &str, listeners: &Listeners, extra: &[&str]) -> Option<Watch> {
    let dep = deployment(dir, console, Some(listeners));
    let mut child = bin()
        .args([
            "watch",
            "-i",
            "lo",
            "-d",
            &path_str(&dep),
            "--color",
            "never",
        ])
        .args(["--filter", &format!("host {console}")])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut err = BufReader::new(child.stderr.take().unwrap());
    let mut first = String::new();
    err.read_line(&mut first).unwrap();
    if !first.starts_with("watch: capturing on lo") {
        let mut rest = String::new();
        err.read_to_string(&mut rest).unwrap();
        let status = child.wait().unwrap();
        let text = format!("{first}{rest}");
        if text.contains("permission denied") && text.contains("CAP_NET_RAW") {
            skip(&format!("this user may not capture on lo: {}", text.trim()));
            return None;
        }
        panic!("watch did not start ({status}): {text}");
    }
    // The rest of stderr is drained by a thread, so that the child never
    // blocks on a full pipe; it is read back at the end.
    let stderr = std::thread::spawn(move || {
        let mut rest = String::new();
        let _ = err.read_to_string(&mut rest);
        rest
    });
    Some(Watch { child, stderr })
}

/// A running watch, its stderr read by a thread of its own.
struct Watch {
    child: Child,
    stderr: std::thread::JoinHandle<String>,
}

impl Watch {
    /// Waits for the end: exit status, stdout, stderr after the first line.
    fn finish(self) -> (Option<i32>, String, String) {
        let o = self.child.wait_with_output().unwrap();
        let err = self.stderr.join().unwrap();
        (o.status.code(), String::from_utf8(o.stdout).unwrap(), err)
    }
}

/// A TCP exchange with each listener and a UDP exchange with each socket,
/// from 127.0.0.1.
fn traffic(l: &Listeners) {
    for listener in [&l.allowed_tcp, &l.forbidden_tcp] {
        let mut c = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (mut s, _) = listener.accept().unwrap();
        c.write_all(b"hello").unwrap();
        let mut buf = [0u8; 5];
        s.read_exact(&mut buf).unwrap();
        s.write_all(b"ok").unwrap();
        c.read_exact(&mut buf[..2]).unwrap();
    }
    let client = UdpSocket::bind("127.0.0.1:0").unwrap();
    for s in [&l.allowed_udp, &l.forbidden_udp] {
        client
            .send_to(b"<13>portaudit live test", s.local_addr().unwrap())
            .unwrap();
        let mut buf = [0u8; 64];
        let (_, from) = s.recv_from(&mut buf).unwrap();
        s.send_to(b"ack", from).unwrap();
    }
}

/// The findings CSV as (kind, proto, dst_port, rule_id) rows.
fn findings(csv: &str) -> Vec<(String, String, String, String)> {
    let mut reader = ::csv::Reader::from_reader(csv.as_bytes());
    let header = reader.headers().expect("a header").clone();
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    let (kind, proto, port, rule) = (col("kind"), col("proto"), col("dst_port"), col("rule_id"));
    reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            (
                r[kind].to_string(),
                r[proto].to_string(),
                r[port].to_string(),
                r[rule].to_string(),
            )
        })
        .collect()
}

/// Exactly: the forbidden TCP and UDP ports, and the required responder →
/// console 443 that never came (missing, judged on the whole run).
fn check_findings(csv: &str, l: &Listeners) {
    let [_, tcp, _, udp] = l.ports();
    let rows = findings(csv);
    let has = |kind: &str, proto: &str, port: u16| {
        rows.iter()
            .any(|r| r.0 == kind && r.1 == proto && r.2 == port.to_string())
    };
    assert!(has("unexpected-port", "tcp", tcp), "{csv}");
    assert!(has("unexpected-port", "udp", udp), "{csv}");
    assert!(
        rows.iter()
            .any(|r| r.0 == "missing-expected" && r.3 == "responder-to-console-https-443"),
        "{csv}"
    );
    assert_eq!(rows.len(), 3, "allowed traffic is no finding: {csv}");
}

/// Waits until `path` exists with more than a header, or `limit` passes.
fn wait_for_findings(path: &Path, limit: Duration) -> String {
    let start = Instant::now();
    loop {
        if let Ok(text) = std::fs::read_to_string(path) {
            if text.lines().count() >= 4 {
                return text;
            }
        }
        assert!(start.elapsed() < limit, "no findings in {}", path.display());
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn watch_reports_every_interval_and_stops_after_its_duration() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("findings.csv");
    let stats = dir.path().join("stats.json");
    let console = "127.0.0.2";
    let listeners = Listeners::bind(console);
    let Some(watch) = start(
        dir.path(),
        console,
        &listeners,
        &[
            "--interval",
            "500ms",
            "--duration",
            "6s",
            "-o",
            &path_str(&out),
            "--stats",
            &path_str(&stats),
        ],
    ) else {
        return;
    };
    traffic(&listeners);
    // An interval report shows the findings while the watch goes on.
    let interim = wait_for_findings(&out, Duration::from_secs(5));
    check_findings(&interim, &listeners);
    let (status, stdout, err) = watch.finish();
    assert_eq!(status, Some(1), "findings fail the run: {err}");
    assert!(stdout.is_empty(), "-o is a file: stdout stays empty");
    assert!(err.contains("watch: lo: report 1 after"), "{err}");
    assert!(err.contains("final report (--duration reached)"), "{err}");
    check_findings(&std::fs::read_to_string(&out).unwrap(), &listeners);
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&stats).unwrap()).unwrap();
    assert_eq!(v["filter"]["expression"], format!("host {console}"));
    let file = &v["files"][0];
    assert_eq!(file["file"], "live:lo");
    assert!(file["packets_read"].as_u64().unwrap() >= 12, "{file}");
    assert_eq!(file["live"]["dropped"], 0, "{file}");
    // Each packet's payload is read while libpcap's buffer holds it: the
    // two UDP exchanges' first payloads are syslog messages, the TCP
    // ones' `hello` nothing known.
    let by_app = &v["flows"]["by_app"];
    assert_eq!(by_app["syslog"], 2, "{by_app}");
    assert_eq!(by_app["unknown"], 2, "{by_app}");
    assert!(
        !dir.path().read_dir().unwrap().any(|e| e
            .unwrap()
            .file_name()
            .to_string_lossy()
            .ends_with(".portaudit-tmp")),
        "no half-written report is left behind"
    );
}

/// Ctrl-C (SIGINT) or SIGTERM right after the traffic: what is still in
/// the kernel's buffer is read, and the final report goes to stdout.
#[test]
fn ctrl_c_or_sigterm_ends_the_watch_with_the_final_report_on_stdout() {
    for (signal, console) in [("INT", "127.0.0.3"), ("TERM", "127.0.0.7")] {
        let dir = tempfile::tempdir().unwrap();
        let listeners = Listeners::bind(console);
        let Some(watch) = start(dir.path(), console, &listeners, &["--interval", "1h"]) else {
            return;
        };
        traffic(&listeners);
        let kill = Command::new("kill")
            .args([format!("-{signal}"), watch.child.id().to_string()])
            .status()
            .unwrap();
        assert!(kill.success());
        let (status, stdout, err) = watch.finish();
        assert_eq!(status, Some(1), "SIG{signal}: {err}");
        assert!(err.contains("final report (interrupted)"), "{err}");
        assert!(!err.contains("report 1 after"), "no interval passed: {err}");
        check_findings(&stdout, &listeners);
    }
}

/// Without CAP_NET_RAW the message says what is needed; as root the test
/// drops the privilege with setpriv to see it.
#[test]
fn without_the_capture_privilege_the_message_says_what_is_needed() {
    let is_root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
    let setpriv = Command::new("setpriv").arg("--version").output().is_ok();
    if !is_root || !setpriv {
        skip("dropping privileges needs root and setpriv (util-linux)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let dep = deployment(dir.path(), "127.0.0.4", None);
    // The unprivileged user must read the deployment.
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(&dep, std::fs::Permissions::from_mode(0o644)).unwrap();
    let o = Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .args(["--inh-caps=-all", "--bounding-set=-all"])
        .arg(env!("CARGO_BIN_EXE_portaudit"))
        .args([
            "watch",
            "-i",
            "lo",
            "-d",
            &path_str(&dep),
            "--duration",
            "1s",
        ])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    // setpriv itself may be refused (a container without CAP_SETUID), or
    // the unprivileged user may not reach the binary or the deployment:
    // then portaudit never asked for the capture.
    if !err.contains("CAP_NET_RAW") && (!err.starts_with("error:") || err.contains("live.toml")) {
        skip(&format!(
            "portaudit could not be run as an unprivileged user: {err}"
        ));
        return;
    }
    assert_eq!(code(&o), 2, "{err}");
    assert!(
        err.contains("cannot capture on lo: permission denied") && err.contains("CAP_NET_RAW"),
        "{err}"
    );
}

#[test]
fn an_unknown_interface_is_named_with_the_known_ones() {
    let dir = tempfile::tempdir().unwrap();
    let dep = deployment(dir.path(), "127.0.0.5", None);
    let o = run(&["watch", "-i", "nosuch0", "-d", &path_str(&dep)]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(code(&o), 2, "{err}");
    if err.contains("permission denied") {
        skip("no capture privilege, so interfaces cannot be listed");
        return;
    }
    assert!(
        err.contains("no interface named \"nosuch0\"") && err.contains("lo"),
        "{err}"
    );
}

/// A report that cannot be written stops the watch before it captures.
#[test]
fn an_unwritable_report_stops_the_watch_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let dep = deployment(dir.path(), "127.0.0.6", None);
    let out = dir.path().join("no-such-dir/findings.csv");
    let o = run(&[
        "watch",
        "-i",
        "lo",
        "-d",
        &path_str(&dep),
        "-o",
        &path_str(&out),
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(code(&o), 2, "{err}");
    assert!(
        err.contains("cannot write") && err.contains("no-such-dir"),
        "{err}"
    );
    assert!(!err.contains("capturing on"), "{err}");
}
