//! A tiny embedder over synthetic object graphs, no VM.
//!
//! Object layout (all `u64` words): `[n_children, tag, size, child_0 ..
//! child_{n-1}, fill ...]` where `size` is the requested byte size and every
//! fill word `k` holds `tag ^ k`, so a reachable object that was freed,
//! poisoned or reused shows up as a broken pattern.
#![allow(unsafe_code, dead_code)]

use gc::sizeclasses::{class_info, size_to_class, MAX_SMALL_SIZE, PAGE_SIZE};
use gc::{Embedder, GcConfig, Heap, MarkView, Marker, ObjPtr};
use std::collections::HashSet;

pub const HDR_WORDS: usize = 3;

/// xorshift64*.
pub struct Rng(pub u64);
impl Rng {
    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Bytes the heap charges for an object of `size` bytes.
pub fn charged(size: usize) -> u64 {
    if size <= MAX_SMALL_SIZE {
        class_info(size_to_class(size)).size as u64
    } else {
        (size.div_ceil(PAGE_SIZE) * PAGE_SIZE) as u64
    }
}

fn word(obj: ObjPtr, i: usize) -> *mut u64 {
    // Pointer arithmetic only; dereferenced by callers under their own SAFETY.
    obj.as_ptr().cast::<u64>().wrapping_add(i)
}

/// Allocate and fully initialize an object with `n` null children.
pub fn new_obj(heap: &mut Heap, n: usize, tag: u64, extra: usize) -> ObjPtr {
    let size = (HDR_WORDS + n) * 8 + extra;
    let p = heap.alloc(size).expect("alloc");
    assert_eq!(p.as_ptr() as usize % 8, 0, "8-byte aligned");
    let words = size / 8;
    // SAFETY: `alloc` returned `size` writable bytes; we initialize every
    // word we will later read.
    unsafe {
        *word(p, 0) = n as u64;
        *word(p, 1) = tag;
        *word(p, 2) = size as u64;
        for i in 0..n {
            *word(p, HDR_WORDS + i) = 0;
        }
        for k in HDR_WORDS + n..words {
            *word(p, k) = tag ^ k as u64;
        }
    }
    p
}

pub fn set_child(obj: ObjPtr, i: usize, child: Option<ObjPtr>) {
    // SAFETY: obj is a live object we built with > i children.
    unsafe {
        assert!(i < *word(obj, 0) as usize);
        *word(obj, HDR_WORDS + i) = child.map_or(0, |c| c.as_ptr() as u64);
    }
}

pub fn n_children(obj: ObjPtr) -> usize {
    // SAFETY: obj is a live, initialized object.
    unsafe { *word(obj, 0) as usize }
}

pub fn child(obj: ObjPtr, i: usize) -> Option<ObjPtr> {
    // SAFETY: obj is a live, initialized object with > i children.
    let v = unsafe { *word(obj, HDR_WORDS + i) };
    ObjPtr::new(v as *mut u8)
}

pub fn tag(obj: ObjPtr) -> u64 {
    // SAFETY: obj is a live, initialized object.
    unsafe { *word(obj, 1) }
}

pub fn size(obj: ObjPtr) -> usize {
    // SAFETY: obj is a live, initialized object.
    unsafe { *word(obj, 2) as usize }
}

/// Check an object's header and fill pattern.
pub fn check_intact(obj: ObjPtr) {
    let n = n_children(obj);
    let t = tag(obj);
    let sz = size(obj);
    assert!(
        sz >= (HDR_WORDS + n) * 8 && sz < 1 << 30,
        "object {obj:p}: bad header"
    );
    for k in HDR_WORDS + n..sz / 8 {
        // SAFETY: within the object's `size` bytes, initialized by `new_obj`.
        let v = unsafe { *word(obj, k) };
        assert_eq!(
            v,
            t ^ k as u64,
            "object {obj:p} tag {t}: fill word {k} corrupted"
        );
    }
}

/// (objects, charged bytes) reachable from `roots`, checking each object.
pub fn reachable(roots: &[ObjPtr]) -> (u64, u64, HashSet<usize>) {
    let mut seen = HashSet::new();
    let mut stack: Vec<ObjPtr> = roots.to_vec();
    let (mut n, mut bytes) = (0, 0);
    while let Some(o) = stack.pop() {
        if !seen.insert(o.as_ptr() as usize) {
            continue;
        }
        check_intact(o);
        n += 1;
        bytes += charged(size(o));
        for i in 0..n_children(o) {
            if let Some(c) = child(o, i) {
                stack.push(c);
            }
        }
    }
    (n, bytes, seen)
}

/// The test embedder: roots, plus a weak table pruned by `sweep_weak`.
#[derive(Default)]
pub struct Graph {
    pub roots: Vec<ObjPtr>,
    pub weak: Vec<ObjPtr>,
    pub traced: HashSet<usize>,
    pub check_trace_once: bool,
}

// SAFETY: (1) `roots` hold only pointers from this heap's `alloc` that the
// tests keep reachable, and `trace` marks only children stored in reachable
// objects, which the tests set to live objects; (2) `trace` reads only `obj`.
unsafe impl Embedder for Graph {
    fn mark_roots(&mut self, m: &mut Marker<'_>) {
        self.traced.clear();
        for &r in &self.roots {
            m.mark(r);
        }
    }
    fn trace(&mut self, obj: ObjPtr, m: &mut Marker<'_>) {
        if self.check_trace_once {
            assert!(self.traced.insert(obj.as_ptr() as usize), "traced twice");
        }
        for i in 0..n_children(obj) {
            if let Some(c) = child(obj, i) {
                m.mark(c);
            }
        }
    }
    fn sweep_weak(&mut self, marks: &MarkView<'_>) {
        self.weak.retain(|&p| marks.is_marked(p));
    }
}

/// The configurations every graph test runs under.
pub fn configs() -> Vec<(&'static str, GcConfig)> {
    let base = GcConfig::default;
    vec![
        ("concurrent", base()),
        (
            "lazy",
            GcConfig {
                concurrent_sweep: false,
                ..base()
            },
        ),
        (
            "stress-verify-poison",
            GcConfig {
                stress: true,
                verify: true,
                poison: true,
                ..base()
            },
        ),
        (
            "lazy-verify-poison",
            GcConfig {
                concurrent_sweep: false,
                verify: true,
                poison: true,
                ..base()
            },
        ),
    ]
}

/// Collect fully and check that exactly the reachable objects remain.
pub fn collect_and_check(heap: &mut Heap, g: &mut Graph) {
    heap.collect(g, true);
    let (n, bytes, _) = reachable(&g.roots);
    let st = heap.stats();
    assert_eq!(st.heap_objects, n, "heap_objects vs reachable");
    assert_eq!(st.heap_alloc, bytes, "heap_alloc vs reachable");
    assert_eq!(st.last_live, bytes, "marked bytes vs reachable");
}
