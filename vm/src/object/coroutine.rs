//! Coroutines, their stacks and channels, as heap objects.
//!
//! A coroutine owns a value stack (a `StackSlabObj`) and a frame stack (a
//! `FrameSlabObj`), both plain heap blocks that grow by copying into a
//! larger block. The slabs trace nothing themselves: only the live part of
//! each (`sp` values, `frame_count` frames) is scanned, by the owning
//! coroutine's `blacken`, exactly once per cycle (SCAN_ONCE). Slots above
//! `sp` may hold stale handles to freed objects; nothing reads a slot
//! before writing it (VERIFIED).
//!
//! The running coroutine's `sp` and `frame_count` live in the VM's views
//! ([`Stack`], [`Frames`]) while it runs; `Vm::sync_current` writes them
//! back before anything reads the object (a collection, a switch).

use super::{Fresh, Gc, Header, HeapObject, ListObj, ObjKind, WriteBarrier};
use crate::frame::CallFrame;
use crate::value::Value;
use gc::stackscan::ScanState;
use std::mem::size_of;
use std::ptr::{addr_of, addr_of_mut, NonNull};

// ------------------------------------------------------------------ slabs

/// Raw storage for `capacity` values. Traced by its owner only.
#[repr(C)]
pub struct StackSlabObj {
    header: Header,
    capacity: usize,
}
impl HeapObject for StackSlabObj {
    const KIND: ObjKind = ObjKind::StackSlab;
}
impl StackSlabObj {
    pub fn size_for(capacity: usize) -> usize {
        size_of::<StackSlabObj>() + capacity * size_of::<Value>()
    }
}

/// Raw storage for `capacity` call frames. Traced by its owner only.
#[repr(C)]
pub struct FrameSlabObj {
    header: Header,
    capacity: usize,
}
impl HeapObject for FrameSlabObj {
    const KIND: ObjKind = ObjKind::FrameSlab;
}
impl FrameSlabObj {
    pub fn size_for(capacity: usize) -> usize {
        size_of::<FrameSlabObj>() + capacity * size_of::<CallFrame>()
    }
}

impl Fresh {
    /// A value slab; its slots are uninitialised until pushed (VERIFIED:
    /// read only below `sp`).
    pub fn init_stack_slab(self, capacity: usize) -> Gc<StackSlabObj> {
        self.init(StackSlabObj {
            header: Header::new(ObjKind::StackSlab, 0),
            capacity,
        })
    }

    pub fn init_frame_slab(self, capacity: usize) -> Gc<FrameSlabObj> {
        self.init(FrameSlabObj {
            header: Header::new(ObjKind::FrameSlab, 0),
            capacity,
        })
    }
}

impl Gc<StackSlabObj> {
    pub fn capacity(self) -> usize {
        self.capacity
    }

    fn base(self) -> *mut Value {
        // SAFETY: ROOTED; the values follow the struct in the block.
        unsafe { (self.raw() as *mut u8).add(size_of::<StackSlabObj>()) as *mut Value }
    }

    /// The first `len` values, which the owner wrote (VERIFIED).
    pub fn live<'a>(self, len: usize) -> &'a [Value] {
        assert!(len <= self.capacity, "stack length above capacity");
        // SAFETY: ROOTED; `len <= capacity` slots, all written by pushes.
        unsafe { std::slice::from_raw_parts(self.base(), len) }
    }
}

impl Gc<StackSlabObj> {
    /// Slot `i` of a parked coroutine's stack, as the concurrent marker
    /// reads it: other coroutines may store into a parked stack (waking it,
    /// writing its upvalues) through the barrier meanwhile.
    pub(super) fn slot_shared(self, i: usize) -> Value {
        assert!(i < self.capacity, "stack slot above capacity");
        // SAFETY: ROOTED; `i < capacity`, an aligned slot of the slab;
        // written by its coroutine only while it runs (not while it is
        // scanned: the scan claim) and by others through the barrier.
        unsafe { super::barrier::load_shared(self.base().add(i)) }
    }
}

impl Gc<FrameSlabObj> {
    pub fn capacity(self) -> usize {
        self.capacity
    }

