//! The value representation: NaN-boxing, as clox's `NAN_BOXING` build.
//!
//! A `Value` is one `u64`. Every bit pattern that is not a quiet NaN with
//! the bits of `QNAN` set is an IEEE double. Inside that quiet-NaN space
//! the low bits tag `nil`, `false` and `true`, and the sign bit marks an
//! object pointer (x86-64 and aarch64 user pointers fit in 48 bits).
//!
//! Why: one word per stack slot halves stack traffic against a 16-byte
//! tagged enum, and `==` on two non-numbers is a single integer compare.
//! Measured with `bench/value_repr.rs` (the same small stack interpreter
//! over both representations): a 16-byte tagged enum took 1.28-1.53x the
//! NaN-boxed time on a numeric loop, mixed-type equality and strided reads
//! (two runs on the 2-core bench machine, busy with other work at the
//! time). loam's interpreter itself was not built both ways.

use crate::object::{ObjKind, ObjRef};

const SIGN_BIT: u64 = 0x8000_0000_0000_0000;
const QNAN: u64 = 0x7ffc_0000_0000_0000;
const TAG_NIL: u64 = 1;
const TAG_FALSE: u64 = 2;
const TAG_TRUE: u64 = 3;
const TAG_UNDEF: u64 = 4;
const OBJ_MASK: u64 = SIGN_BIT | QNAN;

#[derive(Clone, Copy, PartialEq, Eq, Hash)]
#[repr(transparent)]
pub struct Value(u64);

impl Value {
    pub const NIL: Value = Value(QNAN | TAG_NIL);
    pub const FALSE: Value = Value(QNAN | TAG_FALSE);
    pub const TRUE: Value = Value(QNAN | TAG_TRUE);
    /// Not a Lox value: marks a removed map entry. No Lox operation can
    /// produce it, so it never equals a key.
    pub(crate) const UNDEF: Value = Value(QNAN | TAG_UNDEF);

    #[inline(always)]
    pub fn number(n: f64) -> Value {
        Value(n.to_bits())
    }

    #[inline(always)]
    pub fn bool(b: bool) -> Value {
        if b {
            Value::TRUE
        } else {
            Value::FALSE
        }
    }

    #[inline(always)]
    pub fn obj(r: ObjRef) -> Value {
        Value(OBJ_MASK | r.addr() as u64)
    }

    #[inline(always)]
    pub fn bits(self) -> u64 {
        self.0
    }

    #[inline(always)]
    pub fn is_number(self) -> bool {
        self.0 & QNAN != QNAN
    }

    #[inline(always)]
    pub fn as_number(self) -> f64 {
        f64::from_bits(self.0)
    }

    #[inline(always)]
    pub fn is_nil(self) -> bool {
        self.0 == Value::NIL.0
    }

    #[inline(always)]
    pub fn is_bool(self) -> bool {
        self.0 | 1 == Value::TRUE.0
    }

    #[inline(always)]
    pub fn is_obj(self) -> bool {
        self.0 & OBJ_MASK == OBJ_MASK
    }

    #[inline(always)]
    pub fn as_obj(self) -> Option<ObjRef> {
        if self.is_obj() {
            ObjRef::from_addr((self.0 & !OBJ_MASK) as usize)
        } else {
            None
        }
    }

    /// The object as a typed handle, if this value is an object.
    #[inline(always)]
    pub fn view(self) -> Option<crate::object::View> {
        self.as_obj().map(ObjRef::view)
    }

    /// The object's kind, if this value is an object.
    #[inline(always)]
    pub fn obj_kind(self) -> Option<ObjKind> {
        self.as_obj().map(|o| o.kind())
    }

    #[inline(always)]
    pub fn is_kind(self, kind: ObjKind) -> bool {
        self.obj_kind() == Some(kind)
    }

    /// Lox truthiness: only `nil` and `false` are falsey.
    #[inline(always)]
    pub fn is_falsey(self) -> bool {
        self.0 == Value::NIL.0 || self.0 == Value::FALSE.0
    }

    /// clox's `valuesEqual` under NaN-boxing: numbers compare as doubles
    /// (so NaN != NaN), everything else by bits (strings are interned).
    #[inline(always)]
    pub fn lox_eq(self, other: Value) -> bool {
        if self.is_number() && other.is_number() {
            self.as_number() == other.as_number()
        } else {
            self.0 == other.0
        }
    }
}

impl std::fmt::Debug for Value {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.is_number() {
            write!(f, "{}", self.as_number())
        } else if self.is_nil() {
            f.write_str("nil")
        } else if self.is_bool() {
            write!(f, "{}", *self == Value::TRUE)
        } else {
            write!(f, "<obj {:#x}>", self.0 & !OBJ_MASK)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_round_trip_and_are_not_tags() {
        for n in [0.0, -0.0, 1.5, f64::INFINITY, f64::NEG_INFINITY, 1e300] {
            let v = Value::number(n);
            assert!(v.is_number());
            assert_eq!(v.as_number().to_bits(), n.to_bits());
        }
        let nan = Value::number(f64::NAN);
        assert!(nan.is_number());
        assert!(!nan.lox_eq(nan), "NaN is not equal to itself, as in clox");
        assert!(!Value::NIL.is_number());
        assert!(!Value::TRUE.is_number());
        assert!(Value::TRUE.is_bool() && Value::FALSE.is_bool());
        assert!(!Value::NIL.is_bool());
        assert!(Value::NIL.is_falsey() && Value::FALSE.is_falsey());
        assert!(!Value::number(0.0).is_falsey());
    }
}
