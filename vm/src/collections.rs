//! Lists and maps: the operations behind `[...]`, indexing and their
//! native methods, as functions over the mutator and a handle. Every
//! growth allocates a new array (a safepoint), so each operation takes its
//! list or map as a handle the caller keeps rooted (on the stack, or in a
//! native's scope), and re-reads fields after allocating.

use crate::error::RuntimeError;
use crate::hash::hash_word;
use crate::mutator::Mutator;
use crate::object::{BytesObj, Gc, ListObj, MapObj, StringObj, ValueArrayObj};
use crate::value::Value;

/// A map key after validation: `-0` folded into `0`; NaN refused.
fn normalize_key(key: Value) -> Result<Value, &'static str> {
    if key.is_number() {
        let n = key.as_number();
        if n.is_nan() {
            return Err("Map key can't be NaN.");
        }
        if n == 0.0 {
            return Ok(Value::number(0.0));
        }
    }
    Ok(key)
}

fn key_hash(key: Value) -> u32 {
    match key.as_obj().and_then(|o| o.downcast::<StringObj>()) {
        Some(s) => s.hash(),
        None => hash_word(key.bits()),
    }
}

/// A list index: an integer-valued number in `0..len` (or `0..=len` when
/// `inclusive`, for `insert`).
#[inline]
pub(crate) fn list_index(index: Value, len: usize, inclusive: bool) -> Result<usize, &'static str> {
    if !index.is_number() {
        return Err("List index must be an integer.");
    }
    let n = index.as_number();
    // A saturating cast round-trips exactly for integer values only (NaN
    // becomes 0, infinities and huge values saturate: none compare equal).
    let i = n as i64;
    if i as f64 != n {
        // Every finite double of magnitude 2^53 or more is an integer (one
        // that saturated the cast): out of range, not fractional.
        if n.is_finite() && n.abs() >= 9_007_199_254_740_992.0 {
            return Err("List index out of range.");
        }
        return Err("List index must be an integer.");
    }
    let limit = if inclusive {
        len as i64
    } else {
        len as i64 - 1
    };
    if i < 0 || i > limit {
        return Err("List index out of range.");
    }
    Ok(i as usize)
}

// ---------------------------------------------------------------- lists

/// A list holding `values` (which the caller keeps rooted).
pub(crate) fn new_list_from(
    mu: &mut Mutator,
    values: &[Value],
) -> Result<Gc<ListObj>, RuntimeError> {
    let items = if values.is_empty() {
        None
    } else {
        let a = mu
            .alloc(ValueArrayObj::size_for(values.len()))?
            .init_value_array(values.len());
        for (i, &v) in values.iter().enumerate() {
            a.set(&mut mu.wb, i, v);
        }
        Some(a)
    };
    if let Some(a) = items {
        mu.temp_roots.push(a.value());
    }
    let list = mu.alloc(ListObj::SIZE);
    if items.is_some() {
        mu.temp_roots.pop();
    }
    Ok(list?.init_list(values.len(), items))
}

/// Makes room for `extra` more elements, doubling the capacity.
fn list_reserve(mu: &mut Mutator, list: Gc<ListObj>, extra: usize) -> Result<(), RuntimeError> {
    let need = list.count() + extra;
    let cap = list.capacity();
    if need <= cap {
        return Ok(());
    }
    let new_cap = need.max(cap * 2).max(4);
    let fresh = mu
        .alloc(ValueArrayObj::size_for(new_cap))?
        .init_value_array(new_cap);
    if let Some(old) = list.items() {
        fresh.copy_prefix_from(&mut mu.wb, old, list.count());
    }
    list.set_items(&mut mu.wb, fresh);
    Ok(())
}

#[inline]
pub(crate) fn list_push(mu: &mut Mutator, list: Gc<ListObj>, v: Value) -> Result<(), RuntimeError> {
    let n = list.count();
    if let Some(items) = list.items().filter(|a| n < a.len()) {
        items.set(&mut mu.wb, n, v);
        list.set_count(n + 1);
        return Ok(());
    }
    list_push_growing(mu, list, v)
}

