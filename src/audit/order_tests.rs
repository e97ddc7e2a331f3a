//! The classification order of docs/audit.md#classification-order, one row
//! per case: each row is a flow built from packets (so that its initiator
//! is decided as a capture's would be), audited against a small inline
//! profile, and the verdict and the rule it rests on are checked.

use std::net::SocketAddr;
use std::path::Path;

use crate::decode::{PacketSummary, Transport, PROTO_ICMP, PROTO_TCP, PROTO_UDP, TCP_ACK, TCP_SYN};
use crate::flow::{InitiatorBasis, Limits, Overflow, SequentialTable};
use crate::rules::{Catalog, Deployment, FindingKind, Profile};

use super::{Auditor, Verdict};

use FindingKind::{DisabledFeature, LocalOnlyExposed, RetiredPort, UnexpectedPort, WrongDirection};
use InitiatorBasis::{IcmpType, PortHeuristic, Syn};
use Scope::{All, Bound};
use Wire::{Handshake, Icmp, MidStream, Udp};

/// Roles: `console` (dedicated), `agent`, `ad`. Features: `syslog` (on in
/// the deployment), `ldap` (off). Rules are listed in the order the rows
/// rely on (some rows check that file order does not decide).
const PROFILE: &str = r#"
id = "order-test"
name = "Order test"
vendor = "Test"
document = "none"

[roles.console]
name = "Console"
description = "The appliance"
dedicated = true
[roles.agent]
name = "Agent"
description = "Agents"
[roles.ad]
name = "Directory"
description = "Domain controllers"

[features.syslog]
name = "Syslog"
description = "Syslog forwarding"
[features.ldap]
name = "LDAP"
description = "Directory integration"

[[rule]]
id = "agent-to-console-https"
from = ["agent"]
to = ["console"]
proto = "tcp"
ports = "443"
requirement = "required"
purpose = "agents report"
source = "s"

[[rule]]
id = "agent-to-console-web"
from = ["agent"]
to = ["console"]
proto = "tcp"
ports = "443,8443"
purpose = "web"
source = "s"

[[rule]]
id = "console-to-agent-ssh"
from = ["console"]
to = ["agent"]
proto = "tcp"
ports = "22"
purpose = "maintenance"
source = "s"

[[rule]]
id = "console-agent-sync"
from = ["console"]
to = ["agent"]
proto = "tcp"
ports = "7000"
initiator = "either"
purpose = "sync, documented both ways"
source = "s"

[[rule]]
id = "console-to-agent-rdp"
from = ["console"]
to = ["agent"]
proto = "tcp"
ports = "3389"
purpose = "remote desktop"
source = "s"

[[rule]]
id = "agent-to-console-rdp"
from = ["agent"]
to = ["console"]
proto = "tcp"
ports = "3389"
purpose = "remote desktop back"
source = "s"

[[rule]]
id = "agent-to-console-syslog"
from = ["agent"]
to = ["console"]
proto = "udp"
ports = "514"
feature = "syslog"
purpose = "syslog"
source = "s"

[[rule]]
id = "console-to-ad-ldap"
from = ["console"]
to = ["ad"]
proto = "tcp"
ports = "389"
feature = "ldap"
purpose = "directory lookups"
source = "s"

[[rule]]
id = "console-to-ad-ldaps"
from = ["console"]
to = ["ad"]
proto = "tcp"
ports = "636"
feature = "ldap"
purpose = "directory lookups over TLS"
source = "s"

[[rule]]
id = "ad-to-console-ldaps"
from = ["ad"]
to = ["console"]
proto = "tcp"
ports = "636"
purpose = "directory callbacks"
source = "s"

[[rule]]
id = "console-to-ad-db"
from = ["console"]
to = ["ad"]
proto = "tcp"
ports = "5433"
feature = "ldap"
purpose = "directory database"
source = "s"

[[rule]]
id = "console-ping-agent"
from = ["console"]
to = ["agent"]
proto = "icmp"
ports = "8"
purpose = "reachability"
source = "s"

