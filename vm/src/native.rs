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
            self.vm.stack[self.base + i]
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