#[inline(never)]
fn list_push_growing(mu: &mut Mutator, list: Gc<ListObj>, v: Value) -> Result<(), RuntimeError> {
    list_reserve(mu, list, 1)?;
    let n = list.count();
    if let Some(items) = list.items() {
        items.set(&mut mu.wb, n, v);
    }
    list.set_count(n + 1);
    Ok(())
}

pub(crate) fn list_insert(
    mu: &mut Mutator,
    list: Gc<ListObj>,
    at: usize,
    v: Value,
) -> Result<(), RuntimeError> {
    list_reserve(mu, list, 1)?;
    let n = list.count();
    if let Some(items) = list.items() {
        let mut i = n;
        while i > at {
            items.set(&mut mu.wb, i, items.get(i - 1));
            i -= 1;
        }
        items.set(&mut mu.wb, at, v);
    }
    list.set_count(n + 1);
    Ok(())
}

pub(crate) fn list_remove(mu: &mut Mutator, list: Gc<ListObj>, at: usize) -> Value {
    let n = list.count();
    let Some(items) = list.items() else {
        return Value::NIL;
    };
    let v = items.get(at);
    for i in at..n - 1 {
        items.set(&mut mu.wb, i, items.get(i + 1));
    }
    items.set(&mut mu.wb, n - 1, Value::NIL);
    list.set_count(n - 1);
    v
}

pub(crate) fn list_set(mu: &mut Mutator, list: Gc<ListObj>, at: usize, v: Value) {
    if let Some(items) = list.items() {
        items.set(&mut mu.wb, at, v);
    }
}

// ----------------------------------------------------------------- maps

fn map_find(map: Gc<MapObj>, key: Value) -> Option<usize> {
    let (entries, index) = (map.entries()?, map.index()?);
    let mask = index.len() / 4 - 1;
    let mut i = key_hash(key) as usize & mask;
    loop {
        match index.get_u32(i) {
            0 => return None,
            MapObj::TOMBSTONE => {}
            slot => {
                let e = slot as usize - 1;
                if entries.get(2 * e) == key {
                    return Some(e);
                }
            }
        }
        i = (i + 1) & mask;
    }
}

pub(crate) fn map_get(map: Gc<MapObj>, key: Value) -> Result<Value, &'static str> {
    let key = normalize_key(key)?;
    Ok(match (map_find(map, key), map.entries()) {
        (Some(e), Some(entries)) => entries.get(2 * e + 1),
        _ => Value::NIL,
    })
}

pub(crate) fn map_has(map: Gc<MapObj>, key: Value) -> Result<bool, &'static str> {
    let key = normalize_key(key)?;
    Ok(map_find(map, key).is_some())
}

/// Rebuilds entries (live ones, in order) and index with room for
/// `capacity` entries.
fn map_rebuild(mu: &mut Mutator, map: Gc<MapObj>, capacity: usize) -> Result<(), RuntimeError> {
    let entries = mu
        .alloc(ValueArrayObj::size_for(2 * capacity))?
        .init_value_array(2 * capacity);
    mu.temp_roots.push(entries.value());
    let slots = (capacity * 2).next_power_of_two();
    let index = mu.alloc(BytesObj::size_for(4 * slots));
    mu.temp_roots.pop();
    let index = index?.init_bytes(&vec![0u8; 4 * slots]);
    let mut n = 0;
    if let Some(old) = map.entries() {
        for e in 0..map.used() {
            let k = old.get(2 * e);
            if k == Value::UNDEF {
                continue;
            }
            entries.set(&mut mu.wb, 2 * n, k);
            entries.set(&mut mu.wb, 2 * n + 1, old.get(2 * e + 1));
            let mut i = key_hash(k) as usize & (slots - 1);
            while index.get_u32(i) != 0 {
                i = (i + 1) & (slots - 1);
            }
            index.set_u32(i, n as u32 + 1);
            n += 1;
        }
    }
    map.set_storage(&mut mu.wb, entries, index);
    map.set_counts(n, n);
    Ok(())
}

