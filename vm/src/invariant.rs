//! The VM's invariants, one variant each: what its `unsafe` code and its
//! interpreter rely on. Violations the VM can detect go through
//! [`vm_throw`]; the collector's own invariants are `gc::Invariant`.
//! ARCHITECTURE.md's table lists exactly these names (a root-package test
//! checks it).

macro_rules! invariants {
    ($( $(#[$doc:meta])* $variant:ident = $name:literal, )*) => {
        /// A named VM invariant (see the module docs).
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum Invariant {
            $( $(#[$doc])* $variant, )*
        }

        impl Invariant {
            /// Every invariant, in the order of this file.
            pub const ALL: &'static [Invariant] = &[$(Invariant::$variant),*];

            /// The stable name printed by [`vm_throw`] and used in the docs.
            pub const fn name(self) -> &'static str {
                match self {
                    $(Invariant::$variant => $name,)*
                }
            }
        }
    };
}

invariants! {
    /// **ROOTED**: at every safepoint (every `Mutator::alloc`, which may
    /// collect) every object the interpreter will use afterwards is
    /// reachable from the roots (`object/roots.rs`): the value stacks,
    /// frames, open upvalues, globals, the temporary roots, the loaded
    /// prototypes. Natives get it by type (`native.rs`: handles rooted in
    /// the call's scope); the interpreter by discipline. No seed. Check:
    /// `--gc-verify` (`MARK_BAD_POINTER` on a stale handle) with
    /// `--gc-stress --gc-poison` (a freed object is overwritten at once).
    /// Tests: `tests/gc_modes.rs` runs the whole corpus so;
    /// `tests::a_native_holding_its_results_across_collections_keeps_them`.
    Rooted = "ROOTED",
    /// **INIT**: an object's kind byte is written in the same `init_*`
    /// call that writes all its fields, before the fresh block becomes a
    /// handle, so no handle ever sees an uninitialised object. No seed.
    /// Check: in verify mode every traced object must start with a valid
    /// kind byte (`object/roots.rs`). Test: the corpus under `--gc-verify`
    /// (`tests/gc_modes.rs`).
    Init = "INIT",
    /// **VERIFIED**: the interpreter reads only instruction and operand
    /// bytes, constants and local slots the bytecode verifier proved in
    /// range (`verify.rs`, at load). No seed. Check: the verifier rejects
    /// anything else with `Corrupt bytecode`; debug assertions on every
    /// access. Tests: `verify::tests`; the corpus in debug-assertion
    /// builds.
    Verified = "VERIFIED",
    /// **STACK_RESERVED**: whenever a frame runs, its coroutine's value
    /// stack has room for the verifier's bound on that frame's height, so
    /// pushes need no check. No seed. Check: `Vm::call` reserves before
    /// pushing a frame; debug assertions on every push. Tests: as
    /// VERIFIED.
    StackReserved = "STACK_RESERVED",
    /// **QUICKEN_EQUIV**: a quickened function behaves exactly as its
    /// compiled code: output, errors, lines, and where the budget preempts
    /// (`quicken.rs`). No seed. Check: only a sequence's first opcode byte
    /// is rewritten, only at verified instruction starts; fast paths charge
    /// the budget for every instruction they stand for. Tests:
    /// `quicken::tests`; `tests/gc_modes.rs` runs the corpus with
    /// `--no-quicken` too and compares; `tests/lox/quicken/`.
    QuickenEquiv = "QUICKEN_EQUIV",
    /// **INTERN_SETTLED**: while a cycle marks, a slot of the weak intern
    /// set marked settled needs no look at mark termination: it was empty
    /// or a tombstone, or its string was already marked (marks only grow
    /// during a mark), or it was filled during the mark (its string was
    /// allocated black); so the pause tests only the rest (`intern.rs`).
    /// No seed. Check: in verify mode mark termination also tests every
    /// settled string and throws this if one is unmarked. Tests:
    /// `intern::tests`, `tests::a_settled_string_found_unmarked_is_caught`;
    /// the corpus under `--gc-verify`
    /// (`tests/gc_modes.rs`).
    InternSettled = "INTERN_SETTLED",
}

/// Reports a broken VM invariant and aborts: a VM that limps on after one
/// corrupts memory.
#[cold]
#[inline(never)]
pub fn vm_throw(inv: Invariant, args: std::fmt::Arguments<'_>) -> ! {
    use std::io::Write;
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "fatal error: vm: {}: {args}", inv.name());
    let _ = err.flush();
    std::process::abort();
}

#[cfg(test)]
mod tests {
    use super::Invariant;

    #[test]
    fn names_are_unique_and_distinct_from_the_collectors() {
        let mut seen = std::collections::HashSet::new();
        for inv in Invariant::ALL {
            assert!(seen.insert(inv.name()), "{} twice", inv.name());
            assert!(
                gc::Invariant::ALL.iter().all(|g| g.name() != inv.name()),
                "{} is also a collector invariant",
                inv.name()
            );
        }
    }
}
