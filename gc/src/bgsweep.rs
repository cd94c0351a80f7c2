//! The background sweeper (Go's `bgsweep`): one thread per heap that sweeps
//! the span snapshot in batches while the mutator runs, parks when the
//! snapshot is drained, is woken at every mark termination, and is joined
//! when the heap is dropped.
//!
//! It does not yield between batches: it is an OS thread, preempted by the
//! kernel like any other, and it holds no lock between spans. (It used to
//! call `yield_now()` every 8 spans; on a loaded machine each `sched_yield`
//! gave the rest of its time slice away, so it swept a few spans per
//! scheduling round while the mutator swept lazily, issue #4.)

use crate::sweep::{sweep_one, Sweeper};
use crate::sync::{thread, Arc, AtomicBool, Condvar, LockRank, Mutex, Ordering};
use crate::tracer::{TraceEvent, TraceTrack};
use crate::HeapShared;

/// Spans swept per batch: one trace slice, and one look at `shutdown`.
const BATCH: usize = 64;

struct Park {
    /// A mark termination published new work since the sweeper last looked.
    work: bool,
    /// The sweeper is waiting on the condition variable.
    parked: bool,
}

struct Ctl {
    park: Mutex<Park>,
    cv: Condvar,
    shutdown: AtomicBool,
}

/// Handle to the background sweeper thread.
pub(crate) struct BgSweeper {
    ctl: Arc<Ctl>,
    handle: Option<thread::JoinHandle<()>>,
}

impl BgSweeper {
    pub(crate) fn start(heap: Arc<HeapShared>) -> BgSweeper {
        let ctl = Arc::new(Ctl {
            park: Mutex::new(
                LockRank::BgSweepPark,
                Park {
                    work: false,
                    parked: false,
                },
            ),
            cv: Condvar::new(),
            shutdown: AtomicBool::new(false),
        });
        let c = ctl.clone();
        #[cfg(not(loom))]
        let handle = thread::Builder::new()
            .name("gc-bgsweep".into())
            .spawn(move || run(&heap, &c))
            .expect("gc: cannot start the background sweeper thread");
        #[cfg(loom)]
        let handle = thread::spawn(move || run(&heap, &c));
        BgSweeper {
            ctl,
            handle: Some(handle),
        }
    }

    /// Mark termination: there is a new snapshot to sweep.
    pub(crate) fn wake(&self) {
        let mut p = self.ctl.park.lock();
        p.work = true;
        if p.parked {
            self.ctl.cv.notify_one();
        }
    }

    /// Stop and join the thread (heap drop).
    pub(crate) fn shutdown(&mut self) {
        self.ctl.shutdown.store(true, Ordering::Release);
        {
            let _p = self.ctl.park.lock();
            self.ctl.cv.notify_one();
        }
        if let Some(h) = self.handle.take() {
            if h.join().is_err() {
                gc_throw!(BgSweep, "background sweeper thread panicked");
            }
        }
    }
}

impl Drop for BgSweeper {
    fn drop(&mut self) {
        self.shutdown();
    }
}

fn run(heap: &HeapShared, ctl: &Ctl) {
    loop {
        {
            let mut p = ctl.park.lock();
            while !p.work && !ctl.shutdown.load(Ordering::Acquire) {
                p.parked = true;
                ctl.cv.wait(&mut p);
                p.parked = false;
            }
            p.work = false;
        }
        if ctl.shutdown.load(Ordering::Acquire) {
            return;
        }
        loop {
            let start = heap.trace.as_ref().map(|t| t.clock.now());
            let (mut spans, mut pages) = (0usize, 0usize);
            let mut drained = false;
            for _ in 0..BATCH {
                match sweep_one(heap, Sweeper::Background) {
                    Some(n) => {
                        spans += 1;
                        pages += n;
                    }
                    None => {
                        drained = true;
                        break;
                    }
                }
            }
            if let (Some(t), Some(start), true) = (&heap.trace, start, spans > 0) {
                // One slice per batch; batches on this thread are sequential,
                // so the track's slices never overlap.
                t.push(
                    TraceEvent::slice(
                        TraceTrack::BgSweeper,
                        crate::recording::BG_SWEEP,
                        start,
                        t.clock.now(),
                    )
                    .arg("spans", spans)
                    .arg("pages", pages),
                );
            }
            if drained {
                on_drained(heap);
                break;
            }
            if ctl.shutdown.load(Ordering::Acquire) {
                return;
            }
        }
    }
}

/// The background sweeper has drained this cycle's snapshot (other sweepers
/// may still be inside spans, and lazy sweeping may still queue
/// finalizers). Nothing to do: finalizer wake-ups are the queuer's job
/// (`FINQ_WAKE`), never tied to this moment.
pub(crate) fn on_drained(heap: &HeapShared) {
    if heap.mheap.seeds.wake_finalizers_at_drain() {
        // Seed 000 re-introduced: the pre-fix `bgsweep` woke the finalizer
        // goroutine here, and only here.
        heap.finq.seed_bg_sweep_done();
    }
}
