//! Hashing with a per-process random key.
//!
//! Strings, map keys and table probes all start from these hashes. A fixed
//! hash (clox's FNV-1a) lets a program build thousands of keys with one
//! hash and turn every table into a linear scan; with a secret key chosen
//! at start-up it cannot. Nothing observable depends on the hash: tables
//! are not iterated in hash order by any Lox operation (maps keep
//! insertion order).
//!
//! The function is a keyed folded multiply over the input's 8-byte words
//! (the construction of wyhash and foldhash): each word is mixed into the
//! state by a 64×64→128-bit multiply with a secret factor, whose halves
//! are xored. It is not a cryptographic hash (SipHash, used before, cost
//! 15-20 ns a short string and showed as 6-8% of a map benchmark's time);
//! what it keeps is the property above: without the key, which nothing
//! prints, a program cannot choose inputs whose hashes collide.

use std::hash::{BuildHasher, RandomState};
use std::sync::OnceLock;

/// The secret: an initial state and three multiply factors.
struct Key {
    seed: u64,
    word: u64,
    len: u64,
    finish: u64,
}

fn key() -> &'static Key {
    static KEY: OnceLock<Key> = OnceLock::new();
    KEY.get_or_init(|| {
        // The standard library's per-process random SipHash key, drawn
        // from the OS: four independent outputs of it.
        let state = RandomState::new();
        // An odd factor never maps a nonzero word to zero.
        let draw = |i: u64| state.hash_one(i) | 1;
        Key {
            seed: draw(0),
            word: draw(1),
            len: draw(2),
            finish: draw(3),
        }
    })
}

/// The 128-bit product of `x` and `y`, its halves xored.
#[inline(always)]
fn folded_multiply(x: u64, y: u64) -> u64 {
    let p = u128::from(x) * u128::from(y);
    (p as u64) ^ ((p >> 64) as u64)
}

#[inline(always)]
fn word(bytes: &[u8]) -> u64 {
    let mut w = [0u8; 8];
    w[..bytes.len()].copy_from_slice(bytes);
    u64::from_le_bytes(w)
}

/// The hash of `a ++ b`, without joining them: the words of the
/// concatenation are read across the seam (tested below).
pub fn hash_concat(a: &[u8], b: &[u8]) -> u32 {
    let k = key();
    let total = (a.len() + b.len()) as u64;
    let mut acc = folded_multiply(k.seed ^ total, k.len);
    let mut mix = |w: u64| acc = folded_multiply(acc ^ w, k.word);
    // Whole words of `a`, then its tail topped up from `b`'s head.
    let mut a_words = a.chunks_exact(8);
    for w in &mut a_words {
        mix(word(w));
    }
    let tail = a_words.remainder();
    let mut b = b;
    if !tail.is_empty() {
        let take = (8 - tail.len()).min(b.len());
        let mut w = [0u8; 8];
        w[..tail.len()].copy_from_slice(tail);
        w[tail.len()..tail.len() + take].copy_from_slice(&b[..take]);
        mix(u64::from_le_bytes(w));
        b = &b[take..];
    }
    let mut b_words = b.chunks_exact(8);
    for w in &mut b_words {
        mix(word(w));
    }
    if !b_words.remainder().is_empty() {
        mix(word(b_words.remainder()));
    }
    let x = folded_multiply(acc, k.finish);
    (x ^ (x >> 32)) as u32
}

pub fn hash_bytes(bytes: &[u8]) -> u32 {
    hash_concat(bytes, &[])
}

/// A keyed mix of a 64-bit word (map keys that are not strings).
#[inline]
pub fn hash_word(w: u64) -> u32 {
    let k = key();
    let x = folded_multiply(folded_multiply(w ^ k.seed, k.word), k.finish);
    (x ^ (x >> 32)) as u32
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn concat_hash_equals_hash_of_concatenation() {
        let text = b"0123456789abcdefghijklmnopqrstuvwxyz, the seam anywhere";
        for len in 0..text.len() {
            let joined = &text[..len];
            let whole = hash_bytes(joined);
            for cut in 0..=len {
                assert_eq!(
                    hash_concat(&joined[..cut], &joined[cut..]),
                    whole,
                    "{len} bytes cut at {cut}"
                );
            }
        }
        assert_ne!(hash_bytes(b"a"), hash_bytes(b"b"));
    }

    /// Zero padding of the last word must not make `"a"` and `"a\0"`
    /// collide: the length is part of the state.
    #[test]
    fn trailing_zero_bytes_change_the_hash() {
        assert_ne!(hash_bytes(b"a"), hash_bytes(b"a\0"));
        assert_ne!(hash_bytes(b""), hash_bytes(b"\0"));
        assert_ne!(hash_bytes(b"12345678"), hash_bytes(b"12345678\0"));
    }

    /// Keys like a program's (`"k0"`..., small integers' bits) spread over
    /// the low bits that tables index by.
    #[test]
    fn similar_keys_spread_over_low_bits() {
        let n = 1 << 16;
        let mask = (n - 1) as u32;
        let strings: HashSet<u32> = (0..n)
            .map(|i| hash_bytes(format!("k{i}").as_bytes()) & mask)
            .collect();
        let numbers: HashSet<u32> = (0..n)
            .map(|i| hash_word(f64::from(i as u32).to_bits()) & mask)
            .collect();
        // A random function fills about 1 - 1/e (63%) of the buckets.
        for (what, set) in [("strings", strings), ("numbers", numbers)] {
            assert!(
                set.len() > n * 6 / 10,
                "{what}: {} buckets of {n}",
                set.len()
            );
        }
    }
}
