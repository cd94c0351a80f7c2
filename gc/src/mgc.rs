//! A collection cycle (Go's `mgc.go`): sweep termination, the mark
//! (stop-the-world in [`Heap::collect`], or concurrent between
//! [`Heap::start_mark`] and [`Heap::finish_mark`]), mark termination, and
//! the start of the concurrent sweep (see the crate docs for the steps).

use crate::heap::Heap;
use crate::mark::{Embedder, MarkMode, MarkView, Marker};
use crate::mgcmark::{self, Barrier};
use crate::sweep;
use crate::tracer::{TraceEvent, TraceTrack};
use crate::{finalizer, mcentral, recording, trace, verify};
use std::sync::atomic::Ordering as StdOrdering;
use std::time::Instant;

/// Bytes the mutator allocates between two polls while a cycle marks: how
/// often it flushes its barrier buffer, pays its assist debt and looks
/// whether the mark is done.
pub(crate) const ASSIST_CHUNK: u64 = 64 << 10;

/// The bookkeeping of a cycle that marks concurrently.
#[derive(Clone, Debug)]
pub(crate) struct CycleState {
    t_start: Instant,
    /// End of sweep termination (start of the concurrent mark).
    t_mark: Instant,
    heap_start: u64,
    heap_after_sweep: u64,
    goal_before: u64,
    /// `alloc_bytes` at mark start (what was allocated since is black),
    /// and at the last poll (the assist debt accrues from there).
    alloc_at_start: u64,
    alloc_at_poll: u64,
    /// Bytes marked by assists.
    assist_marked: u64,
}

/// The figures of a finished mark, for mark termination.
struct MarkResult {
    live: u64,
    t: [Instant; 4],
    stop_the_world_mark: bool,
    heap_start: u64,
    heap_after_sweep: u64,
    goal_before: u64,
    /// Concurrent only: bytes marked by worker, assists, barrier.
    marked_by: [u64; 3],
}

impl Heap {
    /// One full stop-the-world collection (see the crate docs for the
    /// steps). With `full`, sweeping is finished before returning. Throws
    /// `MARK_PHASE` while a concurrent cycle marks (finish it first).
    pub fn collect<E: Embedder>(&mut self, embedder: &mut E, full: bool) {
        if self.marking {
            gc_throw!(MarkPhase, "a stop-the-world cycle while a cycle marks");
        }
        let t0 = Instant::now();
        let shared = self.shared.clone();
        let heap_start = self.heap_alloc();
        let goal_before = self.pacer.next_gc;
        let verify = self.config.verify;

        // 1. Sweep termination.
        let snapshot_len = self.sweep_termination();
        let heap_after_sweep = self.heap_alloc();
        let cycle = self.num_gc + 1;
        shared.cycle.store(cycle, crate::sync::Ordering::Release);
        let t1 = Instant::now();

        // 2. Mark.
        let mut gray = core::mem::take(&mut self.gray);
        let mut m = Marker::new(
            &shared.mheap,
            &mut gray,
            MarkMode::StopTheWorld,
            cycle,
            verify,
        );
        embedder.mark_roots(&mut m);
        // Finalizer roots: every queued pair, and for every special the
        // finalizer and what the object reaches, not the object itself
        // (finalizer.rs).
        shared.finq.mark_roots(&mut m);
        let mut specials = core::mem::take(&mut self.fin_scratch);
        finalizer::collect_specials(&shared, snapshot_len, &mut specials);
        for &(obj, fin) in &specials {
            // Both are object addresses recorded by `set_finalizer`.
            let (Some(obj), Some(fin)) = (
                core::ptr::NonNull::new(obj as *mut u8),
                core::ptr::NonNull::new(fin as *mut u8),
            ) else {
                gc_throw!(MarkBadPointer, "a finalizer special holds a null pointer");
            };
            m.mark(fin);
            embedder.trace(obj, &mut m);
        }
        specials.clear();
        self.fin_scratch = specials;
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

        // 3-4. Mark termination and the sweep.
        self.mark_termination(
            MarkResult {
                live,
                t: [t0, t1, t2, t2],
                stop_the_world_mark: true,
                heap_start,
                heap_after_sweep,
                goal_before,
                marked_by: [0; 3],
            },
            full,
        );
    }