    fn base(self) -> *mut CallFrame {
        // SAFETY: ROOTED; the frames follow the struct in the block.
        unsafe { (self.raw() as *mut u8).add(size_of::<FrameSlabObj>()) as *mut CallFrame }
    }

    pub fn live<'a>(self, len: usize) -> &'a [CallFrame] {
        assert!(len <= self.capacity, "frame count above capacity");
        // SAFETY: ROOTED; `len <= capacity` frames, all written by pushes.
        unsafe { std::slice::from_raw_parts(self.base(), len) }
    }
}

// ------------------------------------------------------------------- views

/// The running coroutine's value stack: a view of its slab.
///
/// **STACK_RESERVED**: whenever a frame runs, `capacity >= base +
/// max_stack` of its function (the verifier's bound, VERIFIED); `Vm::call`
/// reserves it before pushing the frame. So every push stays below the
/// capacity, every local slot named is below `sp`, and every pop has a
/// value under it. Debug builds assert each access.
pub struct Stack {
    slab: Option<Gc<StackSlabObj>>,
    /// The slab's first value and capacity, cached: the hot loop pushes
    /// and pops through them without looking at the slab header.
    base: *mut Value,
    cap: usize,
    sp: usize,
}

impl Stack {
    pub const fn empty() -> Stack {
        Stack {
            slab: None,
            base: std::ptr::NonNull::dangling().as_ptr(),
            cap: 0,
            sp: 0,
        }
    }

    pub fn view(slab: Gc<StackSlabObj>, sp: usize) -> Stack {
        assert!(sp <= slab.capacity, "stack view past capacity");
        Stack {
            slab: Some(slab),
            base: slab.base(),
            cap: slab.capacity,
            sp,
        }
    }

    pub fn slab(&self) -> Option<Gc<StackSlabObj>> {
        self.slab
    }

    #[inline(always)]
    fn base(&self) -> *mut Value {
        self.base
    }

    #[inline(always)]
    fn capacity(&self) -> usize {
        self.cap
    }

    #[inline(always)]
    pub fn len(&self) -> usize {
        self.sp
    }

    /// The capacity needed to push `extra` more values, if more than now.
    #[inline(always)]
    pub fn needs(&self, extra: usize) -> Option<usize> {
        let need = self.sp + extra;
        (need > self.capacity()).then_some(need)
    }

    /// Moves the live values into `bigger` and makes it this view's slab.
    pub fn adopt(&mut self, bigger: Gc<StackSlabObj>) {
        assert!(bigger.capacity >= self.sp, "adopting a smaller stack slab");
        if let Some(old) = self.slab {
            // SAFETY: both blocks are live (the old one is still the
            // coroutine's slab, rooted; the new one is fresh) and distinct;
            // `sp <= capacity` of each.
            unsafe { std::ptr::copy_nonoverlapping(old.base(), bigger.base(), self.sp) };
        }
        self.slab = Some(bigger);
        self.base = bigger.base();
        self.cap = bigger.capacity;
    }

    #[inline(always)]
    pub fn push(&mut self, v: Value) {
        debug_assert!(
            self.sp < self.capacity(),
            "STACK_RESERVED: push past capacity"
        );
        // SAFETY: STACK_RESERVED: the running frame's verified height bound
        // was reserved, so `sp < capacity`.
        unsafe { self.base().add(self.sp).write(v) };
        self.sp += 1;
    }

    #[inline(always)]
    pub fn pop(&mut self) -> Value {
        debug_assert!(self.sp > 0, "VERIFIED: pop from an empty stack");
        self.sp -= 1;
        // SAFETY: VERIFIED: no instruction pops more than the height, so
        // the new `sp` indexes a written slot.
        unsafe { self.base().add(self.sp).read() }
    }

    /// The value `distance` slots below the top (0 = top).
    #[inline(always)]
    pub fn peek(&self, distance: usize) -> Value {
        debug_assert!(distance < self.sp, "VERIFIED: peek below the stack");
        // SAFETY: VERIFIED: an instruction peeks only at values it will
        // pop, which exist; so `sp - 1 - distance` is a written slot.
        unsafe { self.base().add(self.sp - 1 - distance).read() }
    }

