//! # stdlib — the native functions of loam
//!
//! Code Map entry. Natives see the VM only through `vm::NativeCtx` (the
//! native-call API Boundary): arguments, string allocation, the collector.
//! **Architecture Invariant**: no `unsafe` here (`forbid`), and nothing of
//! the interpreter's internals.

#![forbid(unsafe_code)]

use vm::{MethodReceiver, NativeCtx, NativeResult, Value, Vm};

/// Defines every native as a global of `vm`.
pub fn install(vm: &mut Vm) {
    // clox's `clock` ignores its arguments; programs may pass some.
    vm.define_native("clock", -1, clock);
    vm.define_native("gc", 0, gc);
    vm.define_native("setGCPercent", 1, set_gc_percent);
    vm.define_native("str", 1, str);
    vm.define_native("Map", 0, map_new);
    vm.define_native("gcStats", 0, gc_stats);
    vm.define_native("setFinalizer", 2, set_finalizer);
    vm.define_native("Channel", -1, channel_new);
    vm.define_native("yield", 0, yield_now);
    vm.define_native("sleep", 1, sleep);

    use MethodReceiver::{Channel, Coroutine, List, Map};
    vm.define_method(Channel, "send", 1, channel_send);
    vm.define_method(Channel, "recv", 0, channel_recv);
    vm.define_method(Channel, "close", 0, channel_close);
    vm.define_method(Coroutine, "join", 0, coroutine_join);
    vm.define_method(Coroutine, "done", 0, coroutine_done);
    vm.define_method(List, "len", 0, list_len);
    vm.define_list_push("push", list_push);
    vm.define_method(List, "pop", 0, list_pop);
    vm.define_method(List, "insert", 2, list_insert);
    vm.define_method(List, "remove", 1, list_remove);
    vm.define_method(Map, "len", 0, map_len);
    vm.define_method(Map, "has", 1, map_has);
    vm.define_method(Map, "remove", 1, map_remove);
    vm.define_method(Map, "keys", 0, map_keys);
    vm.define_method(Map, "values", 0, map_values);
}

fn map_new(ctx: &mut NativeCtx<'_>) -> NativeResult {
    ctx.new_map()
}

fn list_len(ctx: &mut NativeCtx<'_>) -> NativeResult {
    Ok(Value::number(ctx.list_len()? as f64))
}

fn list_push(ctx: &mut NativeCtx<'_>) -> NativeResult {
    let v = ctx.arg(0);
    ctx.list_push(v)?;
    Ok(Value::NIL)
}

fn list_pop(ctx: &mut NativeCtx<'_>) -> NativeResult {
    ctx.list_pop()
}

fn list_insert(ctx: &mut NativeCtx<'_>) -> NativeResult {
    let (i, v) = (ctx.arg(0), ctx.arg(1));
    ctx.list_insert(i, v)?;
    Ok(Value::NIL)
}

fn list_remove(ctx: &mut NativeCtx<'_>) -> NativeResult {
    let i = ctx.arg(0);
    ctx.list_remove(i)
}

fn map_len(ctx: &mut NativeCtx<'_>) -> NativeResult {
    Ok(Value::number(ctx.map_len()? as f64))
}

fn map_has(ctx: &mut NativeCtx<'_>) -> NativeResult {
    let k = ctx.arg(0);
    Ok(Value::bool(ctx.map_has(k)?))
}

fn map_remove(ctx: &mut NativeCtx<'_>) -> NativeResult {
    let k = ctx.arg(0);
    ctx.map_remove(k)
}

fn map_keys(ctx: &mut NativeCtx<'_>) -> NativeResult {
    ctx.map_list(false)
}

fn map_values(ctx: &mut NativeCtx<'_>) -> NativeResult {
    ctx.map_list(true)
}

/// `str(v)`: the text `print` would show, as a string.
fn str(ctx: &mut NativeCtx<'_>) -> NativeResult {
    let mut text = Vec::new();
    vm::format_value(&mut text, ctx.arg(0));
    ctx.string(&text)
}

