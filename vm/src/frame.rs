//! Call frames. Kept in a Rust `Vec` owned by the VM (a root), not in the
//! heap: a frame holds only a closure handle and two indexes.

use crate::object::{ClosureObj, Gc};

/// clox's `FRAMES_MAX`: calls nested deeper are `Stack overflow.`
pub const FRAMES_MAX: usize = 64;

#[derive(Clone, Copy)]
pub struct CallFrame {
    pub closure: Gc<ClosureObj>,
    /// Offset of the next instruction in the closure's code. Saved here
    /// only when the frame stops being the innermost one (a call) or an
    /// error needs the line; the loop keeps the live copy in a local.
    pub ip: usize,
    /// Stack index of slot 0 (the callee, or `this`).
    pub base: usize,
}
