//! The native-call API: all a native function (in `stdlib`) sees of the VM.
//! **API Boundary**: natives get their arguments, can allocate strings, run
//! the collector and read its statistics; they cannot touch frames, the
//! stack or objects' insides.

use crate::error::RuntimeError;
use crate::value::Value;
use crate::vm::Vm;

/// A native function. It returns its result or why it failed.
pub type NativeFn = fn(&mut NativeCtx<'_>) -> NativeResult;

/// What a native returns.
pub type NativeResult<T = Value> = Result<T, NativeError>;

/// Why a native call failed.
#[derive(Debug)]
pub enum NativeError {
    /// A Lox runtime error with this message, raised at the call site
    /// (`sleep: seconds must be a number.`).
    Message(String),
    /// An error the VM raised while the native ran (`Out of memory.`, the
    /// instruction limit): it unwinds as raised, so a finalizer cannot
    /// catch what it could not catch in Lox code.
    Vm(RuntimeError),
}

impl From<String> for NativeError {
    fn from(message: String) -> Self {
        NativeError::Message(message)
    }
}

impl From<&str> for NativeError {
    fn from(message: &str) -> Self {
        NativeError::Message(message.to_string())
    }
}

impl From<RuntimeError> for NativeError {
    fn from(e: RuntimeError) -> Self {
        NativeError::Vm(e)
    }
}

pub struct NativeCtx<'a> {
    pub(crate) vm: &'a mut Vm,
    /// Stack index of the first argument.
    pub(crate) base: usize,
    pub(crate) argc: usize,
}

impl NativeCtx<'_> {
    pub fn argc(&self) -> usize {
        self.argc
    }

    /// Argument `i`, or nil past the end.
    pub fn arg(&self, i: usize) -> Value {
        if i < self.argc {
            self.vm.stack.get(self.base + i)
        } else {
            Value::NIL
        }
    }

    /// A complete collection: mark, then sweep every span (LANGUAGE.md
    /// §6). Charged to `--max-instructions` by the live heap it marks.
    pub fn collect_garbage(&mut self) -> NativeResult<()> {
        self.vm.collect(true);
        let live = self.vm.heap.stats().last_live;
        self.vm.charge_bytes(live as usize)?;
        Ok(())
    }

    pub fn gc_stats(&self) -> gc::GcStats {
        self.vm.heap.stats()
    }

    /// `setGCPercent(percent)` for an integral `percent`: returns the
    /// previous one exactly as the program gave it. The collector paces
    /// with the value saturated to `i64` (any percent beyond that already
    /// means "never collect automatically" in practice).
    pub fn set_gc_percent(&mut self, percent: f64) -> f64 {
        self.vm.heap.set_gc_percent(percent as i64);
        std::mem::replace(&mut self.vm.gc_percent, percent)
    }

    /// `setFinalizer(obj, fn)` (LANGUAGE.md §6), with its errors.
    pub fn set_finalizer(&mut self, obj: Value, f: Value) -> NativeResult<()> {
        self.vm.set_finalizer(obj, f)
    }

    /// Finalizers that have run (returned or failed).
    pub fn finalizers_run(&self) -> u64 {
        self.vm.finalizers_run
    }

    /// A Lox string value (interned). May collect: the arguments stay
    /// rooted. Charged to `--max-instructions` by its length.
    pub fn string(&mut self, bytes: &[u8]) -> NativeResult {
        self.vm.charge_bytes(bytes.len())?;
        Ok(self.vm.intern(bytes)?.value())
    }

    /// Charges work that grows with a native's input (bytes formatted,
    /// elements visited) to `--max-instructions`, so the limit bounds
    /// time and not just instructions.
    pub fn charge_bytes(&mut self, bytes: usize) -> NativeResult<()> {
        Ok(self.vm.charge_bytes(bytes)?)
    }

    /// Seconds since the VM started, as clox's `clock()` (CPU time there;
    /// wall time here, which is what scripts timing themselves mean).
    pub fn clock(&self) -> f64 {
        self.vm.started.elapsed().as_secs_f64()
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

use crate::collections::list_index;
use crate::object::{Gc, ListObj, MapObj};

impl NativeCtx<'_> {
    /// The value a native method was called on (the callee slot).
    pub fn receiver(&self) -> Value {
        self.vm.stack.get(self.base - 1)
    }

    fn list(&self) -> Result<Gc<ListObj>, String> {
        self.receiver()
            .as_obj()
            .and_then(|o| o.downcast())
            .ok_or_else(|| "Receiver must be a list.".to_string())
    }

    fn map(&self) -> Result<Gc<MapObj>, String> {
        self.receiver()
            .as_obj()
            .and_then(|o| o.downcast())
            .ok_or_else(|| "Receiver must be a map.".to_string())
    }

    /// A new, empty map.
    pub fn new_map(&mut self) -> NativeResult {
        let m = self.vm.alloc(MapObj::SIZE)?;
        Ok(m.init_map().value())
    }

    pub fn list_len(&self) -> NativeResult<usize> {
        Ok(self.list()?.count())
    }

    pub fn list_push(&mut self, v: Value) -> NativeResult<()> {
        let l = self.list()?;
        Ok(self.vm.list_push(l, v)?)
    }

    pub fn list_pop(&mut self) -> NativeResult {
        let l = self.list()?;
        if l.count() == 0 {
            return Err("Can't pop from an empty list.".into());
        }
        Ok(self.vm.list_remove(l, l.count() - 1))
    }

    /// `xs.insert(i, v)`: charged by the elements it moves.
    pub fn list_insert(&mut self, index: Value, v: Value) -> NativeResult<()> {
        let l = self.list()?;
        let at = list_index(index, l.count(), true)?;
        self.vm.charge_elements(l.count() - at)?;
        Ok(self.vm.list_insert(l, at, v)?)
    }

    /// `xs.remove(i)`: charged by the elements it moves.
    pub fn list_remove(&mut self, index: Value) -> NativeResult {
        let l = self.list()?;
        let at = list_index(index, l.count(), false)?;
        self.vm.charge_elements(l.count() - at)?;
        Ok(self.vm.list_remove(l, at))
    }

    pub fn map_len(&self) -> NativeResult<usize> {
        Ok(self.map()?.count())
    }

    pub fn map_has(&self, key: Value) -> NativeResult<bool> {
        let m = self.map()?;
        Ok(self.vm.map_has(m, key)?)
    }

    pub fn map_remove(&mut self, key: Value) -> NativeResult {
        let m = self.map()?;
        Ok(self.vm.map_remove(m, key)?)
    }

    /// A new list of the map's keys (`values == false`) or values,
    /// charged by its length.
    pub fn map_list(&mut self, values: bool) -> NativeResult {
        let m = self.map()?;
        self.vm.charge_elements(m.used())?;
        let items: Vec<Value> = crate::vm::Vm::map_pairs(m)
            .into_iter()
            .map(|(k, v)| if values { v } else { k })
            .collect();
        // Everything in `items` is reachable from the map, which the
        // receiver slot keeps rooted.
        let l = self.vm.new_list_from(&items)?;
        Ok(l.value())
    }
}

