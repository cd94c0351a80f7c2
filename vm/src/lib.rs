//! # vm — values, heap objects and the interpreter
//!
//! Code Map entry. `vm` owns the value representation (NaN-boxed
//! [`Value`]), the layout of every heap object (`object/`, which holds all
//! of this crate's `unsafe`), loading `lang`'s prototypes into heap objects,
//! the instruction loop (`interp.rs`), the roots the collector starts from
//! (`object/roots.rs`) and the weak interned-string set (`intern.rs`).
//!
//! **Architecture Invariants**: `vm` never parses (it calls
//! `lang::compile`); it allocates only through `gc::Heap` (no `Rc`, no
//! `Box`ed Lox objects); `unsafe` appears only under `object/`.
//!
//! **API Boundary**: [`native`] is all that `stdlib` may use.

#![deny(unsafe_op_in_unsafe_fn)]

mod channel;
mod collections;
mod error;
mod finalizer;
mod frame;
mod fused;
mod hash;
mod intern;
mod interp;
mod invariant;
mod load;
mod mutator;
pub mod native;
mod object;
mod print;
mod quicken;
mod sched;
mod seeds;
#[cfg(test)]
mod tests;
mod value;
mod verify;
mod vm;

pub use error::{Failed, InterpretError, RuntimeError, TraceLine, Unwind};
pub use invariant::Invariant;
pub use native::{Handle, MethodReceiver, NativeCtx, NativeError, NativeFn, NativeResult};
pub use print::format_value;
pub use sched::{ChannelInfo, CoroutineInfo, CoroutineState, Idle};
#[cfg(any(test, feature = "seed-bugs"))]
pub use seeds::VmSeed;
pub use value::Value;
pub use vm::{OnBackgroundError, Vm, VmOptions};
