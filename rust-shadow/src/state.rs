//! The per-domain and per-vCPU state blocks.
//!
//! Xen allocates them, zeroed, with the sizes and alignment the ABI header
//! names, and frees them; the checks below make the build fail if the
//! module's state outgrows them.  All-zero bytes are a valid empty state
//! for both (every field is an integer, a bool, an atomic or a raw
//! pointer), so initialisation writes only the fields that are not zero:
//! building the 290 KiB domain block as a value would overflow Xen's stack.

use core::cell::UnsafeCell;
use core::ptr::{addr_of, addr_of_mut};
use core::sync::atomic::{AtomicU64, Ordering};

use crate::bindings::{
    RSHADOW_DOMAIN_STATE_SIZE, RSHADOW_STATE_ALIGN, RSHADOW_VCPU_STATE_SIZE, rshadow_dom_facts,
    rshadow_domain, rshadow_record, rshadow_stats, rshadow_vcpu,
};
use crate::ring::{self, Ring};
use crate::step::StepState;
use crate::watch::WatchSet;
use crate::xen;

const DOMAIN_MAGIC: u64 = u64::from_le_bytes(*b"rshdom01");
const VCPU_MAGIC: u64 = u64::from_le_bytes(*b"rshcpu01");

/// A domain's state.
#[repr(C, align(64))]
pub struct DomainState {
    magic: u64,
    /// The domain's id.
    pub domid: u32,
    /// Number of vCPUs.
    pub nr_vcpus: u32,
    watches: UnsafeCell<WatchSet>,
}

// SAFETY: the watch set is only reached through watches()/watches_mut(),
// whose callers hold the domain's paging lock; every other field is
// written once, before Xen publishes the block.
unsafe impl Sync for DomainState {}

/// Counters of one vCPU, read by the control domain while the vCPU runs.
#[repr(C)]
#[derive(Default)]
pub struct VcpuStats {
    /// Faults on watched frames.
    pub watched_faults: AtomicU64,
    /// Of which emulated successfully.
    pub emulated: AtomicU64,
    /// Records kept in the ring.
    pub records: AtomicU64,
    /// Records dropped because the ring was full.
    pub dropped: AtomicU64,
    /// Step records.
    pub steps: AtomicU64,
    /// Watched accesses no emulator could do: given up on, or run
    /// natively.
    pub errors: AtomicU64,
    /// Watched faults that took Xen's fast path.
    pub fast_faults: AtomicU64,
}

impl VcpuStats {
    /// Adds one to a counter.
    pub fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    fn add_to(&self, s: &mut rshadow_stats) {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        s.watched_faults = s.watched_faults.wrapping_add(get(&self.watched_faults));
        s.emulated = s.emulated.wrapping_add(get(&self.emulated));
        s.records = s.records.wrapping_add(get(&self.records));
        s.dropped = s.dropped.wrapping_add(get(&self.dropped));
        s.steps = s.steps.wrapping_add(get(&self.steps));
        s.errors = s.errors.wrapping_add(get(&self.errors));
        s.fast_faults = s.fast_faults.wrapping_add(get(&self.fast_faults));
    }

    fn clear(&self) {
        for c in [
            &self.watched_faults,
            &self.emulated,
            &self.records,
            &self.dropped,
            &self.steps,
            &self.errors,
            &self.fast_faults,
        ] {
            c.store(0, Ordering::Relaxed);
        }
    }
}

/// A vCPU's state.
#[repr(C, align(64))]
pub struct VcpuState {
    magic: u64,
    /// The vCPU's id.
    pub vcpu_id: u32,
    ring: Ring,
    /// Counters.
    pub stats: VcpuStats,
    step: StepState,
}

const _: () = assert!(core::mem::size_of::<DomainState>() <= RSHADOW_DOMAIN_STATE_SIZE as usize);
const _: () = assert!(core::mem::align_of::<DomainState>() <= RSHADOW_STATE_ALIGN as usize);
const _: () = assert!(core::mem::size_of::<VcpuState>() <= RSHADOW_VCPU_STATE_SIZE as usize);
const _: () = assert!(core::mem::align_of::<VcpuState>() <= RSHADOW_STATE_ALIGN as usize);

impl DomainState {
    /// The state behind a block pointer from Xen, if it is an initialised
    /// block.
    ///
    /// # Safety
    /// `p` is null or points to a block of RSHADOW_DOMAIN_STATE_SIZE bytes,
    /// zeroed or initialised by [`DomainState::init`], that outlives `'a`.
    pub unsafe fn from_ptr<'a>(p: *const rshadow_domain) -> Option<&'a DomainState> {
        // SAFETY: per the contract, p is null or a live, suitably sized and
        // aligned block in which all-zero bytes are a valid DomainState.
        let s = unsafe { p.cast::<DomainState>().as_ref()? };
        (s.magic == DOMAIN_MAGIC).then_some(s)
    }