    #[inline(always)]
    pub fn set_top(&mut self, distance: usize, v: Value) {
        debug_assert!(distance < self.sp, "VERIFIED: set below the stack");
        // SAFETY: as `peek`.
        unsafe { self.base().add(self.sp - 1 - distance).write(v) };
    }

    #[inline(always)]
    pub fn get(&self, i: usize) -> Value {
        debug_assert!(i < self.sp, "VERIFIED: slot above the stack");
        // SAFETY: VERIFIED: local slots are below the frame's height, and
        // open upvalues of this coroutine name slots below `sp` (they are
        // closed before their frame is popped); so `i < sp <= capacity`.
        unsafe { self.base().add(i).read() }
    }

    #[inline(always)]
    pub fn set(&mut self, i: usize, v: Value) {
        debug_assert!(i < self.sp, "VERIFIED: slot above the stack");
        // SAFETY: as `get`.
        unsafe { self.base().add(i).write(v) };
    }

    #[inline(always)]
    pub fn truncate(&mut self, len: usize) {
        debug_assert!(len <= self.sp);
        self.sp = len.min(self.sp);
    }

    pub fn clear(&mut self) {
        self.sp = 0;
    }
}

/// The running coroutine's frame stack: a view of its frame slab.
///
/// `len <= cap` always (`view` and `adopt` assert it, `push` checks it),
/// and `base[..len]` are frames `push` wrote.
pub struct Frames {
    slab: Option<Gc<FrameSlabObj>>,
    /// The slab's first frame and capacity, cached as [`Stack`] caches
    /// its own: a call and a return touch only these, not the slab
    /// header (dangling and 0 without a slab).
    base: *mut CallFrame,
    cap: usize,
    len: usize,
}

impl Frames {
    pub const fn empty() -> Frames {
        Frames {
            slab: None,
            base: NonNull::dangling().as_ptr(),
            cap: 0,
            len: 0,
        }
    }

    pub fn view(slab: Gc<FrameSlabObj>, len: usize) -> Frames {
        assert!(len <= slab.capacity, "frame view past capacity");
        Frames {
            slab: Some(slab),
            base: slab.base(),
            cap: slab.capacity,
            len,
        }
    }

    pub fn slab(&self) -> Option<Gc<FrameSlabObj>> {
        self.slab
    }

    #[inline(always)]
    pub fn len(&self) -> usize {
        self.len
    }

    #[inline(always)]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    #[inline(always)]
    pub fn is_full(&self) -> bool {
        self.len == self.cap
    }

    pub fn adopt(&mut self, bigger: Gc<FrameSlabObj>) {
        assert!(bigger.capacity >= self.len, "adopting a smaller frame slab");
        if let Some(old) = self.slab {
            // SAFETY: distinct live blocks, `len <= capacity` of each.
            unsafe { std::ptr::copy_nonoverlapping(old.base(), bigger.base(), self.len) };
        }
        self.slab = Some(bigger);
        self.base = bigger.base();
        self.cap = bigger.capacity;
    }

    /// Pushes a frame; the caller checked `!is_full()`.
    #[inline(always)]
    pub fn push(&mut self, f: CallFrame) {
        assert!(self.len < self.cap, "frame push past capacity");
        // SAFETY: `len < cap` (asserted): inside the slab's block (`cap` is
        // the capacity of the slab `base` points into, which `view` and
        // `adopt` set together and the slab's owner keeps alive).
        unsafe { self.base.add(self.len).write(f) };
        self.len += 1;
    }

    #[inline(always)]
    pub fn pop(&mut self) {
        self.len = self.len.saturating_sub(1);
    }

    #[inline(always)]
    pub fn last(&self) -> Option<CallFrame> {
        if self.len == 0 {
            return None;
        }
        // SAFETY: `len - 1 < len <= cap`, a frame written by `push`.
        Some(unsafe { self.base.add(self.len - 1).read() })
    }

