//! The embedder side of the collector: roots, edges and weak references.

use super::{blacken, CoroutineObj, Gc, ObjKind, ObjRef, StringObj, TableLoc, ValueArrayObj, View};
use crate::intern::InternSet;
use crate::invariant::{vm_throw, Invariant};
use crate::seeds::SeedHooks;
use crate::value::Value;
use gc::{Embedder, MarkMode, MarkView, Marker, ObjPtr};
#[cfg(any(test, feature = "seed-bugs"))]
use std::sync::atomic::{AtomicU8, Ordering as AtomicOrdering};

/// Borrowed views of everything the VM holds outside the heap.
pub struct Roots<'a> {
    /// Every coroutine that has not finished (blocked ones included: as in
    /// Go, a parked coroutine is never garbage).
    pub coroutines: &'a [Gc<CoroutineObj>],
    pub current: Option<Gc<CoroutineObj>>,
    pub main: Option<Gc<CoroutineObj>>,
    pub finalizer: Option<Gc<CoroutineObj>>,
    /// The number this collection will have (`numGC` after it).
    pub cycle: u64,
    /// The global names and their slots.
    pub globals: TableLoc,
    /// The globals' values, by slot.
    pub global_values: Gc<ValueArrayObj>,
    pub method_tables: [TableLoc; 4],
    pub temp_roots: &'a [Value],
    pub pinned: &'a [Gc<StringObj>],
    pub strings: &'a mut InternSet,
    pub verify: bool,
    /// Seed 003's injection points (empty without the test switch).
    pub(crate) seeds: SeedHooks,
}

fn mark_value(m: &mut Marker<'_>, v: Value) {
    if let Some(o) = v.as_obj() {
        m.mark(o.ptr());
    }
}

/// Scans a coroutine's stack (with its other fields) for the concurrent
/// mark, claimed first: the mark worker's and the assists' trace of a
/// coroutine object (`Tracer`), and, with `own`, the running coroutine's
/// self-scan at a safepoint (`Mutator::claim_running`). Whoever loses the
/// claim leaves the stack alone: it is scanned, being scanned, or running
/// (and scans itself before it runs). SCAN_ONCE.
pub(crate) fn scan_coroutine(c: Gc<CoroutineObj>, m: &mut Marker<'_>, own: bool, seeds: SeedHooks) {
    let cycle = m.cycle();
    let state = c.scan_state();
    if !own && seeds.ignores_claim() {
        // Seed 003 re-introduced: the scan does not take the claim.
        state.note_scan(cycle);
        blacken(c.as_ref(), m);
        return;
    }
    let claim = if own {
        state.try_claim_running(cycle)
    } else {
        state.try_claim(cycle)
    };
    let Some(claim) = claim else {
        return;
    };
    state.note_scan(cycle);
    blacken(c.as_ref(), m);
    claim.finish();
}

/// The VM's edges for the mark worker and the assists (`gc::Tracer`):
/// `blacken`, whose reads of fields the mutator may change are atomic
/// (`load_shared`), and claimed stack scans.
pub struct VmTracer {
    verify: bool,
    /// The seed hooks as a byte, set by tests (`Vm::set_seed_bug`).
    #[cfg(any(test, feature = "seed-bugs"))]
    seed: AtomicU8,
}

impl VmTracer {
    pub(crate) fn new(verify: bool) -> VmTracer {
        VmTracer {
            verify,
            #[cfg(any(test, feature = "seed-bugs"))]
            seed: AtomicU8::new(0),
        }
    }

    #[cfg(any(test, feature = "seed-bugs"))]
    pub(crate) fn set_seeds(&self, seeds: SeedHooks) {
        self.seed.store(seeds.to_u8(), AtomicOrdering::Relaxed);
    }

    #[inline(always)]
    fn seeds(&self) -> SeedHooks {
        #[cfg(any(test, feature = "seed-bugs"))]
        return SeedHooks::from_u8(self.seed.load(AtomicOrdering::Relaxed));
        #[cfg(not(any(test, feature = "seed-bugs")))]
        SeedHooks::default()
    }
}

// SAFETY: (1) `blacken` marks only pointers read from the live object it
// is given (fields written by `init_*` or through the barrier, read with
// acquire loads where the mutator may store them), and the object is
// live (it was greyed by a marker this cycle). (2) Fields the mutator may
// change are read with `load_shared` and stored through the barrier; a
// coroutine's stack is read only under its scan claim, which excludes a
// running stack.
unsafe impl gc::Tracer for VmTracer {
    fn trace(&self, obj: ObjPtr, m: &mut Marker<'_>) {
        let r = ObjRef::from_ptr(obj);
        if self.verify && r.kind_checked().is_none() {
            vm_throw(
                Invariant::Init,
                format_args!("traced object {obj:p} has no valid kind byte"),
            );
        }
        if r.kind() == ObjKind::Coroutine {
            let seeds = self.seeds();
            if seeds.skips_stack_scan() {
                return;
            }
            scan_coroutine(Gc::from_ref_unchecked(r), m, false, seeds);
            return;
        }
        blacken(r, m);
    }
}

