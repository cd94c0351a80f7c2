//! loom models of the concurrent mark, on the real code: the grey
//! `WorkQueue`, the mark worker's loop (`mgcmark::worker`), the mutator's
//! `Barrier`, its `help` and mark termination (`try_end`), with loom's
//! atomics, locks and condition variables (`sync.rs`):
//!
//! ```text
//! RUSTFLAGS="--cfg loom" cargo test -p gc --release --test loom_mark -- --nocapture
//! ```
//!
//! Each model prints how many interleavings it explored (`loom
//! iterations: N`). The object graph is a model's own (one pointer field
//! per object, a loom atomic); marking, queueing and the phase are the
//! heap's.
//!
//! - `loom_mark_barrier_*`: the mutator moves a pointer from a heap object
//!   to its (already scanned, black) stack and clears the field through
//!   the barrier, while the worker traces the objects. Property: at mark
//!   termination no marked object points to a white one and nothing the
//!   stack holds is white. Without the deletion half of the barrier (the
//!   seed) the object is lost exactly when the worker reads the field after
//!   the store.
//! - `loom_mark_termination_*`: the mutator ends the mark while the worker
//!   may hold a job it took from the queue (its grey objects are in its own
//!   buffer, not the queue). Property: at the end every object reachable
//!   from the roots is marked. The seed ends the mark when the queue is
//!   empty without counting busy markers; it fails only when the worker
//!   holds the job at that moment.
//!
//! Each seed also runs under a builder that never preempts a thread
//! (`*_seed_needs_the_race`): there it must pass, so its failure above
//! comes from an interleaving, not from code that is wrong in any order.
//! Measured (release, exhaustive): the barrier model explores 600,929
//! interleavings (about 45 s) and its seed fails at the 150th; the
//! termination model explores 53 and its seed fails at the 22nd.
#![cfg(loom)]
#![allow(unsafe_code)] // the model's `Tracer` impl (an unsafe trait)

use gc::loom_support::{Model, SpanRef};
use gc::{Barrier, Marker, ObjPtr, Tracer};
use loom::sync::atomic::{AtomicUsize, Ordering};
use loom::sync::{Arc, Condvar, Mutex};
use loom::thread;

mod loom_common;

/// Size class of the model's objects (small: one span holds them all).
const CLASS: usize = 2;

/// Exhaustive, whatever LOOM_MAX_PREEMPTIONS says (CI bounds the other
/// models with it): these are small enough (seconds in release).
fn builder() -> loom::model::Builder {
    let mut b = loom::model::Builder::new();
    b.preemption_bound = None;
    b
}

/// The model's object graph: slot `i` of one span, one pointer field each.
struct Graph {
    model: Model,
    span: SpanRef,
    base: usize,
    elemsize: usize,
    fields: Vec<AtomicUsize>,
    /// Some marker has begun tracing object `i`; `began` is signalled.
    tracing: Mutex<Vec<bool>>,
    began: Condvar,
}

impl Graph {
    fn new(model: &Model, n: usize) -> Graph {
        let span = model.small_span(CLASS, n);
        let base = model.object(span, 0).as_ptr() as usize;
        let elemsize = model.object(span, 1).as_ptr() as usize - base;
        Graph {
            model: model.clone(),
            span,
            base,
            elemsize,
            fields: (0..n).map(|_| AtomicUsize::new(0)).collect(),
            tracing: Mutex::new(vec![false; n]),
            began: Condvar::new(),
        }
    }

    fn obj(&self, i: usize) -> ObjPtr {
        self.model.object(self.span, i)
    }

    fn index(&self, p: usize) -> usize {
        (p - self.base) / self.elemsize
    }

    /// Setup only (before any other thread exists).
    fn link(&self, from: usize, to: usize) {
        self.fields[from].store(self.obj(to).as_ptr() as usize, Ordering::Relaxed);
    }

    fn target(&self, i: usize) -> Option<usize> {
        match self.fields[i].load(Ordering::Acquire) {
            0 => None,
            p => Some(self.index(p)),
        }
    }

    fn marked(&self, i: usize) -> bool {
        self.model.is_marked(self.span, i)
    }

    /// Objects reachable from `roots` through the fields as they are now.
    fn reachable(&self, roots: &[usize]) -> Vec<usize> {
        let mut seen = Vec::new();
        let mut todo = roots.to_vec();
        while let Some(i) = todo.pop() {
            if !seen.contains(&i) {
                seen.push(i);
                todo.extend(self.target(i));
            }
        }
        seen
    }

    /// The tri-colour invariant at mark termination: what the roots reach
    /// is marked, and no marked object points to a white one. Returns the
    /// first violation (asserted once the worker is joined: a loom model
    /// must not panic while another of its threads still runs).
    fn check(&self, roots: &[usize], names: &[&str]) -> Result<(), String> {
        for i in self.reachable(roots) {
            if !self.marked(i) {
                return Err(format!(
                    "CHECKMARK: {} is reachable and white at mark termination",
                    names[i]
                ));
            }
        }
        for (i, name) in names.iter().enumerate() {
            if let (true, Some(t)) = (self.marked(i), self.target(i)) {
                if !self.marked(t) {
                    return Err(format!(
                        "CHECKMARK: black {name} points to white {}",
                        names[t]
                    ));
                }
            }
        }
        Ok(())
    }
}