[[rule]]
id = "legacy-admin"
from = ["agent"]
to = ["console"]
proto = "tcp"
ports = "8080,9000"
scope = "retired"
purpose = "old admin page"
source = "s"

[[rule]]
id = "console-local-db"
from = ["console"]
to = ["console"]
proto = "tcp"
ports = "5432-5433,9000"
scope = "local"
purpose = "database on the appliance"
source = "s"
"#;

/// The deployment; `{scope}` is `bound` or `all`.
const DEPLOYMENT: &str = r#"
name = "order"
scope = "{scope}"

[profiles.order-test]
features = ["syslog"]
[profiles.order-test.hosts]
console = ["10.0.0.10"]
agent = ["10.0.1.0/24"]
ad = ["10.0.0.2"]

[[site_rule]]
id = "site-dns"
from = ["*"]
to = ["ad"]
proto = "udp"
ports = "53"
purpose = "internal DNS"
source = "site policy"

[[site_rule]]
id = "site-https"
from = ["*"]
to = ["console"]
proto = "tcp"
ports = "443"
purpose = "any bound host may reach the console"
source = "site policy"
"#;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Scope {
    Bound,
    All,
}

/// What goes over the wire between the initiator and the responder.
#[derive(Clone, Copy, Debug)]
enum Wire {
    /// TCP SYN, SYN-ACK, ACK: the initiator is seen (`syn`).
    Handshake,
    /// TCP seen mid-stream, the responder's ACK first: the initiator is
    /// inferred from the ports (`port-heuristic`).
    MidStream,
    /// UDP, a datagram each way, the responder's first.
    Udp,
    /// An ICMP message `(type, code)` from the initiator, and the
    /// responder's reply type if it answers.
    Icmp(u8, u8, Option<u8>),
}

struct Case {
    name: &'static str,
    scope: Scope,
    wire: Wire,
    /// `addr:port` (for ICMP the port is ignored).
    initiator: &'static str,
    responder: &'static str,
    /// How the audit must decide the initiator, so that the row tests what
    /// it says.
    basis: InitiatorBasis,
    verdict: Verdict,
    /// The rule the verdict rests on (`profile/rule`), empty when none.
    rule: &'static str,
}

const fn finding(kind: FindingKind) -> Verdict {
    Verdict::Finding(kind)
}

