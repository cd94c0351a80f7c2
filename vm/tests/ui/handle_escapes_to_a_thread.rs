// A handle cannot be sent to another thread, which could outlive the
// call (and would race the mutator).
use vm::{Handle, NativeCtx, NativeResult};

fn leak<'s>(ctx: &mut NativeCtx<'s>) -> NativeResult<'s> {
    let s: Handle<'s> = ctx.string(b"escapee")?;
    std::thread::spawn(move || {
        let _ = s.as_bytes();
    });
    Ok(Handle::nil())
}

fn main() {
    let _: vm::NativeFn = leak;
}