// SAFETY: (1) every pointer passed to `mark` comes from a `Value` or handle
// the VM holds under ROOTED, i.e. from `Heap::alloc` of this heap and not
// yet freed (it was reachable at the previous mark, or allocated since);
// `blacken` follows only fields written by `init_*` (INIT). (2) `trace`
// reads only the object it is given.
unsafe impl Embedder for Roots<'_> {
    fn mark_roots(&mut self, m: &mut Marker<'_>) {
        // Marking a coroutine makes the collector call `trace` on it once,
        // which scans its stack (SCAN_ONCE). At the start of a concurrent
        // cycle they are left to the mark worker (`mark_later`): a million
        // parked coroutines must not lengthen the pause.
        for c in self
            .coroutines
            .iter()
            .chain(&self.current)
            .chain(&self.main)
            .chain(&self.finalizer)
        {
            m.mark_later(c.as_ref().ptr());
        }
        if self.seeds.ignores_claim() && m.mode() == MarkMode::StopTheWorld {
            // Seed 003 re-introduced: the running coroutine also scans its
            // own stack "at its safepoint", after the collector has.
            if let Some(c) = self.current {
                self.trace(c.as_ref().ptr(), m);
            }
        }
        self.globals.mark_entries(m);
        m.mark(self.global_values.as_ref().ptr());
        for t in &self.method_tables {
            t.mark_entries(m);
        }
        for &v in self.temp_roots {
            mark_value(m, v);
        }
        for s in self.pinned {
            m.mark(s.as_ref().ptr());
        }
    }

    fn trace(&mut self, obj: ObjPtr, m: &mut Marker<'_>) {
        let r = ObjRef::from_ptr(obj);
        if self.verify && r.kind_checked().is_none() {
            vm_throw(
                Invariant::Init,
                format_args!("traced object {obj:p} has no valid kind byte"),
            );
        }
        if r.kind() != ObjKind::Coroutine {
            blacken(r, m);
            return;
        }
        let c: Gc<CoroutineObj> = Gc::from_ref_unchecked(r);
        match m.mode() {
            // The checkmark re-mark, world stopped: every stack is read
            // again, without claims (the concurrent mark's are finished).
            MarkMode::Checkmark => blacken(r, m),
            MarkMode::Concurrent => {
                if !self.seeds.skips_stack_scan() {
                    scan_coroutine(c, m, false, self.seeds);
                }
            }
            MarkMode::StopTheWorld => {
                if self.seeds.skips_stack_scan() {
                    return;
                }
                // Go's `_Gscan` protocol (`gc::stackscan`): only the winner
                // of the claim scans. With the world stopped the marker is
                // the only party, so any failed claim is a second scan.
                let Some(claim) = c.scan_state().try_claim(self.cycle) else {
                    if c.scan_state().scanned_in(self.cycle) {
                        scan_once_violation(c, "scanned twice in one cycle");
                    }
                    scan_once_violation(c, "claimed by another scanner (scanned twice)");
                };
                c.scan_state().note_scan(self.cycle);
                blacken(r, m);
                claim.finish();
            }
        }
    }

    fn sweep_weak(&mut self, marks: &MarkView<'_>) {
        // SCAN_ONCE, the other half: every coroutine that can still run
        // was scanned in this cycle.
        if self.verify {
            for c in self
                .coroutines
                .iter()
                .chain(&self.current)
                .chain(&self.main)
                .chain(&self.finalizer)
            {
                if !c.scan_state().scanned_in(self.cycle) || !marks.is_marked(c.as_ref().ptr()) {
                    scan_once_violation(*c, "not scanned in this cycle");
                }
            }
        }
        self.strings.sweep_weak(marks, self.verify);
    }

    fn describe(&self, obj: ObjPtr) -> String {
        describe(ObjRef::from_ptr(obj))
    }
}

/// A coroutine stack scanned twice or not at all (seed 003): the
/// collector's SCAN_ONCE, thrown the collector's way, naming the coroutine.
pub(crate) fn scan_once_violation(c: Gc<CoroutineObj>, what: &str) -> ! {
    gc::throw(
        gc::Invariant::ScanOnce,
        format_args!(
            "coroutine {} ({:?}, sp {}, {} frames, last scanned in cycle {}) {}",
            c.id,
            c.state(),
            c.sp(),
            c.frame_count(),
            c.scan_state().last_scanned(),
            what
        ),
    )
}

/// One line naming an object for a collector error (`CHECKMARK`): its
/// kind and what identifies it to a reader of the program.
fn describe(r: ObjRef) -> String {
    let text = |b: &[u8]| {
        let t = String::from_utf8_lossy(&b[..b.len().min(40)]).into_owned();
        if b.len() > 40 {
            format!("{t:?}...")
        } else {
            format!("{t:?}")
        }
    };
    let what = match r.view() {
        View::String(s) => format!("string {}", text(s.as_bytes())),
        View::Instance(i) => format!("instance of {}", text(i.class.name.as_bytes())),
        View::Class(c) => format!("class {}", text(c.name.as_bytes())),
        View::Function(f) => match f.name {
            Some(n) => format!("function {}", text(n.as_bytes())),
            None => "the script's function".to_string(),
        },
        View::Closure(c) => match c.function.name {
            Some(n) => format!("closure of {}", text(n.as_bytes())),
            None => "closure of the script".to_string(),
        },
        View::Coroutine(c) => format!("coroutine {}", c.id),
        _ => format!("{:?}", r.kind()),
    };
    format!("{what} at {:p}", r.ptr())
}