/// Agents are 10.0.1.0/24, the console 10.0.0.10, the directory 10.0.0.2;
/// 192.0.2.0/24 is bound to nothing.
const CASES: &[Case] = &[
    // 1. ICMP errors and neighbour discovery, before anything else.
    Case {
        name: "icmp error between bound hosts is control traffic",
        scope: Bound,
        wire: Icmp(3, 3, None),
        initiator: "10.0.0.2:0",
        responder: "10.0.1.5:0",
        basis: IcmpType,
        verdict: Verdict::IcmpControl,
        rule: "",
    },
    Case {
        name: "icmp error is control traffic before scope is asked",
        scope: Bound,
        wire: Icmp(11, 0, None),
        initiator: "192.0.2.1:0",
        responder: "192.0.2.2:0",
        basis: IcmpType,
        verdict: Verdict::IcmpControl,
        rule: "",
    },
    // 2. Scope.
    Case {
        name: "neither end bound is out of scope",
        scope: Bound,
        wire: Handshake,
        initiator: "192.0.2.1:50000",
        responder: "192.0.2.2:443",
        basis: Syn,
        verdict: Verdict::OutOfScope,
        rule: "",
    },
    Case {
        name: "one end bound to a role that is not dedicated is out of scope",
        scope: Bound,
        wire: Handshake,
        initiator: "10.0.1.5:50000",
        responder: "192.0.2.2:4444",
        basis: Syn,
        verdict: Verdict::OutOfScope,
        rule: "",
    },
    Case {
        name: "an unbound host reaching a dedicated role is in scope",
        scope: Bound,
        wire: Handshake,
        initiator: "192.0.2.7:50000",
        responder: "10.0.0.10:4444",
        basis: Syn,
        verdict: finding(UnexpectedPort),
        rule: "",
    },
    Case {
        name: "a dedicated role reaching an unbound host is in scope",
        scope: Bound,
        wire: Handshake,
        initiator: "10.0.0.10:50000",
        responder: "192.0.2.7:4444",
        basis: Syn,
        verdict: finding(UnexpectedPort),
        rule: "",
    },
    Case {
        name: "scope all audits flows between unbound hosts",
        scope: All,
        wire: Handshake,
        initiator: "192.0.2.1:50000",
        responder: "192.0.2.2:4444",
        basis: Syn,
        verdict: finding(UnexpectedPort),
        rule: "",
    },
    // 3. Allowed.
    Case {
        name: "allowed forward, the first of the rules that allow it recorded",
        scope: Bound,
        wire: Handshake,
        initiator: "10.0.1.5:50000",
        responder: "10.0.0.10:443",
        basis: Syn,
        verdict: Verdict::Allowed,
        rule: "order-test/agent-to-console-https",
    },
    Case {
        name: "allowed by the second rule when the first does not list the port",
        scope: Bound,
        wire: Handshake,
        initiator: "10.0.1.5:50000",
        responder: "10.0.0.10:8443",
        basis: Syn,
        verdict: Verdict::Allowed,
        rule: "order-test/agent-to-console-web",
    },
    Case {
        name: "allowed on an inferred initiator: a rule's port beats the lower port",
        scope: Bound,
        wire: MidStream,
        initiator: "10.0.1.5:1000",
        responder: "10.0.0.10:8443",
        basis: PortHeuristic,
        verdict: Verdict::Allowed,
        rule: "order-test/agent-to-console-web",
    },
    Case {
        name: "initiator either allows the reverse",
        scope: Bound,
        wire: Handshake,
        initiator: "10.0.1.5:50000",
        responder: "10.0.0.10:7000",
        basis: Syn,
        verdict: Verdict::Allowed,
        rule: "order-test/console-agent-sync",
    },
    Case {
        name: "initiator either allows the forward way as well",
        scope: Bound,
        wire: Handshake,
        initiator: "10.0.0.10:50000",
        responder: "10.0.1.5:7000",
        basis: Syn,
        verdict: Verdict::Allowed,
        rule: "order-test/console-agent-sync",
    },
    Case {
        name: "a rule whose feature is on allows",
        scope: Bound,
        wire: Udp,
        initiator: "10.0.1.5:50000",
        responder: "10.0.0.10:514",
        basis: PortHeuristic,
        verdict: Verdict::Allowed,
        rule: "order-test/agent-to-console-syslog",
    },
    Case {
        name: "a site rule allows",
        scope: Bound,
        wire: Udp,
        initiator: "10.0.1.5:50000",
        responder: "10.0.0.2:53",
        basis: PortHeuristic,
        verdict: Verdict::Allowed,
        rule: "site/site-dns",
    },
    Case {
        name: "a site rule allows what no profile rule does",
        scope: Bound,
        wire: Handshake,
        initiator: "10.0.0.2:50000",
        responder: "10.0.0.10:443",
        basis: Syn,
        verdict: Verdict::Allowed,
        rule: "site/site-https",
    },
    Case {
        name: "icmp echo allowed by its type",
        scope: Bound,
        wire: Icmp(8, 0, Some(0)),
        initiator: "10.0.0.10:0",
        responder: "10.0.1.5:0",
        basis: IcmpType,
        verdict: Verdict::Allowed,
        rule: "order-test/console-ping-agent",
    },
    Case {
        name: "allowed wins over a rule that forbids this direction, whatever their order",
        scope: Bound,
        wire: Handshake,
        initiator: "10.0.1.5:50000",
        responder: "10.0.0.10:3389",
        basis: Syn,
        verdict: Verdict::Allowed,
        rule: "order-test/agent-to-console-rdp",
    },
    // 4. Wrong direction.
    Case {
        name: "reverse of a from-only rule is wrong-direction",
        scope: Bound,
        wire: Handshake,
        initiator: "10.0.1.5:50000",
        responder: "10.0.0.10:22",
        basis: Syn,
        verdict: finding(WrongDirection),
        rule: "order-test/console-to-agent-ssh",
    },
    Case {
        name: "wrong-direction on an inferred initiator",
        scope: Bound,
        wire: MidStream,
        initiator: "10.0.1.5:1000",
        responder: "10.0.0.10:22",
        basis: PortHeuristic,
        verdict: finding(WrongDirection),
        rule: "order-test/console-to-agent-ssh",
    },
    Case {
        name: "icmp echo the wrong way",
        scope: Bound,
        wire: Icmp(8, 0, Some(0)),
        initiator: "10.0.1.5:0",
        responder: "10.0.0.10:0",
        basis: IcmpType,
        verdict: finding(WrongDirection),
        rule: "order-test/console-ping-agent",
    },
    Case {
        name: "wrong-direction wins over a disabled rule that allows it",
        scope: Bound,
        wire: Handshake,
        initiator: "10.0.0.10:50000",
        responder: "10.0.0.2:636",
        basis: Syn,
        verdict: finding(WrongDirection),
        rule: "order-test/ad-to-console-ldaps",
    },
    // 5. Disabled feature.
    Case {
        name: "a rule whose feature is off is disabled-feature",
        scope: Bound,
        wire: Handshake,
        initiator: "10.0.0.10:50000",
        responder: "10.0.0.2:389",
        basis: Syn,
        verdict: finding(DisabledFeature),
        rule: "order-test/console-to-ad-ldap",
    },
    Case {
        name: "disabled-feature wins over a local rule listing the port",
        scope: Bound,
        wire: Handshake,
        initiator: "10.0.0.10:50000",
        responder: "10.0.0.2:5433",
        basis: Syn,
        verdict: finding(DisabledFeature),
        rule: "order-test/console-to-ad-db",
    },
    Case {
        name: "a disabled rule the wrong way round is not disabled-feature",
        scope: Bound,
        wire: Handshake,
        initiator: "10.0.0.2:50000",
        responder: "10.0.0.10:389",
        basis: Syn,
        verdict: finding(UnexpectedPort),
        rule: "",
    },
    // 6. Local and retired ports.
    Case {
        name: "a local rule's port between two hosts",
        scope: Bound,
        wire: Handshake,
        initiator: "10.0.1.5:50000",
        responder: "10.0.0.10:5432",
        basis: Syn,
        verdict: finding(LocalOnlyExposed),
        rule: "order-test/console-local-db",
    },
    Case {
        name: "a local rule's port counts whatever the hosts' roles",
        scope: Bound,
        wire: Handshake,
        initiator: "10.0.0.2:50000",
        responder: "10.0.1.5:5432",
        basis: Syn,
        verdict: finding(LocalOnlyExposed),
        rule: "order-test/console-local-db",
    },
    Case {
        name: "a retired rule's port",
        scope: Bound,
        wire: Handshake,
        initiator: "10.0.1.5:50000",
        responder: "10.0.0.10:8080",
        basis: Syn,
        verdict: finding(RetiredPort),
        rule: "order-test/legacy-admin",
    },
    Case {
        name: "local wins over retired when both list the port, whatever their order",
        scope: Bound,
        wire: Handshake,
        initiator: "10.0.1.5:50000",
        responder: "10.0.0.10:9000",
        basis: Syn,
        verdict: finding(LocalOnlyExposed),
        rule: "order-test/console-local-db",
    },
    // 7. Nothing.
    Case {
        name: "no rule lists the port",
        scope: Bound,
        wire: Handshake,
        initiator: "10.0.1.5:50000",
        responder: "10.0.0.10:4444",
        basis: Syn,
        verdict: finding(UnexpectedPort),
        rule: "",
    },
    Case {
        name: "a documented port between roles no rule pairs",
        scope: Bound,
        wire: Handshake,
        initiator: "10.0.1.5:50000",
        responder: "10.0.1.6:443",
        basis: Syn,
        verdict: finding(UnexpectedPort),
        rule: "",
    },
];

