//! The `#[repr(C)]` layout of each object kind, its constructor and its
//! field accessors.

use super::{Fresh, Gc, Header, HeapObject, ObjKind, Table, TableLoc, WriteBarrier};
use crate::value::Value;
use std::mem::size_of;
use std::ptr::{addr_of, addr_of_mut};

// ---------------------------------------------------------------- strings

/// An immutable, interned byte string. Bytes follow the struct.
#[repr(C)]
pub struct StringObj {
    header: Header,
    len: usize,
}
impl HeapObject for StringObj {
    const KIND: ObjKind = ObjKind::String;
}

impl StringObj {
    pub fn size_for(len: usize) -> usize {
        size_of::<StringObj>() + len
    }
}

impl Fresh {
    pub fn init_string(self, bytes: &[u8], hash: u32) -> Gc<StringObj> {
        let data = self.tail::<u8>(size_of::<StringObj>(), bytes.len());
        // SAFETY: `data` has room for `bytes.len()` bytes (the block was
        // allocated with `StringObj::size_for(bytes.len())`); `bytes` is a
        // Rust slice, which cannot overlap a block nothing refers to yet.
        unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), data, bytes.len()) };
        self.init(StringObj {
            header: Header::new(ObjKind::String, hash),
            len: bytes.len(),
        })
    }

    /// A string made of `a` then `b`, without an intermediate Rust buffer.
    pub fn init_concat(self, a: &[u8], b: &[u8], hash: u32) -> Gc<StringObj> {
        let data = self.tail::<u8>(size_of::<StringObj>(), a.len() + b.len());
        // SAFETY: as in `init_string`, for `a.len() + b.len()` bytes; the two
        // copies write disjoint ranges.
        unsafe {
            std::ptr::copy_nonoverlapping(a.as_ptr(), data, a.len());
            std::ptr::copy_nonoverlapping(b.as_ptr(), data.add(a.len()), b.len());
        }
        self.init(StringObj {
            header: Header::new(ObjKind::String, hash),
            len: a.len() + b.len(),
        })
    }
}

impl Gc<StringObj> {
    #[inline(always)]
    pub fn hash(self) -> u32 {
        self.header.aux
    }

    #[inline(always)]
    pub fn len(self) -> usize {
        self.len
    }

    #[inline(always)]
    pub fn is_empty(self) -> bool {
        self.len == 0
    }

    /// The bytes. The slice is valid while the string is (ROOTED); callers
    /// do not keep it across a safepoint unless the string stays rooted.
    #[inline(always)]
    pub fn as_bytes<'a>(self) -> &'a [u8] {
        // SAFETY: ROOTED; `len` bytes follow the struct (INIT) and strings
        // are immutable after creation.
        unsafe {
            std::slice::from_raw_parts(
                (self.raw() as *const u8).add(size_of::<StringObj>()),
                self.len,
            )
        }
    }
}

pub use crate::hash::{hash_bytes, hash_concat};

// ---------------------------------------------------------- raw arrays

/// Bytes of a function's code, or its line table (u32 little-endian).
#[repr(C)]
pub struct BytesObj {
    header: Header,
    len: usize,
}
impl HeapObject for BytesObj {
    const KIND: ObjKind = ObjKind::Bytes;
}
impl BytesObj {
    pub fn size_for(len: usize) -> usize {
        size_of::<BytesObj>() + len
    }
}

impl Fresh {
    pub fn init_bytes(self, bytes: &[u8]) -> Gc<BytesObj> {
        let data = self.tail::<u8>(size_of::<BytesObj>(), bytes.len());
        // SAFETY: room for `bytes.len()` bytes, see `init_string`.
        unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), data, bytes.len()) };
        self.init(BytesObj {
            header: Header::new(ObjKind::Bytes, 0),
            len: bytes.len(),
        })
    }
}

/// The interpreter's read position in a function's verified code: a raw
/// pointer, as clox's `frame->ip`, saved as an offset in the frame.
#[derive(Clone, Copy)]
pub struct Ip {
    ptr: *const u8,
}