    /// Records the innermost frame's `ip`.
    #[inline(always)]
    pub fn set_last_ip(&mut self, ip: usize) {
        if self.len > 0 {
            // SAFETY: as `last`; a raw write of one field.
            unsafe { addr_of_mut!((*self.base.add(self.len - 1)).ip).write(ip) };
        }
    }

    pub fn clear(&mut self) {
        self.len = 0;
    }

    pub fn as_slice(&self) -> &[CallFrame] {
        match self.slab {
            Some(s) => s.live(self.len),
            None => &[],
        }
    }
}

// -------------------------------------------------------------- coroutines

/// Where a coroutine is in its life. Legal moves: Fresh -> Running;
/// Running -> Runnable | Blocked | Sleeping | Done; Runnable | Blocked |
/// Sleeping -> Running (via the run queue).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[repr(u32)]
pub enum CoState {
    /// Spawned; its stack holds the callee and arguments, no frame yet.
    Fresh = 0,
    Runnable = 1,
    Running = 2,
    /// Parked on a channel or a join.
    Blocked = 3,
    Sleeping = 4,
    Done = 5,
}

/// What a Blocked coroutine waits for, beside the wait queue it is in:
/// which queue that is (so a REPL input that is stopped can leave it, and
/// `:coroutines` can say what it waits on). `Nothing` for the finalizer
/// coroutine waiting for work, and whenever it is not blocked.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[repr(u32)]
pub enum BlockedOn {
    Nothing = 0,
    /// In the `recvq` of the channel in `blocked_target`.
    Recv = 1,
    /// In the `sendq` of the channel in `blocked_target`.
    Send = 2,
    /// In the `joiners` of the coroutine in `blocked_target`.
    Join = 3,
}

#[repr(C)]
pub struct CoroutineObj {
    header: Header,
    state: CoState,
    /// Which wait queue it is in while Blocked (beside `state`, in what
    /// would be padding).
    blocked_on: BlockedOn,
    /// The scan status word: the last collection cycle that scanned this
    /// coroutine's stack and the "being scanned" bit (SCAN_ONCE; Go's
    /// `_Gscan`, see `gc::stackscan`). Atomic because, in the concurrent
    /// mark to come, the collector and the coroutine itself race to claim
    /// it; accessed only by shared reference ([`Gc::scan_state`]).
    scan: ScanState,
    pub(super) stack: Option<Gc<StackSlabObj>>,
    sp: usize,
    pub(super) frames: Option<Gc<FrameSlabObj>>,
    frame_count: usize,
    /// Open upvalues of this stack, sorted by slot.
    pub(super) open_upvalues: Option<Gc<ListObj>>,
    /// The coroutine's return value once Done.
    pub(super) result: Value,
    /// Coroutines blocked in `join()` on this one.
    pub(super) joiners: WaitQueue,
    /// The next coroutine in the wait queue this one is parked in (a
    /// channel's receivers or senders, or another coroutine's joiners).
    pub(super) wait_next: Option<Gc<CoroutineObj>>,
    /// Its body is a native call with no Lox frame (`spawn ch.recv()`, a
    /// native finalizer) that parked: when it resumes, the value on top of
    /// its stack is that call's result.
    native_wait: bool,
    /// Where it was started, for an error raised with no Lox frame on its
    /// stack: the `spawn` of a native body, or, on the finalizer coroutine,
    /// the `setFinalizer` of the finalizer running now (an `Origin`, kept
    /// as its two fields: only the function is a pointer).
    pub(super) origin_function: Option<Gc<super::FunctionObj>>,
    origin_line: u32,
    /// A value a blocked sender is offering (`send`).
    pub(super) offer: Value,
    /// A runtime error to raise when it next runs (a sender on a channel
    /// that was closed under it).
    fail_on_resume: bool,
    /// Wall-clock wake time (ns since VM start) while Sleeping.
    wake_at: u64,
    /// Whose wait queue it is in while Blocked (`blocked_on`): a channel
    /// or a coroutine, traced, so the queue's owner stays alive while it
    /// waits.
    pub(super) blocked_target: Value,
    /// Position in the scheduler's registry of unfinished coroutines.
    registry_index: usize,
    /// Spawn order: makes traces and debugging deterministic.
    pub id: u64,
}
impl HeapObject for CoroutineObj {
    const KIND: ObjKind = ObjKind::Coroutine;
}
impl CoroutineObj {
    pub const SIZE: usize = size_of::<CoroutineObj>();
}

