//! `portaudit init`: a deployment skeleton to fill in. Every role and every
//! feature of the chosen profiles is there, commented out, with the words
//! of the document, so a deployer edits rather than writes.

use std::fmt::Write;

use crate::report::plural;
use crate::rules::Profile;

/// The skeleton for `profiles`, in the order given. It parses as a
/// deployment as printed (no hosts, no features) and after any role or
/// feature line is uncommented and filled in.
pub fn deployment_skeleton(profiles: &[&Profile]) -> String {
    let mut s = String::new();
    let names: Vec<String> = profiles
        .iter()
        .map(|p| format!("{} ({})", p.name, p.id))
        .collect();
    // Writing to a String cannot fail.
    let _ = writeln!(s, "# Deployment skeleton for {}.", names.join(" and "));
    s.push_str(
        "#
# 1. Under each [profiles.<id>.hosts], uncomment the roles your hosts hold
#    and list their addresses or CIDR networks (IPv4 or IPv6). A host may
#    hold several roles, in one profile or in several.
# 2. Uncomment the features (the document's optional integrations and
#    conditions) that are on in this deployment.
# 3. Add [[site_rule]] tables for traffic your site allows beyond the
#    vendor documents, and [severity] overrides if you need them.
# Check it with:   portaudit rules check THIS-FILE
# Audit with:      portaudit audit -d THIS-FILE INPUT...

name = \"my-deployment\"
# bound: audit flows whose two ends hold roles, or that touch a dedicated
#        appliance; all: audit every flow in the captures.
scope = \"bound\"
",
    );
    for p in profiles {
        profile_section(&mut s, p);
    }
    s.push_str(
        "
# Traffic the site allows beyond the vendor documents. `from`/`to` take \"*\"
# (any host with a role), a role, \"profile:role\", an address or a CIDR.
# [[site_rule]]
# id = \"site-dns\"
# from = [\"*\"]
# to = [\"10.0.0.2\"]
# proto = \"udp\"
# ports = \"53\"
# purpose = \"Internal DNS\"
# source = \"Site policy: every host resolves names through 10.0.0.2.\"

# Severity per finding kind (error, warning, info).
# [severity]
# unexpected-port = \"error\"
# missing-expected = \"warning\"
",
    );
    s
}

fn profile_section(s: &mut String, p: &Profile) {
    let _ = writeln!(s, "\n# {} — {}", p.name, p.document);
    let _ = writeln!(s, "[profiles.{}]", p.id);
    if p.features.is_empty() {
        s.push_str("# This profile has no optional features.\nfeatures = []\n");
    } else {
        s.push_str("features = [\n");
        let width = p.features.iter().map(|f| f.id.len()).max().unwrap_or(0) + 3;
        for f in &p.features {
            let rules = p.feature_rule_count(&f.id);
            let quoted = format!("\"{}\",", f.id);
            let _ = writeln!(
                s,
                "  # {quoted:<width$} # {} ({})",
                f.name,
                plural(rules, "rule", "rules")
            );
            let _ = writeln!(s, "  # {:<width$} #   {}", "", f.description);
        }
        s.push_str("]\n");
    }
    let _ = writeln!(s, "\n[profiles.{}.hosts]", p.id);
    for r in &p.roles {
        let _ = writeln!(
            s,
            "# {}{}",
            r.name,
            if r.dedicated { " (dedicated)" } else { "" }
        );
        let _ = writeln!(s, "#   {}", r.description);
        let required: Vec<String> = p
            .required_rules()
            .filter(|x| x.from.contains(&r.id) || x.to.contains(&r.id))
            .map(|x| match &x.feature {
                Some(f) => format!("{} (with {f})", x.id),
                None => x.id.clone(),
            })
            .collect();
        if !required.is_empty() {
            let _ = writeln!(s, "#   Required traffic: {}", required.join(", "));
        }
        let _ = writeln!(s, "# {} = []", r.id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::{Catalog, Deployment};
    use std::path::Path;

    /// Uncomments every role line (with one address) and every feature.
    fn filled(skeleton: &str, profiles: &[&Profile]) -> String {
        let mut n = 0u32;
        let mut out = String::new();
        for line in skeleton.lines() {
            let t = line.trim_start();
            let is_role = profiles
                .iter()
                .any(|p| p.roles.iter().any(|r| t == format!("# {} = []", r.id)));
            let is_feature = t.starts_with("# \"");
            if is_role {
                n += 1;
                let addr = format!("10.{}.{}.1", n / 250, n % 250);
                out.push_str(&t[2..].replace("[]", &format!("[\"{addr}\"]")));
            } else if is_feature {
                out.push_str(t[2..].split(" #").next().unwrap_or(""));
            } else {
                out.push_str(line);
            }
            out.push('\n');
        }
        out
    }

    #[test]
    fn every_shipped_profile_scaffolds_a_valid_deployment() {
        let catalog = Catalog::shipped().unwrap();
        for p in catalog.profiles() {
            let text = deployment_skeleton(&[p]);
            let d = Deployment::parse(Path::new("skeleton.toml"), &text, &catalog)
                .unwrap_or_else(|e| panic!("{}: {e}\n{text}", p.id));
            assert!(d.profiles[0].hosts.is_empty() && d.profiles[0].features.is_empty());
            for r in &p.roles {
                assert!(text.contains(&format!("# {} = []", r.id)), "{}", r.id);
                assert!(text.contains(&r.description), "{}", r.id);
            }
            let full = filled(&text, &[p]);
            let d = Deployment::parse(Path::new("filled.toml"), &full, &catalog)
                .unwrap_or_else(|e| panic!("{}: {e}\n{full}", p.id));
            assert_eq!(d.profiles[0].hosts.len(), p.roles.len(), "{}", p.id);
            assert_eq!(d.profiles[0].features.len(), p.features.len(), "{}", p.id);
        }
    }

    #[test]
    fn two_profiles_in_one_skeleton() {
        let catalog = Catalog::shipped().unwrap();
        let a = catalog.get("cayosoft-guardian").unwrap();
        let b = catalog.get("netwrix-threat-manager").unwrap();
        let text = deployment_skeleton(&[a, b]);
        let full = filled(&text, &[a, b]);
        let d = Deployment::parse(Path::new("filled.toml"), &full, &catalog).unwrap();
        assert_eq!(d.profiles.len(), 2);
        assert_eq!(d.profiles[1].hosts.len(), b.roles.len());
    }
}
