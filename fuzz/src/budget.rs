//! The allocation budget of one check: every heap allocation of the process is
//! counted, and a check that holds more than [`BUDGET_BYTES`] at once above what
//! was held when it started fails.
//!
//! libFuzzer's `-malloc_limit_mb` needs the malloc hooks of a sanitizer runtime, and
//! the targets run without one (`--sanitizer none`, stable Rust); its
//! `-rss_limit_mb` only sees pages that were touched, so a decoder that reserved
//! gigabytes on a peer's word and touched none would pass it. Counting here sees
//! the reservation itself. The fuzz targets (`fuzz/src/lib.rs`) and the replay
//! test (`node/tests/fuzz_replay.rs`) both use this file.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

/// The most heap one check may hold at once. The largest input any decoder takes
/// is a 16 MiB frame; an input of libFuzzer's few kilobytes that makes a decoder
/// hold this much is a decoder trusting a length it was told.
pub const BUDGET_BYTES: usize = 64 << 20;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

/// The system allocator, counting.
pub struct Counting;

fn grew(bytes: usize) {
    let live = LIVE.fetch_add(bytes, Ordering::Relaxed) + bytes;
    PEAK.fetch_max(live, Ordering::Relaxed);
}

fn shrank(bytes: usize) {
    LIVE.fetch_sub(bytes, Ordering::Relaxed);
}

// SAFETY: every method forwards to `System` with the caller's layout and pointer
// unchanged; the counting only reads sizes. A request above the whole budget is
// refused (null, which Rust turns into an allocation-failure abort the fuzzer
// reports) rather than granted and counted after the fact.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if layout.size() > BUDGET_BYTES {
            return std::ptr::null_mut();
        }
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            grew(layout.size());
        }
        ptr
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if layout.size() > BUDGET_BYTES {
            return std::ptr::null_mut();
        }
        let ptr = unsafe { System.alloc_zeroed(layout) };
        if !ptr.is_null() {
            grew(layout.size());
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        shrank(layout.size());
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if new_size > BUDGET_BYTES {
            return std::ptr::null_mut();
        }
        let new = unsafe { System.realloc(ptr, layout, new_size) };
        if !new.is_null() {
            shrank(layout.size());
            grew(new_size);
        }
        new
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// One measurement at a time: the counts are the whole process's, so two checks
/// measured at once (tests run in parallel) would each see the other's heap.
static MEASURING: Mutex<()> = Mutex::new(());

/// Runs `check` on `input`; panics if it held more than [`BUDGET_BYTES`] at once.
pub fn within_budget(check: fn(&[u8]), input: &[u8]) {
    // A check that panicked poisons the lock; the counts stay good.
    let _one_at_a_time = MEASURING.lock().unwrap_or_else(|e| e.into_inner());
    let start = LIVE.load(Ordering::Relaxed);
    PEAK.store(start, Ordering::Relaxed);
    check(input);
    let held = PEAK.load(Ordering::Relaxed).saturating_sub(start);
    assert!(
        held <= BUDGET_BYTES,
        "an input of {} bytes made the check hold {held} bytes at once, over {BUDGET_BYTES}",
        input.len()
    );
}