    /// Sweep termination (world stopped): flush the mcache, finish the
    /// last cycle's sweep, wait for sweepers, check `SWEEP_BEFORE_MARK`.
    /// Returns the span count the mark's finalizer walk covers.
    fn sweep_termination(&mut self) -> usize {
        let shared = self.shared.clone();
        self.mcache.release_all(&shared);
        sweep::finish_sweep(&shared);
        verify::check_sweep_before_mark(&shared, shared.mheap.allspans.len(), self.config.verify);
        if self.config.verify {
            verify::check_span_accounting(&shared, self.heap_alloc(), self.heap_objects());
        }
        let _h = shared.mheap.lock.lock();
        shared.mheap.allspans.len()
    }

    // ----------------------------------------------------- concurrent mark

    /// Starts a concurrent cycle (Go's `gcStart`), world stopped for the
    /// sweep termination and the roots: marks the embedder's roots
    /// (`mark_roots` with a concurrent marker; `Marker::mark_later` leaves
    /// roots to the worker) and the queued finalizers, sets the phase to
    /// `Mark` and wakes the mark worker. From here on the embedder's
    /// stores shade through `barrier`, allocation is black, and the
    /// embedder must scan its running stack before it runs again (its
    /// self-scan, `stackscan`) and call [`mark_assist`](Self::mark_assist)
    /// whenever [`poll_due`](Self::poll_due). Throws `MARK_PHASE` if a
    /// cycle already marks or no tracer is set.
    pub fn start_mark<E: Embedder>(&mut self, barrier: &mut Barrier, embedder: &mut E) {
        if self.marking || self.worker.is_none() {
            gc_throw!(
                MarkPhase,
                "start_mark while marking ({}) or without a mark worker",
                self.marking
            );
        }
        // Go's `gcStart`: the spans the last cycle left unswept are swept
        // here, by the allocator, before the world stops, so the pause
        // only waits for a sweeper still inside a span. (The background
        // sweeper may be behind on a large heap: 300,000 spans at 1 GB.)
        let heap_start = self.heap_alloc();
        while sweep::sweep_one(&self.shared, sweep::Sweeper::Lazy).is_some() {}
        let t0 = Instant::now();
        let shared = self.shared.clone();
        let goal_before = self.pacer.next_gc;
        let snapshot_len = self.sweep_termination();
        let heap_after_sweep = self.heap_alloc();
        let cycle = self.num_gc + 1;
        shared.cycle.store(cycle, crate::sync::Ordering::Release);
        shared
            .work
            .worker_marked
            .store(0, crate::sync::Ordering::Relaxed);
        barrier.marked_bytes = 0;

        // Roots, into the barrier's buffer; the worker takes the rest.
        let mut later = Vec::new();
        barrier.with_root_marker(&mut later, |m| {
            embedder.mark_roots(m);
            shared.finq.mark_roots(m);
        });
        self.marking = true;
        barrier.set_marking(true);
        shared.work.start_cycle(&shared, snapshot_len, later);
        // After `start_cycle`, which checks that the last cycle left no
        // work behind: the roots' grey objects are this cycle's first.
        barrier.flush_quietly();
        let t1 = Instant::now();
        // Woken after the pause: waking a thread whose CPU sleeps costs
        // this 2-vCPU machine 100-150 µs, half the pause it would be in.
        shared.work.wake_worker();
        self.cycle_state = Some(CycleState {
            t_start: t0,
            t_mark: t1,
            heap_start,
            heap_after_sweep,
            goal_before,
            alloc_at_start: self.alloc_bytes,
            alloc_at_poll: self.alloc_bytes,
            assist_marked: 0,
        });
        self.set_next_poll();
        let pause = (t1 - t0).as_nanos() as u64;
        self.stw_sweep_term_ns += pause;
        self.record_pause(pause);
    }

