//! The object-access layer: every heap object's layout, and all of `vm`'s
//! `unsafe` code.
//!
//! Objects are blocks from the `gc` heap. Word 0 is a [`Header`] whose first
//! byte is the [`ObjKind`]; the rest is the `#[repr(C)]` struct of that kind,
//! sometimes followed by inline trailing data (string bytes, closure
//! upvalues, array elements). The collector knows none of this: it sees
//! untyped blocks and asks [`blacken`] for their edges.
//!
//! # The invariant everything here relies on
//!
//! **ROOTED**: at every safepoint (every call to `Vm::alloc`, which may
//! collect) every object the interpreter will use afterwards is reachable
//! from the roots (`roots.rs`): the value stack, frames, open upvalues,
//! globals, the temp-root stack, the loaded prototypes. An object is freed
//! only by a sweep after a mark that did not reach it, so a handle obeying
//! ROOTED always points at a live, initialised object of the kind its type
//! says. Handles (`ObjRef`, `Gc<T>`) are plain `Copy` pointers; they carry
//! no lifetime, so ROOTED is kept by the interpreter's discipline and
//! checked by `--gc-stress --gc-verify --gc-poison` runs of the test corpus.
//!
//! **INIT**: an object's kind byte is written in the same `init_*` call that
//! writes all its fields, before the `Fresh` block becomes a handle, so no
//! handle ever sees an uninitialised object.
#![allow(unsafe_code)]

mod barrier;
mod coroutine;
mod layout;
mod roots;
mod table;

pub use barrier::WriteBarrier;
pub use coroutine::*;
pub use layout::*;
pub(crate) use roots::{scan_coroutine, scan_once_violation};
pub use roots::{Roots, VmTracer};
pub use table::{Entry, Table, TableLoc};

use gc::{AllocError, Heap, Marker, ObjPtr};
use std::marker::PhantomData;
use std::ptr::NonNull;

use crate::value::Value;

/// What a heap block is. Stored in the first byte of the header.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[repr(u8)]
pub enum ObjKind {
    String = 1,
    Function = 2,
    Closure = 3,
    Upvalue = 4,
    Class = 5,
    Instance = 6,
    BoundMethod = 7,
    Native = 8,
    /// Raw bytes: a function's code and line table.
    Bytes = 9,
    /// A fixed-length array of values: a function's constants.
    ValueArray = 10,
    /// The slot array of a [`Table`].
    Entries = 11,
    List = 12,
    Map = 13,
    /// A native method bound to its receiver (`xs.push`).
    BoundNative = 14,
    Coroutine = 15,
    Channel = 16,
    /// A coroutine's value stack storage (traced by the coroutine).
    StackSlab = 17,
    /// A coroutine's frame stack storage (traced by the coroutine).
    FrameSlab = 18,
    /// What `setFinalizer` registers with the collector: the finalizer
    /// and where it was set.
    Finalizer = 19,
}

impl ObjKind {
    fn from_byte(b: u8) -> Option<ObjKind> {
        use ObjKind::*;
        Some(match b {
            1 => String,
            2 => Function,
            3 => Closure,
            4 => Upvalue,
            5 => Class,
            6 => Instance,
            7 => BoundMethod,
            8 => Native,
            9 => Bytes,
            10 => ValueArray,
            11 => Entries,
            12 => List,
            13 => Map,
            14 => BoundNative,
            15 => Coroutine,
            16 => Channel,
            17 => StackSlab,
            18 => FrameSlab,
            19 => Finalizer,
            _ => return None,
        })
    }
}

/// Word 0 of every object.
#[derive(Clone, Copy)]
#[repr(C)]
pub struct Header {
    kind: ObjKind,
    _pad: [u8; 3],
    /// Kind-specific 32 bits: a string's hash, a closure's upvalue count.
    aux: u32,
}

impl Header {
    fn new(kind: ObjKind, aux: u32) -> Header {
        Header {
            kind,
            _pad: [0; 3],
            aux,
        }
    }
}

