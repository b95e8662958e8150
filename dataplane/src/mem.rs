#![allow(unsafe_code)]
//! The dataplane's few memory helpers that need `unsafe`: a table array on 2 MiB-aligned
//! memory advised for huge pages ([`HugeSlice`]), a non-blocking cache-line prefetch
//! ([`prefetch`]) and the session index's 16-bit lane compare ([`lanes_equal`]).
//!
//! They are chosen by target architecture and operating system, never by the `dpdk`
//! feature, so that the default build and the DPDK build run the same session table and the
//! tests exercise what ships. Besides `port::dpdk` (and the `dpdk-sys` crate) this is the
//! only module of the dataplane allowed `unsafe`; every block says why it is sound.

use core::fmt;
use core::ptr::NonNull;

/// Prefetches the cache line holding `v` into every cache level, without waiting for it. On
/// targets without a prefetch instruction this crate knows, it does nothing.
#[inline(always)]
pub fn prefetch<T>(v: &T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch is a hint that never faults and reads nothing architecturally; the
    // pointer comes from a valid reference, and SSE is part of the x86_64 baseline.
    unsafe {
        core::arch::x86_64::_mm_prefetch::<{ core::arch::x86_64::_MM_HINT_T0 }>(
            (v as *const T).cast::<i8>(),
        );
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = v;
}

/// The 16-bit lanes of `words` (lane `i` in word `i / 4`, bits `16 * (i % 4)`) equal to
/// `v`, one bit per lane (bits 0..8): the session index's tag match. On x86_64 five SSE2
/// instructions; elsewhere [`lanes_equal_swar`].
#[inline(always)]
#[must_use]
pub fn lanes_equal(words: [u64; 2], v: u16) -> u32 {
    #[cfg(target_arch = "x86_64")]
    {
        lanes_equal_sse2(words, v)
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        lanes_equal_swar(words, v)
    }
}

#[inline(always)]
#[cfg(target_arch = "x86_64")]
fn lanes_equal_sse2(words: [u64; 2], v: u16) -> u32 {
    use core::arch::x86_64::{
        _mm_cmpeq_epi16, _mm_movemask_epi8, _mm_packs_epi16, _mm_set1_epi16, _mm_set_epi64x,
        _mm_setzero_si128,
    };
    // SSE2 is part of the x86_64 baseline (every x86_64 CPU has it); these are register-only
    // operations on values, no memory is touched.
    // SAFETY: as just said.
    let t = unsafe { _mm_set_epi64x(words[1] as i64, words[0] as i64) };
    // SAFETY: as above.
    let want = unsafe { _mm_set1_epi16(v as i16) };
    // SAFETY: as above.
    let eq = unsafe { _mm_cmpeq_epi16(t, want) };
    // SAFETY: as above.
    let zero = unsafe { _mm_setzero_si128() };
    // SAFETY: as above.
    let packed = unsafe { _mm_packs_epi16(eq, zero) };
    // SAFETY: as above.
    (unsafe { _mm_movemask_epi8(packed) }) as u32
}

/// [`lanes_equal`] in portable code: SWAR over the two words (an exact zero-lane test, then
/// a multiply gathers the four lane bits of each word).
#[inline]
#[must_use]
pub fn lanes_equal_swar(words: [u64; 2], v: u16) -> u32 {
    let rep = u64::from(v) * 0x0001_0001_0001_0001;
    lane_zeros(words[0] ^ rep) | (lane_zeros(words[1] ^ rep) << 4)
}

/// The 16-bit lanes of `x` that are zero, as bits 0..4.
#[inline]
fn lane_zeros(x: u64) -> u32 {
    const LOW15: u64 = 0x7FFF_7FFF_7FFF_7FFF;
    // Top bit of each lane set iff the lane is zero (no carries between lanes).
    let z = !(((x & LOW15).wrapping_add(LOW15)) | x | LOW15);
    // Bits 15, 31, 47, 63 -> 48, 49, 50, 51.
    ((z >> 15).wrapping_mul(0x0001_0002_0004_0008) >> 48) as u32
}

/// A fixed-size table array whose memory starts and ends on 2 MiB boundaries and is advised
/// for transparent huge pages (`madvise(MADV_HUGEPAGE)`, on Linux) before it is first
/// written. Large tables touched at random (the session table and its index) then cost one
/// TLB entry per 2 MiB instead of per 4 KiB; a VM pays a two-level page walk for every miss.
/// Aligning the allocation matters: a 4 MiB array at an arbitrary address holds at most one
/// whole huge page. Best effort: a kernel that says no changes nothing but the TLB cost.
pub struct HugeSlice<T: Copy> {
    ptr: NonNull<T>,
    len: usize,
    layout: std::alloc::Layout,
}

// SAFETY: a HugeSlice owns its elements exclusively, like a Box<[T]>.
unsafe impl<T: Copy + Send> Send for HugeSlice<T> {}
// SAFETY: shared access only hands out &T, like a Box<[T]>.
unsafe impl<T: Copy + Sync> Sync for HugeSlice<T> {}

/// The huge page size the allocation is aligned to.
const HUGE: usize = 2 << 20;

impl<T: Copy> HugeSlice<T> {
    /// `n` elements, element `i` made by `f(i)`.
    ///
    /// # Panics
    /// When the allocation fails or its size overflows (the capacity is fixed at start).
    pub fn new(n: usize, mut f: impl FnMut(usize) -> T) -> Self {
        let bytes = core::mem::size_of::<T>()
            .checked_mul(n)
            .and_then(|b| b.checked_next_multiple_of(HUGE))
            .expect("table size overflows");
        let align = HUGE.max(core::mem::align_of::<T>());
        if bytes == 0 {
            return HugeSlice {
                ptr: NonNull::dangling(),
                len: n,
                layout: std::alloc::Layout::new::<()>(),
            };
        }
        let layout = std::alloc::Layout::from_size_align(bytes, align).expect("table layout");
        // SAFETY: the layout has a non-zero size.
        let raw = unsafe { std::alloc::alloc(layout) };
        let Some(ptr) = NonNull::new(raw.cast::<T>()) else {
            std::alloc::handle_alloc_error(layout)
        };
        #[cfg(target_os = "linux")]
        // SAFETY: [raw, raw + bytes) is this allocation, 2 MiB aligned, not yet written;
        // MADV_HUGEPAGE changes only how the kernel backs it, never its contents.
        let _ = unsafe { libc::madvise(raw.cast::<libc::c_void>(), bytes, libc::MADV_HUGEPAGE) };
        for i in 0..n {
            let v = f(i);
            // SAFETY: i < n and n elements fit in the allocation, so the offset stays inside it.
            let at = unsafe { ptr.as_ptr().add(i) };
            // SAFETY: `at` is in the allocation, aligned for T, and not yet initialised.
            unsafe { at.write(v) };
        }
        HugeSlice {
            ptr,
            len: n,
            layout,
        }
    }

    /// Bytes the allocation holds (the elements rounded up to whole huge pages).
    #[must_use]
    pub fn allocated_bytes(&self) -> usize {
        self.layout.size()
    }
}

impl<T: Copy> core::ops::Deref for HugeSlice<T> {
    type Target = [T];
    #[inline(always)]
    fn deref(&self) -> &[T] {
        // SAFETY: ptr holds len initialised elements (dangling and aligned when len is 0
        // or T is zero-sized), owned by self for its lifetime.
        unsafe { core::slice::from_raw_parts(self.ptr.as_ptr(), self.len) }
    }
}

impl<T: Copy> core::ops::DerefMut for HugeSlice<T> {
    #[inline(always)]
    fn deref_mut(&mut self) -> &mut [T] {
        // SAFETY: as in deref, and &mut self makes the access exclusive.
        unsafe { core::slice::from_raw_parts_mut(self.ptr.as_ptr(), self.len) }
    }
}

impl<T: Copy> Drop for HugeSlice<T> {
    fn drop(&mut self) {
        if self.layout.size() != 0 {
            // SAFETY: allocated in new() with this layout; T: Copy needs no drop.
            unsafe { std::alloc::dealloc(self.ptr.as_ptr().cast::<u8>(), self.layout) };
        }
    }
}

impl<T: Copy + fmt::Debug> fmt::Debug for HugeSlice<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HugeSlice({} elements)", self.len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Lane `i` of `words`.
    fn lane(words: [u64; 2], i: usize) -> u16 {
        (words[i / 4] >> (16 * (i % 4))) as u16
    }

    proptest! {
        #[test]
        fn lanes_equal_marks_exactly_the_equal_lanes(
            raw in proptest::array::uniform8(prop_oneof![Just(0u16), Just(0xFFFF), Just(7), any::<u16>()]),
            v in prop_oneof![Just(0u16), Just(0xFFFF), Just(7), any::<u16>()],
        ) {
            let mut words = [0u64; 2];
            for (i, l) in raw.iter().enumerate() {
                words[i / 4] |= u64::from(*l) << (16 * (i % 4));
            }
            let want: u32 = (0..8).filter(|&i| lane(words, i) == v).map(|i| 1 << i).sum();
            prop_assert_eq!(lanes_equal(words, v), want);
            prop_assert_eq!(lanes_equal_swar(words, v), want);
        }
    }

    #[test]
    fn a_huge_slice_holds_its_elements_on_aligned_whole_pages() {
        let s = HugeSlice::new(1000, |i| i as u64 * 3);
        assert_eq!(s.len(), 1000);
        assert_eq!(s[999], 2997);
        assert_eq!(s.as_ptr() as usize % HUGE, 0);
        assert_eq!(s.allocated_bytes(), HUGE);
        let mut m = HugeSlice::new(3, |_| 0u8);
        m[1] = 9;
        assert_eq!(&m[..], &[0, 9, 0]);
        let empty = HugeSlice::new(0, |_| 0u32);
        assert!(empty.is_empty());
        prefetch(&s[500]);
    }
}
