//! `portaudit-fixtures` run as a user would: help writes nothing, bad
//! arguments exit 2 and write nothing, good ones write what they say.

use std::path::Path;
use std::process::{Command, Output};

/// Runs the binary in `dir` (its working directory).
fn run(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_portaudit-fixtures"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("portaudit-fixtures runs")
}

fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Regression: `portaudit-fixtures --help` used to write the fixture tree
/// into a directory named `--help`.
#[test]
fn help_prints_help_and_writes_nothing() {
    for args in [
        &["--help"][..],
        &["-h"],
        &["help"],
        &["fixtures", "--help"],
        &["flood", "--help"],
        &["enterprise", "--help"],
        &["--version"],
    ] {
        let dir = tempfile::tempdir().unwrap();
        let o = run(dir.path(), args);
        assert_eq!(o.status.code(), Some(0), "{args:?}");
        assert!(!o.stdout.is_empty(), "{args:?} prints something");
        assert_eq!(entries(dir.path()), Vec::<String>::new(), "{args:?}");
    }
}

#[test]
fn bad_arguments_exit_2_with_a_message_and_write_nothing() {
    for (args, says) in [
        (
            &["enterprise", "2T", "100", "x.pcap"][..],
            "`2T` is not a count",
        ),
        (
            &["enterprise", "2G", "1.5k", "x.pcap"],
            "`1.5k` is not a count",
        ),
        (&["enterprise", "1M", "700M", "x.pcap"], "at most"),
        (&["flood", "many", "x.pcap"], "`many` is not a count"),
        (
            &["flood", "10", "x.pcap", "1", "--seed", "2"],
            "cannot be used",
        ),
        (&["flood", "10"], "required"),
        (&["frobnicate"], "unrecognized subcommand"),
        (&[], "Usage"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let o = run(dir.path(), args);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(says), "{args:?}: {err}");
        assert_eq!(entries(dir.path()), Vec::<String>::new(), "{args:?}");
    }
}

#[test]
fn a_file_that_cannot_be_written_exits_1() {
    let dir = tempfile::tempdir().unwrap();
    let o = run(dir.path(), &["flood", "10", "no/such/dir/x.pcap"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("no/such/dir/x.pcap"));
}

#[test]
fn the_seed_is_the_same_as_a_flag_or_last_and_defaults_to_1() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for (name, seed) in [
        ("flag", &["--seed", "5"][..]),
        ("last", &["5"]),
        ("default", &[]),
    ] {
        let ent = format!("ent-{name}");
        for mut args in [
            vec!["flood", "3k", name],
            vec!["enterprise", "200k", "50", &ent],
        ] {
            args.extend_from_slice(seed);
            assert!(run(d, &args).status.success(), "{args:?}");
        }
    }
    let read = |n: &str| std::fs::read(d.join(n)).unwrap();
    assert_eq!(read("flag"), read("last"));
    assert_ne!(read("flag"), read("default"));
    assert_eq!(read("flag").len(), 24 + 3000 * (16 + 60));
    assert_eq!(read("ent-flag"), read("ent-last"));
    assert_ne!(read("ent-flag"), read("ent-default"));
    let mut expected = Vec::new();
    let counts = portaudit_synth::FloodCounts::of(3000);
    portaudit_synth::write_flood(&mut expected, counts, 1).unwrap();
    assert_eq!(read("default"), expected);
}

#[test]
fn fixtures_go_to_fixtures_by_default_or_to_the_directory_given() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    assert!(run(d, &["fixtures"]).status.success());
    assert!(run(d, &["fixtures", "elsewhere"]).status.success());
    let expected = tempfile::tempdir().unwrap();
    portaudit_synth::fixtures::write_fixtures(expected.path()).unwrap();
    for (sub, file, _, _) in portaudit_synth::fixtures::FIXTURES {
        let want = std::fs::read(expected.path().join(sub).join(file)).unwrap();
        for root in ["fixtures", "elsewhere"] {
            let got = std::fs::read(d.join(root).join(sub).join(file)).unwrap();
            assert!(got == want, "{root}/{sub}/{file}");
        }
    }
}
