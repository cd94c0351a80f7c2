//! Size classes: the Go runtime's `sizeclasses.go` idea (about 67 span
//! classes up to 32 KiB, each with the fewest 8 KiB pages that waste little),
//! generated at compile time by a `const fn` instead of a checked-in table.
//!
//! The generator:
//!
//! * below 128 bytes, Go's steps: 16, 24, 32, 48, ... 128 (8- then 16-byte
//!   apart; alignment dominates the waste there);
//! * from 128 bytes on, each class is at most 9/8 of the previous one,
//!   rounded down to an alignment of `max(16, 2^floor(log2 size)/16)` (and
//!   to 128 bytes above 1 KiB, the lookup table's granularity), so a
//!   request rounded up to its class wastes under 1/8 of the class size
//!   (Go's own table breaks that bound in places, e.g. 768 -> 896 wastes
//!   14% of a 769-byte request);
//! * each class gets the fewest pages whose tail (bytes after the last whole
//!   object) is at most 1/8 of the span;
//! * a class is bumped to the largest aligned size that keeps the same pages
//!   and object count when that stays within the 9/8 step (free capacity).
//!
//! The result is 67 small classes (as in Go); class 0 is reserved for large objects
//! (> [`MAX_SMALL_SIZE`]), which get a span of their own. Tests check the
//! waste bounds, the lookup tables and Go's `divMul` magic.

/// log2 of the page size.
pub const PAGE_SHIFT: usize = 13;
/// The page: the unit of the page allocator and of the page-to-span table.
pub const PAGE_SIZE: usize = 1 << PAGE_SHIFT;
/// Largest object served from a size class; larger ones get a large span.
pub const MAX_SMALL_SIZE: usize = 32 << 10;
/// Smallest size class.
pub const MIN_SIZE: usize = 16;

const SMALL_SIZE_DIV: usize = 8;
const SMALL_SIZE_MAX: usize = 1024;
const LARGE_SIZE_DIV: usize = 128;
/// Upper bound on the number of classes the generator may produce.
const MAX_CLASSES: usize = 128;

/// One size class.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClassInfo {
    /// Object size in bytes (0 for class 0, the large-object class).
    pub size: u32,
    /// Pages per span of this class.
    pub npages: u32,
    /// Objects per span.
    pub nelems: u32,
    /// Go's `divMul`: `off / size == (off * div_mul) >> 32` for every object
    /// offset inside a span (`tests::div_magic_exact` checks it).
    pub div_mul: u32,
}

const EMPTY: ClassInfo = ClassInfo {
    size: 0,
    npages: 0,
    nelems: 0,
    div_mul: 0,
};

const fn npages_for(size: usize) -> usize {
    let mut allocsize = PAGE_SIZE;
    while allocsize % size > allocsize / 8 {
        allocsize += PAGE_SIZE;
    }
    allocsize / PAGE_SIZE
}

const fn class_of(size: usize) -> ClassInfo {
    let npages = npages_for(size);
    ClassInfo {
        size: size as u32,
        npages: npages as u32,
        nelems: (npages * PAGE_SIZE / size) as u32,
        div_mul: (u32::MAX / size as u32) + 1,
    }
}

const fn generate() -> ([ClassInfo; MAX_CLASSES], usize) {
    const SMALL: [usize; 9] = [16, 24, 32, 48, 64, 80, 96, 112, 128];
    let mut classes = [EMPTY; MAX_CLASSES];
    // classes[0] is the large class; small classes start at 1.
    let mut n = 1;
    while n <= SMALL.len() {
        classes[n] = class_of(SMALL[n - 1]);
        n += 1;
    }
    let mut cur = 128;
    while cur < MAX_SMALL_SIZE {
        let mut p = 1;
        while p * 2 <= cur {
            p *= 2;
        }
        let mut align = if p / 16 > 16 { p / 16 } else { 16 };
        if p >= SMALL_SIZE_MAX && align < LARGE_SIZE_DIV {
            align = LARGE_SIZE_DIV;
        }
        let mut next = (cur * 9 / 8) / align * align;
        if next > MAX_SMALL_SIZE {
            next = MAX_SMALL_SIZE;
        }
        if next <= cur {
            next = cur + align;
        }
        // Bump to the largest aligned size with the same pages and count.
        let npages = npages_for(next);
        let count = npages * PAGE_SIZE / next;
        let bumped = (npages * PAGE_SIZE / count) / align * align;
        if bumped > next
            && bumped * 8 <= cur * 9
            && bumped <= MAX_SMALL_SIZE
            && npages_for(bumped) == npages
        {
            next = bumped;
        }
        // Above 1 KiB the lookup table has 128-byte granularity: keep
        // classes on it so every request gets the smallest fitting class.
        if next > SMALL_SIZE_MAX && next / LARGE_SIZE_DIV * LARGE_SIZE_DIV > cur {
            next = next / LARGE_SIZE_DIV * LARGE_SIZE_DIV;
        }
        classes[n] = class_of(next);
        n += 1;
        cur = next;
    }
    (classes, n)
}

const GENERATED: ([ClassInfo; MAX_CLASSES], usize) = generate();

/// Number of span classes, including class 0 (large objects).
pub const NUM_SIZE_CLASSES: usize = GENERATED.1;