impl Ip {
    #[inline(always)]
    pub fn new(code: Gc<BytesObj>, offset: usize) -> Ip {
        debug_assert!(offset <= code.len);
        // SAFETY: ROOTED (the frame's closure keeps `code` alive);
        // `offset <= len` (a saved ip, or 0), so the pointer is within the
        // block or one past its bytes.
        let start = unsafe { (code.raw() as *const u8).add(size_of::<BytesObj>()) };
        Ip {
            // SAFETY: as above.
            ptr: unsafe { start.add(offset) },
        }
    }

    /// The next code byte.
    #[inline(always)]
    pub fn next(&mut self) -> u8 {
        // SAFETY: VERIFIED: the interpreter reads only instruction and
        // operand bytes the verifier found inside this function's code, so
        // `ptr` points at one of them.
        unsafe {
            let b = *self.ptr;
            self.ptr = self.ptr.add(1);
            b
        }
    }

    /// The byte `k` places after the next one, without moving: an operand
    /// of a quickened sequence.
    #[inline(always)]
    pub fn at(self, k: usize) -> u8 {
        // SAFETY: VERIFIED and QUICKEN_EQUIV (vm/src/quicken.rs): a fused
        // opcode stands only at the start of a straight-line sequence the
        // verifier reached, and reads only the operand bytes of that
        // sequence, all inside the code.
        unsafe { *self.ptr.add(k) }
    }

    /// A forward jump (VERIFIED: the target is inside the code).
    #[inline(always)]
    pub fn forward(&mut self, n: usize) {
        self.ptr = self.ptr.wrapping_add(n);
    }

    /// A backward jump (VERIFIED: the target is inside the code).
    #[inline(always)]
    pub fn back(&mut self, n: usize) {
        self.ptr = self.ptr.wrapping_sub(n);
    }

    /// The offset in `code` (the function it reads) saved in the frame.
    #[inline(always)]
    pub fn offset(self, code: Gc<BytesObj>) -> usize {
        let start = code.raw() as usize + size_of::<BytesObj>();
        (self.ptr as usize).wrapping_sub(start)
    }
}

impl Gc<BytesObj> {
    #[inline(always)]
    pub fn len(self) -> usize {
        self.len
    }

    /// Little-endian u32 number `i` (a map's index slots).
    #[inline(always)]
    pub fn get_u32(self, i: usize) -> u32 {
        let b = &self.as_slice()[i * 4..i * 4 + 4];
        u32::from_le_bytes([b[0], b[1], b[2], b[3]])
    }

    pub fn set_u32(self, i: usize, v: u32) {
        assert!(i * 4 + 4 <= self.len, "u32 index out of range");
        // SAFETY: ROOTED; the four bytes are inside the block (asserted);
        // no slice of this array is alive across the write.
        unsafe {
            std::ptr::copy_nonoverlapping(
                v.to_le_bytes().as_ptr(),
                (self.raw() as *mut u8).add(size_of::<BytesObj>() + i * 4),
                4,
            )
        };
    }

    /// Byte `i` of verified code.
    #[inline(always)]
    pub fn code_byte(self, i: usize) -> u8 {
        debug_assert!(i < self.len, "VERIFIED: code read past the end");
        // SAFETY: VERIFIED (verify.rs): the interpreter reads only
        // instruction and operand offsets the verifier found inside the
        // code of this function.
        unsafe { *(self.raw() as *const u8).add(size_of::<BytesObj>() + i) }
    }

    #[inline(always)]
    pub fn as_slice<'a>(self) -> &'a [u8] {
        // SAFETY: ROOTED; `len` bytes follow the struct; immutable.
        unsafe {
            std::slice::from_raw_parts(
                (self.raw() as *const u8).add(size_of::<BytesObj>()),
                self.len,
            )
        }
    }
}

/// A fixed-length array of values (a function's constants).
#[repr(C)]
pub struct ValueArrayObj {
    header: Header,
    len: usize,
}
impl HeapObject for ValueArrayObj {
    const KIND: ObjKind = ObjKind::ValueArray;
}
impl ValueArrayObj {
    pub fn size_for(len: usize) -> usize {
        size_of::<ValueArrayObj>() + len * size_of::<Value>()
    }
}

