//! # stdlib — the native functions of loam
//!
//! Code Map entry. Natives see the VM only through `vm::NativeCtx` (the
//! native-call API Boundary): arguments, string allocation, the collector.
//! **Architecture Invariant**: no `unsafe` here (`forbid`), and nothing of
//! the interpreter's internals.

#![forbid(unsafe_code)]

use vm::{NativeCtx, Value, Vm};

/// Defines every native as a global of `vm`.
pub fn install(vm: &mut Vm) {
    // clox's `clock` ignores its arguments; programs may pass some.
    vm.define_native("clock", -1, clock);
    vm.define_native("gc", 0, gc);
    vm.define_native("setGCPercent", 1, set_gc_percent);
    vm.define_native("str", 1, str);
}

/// `str(v)`: the text `print` would show, as a string.
fn str(ctx: &mut NativeCtx<'_>) -> Result<Value, String> {
    let mut text = Vec::new();
    vm::format_value(&mut text, ctx.arg(0));
    ctx.string(&text)
}

fn clock(ctx: &mut NativeCtx<'_>) -> Result<Value, String> {
    Ok(Value::number(ctx.clock()))
}

/// `gc()`: a complete collection (mark, then every span swept).
fn gc(ctx: &mut NativeCtx<'_>) -> Result<Value, String> {
    ctx.collect_garbage();
    Ok(Value::NIL)
}

/// `setGCPercent(n)`: sets GOGC-style pacing, returns the previous value.
fn set_gc_percent(ctx: &mut NativeCtx<'_>) -> Result<Value, String> {
    let v = ctx.arg(0);
    if !v.is_number() || v.as_number().fract() != 0.0 || !v.as_number().is_finite() {
        return Err("setGCPercent: percent must be an integer.".to_string());
    }
    let n = v.as_number().clamp(i32::MIN as f64, i32::MAX as f64) as i32;
    Ok(Value::number(ctx.set_gc_percent(n) as f64))
}
