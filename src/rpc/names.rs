//! Well-known DCE/RPC interfaces and ONC RPC programs, each with the
//! document that assigns it: the names rule files use for them.
//!
//! The UUIDs are those the Microsoft Open Specifications assign (each
//! document's "Standards Assignments"), checked against impacket's
//! `epm.py` table; the program numbers are IANA's (as in `/etc/rpc`). Lookups
//! scan a few dozen entries: cheap next to anything that reads a packet.

use super::dcerpc::Uuid;

/// A well-known DCE/RPC interface.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KnownInterface {
    /// The interface UUID.
    pub uuid: Uuid,
    /// Short lowercase id used in rule files, e.g. `drsuapi`.
    pub name: &'static str,
    /// What people call it, e.g. "Directory Replication Service (DRSUAPI)".
    pub title: &'static str,
    /// The document that assigns the UUID.
    pub source: &'static str,
}

/// A well-known ONC RPC program.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KnownProgram {
    /// The program number.
    pub number: u32,
    /// Short lowercase id used in rule files, e.g. `nfs`, `mountd` (the
    /// name `/etc/rpc` gives it).
    pub name: &'static str,
    /// What people call it.
    pub title: &'static str,
    /// The document that defines or registers it.
    pub source: &'static str,
}

/// Every known interface, grouped by role (directory, accounts,
/// scheduling and services, DCOM and WMI, logs, files, printing,
/// certificates, other).
pub fn interfaces() -> &'static [KnownInterface] {
    INTERFACES
}

/// Every known program, by number.
pub fn programs() -> &'static [KnownProgram] {
    PROGRAMS
}

/// The known interface with this UUID.
pub fn interface(uuid: Uuid) -> Option<&'static KnownInterface> {
    INTERFACES.iter().find(|i| i.uuid == uuid)
}

/// The known interface with this name, ignoring ASCII case.
pub fn interface_named(name: &str) -> Option<&'static KnownInterface> {
    INTERFACES
        .iter()
        .find(|i| i.name.eq_ignore_ascii_case(name))
}

/// The known program with this number.
pub fn program(number: u32) -> Option<&'static KnownProgram> {
    PROGRAMS.iter().find(|p| p.number == number)
}

/// The known program with this name, ignoring ASCII case.
pub fn program_named(name: &str) -> Option<&'static KnownProgram> {
    PROGRAMS.iter().find(|p| p.name.eq_ignore_ascii_case(name))
}

