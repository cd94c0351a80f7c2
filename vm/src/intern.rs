//! The interned-string set. Every Lox string is interned (as in clox), so
//! string equality is pointer equality and table lookups compare pointers.
//!
//! The set is *weak*: it is not a root. After marking, the collector calls
//! `sweep_weak`, which drops every string marking did not reach, before any
//! span is swept (so no dangling entry survives into the next allocation).

use crate::object::{Gc, StringObj};
use gc::MarkView;

#[derive(Clone, Copy)]
enum Slot {
    Empty,
    Tombstone,
    Full(Gc<StringObj>),
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
            slots: vec![Slot::Empty; 256],
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
            match self.slots[i] {
                Slot::Empty => return None,
                Slot::Tombstone => {}
                Slot::Full(s) => {
                    if s.hash() == hash && s.len() == a.len() + b.len() {
                        let bytes = s.as_bytes();
                        if &bytes[..a.len()] == a && &bytes[a.len()..] == b {
                            return Some(s);
                        }
                    }
                }
            }
            i = (i + 1) & mask;
        }
    }

    /// Adds a string known not to be present.
    pub fn insert(&mut self, s: Gc<StringObj>) {
        if (self.used + 1) * 2 > self.slots.len() {
            self.rehash();
        }
        let mask = self.slots.len() - 1;
        let mut i = s.hash() as usize & mask;
        loop {
            match self.slots[i] {
                Slot::Empty => {
                    self.used += 1;
                    break;
                }
                Slot::Tombstone => break,
                Slot::Full(_) => i = (i + 1) & mask,
            }
        }
        self.slots[i] = Slot::Full(s);
        self.live += 1;
    }

    fn rehash(&mut self) {
        let cap = if self.live * 4 >= self.slots.len() {
            self.slots.len() * 2
        } else {
            self.slots.len()
        };
        let old = std::mem::replace(&mut self.slots, vec![Slot::Empty; cap]);
        self.used = 0;
        self.live = 0;
        for slot in old {
            if let Slot::Full(s) = slot {
                self.insert(s);
            }
        }
    }

    /// Drops every string the last mark did not reach.
    pub fn sweep_weak(&mut self, marks: &MarkView<'_>) {
        for slot in self.slots.iter_mut() {
            if let Slot::Full(s) = *slot {
                if !marks.is_marked(s.as_ref().ptr()) {
                    *slot = Slot::Tombstone;
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