/// An untyped handle to a live heap object (see ROOTED).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
#[repr(transparent)]
pub struct ObjRef(NonNull<Header>);

impl ObjRef {
    #[inline(always)]
    pub fn addr(self) -> usize {
        self.0.as_ptr() as usize
    }

    #[inline(always)]
    pub(crate) fn from_addr(addr: usize) -> Option<ObjRef> {
        NonNull::new(addr as *mut Header).map(ObjRef)
    }

    #[inline(always)]
    pub fn kind(self) -> ObjKind {
        // SAFETY: ROOTED + INIT: the handle points at a live object whose
        // header was written by its `init_*` call.
        unsafe { (*self.0.as_ptr()).kind }
    }

    #[inline(always)]
    pub fn ptr(self) -> ObjPtr {
        self.0.cast()
    }

    #[inline(always)]
    pub fn from_ptr(p: ObjPtr) -> ObjRef {
        ObjRef(p.cast())
    }

    /// A typed handle if the kind matches.
    #[inline(always)]
    pub fn downcast<T: HeapObject>(self) -> Option<Gc<T>> {
        if self.kind() == T::KIND {
            Some(Gc::from_ref_unchecked(self))
        } else {
            None
        }
    }

    /// The object as a typed handle of its kind: match on it instead of
    /// checking a kind and casting.
    #[inline(always)]
    pub fn view(self) -> View {
        macro_rules! view {
            ($($kind:ident),*) => {
                match self.kind() {
                    $(ObjKind::$kind => View::$kind(Gc::from_ref_unchecked(self)),)*
                }
            };
        }
        view!(
            String,
            Function,
            Closure,
            Upvalue,
            Class,
            Instance,
            BoundMethod,
            Native,
            Bytes,
            ValueArray,
            Entries,
            List,
            Map,
            BoundNative,
            Coroutine,
            Channel,
            StackSlab,
            FrameSlab,
            Finalizer
        )
    }

    /// Reads the kind byte without trusting it (verify mode).
    pub fn kind_checked(self) -> Option<ObjKind> {
        // SAFETY: only called on pointers the collector has just validated
        // as the start of an allocated slot (MARK_BAD_POINTER in gc), whose
        // first byte is therefore readable memory.
        ObjKind::from_byte(unsafe { *(self.0.as_ptr() as *const u8) })
    }
}

/// A live object as the typed handle of its kind ([`ObjRef::view`]).
#[derive(Clone, Copy)]
pub enum View {
    String(Gc<StringObj>),
    Function(Gc<FunctionObj>),
    Closure(Gc<ClosureObj>),
    Upvalue(Gc<UpvalueObj>),
    Class(Gc<ClassObj>),
    Instance(Gc<InstanceObj>),
    BoundMethod(Gc<BoundMethodObj>),
    Native(Gc<NativeObj>),
    Bytes(Gc<BytesObj>),
    ValueArray(Gc<ValueArrayObj>),
    Entries(Gc<EntriesObj>),
    List(Gc<ListObj>),
    Map(Gc<MapObj>),
    BoundNative(Gc<BoundNativeObj>),
    Coroutine(Gc<CoroutineObj>),
    Channel(Gc<ChannelObj>),
    StackSlab(Gc<StackSlabObj>),
    FrameSlab(Gc<FrameSlabObj>),
    Finalizer(Gc<FinalizerObj>),
}

/// Implemented by every `#[repr(C)]` object struct, naming its kind.
pub trait HeapObject {
    const KIND: ObjKind;
}

/// A typed handle to a live object of kind `T::KIND` (see ROOTED).
#[repr(transparent)]
pub struct Gc<T> {
    ptr: NonNull<T>,
    _t: PhantomData<*const T>,
}

impl<T> Clone for Gc<T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for Gc<T> {}
impl<T> PartialEq for Gc<T> {
    fn eq(&self, other: &Self) -> bool {
        self.ptr == other.ptr
    }
}
impl<T> Eq for Gc<T> {}

