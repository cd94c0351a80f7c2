//! The native-call API: all a native function (in `stdlib`) sees of the
//! VM. **API Boundary**: natives get their arguments as handles, allocate
//! through the context, run the collector and read its statistics; they
//! cannot touch frames, the stack or objects' insides.
//!
//! # Rooting by type
//!
//! A native holds Lox values only as [`Handle`]s, and every handle is
//! rooted until the native returns: arguments and the receiver by their
//! stack slots, anything the context hands back (a new string, a list's
//! element, a received value) by the call's *handle scope*, a segment of
//! the mutator's temporary roots that the VM truncates when the native
//! returns (V8's `HandleScope`). Allocation may collect at any time, and a
//! handle still points at a live object, so a native written in safe Rust
//! cannot hold a dangling value. A handle carries the lifetime `'s` of its
//! call, invariant and unnameable outside it (natives are
//! `for<'s> fn(&mut NativeCtx<'s>)`), so it cannot be stored anywhere that
//! outlives the call: `vm/tests/ui/handle_escapes.rs` is the compile-fail
//! test. A native never sees a raw object `Value`.
//!
//! Why a scope and not gc-arena's branded `Gc<'gc, T>` everywhere: the
//! interpreter's hot loop, the object layouts and the collector's tracing
//! would all carry the brand, for a guarantee only safe Rust needs; the
//! VM's own code keeps ROOTED by discipline, checked by the stress modes.
//! Natives are where the heap meets safe code, so that is where the type
//! pays.

use std::marker::PhantomData;

use crate::collections::{self, list_index};
pub use crate::error::NativeError;
use crate::object::{ChannelObj, CoState, CoroutineObj, Gc, ListObj, MapObj, View};
use crate::value::Value;
use crate::vm::Vm;

/// A native function: `for<'s> fn(&mut NativeCtx<'s>) -> NativeResult<'s>`.
pub type NativeFn = for<'s> fn(&mut NativeCtx<'s>) -> NativeResult<'s>;

/// What a native returns: its result, or why it failed.
pub type NativeResult<'s> = Result<Handle<'s>, NativeError>;

/// The brand of a native call's handles: invariant in `'s` (no handle of
/// one call can pass for another's), neither `Send` nor `Sync`.
type Scope<'s> = PhantomData<(fn(&'s ()) -> &'s (), *const ())>;

/// A Lox value held by a native, rooted until the native returns (see the
/// module docs). `'s` is the native call; a handle cannot leave it.
#[derive(Clone, Copy)]
pub struct Handle<'s> {
    value: Value,
    _scope: Scope<'s>,
}

impl<'s> Handle<'s> {
    /// Wraps a value the VM has rooted for at least `'s`.
    fn rooted(value: Value) -> Handle<'s> {
        Handle {
            value,
            _scope: PhantomData,
        }
    }

    pub fn nil() -> Handle<'s> {
        Handle::rooted(Value::NIL)
    }

    pub fn bool(b: bool) -> Handle<'s> {
        Handle::rooted(Value::bool(b))
    }

    pub fn number(n: f64) -> Handle<'s> {
        Handle::rooted(Value::number(n))
    }

    /// The number, if this is one.
    pub fn as_number(self) -> Option<f64> {
        self.value.is_number().then(|| self.value.as_number())
    }

    pub fn is_nil(self) -> bool {
        self.value.is_nil()
    }

    /// The string's bytes, if this is a string. They live as long as the
    /// handle's call (the string is rooted and immutable).
    pub fn as_bytes(self) -> Option<&'s [u8]> {
        match self.value.view() {
            Some(View::String(s)) => Some(s.as_bytes()),
            _ => None,
        }
    }

    /// The value, for the VM (never for a native: see the module docs).
    pub(crate) fn value(self) -> Value {
        self.value
    }
}

/// The context of one native call: its arguments and the VM operations a
/// native may use.
pub struct NativeCtx<'s> {
    vm: &'s mut Vm,
    /// Stack index of the first argument.
    base: usize,
    argc: usize,
}

impl<'s> NativeCtx<'s> {
    /// The context for a call whose `argc` arguments start at stack index
    /// `base` (the receiver or callee is below them).
    pub(crate) fn new(vm: &'s mut Vm, base: usize, argc: usize) -> NativeCtx<'s> {
        NativeCtx { vm, base, argc }
    }

    /// A handle for `v`, rooted in the call's scope if it is an object.
    fn root(&mut self, v: Value) -> Handle<'s> {
        if v.is_obj() {
            self.vm.mu.temp_roots.push(v);
        }
        Handle::rooted(v)
    }

    pub fn argc(&self) -> usize {
        self.argc
    }

