//! clox's open-addressing hash table keyed by interned strings, with its
//! slot array in the heap. The `Table` header itself lives inside its owner
//! (a class's methods, an instance's fields) or, for globals, in the VM.
//!
//! Growing needs an allocation, which is a safepoint, so it is split:
//! [`TableLoc::grow_to`] says whether the next insert needs a larger slot
//! array, the VM allocates it (its owner, and so the old array, stay
//! rooted), then [`TableLoc::install`] rehashes into it.

use super::{EntriesObj, Gc, StringObj, WriteBarrier};
use crate::value::Value;
use gc::Marker;
use std::ptr::NonNull;

#[derive(Clone, Copy)]
#[repr(C)]
pub struct Entry {
    /// `None` with a nil value: empty; `None` with `true`: a tombstone.
    pub key: Option<Gc<StringObj>>,
    pub value: Value,
}

impl Entry {
    pub const EMPTY: Entry = Entry {
        key: None,
        value: Value::NIL,
    };
}

#[repr(C)]
pub struct Table {
    /// Live entries plus tombstones (clox counts both toward the load).
    count: usize,
    entries: Option<Gc<EntriesObj>>,
}

impl Table {
    pub const fn new() -> Table {
        Table {
            count: 0,
            entries: None,
        }
    }
}

impl Default for Table {
    fn default() -> Self {
        Table::new()
    }
}

const MAX_LOAD_NUM: usize = 3;
const MAX_LOAD_DEN: usize = 4;

/// Where a table lives. A copyable pointer, valid while its owner is
/// (ROOTED); every method makes only short-lived references.
#[derive(Clone, Copy)]
pub struct TableLoc(NonNull<Table>);

impl TableLoc {
    pub(crate) fn new(p: NonNull<Table>) -> TableLoc {
        TableLoc(p)
    }

    /// For tables owned by Rust code (the globals): the caller keeps the
    /// `Table` at a fixed address (boxed) for as long as it uses the loc.
    pub fn of_boxed(t: &mut Box<Table>) -> TableLoc {
        TableLoc(NonNull::from(&mut **t))
    }

    #[inline(always)]
    fn table(&self) -> &Table {
        // SAFETY: ROOTED: the owner of the table is alive, and the table
        // is only mutated through `table_mut`, never while this borrow is
        // live (each method takes one or the other, briefly).
        unsafe { self.0.as_ref() }
    }

    #[inline(always)]
    #[allow(clippy::mut_from_ref)]
    fn table_mut(&self) -> &mut Table {
        // SAFETY: as `table`; the interpreter is single-threaded and no
        // other reference to this table is live during a method call.
        unsafe { &mut *self.0.as_ptr() }
    }

    pub fn count(&self) -> usize {
        self.table().count
    }

    /// The slot for `key`: its entry, or where it would be inserted (the
    /// first tombstone met, else the empty slot that ended the probe).
    #[inline(always)]
    fn find(entries: Gc<EntriesObj>, key: Gc<StringObj>) -> usize {
        let mask = entries.capacity() - 1;
        let mut index = key.hash() as usize & mask;
        let mut tombstone = None;
        loop {
            let e = entries.get(index);
            match e.key {
                Some(k) if k == key => return index,
                Some(_) => {}
                None => {
                    if e.value.is_nil() {
                        return tombstone.unwrap_or(index);
                    }
                    tombstone.get_or_insert(index);
                }
            }
            index = (index + 1) & mask;
        }
    }

    #[inline(always)]
    pub fn get(&self, key: Gc<StringObj>) -> Option<Value> {
        let entries = self.table().entries?;
        let e = entries.get(Self::find(entries, key));
        e.key.map(|_| e.value)
    }

    pub fn contains(&self, key: Gc<StringObj>) -> bool {
        self.get(key).is_some()
    }

    /// `Some(capacity)` if inserting one more key needs a slot array of
    /// that capacity first.
    #[inline(always)]
    pub fn grow_to(&self) -> Option<usize> {
        let t = self.table();
        let cap = t.entries.map_or(0, |e| e.capacity());
        if (t.count + 1) * MAX_LOAD_DEN > cap * MAX_LOAD_NUM {
            Some(if cap < 8 { 8 } else { cap * 2 })
        } else {
            None
        }
    }

    /// Rehashes every live entry into `fresh` (empty, from `init_entries`)
    /// and makes it the table's slot array. Tombstones are dropped.
    pub fn install(&self, wb: &mut WriteBarrier, fresh: Gc<EntriesObj>) {
        let mut count = 0;
        if let Some(old) = self.table().entries {
            for i in 0..old.capacity() {
                let e = old.get(i);
                if let Some(k) = e.key {
                    fresh.put(wb, Self::find(fresh, k), e);
                    count += 1;
                }
            }
        }
        self.table_mut().count = count;
        // The header lives inside its owner (a class or instance, or the
        // mutator for the globals), so the new array pointer is a store.
        // SAFETY: ROOTED (the owner is alive); the field is aligned and no
        // reference to the table is live here.
        unsafe {
            wb.write(
                std::ptr::addr_of_mut!((*self.0.as_ptr()).entries),
                Some(fresh),
            )
        };
    }

    /// Inserts or overwrites. Returns true if the key was new. The caller
    /// has made room (`grow_to` returned `None`, or `install` ran).
    #[inline(always)]
    pub fn set(&self, wb: &mut WriteBarrier, key: Gc<StringObj>, value: Value) -> bool {
        let t = self.table_mut();
        let Some(entries) = t.entries else {
            // Callers grow first; an absent array here is a VM bug, and
            // failing loudly beats writing nowhere.
            panic!("table set without capacity");
        };
        let i = Self::find(entries, key);
        let e = entries.get(i);
        let is_new = e.key.is_none();
        if is_new && e.value.is_nil() {
            t.count += 1;
        }
        entries.put(
            wb,
            i,
            Entry {
                key: Some(key),
                value,
            },
        );
        is_new
    }

    /// Live entries, in slot order.
    pub fn entries(&self) -> Vec<Entry> {
        match self.table().entries {
            Some(e) => e
                .as_slice()
                .iter()
                .copied()
                .filter(|e| e.key.is_some())
                .collect(),
            None => Vec::new(),
        }
    }

    /// Marks the slot array (the array's own tracing marks keys/values),
    /// reading the pointer as a concurrent marker must (`load_shared`).
    pub fn mark_entries(&self, m: &mut Marker<'_>) {
        // SAFETY: ROOTED (the owner is alive); the field is written only
        // through the barrier (`install`).
        let entries =
            unsafe { super::barrier::load_shared(std::ptr::addr_of!((*self.0.as_ptr()).entries)) };
        if let Some(e) = entries {
            m.mark(e.as_ref().ptr());
        }
    }
}
