// A handle kept past its native call would be unrooted when the call's
// scope closes; storing it anywhere 'static must not compile.
use std::cell::RefCell;
use vm::{Handle, NativeCtx, NativeResult};

thread_local! {
    static KEPT: RefCell<Vec<Handle<'static>>> = const { RefCell::new(Vec::new()) };
}

fn keep<'s>(ctx: &mut NativeCtx<'s>) -> NativeResult<'s> {
    let s = ctx.string(b"escapee")?;
    KEPT.with(|k| k.borrow_mut().push(s));
    Ok(s)
}

fn main() {
    let _: vm::NativeFn = keep;
}