    /// The mutator's poll while a cycle marks (Go's `gcAssistAlloc`):
    /// flushes the barrier buffer, then traces its share of the remaining
    /// work for what it allocated since the last poll: `allocated *
    /// remaining scan / remaining runway to the goal`, so the mark ends by
    /// the goal however fast the program allocates (past the goal it marks
    /// until the mark is done). Returns whether marking is done: the
    /// embedder then (having scanned its running stack) calls
    /// [`finish_mark`](Self::finish_mark).
    pub fn mark_assist(&mut self, barrier: &mut Barrier) -> bool {
        let Some(st) = self.cycle_state.as_mut() else {
            gc_throw!(MarkPhase, "mark_assist while no cycle marks");
        };
        barrier.flush();
        let allocated = self.alloc_bytes - st.alloc_at_poll;
        st.alloc_at_poll = self.alloc_bytes;
        let heap_live = self.pacer.heap_live(self.alloc_bytes);
        let goal = self.pacer.next_gc;
        let marked = self.shared.work.worker_marked.load(StdOrdering::Relaxed)
            + st.assist_marked
            + barrier.marked_bytes;
        // Expected work: what the last cycle found live (at least the floor
        // of the heap), less what is marked already (at least a tenth).
        let expected = self.pacer.last_live.max(self.config.min_trigger as u64 / 2);
        let remaining = expected.saturating_sub(marked).max(expected / 10);
        let runway = goal.saturating_sub(heap_live);
        let (budget, finish) = if self.config.stress {
            (u64::MAX, false)
        } else if runway <= ASSIST_CHUNK {
            (u64::MAX, true)
        } else {
            let per_byte = remaining as f64 / runway as f64;
            ((allocated as f64 * per_byte) as u64, false)
        };
        if budget > 0 {
            let t0 = Instant::now();
            let tracer = self.mark_tracer.clone();
            let Some(tracer) = tracer else {
                gc_throw!(MarkPhase, "a concurrent mark without a tracer");
            };
            let mut gray = core::mem::take(&mut self.gray);
            let done = mgcmark::help(&self.shared, &mut gray, &*tracer, budget, finish);
            self.gray = gray;
            if let Some(st) = self.cycle_state.as_mut() {
                st.assist_marked += done;
            }
            self.mark_assist_ns += t0.elapsed().as_nanos() as u64;
        }
        self.set_next_poll();
        self.shared.work.is_done()
    }

    /// Marks until the mark is done, waiting for the worker if it holds
    /// the last work (`gc()` and stress mode; the time counts as assist
    /// time, the world is not stopped). The barrier is flushed first.
    pub fn mark_drain(&mut self, barrier: &mut Barrier) {
        if !self.marking {
            return;
        }
        barrier.flush();
        let Some(tracer) = self.mark_tracer.clone() else {
            gc_throw!(MarkPhase, "a concurrent mark without a tracer");
        };
        let t0 = Instant::now();
        let mut gray = core::mem::take(&mut self.gray);
        let done = mgcmark::help(&self.shared, &mut gray, &*tracer, u64::MAX, true);
        self.gray = gray;
        if let Some(st) = self.cycle_state.as_mut() {
            st.assist_marked += done;
        }
        self.mark_assist_ns += t0.elapsed().as_nanos() as u64;
    }

    /// Mark termination of a concurrent cycle (Go's `gcMarkTermination`),
    /// world stopped: the embedder has scanned its running stack; the
    /// barrier buffer is flushed and whatever marking is left (normally
    /// nothing: the caller saw `mark_assist` return true) is finished;
    /// the phase ends under the queue lock; in verify mode the checkmark
    /// re-mark (`CHECKMARK`); `sweep_weak`; then as for a stop-the-world
    /// cycle: the sweep snapshot, `sweepgen += 2`, pacing, statistics, the
    /// gctrace line, and the background sweeper is woken. With `full`, the
    /// sweep is finished before returning.
    pub fn finish_mark<E: Embedder>(
        &mut self,
        barrier: &mut Barrier,
        embedder: &mut E,
        full: bool,
    ) {
        let Some(st) = self.cycle_state.take() else {
            gc_throw!(MarkPhase, "finish_mark while no cycle marks");
        };
        let t2 = Instant::now();
        let shared = self.shared.clone();
        let Some(tracer) = self.mark_tracer.clone() else {
            gc_throw!(MarkPhase, "a concurrent mark without a tracer");
        };
        let mut gray = core::mem::take(&mut self.gray);
        loop {
            barrier.flush();
            st_help(&shared, &mut gray, &*tracer);
            if shared.work.try_end(&shared) {
                break;
            }
        }
        self.gray = gray;
        self.marking = false;
        barrier.set_marking(false);
        if self.config.verify {
            verify::checkmark(&shared, self.num_gc + 1, embedder);
        }
        embedder.sweep_weak(&MarkView {
            heap: &shared.mheap,
            verify: self.config.verify,
        });
        let worker = shared.work.worker_marked.load(StdOrdering::Relaxed);
        let black = self.alloc_bytes - st.alloc_at_start;
        let live = worker + st.assist_marked + barrier.marked_bytes + black;
        let runway = st.goal_before.saturating_sub(self.pacer.last_live);
        self.pacer
            .learn_trigger(self.alloc_bytes - st.alloc_at_start, runway);
        self.mark_termination(
            MarkResult {
                live,
                t: [st.t_start, st.t_mark, t2, t2],
                stop_the_world_mark: false,
                heap_start: st.heap_start,
                heap_after_sweep: st.heap_after_sweep,
                goal_before: st.goal_before,
                marked_by: [worker, st.assist_marked, barrier.marked_bytes],
            },
            full,
        );
    }

