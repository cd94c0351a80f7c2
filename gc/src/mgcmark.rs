//! Concurrent marking (Go's `mgcmark.go`, `mgcwork.go` and `mbarrier.go`):
//! the grey-object queue shared by every marker, the mark worker thread,
//! and the mutator's write barrier.
//!
//! # Who marks
//!
//! While a cycle marks (`Phase::Mark`, between the two stop-the-world
//! pauses of `mgc.rs`), several markers set mark bits at once
//! (`MarkBits::set` with `fetch_or`):
//! - the **mark worker**, an OS thread (`gc-mark`) that marks the roots
//!   left to it by the start of the cycle, walks the finalizer specials,
//!   and drains the queue;
//! - the **mutator**: its write barrier ([`Barrier`]) shades the pointer
//!   a store overwrites and the one it stores, it scans its own running
//!   stack at a safepoint, it allocates black (`malloc.rs`), and it
//!   **assists**: for every byte it allocates during the mark it traces a
//!   share of the remaining work (`Heap::mark_assist`), so it cannot
//!   outrun the marker.
//!
//! A marker greys objects onto its own stack or buffer and moves work to
//! the shared [`WorkQueue`] in buffers; an object is traced by whoever pops
//! it. No sweeper runs while anyone marks (`SWEEP_BEFORE_MARK`), so span
//! geometry and mark words hold still under every marker (`mspan.rs`).
//!
//! # When marking is done
//!
//! Marking is done when the queue holds nothing and no marker holds work
//! taken from it (`WorkQueue::is_done`, one look under the queue lock at
//! `busy` and the lists), *after* the mutator has flushed its barrier
//! buffer and scanned its running stack. A marker counts as busy from the
//! moment it takes a job until it has put back or traced everything the
//! job greyed, so a grey object is always either in the queue or in the
//! hands of a busy marker. Looking only at the queue would end the mark
//! while the worker still holds grey objects: the loom model
//! `loom_mark_termination_*` (mark termination vs a marker still
//! buffering) explores exactly that, and the `CHECKMARK` re-mark catches
//! what it leaves white.

#![allow(unsafe_code)]

use crate::mark::Marker;
use crate::sync::{thread, Arc, AtomicU64, AtomicU8, Condvar, LockRank, Mutex, Ordering};
use crate::{HeapShared, ObjPtr};
use core::ptr::NonNull;

/// Objects a marker greys before it hands a buffer to the queue.
pub(crate) const BUF_LEN: usize = 256;

/// Roots per job left to the worker by the start of a cycle.
pub(crate) const ROOT_JOB: usize = 4096;

/// What the mark worker and the mutator's assists need from the embedder:
/// an object's edges, traced while the mutator runs. **API Boundary.**
///
/// # Safety
/// 1. `trace` passes to [`Marker::mark`] only pointers to live objects of
///    this heap, and reads only `obj`.
/// 2. It is safe to run on any thread concurrently with the mutator: every
///    field the mutator may change is read atomically (and the mutator
///    stores it through its barrier), and a stack that may be running is
///    never read (the embedder claims a stack before scanning it:
///    `stackscan::ScanState::try_claim`).
pub unsafe trait Tracer: Send + Sync {
    fn trace(&self, obj: ObjPtr, m: &mut Marker<'_>);
}

/// The cycle's marking phase (`HeapShared::phase`), Go's `gcphase`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Phase {
    /// No cycle is marking: stores need no barrier, allocation is white,
    /// sweepers may run.
    Off = 0,
    /// Concurrent mark: the barrier shades, allocation is black, markers
    /// drain the queue, nobody sweeps.
    Mark = 1,
}

/// The phase word. Written only by the mutator inside the stop-the-world
/// parts of a cycle, under the queue lock (so the worker, which reads it
/// under that lock before taking a job, never starts one after the mark
/// has ended).
pub(crate) struct PhaseWord(AtomicU8);

impl PhaseWord {
    pub(crate) fn new() -> PhaseWord {
        PhaseWord(AtomicU8::new(Phase::Off as u8))
    }

    pub(crate) fn get(&self) -> Phase {
        if self.0.load(Ordering::Acquire) == Phase::Mark as u8 {
            Phase::Mark
        } else {
            Phase::Off
        }
    }

    fn set(&self, p: Phase) {
        self.0.store(p as u8, Ordering::Release);
    }
}

/// A job taken from the queue.
enum Job {
    /// Objects to mark (roots left by the start of the cycle).
    Roots(Vec<usize>),
    /// The finalizer specials of the first `n` spans.
    Specials(usize),
    /// Grey objects to trace.
    Grey(Vec<usize>),
}

