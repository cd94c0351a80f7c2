//! The interned-string set. Every Lox string is interned (as in clox), so
//! string equality is pointer equality and table lookups compare pointers.
//!
//! The set is *weak*: it is not a root. After marking, the collector calls
//! `sweep_weak`, which drops every string marking did not reach, before any
//! span is swept (so no dangling entry survives into the next allocation).
//!
//! That happens with the world stopped, so it must not cost a test per
//! string there: while the mark runs, the mutator *settles* the set a
//! stretch at a time (`settle`, at its polls), and the pause tests only
//! the slots left unsettled (INTERN_SETTLED).

use crate::invariant::{vm_throw, Invariant};
use crate::object::{Gc, ObjRef, StringObj};
use gc::MarkView;

/// One slot: empty (`string` none, `hash` 0), a tombstone (`string` none,
/// `hash` 1) or a string with its hash kept beside it, so probing, growing
/// and comparing never load a string that is not the one sought (each
/// load is a likely cache miss in a big set).
#[derive(Clone, Copy)]
struct Slot {
    string: Option<Gc<StringObj>>,
    hash: u32,
}

impl Slot {
    const EMPTY: Slot = Slot {
        string: None,
        hash: 0,
    };
    const TOMBSTONE: Slot = Slot {
        string: None,
        hash: 1,
    };

    fn is_empty(self) -> bool {
        self.string.is_none() && self.hash == 0
    }
}

pub struct InternSet {
    slots: Vec<Slot>,
    /// Full slots plus tombstones.
    used: usize,
    live: usize,
    /// INTERN_SETTLED, while `settling` (a cycle marks): bit `i` set means
    /// slot `i` needs no test at mark termination. It was empty or a
    /// tombstone when settled, or held a string already marked (marks only
    /// grow during a mark, and sweep_weak is the only remover), or it was
    /// filled during the mark (strings are allocated black then). Cleared
    /// when a mark starts and when a rehash moves the slots.
    settled: Vec<u64>,
    settling: bool,
    /// The next slot `settle` looks at.
    cursor: usize,
}

impl InternSet {
    pub fn new() -> InternSet {
        InternSet {
            slots: vec![Slot::EMPTY; 256],
            used: 0,
            live: 0,
            settled: Vec::new(),
            settling: false,
            cursor: 0,
        }
    }

    /// A mark begins: nothing is settled yet.
    pub fn begin_mark(&mut self) {
        self.settled.clear();
        self.settled.resize(self.slots.len().div_ceil(64), 0);
        self.settling = true;
        self.cursor = 0;
    }

    fn set_settled(&mut self, i: usize) {
        if self.settling {
            self.settled[i / 64] |= 1 << (i % 64);
        }
    }

    /// Settles up to `n` more slots while a cycle marks (at least a 32nd
    /// of the set, so a big set takes as many calls as a small one): those
    /// empty or holding a string `marked` says is marked already
    /// (`Some(true)`; `gc::Heap::marked_so_far`). One pass over the set a
    /// cycle: what it leaves unsettled is tested at mark termination (a
    /// second pass, for strings marked since the first, measured slower
    /// overall than the pause it saved).
    pub fn settle(&mut self, n: usize, marked: impl Fn(ObjRef) -> Option<bool>) {
        if !self.settling {
            return;
        }
        let end = (self.cursor + n.max(self.slots.len() / 32)).min(self.slots.len());
        for i in self.cursor..end {
            let settled = match self.slots[i].string {
                None => true,
                Some(s) => marked(s.as_ref()) == Some(true),
            };
            if settled {
                self.set_settled(i);
            }
        }
        self.cursor = end;
    }

    /// The interned string equal to `a ++ b` with hash `hash`, if any.
    #[inline]
    pub fn find(&self, hash: u32, a: &[u8], b: &[u8]) -> Option<Gc<StringObj>> {
        let mask = self.slots.len() - 1;
        let mut i = hash as usize & mask;
        loop {
            let slot = self.slots[i];
            match slot.string {
                None if slot.is_empty() => return None,
                None => {}
                Some(s) if slot.hash == hash && s.len() == a.len() + b.len() => {
                    let bytes = s.as_bytes();
                    if &bytes[..a.len()] == a && &bytes[a.len()..] == b {
                        return Some(s);
                    }
                }
                Some(_) => {}
            }
            i = (i + 1) & mask;
        }
    }

    /// Adds a string known not to be present.
    pub fn insert(&mut self, s: Gc<StringObj>) {
        if (self.used + 1) * 2 > self.slots.len() {
            self.rehash();
        }
        self.place(s, s.hash());
    }

    /// Puts `s` (hash `hash`) in the first free slot of its probe
    /// sequence; the caller made room.
    fn place(&mut self, s: Gc<StringObj>, hash: u32) {
        let mask = self.slots.len() - 1;
        let mut i = hash as usize & mask;
        loop {
            let slot = self.slots[i];
            if slot.string.is_none() {
                if slot.is_empty() {
                    self.used += 1;
                }
                break;
            }
            i = (i + 1) & mask;
        }
        self.slots[i] = Slot {
            string: Some(s),
            hash,
        };
        self.live += 1;
        // During a mark `s` was allocated black (or is being moved by a
        // rehash, which cleared every bit).
        self.set_settled(i);
    }

