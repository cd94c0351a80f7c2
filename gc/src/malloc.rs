//! Allocation (Go's `mallocgc`): the mcache fast path, refills from the
//! mcentrals with proportional sweeping, and large spans.
#![allow(unsafe_code)]

use crate::heap::Heap;
use crate::sizeclasses::{size_to_class, MAX_SMALL_SIZE, PAGE_SIZE};
use crate::sweep::{self, Sweeper};
use crate::tracer::{self, TraceEvent, TraceTime, TraceTrack};
use crate::{mspan, AllocError, ObjPtr};
use core::ptr::NonNull;
use std::sync::atomic::Ordering as StdOrdering;

// SAFETY: the only non-Send fields are the mcache's span pointers (span
// structs live as long as `shared`, which the heap keeps alive) and the gray
// stack's object pointers (empty outside `collect`). Moving the heap moves
// the mutator role with it; the background sweeper never touches the mcache.
unsafe impl Send for Heap {}

/// Allocate-black (Go's `gcmarknewobject`): an object allocated while a
/// cycle marks is marked at once, so it survives the cycle without being
/// traced; what it will hold comes from the (scanned) stack, from objects
/// the mark reaches, or through the barrier.
#[inline]
fn allocate_black(span: &mspan::MSpan, idx: usize) {
    // SAFETY: the span is in the mutator's mcache or was just allocated by
    // it (in use; nobody resizes its words); markers may set other bits of
    // the word at once, hence not exclusive.
    unsafe { span.gcmark.set(idx, false) };
}

impl Heap {
    /// `size` bytes, 8-byte aligned, contents uninitialized. Sizes above
    /// 32 KiB get a large span of their own. Never starts a collection; may
    /// sweep spans lazily. Fails only when the OS refuses memory.
    #[inline]
    pub fn alloc(&mut self, size: usize) -> Result<ObjPtr, AllocError> {
        if size <= MAX_SMALL_SIZE {
            let class = size_to_class(size);
            if let Some(span) = self.mcache.alloc[class] {
                // SAFETY: the span is in our mcache, so the mutator owns its
                // data (mspan.rs ownership table); it is swept (sg) and no
                // sweeper touches it.
                let hit = unsafe {
                    span.as_ref().with_data(|d| {
                        d.next_free_fast()
                            .map(|i| (d.start + i * d.elemsize, d.elemsize, i))
                    })
                };
                if let Some((p, size, i)) = hit {
                    self.alloc_bytes += size as u64;
                    self.alloc_objects += 1;
                    if self.marking {
                        // SAFETY: span structs live as long as the heap.
                        allocate_black(unsafe { span.as_ref() }, i);
                    }
                    // SAFETY: p is inside a committed span, never null.
                    return Ok(unsafe { NonNull::new_unchecked(p as *mut u8) });
                }
            }
            self.alloc_small_slow(class)
        } else {
            self.alloc_large(size)
        }
    }

    #[cold]
    fn alloc_small_slow(&mut self, class: usize) -> Result<ObjPtr, AllocError> {
        let take = |span: NonNull<mspan::MSpan>| {
            // SAFETY: as in `alloc`: the span is in our mcache (or was just
            // put there by `refill`), owned by the mutator.
            unsafe {
                span.as_ref().with_data(|d| {
                    d.next_free_index()
                        .map(|i| (d.start + i * d.elemsize, d.elemsize, i, span))
                })
            }
        };
        let hit = match self.mcache.alloc[class] {
            Some(span) => take(span),
            None => None,
        };
        let (p, size, i, span) = match hit {
            Some(hit) => hit,
            None => {
                let mark = self.trace_mark();
                self.sweep_credit();
                let refilled = self.mcache.refill(&self.shared, class);
                if let Some(mark) = mark {
                    self.trace_lazy_sweep(mark);
                }
                let span = refilled?;
                match take(span) {
                    Some(hit) => hit,
                    None => gc_throw!(
                        SpanAccounting,
                        // SAFETY: span structs live as long as the heap.
                        span = unsafe { span.as_ref() },
                        "cache_span returned a span with no free slot"
                    ),
                }
            }
        };
        self.alloc_bytes += size as u64;
        self.alloc_objects += 1;
        if self.marking {
            // SAFETY: span structs live as long as the heap.
            allocate_black(unsafe { span.as_ref() }, i);
        }
        // SAFETY: p is inside a committed span, never null.
        Ok(unsafe { NonNull::new_unchecked(p as *mut u8) })
    }

