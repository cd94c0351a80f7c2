//! # stdlib — the native functions of loam
//!
//! Code Map entry. Natives see the VM only through `vm::NativeCtx` (the
//! native-call API Boundary): arguments and results are `vm::Handle`s,
//! rooted until the native returns, so nothing here can hold a value the
//! collector may free. Argument checking, the error messages of
//! LANGUAGE.md and the shape of each result are decided here; the context
//! supplies the heap operations.
//! **Architecture Invariant**: no `unsafe` here (`forbid`), and nothing of
//! the interpreter's internals.

#![forbid(unsafe_code)]

use vm::{Handle, MethodReceiver, NativeCtx, NativeError, NativeResult, Vm};

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

/// An integral number argument, or `what` as the error.
fn integer(h: Handle<'_>, what: &str) -> Result<f64, NativeError> {
    match h.as_number() {
        Some(n) if n.is_finite() && n.fract() == 0.0 => Ok(n),
        _ => Err(what.into()),
    }
}

// ------------------------------------------------------------------ lists

fn list_len<'s>(ctx: &mut NativeCtx<'s>) -> NativeResult<'s> {
    let n = ctx.list_len(ctx.receiver())?;
    Ok(Handle::number(n as f64))
}

/// `xs.push(v)`; the interpreter runs the same as an intrinsic when it
/// sees `xs.push(v)` called directly (`Vm::define_list_push`).
fn list_push<'s>(ctx: &mut NativeCtx<'s>) -> NativeResult<'s> {
    ctx.list_push(ctx.receiver(), ctx.arg(0))?;
    Ok(Handle::nil())
}

fn list_pop<'s>(ctx: &mut NativeCtx<'s>) -> NativeResult<'s> {
    let list = ctx.receiver();
    match ctx.list_len(list)? {
        0 => Err("Can't pop from an empty list.".into()),
        n => ctx.list_remove(list, n - 1),
    }
}

fn list_insert<'s>(ctx: &mut NativeCtx<'s>) -> NativeResult<'s> {
    let list = ctx.receiver();
    let len = ctx.list_len(list)?;
    let at = ctx.list_index(ctx.arg(0), len, true)?;
    ctx.list_insert(list, at, ctx.arg(1))?;
    Ok(Handle::nil())
}

fn list_remove<'s>(ctx: &mut NativeCtx<'s>) -> NativeResult<'s> {
    let list = ctx.receiver();
    let len = ctx.list_len(list)?;
    let at = ctx.list_index(ctx.arg(0), len, false)?;
    ctx.list_remove(list, at)
}

// ------------------------------------------------------------------- maps

fn map_new<'s>(ctx: &mut NativeCtx<'s>) -> NativeResult<'s> {
    ctx.new_map()
}

fn map_len<'s>(ctx: &mut NativeCtx<'s>) -> NativeResult<'s> {
    let n = ctx.map_len(ctx.receiver())?;
    Ok(Handle::number(n as f64))
}

fn map_has<'s>(ctx: &mut NativeCtx<'s>) -> NativeResult<'s> {
    let has = ctx.map_has(ctx.receiver(), ctx.arg(0))?;
    Ok(Handle::bool(has))
}

fn map_remove<'s>(ctx: &mut NativeCtx<'s>) -> NativeResult<'s> {
    ctx.map_remove(ctx.receiver(), ctx.arg(0))
}

fn map_keys<'s>(ctx: &mut NativeCtx<'s>) -> NativeResult<'s> {
    ctx.map_list(ctx.receiver(), false)
}

fn map_values<'s>(ctx: &mut NativeCtx<'s>) -> NativeResult<'s> {
    ctx.map_list(ctx.receiver(), true)
}

// --------------------------------------------------- channels, coroutines

/// `Channel()` (unbuffered) or `Channel(n)` (capacity n; the ring grows
/// as values are buffered, so a large `n` costs nothing up front).
fn channel_new<'s>(ctx: &mut NativeCtx<'s>) -> NativeResult<'s> {
    const BAD: &str = "Channel: capacity must be a non-negative integer.";
    let capacity = match ctx.argc() {
        0 => 0,
        1 => {
            let n = integer(ctx.arg(0), BAD)?;
            if !(0.0..=1e9).contains(&n) {
                return Err(BAD.into());
            }
            n as usize
        }
        n => return Err(format!("Expected 0 or 1 arguments but got {n}.").into()),
    };
    ctx.new_channel(capacity)
}