fn clock(ctx: &mut NativeCtx<'_>) -> NativeResult {
    Ok(Value::number(ctx.clock()))
}

/// `gc()`: a complete collection (mark, then every span swept).
fn gc(ctx: &mut NativeCtx<'_>) -> NativeResult {
    ctx.collect_garbage()?;
    Ok(Value::NIL)
}

/// `setGCPercent(n)`: sets GOGC-style pacing, returns the previous value
/// exactly as it was given (LANGUAGE.md §6), however large.
fn set_gc_percent(ctx: &mut NativeCtx<'_>) -> NativeResult {
    let v = ctx.arg(0);
    if !v.is_number() || v.as_number().fract() != 0.0 || !v.as_number().is_finite() {
        return Err("setGCPercent: percent must be an integer.".into());
    }
    Ok(Value::number(ctx.set_gc_percent(v.as_number())))
}

/// `gcStats()`: the collector's counters as a Map (LANGUAGE.md §6).
fn gc_stats(ctx: &mut NativeCtx<'_>) -> NativeResult {
    let s = ctx.gc_stats();
    let finalizers_run = ctx.finalizers_run() as f64;
    ctx.map_of_numbers(&[
        ("numGC", s.num_gc as f64),
        ("heapAlloc", s.heap_alloc as f64),
        ("heapObjects", s.heap_objects as f64),
        ("heapSys", s.heap_sys as f64),
        ("nextGC", s.next_gc as f64),
        ("pauseTotalNs", s.pause_total_ns as f64),
        ("maxPauseNs", s.max_pause_ns as f64),
        ("finalizersRun", finalizers_run),
        ("sweptBackground", s.swept_background as f64),
        ("sweptLazy", s.swept_lazy as f64),
        ("pauseP50Ns", s.pause_p50_ns as f64),
        ("pauseP99Ns", s.pause_p99_ns as f64),
    ])
}

/// `Channel()` (unbuffered) or `Channel(n)` (capacity n).
fn channel_new(ctx: &mut NativeCtx<'_>) -> NativeResult {
    let capacity = match ctx.argc() {
        0 => 0,
        1 => {
            let v = ctx.arg(0);
            let n = v.as_number();
            if !v.is_number() || n.fract() != 0.0 || !(0.0..=1e9).contains(&n) {
                return Err("Channel: capacity must be a non-negative integer.".into());
            }
            n as usize
        }
        n => return Err(format!("Expected 0 or 1 arguments but got {n}.").into()),
    };
    ctx.new_channel(capacity)
}

fn channel_send(ctx: &mut NativeCtx<'_>) -> NativeResult {
    let v = ctx.arg(0);
    ctx.channel_send(v)?;
    Ok(Value::NIL)
}

fn channel_recv(ctx: &mut NativeCtx<'_>) -> NativeResult {
    ctx.channel_recv()
}

fn channel_close(ctx: &mut NativeCtx<'_>) -> NativeResult {
    ctx.channel_close()?;
    Ok(Value::NIL)
}

fn coroutine_join(ctx: &mut NativeCtx<'_>) -> NativeResult {
    ctx.coroutine_join()
}

fn coroutine_done(ctx: &mut NativeCtx<'_>) -> NativeResult {
    Ok(Value::bool(ctx.coroutine_done()?))
}

fn yield_now(ctx: &mut NativeCtx<'_>) -> NativeResult {
    ctx.yield_now();
    Ok(Value::NIL)
}

fn sleep(ctx: &mut NativeCtx<'_>) -> NativeResult {
    let v = ctx.arg(0);
    if !v.is_number() || v.as_number().is_nan() {
        return Err("sleep: seconds must be a number.".into());
    }
    ctx.sleep(v.as_number());
    Ok(Value::NIL)
}

/// `setFinalizer(obj, fn)`: `fn(obj)` runs once after `obj` becomes
/// unreachable; `nil` removes it.
fn set_finalizer(ctx: &mut NativeCtx<'_>) -> NativeResult {
    let (obj, f) = (ctx.arg(0), ctx.arg(1));
    ctx.set_finalizer(obj, f)?;
    Ok(Value::NIL)
}
