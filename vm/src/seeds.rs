//! The VM's injection points of seed 003 (../shared/seeds/003_*:
//! goroutine stacks scanned twice or not at all when the collector and the
//! goroutine raced), in the stack scan of `object/roots.rs`. The switch
//! exists only under `cfg(test)` or the `seed-bugs` feature; without them
//! each hook is an empty inline function, so a release build has no switch
//! and nothing a user can set turns stack scanning off. A check nobody has
//! seen fire proves nothing: `tests::seed_003_*` re-introduce both halves
//! and see SCAN_ONCE fire.

/// Seed 003 re-introduced (tests only).
#[cfg(any(test, feature = "seed-bugs"))]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Seed003 {
    /// No bug.
    #[default]
    None,
    /// The collector skips coroutine stacks (a missed scan).
    SkipScan,
    /// The running coroutine's stack is scanned again "at its safepoint"
    /// after the collector already did (a double scan).
    DoubleScan,
}

/// The stack scan's seed hooks.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct SeedHooks {
    #[cfg(any(test, feature = "seed-bugs"))]
    pub(crate) bug: Seed003,
}

impl SeedHooks {
    /// Whether the scan of a coroutine's stack is skipped (seed 003's
    /// missed scan).
    #[inline(always)]
    pub(crate) fn skips_stack_scan(self) -> bool {
        #[cfg(any(test, feature = "seed-bugs"))]
        return self.bug == Seed003::SkipScan;
        #[cfg(not(any(test, feature = "seed-bugs")))]
        false
    }

    /// Whether the running coroutine scans its own stack again after the
    /// collector's roots were marked (seed 003's double scan).
    #[inline(always)]
    pub(crate) fn rescans_current(self) -> bool {
        #[cfg(any(test, feature = "seed-bugs"))]
        return self.bug == Seed003::DoubleScan;
        #[cfg(not(any(test, feature = "seed-bugs")))]
        false
    }
}