impl Fresh {
    /// An array of `len` nils.
    pub fn init_value_array(self, len: usize) -> Gc<ValueArrayObj> {
        self.init_value_array_of(len, Value::NIL)
    }

    /// An array of `len` copies of `fill` (not an object: nothing to
    /// shade).
    pub fn init_value_array_of(self, len: usize, fill: Value) -> Gc<ValueArrayObj> {
        assert!(!fill.is_obj(), "a value array filled with an object");
        let data = self.tail::<Value>(size_of::<ValueArrayObj>(), len);
        for i in 0..len {
            // SAFETY: room for `len` values (size_for(len)).
            unsafe { data.add(i).write(fill) };
        }
        self.init(ValueArrayObj {
            header: Header::new(ObjKind::ValueArray, 0),
            len,
        })
    }
}

impl Gc<ValueArrayObj> {
    /// Constant `i` of a verified function.
    #[inline(always)]
    pub fn constant(self, i: usize) -> Value {
        debug_assert!(i < self.len, "VERIFIED: constant index out of range");
        // SAFETY: VERIFIED: every constant operand of verified code indexes
        // the table; INIT wrote every slot.
        unsafe {
            ((self.raw() as *const u8).add(size_of::<ValueArrayObj>()) as *const Value)
                .add(i)
                .read()
        }
    }

    #[inline(always)]
    pub fn as_slice<'a>(self) -> &'a [Value] {
        // SAFETY: ROOTED; `len` initialised values follow the struct (INIT
        // writes nil into each).
        unsafe {
            std::slice::from_raw_parts(
                (self.raw() as *const u8).add(size_of::<ValueArrayObj>()) as *const Value,
                self.len,
            )
        }
    }

    #[inline(always)]
    pub fn len(self) -> usize {
        self.len
    }

    /// Element `i` as a concurrent marker reads it (`load_shared`).
    #[inline(always)]
    pub(super) fn get_shared(self, i: usize) -> Value {
        assert!(i < self.len, "value array index out of range");
        // SAFETY: ROOTED; `i < len`: an aligned slot inside the block,
        // written only through the barrier (or by `init_value_array`
        // before the array was published).
        unsafe {
            super::barrier::load_shared(
                ((self.raw() as *const u8).add(size_of::<ValueArrayObj>()) as *const Value).add(i),
            )
        }
    }

    #[inline(always)]
    pub fn get(self, i: usize) -> Value {
        self.as_slice()[i]
    }

    /// Copies elements `0..n` of `from` (another array) into this one.
    pub fn copy_prefix_from(self, wb: &mut WriteBarrier, from: Gc<ValueArrayObj>, n: usize) {
        assert!(
            n <= self.len && n <= from.len,
            "value array copy out of range"
        );
        assert!(self.raw() != from.raw(), "value array copied onto itself");
        for i in 0..n {
            self.set(wb, i, from.get(i));
        }
    }

    pub fn set(self, wb: &mut WriteBarrier, i: usize, v: Value) {
        assert!(i < self.len, "value array index out of range");
        // SAFETY: ROOTED; `i < len`, so the slot is inside the block and
        // aligned; no shared slice of this array is alive across this write
        // (readers copy values out).
        unsafe {
            wb.write_item(
                ((self.raw() as *mut u8).add(size_of::<ValueArrayObj>()) as *mut Value).add(i),
                v,
            )
        };
    }

    /// As [`set`](Self::set), a store of a global's slot: the plain
    /// barrier, which the missing-item-barrier seed (list items) leaves
    /// alone, as it left the globals table's stores alone.
    #[inline(always)]
    pub fn set_global(self, wb: &mut WriteBarrier, i: usize, v: Value) {
        assert!(i < self.len, "value array index out of range");
        // SAFETY: as `set`.
        unsafe {
            wb.write(
                ((self.raw() as *mut u8).add(size_of::<ValueArrayObj>()) as *mut Value).add(i),
                v,
            )
        };
    }
}

