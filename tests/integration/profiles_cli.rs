//! `rules list`, `rules show`, `rules check` and `init`, run as a user runs
//! them.

use crate::{code, path_str, root, run};

fn stdout(o: &std::process::Output) -> String {
    String::from_utf8(o.stdout.clone()).unwrap()
}

fn stderr(o: &std::process::Output) -> String {
    String::from_utf8(o.stderr.clone()).unwrap()
}

fn write(dir: &tempfile::TempDir, name: &str, text: &str) -> std::path::PathBuf {
    let p = dir.path().join(name);
    std::fs::write(&p, text).unwrap();
    p
}

/// A one-rule profile "mine" with `roles`; `sides` holds the rule's
/// `from`, `to` and any extra keys. With one role, `from` is on line 10
/// and `to` on line 11.
fn mine_profile(roles: &[&str], sides: &str) -> String {
    let mut s = String::from("id = \"mine\"\nname = \"Mine\"\nvendor = \"Us\"\ndocument = \"d\"\n");
    for r in roles {
        s.push_str(&format!(
            "[roles.{r}]\nname = \"{r}\"\ndescription = \"{r}\"\n"
        ));
    }
    s.push_str("[[rule]]\nid = \"r\"\n");
    s.push_str(sides);
    s.push_str("proto = \"tcp\"\nports = \"1\"\npurpose = \"p\"\nsource = \"s\"\n");
    s
}

fn rules_toml_count(id: &str) -> usize {
    let text = std::fs::read_to_string(root().join(format!("rules/{id}.toml"))).unwrap();
    text.lines().filter(|l| l.trim() == "[[rule]]").count()
}

#[test]
fn list_names_every_shipped_profile_with_its_rule_count() {
    let o = run(&["rules", "list", "--format", "json"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    let ids: Vec<&str> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        [
            "binalyze-air",
            "cayosoft-guardian",
            "juniper-jsa",
            "netwrix-threat-manager"
        ]
    );
    for p in v.as_array().unwrap() {
        let id = p["id"].as_str().unwrap();
        assert_eq!(p["rules"].as_u64().unwrap() as usize, rules_toml_count(id));
        assert_eq!(p["origin"], "built-in");
        assert!(!p["document"].as_str().unwrap().is_empty());
    }
    let table = stdout(&run(&["rules", "list"]));
    assert!(table.starts_with("ID "), "{table}");
    assert!(table.contains("xdr-forensics"), "{table}");
}

#[test]
fn show_gives_every_rule_in_each_format() {
    for id in ["binalyze-air", "juniper-jsa"] {
        let n = rules_toml_count(id);
        let o = run(&["rules", "show", id, "--format", "csv"]);
        assert_eq!(code(&o), 0, "{}", stderr(&o));
        let mut r = csv::Reader::from_reader(o.stdout.as_slice());
        let header = r.headers().unwrap().clone();
        assert_eq!(&header[1], "rule_id");
        let rows: Vec<csv::StringRecord> = r.records().map(Result::unwrap).collect();
        assert_eq!(rows.len(), n, "{id}");
        assert!(rows.iter().all(|row| &row[0] == id && !row[12].is_empty()));

        let o = run(&["rules", "show", id, "--format", "json"]);
        let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
        assert_eq!(v["rules"].as_array().unwrap().len(), n);

        let table = stdout(&run(&["rules", "show", id]));
        assert!(table.contains(&format!("Rules ({n}, ")), "{table}");
        assert!(table.lines().all(|l| l == l.trim_end()));
    }
    // Ranges and lists read back as rules write them.
    let jsa = stdout(&run(&["rules", "show", "juniper-jsa", "--format", "json"]));
    let v: serde_json::Value = serde_json::from_str(&jsa).unwrap();
    let ports: Vec<&str> = v["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["ports"].as_str().unwrap())
        .collect();
    assert!(ports.contains(&"20000-23000") && ports.contains(&"10101,10102"));
}

#[test]
fn show_accepts_an_alias_and_rejects_an_unknown_id() {
    let a = run(&["rules", "show", "xdr-forensics", "--format", "csv"]);
    let b = run(&["rules", "show", "binalyze-air", "--format", "csv"]);
    assert_eq!(code(&a), 0);
    assert_eq!(a.stdout, b.stdout);
    let o = run(&["rules", "show", "qradar"]);
    assert_eq!(code(&o), 2);
    let err = stderr(&o);
    assert!(
        err.contains("unknown profile \"qradar\"") && err.contains("juniper-jsa"),
        "{err}"
    );
}

#[test]
fn check_accepts_the_shipped_profiles_and_examples() {
    let mut args = vec!["rules".to_string(), "check".to_string()];
    for dir in ["rules", "examples"] {
        let mut files: Vec<String> = std::fs::read_dir(root().join(dir))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "toml"))
            .map(|p| path_str(&p))
            .collect();
        files.sort();
        args.extend(files);
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let o = run(&args);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let out = stdout(&o);
    assert_eq!(out.matches("ok: ").count(), args.len() - 2, "{out}");
    // The shipped examples bind every role their required rules need.
    assert!(!out.contains("warning: "), "{out}");
}

#[test]
fn check_reports_every_bad_file_with_its_position_and_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let profile = write(
        &dir,
        "mine.toml",
        &mine_profile(&["server"], "from = [\"server\"]\nto = [\"servr\"]\n"),
    );
    let deployment = write(
        &dir,
        "site.toml",
        "name = \"x\"\n[profiles.binalyze-air]\nfeatures = [\"syslogg\"]\n",
    );
    let good = root().join("examples/air-lab.toml");
    let o = run(&[
        "rules",
        "check",
        &path_str(&profile),
        &path_str(&good),
        &path_str(&deployment),
    ]);
    assert_eq!(code(&o), 2);
    let err = stderr(&o);
    assert!(
        err.contains("mine.toml:11:7: unknown role \"servr\""),
        "{err}"
    );
    assert!(
        err.contains("site.toml:3:13: unknown feature \"syslogg\"") && err.contains("syslog"),
        "{err}"
    );
    assert!(
        stdout(&o).contains("ok: "),
        "the good file is still reported"
    );
}