    fn record_pause(&mut self, pause: u64) {
        self.pause_total_ns += pause;
        self.max_pause_ns = self.max_pause_ns.max(pause);
        self.pauses.record(pause);
    }

    /// Mark termination's common part, and the start of the sweep.
    fn mark_termination(&mut self, r: MarkResult, full: bool) {
        let shared = self.shared.clone();
        let verify = self.config.verify;
        let MarkResult {
            live,
            t: [t0, t1, t2, _],
            ..
        } = r;

        // The sweep covers every span that exists now: those created
        // during a concurrent mark hold black objects and free slots.
        self.mcache.release_all(&shared);
        let snapshot_len = {
            let _h = shared.mheap.lock.lock();
            shared.mheap.allspans.len()
        };
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
        self.pacer.set_trigger(self.concurrent_mark());
        self.set_next_poll();
        self.num_gc += 1;
        let t3 = Instant::now();
        if r.stop_the_world_mark {
            self.record_pause((t3 - t0).as_nanos() as u64);
        } else {
            let pause = (t3 - t2).as_nanos() as u64;
            self.stw_mark_term_ns += pause;
            self.record_pause(pause);
        }
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
                heap_start: r.heap_start,
                heap_after_sweep: r.heap_after_sweep,
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
            self.trace_cycle(&r, [t0, t1, t2, t3]);
        }

        // The sweep.
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

    /// A cycle's trace events: the pauses, the phases, and heap counter
    /// samples at its start and end; and, for a recorder, the cycle's
    /// record (the same phases, with the gctrace figures).
    #[cold]
    fn trace_cycle(&mut self, r: &MarkResult, [t0, t1, t2, t3]: [Instant; 4]) {
        let num_gc = self.num_gc;
        let (heap_alloc, next_gc) = (self.heap_alloc(), self.pacer.next_gc);
        let line = self.last_line.clone();
        let (heap_start, goal_before, live) = (r.heap_start, r.goal_before, r.live);
        let stw = r.stop_the_world_mark;
        let Some(t) = self.tracer.as_mut() else {
            return;
        };
        let [a, b, c, d] = [t0, t1, t2, t3].map(|i| t.clock.at(i));
        let phases = [
            ("sweep termination", a, b, true),
            ("mark", b, c, stw),
            ("mark termination", c, d, true),
        ];
        t.heap_counter(a, heap_start, goal_before);
        if stw {
            t.push(
                TraceEvent::slice(TraceTrack::Mutator, "GC pause", a, d)
                    .arg("gc", num_gc)
                    .arg("heapStart", heap_start)
                    .arg("live", live),
            );
            for (name, start, end, _) in phases {
                t.push(TraceEvent::slice(TraceTrack::Mutator, name, start, end));
            }
        } else {
            t.push(
                TraceEvent::slice(TraceTrack::Mutator, "GC pause", a, b)
                    .arg("gc", num_gc)
                    .arg("heapStart", heap_start),
            );
            t.push(TraceEvent::slice(
                TraceTrack::Mutator,
                "sweep termination",
                a,
                b,
            ));
            let [worker, assist, barrier] = r.marked_by;
            t.push(
                TraceEvent::slice(TraceTrack::MarkWorker, "mark", b, c)
                    .arg("gc", num_gc)
                    .arg("markedWorker", worker)
                    .arg("markedAssist", assist)
                    .arg("markedBarrier", barrier),
            );
            t.push(
                TraceEvent::slice(TraceTrack::Mutator, "GC pause", c, d)
                    .arg("gc", num_gc)
                    .arg("live", live),
            );
            t.push(TraceEvent::slice(
                TraceTrack::Mutator,
                "mark termination",
                c,
                d,
            ));
        }
        t.heap_counter(d, heap_alloc, next_gc);
        if let (true, Some(line)) = (t.records_cycles(), line) {
            t.cycles.push(recording::CycleRecord {
                num_gc,
                phases: phases
                    .iter()
                    .map(
                        |&(name, start, end, stop_the_world)| recording::PhaseRecord {
                            name: name.into(),
                            start,
                            end,
                            stop_the_world,
                        },
                    )
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

/// Mark termination's last drain: normally there is nothing left; a
/// barrier that shaded since the last poll left a buffer.
fn st_help(shared: &crate::HeapShared, gray: &mut Vec<crate::ObjPtr>, tracer: &dyn crate::Tracer) {
    mgcmark::help(shared, gray, tracer, u64::MAX, true);
}
