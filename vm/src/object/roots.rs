//! The embedder side of the collector: roots, edges and weak references.

use super::{blacken, CoroutineObj, Gc, ObjKind, ObjRef, StringObj, TableLoc};
use crate::intern::InternSet;
use crate::invariant::{vm_throw, Invariant};
use crate::value::Value;
use gc::{Embedder, MarkView, Marker, ObjPtr};

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
    pub globals: TableLoc,
    pub method_tables: [TableLoc; 4],
    pub temp_roots: &'a [Value],
    pub pinned: &'a [Gc<StringObj>],
    pub strings: &'a mut InternSet,
    pub verify: bool,
    /// Seed 003's injection points (empty without the test switch).
    pub(crate) seeds: crate::seeds::SeedHooks,
}

fn mark_value(m: &mut Marker<'_>, v: Value) {
    if let Some(o) = v.as_obj() {
        m.mark(o.ptr());
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
        // which scans its stack (SCAN_ONCE).
        for c in self
            .coroutines
            .iter()
            .chain(&self.current)
            .chain(&self.main)
            .chain(&self.finalizer)
        {
            m.mark(c.as_ref().ptr());
        }
        if self.seeds.rescans_current() {
            // Seed 003 re-introduced: the running coroutine also scans its
            // own stack "at its safepoint", after the collector has.
            if let Some(c) = self.current {
                self.trace(c.as_ref().ptr(), m);
            }
        }
        self.globals.mark_entries(m);
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
        if r.kind() == ObjKind::Coroutine {
            let c: Gc<CoroutineObj> = Gc::from_ref_unchecked(r);
            if self.seeds.skips_stack_scan() {
                return;
            }
            // Go's `_Gscan` protocol (`gc::stackscan`): only the winner of
            // the claim scans. With the world stopped the marker is the
            // only party, so any failed claim is a second scan.
            let Some(claim) = c.scan_state().try_claim(self.cycle) else {
                if c.scan_state().scanned_in(self.cycle) {
                    scan_once_violation(c, "scanned twice in one cycle");
                }
                scan_once_violation(c, "claimed by another scanner (scanned twice)");
            };
            blacken(r, m);
            claim.finish();
            return;
        }
        blacken(r, m);
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
        self.strings.sweep_weak(marks);
    }
}

/// A coroutine stack scanned twice or not at all (seed 003): the
/// collector's SCAN_ONCE, thrown the collector's way, naming the coroutine.
fn scan_once_violation(c: Gc<CoroutineObj>, what: &str) -> ! {
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