impl Fresh {
    pub fn init_coroutine(self, id: u64) -> Gc<CoroutineObj> {
        self.init(CoroutineObj {
            header: Header::new(ObjKind::Coroutine, 0),
            state: CoState::Fresh,
            blocked_on: BlockedOn::Nothing,
            scan: ScanState::new(),
            stack: None,
            sp: 0,
            frames: None,
            frame_count: 0,
            open_upvalues: None,
            result: Value::NIL,
            joiners: WaitQueue::EMPTY,
            wait_next: None,
            native_wait: false,
            origin_function: None,
            origin_line: 0,
            offer: Value::NIL,
            fail_on_resume: false,
            wake_at: 0,
            blocked_target: Value::NIL,
            registry_index: usize::MAX,
            id,
        })
    }
}

/// Raw-pointer getters and setters for the fields of a heap object whose
/// fields change while other handles to it exist. Fields that hold heap
/// pointers (`ptr`) are set through the mutator's [`WriteBarrier`].
macro_rules! field_accessors {
    ($obj:ty {
        $(data $get:ident / $set:ident : $ty:ty;)*
        $(ptr $pget:ident / $pset:ident : $pty:ty;)*
    }) => {
        impl Gc<$obj> {
            $(
                #[inline(always)]
                pub fn $get(self) -> $ty {
                    // SAFETY: ROOTED; a raw read (fields change while other
                    // handles to the object exist).
                    unsafe { addr_of!((*self.raw()).$get).read() }
                }

                #[inline(always)]
                pub fn $set(self, v: $ty) {
                    // SAFETY: ROOTED; a raw write, no reference to the field
                    // is live (all access goes through these accessors).
                    unsafe { addr_of_mut!((*self.raw()).$get).write(v) }
                }
            )*
            $(
                #[inline(always)]
                pub fn $pget(self) -> $pty {
                    // SAFETY: as for the data fields.
                    unsafe { addr_of!((*self.raw()).$pget).read() }
                }

                #[inline(always)]
                pub fn $pset(self, wb: &mut WriteBarrier, v: $pty) {
                    // SAFETY: ROOTED; the field is aligned and no reference
                    // to it is live (all access goes through these
                    // accessors).
                    unsafe { wb.write(addr_of_mut!((*self.raw()).$pget), v) }
                }
            )*
        }
    };
}

field_accessors! {
    CoroutineObj {
        data state / set_state: CoState;
        data sp / set_sp: usize;
        data frame_count / set_frame_count: usize;
        data native_wait / set_native_wait: bool;
        data fail_on_resume / set_fail_on_resume: bool;
        data wake_at / set_wake_at: u64;
        data blocked_on / set_blocked_on: BlockedOn;
        data registry_index / set_registry_index: usize;
        data origin_line / set_origin_line: u32;
        ptr stack / set_stack: Option<Gc<StackSlabObj>>;
        ptr frames / set_frames: Option<Gc<FrameSlabObj>>;
        ptr open_upvalues / set_open_upvalues: Option<Gc<ListObj>>;
        ptr result / set_result: Value;
        ptr wait_next / set_wait_next: Option<Gc<CoroutineObj>>;
        ptr origin_function / set_origin_function: Option<Gc<super::FunctionObj>>;
        ptr offer / set_offer: Value;
        ptr blocked_target / set_blocked_target: Value;
    }
}

impl Gc<CoroutineObj> {
    /// Where it was started (see the field).
    pub fn origin(self) -> Origin {
        Origin {
            function: self.origin_function(),
            line: self.origin_line(),
        }
    }

    pub fn set_origin(self, wb: &mut WriteBarrier, origin: Origin) {
        self.set_origin_function(wb, origin.function);
        self.set_origin_line(origin.line);
    }

    /// Coroutines blocked in `join()` on this one, oldest first.
    pub fn joiners(self) -> WaitQueueLoc {
        // SAFETY: ROOTED; the field lives inside the coroutine's block.
        WaitQueueLoc(unsafe { NonNull::new_unchecked(addr_of_mut!((*self.raw()).joiners)) })
    }

