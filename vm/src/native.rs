//! The native-call API: all a native function (in `stdlib`) sees of the VM.
//! **API Boundary**: natives get their arguments, can allocate strings, run
//! the collector and read its statistics; they cannot touch frames, the
//! stack or objects' insides.

use crate::value::Value;
use crate::vm::Vm;

/// A native function. It returns its result or an error message, which the
/// VM raises as a runtime error at the call site.
pub type NativeFn = fn(&mut NativeCtx<'_>) -> Result<Value, String>;

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

    /// A complete collection: mark, then sweep every span (LANGUAGE.md §6).
    pub fn collect_garbage(&mut self) {
        self.vm.collect(true);
    }

    pub fn gc_stats(&self) -> gc::GcStats {
        self.vm.heap.stats()
    }

    pub fn set_gc_percent(&mut self, percent: i32) -> i32 {
        self.vm.heap.set_gc_percent(percent)
    }

    /// `setFinalizer(obj, fn)` (LANGUAGE.md §6), with its errors.
    pub fn set_finalizer(&mut self, obj: Value, f: Value) -> Result<(), String> {
        self.vm.set_finalizer(obj, f)
    }

    /// Finalizers that have run (returned or failed).
    pub fn finalizers_run(&self) -> u64 {
        self.vm.finalizers_run
    }

    /// A Lox string value (interned). May collect: the arguments stay rooted.
    pub fn string(&mut self, bytes: &[u8]) -> Result<Value, String> {
        self.vm
            .intern(bytes)
            .map(|s| s.value())
            .map_err(|e| e.message)
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
    pub fn new_map(&mut self) -> Result<Value, String> {
        let m = self.vm.alloc(MapObj::SIZE).map_err(|e| e.message)?;
        Ok(m.init_map().value())
    }

    pub fn list_len(&self) -> Result<usize, String> {
        Ok(self.list()?.count())
    }

    pub fn list_push(&mut self, v: Value) -> Result<(), String> {
        let l = self.list()?;
        self.vm.list_push(l, v).map_err(|e| e.message)
    }

    pub fn list_pop(&mut self) -> Result<Value, String> {
        let l = self.list()?;
        if l.count() == 0 {
            return Err("Can't pop from an empty list.".to_string());
        }
        Ok(self.vm.list_remove(l, l.count() - 1))
    }

    pub fn list_insert(&mut self, index: Value, v: Value) -> Result<(), String> {
        let l = self.list()?;
        let at = list_index(index, l.count(), true)?;
        self.vm.list_insert(l, at, v).map_err(|e| e.message)
    }

    pub fn list_remove(&mut self, index: Value) -> Result<Value, String> {
        let l = self.list()?;
        let at = list_index(index, l.count(), false)?;
        Ok(self.vm.list_remove(l, at))
    }

    pub fn map_len(&self) -> Result<usize, String> {
        Ok(self.map()?.count())
    }

    pub fn map_has(&self, key: Value) -> Result<bool, String> {
        let m = self.map()?;
        Ok(self.vm.map_has(m, key)?)
    }

    pub fn map_remove(&mut self, key: Value) -> Result<Value, String> {
        let m = self.map()?;
        Ok(self.vm.map_remove(m, key)?)
    }

    /// A new list of the map's keys (`values == false`) or values.
    pub fn map_list(&mut self, values: bool) -> Result<Value, String> {
        let m = self.map()?;
        let items: Vec<Value> = crate::vm::Vm::map_pairs(m)
            .into_iter()
            .map(|(k, v)| if values { v } else { k })
            .collect();
        // Everything in `items` is reachable from the map, which the
        // receiver slot keeps rooted.
        let l = self.vm.new_list_from(&items).map_err(|e| e.message)?;
        Ok(l.value())
    }
}

impl NativeCtx<'_> {
    /// A new map from string keys to numbers (`gcStats()`).
    pub fn map_of_numbers(&mut self, pairs: &[(&str, f64)]) -> Result<Value, String> {
        let vm = &mut *self.vm;
        let base = vm.temp_roots.len();
        let result = (|| {
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
        result.map_err(|e: crate::error::RuntimeError| e.message)
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
    pub fn new_channel(&mut self, capacity: usize) -> Result<Value, String> {
        self.vm.new_channel(capacity)
    }

    /// `ch.send(v)`: may park the caller until a receiver takes `v`.
    pub fn channel_send(&mut self, v: Value) -> Result<(), String> {
        let ch = self.channel()?;
        self.vm.chan_send(ch, v)
    }

    /// `ch.recv()`: a value, or parks until one arrives (nil once closed
    /// and drained).
    pub fn channel_recv(&mut self) -> Result<Value, String> {
        let ch = self.channel()?;
        self.vm.chan_recv(ch)
    }

    pub fn channel_close(&mut self) -> Result<(), String> {
        let ch = self.channel()?;
        self.vm.chan_close(ch)
    }

    /// `co.join()`: its result, or parks until it finishes.
    pub fn coroutine_join(&mut self) -> Result<Value, String> {
        let co = self.coroutine()?;
        self.vm.join(co)
    }

    pub fn coroutine_done(&self) -> Result<bool, String> {
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