    /// Sets up a zeroed block in place.
    ///
    /// # Safety
    /// `p` points to a zeroed block of RSHADOW_DOMAIN_STATE_SIZE bytes with
    /// RSHADOW_STATE_ALIGN alignment that nothing else accesses yet.
    pub unsafe fn init(p: *mut rshadow_domain, facts: &rshadow_dom_facts) {
        let s = p.cast::<DomainState>();
        // SAFETY: s is valid for writes (contract); only plain fields are
        // written, through raw pointers, with no reference to the block.
        unsafe {
            addr_of_mut!((*s).domid).write(facts.domid);
            addr_of_mut!((*s).nr_vcpus).write(facts.nr_vcpus);
        }
        // SAFETY: the zeroed watch set is a valid, empty one, and nothing
        // else accesses the block yet (contract).
        let watches = unsafe { &mut *UnsafeCell::raw_get(addr_of!((*s).watches)) };
        watches.size_filter(facts.max_gfn);
        // SAFETY: as above; published last.
        unsafe { addr_of_mut!((*s).magic).write(DOMAIN_MAGIC) };
    }

    /// The watch set, for reading.
    ///
    /// # Safety
    /// The caller holds the domain's paging lock for as long as it uses the
    /// reference.
    pub unsafe fn watches(&self) -> &WatchSet {
        // SAFETY: under the paging lock nobody holds a mutable reference.
        unsafe { &*self.watches.get() }
    }

    /// The watch set, for changing.
    ///
    /// # Safety
    /// The caller holds the domain's paging lock, and holds no other
    /// reference from [`watches`](Self::watches), while it uses this one.
    #[allow(clippy::mut_from_ref)]
    pub unsafe fn watches_mut(&self) -> &mut WatchSet {
        // SAFETY: the paging lock makes this the only reference.
        unsafe { &mut *self.watches.get() }
    }
}

impl VcpuState {
    /// The state behind a block pointer from Xen, if initialised.
    ///
    /// # Safety
    /// `p` is null or points to a block of RSHADOW_VCPU_STATE_SIZE bytes,
    /// zeroed or initialised by [`VcpuState::init`], that outlives `'a`.
    pub unsafe fn from_ptr<'a>(p: *const rshadow_vcpu) -> Option<&'a VcpuState> {
        // SAFETY: as for DomainState::from_ptr.
        let s = unsafe { p.cast::<VcpuState>().as_ref()? };
        (s.magic == VCPU_MAGIC).then_some(s)
    }

    /// Sets up a zeroed block in place, over `records` records at `ring`.
    /// Does nothing if `records` is not a valid ring size.
    ///
    /// # Safety
    /// As for [`DomainState::init`]; and `ring` points to `records`
    /// writable records that stay allocated as long as the block.
    pub unsafe fn init(
        p: *mut rshadow_vcpu,
        vcpu_id: u32,
        ring: *mut rshadow_record,
        records: u32,
    ) {
        if !ring::valid_size(records) || ring.is_null() {
            return;
        }
        let s = p.cast::<VcpuState>();
        // SAFETY: s is valid for writes and unshared (contract); the ring
        // storage satisfies Ring::new's contract (contract, size checked).
        unsafe {
            addr_of_mut!((*s).vcpu_id).write(vcpu_id);
            addr_of_mut!((*s).ring).write(Ring::new(ring, records));
            addr_of_mut!((*s).magic).write(VCPU_MAGIC);
        }
    }

    /// The vCPU's trace ring.
    pub fn ring(&self) -> &Ring {
        &self.ring
    }

    /// The vCPU's stepping window.
    pub fn step(&self) -> &StepState {
        &self.step
    }

    /// Appends a record, counting it as kept or dropped.
    pub fn record(&self, mut rec: rshadow_record) {
        rec.vcpu = u16::try_from(self.vcpu_id).unwrap_or(u16::MAX);
        rec.cr3 = xen::guest_cr3();
        if self.ring.push(rec) {
            VcpuStats::bump(&self.stats.records);
        } else {
            VcpuStats::bump(&self.stats.dropped);
        }
    }

    /// Adds this vCPU's counters into `s`.
    pub fn add_stats(&self, s: &mut rshadow_stats) {
        self.stats.add_to(s);
    }