    fn rehash(&mut self) {
        let cap = if self.live * 4 >= self.slots.len() {
            self.slots.len() * 2
        } else {
            self.slots.len()
        };
        let old = std::mem::replace(&mut self.slots, vec![Slot::EMPTY; cap]);
        self.used = 0;
        self.live = 0;
        // The strings move: what was settled is no longer where it was, and
        // a moved string may be one the mark has not reached.
        let settling = self.settling;
        self.settling = false;
        for slot in old {
            if let Some(s) = slot.string {
                self.place(s, slot.hash);
            }
        }
        if settling {
            self.begin_mark();
        }
    }

    /// Drops every string the last mark did not reach (mark termination,
    /// the world stopped), testing only the slots not settled; `verify`
    /// tests the settled ones too and throws INTERN_SETTLED on a string
    /// that was settled but is not marked.
    pub fn sweep_weak(&mut self, marks: &MarkView<'_>, verify: bool) {
        self.sweep_weak_with(|s| marks.is_marked(s.ptr()), verify);
    }

    pub(crate) fn sweep_weak_with(&mut self, is_marked: impl Fn(ObjRef) -> bool, verify: bool) {
        for w in 0..self.slots.len().div_ceil(64) {
            let settled = if self.settling { self.settled[w] } else { 0 };
            // Verify mode tests the settled slots too; otherwise only the
            // others are read at all.
            let mut todo = if verify { u64::MAX } else { !settled };
            while todo != 0 {
                let bit = todo.trailing_zeros() as usize;
                todo &= todo - 1;
                let i = w * 64 + bit;
                let Some(s) = self.slots.get(i).and_then(|slot| slot.string) else {
                    continue;
                };
                if is_marked(s.as_ref()) {
                    continue;
                }
                if settled & (1 << bit) != 0 {
                    vm_throw(
                        Invariant::InternSettled,
                        format_args!(
                            "interned string {:?} was settled in slot {i} but is not marked",
                            String::from_utf8_lossy(s.as_bytes())
                        ),
                    );
                }
                self.slots[i] = Slot::TOMBSTONE;
                self.live -= 1;
            }
        }
        self.settling = false;
    }
}

impl Default for InternSet {
    fn default() -> Self {
        InternSet::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tests::vm_with_output;

    fn present(set: &InternSet, s: Gc<StringObj>) -> bool {
        set.find(s.hash(), s.as_bytes(), &[]) == Some(s)
    }

    /// INTERN_SETTLED: mark termination tests only the slots not settled
    /// during the mark. The predicate given to the sweep calls the settled
    /// strings unmarked, which would drop them if it were asked.
    #[test]
    fn the_pause_tests_only_unsettled_slots() {
        let (mut vm, _) = vm_with_output();
        let [a, b, c, d] =
            ["a", "b", "c", "d"].map(|n| vm.mu.intern(n.as_bytes()).expect("interned"));
        let mut set = InternSet::new();
        for s in [a, b, c] {
            set.insert(s);
        }
        set.begin_mark();
        // The mark has reached `a` when the set is settled.
        set.settle(usize::MAX, |o| Some(o == a.as_ref()));
        // `d` is interned during the mark (allocated black).
        set.insert(d);
        // At termination `b` has been marked since; `c` never was.
        set.sweep_weak_with(|o| o == b.as_ref(), false);
        assert!(present(&set, a), "a was settled: not tested");
        assert!(present(&set, d), "d was interned during the mark");
        assert!(present(&set, b), "b is marked");
        assert!(!present(&set, c), "c died");
        assert!(!set.settling, "the mark is over");
    }

    /// A rehash during the mark moves every string: nothing stays settled
    /// but what is interned after it, so the pause tests the rest.
    #[test]
    fn a_rehash_during_the_mark_unsettles_the_moved_strings() {
        let (mut vm, _) = vm_with_output();
        let mut set = InternSet::new();
        let first = vm.mu.intern(b"first").expect("interned");
        set.insert(first);
        set.begin_mark();
        set.settle(usize::MAX, |_| Some(true));
        let mut during = Vec::new();
        while set.slots.len() == 256 {
            let s = vm
                .mu
                .intern(format!("s{}", during.len()).as_bytes())
                .expect("interned");
            set.insert(s);
            during.push(s);
        }
        let last = *during.last().expect("a rehash came");
        // The sweep says nothing is marked: only what is still settled
        // (interned after the rehash) survives untested.
        set.sweep_weak_with(|_| false, false);
        assert!(!present(&set, first), "moved by the rehash: tested");
        assert!(present(&set, last), "interned after the rehash: settled");
        assert!(!present(&set, during[0]), "moved by the rehash: tested");
    }

    /// Outside a mark nothing is settled: the sweep tests every string.
    #[test]
    fn without_a_mark_every_string_is_tested() {
        let (mut vm, _) = vm_with_output();
        let s = vm.mu.intern(b"x").expect("interned");
        let mut set = InternSet::new();
        set.insert(s);
        set.settle(usize::MAX, |_| Some(true));
        set.sweep_weak_with(|_| false, false);
        assert!(!present(&set, s));
    }
}
