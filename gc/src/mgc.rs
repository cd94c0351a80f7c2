//! A collection cycle (Go's `mgc.go`): sweep termination, the span
//! snapshot, the stop-the-world mark, mark termination, and the start of
//! the concurrent sweep (see the crate docs for the steps).

use crate::heap::Heap;
use crate::mark::{Embedder, MarkView, Marker};
use crate::sweep;
use crate::tracer::{TraceEvent, TraceTrack};
use crate::{finalizer, mcentral, recording, trace, verify};
use core::ptr::NonNull;
use std::sync::atomic::Ordering as StdOrdering;
use std::time::Instant;

impl Heap {
    /// One full stop-the-world collection (see the crate docs for the
    /// steps). With `full`, sweeping is finished before returning.
    pub fn collect<E: Embedder>(&mut self, embedder: &mut E, full: bool) {
        let t0 = Instant::now();
        let shared = self.shared.clone();
        let heap_start = self.heap_alloc();
        let goal_before = self.pacer.next_gc;
        let verify = self.config.verify;

        // 1. Sweep termination.
        self.mcache.release_all(&shared);
        sweep::finish_sweep(&shared);
        verify::check_sweep_before_mark(&shared, shared.mheap.allspans.len(), verify);
        if verify {
            verify::check_span_accounting(&shared, self.heap_alloc(), self.heap_objects());
        }
        let heap_after_sweep = self.heap_alloc();

        // 2. Snapshot the span list.
        let snapshot_len = {
            let _h = shared.mheap.lock.lock();
            shared.mheap.allspans.len()
        };
        let t1 = Instant::now();

        // 3. Mark.
        let mut gray = core::mem::take(&mut self.gray);
        let mut m = Marker {
            heap: &shared.mheap,
            gray: &mut gray,
            marked_bytes: 0,
            marked_objects: 0,
            verify,
            stw: true,
        };
        embedder.mark_roots(&mut m);
        // Finalizer roots: every queued pair, and for every special the
        // finalizer and what the object reaches, not the object itself
        // (finalizer.rs).
        shared.finq.mark_roots(&mut m);
        if shared.nspecials.load(StdOrdering::Acquire) > 0 {
            let mut specials = core::mem::take(&mut self.fin_scratch);
            finalizer::collect_specials(&shared, snapshot_len, &mut specials);
            for &(obj, fin) in &specials {
                // Both are object addresses recorded by `set_finalizer`.
                let (obj, fin) = (
                    NonNull::new(obj as *mut u8).expect("special object"),
                    NonNull::new(fin as *mut u8).expect("special finalizer"),
                );
                m.mark(fin);
                embedder.trace(obj, &mut m);
            }
            specials.clear();
            self.fin_scratch = specials;
        }
        while let Some(obj) = m.gray.pop() {
            embedder.trace(obj, &mut m);
        }
        let live = m.marked_bytes;
        self.gray = gray;
        embedder.sweep_weak(&MarkView {
            heap: &shared.mheap,
            verify,
        });
        let t2 = Instant::now();

        // 4. Mark termination.
        let pages_to_sweep = shared.mheap.pages_in_use() as u64;
        shared.sweep.start_cycle(snapshot_len);
        self.mcache.fresh_pages = if self.config.concurrent_sweep {
            pages_to_sweep as usize / mcentral::FRESH_PAGES_DIV
        } else {
            0
        };
        self.pacer.mark_done(
            live,
            self.alloc_bytes,
            self.config.gc_percent,
            self.config.min_trigger as u64,
            pages_to_sweep,
            shared.stats.pages_swept.load(StdOrdering::Relaxed),
        );
        self.num_gc += 1;
        let t3 = Instant::now();
        let pause = (t3 - t0).as_nanos() as u64;
        self.pause_total_ns += pause;
        self.max_pause_ns = self.max_pause_ns.max(pause);
        self.pauses.record(pause);
        {
            let bg = shared.stats.swept_bg.load(StdOrdering::Relaxed);
            let lazy = shared.stats.swept_lazy.load(StdOrdering::Relaxed);
            let fin = shared.stats.finalizers_queued.load(StdOrdering::Relaxed);
            let line = trace::TraceLine {
                num_gc: self.num_gc,
                since_start_s: (t0 - self.start).as_secs_f64(),
                sweep_term_ns: (t1 - t0).as_nanos() as u64,
                mark_ns: (t2 - t1).as_nanos() as u64,
                mark_term_ns: (t3 - t2).as_nanos() as u64,
                heap_start,
                heap_after_sweep,
                live,
                goal: self.pacer.next_gc,
                nspans: snapshot_len,
                swept_bg: bg - self.traced_bg,
                swept_lazy: lazy - self.traced_lazy,
                fin_queued: fin - self.traced_fin,
            };
            self.traced_bg = bg;
            self.traced_lazy = lazy;
            self.traced_fin = fin;
            if self.config.trace {
                eprintln!("{}", line.format());
            }
            self.last_line = Some(line);
        }
        if self.tracer.is_some() {
            self.trace_cycle(heap_start, goal_before, live, [t0, t1, t2, t3]);
        }

        // 5. Sweep.
        if let Some(bg) = &self.bg {
            bg.wake();
        }
        if full {
            let start = self.tracer.as_ref().map(|t| t.clock.now());
            sweep::finish_sweep(&shared);
            if verify {
                verify::check_span_accounting(&shared, self.heap_alloc(), self.heap_objects());
            }
            if let Some(start) = start {
                let (heap_alloc, next_gc) = (self.heap_alloc(), self.pacer.next_gc);
                if let Some(t) = self.tracer.as_mut() {
                    let now = t.clock.now();
                    t.push(TraceEvent::slice(
                        TraceTrack::Mutator,
                        crate::recording::FULL_SWEEP,
                        start,
                        now,
                    ));
                    t.heap_counter(now, heap_alloc, next_gc);
                }
            }
        }
    }