    /// Empties the ring and zeroes the counters.
    pub fn clear(&self) {
        self.ring.clear();
        self.stats.clear();
    }
}

#[cfg(test)]
pub(crate) mod testing {
    //! Blocks allocated the way Xen allocates them: zeroed, with the sizes
    //! and alignment of the ABI header.
    #![allow(clippy::unwrap_used)]
    use super::*;
    use std::alloc::{Layout, alloc_zeroed, dealloc};

    /// A zeroed, header-sized block.
    pub struct Block {
        ptr: *mut u8,
        layout: Layout,
    }

    impl Block {
        /// A zeroed block of `size` bytes.
        pub fn new(size: u32) -> Self {
            let layout =
                Layout::from_size_align(size as usize, RSHADOW_STATE_ALIGN as usize).unwrap();
            // SAFETY: the layout has a non-zero size.
            let ptr = unsafe { alloc_zeroed(layout) };
            assert!(!ptr.is_null());
            Self { ptr, layout }
        }

        /// The block as the C side sees it.
        pub fn as_ptr<T>(&self) -> *mut T {
            self.ptr.cast()
        }
    }

    impl Drop for Block {
        fn drop(&mut self) {
            // SAFETY: allocated in new() with this layout.
            unsafe { dealloc(self.ptr, self.layout) }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::testing::Block;
    use super::*;

    #[test]
    fn zeroed_blocks_are_valid_and_uninitialised() {
        let d = Block::new(RSHADOW_DOMAIN_STATE_SIZE);
        // SAFETY: a zeroed, header-sized block.
        assert!(unsafe { DomainState::from_ptr(d.as_ptr()) }.is_none());
        let facts = rshadow_dom_facts {
            domid: 7,
            nr_vcpus: 2,
            max_gfn: 0xfffff,
            ..Default::default()
        };
        // SAFETY: as above, and nothing else uses the block.
        unsafe { DomainState::init(d.as_ptr(), &facts) };
        // SAFETY: initialised just now.
        let s = unsafe { DomainState::from_ptr(d.as_ptr()) }.unwrap();
        assert_eq!((s.domid, s.nr_vcpus), (7, 2));
        // SAFETY: single-threaded test: nothing else holds the set.
        let w = unsafe { s.watches() };
        assert!(w.is_empty() && w.check_invariants());
    }

    #[test]
    fn vcpu_block_rejects_a_bad_ring() {
        let v = Block::new(RSHADOW_VCPU_STATE_SIZE);
        let mut mem = std::vec![rshadow_record::default(); 16];
        // SAFETY: zeroed block; 17 is not a valid size, so nothing happens.
        unsafe { VcpuState::init(v.as_ptr(), 0, mem.as_mut_ptr(), 17) };
        // SAFETY: still zeroed.
        assert!(unsafe { VcpuState::from_ptr(v.as_ptr()) }.is_none());
        // SAFETY: mem outlives the block's use below.
        unsafe { VcpuState::init(v.as_ptr(), 3, mem.as_mut_ptr(), 16) };
        // SAFETY: initialised.
        let s = unsafe { VcpuState::from_ptr(v.as_ptr()) }.unwrap();
        s.record(rshadow_record::default());
        assert_eq!(s.ring().len(), 1);
        let mut out = [rshadow_record::default()];
        s.ring().peek_at(0, &mut out);
        assert_eq!(out[0].vcpu, 3);
    }

    unsafe extern "C" {
        fn fake_xen_set_cr3(cr3: u64);
    }

    /// Each record carries the address space it was written in, as Xen
    /// gives it (masked by paging mode: XTF's watch-cr3 checks that part
    /// on real Xen), read for each record: one window may span two.
    #[test]
    fn records_carry_their_address_space() {
        let v = Block::new(RSHADOW_VCPU_STATE_SIZE);
        let mut mem = std::vec![rshadow_record::default(); 16];
        // SAFETY: zeroed block; mem outlives its use below.
        unsafe { VcpuState::init(v.as_ptr(), 0, mem.as_mut_ptr(), 16) };
        // SAFETY: initialised.
        let s = unsafe { VcpuState::from_ptr(v.as_ptr()) }.unwrap();
        for cr3 in [0x0000_0001_2345_6000, 0x0123_45e0, 0] {
            // SAFETY: sets the value the fake leaf returns.
            unsafe { fake_xen_set_cr3(cr3) };
            s.record(rshadow_record::default());
            let mut out = [rshadow_record::default()];
            assert_eq!(s.ring().peek_at(0, &mut out), 1);
            s.ring().consume(1);
            assert_eq!(out[0].cr3, cr3);
        }
    }
}