// ------------------------------------------------------------ functions

/// A function prototype loaded into the heap.
#[repr(C)]
pub struct FunctionObj {
    header: Header,
    pub arity: u32,
    pub upvalue_count: u32,
    /// The verifier's bound on the frame's height (STACK_RESERVED).
    pub max_stack: usize,
    pub code: Gc<BytesObj>,
    /// One little-endian u32 line per code byte.
    pub lines: Gc<BytesObj>,
    pub constants: Gc<ValueArrayObj>,
    /// The global slot (`Mutator::global_slot`) of each constant that a
    /// reached `GET_GLOBAL`, `SET_GLOBAL` or `DEFINE_GLOBAL` names, one
    /// little-endian u32 per constant (`u32::MAX`: not such a name);
    /// the quickened global instructions read it.
    pub global_slots: Gc<BytesObj>,
    /// `None` for the top-level script.
    pub name: Option<Gc<StringObj>>,
}
impl HeapObject for FunctionObj {
    const KIND: ObjKind = ObjKind::Function;
}

/// Everything a function object holds, gathered before allocating it.
pub struct FunctionParts {
    pub arity: u32,
    pub upvalue_count: u32,
    pub max_stack: usize,
    pub code: Gc<BytesObj>,
    pub lines: Gc<BytesObj>,
    pub constants: Gc<ValueArrayObj>,
    pub global_slots: Gc<BytesObj>,
    pub name: Option<Gc<StringObj>>,
}

impl Fresh {
    pub fn init_function(self, p: FunctionParts) -> Gc<FunctionObj> {
        self.init(FunctionObj {
            header: Header::new(ObjKind::Function, 0),
            arity: p.arity,
            upvalue_count: p.upvalue_count,
            max_stack: p.max_stack,
            code: p.code,
            lines: p.lines,
            constants: p.constants,
            global_slots: p.global_slots,
            name: p.name,
        })
    }
}

impl Gc<FunctionObj> {
    /// The global slot that constant `k` names (`global_slots`).
    #[inline(always)]
    pub fn global_slot(self, k: usize) -> usize {
        self.global_slots.get_u32(k) as usize
    }

    /// Source line of the instruction byte at `offset`.
    pub fn line_at(self, offset: usize) -> u32 {
        let lines = self.lines.as_slice();
        let i = offset * 4;
        match lines.get(i..i + 4) {
            Some(b) => u32::from_le_bytes([b[0], b[1], b[2], b[3]]),
            None => 0,
        }
    }
}

// ------------------------------------------------------------- closures

/// A function plus its captured upvalues, which follow the struct.
#[repr(C)]
pub struct ClosureObj {
    header: Header,
    pub function: Gc<FunctionObj>,
}
impl HeapObject for ClosureObj {
    const KIND: ObjKind = ObjKind::Closure;
}
impl ClosureObj {
    pub fn size_for(upvalues: usize) -> usize {
        size_of::<ClosureObj>() + upvalues * size_of::<Gc<UpvalueObj>>()
    }
}

impl Fresh {
    /// A closure whose upvalue slots are filled by `upvalue(i)`.
    pub fn init_closure(
        self,
        function: Gc<FunctionObj>,
        mut upvalue: impl FnMut(usize) -> Gc<UpvalueObj>,
    ) -> Gc<ClosureObj> {
        let n = function.upvalue_count as usize;
        let data = self.tail::<Gc<UpvalueObj>>(size_of::<ClosureObj>(), n);
        for i in 0..n {
            // SAFETY: room for `n` upvalue handles (size_for(n)).
            unsafe { data.add(i).write(upvalue(i)) };
        }
        self.init(ClosureObj {
            header: Header::new(ObjKind::Closure, n as u32),
            function,
        })
    }
}