    /// A cycle's trace events: the pause, its phases nested in it, and
    /// heap counter samples at its start and end; and, for a recorder, the
    /// cycle's record (the same phases, with the gctrace figures).
    #[cold]
    fn trace_cycle(
        &mut self,
        heap_start: u64,
        goal_before: u64,
        live: u64,
        [t0, t1, t2, t3]: [Instant; 4],
    ) {
        let num_gc = self.num_gc;
        let (heap_alloc, next_gc) = (self.heap_alloc(), self.pacer.next_gc);
        let line = self.last_line.clone();
        let Some(t) = self.tracer.as_mut() else {
            return;
        };
        let [a, b, c, d] = [t0, t1, t2, t3].map(|i| t.clock.at(i));
        // Every phase stops the world today (the mark is not concurrent).
        let phases = [
            ("sweep termination", a, b),
            ("mark", b, c),
            ("mark termination", c, d),
        ];
        t.heap_counter(a, heap_start, goal_before);
        t.push(
            TraceEvent::slice(TraceTrack::Mutator, "GC pause", a, d)
                .arg("gc", num_gc)
                .arg("heapStart", heap_start)
                .arg("live", live),
        );
        for (name, start, end) in phases {
            t.push(TraceEvent::slice(TraceTrack::Mutator, name, start, end));
        }
        t.heap_counter(d, heap_alloc, next_gc);
        if let (true, Some(line)) = (t.records_cycles(), line) {
            t.cycles.push(recording::CycleRecord {
                num_gc,
                phases: phases
                    .iter()
                    .map(|&(name, start, end)| recording::PhaseRecord {
                        name: name.into(),
                        start,
                        end,
                        stop_the_world: true,
                    })
                    .collect(),
                heap_start,
                heap_after_sweep: line.heap_after_sweep,
                live,
                goal_before,
                goal_after: next_gc,
                spans: line.nspans,
                swept_background: line.swept_bg,
                swept_lazy: line.swept_lazy,
                finalizers_queued: line.fin_queued,
            });
        }
    }
}
