//! The heap profile ([`Heap::heap_profile`](crate::Heap::heap_profile)):
//! per size class, the in-use spans, their pages, the objects in the swept
//! ones, and how many spans are in each sweepgen state. Read-only and safe
//! while the background sweeper runs:
//!
//! * The whole walk holds the `MHeap` lock. Spans change state
//!   (`Dead <-> InUse`) and `allspans` grows only under it, so the set of
//!   in-use spans, and each one's class and page count (the diagnostic
//!   atomics written at init), are fixed during the walk. A sweeper that
//!   finds a dead span blocks in `free_span` until we are done.
//! * Sweepgens are atomics, read once per span. A sweeper may claim a span
//!   (`sg-2 -> sg-1`, a CAS under no lock) at any moment, so these counts
//!   are a snapshot of a moving target, as Go's are.
//! * Objects are counted only where this thread owns the span data (the
//!   ownership table in `mspan.rs`): spans on a class's swept lists, read
//!   under that `MCentral` lock (rank 2 after the heap lock's rank 1); the
//!   mcache's spans (the caller is the mutator: `Heap` is not `Sync`); and
//!   swept large spans, which hold exactly one object. Spans still waiting
//!   to be swept, or being swept, are not read: their allocation bits still
//!   count garbage, and the sweeper may own them. While we hold a class's
//!   mcentral lock, no span of that class can become swept (a sweep
//!   publishes and lists the span under that lock), so the swept count and
//!   the objects agree.
#![allow(unsafe_code)]

use crate::mcache::MCache;
use crate::mspan::MSpanState;
use crate::sizeclasses::{class_info, NUM_SIZE_CLASSES};
use crate::HeapShared;

/// Per-class figures of a [`HeapProfile`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ClassProfile {
    /// Size class; 0 = large spans (one object each).
    pub class: usize,
    /// Object size in bytes (0 for large spans, whose sizes vary).
    pub size: usize,
    /// In-use spans of this class.
    pub spans: usize,
    /// Pages in those spans.
    pub pages: usize,
    /// Allocated objects in the swept spans (spans not yet swept are not
    /// counted: their allocation bits still include garbage).
    pub objects: usize,
    /// Object slots in the swept spans.
    pub slots: usize,
    /// Spans at `sg - 2`: need sweeping.
    pub needs_sweep: usize,
    /// Spans at `sg - 1`: being swept right now.
    pub being_swept: usize,
    /// Spans at `sg`: swept (or created this cycle).
    pub swept: usize,
}

/// A snapshot of the span heap ([`Heap::heap_profile`](crate::Heap::heap_profile)).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HeapProfile {
    /// The heap's sweepgen `sg` at the snapshot.
    pub sweepgen: u32,
    /// Classes that have in-use spans, large spans (class 0) first.
    pub classes: Vec<ClassProfile>,
}

pub(crate) fn heap_profile(shared: &HeapShared, mcache: &MCache) -> HeapProfile {
    // Only the mutator advances sg (mark termination), and the caller is
    // the mutator: stable for the whole walk.
    let sg = shared.sweep.sg();
    let _heap = shared.mheap.lock.lock();
    let n = shared.mheap.allspans.len();
    let mut by_class: Vec<Vec<usize>> = vec![Vec::new(); NUM_SIZE_CLASSES];
    for i in 0..n {
        let s = shared.mheap.allspans.get(i);
        if s.state() == MSpanState::InUse {
            by_class[s.diag().2].push(i);
        }
    }
    let mut classes = Vec::new();
    for (class, idx) in by_class.iter().enumerate() {
        if idx.is_empty() {
            continue;
        }
        let mut p = ClassProfile {
            class,
            size: if class == 0 {
                0
            } else {
                class_info(class).size as usize
            },
            ..ClassProfile::default()
        };
        // Hold the class's mcentral lock (small classes) across the
        // sweepgen reads and the list walk: see the module docs.
        let mut lists = (class != 0).then(|| shared.mheap.central[class].lock.lock());
        for &i in idx {
            let s = shared.mheap.allspans.get(i);
            p.spans += 1;
            p.pages += s.diag().1;
            if s.sweepgen.is_swept(sg) {
                p.swept += 1;
            } else if s.sweepgen.is_being_swept(sg) {
                p.being_swept += 1;
            } else if s.sweepgen.needs_sweep(sg) {
                p.needs_sweep += 1;
            } else {
                gc_throw!(
                    SweepOwnership,
                    span = s,
                    "span sweepgen is none of sg-2, sg-1, sg (sg={sg})"
                );
            }
        }
        match lists.as_mut() {
            None => {
                // A swept large span is in use, so its one object is
                // allocated (a dead one is freed by its sweep).
                p.objects = p.swept;
                p.slots = p.swept;
            }
            Some(l) => {
                let (listed, objects) = l.swept_usage(sg);
                let nelems = class_info(class).nelems as usize;
                p.objects = objects;
                p.slots = listed * nelems;
                if let Some(span) = mcache.alloc[class] {
                    // SAFETY: the span is in the mcache and the caller is
                    // the mutator: we own its data (mspan.rs table, row 4).
                    p.objects += unsafe { span.as_ref().with_data(|d| d.alloc_count) };
                    p.slots += nelems;
                }
            }
        }
        drop(lists);
        classes.push(p);
    }
    HeapProfile {
        sweepgen: sg,
        classes,
    }
}
