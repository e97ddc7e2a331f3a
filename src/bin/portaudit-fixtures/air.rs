//! Binalyze AIR: `examples/air-lab.toml`.

use portaudit::synth::{sock, Scenario};

/// Every required rule of examples/air-lab.toml observed, nothing else.
pub fn compliant() -> Scenario {
    let mut s = Scenario::new(1_767_225_600); // 2026-01-01T00:00:00Z
    s.tcp_session(sock("10.1.20.11:50001"), sock("10.1.0.10:443"), 3);
    s.tcp_session(sock("10.1.20.12:50002"), sock("10.1.0.10:443"), 2);
    s.tcp_session(sock("[fd00:20::11]:50003"), sock("[fd00:20::10]:443"), 1);
    s.tcp_session(sock("10.1.5.7:51000"), sock("10.1.0.10:443"), 4);
    s.tcp_session(sock("10.1.5.7:51001"), sock("10.1.0.10:8443"), 1);
    s.tcp_session(sock("10.1.0.10:40001"), sock("10.1.0.2:636"), 2);
    s.udp(sock("10.1.0.10:40514"), sock("10.1.0.50:514"), 5, false);
    s.udp(sock("10.1.20.11:53001"), sock("10.1.0.2:53"), 2, true);
    // The console keeps talking to a responder already connected when the
    // capture started: no handshake, direction from the rule's port.
    s.tcp_mid_stream(sock("10.1.20.12:50010"), sock("10.1.0.10:443"), 3);
    s
}

/// At least one finding of every kind.
pub fn violations() -> Scenario {
    let mut s = Scenario::new(1_767_229_200); // 2026-01-01T01:00:00Z
                                              // Compliant background so each-source checks see these responders.
    s.tcp_session(sock("10.1.20.11:50001"), sock("10.1.0.10:443"), 1);
    s.tcp_session(sock("10.1.20.12:50002"), sock("10.1.0.10:443"), 1);
    s.tcp_session(sock("10.1.0.10:40001"), sock("10.1.0.2:389"), 1);
    // unexpected-port: SSH from a responder to the console.
    s.tcp_session(sock("10.1.20.11:50100"), sock("10.1.0.10:22"), 2);
    // unexpected-port: SNMP from an unbound host to the console appliance.
    s.udp(sock("192.0.2.99:40161"), sock("10.1.0.10:161"), 2, true);
    // wrong-direction on evidence: the console opens 443 on a responder.
    s.tcp_session(sock("10.1.0.10:40200"), sock("10.1.20.12:443"), 1);
    // wrong-direction on inference: mid-stream 8443 where the console side
    // holds the documented port... reversed: responder side listens on 8443.
    s.tcp_mid_stream(sock("10.1.0.10:40300"), sock("10.1.20.11:8443"), 2);
    // disabled-feature: real-time task push, feature off.
    s.tcp_session(sock("10.1.20.12:50300"), sock("10.1.0.10:4222"), 1);
    // local-only-exposed: the console's database reached from a responder.
    s.tcp_session(sock("10.1.20.11:50400"), sock("10.1.0.10:5432"), 1);
    // retired-port: telnet to the console.
    s.tcp_refused(sock("10.1.5.7:51100"), sock("10.1.0.10:23"));
    // missing-expected (refused): a responder whose 443 attempts are refused.
    s.tcp_refused(sock("10.1.20.13:50500"), sock("10.1.0.10:443"));
    s.tcp_refused(sock("10.1.20.13:50501"), sock("10.1.0.10:443"));
    // missing-expected (unanswered): an IPv6 responder that gets no answer.
    s.tcp_unanswered(sock("[fd00:20::12]:50600"), sock("[fd00:20::10]:443"));
    // missing-expected (never attempted): no syslog at all in this capture.
    s
}