const INTERFACES: &[KnownInterface] = &[
    KnownInterface {
        uuid: Uuid::from_u128(0xe1af8308_5d1f_11c9_91a4_08002b14a0fa),
        name: "epm",
        title: "Endpoint Mapper (EPM)",
        source: "C706 (DCE 1.1: Remote Procedure Call), endpoint mapper interface; [MS-RPCE] Remote Procedure Call Protocol Extensions",
    },
    KnownInterface {
        uuid: Uuid::from_u128(0xe3514235_4b06_11d1_ab04_00c04fc2dcd2),
        name: "drsuapi",
        title: "Directory Replication Service (DRSUAPI)",
        source: "[MS-DRSR] Directory Replication Service (DRS) Remote Protocol",
    },
    KnownInterface {
        uuid: Uuid::from_u128(0x7c44d7d4_31d5_424c_bd5e_2b3e1f323d22),
        name: "dsaop",
        title: "Directory Services Administrative Operations (DSAOP)",
        source: "[MS-DRSR] Directory Replication Service (DRS) Remote Protocol",
    },
    KnownInterface {
        uuid: Uuid::from_u128(0x3919286a_b10c_11d0_9ba8_00c04fd92ef5),
        name: "dssetup",
        title: "Directory Services Setup (DSSETUP)",
        source: "[MS-DSSP] Directory Services Setup Remote Protocol",
    },
    KnownInterface {
        uuid: Uuid::from_u128(0x12345678_1234_abcd_ef00_01234567cffb),
        name: "netlogon",
        title: "Netlogon (RPC_NETLOGON)",
        source: "[MS-NRPC] Netlogon Remote Protocol",
    },
    KnownInterface {
        uuid: Uuid::from_u128(0x12345778_1234_abcd_ef00_0123456789ab),
        name: "lsarpc",
        title: "Local Security Authority (LSARPC)",
        source: "[MS-LSAD] Local Security Authority (Domain Policy) Remote Protocol; [MS-LSAT]",
    },
    KnownInterface {
        uuid: Uuid::from_u128(0x12345778_1234_abcd_ef00_0123456789ac),
        name: "samr",
        title: "Security Account Manager (SAMR)",
        source: "[MS-SAMR] Security Account Manager (SAM) Remote Protocol",
    },
    KnownInterface {
        uuid: Uuid::from_u128(0x3dde7c30_165d_11d1_ab8f_00805f14db40),
        name: "backupkey",
        title: "DPAPI BackupKey (BKRP)",
        source: "[MS-BKRP] BackupKey Remote Protocol",
    },
    KnownInterface {
        uuid: Uuid::from_u128(0xb9785960_524f_11df_8b6d_83dcded72085),
        name: "gkdi",
        title: "Group Key Distribution (ISDKey)",
        source: "[MS-GKDI] Group Key Distribution Protocol",
    },
    KnownInterface {
        uuid: Uuid::from_u128(0x86d35949_83c9_4044_b424_db363231fd0c),
        name: "itaskschedulerservice",
        title: "Task Scheduler (ITaskSchedulerService)",
        source: "[MS-TSCH] Task Scheduler Service Remoting Protocol",
    },
    KnownInterface {
        uuid: Uuid::from_u128(0x1ff70682_0a51_30e8_076d_740be8cee98b),
        name: "atsvc",
        title: "Task Scheduler, AT service (ATSVC)",
        source: "[MS-TSCH] Task Scheduler Service Remoting Protocol",
    },
    KnownInterface {
        uuid: Uuid::from_u128(0x378e52b0_c0a9_11cf_822d_00aa0051e40f),
        name: "sasec",
        title: "Task Scheduler, SASec",
        source: "[MS-TSCH] Task Scheduler Service Remoting Protocol",
    },
    KnownInterface {
        uuid: Uuid::from_u128(0x367abb81_9844_35f1_ad32_98f038001003),
        name: "svcctl",
        title: "Service Control Manager (SVCCTL)",
        source: "[MS-SCMR] Service Control Manager Remote Protocol",
    },
    KnownInterface {
        uuid: Uuid::from_u128(0x000001a0_0000_0000_c000_000000000046),
        name: "iremotescmactivator",
        title: "DCOM activation (IRemoteSCMActivator)",
        source: "[MS-DCOM] Distributed Component Object Model (DCOM) Remote Protocol",
    },
    KnownInterface {
        uuid: Uuid::from_u128(0x4d9f4ab8_7d1c_11cf_861e_0020af6e7c57),
        name: "iactivation",
        title: "DCOM activation (IActivation)",
        source: "[MS-DCOM] Distributed Component Object Model (DCOM) Remote Protocol",
    },
    KnownInterface {
        uuid: Uuid::from_u128(0x99fcfec4_5260_101b_bbcb_00aa0021347a),
        name: "iobjectexporter",
        title: "DCOM object resolver (IObjectExporter)",
        source: "[MS-DCOM] Distributed Component Object Model (DCOM) Remote Protocol",
    },
    KnownInterface {
        uuid: Uuid::from_u128(0x00000131_0000_0000_c000_000000000046),
        name: "iremunknown",
        title: "DCOM IRemUnknown",
        source: "[MS-DCOM] Distributed Component Object Model (DCOM) Remote Protocol",
    },
    KnownInterface {
        uuid: Uuid::from_u128(0x00000143_0000_0000_c000_000000000046),
        name: "iremunknown2",
        title: "DCOM IRemUnknown2",
        source: "[MS-DCOM] Distributed Component Object Model (DCOM) Remote Protocol",
    },
    KnownInterface {
        uuid: Uuid::from_u128(0xf309ad18_d86a_11d0_a075_00c04fb68820),
        name: "iwbemlevel1login",
        title: "WMI login (IWbemLevel1Login)",
        source: "[MS-WMI] Windows Management Instrumentation Remote Protocol",
    },
    KnownInterface {
        uuid: Uuid::from_u128(0x9556dc99_828c_11cf_a37e_00aa003240c7),
        name: "iwbemservices",
        title: "WMI services (IWbemServices)",
        source: "[MS-WMI] Windows Management Instrumentation Remote Protocol",
    },
    KnownInterface {
        uuid: Uuid::from_u128(0x82273fdc_e32a_18c3_3f78_827929dc23ea),
        name: "eventlog",
        title: "EventLog (EVENTLOG)",
        source: "[MS-EVEN] EventLog Remoting Protocol",
    },
    KnownInterface {
        uuid: Uuid::from_u128(0xf6beaff7_1e19_4fbb_9f8f_b89e2018337c),
        name: "even6",
        title: "EventLog 6.0 (IEventService)",
        source: "[MS-EVEN6] EventLog Remoting Protocol Version 6.0",
    },
    KnownInterface {
        uuid: Uuid::from_u128(0x4b324fc8_1670_01d3_1278_5a47bf6ee188),
        name: "srvsvc",
        title: "Server service (SRVSVC)",
        source: "[MS-SRVS] Server Service Remote Protocol",
    },
    KnownInterface {
        uuid: Uuid::from_u128(0x6bffd098_a112_3610_9833_46c3f87e345a),
        name: "wkssvc",
        title: "Workstation service (WKSSVC)",
        source: "[MS-WKST] Workstation Service Remote Protocol",
    },
    KnownInterface {
        uuid: Uuid::from_u128(0x338cd001_2244_31f1_aaaa_900038001003),
        name: "winreg",
        title: "Remote Registry (WINREG)",
        source: "[MS-RRP] Windows Remote Registry Protocol",
    },
    KnownInterface {
        uuid: Uuid::from_u128(0x894de0c0_0d55_11d3_a322_00c04fa321a1),
        name: "initshutdown",
        title: "Remote shutdown (InitShutdown)",
        source: "[MS-RSP] Remote Shutdown Protocol",
    },
    KnownInterface {
        uuid: Uuid::from_u128(0xd95afe70_a6d5_4259_822e_2c84da1ddb0d),
        name: "windowsshutdown",
        title: "Remote shutdown (WindowsShutdown)",
        source: "[MS-RSP] Remote Shutdown Protocol",
    },
    KnownInterface {
        uuid: Uuid::from_u128(0x897e2e5f_93f3_4376_9c9c_fd2277495c27),
        name: "frs2",
        title: "DFS Replication (FrsTransport)",
        source: "[MS-FRS2] Distributed File System Replication Protocol",
    },
    KnownInterface {
        uuid: Uuid::from_u128(0xf5cc59b4_4264_101a_8c59_08002b2f8426),
        name: "frsrpc",
        title: "File Replication Service (FRSRPC)",
        source: "[MS-FRS1] File Replication Service Protocol",
    },
    KnownInterface {
        uuid: Uuid::from_u128(0x4fc742e0_4a10_11cf_8273_00aa004ae673),
        name: "netdfs",
        title: "DFS Namespace Management (NETDFS)",
        source: "[MS-DFSNM] Distributed File System (DFS): Namespace Management Protocol",
    },
    KnownInterface {
        uuid: Uuid::from_u128(0xdf1941c5_fe89_4e79_bf10_463657acf44d),
        name: "efsrpc",
        title: "Encrypting File System (EFSRPC)",
        source: "[MS-EFSR] Encrypting File System Remote (EFSRPC) Protocol",
    },
    KnownInterface {
        uuid: Uuid::from_u128(0xc681d488_d850_11d0_8c52_00c04fd90f7e),
        name: "efsrpc-lsarpc",
        title: "Encrypting File System over \\pipe\\lsarpc (EFSRPC)",
        source: "[MS-EFSR] Encrypting File System Remote (EFSRPC) Protocol",
    },
    KnownInterface {
        uuid: Uuid::from_u128(0x12345678_1234_abcd_ef00_0123456789ab),
        name: "spoolss",
        title: "Print spooler (SPOOLSS)",
        source: "[MS-RPRN] Print System Remote Protocol",
    },
    KnownInterface {
        uuid: Uuid::from_u128(0x76f03f96_cdfd_44fc_a22c_64950a001209),
        name: "iremotewinspool",
        title: "Asynchronous print spooler (IRemoteWinspool)",
        source: "[MS-PAR] Print System Asynchronous Remote Protocol",
    },
    KnownInterface {
        uuid: Uuid::from_u128(0x91ae6020_9e3c_11cf_8d7c_00aa00c091be),
        name: "icertpassage",
        title: "Certificate enrollment (ICertPassage)",
        source: "[MS-ICPR] ICertPassage Remote Protocol",
    },
    KnownInterface {
        uuid: Uuid::from_u128(0xd99e6e70_fc88_11d0_b498_00a0c90312f3),
        name: "icertrequestd",
        title: "Certificate enrollment over DCOM (ICertRequestD)",
        source: "[MS-WCCE] Windows Client Certificate Enrollment Protocol",
    },
    KnownInterface {
        uuid: Uuid::from_u128(0x50abc2a4_574d_40b3_9d66_ee4fd5fba076),
        name: "dnsserver",
        title: "DNS Server management (DNSSERVER)",
        source: "[MS-DNSP] Domain Name Service (DNS) Server Management Protocol",
    },
    KnownInterface {
        uuid: Uuid::from_u128(0x8fb6d884_2388_11d0_8c35_00c04fda2795),
        name: "w32time",
        title: "Windows Time (W32TIME)",
        source: "[MS-W32T] W32Time Remote Protocol",
    },
];

