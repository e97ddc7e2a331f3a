//! Juniper JSA: `examples/jsa-site.toml`.

use portaudit::synth::{sock, Scenario};

/// Every required rule observed (SSH from the console, HTTPS from every
/// managed host, HA replication and heartbeat), with the everyday traffic
/// of the site; nothing else.
pub fn compliant() -> Scenario {
    let mut s = Scenario::new(1_767_312_000); // 2026-01-02T00:00:00Z
    s.tcp_session(sock("10.2.0.10:40022"), sock("10.2.1.5:22"), 2);
    s.tcp_session(sock("10.2.0.10:40023"), sock("10.2.1.6:22"), 1);
    for (i, mh) in ["10.2.1.5", "10.2.1.6", "10.2.1.7", "10.2.1.8"]
        .iter()
        .enumerate()
    {
        let port = 52000 + i as u16;
        s.tcp_session(sock(&format!("{mh}:{port}")), sock("10.2.0.10:443"), 2);
        s.udp(sock(&format!("{mh}:123")), sock("10.2.0.10:123"), 1, true);
    }
    s.udp(sock("10.2.0.10:123"), sock("10.2.0.123:123"), 2, true);
    // HA: the secondary replicates to the primary, heartbeats, pings.
    s.tcp_session(sock("10.2.0.11:41789"), sock("10.2.0.10:7789"), 5);
    s.tcp_session(sock("10.2.0.10:41101"), sock("10.2.0.11:10101"), 2);
    s.ping(
        "10.2.0.11".parse().expect("literal"),
        "10.2.0.10".parse().expect("literal"),
        3,
    );
    // The event collector streams to the console and feeds the processor.
    s.tcp_session(sock("10.2.1.6:42800"), sock("10.2.0.10:7800"), 3);
    s.tcp_session(sock("10.2.1.6:42801"), sock("10.2.0.10:8000"), 1);
    s.tcp_session(sock("10.2.1.6:42805"), sock("10.2.1.5:32005"), 4);
    // Log and flow sources.
    s.udp(sock("10.2.50.21:45514"), sock("10.2.1.6:514"), 4, false);
    s.tcp_session(sock("10.2.50.22:45600"), sock("10.2.1.6:6514"), 2);
    s.udp(sock("10.2.50.23:45162"), sock("10.2.1.6:162"), 2, false);
    s.udp(sock("10.2.60.1:2055"), sock("10.2.1.7:2055"), 3, false);
    // Apps: the console deploys to the App Host, which pulls images.
    s.tcp_session(sock("10.2.0.10:43000"), sock("10.2.1.8:9000"), 1);
    s.tcp_session(sock("10.2.1.8:43500"), sock("10.2.0.10:5000"), 2);
    // People and agents.
    s.tcp_session(sock("10.2.5.20:51000"), sock("10.2.0.10:443"), 3);
    s.tcp_session(sock("10.2.5.20:51001"), sock("10.2.0.10:22"), 1);
    s.tcp_session(sock("10.2.70.31:51413"), sock("10.2.0.10:8413"), 1);
    s.tcp_session(sock("10.2.0.10:44025"), sock("10.2.0.25:25"), 1);
    s.tcp_session(sock("10.2.0.10:44676"), sock("10.2.1.5:7676"), 1);
    s
}

/// One or more of every finding kind.
pub fn violations() -> Scenario {
    let mut s = Scenario::new(1_767_315_600); // 2026-01-02T01:00:00Z
    s.tcp_session(sock("10.2.0.10:40022"), sock("10.2.1.5:22"), 1);
    for (i, mh) in ["10.2.1.5", "10.2.1.6", "10.2.1.7"].iter().enumerate() {
        let port = 52000 + i as u16;
        s.tcp_session(sock(&format!("{mh}:{port}")), sock("10.2.0.10:443"), 1);
    }
    s.tcp_session(sock("10.2.0.11:41789"), sock("10.2.0.10:7789"), 2);
    // unexpected-port: FTP from a log source to the event collector.
    s.tcp_session(sock("10.2.50.21:46021"), sock("10.2.1.6:21"), 2);
    // unexpected-port: MySQL from an unbound host to the console appliance.
    s.tcp_refused(sock("192.0.2.50:46306"), sock("10.2.0.10:3306"));
    // wrong-direction (evidence): the console opens the collector's 7800.
    s.tcp_session(sock("10.2.0.10:46780"), sock("10.2.1.6:7800"), 1);
    // disabled-feature: RDP to the console, "RDP and Ethernet over USB" off.
    s.tcp_session(sock("10.2.5.20:46389"), sock("10.2.0.10:3389"), 2);
    // local-only-exposed: the Docker command port reached from a managed host.
    s.tcp_session(sock("10.2.1.5:46376"), sock("10.2.0.10:2376"), 1);
    // retired-port: the 2014.5 web admin interface on a managed host.
    s.tcp_refused(sock("10.2.5.20:46100"), sock("10.2.1.5:10000"));
    // missing-expected (refused): the App Host cannot reach the console.
    s.tcp_refused(sock("10.2.1.8:52003"), sock("10.2.0.10:443"));
    // missing-expected (never attempted): no HA heartbeat at all.
    s
}