#[test]
fn check_knows_profiles_given_with_the_deployment() {
    let dir = tempfile::tempdir().unwrap();
    let profile = write(
        &dir,
        "mine.toml",
        &mine_profile(
            &["server", "client", "spare"],
            "from = [\"client\"]\nto = [\"server\"]\nrequirement = \"required\"\n",
        ),
    );
    let deployment = write(
        &dir,
        "site.toml",
        "name = \"x\"\n[profiles.mine.hosts]\nserver = [\"10.0.0.1\"]\n",
    );
    let o = run(&[
        "rules",
        "check",
        &path_str(&deployment),
        &path_str(&profile),
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("role \"spare\" is used by no rule"), "{out}");
    assert!(
        out.contains("required rule mine/r is not checked: no host holds role client"),
        "{out}"
    );
}

#[test]
fn init_writes_a_skeleton_that_checks_and_keeps_existing_files() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("new.toml");
    let o = run(&[
        "init",
        "--profile",
        "cayosoft-guardian",
        "--profile",
        "netwrix-threat-manager",
        "-o",
        &path_str(&out),
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(text.contains("[profiles.cayosoft-guardian.hosts]"));
    assert!(text.contains("# \"remote_database\","), "{text}");
    let o = run(&["rules", "check", &path_str(&out)]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));

    let again = run(&["init", "-p", "juniper-jsa", "-o", &path_str(&out)]);
    assert_eq!(code(&again), 2);
    assert!(stderr(&again).contains("--force"));
    assert_eq!(std::fs::read_to_string(&out).unwrap(), text);
    let forced = run(&[
        "init",
        "-p",
        "juniper-jsa",
        "-o",
        &path_str(&out),
        "--force",
    ]);
    assert_eq!(code(&forced), 0);

    let o = run(&["init", "-p", "binalyze-air", "-p", "xdr-forensics"]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("named twice"));
}
