//! Netwrix Threat Manager: `examples/netwrix-site.toml`.

use portaudit::synth::{sock, Scenario};

/// Every required rule observed: both agents' data streams, the remote
/// database, LDAP to a domain controller; with the rest of the server's
/// directory traffic and a console session.
pub fn compliant() -> Scenario {
    let mut s = Scenario::new(1_767_398_400); // 2026-01-03T00:00:00Z
    s.udp(sock("10.3.10.5:47000"), sock("10.3.0.20:10000"), 5, false);
    s.udp(sock("10.3.10.6:47001"), sock("10.3.0.20:10000"), 3, false);
    s.tcp_session(sock("10.3.0.2:47100"), sock("10.3.0.20:10001"), 4);
    s.tcp_session(sock("10.3.0.3:47101"), sock("10.3.0.20:10001"), 2);
    s.tcp_session(sock("10.3.0.20:47435"), sock("10.3.0.30:5435"), 6);
    s.tcp_session(sock("10.3.0.20:47389"), sock("10.3.0.2:389"), 2);
    s.tcp_session(sock("10.3.0.20:47088"), sock("10.3.0.2:88"), 1);
    s.tcp_session(sock("10.3.0.20:47135"), sock("10.3.0.2:135"), 1);
    s.tcp_session(sock("10.3.0.20:47136"), sock("10.3.0.2:49668"), 1);
    s.tcp_session(sock("10.3.0.20:47390"), sock("10.3.0.3:9389"), 1);
    s.tcp_session(sock("10.3.5.14:51080"), sock("10.3.0.20:8080"), 3);
    s
}

/// One or more of every finding kind a Netwrix site can show.
pub fn violations() -> Scenario {
    let mut s = Scenario::new(1_767_402_000); // 2026-01-03T01:00:00Z
    s.udp(sock("10.3.10.5:47000"), sock("10.3.0.20:10000"), 2, false);
    s.tcp_session(sock("10.3.0.2:47100"), sock("10.3.0.20:10001"), 1);
    s.tcp_session(sock("10.3.0.20:47389"), sock("10.3.0.2:389"), 1);
    // unexpected-port: SSH from a console user to the server.
    s.tcp_session(sock("10.3.5.14:48022"), sock("10.3.0.20:22"), 2);
    // wrong-direction (evidence): the server opens the agent's AMQP port.
    s.tcp_session(sock("10.3.0.20:48001"), sock("10.3.0.3:10001"), 1);
    // disabled-feature: an Activity Monitor AD stream, that feature off.
    s.tcp_session(sock("10.3.10.6:48101"), sock("10.3.0.20:10001"), 1);
    // missing-expected (refused): the remote database refuses the server.
    s.tcp_refused(sock("10.3.0.20:48435"), sock("10.3.0.30:5435"));
    // missing-expected (never attempted): the agent on 10.3.0.3 is silent.
    s
}
