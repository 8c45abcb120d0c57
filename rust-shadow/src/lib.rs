//! rust-shadow: the decision-making half of Xen's watched-page tracer.
//!
//! Xen's C glue gathers a snapshot of each event, calls one entry point here,
//! and applies the actions returned.  This crate owns the policy and the
//! state; it reaches back into Xen only through the leaf services declared in
//! `include/rshadow_abi.h` (see [`xen`]).
//!
//! The crate is `no_std`.  Built for `x86_64-unknown-none` it is linked into
//! the hypervisor; built for the host it is unit-tested against a fake Xen
//! that implements the same C ABI.

#![no_std]

// On the host the standard library supplies the panic runtime; the test
// harness needs it anyway.
#[cfg(not(target_os = "none"))]
extern crate std;

mod abi;
pub mod bindings;
pub mod boot;
pub mod cmdline;
pub mod control;
pub mod errno;
pub mod fault;
pub mod logline;
pub mod ring;
pub mod state;
pub mod step;
pub mod tail;
pub mod trace;
pub mod watch;
pub mod xen;

/// Inside Xen a panic is a host crash, so every path a guest or a control
/// domain can reach is written not to panic, and the build's object audit
/// proves that no call to this handler survives optimisation.  It exists for
/// the compiler; should it ever run, it ends in Xen's own `panic()`.
#[cfg(target_os = "none")]
#[panic_handler]
fn panic(_info: &core::panic::PanicInfo<'_>) -> ! {
    // No message formatting: core::fmt would drag its own panics in.
    xen::panic("rust-shadow: internal error")
}
