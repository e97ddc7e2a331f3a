//! Fuzz target: text as a vendor profile and as a deployment checked against
//! the shipped catalog.
//!
//! Mirrors `parsers_survive_mutated_profiles_and_deployments` in
//! `tests/integration/fuzz.rs`: no panic; an error points inside the file
//! (line 1..=lines+1, column >= 1) and has a message. Unlike the property
//! test, every input goes through both parsers. The rendered error is also
//! checked to lead with that `file:line:column:` position, the form
//! `tests/integration/messages.rs` pins.

#![no_main]

use std::path::Path;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use portaudit::rules::{Catalog, Deployment, Profile, RulesError};

/// The shipped profiles, parsed once per process.
fn shipped() -> &'static Catalog {
    static CATALOG: OnceLock<Catalog> = OnceLock::new();
    CATALOG.get_or_init(|| Catalog::shipped().expect("the shipped profiles parse"))
}

fn check(file: &str, text: &str, e: &RulesError) {
    let lines = text.lines().count() + 1;
    assert!(
        e.line >= 1 && e.line <= lines,
        "line outside the file ({lines} lines): {e}"
    );
    assert!(e.column >= 1, "column 0: {e}");
    assert!(!e.message.is_empty(), "empty message: {e:?}");
    let shown = e.to_string();
    let at = format!("{file}:{}:{}: ", e.line, e.column);
    assert!(
        shown.starts_with(&at),
        "{shown:?} does not start with {at:?}"
    );
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Err(e) = Profile::parse(Path::new("p.toml"), text) {
        check("p.toml", text, &e);
    }
    if let Err(e) = Deployment::parse(Path::new("d.toml"), text, shipped()) {
        check("d.toml", text, &e);
    }
});
