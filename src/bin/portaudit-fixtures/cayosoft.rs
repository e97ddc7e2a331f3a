//! Cayosoft Guardian: `examples/cayosoft-site.toml`.

use portaudit::synth::{sock, Scenario};

/// Every required rule observed: LDAP to a domain controller, the AD
/// connector's delivery to the server, online licensing; with the server's
/// other directory, file-share, portal and Microsoft 365 traffic.
pub fn compliant() -> Scenario {
    let mut s = Scenario::new(1_767_484_800); // 2026-01-04T00:00:00Z
    s.tcp_session(sock("10.4.0.40:49389"), sock("10.4.0.2:389"), 3);
    s.tcp_session(sock("10.4.0.40:49268"), sock("10.4.0.2:3268"), 1);
    s.tcp_session(sock("10.4.0.40:49985"), sock("10.4.0.3:5985"), 2);
    s.tcp_session(sock("10.4.0.40:49445"), sock("10.4.0.60:445"), 4);
    s.tcp_session(sock("10.4.5.9:51443"), sock("10.4.0.40:443"), 3);
    s.tcp_session(sock("10.4.8.10:49443"), sock("10.4.0.40:443"), 2);
    s.tcp_session(sock("10.4.8.10:49390"), sock("10.4.0.3:389"), 1);
    s.tcp_session(sock("10.4.0.40:49500"), sock("203.0.113.10:443"), 1);
    s.tcp_session(sock("10.4.0.40:49501"), sock("198.51.100.7:443"), 2);
    s
}

/// One or more of every finding kind a Guardian site can show.
pub fn violations() -> Scenario {
    let mut s = Scenario::new(1_767_488_400); // 2026-01-04T01:00:00Z
    s.tcp_session(sock("10.4.0.40:49389"), sock("10.4.0.2:389"), 1);
    s.tcp_session(sock("10.4.8.10:49443"), sock("10.4.0.40:443"), 1);
    // unexpected-port: RDP from an administrator to the server.
    s.tcp_session(sock("10.4.5.9:50389"), sock("10.4.0.40:3389"), 2);
    // unexpected-port: SMB to the dedicated server from an unbound host.
    s.tcp_refused(sock("192.0.2.77:50445"), sock("10.4.0.40:445"));
    // wrong-direction (evidence): a domain controller opens LDAP on the server.
    s.tcp_session(sock("10.4.0.2:50390"), sock("10.4.0.40:389"), 1);
    // disabled-feature: product update download, automatic updates off.
    s.tcp_session(sock("10.4.0.40:50500"), sock("203.0.113.20:443"), 2);
    // missing-expected (unanswered): the license service never answers.
    s.tcp_unanswered(sock("10.4.0.40:50501"), sock("203.0.113.10:443"));
    s
}
