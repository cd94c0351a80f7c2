//! The value stack, with unchecked slot access.
//!
//! **STACK_RESERVED**: whenever a frame runs, `capacity >= base +
//! max_stack` of its function, where `max_stack` is the verifier's bound on
//! the frame's height (VERIFIED, `verify.rs`). `Vm::call` reserves it before
//! pushing the frame. So every push the frame's code makes stays below the
//! capacity, every local slot it names is below `sp`, and every pop has a
//! value under it. Debug builds (and the test suite) assert each access.

use crate::value::Value;

pub struct Stack {
    slots: Box<[Value]>,
    sp: usize,
}

impl Stack {
    pub fn new(capacity: usize) -> Stack {
        Stack {
            slots: vec![Value::NIL; capacity.max(16)].into_boxed_slice(),
            sp: 0,
        }
    }

    #[inline(always)]
    pub fn len(&self) -> usize {
        self.sp
    }

    /// Makes room for `extra` more values above `sp` (STACK_RESERVED).
    /// Growing moves the values; nothing holds their addresses (open
    /// upvalues name slots by index).
    #[inline(always)]
    pub fn reserve(&mut self, extra: usize) {
        if self.sp + extra > self.slots.len() {
            self.grow(self.sp + extra);
        }
    }

    #[cold]
    fn grow(&mut self, need: usize) {
        {
            let mut cap = self.slots.len();
            while cap < need {
                cap *= 2;
            }
            let mut bigger = vec![Value::NIL; cap].into_boxed_slice();
            bigger[..self.sp].copy_from_slice(&self.slots[..self.sp]);
            self.slots = bigger;
        }
    }

    #[inline(always)]
    pub fn push(&mut self, v: Value) {
        debug_assert!(
            self.sp < self.slots.len(),
            "STACK_RESERVED: push past capacity"
        );
        // SAFETY: STACK_RESERVED: the running frame's verified height bound
        // was reserved, so `sp < capacity`.
        unsafe { *self.slots.get_unchecked_mut(self.sp) = v };
        self.sp += 1;
    }

    #[inline(always)]
    pub fn pop(&mut self) -> Value {
        debug_assert!(self.sp > 0, "VERIFIED: pop from an empty stack");
        self.sp -= 1;
        // SAFETY: VERIFIED: no instruction pops more than the height, so
        // `sp` was > 0 and the new `sp` indexes a written slot.
        unsafe { *self.slots.get_unchecked(self.sp) }
    }

    /// The value `distance` slots below the top (0 = top).
    #[inline(always)]
    pub fn peek(&self, distance: usize) -> Value {
        debug_assert!(distance < self.sp, "VERIFIED: peek below the stack");
        // SAFETY: VERIFIED: an instruction peeks only at values it will pop,
        // which exist; so `sp - 1 - distance` is a written slot.
        unsafe { *self.slots.get_unchecked(self.sp - 1 - distance) }
    }

    /// Overwrites the value `distance` below the top.
    #[inline(always)]
    pub fn set_top(&mut self, distance: usize, v: Value) {
        debug_assert!(distance < self.sp, "VERIFIED: set below the stack");
        // SAFETY: as `peek`.
        unsafe { *self.slots.get_unchecked_mut(self.sp - 1 - distance) = v };
    }

    #[inline(always)]
    pub fn get(&self, i: usize) -> Value {
        debug_assert!(i < self.sp, "VERIFIED: slot above the stack");
        // SAFETY: VERIFIED: local slots are below the frame's height, so
        // `base + slot < sp <= capacity`.
        unsafe { *self.slots.get_unchecked(i) }
    }

    #[inline(always)]
    pub fn set(&mut self, i: usize, v: Value) {
        debug_assert!(i < self.sp, "VERIFIED: slot above the stack");
        // SAFETY: as `get`.
        unsafe { *self.slots.get_unchecked_mut(i) = v };
    }

    #[inline(always)]
    pub fn truncate(&mut self, len: usize) {
        debug_assert!(len <= self.sp);
        self.sp = len.min(self.sp);
    }

    pub fn clear(&mut self) {
        self.sp = 0;
    }

    /// The live values (the collector's root view).
    pub fn as_slice(&self) -> &[Value] {
        &self.slots[..self.sp]
    }
}