const PROGRAMS: &[KnownProgram] = &[
    KnownProgram {
        number: 100000,
        name: "portmapper",
        title: "Portmapper / rpcbind",
        source: "RFC 1833 (Binding Protocols for ONC RPC Version 2)",
    },
    KnownProgram {
        number: 100001,
        name: "rstatd",
        title: "Remote statistics (rstat)",
        source: "IANA ONC RPC program number registry (RFC 5531 appendix B)",
    },
    KnownProgram {
        number: 100002,
        name: "rusersd",
        title: "Remote users (rusers)",
        source: "IANA ONC RPC program number registry (RFC 5531 appendix B)",
    },
    KnownProgram {
        number: 100003,
        name: "nfs",
        title: "Network File System (NFS)",
        source: "RFC 1813 (NFS version 3), RFC 7530 (NFS version 4)",
    },
    KnownProgram {
        number: 100004,
        name: "ypserv",
        title: "NIS server (ypserv)",
        source: "IANA ONC RPC program number registry (RFC 5531 appendix B)",
    },
    KnownProgram {
        number: 100005,
        name: "mountd",
        title: "NFS MOUNT protocol (mountd)",
        source: "RFC 1813 appendix I (MOUNT protocol)",
    },
    KnownProgram {
        number: 100007,
        name: "ypbind",
        title: "NIS binder (ypbind)",
        source: "IANA ONC RPC program number registry (RFC 5531 appendix B)",
    },
    KnownProgram {
        number: 100009,
        name: "yppasswdd",
        title: "NIS password update (yppasswdd)",
        source: "IANA ONC RPC program number registry (RFC 5531 appendix B)",
    },
    KnownProgram {
        number: 100011,
        name: "rquotad",
        title: "Remote quota (rquotad)",
        source: "IANA ONC RPC program number registry (RFC 5531 appendix B)",
    },
    KnownProgram {
        number: 100021,
        name: "nlockmgr",
        title: "Network Lock Manager (NLM)",
        source: "The Open Group, Protocols for Interworking: XNFS, Version 3W (C702)",
    },
    KnownProgram {
        number: 100024,
        name: "status",
        title: "Network Status Monitor (NSM, statd)",
        source: "The Open Group, Protocols for Interworking: XNFS, Version 3W (C702)",
    },
    KnownProgram {
        number: 100227,
        name: "nfs_acl",
        title: "NFS ACL side protocol (nfs_acl)",
        source: "IANA ONC RPC program number registry (RFC 5531 appendix B)",
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    /// The UUIDs in string form, as the documents print them: guards the
    /// `from_u128` literals above against a slipped digit.
    const STRINGS: &[(&str, &str)] = &[
        ("epm", "e1af8308-5d1f-11c9-91a4-08002b14a0fa"),
        ("drsuapi", "e3514235-4b06-11d1-ab04-00c04fc2dcd2"),
        ("dsaop", "7c44d7d4-31d5-424c-bd5e-2b3e1f323d22"),
        ("dssetup", "3919286a-b10c-11d0-9ba8-00c04fd92ef5"),
        ("netlogon", "12345678-1234-abcd-ef00-01234567cffb"),
        ("lsarpc", "12345778-1234-abcd-ef00-0123456789ab"),
        ("samr", "12345778-1234-abcd-ef00-0123456789ac"),
        ("backupkey", "3dde7c30-165d-11d1-ab8f-00805f14db40"),
        ("gkdi", "b9785960-524f-11df-8b6d-83dcded72085"),
        (
            "itaskschedulerservice",
            "86d35949-83c9-4044-b424-db363231fd0c",
        ),
        ("atsvc", "1ff70682-0a51-30e8-076d-740be8cee98b"),
        ("sasec", "378e52b0-c0a9-11cf-822d-00aa0051e40f"),
        ("svcctl", "367abb81-9844-35f1-ad32-98f038001003"),
        (
            "iremotescmactivator",
            "000001a0-0000-0000-c000-000000000046",
        ),
        ("iactivation", "4d9f4ab8-7d1c-11cf-861e-0020af6e7c57"),
        ("iobjectexporter", "99fcfec4-5260-101b-bbcb-00aa0021347a"),
        ("iremunknown", "00000131-0000-0000-c000-000000000046"),
        ("iremunknown2", "00000143-0000-0000-c000-000000000046"),
        ("iwbemlevel1login", "f309ad18-d86a-11d0-a075-00c04fb68820"),
        ("iwbemservices", "9556dc99-828c-11cf-a37e-00aa003240c7"),
        ("eventlog", "82273fdc-e32a-18c3-3f78-827929dc23ea"),
        ("even6", "f6beaff7-1e19-4fbb-9f8f-b89e2018337c"),
        ("srvsvc", "4b324fc8-1670-01d3-1278-5a47bf6ee188"),
        ("wkssvc", "6bffd098-a112-3610-9833-46c3f87e345a"),
        ("winreg", "338cd001-2244-31f1-aaaa-900038001003"),
        ("initshutdown", "894de0c0-0d55-11d3-a322-00c04fa321a1"),
        ("windowsshutdown", "d95afe70-a6d5-4259-822e-2c84da1ddb0d"),
        ("frs2", "897e2e5f-93f3-4376-9c9c-fd2277495c27"),
        ("frsrpc", "f5cc59b4-4264-101a-8c59-08002b2f8426"),
        ("netdfs", "4fc742e0-4a10-11cf-8273-00aa004ae673"),
        ("efsrpc", "df1941c5-fe89-4e79-bf10-463657acf44d"),
        ("efsrpc-lsarpc", "c681d488-d850-11d0-8c52-00c04fd90f7e"),
        ("spoolss", "12345678-1234-abcd-ef00-0123456789ab"),
        ("iremotewinspool", "76f03f96-cdfd-44fc-a22c-64950a001209"),
        ("icertpassage", "91ae6020-9e3c-11cf-8d7c-00aa00c091be"),
        ("icertrequestd", "d99e6e70-fc88-11d0-b498-00a0c90312f3"),
        ("dnsserver", "50abc2a4-574d-40b3-9d66-ee4fd5fba076"),
        ("w32time", "8fb6d884-2388-11d0-8c35-00c04fda2795"),
    ];

    #[test]
    fn uuids_match_their_string_forms() {
        assert_eq!(STRINGS.len(), INTERFACES.len());
        for (name, s) in STRINGS {
            let known = interface_named(name).unwrap();
            assert_eq!(known.uuid.to_string(), *s);
            assert_eq!(interface(Uuid::parse(s).unwrap()), Some(known));
        }
    }

    #[test]
    fn names_and_keys_are_unique_and_lowercase() {
        for (i, a) in INTERFACES.iter().enumerate() {
            assert_eq!(a.name, a.name.to_ascii_lowercase());
            assert!(!a.title.is_empty() && !a.source.is_empty(), "{}", a.name);
            for b in &INTERFACES[..i] {
                assert_ne!(a.name, b.name);
                assert_ne!(a.uuid, b.uuid, "{} and {}", a.name, b.name);
            }
        }
        for (i, a) in PROGRAMS.iter().enumerate() {
            assert_eq!(a.name, a.name.to_ascii_lowercase());
            assert!(!a.title.is_empty() && !a.source.is_empty(), "{}", a.name);
            for b in &PROGRAMS[..i] {
                assert_ne!(a.name, b.name);
                assert!(b.number < a.number, "programs sorted by number");
            }
        }
    }

    #[test]
    fn lookups() {
        assert_eq!(
            interface_named("DRSUAPI").unwrap().source.get(..8),
            Some("[MS-DRSR")
        );
        assert_eq!(interface_named("nope"), None);
        let epm = Uuid::parse("e1af8308-5d1f-11c9-91a4-08002b14a0fa").unwrap();
        assert_eq!(interface(epm).unwrap().name, "epm");
        assert_eq!(interface(Uuid([0; 16])), None);
        assert_eq!(program(100_003).unwrap().name, "nfs");
        assert_eq!(program_named("MountD").unwrap().number, 100_005);
        assert_eq!(program(1), None);
        assert_eq!(program_named(""), None);
    }
}