impl Gc<ClosureObj> {
    #[inline(always)]
    pub fn upvalues<'a>(self) -> &'a [Gc<UpvalueObj>] {
        // SAFETY: ROOTED; `header.aux` upvalue handles follow the struct and
        // are written once by `init_closure`.
        unsafe {
            std::slice::from_raw_parts(
                (self.raw() as *const u8).add(size_of::<ClosureObj>()) as *const Gc<UpvalueObj>,
                self.header.aux as usize,
            )
        }
    }
}

/// A captured variable. While open it names a stack slot; once closed it
/// holds the value itself.
#[repr(C)]
pub struct UpvalueObj {
    header: Header,
    /// Stack slot while open; `CLOSED` once closed.
    slot: usize,
    pub(super) closed: Value,
    /// The coroutine whose stack `slot` indexes, while open.
    pub(super) owner: Option<Gc<super::CoroutineObj>>,
}
impl HeapObject for UpvalueObj {
    const KIND: ObjKind = ObjKind::Upvalue;
}
impl UpvalueObj {
    pub const CLOSED: usize = usize::MAX;
    pub const SIZE: usize = size_of::<UpvalueObj>();
}

impl Fresh {
    pub fn init_upvalue(self, slot: usize, owner: Gc<super::CoroutineObj>) -> Gc<UpvalueObj> {
        self.init(UpvalueObj {
            header: Header::new(ObjKind::Upvalue, 0),
            slot,
            closed: Value::NIL,
            owner: Some(owner),
        })
    }
}

impl Gc<UpvalueObj> {
    #[inline(always)]
    pub fn slot(self) -> usize {
        // SAFETY: ROOTED; read through a raw pointer because `close` writes
        // this field while other handles exist.
        unsafe { addr_of!((*self.raw()).slot).read() }
    }

    #[inline(always)]
    pub fn closed(self) -> Value {
        // SAFETY: ROOTED; raw read, see `slot`.
        unsafe { addr_of!((*self.raw()).closed).read() }
    }

    #[inline(always)]
    pub fn set_closed(self, wb: &mut WriteBarrier, v: Value) {
        // SAFETY: ROOTED; a raw write with no outstanding reference to the
        // field (all reads go through `closed()`).
        unsafe { wb.write(addr_of_mut!((*self.raw()).closed), v) }
    }

    /// Moves the value off the stack into the upvalue (clox's
    /// `closeUpvalues` for one upvalue).
    pub fn close(self, wb: &mut WriteBarrier, v: Value) {
        // SAFETY: as `set_closed`, for the three fields.
        unsafe {
            wb.write(addr_of_mut!((*self.raw()).closed), v);
            addr_of_mut!((*self.raw()).slot).write(UpvalueObj::CLOSED);
            wb.write(addr_of_mut!((*self.raw()).owner), None);
        }
    }

    #[inline(always)]
    pub fn owner(self) -> Option<Gc<super::CoroutineObj>> {
        // SAFETY: ROOTED; raw read, see `slot`.
        unsafe { addr_of!((*self.raw()).owner).read() }
    }
}

// -------------------------------------------------- classes and instances

#[repr(C)]
pub struct ClassObj {
    header: Header,
    pub name: Gc<StringObj>,
    methods: Table,
}
impl HeapObject for ClassObj {
    const KIND: ObjKind = ObjKind::Class;
}
impl ClassObj {
    pub const SIZE: usize = size_of::<ClassObj>();
}

impl Fresh {
    pub fn init_class(self, name: Gc<StringObj>) -> Gc<ClassObj> {
        self.init(ClassObj {
            header: Header::new(ObjKind::Class, 0),
            name,
            methods: Table::new(),
        })
    }
}

impl Gc<ClassObj> {
    #[inline(always)]
    pub fn methods_loc(self) -> TableLoc {
        // SAFETY: ROOTED; the table lives inside the class object, which is
        // not moved or freed while reachable.
        TableLoc::new(unsafe {
            std::ptr::NonNull::new_unchecked(addr_of_mut!((*self.raw()).methods))
        })
    }
}

#[repr(C)]
pub struct InstanceObj {
    header: Header,
    pub class: Gc<ClassObj>,
    fields: Table,
}
impl HeapObject for InstanceObj {
    const KIND: ObjKind = ObjKind::Instance;
}
impl InstanceObj {
    pub const SIZE: usize = size_of::<InstanceObj>();
}