/// The class table, indexed by class; entry 0 is the large class.
pub static CLASSES: [ClassInfo; MAX_CLASSES] = GENERATED.0;

/// The most bitmap words (64 slots each) any span needs: the sweeper reads
/// a span's mark words into a stack array of this size.
pub const MAX_BITMAP_WORDS: usize = max_bitmap_words();

const fn max_bitmap_words() -> usize {
    let mut most = 1;
    let mut c = 1;
    while c < NUM_SIZE_CLASSES {
        let words = (GENERATED.0[c].nelems as usize).div_ceil(64);
        if words > most {
            most = words;
        }
        c += 1;
    }
    most
}

const fn gen_size_to_class8() -> [u8; SMALL_SIZE_MAX / SMALL_SIZE_DIV + 1] {
    let mut t = [0u8; SMALL_SIZE_MAX / SMALL_SIZE_DIV + 1];
    let mut i = 0;
    while i < t.len() {
        let size = i * SMALL_SIZE_DIV;
        let mut c = 1;
        while (GENERATED.0[c].size as usize) < size {
            c += 1;
        }
        t[i] = c as u8;
        i += 1;
    }
    t
}

const fn gen_size_to_class128() -> [u8; (MAX_SMALL_SIZE - SMALL_SIZE_MAX) / LARGE_SIZE_DIV + 1] {
    let mut t = [0u8; (MAX_SMALL_SIZE - SMALL_SIZE_MAX) / LARGE_SIZE_DIV + 1];
    let mut i = 0;
    while i < t.len() {
        let size = SMALL_SIZE_MAX + i * LARGE_SIZE_DIV;
        let mut c = 1;
        while (GENERATED.0[c].size as usize) < size {
            c += 1;
        }
        t[i] = c as u8;
        i += 1;
    }
    t
}

static SIZE_TO_CLASS8: [u8; SMALL_SIZE_MAX / SMALL_SIZE_DIV + 1] = gen_size_to_class8();
static SIZE_TO_CLASS128: [u8; (MAX_SMALL_SIZE - SMALL_SIZE_MAX) / LARGE_SIZE_DIV + 1] =
    gen_size_to_class128();

/// The size class for a small request (`size <= MAX_SMALL_SIZE`).
#[inline(always)]
pub fn size_to_class(size: usize) -> usize {
    debug_assert!(size <= MAX_SMALL_SIZE);
    if size <= SMALL_SIZE_MAX {
        SIZE_TO_CLASS8[size.div_ceil(SMALL_SIZE_DIV)] as usize
    } else {
        SIZE_TO_CLASS128[(size - SMALL_SIZE_MAX).div_ceil(LARGE_SIZE_DIV)] as usize
    }
}

/// The class table entry for `class`.
#[inline(always)]
pub fn class_info(class: usize) -> &'static ClassInfo {
    &CLASSES[class]
}

#[cfg(test)]
#[allow(clippy::needless_range_loop)]
mod tests {
    use super::*;

    #[test]
    fn class_count_is_go_like() {
        // Go has 67 small classes (68 with class 0).
        assert!(
            (60..=70).contains(&NUM_SIZE_CLASSES),
            "{NUM_SIZE_CLASSES} classes"
        );
        assert_eq!(CLASSES[1].size as usize, MIN_SIZE);
        assert_eq!(CLASSES[NUM_SIZE_CLASSES - 1].size as usize, MAX_SMALL_SIZE);
    }

    #[test]
    fn waste_bounds() {
        let mut prev = 0usize;
        for c in 1..NUM_SIZE_CLASSES {
            let ci = CLASSES[c];
            let size = ci.size as usize;
            let span = ci.npages as usize * PAGE_SIZE;
            assert!(size > prev && size.is_multiple_of(8), "class {c}");
            // Tail waste: what is left after the last object.
            assert!(span % size <= span / 8, "class {c} tail waste");
            assert_eq!(ci.nelems as usize, span / size);
            // Per-object waste: a request of prev+1 bytes rounded up to
            // `size` wastes at most 1/8 of the class from 128 bytes on;
            // below that the 8/16-byte alignment bounds it.
            if size > 128 {
                assert!(
                    size - prev <= size / 8,
                    "class {c} ({prev}->{size}) object waste"
                );
            } else {
                assert!(size - prev <= 16, "class {c} object waste");
            }
            prev = size;
        }
    }

    #[test]
    fn size_to_class_is_smallest_fit() {
        for size in 1..=MAX_SMALL_SIZE {
            let c = size_to_class(size);
            assert!((1..NUM_SIZE_CLASSES).contains(&c));
            assert!(CLASSES[c].size as usize >= size, "size {size}");
            assert!(
                (CLASSES[c - 1].size as usize) < size || c == 1,
                "size {size}"
            );
        }
    }

    #[test]
    fn div_magic_exact() {
        for c in 1..NUM_SIZE_CLASSES {
            let ci = CLASSES[c];
            for i in 0..ci.nelems as u64 {
                let off = i * ci.size as u64;
                assert_eq!((off * ci.div_mul as u64) >> 32, i, "class {c} idx {i}");
                // An interior offset never maps to a later object.
                let inner = off + ci.size as u64 - 1;
                assert_eq!((inner * ci.div_mul as u64) >> 32, i, "class {c} inner {i}");
            }
        }
    }
}