    #[cold]
    fn alloc_large(&mut self, size: usize) -> Result<ObjPtr, AllocError> {
        if size > isize::MAX as usize / 2 {
            return Err(AllocError { size });
        }
        let npages = size.div_ceil(PAGE_SIZE);
        let mark = self.trace_mark();
        self.sweep_credit();
        // Go's `reclaim`: sweep about as many pages as we are about to take,
        // so dead large spans are reused before the heap grows.
        let mut swept = 0;
        while swept < npages && !self.shared.sweep.drained() {
            match sweep::sweep_one(&self.shared, Sweeper::Lazy) {
                Some(n) => swept += n,
                None => break,
            }
        }
        let span = self
            .shared
            .mheap
            .alloc_span(npages, 0, self.shared.sweep.sg());
        if let Some(mark) = mark {
            self.trace_lazy_sweep(mark);
        }
        let span = span?;
        // SAFETY: span structs live as long as the heap; the fresh large
        // span is at sg and on no list, so only we (its allocator) and the
        // STW collector ever read its data.
        let start = unsafe { span.as_ref().with_data(|d| d.start) };
        self.alloc_bytes += (npages * PAGE_SIZE) as u64;
        self.alloc_objects += 1;
        if self.marking {
            // SAFETY: span structs live as long as the heap.
            allocate_black(unsafe { span.as_ref() }, 0);
        }
        // SAFETY: the span start is inside the arena, never null.
        Ok(unsafe { NonNull::new_unchecked(start as *mut u8) })
    }

    /// Start of a possible `lazy sweep` slice: the time and the lazy-swept
    /// span count. `None` (one test) when not tracing.
    #[inline]
    fn trace_mark(&self) -> Option<(TraceTime, u64)> {
        let t = self.tracer.as_ref()?;
        Some((
            t.clock.now(),
            self.shared.stats.swept_lazy.load(StdOrdering::Relaxed),
        ))
    }

    /// End of an allocation slow path while tracing: a `lazy sweep` slice if
    /// it swept spans (only the mutator sweeps lazily, so the counter's
    /// growth is ours), and a periodic heap counter sample.
    #[cold]
    fn trace_lazy_sweep(&mut self, (start, lazy_before): (TraceTime, u64)) {
        let swept = self.shared.stats.swept_lazy.load(StdOrdering::Relaxed) - lazy_before;
        let heap_alloc = self.heap_alloc();
        let next_gc = self.pacer.next_gc;
        let Some(t) = self.tracer.as_mut() else {
            return;
        };
        let now = t.clock.now();
        if swept > 0 {
            t.push(
                TraceEvent::slice(
                    TraceTrack::Mutator,
                    crate::recording::LAZY_SWEEP,
                    start,
                    now,
                )
                .arg("spans", swept),
            );
        }
        if now.0.saturating_sub(t.last_counter.0) >= tracer::COUNTER_PERIOD_NS {
            t.heap_counter(now, heap_alloc, next_gc);
        }
    }

    /// Proportional sweep (Go's `deductSweepCredit`): before taking a new
    /// span, sweep so that the sweep finishes before the next goal even
    /// without the background sweeper.
    fn sweep_credit(&mut self) {
        let st = &self.shared.sweep;
        if st.drained() {
            return;
        }
        let allocated = (self.alloc_bytes - self.pacer.alloc_at_mark) as f64;
        let target =
            self.pacer.pages_swept_at_mark + (allocated * self.pacer.sweep_pages_per_byte) as u64;
        while self.shared.stats.pages_swept.load(StdOrdering::Relaxed) < target {
            if sweep::sweep_one(&self.shared, Sweeper::Lazy).is_none() {
                break;
            }
        }
    }
}