impl Fresh {
    pub fn init_instance(self, class: Gc<ClassObj>) -> Gc<InstanceObj> {
        self.init(InstanceObj {
            header: Header::new(ObjKind::Instance, 0),
            class,
            fields: Table::new(),
        })
    }
}

impl Gc<InstanceObj> {
    #[inline(always)]
    pub fn fields_loc(self) -> TableLoc {
        // SAFETY: ROOTED; see `ClassObj::methods_loc`.
        TableLoc::new(unsafe {
            std::ptr::NonNull::new_unchecked(addr_of_mut!((*self.raw()).fields))
        })
    }
}

#[repr(C)]
pub struct BoundMethodObj {
    header: Header,
    pub receiver: Value,
    pub method: Gc<ClosureObj>,
}
impl HeapObject for BoundMethodObj {
    const KIND: ObjKind = ObjKind::BoundMethod;
}
impl BoundMethodObj {
    pub const SIZE: usize = size_of::<BoundMethodObj>();
}

impl Fresh {
    pub fn init_bound_method(self, receiver: Value, method: Gc<ClosureObj>) -> Gc<BoundMethodObj> {
        self.init(BoundMethodObj {
            header: Header::new(ObjKind::BoundMethod, 0),
            receiver,
            method,
        })
    }
}

// --------------------------------------------------------------- natives

/// A native function. `arity < 0` accepts any number of arguments (clox's
/// `clock` ignores its arguments, and Lox programs may rely on it).
#[repr(C)]
pub struct NativeObj {
    header: Header,
    pub function: crate::native::NativeFn,
    pub arity: i32,
    pub name: Gc<StringObj>,
}
impl HeapObject for NativeObj {
    const KIND: ObjKind = ObjKind::Native;
}
impl NativeObj {
    pub const SIZE: usize = size_of::<NativeObj>();
}

impl Fresh {
    pub fn init_native(
        self,
        function: crate::native::NativeFn,
        arity: i32,
        name: Gc<StringObj>,
    ) -> Gc<NativeObj> {
        self.init(NativeObj {
            header: Header::new(ObjKind::Native, 0),
            function,
            arity,
            name,
        })
    }
}

// --------------------------------------------------------- table entries

/// The slot array of a [`Table`]: `capacity` entries follow the struct.
#[repr(C)]
pub struct EntriesObj {
    header: Header,
    capacity: usize,
}
impl HeapObject for EntriesObj {
    const KIND: ObjKind = ObjKind::Entries;
}
impl EntriesObj {
    pub fn size_for(capacity: usize) -> usize {
        size_of::<EntriesObj>() + capacity * size_of::<super::Entry>()
    }
}

impl Fresh {
    /// `capacity` empty entries.
    pub fn init_entries(self, capacity: usize) -> Gc<EntriesObj> {
        let data = self.tail::<super::Entry>(size_of::<EntriesObj>(), capacity);
        for i in 0..capacity {
            // SAFETY: room for `capacity` entries (size_for(capacity)).
            unsafe { data.add(i).write(super::Entry::EMPTY) };
        }
        self.init(EntriesObj {
            header: Header::new(ObjKind::Entries, 0),
            capacity,
        })
    }
}

impl Gc<EntriesObj> {
    #[inline(always)]
    pub fn capacity(self) -> usize {
        self.capacity
    }

    #[inline(always)]
    fn base(self) -> *mut super::Entry {
        // SAFETY: ROOTED; the entries follow the struct within the block.
        unsafe { (self.raw() as *mut u8).add(size_of::<EntriesObj>()) as *mut super::Entry }
    }

    #[inline(always)]
    pub fn as_slice<'a>(self) -> &'a [super::Entry] {
        // SAFETY: ROOTED; `capacity` initialised entries (INIT). Callers do
        // not hold this slice across a write to the same array.
        unsafe { std::slice::from_raw_parts(self.base(), self.capacity) }
    }