struct WorkState {
    /// Full buffers of grey object addresses (marked, not yet traced).
    grey: Vec<Vec<usize>>,
    /// Roots not yet marked.
    roots: Vec<Vec<usize>>,
    /// The finalizer specials of the first `n` spans still need marking.
    specials: Option<usize>,
    /// Markers holding a job taken from the queue.
    busy: usize,
    shutdown: bool,
    /// Tests only (`Heap::hold_mark_worker`): the worker takes no job.
    held: bool,
}

impl WorkState {
    fn take(&mut self) -> Option<Job> {
        let job = if let Some(n) = self.specials.take() {
            Job::Specials(n)
        } else if let Some(r) = self.roots.pop() {
            Job::Roots(r)
        } else {
            Job::Grey(self.grey.pop()?)
        };
        self.busy += 1;
        Some(job)
    }

    fn is_empty(&self) -> bool {
        self.grey.is_empty() && self.roots.is_empty() && self.specials.is_none()
    }
}

/// The grey queue and the worker's parking place (lock rank `Work`).
pub(crate) struct WorkQueue {
    state: Mutex<WorkState>,
    /// The worker waits here for jobs.
    work_cv: Condvar,
    /// The mutator waits here (finishing a mark) for jobs or for the last
    /// busy marker.
    done_cv: Condvar,
    /// Nanoseconds the worker spent marking (cumulative).
    pub(crate) worker_ns: AtomicU64,
    /// Bytes marked by the worker this cycle (assists and the barrier
    /// count their own).
    pub(crate) worker_marked: AtomicU64,
}

impl WorkQueue {
    pub(crate) fn new() -> WorkQueue {
        WorkQueue {
            state: Mutex::new(
                LockRank::Work,
                WorkState {
                    grey: Vec::new(),
                    roots: Vec::new(),
                    specials: None,
                    busy: 0,
                    shutdown: false,
                    held: false,
                },
            ),
            work_cv: Condvar::new(),
            done_cv: Condvar::new(),
            worker_ns: AtomicU64::new(0),
            worker_marked: AtomicU64::new(0),
        }
    }

    /// Hands a buffer of grey objects to the queue.
    pub(crate) fn put(&self, buf: Vec<usize>) {
        if buf.is_empty() {
            return;
        }
        let mut st = self.state.lock();
        st.grey.push(buf);
        self.work_cv.notify_one();
        self.done_cv.notify_all();
    }

    /// As [`put`](Self::put), waking nobody: inside the start-of-cycle
    /// pause, whose end wakes the worker ([`wake_worker`](Self::wake_worker)).
    /// Nobody waits on `done_cv` then (only the mutator does, and this is
    /// the mutator).
    pub(crate) fn put_quietly(&self, buf: Vec<usize>) {
        if !buf.is_empty() {
            self.state.lock().grey.push(buf);
        }
    }

    /// Wakes the mark worker to look for jobs.
    pub(crate) fn wake_worker(&self) {
        let _st = self.state.lock();
        self.work_cv.notify_all();
    }

    /// The start of a cycle (world stopped, phase already `Mark`): the
    /// worker's first jobs are the specials of the first `nspans` spans and
    /// the roots left to it.
    pub(crate) fn start_cycle(&self, heap: &HeapShared, nspans: usize, roots: Vec<usize>) {
        let mut st = self.state.lock();
        debug_assert!(
            st.is_empty() && st.busy == 0,
            "work left from the last cycle"
        );
        heap.phase.set(Phase::Mark);
        st.specials = (nspans > 0).then_some(nspans);
        for chunk in roots.chunks(ROOT_JOB) {
            st.roots.push(chunk.to_vec());
        }
        // The caller wakes the worker once the pause is over.
    }

    /// A marker on the mutator thread takes a job (an assist), or `None`.
    fn take(&self) -> Option<Job> {
        self.state.lock().take()
    }

    /// A marker finished a job and holds nothing from it any more.
    fn done_with_job(&self) {
        let mut st = self.state.lock();
        st.busy -= 1;
        if st.busy == 0 {
            self.done_cv.notify_all();
        }
    }

    /// Marking is done: nothing queued and no marker holds a job. The
    /// caller (the mutator) holds no grey object itself.
    pub(crate) fn is_done(&self) -> bool {
        let st = self.state.lock();
        st.is_empty() && st.busy == 0
    }

    /// Seed of the loom model `loom_mark_termination_*`: the broken end of
    /// the mark that looks only at the queue, not at busy markers.
    #[cfg(loom)]
    pub(crate) fn seed_end_if_queue_empty(&self, heap: &HeapShared) -> bool {
        let st = self.state.lock();
        if st.is_empty() {
            heap.phase.set(Phase::Off);
            true
        } else {
            false
        }
    }