// SAFETY: `trace` marks only objects of the model's span (the fields hold
// only its slots' addresses) and reads the fields atomically.
unsafe impl Tracer for Graph {
    fn trace(&self, obj: ObjPtr, m: &mut Marker<'_>) {
        let i = self.index(obj.as_ptr() as usize);
        self.tracing.lock().expect("model lock")[i] = true;
        self.began.notify_all();
        if let Some(t) = self.target(i) {
            m.mark(self.obj(t));
        }
    }
}

/// A heap with R (a global) -> A -> B, a cycle marking from R, and the
/// mark worker running.
fn start() -> (Arc<Graph>, Barrier, thread::JoinHandle<()>) {
    let m = Model::with_verify(true);
    let g = Arc::new(Graph::new(&m, 3));
    g.link(R, A);
    g.link(A, B);
    let mut wb = m.barrier();
    m.start_concurrent_mark(&mut wb, &[g.obj(R)]);
    let g2 = g.clone();
    let worker = thread::spawn(move || g2.model.run_mark_worker(&*g2));
    (g, wb, worker)
}

/// Stops and joins the worker, then fails with `verdict`'s violation: a
/// loom model must not panic while another of its threads still runs.
fn end(g: &Graph, worker: thread::JoinHandle<()>, verdict: Result<(), String>) {
    g.model.stop_mark_worker();
    worker.join().expect("worker");
    if let Err(e) = verdict {
        panic!("{e}");
    }
}

const R: usize = 0;
const A: usize = 1;
const B: usize = 2;
const NAMES: [&str; 3] = ["R", "A", "B"];

/// Model (1): a store through the barrier vs the mark worker shading.
fn barrier_vs_worker(builder: loom::model::Builder, shade_old: bool) {
    loom_common::explore(builder, move || {
        let (g, mut wb, worker) = start();
        let m = &g.model;

        // The mutator, whose stack was scanned at mark start, runs while
        // the worker traces (it blocks only until the worker has begun:
        // loom then explores every point where the worker can be
        // preempted), loads A.f (B) onto its stack, then clears A.f
        // through the barrier.
        {
            let mut began = g.tracing.lock().expect("model lock");
            while !began[R] {
                began = g.began.wait(began).expect("model lock");
            }
        }
        let on_stack = g.target(A).expect("A.f");
        let old = g.fields[A].swap(0, Ordering::AcqRel);
        if shade_old && old != 0 {
            wb.shade(g.obj(g.index(old)));
        }
        m.finish_concurrent_mark(&mut wb, &*g);
        let verdict = g.check(&[R, on_stack], &NAMES);
        end(&g, worker, verdict);
    });
}

#[test]
fn loom_mark_barrier_vs_worker() {
    barrier_vs_worker(builder(), true);
}

/// Without shading the overwritten pointer, the worker can read A.f after
/// the store and leave B, held only by the black stack, white.
#[test]
#[should_panic(expected = "CHECKMARK: B is reachable and white")]
fn loom_mark_barrier_seed_no_deletion_barrier() {
    barrier_vs_worker(builder(), false);
}

/// ... but only through a preemption: run without one, the seed passes.
#[test]
fn loom_mark_barrier_seed_needs_the_race() {
    barrier_vs_worker(loom_common::without_preemption(), false);
}

/// Model (2): mark termination vs the worker still holding grey objects.
fn termination_vs_worker(builder: loom::model::Builder, queue_only: bool) {
    loom_common::explore(builder, move || {
        let (g, mut wb, worker) = start();
        let m = &g.model;
        if queue_only {
            m.finish_concurrent_mark_queue_only(&mut wb, &*g);
        } else {
            m.finish_concurrent_mark(&mut wb, &*g);
        }
        // The world is stopped here: the sweep would free what is white.
        let verdict = if m.marking() {
            Err("the phase is still Mark after termination".to_string())
        } else {
            g.check(&[R], &NAMES)
        };
        end(&g, worker, verdict);
    });
}

#[test]
fn loom_mark_termination_vs_worker() {
    termination_vs_worker(builder(), false);
}

/// Ending the mark when the queue is empty loses the grey objects the
/// worker holds.
#[test]
#[should_panic(expected = "is reachable and white at mark termination")]
fn loom_mark_termination_seed_queue_only() {
    termination_vs_worker(builder(), true);
}

/// ... but only through a preemption: run without one, the seed passes.
#[test]
fn loom_mark_termination_seed_needs_the_race() {
    termination_vs_worker(loom_common::without_preemption(), true);
}