    #[inline(always)]
    pub(super) fn get(self, i: usize) -> super::Entry {
        debug_assert!(i < self.capacity);
        // SAFETY: i < capacity (callers mask the probe index with
        // capacity - 1).
        unsafe { self.base().add(i).read() }
    }

    /// Entry `i` as a concurrent marker reads it (`load_shared`).
    #[inline(always)]
    pub(super) fn get_shared(self, i: usize) -> super::Entry {
        assert!(i < self.capacity, "entry index out of range");
        // SAFETY: ROOTED; `i < capacity`; entries are written only through
        // the barrier (or by `init_entries` before publication).
        unsafe { super::barrier::load_shared(self.base().add(i)) }
    }

    #[inline(always)]
    pub(super) fn put(self, wb: &mut WriteBarrier, i: usize, e: super::Entry) {
        debug_assert!(i < self.capacity);
        // SAFETY: as `get`; raw write, no reference to the slot is live.
        unsafe { wb.write(self.base().add(i), e) }
    }
}

// ----------------------------------------------------- lists and maps

/// A growable list; its elements live in a separate value array whose
/// length is the capacity.
#[repr(C)]
pub struct ListObj {
    header: Header,
    count: usize,
    pub(super) items: Option<Gc<ValueArrayObj>>,
}
impl HeapObject for ListObj {
    const KIND: ObjKind = ObjKind::List;
}
impl ListObj {
    pub const SIZE: usize = size_of::<ListObj>();
}

impl Fresh {
    pub fn init_list(self, count: usize, items: Option<Gc<ValueArrayObj>>) -> Gc<ListObj> {
        debug_assert!(count <= items.map_or(0, |a| a.len()));
        self.init(ListObj {
            header: Header::new(ObjKind::List, 0),
            count,
            items,
        })
    }
}

impl Gc<ListObj> {
    #[inline(always)]
    pub fn count(self) -> usize {
        // SAFETY: ROOTED; raw read (the field changes through `set_*`).
        unsafe { addr_of!((*self.raw()).count).read() }
    }

    #[inline(always)]
    pub fn items(self) -> Option<Gc<ValueArrayObj>> {
        // SAFETY: ROOTED; raw read.
        unsafe { addr_of!((*self.raw()).items).read() }
    }

    pub fn capacity(self) -> usize {
        self.items().map_or(0, |a| a.len())
    }

    pub fn set_count(self, n: usize) {
        assert!(n <= self.capacity(), "list count above capacity");
        // SAFETY: ROOTED; raw write, no reference to the field is live.
        unsafe { addr_of_mut!((*self.raw()).count).write(n) }
    }

    pub fn set_items(self, wb: &mut WriteBarrier, items: Gc<ValueArrayObj>) {
        assert!(self.count() <= items.len(), "list items smaller than count");
        // SAFETY: as `set_count`.
        unsafe { wb.write(addr_of_mut!((*self.raw()).items), Some(items)) }
    }

    /// The element at index `n` when `n` is an integral number in
    /// `0..count` (the common `xs[i]`); `None` for anything else, which
    /// the caller hands to `list_index` for the error. A value that is not
    /// a number, read as one (`Value::as_number`), is a NaN: `None`.
    #[inline(always)]
    pub fn element_at(self, n: f64) -> Option<Value> {
        // A saturating cast (NaN and negatives to 0, too big to u32::MAX)
        // round-trips exactly only for an integer in u32's range; a
        // saturated u32::MAX is never below `count` (a list's elements fit
        // in memory).
        let i = n as u32;
        if f64::from(i) != n {
            return None;
        }
        self.get(i as usize)
    }

    /// Element `i`, if `i < count`.
    #[inline(always)]
    pub fn get(self, i: usize) -> Option<Value> {
        if i < self.count() {
            self.items().map(|a| a.get(i))
        } else {
            None
        }
    }
}