impl<T: HeapObject> Gc<T> {
    /// Only for callers that checked the kind (or created the object);
    /// private to the object layer, whose [`ObjRef::view`] is the checked
    /// way in for everyone else.
    #[inline(always)]
    pub(in crate::object) fn from_ref_unchecked(r: ObjRef) -> Gc<T> {
        debug_assert_eq!(r.kind(), T::KIND);
        Gc {
            ptr: r.0.cast(),
            _t: PhantomData,
        }
    }

    #[inline(always)]
    pub fn as_ref(self) -> ObjRef {
        ObjRef(self.ptr.cast())
    }

    #[inline(always)]
    pub fn value(self) -> Value {
        Value::obj(self.as_ref())
    }

    #[inline(always)]
    fn raw(self) -> *mut T {
        self.ptr.as_ptr()
    }
}

impl Gc<StringObj> {
    /// The string a verified name operand holds.
    #[inline(always)]
    pub fn verified_string(v: Value) -> Gc<StringObj> {
        debug_assert!(
            v.is_kind(ObjKind::String),
            "VERIFIED: not a string constant"
        );
        let addr = (v.bits() & 0x0000_ffff_ffff_ffff) as usize;
        Gc {
            // SAFETY: VERIFIED (verify.rs): every name operand of verified
            // code indexes a string constant, so `v` is an object value
            // whose low 48 bits are a live string's non-null address.
            ptr: unsafe { NonNull::new_unchecked(addr as *mut StringObj) },
            _t: PhantomData,
        }
    }
}

impl<T> std::ops::Deref for Gc<T> {
    type Target = T;
    #[inline(always)]
    fn deref(&self) -> &T {
        // SAFETY: ROOTED: a `Gc<T>` points at a live, initialised `T`. The
        // shared borrow lasts as long as the handle's borrow; object fields
        // that change after creation are written only through `set_*`
        // methods that never overlap such a borrow of the same field.
        unsafe { self.ptr.as_ref() }
    }
}

/// A freshly allocated, uninitialised block: the only thing `init_*` takes,
/// so a handle can be made only from memory that `alloc` just returned.
pub struct Fresh {
    ptr: ObjPtr,
    size: usize,
}

/// Allocates `size` bytes from the heap. Never collects: the VM decides when
/// to collect before calling this (it alone knows the roots).
pub fn alloc(heap: &mut Heap, size: usize) -> Result<Fresh, AllocError> {
    let ptr = heap.alloc(size)?;
    Ok(Fresh { ptr, size })
}

impl Fresh {
    /// Writes `obj` at the start of the block and returns its handle.
    fn init<T: HeapObject>(self, obj: T) -> Gc<T> {
        debug_assert!(std::mem::size_of::<T>() <= self.size);
        let p = self.ptr.cast::<T>();
        // SAFETY: `self.ptr` is a fresh block of `self.size >= size_of::<T>()`
        // bytes, 8-aligned (gc's alloc contract), that nothing else refers
        // to yet; every T here has alignment 8.
        unsafe { p.as_ptr().write(obj) };
        Gc {
            ptr: p,
            _t: PhantomData,
        }
    }

    /// Pointer to byte `offset` of the block, for writing trailing data.
    fn tail<U>(&self, offset: usize, count: usize) -> *mut U {
        debug_assert!(offset + count * std::mem::size_of::<U>() <= self.size);
        // SAFETY: offset is within the block (asserted above in debug
        // builds; every caller computes it from the same size formula it
        // allocated with).
        unsafe { self.ptr.as_ptr().add(offset).cast::<U>() }
    }
}

/// Reads field `$f` of the object behind `$g` as a concurrent marker must.
macro_rules! shared {
    ($g:expr, $f:ident) => {{
        let g = $g;
        // SAFETY: ROOTED (the marker traces live objects only); the field
        // is aligned and written only through the barrier, or before the
        // object was published.
        unsafe { barrier::load_shared(std::ptr::addr_of!((*g.raw()).$f)) }
    }};
}