    /// Ends the mark if it is done, under the queue lock (so no marker
    /// can take a job after the check): phase `Off`. Returns whether it
    /// ended.
    pub(crate) fn try_end(&self, heap: &HeapShared) -> bool {
        let st = self.state.lock();
        if st.is_empty() && st.busy == 0 {
            heap.phase.set(Phase::Off);
            true
        } else {
            false
        }
    }

    /// The mutator has nothing to trace: waits until there is a job or no
    /// marker is busy.
    fn wait_for_work_or_idle(&self) {
        let mut st = self.state.lock();
        while st.is_empty() && st.busy > 0 {
            self.done_cv.wait(&mut st);
        }
    }

    #[cfg(any(test, feature = "seed-bugs"))]
    pub(crate) fn hold(&self, held: bool) {
        let mut st = self.state.lock();
        st.held = held;
        self.work_cv.notify_all();
    }

    pub(crate) fn shutdown(&self) {
        let mut st = self.state.lock();
        st.shutdown = true;
        self.work_cv.notify_all();
    }
}

/// Runs `job` with marker `m`, tracing through `trace`, until the marker's
/// own grey stack is empty; spills work to the queue while it has plenty,
/// so assists can take some. `budget` (bytes) stops an assist early: what
/// it still holds goes back to the queue.
fn run_job(
    heap: &HeapShared,
    job: Job,
    m: &mut Marker<'_>,
    trace: &dyn Fn(ObjPtr, &mut Marker<'_>),
    budget: u64,
) {
    match job {
        Job::Roots(objs) => {
            for a in objs {
                if let Some(p) = NonNull::new(a as *mut u8) {
                    m.mark(p);
                }
            }
        }
        Job::Specials(n) => {
            let mut pairs = Vec::new();
            crate::finalizer::collect_specials(heap, n, &mut pairs);
            crate::finalizer::mark_special_pairs(&pairs, m, trace);
        }
        Job::Grey(buf) => {
            for a in buf {
                // Grey objects' addresses, put there by a marker.
                if let Some(p) = NonNull::new(a as *mut u8) {
                    trace(p, m);
                }
            }
        }
    }
    while let Some(obj) = m.gray.pop() {
        trace(obj, m);
        if m.gray.len() >= 2 * BUF_LEN {
            let rest: Vec<usize> = m
                .gray
                .drain(..BUF_LEN)
                .map(|p| p.as_ptr() as usize)
                .collect();
            heap.work.put(rest);
        }
        if m.marked_bytes >= budget {
            break;
        }
    }
    if !m.gray.is_empty() {
        let rest = m.gray.drain(..).map(|p| p.as_ptr() as usize).collect();
        heap.work.put(rest);
    }
}

/// The mutator's share of the marking (an assist, or all that is left at
/// mark termination): takes jobs until it has marked `budget` bytes or the
/// queue is empty. With `finish`, waits for busy markers and goes on until
/// marking is done. Returns the bytes it marked.
pub(crate) fn help(
    heap: &HeapShared,
    gray: &mut Vec<ObjPtr>,
    tracer: &dyn Tracer,
    budget: u64,
    finish: bool,
) -> u64 {
    let trace = |obj: ObjPtr, m: &mut Marker<'_>| tracer.trace(obj, m);
    let mut marked = 0;
    loop {
        let Some(job) = heap.work.take() else {
            if !finish || heap.work.is_done() {
                return marked;
            }
            heap.work.wait_for_work_or_idle();
            continue;
        };
        let mut m = Marker::concurrent(heap, gray);
        run_job(heap, job, &mut m, &trace, budget.saturating_sub(marked));
        marked += m.marked_bytes;
        heap.work.done_with_job();
        if !finish && marked >= budget {
            return marked;
        }
    }
}

/// The mark worker thread (Go's dedicated mark worker).
pub(crate) struct MarkWorker {
    handle: Option<thread::JoinHandle<()>>,
    heap: Arc<HeapShared>,
}

impl MarkWorker {
    pub(crate) fn start(heap: Arc<HeapShared>, tracer: std::sync::Arc<dyn Tracer>) -> MarkWorker {
        let h = heap.clone();
        #[cfg(not(loom))]
        let handle = thread::Builder::new()
            .name("gc-mark".into())
            .spawn(move || worker(&h, &*tracer))
            .expect("gc: cannot start the mark worker thread");
        #[cfg(loom)]
        let handle = thread::spawn(move || worker(&h, &*tracer));
        MarkWorker {
            handle: Some(handle),
            heap,
        }
    }

    pub(crate) fn shutdown(&mut self) {
        self.heap.work.shutdown();
        if let Some(h) = self.handle.take() {
            if h.join().is_err() {
                gc_throw!(MarkPhase, "mark worker thread panicked");
            }
        }
    }
}

impl Drop for MarkWorker {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// The worker's loop: wait for a job while the phase is `Mark`, run it,
/// and again. Public to the loom models through `loom_support`.
pub(crate) fn worker(heap: &HeapShared, tracer: &dyn Tracer) {
    let trace = |obj: ObjPtr, m: &mut Marker<'_>| tracer.trace(obj, m);
    let mut gray: Vec<ObjPtr> = Vec::new();
    loop {
        let job = {
            let mut st = heap.work.state.lock();
            loop {
                if st.shutdown {
                    return;
                }
                if heap.phase.get() == Phase::Mark && !st.held {
                    if let Some(job) = st.take() {
                        break job;
                    }
                }
                heap.work.work_cv.wait(&mut st);
            }
        };
        let t0 = std::time::Instant::now();
        let mut m = Marker::concurrent(heap, &mut gray);
        run_job(heap, job, &mut m, &trace, u64::MAX);
        heap.work
            .worker_marked
            .fetch_add(m.marked_bytes, Ordering::Relaxed);
        heap.work
            .worker_ns
            .fetch_add(t0.elapsed().as_nanos() as u64, Ordering::Relaxed);
        heap.work.done_with_job();
    }
}

/// The mutator's write barrier (Go's hybrid barrier, `mbarrier.go`): the
/// embedder calls [`Barrier::shade`] on the pointer a store overwrites
/// (Yuasa's deletion barrier: what was reachable when the mark began
/// stays reachable to the marker) and on the one it stores (Dijkstra's
/// insertion barrier, needed while the storing coroutine's stack is not
/// yet scanned; like Go's `wbBuf`, this barrier shades both on every store
/// rather than test the stack's colour). Shading greys a white object into
/// the mutator's own buffer, which goes to the queue when full and at
/// every poll.
pub struct Barrier {
    heap: Arc<HeapShared>,
    /// Mirror of `phase == Mark`, set only by the heap calls that change
    /// the phase (`start_mark`, `finish_mark`), which take the barrier.
    marking: bool,
    buf: Vec<ObjPtr>,
    /// Bytes this barrier (and the self-scans through it) marked this cycle.
    pub(crate) marked_bytes: u64,
}

// SAFETY: the buffer holds object addresses of this heap, which outlives
// the barrier (it holds an `Arc` of it); moving the barrier moves the
// mutator role with it, as for `Heap`.
unsafe impl Send for Barrier {}

impl Barrier {
    pub(crate) fn new(heap: Arc<HeapShared>) -> Barrier {
        Barrier {
            heap,
            marking: false,
            buf: Vec::new(),
            marked_bytes: 0,
        }
    }

    /// A cycle is marking: stores must shade.
    #[inline(always)]
    pub fn marking(&self) -> bool {
        self.marking
    }

    /// Greys `obj` (a live object of this heap) if it is white. Only while
    /// [`marking`](Self::marking).
    #[inline]
    pub fn shade(&mut self, obj: ObjPtr) {
        let mut m = Marker::concurrent(&self.heap, &mut self.buf);
        m.mark(obj);
        self.marked_bytes += m.marked_bytes;
        if self.buf.len() >= BUF_LEN {
            self.flush();
        }
    }

    /// Runs `f` with a marker that greys into this barrier's buffer: the
    /// mutator's scan of its own stack, and the roots at mark start.
    pub fn with_marker<R>(&mut self, f: impl FnOnce(&mut Marker<'_>) -> R) -> R {
        let mut m = Marker::concurrent(&self.heap, &mut self.buf);
        let r = f(&mut m);
        self.marked_bytes += m.marked_bytes;
        if self.buf.len() >= BUF_LEN {
            self.flush();
        }
        r
    }

    /// As [`with_marker`](Self::with_marker), for the roots at mark
    /// start: `Marker::mark_later` appends to `later`.
    pub(crate) fn with_root_marker<R>(
        &mut self,
        later: &mut Vec<usize>,
        f: impl FnOnce(&mut Marker<'_>) -> R,
    ) -> R {
        let mut m = Marker::concurrent(&self.heap, &mut self.buf);
        m.later = Some(later);
        let r = f(&mut m);
        self.marked_bytes += m.marked_bytes;
        r
    }

    /// Hands the buffered grey objects to the queue.
    pub fn flush(&mut self) {
        if !self.buf.is_empty() {
            let buf = self.buf.drain(..).map(|p| p.as_ptr() as usize).collect();
            self.heap.work.put(buf);
        }
    }

    /// As [`flush`](Self::flush), without waking the worker (the start of
    /// a cycle wakes it after its pause).
    pub(crate) fn flush_quietly(&mut self) {
        if !self.buf.is_empty() {
            let buf = self.buf.drain(..).map(|p| p.as_ptr() as usize).collect();
            self.heap.work.put_quietly(buf);
        }
    }

    pub(crate) fn set_marking(&mut self, on: bool) {
        self.marking = on;
    }

    /// Nothing buffered.
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }
}
