//! The trace as the control interface sees it: a vCPU's ring read without
//! consuming, then released once Xen has copied it out, so a failed copy
//! loses nothing.

use crate::bindings::{rshadow_record, rshadow_stats, rshadow_vcpu};
use crate::state::VcpuState;

/// See the ABI header.
///
/// # Safety
/// `vcpu` points to a zeroed RSHADOW_VCPU_STATE_SIZE block nothing else uses
/// yet; `ring` to `records` writable records that stay allocated as long as
/// the block.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rshadow_vcpu_init(
    vcpu: *mut rshadow_vcpu,
    vcpu_id: u32,
    ring: *mut rshadow_record,
    records: u32,
) {
    if !vcpu.is_null() {
        // SAFETY: per the contract.
        unsafe { VcpuState::init(vcpu, vcpu_id, ring, records) };
    }
}

/// Copies up to `max` waiting records, `skip` after the oldest, into `out`.
///
/// # Safety
/// `vcpu` is null or an initialised vCPU block; `out` points to `max`
/// writable records.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rshadow_trace_peek(
    vcpu: *const rshadow_vcpu,
    skip: u32,
    out: *mut rshadow_record,
    max: u32,
) -> u32 {
    // SAFETY: per the contract.
    let Some(v) = (unsafe { VcpuState::from_ptr(vcpu) }) else {
        return 0;
    };
    if out.is_null() {
        return 0;
    }
    // SAFETY: out holds max records (contract).
    let out = unsafe { core::slice::from_raw_parts_mut(out, max as usize) };
    v.ring().peek_at(skip, out)
}

/// Records waiting in the ring.
///
/// # Safety
/// `vcpu` is null or an initialised vCPU block.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rshadow_trace_len(vcpu: *const rshadow_vcpu) -> u32 {
    // SAFETY: per the contract.
    unsafe { VcpuState::from_ptr(vcpu) }.map_or(0, |v| v.ring().len())
}

/// Releases the `n` oldest records.
///
/// # Safety
/// `vcpu` is null or an initialised vCPU block.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rshadow_trace_consume(vcpu: *const rshadow_vcpu, n: u32) {
    // SAFETY: per the contract.
    if let Some(v) = unsafe { VcpuState::from_ptr(vcpu) } {
        v.ring().consume(n);
    }
}

/// Records dropped since the last call.
///
/// # Safety
/// `vcpu` is null or an initialised vCPU block.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rshadow_trace_dropped(vcpu: *const rshadow_vcpu) -> u64 {
    // SAFETY: per the contract.
    unsafe { VcpuState::from_ptr(vcpu) }.map_or(0, |v| v.ring().take_dropped())
}

/// Empties the ring and zeroes the vCPU's counters.
///
/// # Safety
/// `vcpu` is null or an initialised vCPU block.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rshadow_trace_clear(vcpu: *const rshadow_vcpu) {
    // SAFETY: per the contract.
    if let Some(v) = unsafe { VcpuState::from_ptr(vcpu) } {
        v.clear();
    }
}

/// Adds the vCPU's counters into `stats`.
///
/// # Safety
/// `vcpu` is null or an initialised vCPU block; `stats` is writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rshadow_vcpu_stats(vcpu: *const rshadow_vcpu, stats: *mut rshadow_stats) {
    // SAFETY: per the contract.
    if let (Some(v), Some(s)) = (unsafe { VcpuState::from_ptr(vcpu) }, unsafe {
        stats.as_mut()
    }) {
        v.add_stats(s);
    }
}