/// The packets of a row's flow, in capture order.
fn packets(c: &Case) -> Vec<PacketSummary> {
    let i: SocketAddr = c.initiator.parse().expect(c.name);
    let r: SocketAddr = c.responder.parse().expect(c.name);
    let packet = |from: SocketAddr, to: SocketAddr, proto, transport, flags| PacketSummary {
        src: from.ip(),
        dst: to.ip(),
        proto,
        transport,
        tcp_flags: flags,
        tcp_seq: 1,
        fragment: None,
        wire_len: 60,
        encap: crate::decode::Encap::None,
        at: 0,
        payload: crate::decode::NO_PAYLOAD,
    };
    let ports = |from: SocketAddr, to: SocketAddr| Transport::Ports {
        src: from.port(),
        dst: to.port(),
    };
    let tcp = |from, to, flags| packet(from, to, PROTO_TCP, ports(from, to), flags);
    match c.wire {
        Handshake => vec![
            tcp(i, r, TCP_SYN),
            tcp(r, i, TCP_SYN | TCP_ACK),
            tcp(i, r, TCP_ACK),
        ],
        MidStream => vec![tcp(r, i, TCP_ACK), tcp(i, r, TCP_ACK)],
        Udp => vec![
            packet(r, i, PROTO_UDP, ports(r, i), 0),
            packet(i, r, PROTO_UDP, ports(i, r), 0),
        ],
        Icmp(kind, code, reply) => {
            let icmp = |kind, code| Transport::Icmp { kind, code };
            let mut v = vec![packet(i, r, PROTO_ICMP, icmp(kind, code), 0)];
            if let Some(reply) = reply {
                v.push(packet(r, i, PROTO_ICMP, icmp(reply, code), 0));
            }
            v
        }
    }
}