/// Marks every object `obj` refers to: the embedder half of tracing. Safe
/// to run on the mark worker while the mutator runs: every field the
/// mutator may change is read with `load_shared` (the mutator stores it
/// through the barrier), and fields that never change after `init_*` are
/// read plainly. A coroutine's stack is read only by whoever holds its
/// scan claim (`roots.rs`), when it is not running.
pub fn blacken(obj: ObjRef, m: &mut Marker<'_>) {
    let mark_val = |m: &mut Marker<'_>, v: Value| {
        if let Some(o) = v.as_obj() {
            m.mark(o.ptr());
        }
    };
    let mark_opt = |m: &mut Marker<'_>, o: Option<ObjRef>| {
        if let Some(o) = o {
            m.mark(o.ptr());
        }
    };
    match obj.view() {
        View::Upvalue(u) => {
            mark_val(m, shared!(u, closed));
            mark_opt(m, shared!(u, owner).map(Gc::as_ref));
        }
        // Their live parts are scanned by the owning coroutine.
        View::StackSlab(_) | View::FrameSlab(_) => {}
        View::Coroutine(c) => {
            // Under the scan claim: the coroutine is not running, so its own
            // fields (stacks, heights, frames) are still; others may store
            // into its stack, result, offer and queue links meanwhile.
            if let Some(s) = c.stack() {
                m.mark(s.as_ref().ptr());
                for i in 0..c.sp() {
                    mark_val(m, s.slot_shared(i));
                }
            }
            if let Some(f) = c.frames() {
                m.mark(f.as_ref().ptr());
                for frame in f.live(c.frame_count()) {
                    m.mark(frame.closure.as_ref().ptr());
                }
            }
            mark_opt(m, shared!(c, open_upvalues).map(Gc::as_ref));
            c.joiners().mark(m);
            mark_opt(m, shared!(c, wait_next).map(Gc::as_ref));
            mark_opt(m, shared!(c, origin_function).map(Gc::as_ref));
            mark_val(m, shared!(c, result));
            mark_val(m, shared!(c, offer));
            mark_val(m, shared!(c, blocked_target));
        }
        View::Channel(ch) => {
            mark_opt(m, shared!(ch, buffer).map(Gc::as_ref));
            ch.recvq().mark(m);
            ch.sendq().mark(m);
        }
        View::String(_) | View::Bytes(_) => {}
        View::Function(f) => {
            m.mark(f.code.as_ref().ptr());
            m.mark(f.lines.as_ref().ptr());
            m.mark(f.constants.as_ref().ptr());
            m.mark(f.global_slots.as_ref().ptr());
            mark_opt(m, f.name.map(Gc::as_ref));
        }
        View::Closure(c) => {
            m.mark(c.function.as_ref().ptr());
            for u in c.upvalues() {
                m.mark(u.as_ref().ptr());
            }
        }
        View::Class(c) => {
            m.mark(c.name.as_ref().ptr());
            c.methods_loc().mark_entries(m);
        }
        View::Instance(i) => {
            m.mark(i.class.as_ref().ptr());
            i.fields_loc().mark_entries(m);
        }
        View::BoundMethod(b) => {
            mark_val(m, b.receiver);
            m.mark(b.method.as_ref().ptr());
        }
        View::Native(n) => m.mark(n.name.as_ref().ptr()),
        View::ValueArray(a) => {
            for i in 0..a.len() {
                mark_val(m, a.get_shared(i));
            }
        }
        View::List(l) => mark_opt(m, shared!(l, items).map(Gc::as_ref)),
        View::Map(map) => {
            mark_opt(m, shared!(map, entries).map(Gc::as_ref));
            mark_opt(m, shared!(map, index).map(Gc::as_ref));
        }
        View::BoundNative(b) => {
            mark_val(m, b.receiver);
            m.mark(b.native.as_ref().ptr());
        }
        View::Entries(e) => {
            for i in 0..e.capacity() {
                let entry = e.get_shared(i);
                if let Some(k) = entry.key {
                    m.mark(k.as_ref().ptr());
                    mark_val(m, entry.value);
                }
            }
        }
        View::Finalizer(f) => {
            mark_val(m, f.function);
            mark_opt(m, f.origin.function.map(Gc::as_ref));
        }
    }
}