/// An insertion-ordered hash map. `entries` holds (key, value) pairs in
/// insertion order (a removed entry's key is `Value::UNDEF`); `index` is
/// an open-addressing table of u32 slots: 0 empty, `TOMBSTONE` removed,
/// else entry number + 1.
#[repr(C)]
pub struct MapObj {
    header: Header,
    /// Live entries.
    count: usize,
    /// Entry slots used, removed ones included.
    used: usize,
    pub(super) entries: Option<Gc<ValueArrayObj>>,
    pub(super) index: Option<Gc<BytesObj>>,
}
impl HeapObject for MapObj {
    const KIND: ObjKind = ObjKind::Map;
}
impl MapObj {
    pub const SIZE: usize = size_of::<MapObj>();
    pub const TOMBSTONE: u32 = u32::MAX;
}

impl Fresh {
    pub fn init_map(self) -> Gc<MapObj> {
        self.init(MapObj {
            header: Header::new(ObjKind::Map, 0),
            count: 0,
            used: 0,
            entries: None,
            index: None,
        })
    }
}

impl Gc<MapObj> {
    #[inline(always)]
    pub fn count(self) -> usize {
        // SAFETY: ROOTED; raw read.
        unsafe { addr_of!((*self.raw()).count).read() }
    }

    #[inline(always)]
    pub fn used(self) -> usize {
        // SAFETY: ROOTED; raw read.
        unsafe { addr_of!((*self.raw()).used).read() }
    }

    #[inline(always)]
    pub fn entries(self) -> Option<Gc<ValueArrayObj>> {
        // SAFETY: ROOTED; raw read.
        unsafe { addr_of!((*self.raw()).entries).read() }
    }

    #[inline(always)]
    pub fn index(self) -> Option<Gc<BytesObj>> {
        // SAFETY: ROOTED; raw read.
        unsafe { addr_of!((*self.raw()).index).read() }
    }

    pub fn set_counts(self, count: usize, used: usize) {
        debug_assert!(count <= used);
        // SAFETY: ROOTED; raw writes, no reference to the fields is live.
        unsafe {
            addr_of_mut!((*self.raw()).count).write(count);
            addr_of_mut!((*self.raw()).used).write(used);
        }
    }

    pub fn set_storage(
        self,
        wb: &mut WriteBarrier,
        entries: Gc<ValueArrayObj>,
        index: Gc<BytesObj>,
    ) {
        // SAFETY: as `set_counts`.
        unsafe {
            wb.write(addr_of_mut!((*self.raw()).entries), Some(entries));
            wb.write(addr_of_mut!((*self.raw()).index), Some(index));
        }
    }
}

/// A native method bound to its receiver, as `xs.push` evaluates to.
#[repr(C)]
pub struct BoundNativeObj {
    header: Header,
    pub receiver: Value,
    pub native: Gc<NativeObj>,
}
impl HeapObject for BoundNativeObj {
    const KIND: ObjKind = ObjKind::BoundNative;
}
impl BoundNativeObj {
    pub const SIZE: usize = size_of::<BoundNativeObj>();
}

impl Fresh {
    pub fn init_bound_native(self, receiver: Value, native: Gc<NativeObj>) -> Gc<BoundNativeObj> {
        self.init(BoundNativeObj {
            header: Header::new(ObjKind::BoundNative, 0),
            receiver,
            native,
        })
    }
}

// ------------------------------------------------------------- finalizers

/// The finalizer `setFinalizer(obj, fn)` registers with the collector (as
/// the special's finalizer object): `fn` and the line of the
/// `setFinalizer` call, where an error raised before `fn` has a frame (its
/// arity, a native finalizer's own error) is reported.
#[repr(C)]
pub struct FinalizerObj {
    header: Header,
    pub function: Value,
    pub origin: super::Origin,
}
impl HeapObject for FinalizerObj {
    const KIND: ObjKind = ObjKind::Finalizer;
}
impl FinalizerObj {
    pub const SIZE: usize = size_of::<FinalizerObj>();
}

impl Fresh {
    pub fn init_finalizer(self, function: Value, origin: super::Origin) -> Gc<FinalizerObj> {
        self.init(FinalizerObj {
            header: Header::new(ObjKind::Finalizer, 0),
            function,
            origin,
        })
    }
}
