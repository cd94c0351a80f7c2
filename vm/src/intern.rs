//! The interned-string set. Every Lox string is interned (as in clox), so
//! string equality is pointer equality and table lookups compare pointers.
//!
//! The set is *weak*: it is not a root. After marking, the collector calls
//! `sweep_weak`, which drops every string marking did not reach, before any
//! span is swept (so no dangling entry survives into the next allocation).

use crate::object::{Gc, StringObj};
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
}

impl InternSet {
    pub fn new() -> InternSet {
        InternSet {
            slots: vec![Slot::EMPTY; 256],
            used: 0,
            live: 0,
        }
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
        for slot in old {
            if let Some(s) = slot.string {
                self.place(s, slot.hash);
            }
        }
    }

    /// Drops every string the last mark did not reach.
    pub fn sweep_weak(&mut self, marks: &MarkView<'_>) {
        for slot in self.slots.iter_mut() {
            if let Some(s) = slot.string {
                if !marks.is_marked(s.as_ref().ptr()) {
                    *slot = Slot::TOMBSTONE;
                    self.live -= 1;
                }
            }
        }
    }
}

impl Default for InternSet {
    fn default() -> Self {
        InternSet::new()
    }
}