/// `map[key] = value`. Key and value must be rooted.
pub(crate) fn map_set(
    mu: &mut Mutator,
    map: Gc<MapObj>,
    key: Value,
    value: Value,
) -> Result<(), RuntimeError> {
    let key = normalize_key(key).map_err(|m| mu.error(m))?;
    if let (Some(e), Some(entries)) = (map_find(map, key), map.entries()) {
        entries.set(&mut mu.wb, 2 * e + 1, value);
        return Ok(());
    }
    let capacity = map.entries().map_or(0, |e| e.len() / 2);
    if map.used() == capacity {
        // Full: grow if mostly live, else just squeeze out removals.
        let new_cap = if map.count() * 2 >= capacity {
            (capacity * 2).max(8)
        } else {
            capacity
        };
        map_rebuild(mu, map, new_cap)?;
    }
    let (Some(entries), Some(index)) = (map.entries(), map.index()) else {
        return Err(mu.error("Map storage missing."));
    };
    let e = map.used();
    entries.set(&mut mu.wb, 2 * e, key);
    entries.set(&mut mu.wb, 2 * e + 1, value);
    let mask = index.len() / 4 - 1;
    let mut i = key_hash(key) as usize & mask;
    loop {
        let s = index.get_u32(i);
        if s == 0 || s == MapObj::TOMBSTONE {
            break;
        }
        i = (i + 1) & mask;
    }
    index.set_u32(i, e as u32 + 1);
    map.set_counts(map.count() + 1, e + 1);
    Ok(())
}

pub(crate) fn map_remove(
    mu: &mut Mutator,
    map: Gc<MapObj>,
    key: Value,
) -> Result<Value, &'static str> {
    let key = normalize_key(key)?;
    let Some(e) = map_find(map, key) else {
        return Ok(Value::NIL);
    };
    let (Some(entries), Some(index)) = (map.entries(), map.index()) else {
        return Ok(Value::NIL);
    };
    let v = entries.get(2 * e + 1);
    entries.set(&mut mu.wb, 2 * e, Value::UNDEF);
    entries.set(&mut mu.wb, 2 * e + 1, Value::NIL);
    let mask = index.len() / 4 - 1;
    let mut i = key_hash(key) as usize & mask;
    while index.get_u32(i) != e as u32 + 1 {
        i = (i + 1) & mask;
    }
    index.set_u32(i, MapObj::TOMBSTONE);
    map.set_counts(map.count() - 1, map.used());
    Ok(v)
}

/// Live (key, value) pairs in insertion order.
pub(crate) fn map_pairs(map: Gc<MapObj>) -> Vec<(Value, Value)> {
    let Some(entries) = map.entries() else {
        return Vec::new();
    };
    (0..map.used())
        .filter_map(|e| {
            let k = entries.get(2 * e);
            (k != Value::UNDEF).then(|| (k, entries.get(2 * e + 1)))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vm::VmOptions;

    /// `ListObj::element_at`, the fast path of `xs[i]`, answers only
    /// where `list_index` gives the same element, and misses no valid
    /// index.
    #[test]
    fn element_at_agrees_with_list_index() {
        let mut mu = Mutator::new(&VmOptions::default());
        let mut numbers = vec![
            0.0,
            -0.0,
            0.5,
            -0.5,
            -1.0,
            2.0,
            2.5,
            9.0,
            10.0,
            11.0,
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::MAX,
            f64::MIN,
            f64::MIN_POSITIVE,
            4_294_967_295.0,
            4_294_967_296.0,
            9_007_199_254_740_992.0,
            1e300,
        ];
        numbers.extend((0..200).map(|i| i as f64 * 0.37 - 20.0));
        for len in [0usize, 1, 3, 10] {
            let values: Vec<Value> = (0..len).map(|i| Value::number(i as f64 * 10.0)).collect();
            let list = new_list_from(&mut mu, &values).unwrap();
            for &n in &numbers {
                let slow = list_index(Value::number(n), len, false)
                    .ok()
                    .and_then(|i| list.get(i));
                assert_eq!(
                    list.element_at(n).map(|v| v.as_number()),
                    slow.map(|v| v.as_number()),
                    "index {n} of {len}"
                );
            }
            // The fused `xs[i]` does not test that `i` is a number: any
            // other value, read as one, must find nothing.
            let s = mu.intern(b"0").unwrap().value();
            for v in [
                Value::NIL,
                Value::TRUE,
                Value::FALSE,
                Value::UNDEF,
                s,
                list.value(),
            ] {
                assert!(!v.is_number());
                assert_eq!(list.element_at(v.as_number()), None, "{len}");
            }
        }
    }
}