impl NativeCtx<'_> {
    /// A new map from string keys to numbers (`gcStats()`).
    pub fn map_of_numbers(&mut self, pairs: &[(&str, f64)]) -> NativeResult {
        let vm = &mut *self.vm;
        let base = vm.temp_roots.len();
        let result = (|| -> Result<Value, RuntimeError> {
            let map = vm.alloc(MapObj::SIZE)?.init_map();
            vm.temp_roots.push(map.value());
            for &(k, n) in pairs {
                let key = vm.intern(k.as_bytes())?;
                vm.temp_roots.push(key.value());
                vm.map_set(map, key.value(), Value::number(n))?;
                vm.temp_roots.pop();
            }
            Ok(map.value())
        })();
        vm.temp_roots.truncate(base);
        Ok(result?)
    }
}

use crate::object::{ChannelObj, CoroutineObj};

impl NativeCtx<'_> {
    fn channel(&self) -> Result<Gc<ChannelObj>, String> {
        self.receiver()
            .as_obj()
            .and_then(|o| o.downcast())
            .ok_or_else(|| "Receiver must be a channel.".to_string())
    }

    fn coroutine(&self) -> Result<Gc<CoroutineObj>, String> {
        self.receiver()
            .as_obj()
            .and_then(|o| o.downcast())
            .ok_or_else(|| "Receiver must be a coroutine.".to_string())
    }

    /// `Channel(capacity)`.
    pub fn new_channel(&mut self, capacity: usize) -> NativeResult {
        self.vm.new_channel(capacity)
    }

    /// `ch.send(v)`: may park the caller until a receiver takes `v`.
    pub fn channel_send(&mut self, v: Value) -> NativeResult<()> {
        let ch = self.channel()?;
        self.vm.chan_send(ch, v)
    }

    /// `ch.recv()`: a value, or parks until one arrives (nil once closed
    /// and drained).
    pub fn channel_recv(&mut self) -> NativeResult {
        let ch = self.channel()?;
        self.vm.chan_recv(ch)
    }

    pub fn channel_close(&mut self) -> NativeResult<()> {
        let ch = self.channel()?;
        self.vm.chan_close(ch)
    }

    /// `co.join()`: its result, or parks until it finishes.
    pub fn coroutine_join(&mut self) -> NativeResult {
        let co = self.coroutine()?;
        self.vm.join(co)
    }

    pub fn coroutine_done(&self) -> NativeResult<bool> {
        Ok(self.coroutine()?.state() == crate::object::CoState::Done)
    }

    /// `yield()`: to the back of the run queue.
    pub fn yield_now(&mut self) {
        self.vm.sched.park = Some(crate::sched::Park::Yield);
    }

    /// `sleep(seconds)`: parks only the calling coroutine.
    pub fn sleep(&mut self, seconds: f64) {
        self.vm.sleep(seconds);
    }
}