    /// The scan status word (SCAN_ONCE): claim it before scanning the
    /// stack. The reference lives as long as the caller keeps the
    /// coroutine reachable (ROOTED).
    pub fn scan_state<'a>(self) -> &'a ScanState {
        // SAFETY: ROOTED, so the block is live for as long as the caller
        // uses the reference; `scan` was written by `init_coroutine` (INIT)
        // and is only ever accessed through this shared reference (an
        // atomic: shared access from several parties is its purpose; no
        // raw accessor writes over it).
        unsafe { &*addr_of!((*self.raw()).scan) }
    }

    /// Value slot `i` of this (not running) coroutine's stack.
    pub fn slot(self, i: usize) -> Value {
        match self.stack() {
            Some(s) if i < self.sp() => s.live(self.sp())[i],
            _ => Value::NIL,
        }
    }

    /// Writes slot `i` of this parked coroutine's stack: a store into
    /// another coroutine's stack, which the barrier sees (the running
    /// coroutine writes its own through its `Stack` view).
    pub fn set_slot(self, wb: &mut WriteBarrier, i: usize, v: Value) {
        if let Some(s) = self.stack() {
            assert!(i < self.sp(), "slot above a parked coroutine's stack");
            // SAFETY: ROOTED; `i < sp <= capacity` (asserted), a written,
            // aligned slot of the slab; the coroutine is not running, so no
            // view aliases it.
            unsafe { wb.write(s.base().add(i), v) };
        }
    }
}

// ---------------------------------------------------------------- channels

/// A channel: a ring buffer of `capacity` values (none when unbuffered)
/// and the coroutines blocked on it.
#[repr(C)]
pub struct ChannelObj {
    header: Header,
    capacity: usize,
    closed: bool,
    /// Ring buffer storage, allocated on first use and grown by doubling
    /// up to `capacity` (so `Channel(n)` costs nothing until values are
    /// buffered); its length is the ring's size.
    pub(super) buffer: Option<Gc<super::ValueArrayObj>>,
    head: usize,
    count: usize,
    /// Blocked receivers and blocked senders.
    recvq: WaitQueue,
    sendq: WaitQueue,
}
impl HeapObject for ChannelObj {
    const KIND: ObjKind = ObjKind::Channel;
}
impl ChannelObj {
    pub const SIZE: usize = size_of::<ChannelObj>();
}

impl Fresh {
    pub fn init_channel(self, capacity: usize) -> Gc<ChannelObj> {
        self.init(ChannelObj {
            header: Header::new(ObjKind::Channel, 0),
            capacity,
            closed: false,
            buffer: None,
            head: 0,
            count: 0,
            recvq: WaitQueue::EMPTY,
            sendq: WaitQueue::EMPTY,
        })
    }
}

field_accessors! {
    ChannelObj {
        data capacity / set_capacity: usize;
        data closed / set_closed: bool;
        data head / set_head: usize;
        data count / set_count: usize;
        ptr buffer / set_buffer: Option<Gc<super::ValueArrayObj>>;
    }
}

impl Gc<ChannelObj> {
    /// Coroutines blocked in `recv`, oldest first.
    pub fn recvq(self) -> WaitQueueLoc {
        // SAFETY: ROOTED; the field lives inside the channel's block.
        WaitQueueLoc(unsafe { NonNull::new_unchecked(addr_of_mut!((*self.raw()).recvq)) })
    }

    /// Coroutines blocked in `send`, oldest first.
    pub fn sendq(self) -> WaitQueueLoc {
        // SAFETY: as `recvq`.
        WaitQueueLoc(unsafe { NonNull::new_unchecked(addr_of_mut!((*self.raw()).sendq)) })
    }
}

// ------------------------------------------------------------ wait queues

