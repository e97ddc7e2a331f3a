//! The profiles available to a run: the shipped ones compiled into the
//! binary, plus or overridden by those in `--rules DIR`.

use std::path::{Path, PathBuf};

use super::error::read_text;
use super::profile::{Origin, Profile};
use super::RulesError;

/// Shipped profiles: (file name, contents).
const SHIPPED: &[(&str, &str)] = &[
    (
        "rules/binalyze-air.toml",
        include_str!("../../rules/binalyze-air.toml"),
    ),
    (
        "rules/cayosoft-guardian.toml",
        include_str!("../../rules/cayosoft-guardian.toml"),
    ),
    (
        "rules/juniper-jsa.toml",
        include_str!("../../rules/juniper-jsa.toml"),
    ),
    (
        "rules/netwrix-threat-manager.toml",
        include_str!("../../rules/netwrix-threat-manager.toml"),
    ),
];

/// Every profile a deployment may name.
#[derive(Clone, Debug, Default)]
pub struct Catalog {
    profiles: Vec<Profile>,
}

impl Catalog {
    /// The shipped profiles. They are tested to parse; an error here is a
    /// build defect, reported like any other.
    pub fn shipped() -> Result<Catalog, RulesError> {
        let mut c = Catalog::default();
        for (name, text) in SHIPPED {
            let mut p = Profile::parse(Path::new(name), text)?;
            p.origin = Origin::BuiltIn;
            c.insert(p);
        }
        Ok(c)
    }

    /// Adds every `*.toml` in `dir` (sorted by name), replacing shipped
    /// profiles with the same id.
    pub fn add_dir(&mut self, dir: &Path) -> Result<(), RulesError> {
        let io_err = |e: std::io::Error| RulesError {
            file: dir.to_path_buf(),
            line: 1,
            column: 1,
            message: format!("cannot read rules directory: {e}"),
            also: Vec::new(),
        };
        let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
            .map_err(io_err)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "toml"))
            .collect();
        files.sort();
        for f in files {
            self.insert(load_profile(&f)?);
        }
        Ok(())
    }

    /// Adds one profile, replacing any with the same id.
    pub fn insert(&mut self, p: Profile) {
        self.profiles.retain(|q| q.id != p.id);
        self.profiles.push(p);
        self.profiles.sort_by(|a, b| a.id.cmp(&b.id));
    }

    /// Looks a profile up by id or alias.
    pub fn get(&self, id: &str) -> Option<&Profile> {
        self.profiles.iter().find(|p| p.id == id).or_else(|| {
            self.profiles
                .iter()
                .find(|p| p.aliases.iter().any(|a| a == id))
        })
    }

    pub fn profiles(&self) -> &[Profile] {
        &self.profiles
    }

    /// Ids and aliases, for "did you mean" messages.
    pub fn names(&self) -> Vec<String> {
        let mut v: Vec<String> = self
            .profiles
            .iter()
            .flat_map(|p| std::iter::once(p.id.clone()).chain(p.aliases.iter().cloned()))
            .collect();
        v.sort();
        v
    }
}

/// Reads and validates one profile file.
pub fn load_profile(path: &Path) -> Result<Profile, RulesError> {
    Profile::parse(path, &read_text(path)?)
}