    /// Argument `i`, or nil past the end (rooted by its stack slot).
    pub fn arg(&self, i: usize) -> Handle<'s> {
        if i < self.argc {
            Handle::rooted(self.vm.mu.stack.get(self.base + i))
        } else {
            Handle::nil()
        }
    }

    /// The value a native method was called on (the callee slot).
    pub fn receiver(&self) -> Handle<'s> {
        Handle::rooted(self.vm.mu.stack.get(self.base - 1))
    }

    // ------------------------------------------------------------ values

    /// A Lox string (interned), charged to `--max-instructions` by its
    /// length.
    pub fn string(&mut self, bytes: &[u8]) -> NativeResult<'s> {
        self.vm.mu.charge_bytes(bytes.len())?;
        let s = self.vm.mu.intern(bytes)?;
        Ok(self.root(s.value()))
    }

    /// The text `print` shows for `v` (`str`).
    pub fn format(&self, v: Handle<'s>) -> Vec<u8> {
        let mut text = Vec::new();
        crate::print::format_value(&mut text, v.value);
        text
    }

    /// A new list of `items`.
    pub fn new_list(&mut self, items: &[Handle<'s>]) -> NativeResult<'s> {
        let values: Vec<Value> = items.iter().map(|h| h.value).collect();
        let l = collections::new_list_from(&mut self.vm.mu, &values)?;
        Ok(self.root(l.value()))
    }

    /// A new, empty map.
    pub fn new_map(&mut self) -> NativeResult<'s> {
        let m = self.vm.mu.alloc(MapObj::SIZE)?.init_map();
        Ok(self.root(m.value()))
    }

    // ------------------------------------------------------------- lists

    fn list(&self, h: Handle<'s>) -> Result<Gc<ListObj>, NativeError> {
        match h.value.view() {
            Some(View::List(l)) => Ok(l),
            _ => Err("Receiver must be a list.".into()),
        }
    }

    /// A list index from a Lox value: an integer in `0..len` (`0..=len`
    /// when `inclusive`, for `insert`), with LANGUAGE.md §3's errors.
    pub fn list_index(
        &self,
        index: Handle<'s>,
        len: usize,
        inclusive: bool,
    ) -> Result<usize, NativeError> {
        Ok(list_index(index.value, len, inclusive)?)
    }

    pub fn list_len(&self, list: Handle<'s>) -> Result<usize, NativeError> {
        Ok(self.list(list)?.count())
    }

    pub fn list_push(&mut self, list: Handle<'s>, v: Handle<'s>) -> Result<(), NativeError> {
        let l = self.list(list)?;
        Ok(collections::list_push(&mut self.vm.mu, l, v.value)?)
    }

    /// Inserts at `at <= len`, charged by the elements it moves.
    pub fn list_insert(
        &mut self,
        list: Handle<'s>,
        at: usize,
        v: Handle<'s>,
    ) -> Result<(), NativeError> {
        let l = self.list(list)?;
        self.vm.mu.charge_elements(l.count().saturating_sub(at))?;
        Ok(collections::list_insert(&mut self.vm.mu, l, at, v.value)?)
    }

    /// Removes element `at < len`, charged by the elements it moves.
    pub fn list_remove(&mut self, list: Handle<'s>, at: usize) -> NativeResult<'s> {
        let l = self.list(list)?;
        self.vm.mu.charge_elements(l.count().saturating_sub(at))?;
        let v = collections::list_remove(&mut self.vm.mu, l, at);
        Ok(self.root(v))
    }

    // -------------------------------------------------------------- maps

    fn map(&self, h: Handle<'s>) -> Result<Gc<MapObj>, NativeError> {
        match h.value.view() {
            Some(View::Map(m)) => Ok(m),
            _ => Err("Receiver must be a map.".into()),
        }
    }

    pub fn map_len(&self, map: Handle<'s>) -> Result<usize, NativeError> {
        Ok(self.map(map)?.count())
    }

    pub fn map_has(&self, map: Handle<'s>, key: Handle<'s>) -> Result<bool, NativeError> {
        Ok(collections::map_has(self.map(map)?, key.value)?)
    }

    pub fn map_set(
        &mut self,
        map: Handle<'s>,
        key: Handle<'s>,
        value: Handle<'s>,
    ) -> Result<(), NativeError> {
        let m = self.map(map)?;
        Ok(collections::map_set(
            &mut self.vm.mu,
            m,
            key.value,
            value.value,
        )?)
    }

    /// Removes `key`; its value, or nil.
    pub fn map_remove(&mut self, map: Handle<'s>, key: Handle<'s>) -> NativeResult<'s> {
        let m = self.map(map)?;
        let v = collections::map_remove(&mut self.vm.mu, m, key.value)?;
        Ok(self.root(v))
    }

    /// A new list of the map's keys (`values == false`) or values, in
    /// insertion order, charged by its length.
    pub fn map_list(&mut self, map: Handle<'s>, values: bool) -> NativeResult<'s> {
        let m = self.map(map)?;
        self.vm.mu.charge_elements(m.used())?;
        let items: Vec<Value> = collections::map_pairs(m)
            .into_iter()
            .map(|(k, v)| if values { v } else { k })
            .collect();
        // Everything in `items` is reachable from the map, which the
        // caller's handle keeps rooted.
        let l = collections::new_list_from(&mut self.vm.mu, &items)?;
        Ok(self.root(l.value()))
    }

    // --------------------------------------------- channels, coroutines

    fn channel(&self, h: Handle<'s>) -> Result<Gc<ChannelObj>, NativeError> {
        match h.value.view() {
            Some(View::Channel(c)) => Ok(c),
            _ => Err("Receiver must be a channel.".into()),
        }
    }

    fn coroutine(&self, h: Handle<'s>) -> Result<Gc<CoroutineObj>, NativeError> {
        match h.value.view() {
            Some(View::Coroutine(c)) => Ok(c),
            _ => Err("Receiver must be a coroutine.".into()),
        }
    }

    /// `Channel(capacity)`.
    pub fn new_channel(&mut self, capacity: usize) -> NativeResult<'s> {
        let ch = crate::channel::new_channel(&mut self.vm.mu, capacity)?;
        Ok(self.root(ch))
    }

    /// `ch.send(v)`: may park the caller until a receiver takes `v`.
    pub fn channel_send(&mut self, ch: Handle<'s>, v: Handle<'s>) -> Result<(), NativeError> {
        let ch = self.channel(ch)?;
        self.vm.chan_send(ch, v.value)
    }

    /// `ch.recv()`: a value, or parks until one arrives (nil once closed
    /// and drained); a parked caller's result arrives when it is woken.
    pub fn channel_recv(&mut self, ch: Handle<'s>) -> NativeResult<'s> {
        let ch = self.channel(ch)?;
        let v = self.vm.chan_recv(ch);
        Ok(self.root(v))
    }

    pub fn channel_close(&mut self, ch: Handle<'s>) -> Result<(), NativeError> {
        let ch = self.channel(ch)?;
        self.vm.chan_close(ch)
    }

    /// `co.join()`: its result, or parks until it finishes.
    pub fn coroutine_join(&mut self, co: Handle<'s>) -> NativeResult<'s> {
        let co = self.coroutine(co)?;
        let v = self.vm.join(co)?;
        Ok(self.root(v))
    }

    pub fn coroutine_done(&self, co: Handle<'s>) -> Result<bool, NativeError> {
        Ok(self.coroutine(co)?.state() == CoState::Done)
    }

    /// `yield()`: to the back of the run queue.
    pub fn yield_now(&mut self) {
        self.vm.sched.park = Some(crate::sched::Park::Yield);
    }

    /// `sleep(seconds)`: parks only the calling coroutine.
    pub fn sleep(&mut self, seconds: f64) {
        self.vm.sleep(seconds);
    }

    /// Seconds since the VM started, as clox's `clock()` (CPU time there;
    /// wall time here, which is what scripts timing themselves mean).
    pub fn clock(&self) -> f64 {
        self.vm.mu.started.elapsed().as_secs_f64()
    }

    // --------------------------------------------------------- collector

    /// A complete collection: mark, then sweep every span (LANGUAGE.md
    /// §6). Charged to `--max-instructions` by the live heap it marks.
    pub fn collect_garbage(&mut self) -> Result<(), NativeError> {
        self.vm.mu.collect(true);
        let live = self.vm.mu.heap.stats().last_live;
        self.vm.mu.charge_bytes(live as usize)?;
        Ok(())
    }

    pub fn gc_stats(&self) -> gc::GcStats {
        self.vm.mu.heap.stats()
    }

    /// `setGCPercent(percent)` for an integral `percent`: returns the
    /// previous one exactly as the program gave it. The collector paces
    /// with the value saturated to `i64` (any percent beyond that already
    /// means "never collect automatically" in practice).
    pub fn set_gc_percent(&mut self, percent: f64) -> f64 {
        self.vm.mu.heap.set_gc_percent(percent as i64);
        std::mem::replace(&mut self.vm.mu.gc_percent, percent)
    }

    /// `setFinalizer(obj, fn)` (LANGUAGE.md §6), with its errors.
    pub fn set_finalizer(&mut self, obj: Handle<'s>, f: Handle<'s>) -> Result<(), NativeError> {
        crate::finalizer::set_finalizer(&mut self.vm.mu, obj.value, f.value)
    }

    /// Finalizers that have run (returned or failed).
    pub fn finalizers_run(&self) -> u64 {
        self.vm.mu.finalizers_run
    }

    /// Charges work that grows with a native's input (bytes formatted,
    /// elements visited) to `--max-instructions`, so the limit bounds
    /// time and not just instructions.
    pub fn charge_bytes(&mut self, bytes: usize) -> Result<(), NativeError> {
        Ok(self.vm.mu.charge_bytes(bytes)?)
    }
}

/// The kinds of value that have native methods (LANGUAGE.md §8).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MethodReceiver {
    List = 0,
    Map = 1,
    Channel = 2,
    Coroutine = 3,
}

impl MethodReceiver {
    pub const COUNT: usize = 4;
}
