//! The VM's injection points of historical collector bugs, for tests:
//! seed 003 (../shared/seeds/003_*: goroutine stacks scanned twice or not
//! at all when the collector and the goroutine raced) in the stack scans
//! of `object/roots.rs` and `mutator.rs`, and a missing write barrier on
//! one store kind. The switch exists only under `cfg(test)` or the
//! `seed-bugs` feature; without them each hook is a constant `false`, so a
//! release build has no switch and nothing a user can set turns stack
//! scanning or the barrier off. A check nobody has seen fire proves
//! nothing: `tests::seed_003_*` and
//! `tests::missing_barrier_is_caught_by_checkmark` re-introduce each bug
//! and see `SCAN_ONCE` or `CHECKMARK` fire.

/// A collector bug re-introduced (tests only).
#[cfg(any(test, feature = "seed-bugs"))]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(u8)]
pub enum VmSeed {
    /// No bug.
    #[default]
    None,
    /// Seed 003, a missed scan: the collector's scan of a parked
    /// coroutine (the stop-the-world marker's, the mark worker's) skips
    /// its stack.
    SkipScan,
    /// Seed 003, a double scan: the scan ignores the claim. Stop the
    /// world: the running coroutine scans its own stack again after the
    /// collector did; concurrent: the mark worker scans a stack without
    /// claiming it, after the coroutine scanned itself.
    DoubleScan,
    /// Seed 003, the phase check that lets a stack be skipped: the
    /// running coroutine does not scan itself at its safepoint (when a
    /// concurrent mark starts, or when it is resumed during one), and the
    /// worker cannot claim a running stack.
    PhaseSkip,
    /// A missing write barrier on one store kind: element stores into a
    /// value array (list items) do not shade the overwritten value.
    NoItemBarrier,
}

#[cfg(any(test, feature = "seed-bugs"))]
impl VmSeed {
    pub(crate) fn from_u8(b: u8) -> VmSeed {
        [
            VmSeed::None,
            VmSeed::SkipScan,
            VmSeed::DoubleScan,
            VmSeed::PhaseSkip,
            VmSeed::NoItemBarrier,
        ]
        .get(b as usize)
        .copied()
        .unwrap_or_default()
    }
}

/// The seed hooks (a switch only in tests).
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct SeedHooks {
    #[cfg(any(test, feature = "seed-bugs"))]
    pub(crate) bug: VmSeed,
}

macro_rules! hook {
    ($(#[$doc:meta])* $name:ident, $variant:ident) => {
        $(#[$doc])*
        #[inline(always)]
        pub(crate) fn $name(self) -> bool {
            #[cfg(any(test, feature = "seed-bugs"))]
            return self.bug == VmSeed::$variant;
            #[cfg(not(any(test, feature = "seed-bugs")))]
            false
        }
    };
}

impl SeedHooks {
    #[cfg(any(test, feature = "seed-bugs"))]
    pub(crate) fn from_u8(b: u8) -> SeedHooks {
        SeedHooks {
            bug: VmSeed::from_u8(b),
        }
    }

    #[cfg(any(test, feature = "seed-bugs"))]
    pub(crate) fn to_u8(self) -> u8 {
        self.bug as u8
    }

    hook!(
        /// The collector's scan of a coroutine's stack is skipped.
        skips_stack_scan,
        SkipScan
    );
    hook!(
        /// Scans ignore the claim (a double scan).
        ignores_claim,
        DoubleScan
    );
    hook!(
        /// The running coroutine's self-scan is skipped.
        skips_self_scan,
        PhaseSkip
    );
    hook!(
        /// Value-array element stores do not shade the old value.
        skips_item_barrier,
        NoItemBarrier
    );
}