fn deployment(scope: Scope) -> Deployment {
    let mut catalog = Catalog::default();
    catalog.insert(Profile::parse(Path::new("order-test.toml"), PROFILE).unwrap());
    let scope = match scope {
        Bound => "bound",
        All => "all",
    };
    let text = DEPLOYMENT.replace("{scope}", scope);
    Deployment::parse(Path::new("order.toml"), &text, &catalog).unwrap()
}

#[test]
fn classification_order() {
    let deployments = [(Bound, deployment(Bound)), (All, deployment(All))];
    let mut failures = Vec::new();
    for c in CASES {
        let d = &deployments.iter().find(|(s, _)| *s == c.scope).unwrap().1;
        let mut table = SequentialTable::new(Limits::DEFAULT);
        for p in packets(c) {
            table.add(&p, None);
        }
        let flows = table.copy_flows();
        let report =
            Auditor::new(d).audit(&flows, &Overflow::default(), None, &Limits::DEFAULT, true);
        assert_eq!(report.flows.len(), 1, "{}: one flow", c.name);
        let v = &report.flows[0];
        let i: SocketAddr = c.initiator.parse().unwrap();
        assert_eq!(
            (v.flow.initiator.addr, v.flow.basis),
            (i.ip(), c.basis),
            "{}: the initiator and how it was decided",
            c.name
        );
        let rule = if v.rule_id.is_empty() {
            String::new()
        } else {
            format!("{}/{}", v.profile, v.rule_id)
        };
        if (&v.verdict, rule.as_str()) != (&c.verdict, c.rule) {
            failures.push(format!(
                "{}: got {} {rule:?}, want {} {:?}",
                c.name,
                v.verdict.label(),
                c.verdict.label(),
                c.rule
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
