//! Allocation-heavy smoke benchmark: 50M small objects, linked in chains
//! of 1000, collected whenever `should_collect` says so, in both sweep
//! modes. `cargo run -p gc --release --example alloc_bench`.
#![allow(unsafe_code)]
use gc::{Embedder, GcConfig, Heap, MarkView, Marker, ObjPtr};
use std::time::Instant;

struct Roots(Vec<ObjPtr>);
// SAFETY: objects are [next: u64, payload: u64]; roots are live.
unsafe impl Embedder for Roots {
    fn mark_roots(&mut self, m: &mut Marker<'_>) {
        for &r in &self.0 {
            m.mark(r);
        }
    }
    fn trace(&mut self, obj: ObjPtr, m: &mut Marker<'_>) {
        // SAFETY: obj is a live 2-word object.
        let next = unsafe { *(obj.as_ptr() as *const u64) };
        if let Some(p) = ObjPtr::new(next as *mut u8) {
            m.mark(p);
        }
    }
    fn sweep_weak(&mut self, _: &MarkView<'_>) {}
}

fn main() {
    for concurrent in [true, false] {
        let mut heap = Heap::new(GcConfig {
            concurrent_sweep: concurrent,
            ..Default::default()
        });
        let mut roots = Roots(vec![]);
        let t = Instant::now();
        let n = 50_000_000u64;
        let mut head: u64 = 0;
        for i in 0..n {
            let p = heap.alloc(16 + (i % 4) as usize * 8).unwrap();
            // SAFETY: 16+ bytes just allocated.
            unsafe {
                *(p.as_ptr() as *mut u64) = if i % 1000 == 0 { 0 } else { head };
                *(p.as_ptr() as *mut u64).add(1) = i;
            }
            head = p.as_ptr() as u64;
            if heap.should_collect() {
                roots.0 = vec![p];
                heap.collect(&mut roots, false);
            }
        }
        let el = t.elapsed();
        let st = heap.stats();
        println!("concurrent={concurrent}: {n} allocs in {:?} = {:.1} ns/alloc; gcs {} bg {} lazy {} pause_total {:.1} ms max {:.3} ms sys {} MB",
            el, el.as_nanos() as f64 / n as f64, st.num_gc, st.swept_background, st.swept_lazy,
            st.pause_total_ns as f64 / 1e6, st.max_pause_ns as f64 / 1e6, st.heap_sys >> 20);
    }
}
