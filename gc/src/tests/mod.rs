//! In-crate tests: they need the seed switches (`cfg(test)`) or crate
//! internals. Scenarios that must end in `gc_throw!` (an abort) run in a
//! child process: the test binary re-executes itself on the same test with
//! `GC_TEST_SCENARIO` set, and the parent asserts the child died with the
//! invariant's name on stderr.
#![allow(unsafe_code)]
#![allow(clippy::field_reassign_with_default)]

mod checks;
mod concurrent;
mod seeds;

use crate::{Embedder, Invariant, MarkView, Marker, ObjPtr};
use std::process::Command;

const ENV: &str = "GC_TEST_SCENARIO";

/// Leaf objects only: `roots` are marked, nothing is traced through.
#[derive(Default)]
pub(crate) struct Leaves {
    pub(crate) roots: Vec<ObjPtr>,
    /// Extra pointers passed to `mark` verbatim (to feed bad pointers).
    pub(crate) bogus: Vec<ObjPtr>,
}

// SAFETY: (1) `roots` hold only objects from this heap that the tests keep
// reachable; `bogus` is used only by tests that expect MARK_BAD_POINTER to
// abort before anything else happens; (2) `trace` reads nothing.
unsafe impl Embedder for Leaves {
    fn mark_roots(&mut self, m: &mut Marker<'_>) {
        for &r in self.roots.iter().chain(self.bogus.iter()) {
            m.mark(r);
        }
    }
    fn trace(&mut self, _obj: ObjPtr, _m: &mut Marker<'_>) {}
    fn sweep_weak(&mut self, _marks: &MarkView<'_>) {}
}

/// The scenario this process should run, if it is a child.
pub(crate) fn child_scenario() -> Option<String> {
    std::env::var(ENV).ok()
}

/// Re-run test `name` (full path, e.g. `tests::seeds::x`) in a child
/// process with scenario `scenario`; returns (exited successfully, stderr).
pub(crate) fn run_child(name: &str, scenario: &str) -> (bool, String) {
    let out = Command::new(std::env::current_exe().expect("test binary path"))
        .args([name, "--exact", "--nocapture", "--test-threads=1"])
        .env(ENV, scenario)
        .env("RUST_BACKTRACE", "0")
        .output()
        .expect("spawn child test process");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Assert the child for `scenario` died by `gc_throw!(invariant, ..)`.
pub(crate) fn assert_child_throws(name: &str, scenario: &str, invariant: Invariant) {
    let (ok, err) = run_child(name, scenario);
    assert!(
        !ok,
        "scenario {scenario} should have aborted; stderr:\n{err}"
    );
    let want = format!("fatal error: gc: {}:", invariant.name());
    assert!(
        err.contains(&want),
        "scenario {scenario} died without `{want}`; stderr:\n{err}"
    );
}

/// Assert the child for `scenario` ran to completion.
pub(crate) fn assert_child_ok(name: &str, scenario: &str) {
    let (ok, err) = run_child(name, scenario);
    assert!(ok, "control scenario {scenario} failed; stderr:\n{err}");
}
