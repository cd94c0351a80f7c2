//! Test-only switches that re-introduce historical races, so their
//! regression tests can show the named check firing. Read once from the
//! environment (`LOAM_SEED_BUG=003-skip-scan` / `003-double-scan`); inert
//! otherwise. A check nobody has seen fire proves nothing.

use std::sync::OnceLock;

fn bug() -> &'static str {
    static BUG: OnceLock<String> = OnceLock::new();
    BUG.get_or_init(|| std::env::var("LOAM_SEED_BUG").unwrap_or_default())
}

/// Seed 003 (missed scan): the collector skips coroutine stacks.
pub fn skip_stack_scan() -> bool {
    bug() == "003-skip-scan"
}

/// Seed 003 (double scan): the running coroutine's stack is scanned again
/// at its safepoint after the collector already did.
pub fn double_scan() -> bool {
    bug() == "003-double-scan"
}