fn channel_send<'s>(ctx: &mut NativeCtx<'s>) -> NativeResult<'s> {
    ctx.channel_send(ctx.receiver(), ctx.arg(0))?;
    Ok(Handle::nil())
}

fn channel_recv<'s>(ctx: &mut NativeCtx<'s>) -> NativeResult<'s> {
    ctx.channel_recv(ctx.receiver())
}

fn channel_close<'s>(ctx: &mut NativeCtx<'s>) -> NativeResult<'s> {
    ctx.channel_close(ctx.receiver())?;
    Ok(Handle::nil())
}

fn coroutine_join<'s>(ctx: &mut NativeCtx<'s>) -> NativeResult<'s> {
    ctx.coroutine_join(ctx.receiver())
}

fn coroutine_done<'s>(ctx: &mut NativeCtx<'s>) -> NativeResult<'s> {
    let done = ctx.coroutine_done(ctx.receiver())?;
    Ok(Handle::bool(done))
}

fn yield_now<'s>(ctx: &mut NativeCtx<'s>) -> NativeResult<'s> {
    ctx.yield_now();
    Ok(Handle::nil())
}

fn sleep<'s>(ctx: &mut NativeCtx<'s>) -> NativeResult<'s> {
    match ctx.arg(0).as_number() {
        Some(s) if !s.is_nan() => {
            ctx.sleep(s);
            Ok(Handle::nil())
        }
        _ => Err("sleep: seconds must be a number.".into()),
    }
}

// ------------------------------------------------------------------ other

/// `str(v)`: the text `print` would show, as a string.
fn str<'s>(ctx: &mut NativeCtx<'s>) -> NativeResult<'s> {
    let text = ctx.format(ctx.arg(0));
    ctx.string(&text)
}

fn clock<'s>(ctx: &mut NativeCtx<'s>) -> NativeResult<'s> {
    Ok(Handle::number(ctx.clock()))
}

// -------------------------------------------------------------- collector

/// `gc()`: a complete collection (mark, then every span swept).
fn gc<'s>(ctx: &mut NativeCtx<'s>) -> NativeResult<'s> {
    ctx.collect_garbage()?;
    Ok(Handle::nil())
}

/// `setGCPercent(n)`: sets GOGC-style pacing, returns the previous value
/// exactly as it was given (LANGUAGE.md §6), however large.
fn set_gc_percent<'s>(ctx: &mut NativeCtx<'s>) -> NativeResult<'s> {
    let n = integer(ctx.arg(0), "setGCPercent: percent must be an integer.")?;
    Ok(Handle::number(ctx.set_gc_percent(n)))
}

/// `gcStats()`: the collector's counters as a Map (LANGUAGE.md §6).
fn gc_stats<'s>(ctx: &mut NativeCtx<'s>) -> NativeResult<'s> {
    let s = ctx.gc_stats();
    let fields = [
        ("numGC", s.num_gc as f64),
        ("heapAlloc", s.heap_alloc as f64),
        ("heapObjects", s.heap_objects as f64),
        ("heapSys", s.heap_sys as f64),
        ("nextGC", s.next_gc as f64),
        ("pauseTotalNs", s.pause_total_ns as f64),
        ("maxPauseNs", s.max_pause_ns as f64),
        ("finalizersRun", ctx.finalizers_run() as f64),
        ("sweptBackground", s.swept_background as f64),
        ("sweptLazy", s.swept_lazy as f64),
        ("pauseP50Ns", s.pause_p50_ns as f64),
        ("pauseP99Ns", s.pause_p99_ns as f64),
        ("markAssistNs", s.mark_assist_ns as f64),
        ("markWorkerNs", s.mark_worker_ns as f64),
        ("stwSweepTermNs", s.stw_sweep_term_ns as f64),
        ("stwMarkTermNs", s.stw_mark_term_ns as f64),
    ];
    // Every key string is rooted by the call's handle scope while the
    // map grows.
    let map = ctx.new_map()?;
    for (name, n) in fields {
        let key = ctx.string(name.as_bytes())?;
        ctx.map_set(map, key, Handle::number(n))?;
    }
    Ok(map)
}

/// `setFinalizer(obj, fn)`: `fn(obj)` runs once after `obj` becomes
/// unreachable; `nil` removes it.
fn set_finalizer<'s>(ctx: &mut NativeCtx<'s>) -> NativeResult<'s> {
    ctx.set_finalizer(ctx.arg(0), ctx.arg(1))?;
    Ok(Handle::nil())
}
