//! Hashing with a per-process random key.
//!
//! Strings, map keys and table probes all start from these hashes. A fixed
//! hash (clox's FNV-1a) lets a program build thousands of keys with one
//! hash and turn every table into a linear scan; with a secret key chosen
//! at start-up it cannot. Nothing observable depends on the hash: tables
//! are not iterated in hash order by any Lox operation (maps keep
//! insertion order).

use std::hash::{BuildHasher, Hasher, RandomState};
use std::sync::OnceLock;

fn state() -> &'static RandomState {
    static STATE: OnceLock<RandomState> = OnceLock::new();
    STATE.get_or_init(RandomState::new)
}

/// The hash of `a ++ b` (SipHash-1-3 streams bytes, so this equals hashing
/// the concatenation; tested below).
pub fn hash_concat(a: &[u8], b: &[u8]) -> u32 {
    let mut h = state().build_hasher();
    h.write(a);
    h.write(b);
    let x = h.finish();
    (x ^ (x >> 32)) as u32
}

pub fn hash_bytes(bytes: &[u8]) -> u32 {
    hash_concat(bytes, &[])
}

/// A keyed mix of a 64-bit word (map keys that are not strings).
pub fn hash_word(w: u64) -> u32 {
    let mut h = state().build_hasher();
    h.write_u64(w);
    let x = h.finish();
    (x ^ (x >> 32)) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn concat_hash_equals_hash_of_concatenation() {
        for (a, b) in [
            ("", ""),
            ("a", "b"),
            ("hello", ", world"),
            ("0123456789abcdef", "x"),
        ] {
            let joined = format!("{a}{b}");
            assert_eq!(
                hash_concat(a.as_bytes(), b.as_bytes()),
                hash_bytes(joined.as_bytes())
            );
        }
        assert_ne!(hash_bytes(b"a"), hash_bytes(b"b"));
    }
}
