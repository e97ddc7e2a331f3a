//! Every error in a deployment or profile, pinned: exit 2 and one line
//! per mistake naming file:line:column and what to fix (a deployment is
//! checked whole: every mistake in one run). A change of wording is a
//! change of this file.

use crate::{code, run};

/// (file name, contents, the whole stderr after the first "error: ").
const CASES: &[(&str, &str, &str)] = &[
    (
        "several.toml",
        "name = \"x\"\n[profiles.binalyze-air]\nfeatures = [\"nope\"]\n[profiles.binalyze-air.hosts]\nconsole = [\"10.0.0.300\"]\nwizard = [\"10.0.0.1\"]\n",
        "several.toml:3:13: unknown feature \"nope\" of profile \"binalyze-air\"; its features are: ad_integration, syslog, realtime_tasks, sso\n\
         error: several.toml:5:12: \"10.0.0.300\" is not an IP address or CIDR network; write e.g. \"10.1.0.10\", \"10.1.20.0/24\" or \"fd00:20::/64\"\n\
         error: several.toml:6:1: unknown role \"wizard\" of profile \"binalyze-air\"; its roles are: console, responder, user, api_client, ad, syslog",
    ),
    (
        "malformed.toml",
        "name = \"x\n[profiles.binalyze-air]\n",
        "malformed.toml:1:10: invalid basic string",
    ),
    (
        "nul.toml",
        "name = \"x\"\n#\0\n[profiles.binalyze-air]\n",
        "nul.toml:2:2: control character U+0000 is not allowed in TOML outside strings (and only tab inside them); remove it",
    ),
    (
        "typo.toml",
        "name = \"x\"\nscop = \"all\"\n[profiles.binalyze-air]\n",
        "typo.toml:2:1: unknown field `scop`, expected one of `name`, `scope`, `profiles`, `site_rule`, `severity`, `waiver`",
    ),
    (
        "empty.toml",
        "name = \"x\"\n",
        "empty.toml:1:1: the deployment names no profile; add a [profiles.<id>] table with its hosts (known profiles: binalyze-air, cayosoft-guardian, juniper-jsa, netwrix-threat-manager, xdr-forensics); `portaudit init --profile ID` writes a skeleton",
    ),
    (
        "profile.toml",
        "name = \"x\"\n[profiles.qradar]\n",
        "profile.toml:2:11: unknown profile \"qradar\"; known profiles: binalyze-air, cayosoft-guardian, juniper-jsa, netwrix-threat-manager, xdr-forensics",
    ),
    (
        "role.toml",
        "name = \"x\"\n[profiles.binalyze-air.hosts]\nconsol = [\"10.0.0.1\"]\n",
        "role.toml:3:1: unknown role \"consol\" of profile \"binalyze-air\"; its roles are: console, responder, user, api_client, ad, syslog",
    ),
    (
        "feature.toml",
        "name = \"x\"\n[profiles.binalyze-air]\nfeatures = [\"syslogg\"]\n",
        "feature.toml:3:13: unknown feature \"syslogg\" of profile \"binalyze-air\"; its features are: ad_integration, syslog, realtime_tasks, sso",
    ),
    (
        "cidr.toml",
        "name = \"x\"\n[profiles.binalyze-air.hosts]\nconsole = [\"10.0.0.5/24\"]\n",
        "cidr.toml:3:12: \"10.0.0.5/24\" has host bits set; did you mean \"10.0.0.0/24\"?",
    ),
    (
        "addr.toml",
        "name = \"x\"\n[profiles.binalyze-air.hosts]\nconsole = [\"10.0.0.256\"]\n",
        "addr.toml:3:12: \"10.0.0.256\" is not an IP address or CIDR network; write e.g. \"10.1.0.10\", \"10.1.20.0/24\" or \"fd00:20::/64\"",
    ),
    (
        "port0.toml",
        "name = \"x\"\n[profiles.binalyze-air]\n[[site_rule]]\nid = \"s\"\nfrom = [\"*\"]\nto = [\"*\"]\nproto = \"tcp\"\nports = \"0\"\npurpose = \"p\"\nsource = \"s\"\n",
        "port0.toml:8:9: port 0 in \"0\" is not a port; ports run from 1 to 65535",
    ),
    (
        "port70000.toml",
        "name = \"x\"\n[profiles.binalyze-air]\n[[site_rule]]\nid = \"s\"\nfrom = [\"*\"]\nto = [\"*\"]\nproto = \"udp\"\nports = \"53,70000\"\npurpose = \"p\"\nsource = \"s\"\n",
        "port70000.toml:8:9: port 70000 in \"53,70000\" is above 65535",
    ),
    (
        "reversed.toml",
        "name = \"x\"\n[profiles.binalyze-air]\n[[site_rule]]\nid = \"s\"\nfrom = [\"*\"]\nto = [\"*\"]\nproto = \"tcp\"\nports = \"23000-20000\"\npurpose = \"p\"\nsource = \"s\"\n",
        "reversed.toml:8:9: port range \"23000-20000\" is reversed; write it as \"20000-23000\"",
    ),
    (
        "noports.toml",
        "name = \"x\"\n[profiles.binalyze-air]\n[[site_rule]]\nid = \"s\"\nfrom = [\"*\"]\nto = [\"*\"]\nproto = \"tcp\"\npurpose = \"p\"\nsource = \"s\"\n",
        "noports.toml:7:9: site rule \"s\" is tcp but has no `ports`; add e.g. ports = \"53\"",
    ),
    (
        "proto.toml",
        "name = \"x\"\n[profiles.binalyze-air]\n[[site_rule]]\nid = \"s\"\nfrom = [\"*\"]\nto = [\"*\"]\nproto = \"sctp\"\nports = \"1\"\npurpose = \"p\"\nsource = \"s\"\n",
        "proto.toml:7:9: unknown variant `sctp`, expected one of `tcp`, `udp`, `tcp/udp`, `icmp`, `icmpv6`",
    ),
    (
        "severity.toml",
        "name = \"x\"\n[profiles.binalyze-air]\n[severity]\nunexpected-port = \"fatal\"\n",
        "severity.toml:4:19: unknown variant `fatal`, expected one of `info`, `warning`, `error`",
    ),
    (
        "dupid.toml",
        "id = \"mine\"\nname = \"M\"\nvendor = \"V\"\ndocument = \"d\"\n[roles.a]\nname = \"A\"\ndescription = \"a\"\n\
         [[rule]]\nid = \"r\"\nfrom = [\"a\"]\nto = [\"a\"]\nproto = \"tcp\"\nports = \"1\"\npurpose = \"p\"\nsource = \"s\"\n\
         [[rule]]\nid = \"r\"\nfrom = [\"a\"]\nto = [\"a\"]\nproto = \"tcp\"\nports = \"2\"\npurpose = \"p\"\nsource = \"s\"\n",
        "dupid.toml:17:6: rule id \"r\" is used twice; rule ids must be unique within a profile",
    ),
    (
        "conflict.toml",
        "name = \"x\"\n[profiles.binalyze-air.hosts]\nconsole = [\"10.0.0.1\"]\n\
         [profiles.netwrix-threat-manager.hosts]\ndomain_controller = [\"10.0.0.2\", \"10.0.0.1\"]\n",
        "conflict.toml:5:34: 10.0.0.1 is already bound to binalyze-air role \"console\", which is dedicated (every port of its host belongs to that product); it cannot also hold netwrix-threat-manager role \"domain_controller\": remove one of the two bindings, or allow the other product's traffic with a [[site_rule]]",
    ),
    (
        "conflict2.toml",
        "name = \"x\"\n[profiles.netwrix-threat-manager.hosts]\ndomain_controller = [\"10.0.0.1\"]\n\
         [profiles.binalyze-air.hosts]\nconsole = [\"10.0.0.1\"]\n",
        "conflict2.toml:5:12: 10.0.0.1 is already bound to netwrix-threat-manager role \"domain_controller\"; it cannot also hold binalyze-air role \"console\", which is dedicated (every port of its host belongs to that product): remove one of the two bindings, or allow the other product's traffic with a [[site_rule]]",
    ),
    (
        "dynamic-icmp.toml",
        "name = \"x\"\n[profiles.binalyze-air.hosts]\nconsole = [\"10.0.0.1\"]\n[[site_rule]]\nid = \"r\"\nfrom = [\"*\"]\nto = [\"*\"]\nproto = \"icmp\"\ndynamic = \"epm\"\npurpose = \"p\"\nsource = \"s\"\n",
        "dynamic-icmp.toml:9:11: site rule \"r\" is icmp but has `dynamic`: mappers announce TCP and UDP ports",
    ),
    (
        "services-alone.toml",
        "name = \"x\"\n[profiles.binalyze-air.hosts]\nconsole = [\"10.0.0.1\"]\n[[site_rule]]\nid = \"r\"\nfrom = [\"*\"]\nto = [\"*\"]\nproto = \"tcp\"\nports = \"2049\"\nservices = [\"nfs\"]\npurpose = \"p\"\nsource = \"s\"\n",
        "services-alone.toml:10:12: site rule \"r\" has `services` but no `dynamic`; add dynamic = \"epm\" or \"portmap\"",
    ),
    (
        "program.toml",
        "name = \"x\"\n[profiles.binalyze-air.hosts]\nconsole = [\"10.0.0.1\"]\n[[site_rule]]\nid = \"r\"\nfrom = [\"*\"]\nto = [\"*\"]\nproto = \"udp\"\nports = \"1024-65535\"\ndynamic = \"portmap\"\nservices = [\"nsf\"]\npurpose = \"p\"\nsource = \"s\"\n",
        "program.toml:11:13: unknown ONC-RPC program \"nsf\": give a program number or one of portmapper, rstatd, rusersd, nfs, ypserv, mountd, ypbind, yppasswdd, rquotad, nlockmgr, status, nfs_acl",
    ),
    (
        "mapper.toml",
        "name = \"x\"\n[profiles.binalyze-air.hosts]\nconsole = [\"10.0.0.1\"]\n[[site_rule]]\nid = \"r\"\nfrom = [\"*\"]\nto = [\"*\"]\nproto = \"tcp\"\nports = \"49152-65535\"\ndynamic = \"dcom\"\npurpose = \"p\"\nsource = \"s\"\n",
        "mapper.toml:10:11: unknown variant `dcom`, expected `epm` or `portmap`",
    ),
    (
        "neither.toml",
        "title = \"x\"\n",
        "neither.toml:1:1: neither a profile nor a deployment: a profile has `id`, `vendor`, [roles.<id>] and [[rule]] tables (see rules/README.md); a deployment has [profiles.<id>] tables (`portaudit init --profile ID` writes one)",
    ),
];

#[test]
fn every_rules_error_is_one_pinned_line_and_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let mut wrong = Vec::new();
    for (name, text, expected) in CASES {
        std::fs::write(dir.path().join(name), text).unwrap();
        let o = std::process::Command::new(env!("CARGO_BIN_EXE_portaudit"))
            .current_dir(dir.path())
            .args(["rules", "check", name])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&o.stderr).to_string();
        let want = format!("error: {expected}\n");
        if code(&o) != 2 || err != want {
            wrong.push(format!(
                "{name}: exit {}\n  got:  {err:?}\n  want: {want:?}",
                code(&o)
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn audit_gives_the_same_message_as_check() {
    let dir = tempfile::tempdir().unwrap();
    let (name, text, expected) = CASES[6];
    let p = dir.path().join(name);
    std::fs::write(&p, text).unwrap();
    let capture = crate::root().join("fixtures/binalyze-air/compliant.pcapng");
    let o = run(&[
        "audit",
        "-d",
        &crate::path_str(&p),
        &crate::path_str(&capture),
    ]);
    assert_eq!(code(&o), 2);
    let err = String::from_utf8_lossy(&o.stderr);
    let msg = expected.split_once(": ").unwrap().1;
    assert!(err.contains(msg), "{err}");
}