/// A FIFO of parked coroutines, linked through their `wait_next` field
/// (Go's `waitq` of sudogs): push and pop are O(1) and allocate nothing,
/// so a million coroutines blocked on one channel cost a million times
/// one. A coroutine is in at most one wait queue at a time, because it is
/// parked on exactly one operation (a send, a receive or a join).
#[derive(Clone, Copy)]
#[repr(C)]
pub struct WaitQueue {
    pub(super) head: Option<Gc<CoroutineObj>>,
    pub(super) tail: Option<Gc<CoroutineObj>>,
}

impl WaitQueue {
    pub const EMPTY: WaitQueue = WaitQueue {
        head: None,
        tail: None,
    };
}

/// Where a [`WaitQueue`] lives (inside a channel or a coroutine): a
/// copyable pointer, valid while its owner is (ROOTED), as `TableLoc`.
#[derive(Clone, Copy)]
pub struct WaitQueueLoc(NonNull<WaitQueue>);

impl WaitQueueLoc {
    fn read(self) -> WaitQueue {
        // SAFETY: ROOTED (the owner is alive); a raw read of the two
        // handles, no reference to the field outlives this call.
        unsafe { self.0.as_ptr().read() }
    }

    fn write(self, wb: &mut WriteBarrier, q: WaitQueue) {
        // SAFETY: as `read`; the field is aligned; the VM thread is the
        // only writer.
        unsafe { wb.write(self.0.as_ptr(), q) }
    }

    pub fn is_empty(self) -> bool {
        self.read().head.is_none()
    }

    /// Appends `co`, which must not be in any wait queue.
    pub fn push_back(self, wb: &mut WriteBarrier, co: Gc<CoroutineObj>) {
        co.set_wait_next(wb, None);
        let mut q = self.read();
        match q.tail {
            Some(t) => t.set_wait_next(wb, Some(co)),
            None => q.head = Some(co),
        }
        q.tail = Some(co);
        self.write(wb, q);
    }

    /// Removes and returns the oldest coroutine.
    pub fn pop_front(self, wb: &mut WriteBarrier) -> Option<Gc<CoroutineObj>> {
        let mut q = self.read();
        let co = q.head?;
        q.head = co.wait_next();
        if q.head.is_none() {
            q.tail = None;
        }
        co.set_wait_next(wb, None);
        self.write(wb, q);
        Some(co)
    }

    /// Takes `co` out of the queue wherever it is (O(length): only a REPL
    /// input that is stopped while blocked needs it). False if it was not
    /// in this queue.
    pub fn remove(self, wb: &mut WriteBarrier, co: Gc<CoroutineObj>) -> bool {
        let mut q = self.read();
        let mut prev: Option<Gc<CoroutineObj>> = None;
        let mut at = q.head;
        while let Some(c) = at {
            if c == co {
                let next = c.wait_next();
                match prev {
                    Some(p) => p.set_wait_next(wb, next),
                    None => q.head = next,
                }
                if q.tail == Some(c) {
                    q.tail = prev;
                }
                c.set_wait_next(wb, None);
                self.write(wb, q);
                return true;
            }
            prev = at;
            at = c.wait_next();
        }
        false
    }

    /// Marks the queue's first and last coroutines; the ones between are
    /// reached through `wait_next` (each coroutine marks its successor).
    /// Reads as a concurrent marker must (`load_shared`).
    pub fn mark(self, m: &mut gc::Marker<'_>) {
        // SAFETY: ROOTED (the owner is alive); the field is written only
        // through the barrier.
        let q = unsafe { super::barrier::load_shared(self.0.as_ptr()) };
        for c in [q.head, q.tail].into_iter().flatten() {
            m.mark(c.as_ref().ptr());
        }
    }
}

// ----------------------------------------------------------------- origins

/// Where a frameless piece of work was started, as one line of a stack
/// trace: a function (`None` inside: the script) and a line. Errors raised
/// with no Lox frame on the stack (a spawned native, a native finalizer, a
/// finalizer's arity error) are reported at their origin, in clox's
/// `[line N] in f()` form.
#[derive(Clone, Copy)]
#[repr(C)]
pub struct Origin {
    pub function: Option<Gc<super::FunctionObj>>,
    /// 0: no origin.
    pub line: u32,
}

impl Origin {
    pub const NONE: Origin = Origin {
        function: None,
        line: 0,
    };
}
