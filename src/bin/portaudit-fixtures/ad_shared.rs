//! Cayosoft Guardian and Netwrix Threat Manager on shared domain
//! controllers: `examples/ad-shared.toml`.

use portaudit::synth::{sock, Scenario};

/// Both products' required traffic to and from the shared domain
/// controllers, each within its own profile's rules.
pub fn compliant() -> Scenario {
    let mut s = Scenario::new(1_767_571_200); // 2026-01-05T00:00:00Z
    s.tcp_session(sock("10.5.0.40:49389"), sock("10.5.0.2:389"), 2);
    s.tcp_session(sock("10.5.0.40:49985"), sock("10.5.0.3:5985"), 1);
    s.tcp_session(sock("10.5.0.20:47389"), sock("10.5.0.2:389"), 2);
    s.tcp_session(sock("10.5.0.20:47390"), sock("10.5.0.3:9389"), 1);
    s.tcp_session(sock("10.5.0.20:47088"), sock("10.5.0.3:88"), 1);
    s.tcp_session(sock("10.5.0.2:47100"), sock("10.5.0.20:10001"), 3);
    s.tcp_session(sock("10.5.0.3:47101"), sock("10.5.0.20:10001"), 3);
    s.tcp_session(sock("10.5.5.9:51443"), sock("10.5.0.40:443"), 2);
    s.tcp_session(sock("10.5.5.9:51080"), sock("10.5.0.20:8080"), 2);
    s.udp(sock("10.5.0.40:53001"), sock("10.5.0.2:53"), 2, true);
    s.udp(sock("10.5.0.20:53002"), sock("10.5.0.3:53"), 2, true);
    s
}

/// Rules do not leak between profiles: what one product may do on a shared
/// host, the other may not.
pub fn violations() -> Scenario {
    let mut s = Scenario::new(1_767_574_800); // 2026-01-05T01:00:00Z
    s.tcp_session(sock("10.5.0.40:49389"), sock("10.5.0.2:389"), 1);
    s.tcp_session(sock("10.5.0.20:47389"), sock("10.5.0.2:389"), 1);
    s.tcp_session(sock("10.5.0.2:47100"), sock("10.5.0.20:10001"), 1);
    // unexpected-port: Guardian uses AD Web Services, which only Threat
    // Manager's profile documents.
    s.tcp_session(sock("10.5.0.40:50389"), sock("10.5.0.2:9389"), 2);
    // unexpected-port: Guardian connects to Threat Manager's agent port.
    s.tcp_session(sock("10.5.0.40:50001"), sock("10.5.0.20:10001"), 1);
    // wrong-direction (evidence): a domain controller opens LDAP on the
    // Threat Manager server.
    s.tcp_session(sock("10.5.0.3:50390"), sock("10.5.0.20:389"), 1);
    // missing-expected (refused): the agent on 10.5.0.3 is refused.
    s.tcp_refused(sock("10.5.0.3:47101"), sock("10.5.0.20:10001"));
    s
}
