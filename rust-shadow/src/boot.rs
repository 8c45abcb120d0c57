//! The boot entry point: checks the ABI and prints the module's banner.

use crate::bindings::{self, rshadow_platform};
use crate::logline::LogLine;
use crate::xen::{self, Level};

/// `-EINVAL`, as Xen spells it.
const EINVAL: i32 = 22;

/// The module's ABI version, under the name the header gives as
/// `RSHADOW_ABI_SYMBOL`.  Xen's glue references that name, so a module of
/// another ABI version fails Xen's link instead of booting (`abi.rs` checks
/// that the name and the header agree).
#[unsafe(no_mangle)]
pub static rshadow_abi_v8: u32 = bindings::RSHADOW_ABI_VERSION;

/// What the banner says about stepping on this machine.
pub fn stepping_method(plat: &rshadow_platform) -> &'static str {
    match plat.hvm {
        bindings::RSHADOW_HVM_VMX if plat.flags & bindings::RSHADOW_PLAT_MTF != 0 => {
            "MTF available"
        }
        bindings::RSHADOW_HVM_VMX => "unavailable (VMX without Monitor Trap Flag)",
        bindings::RSHADOW_HVM_SVM => {
            "TF with the #DB intercept, hidden from the guest (SVM has no MTF)"
        }
        _ => "unavailable (no HVM support)",
    }
}

fn paging(plat: &rshadow_platform) -> &'static str {
    let shadow = plat.flags & bindings::RSHADOW_PLAT_SHADOW != 0;
    let hap = plat.flags & bindings::RSHADOW_PLAT_HAP != 0;
    match (shadow, hap) {
        (true, true) => "shadow (HAP also present)",
        (true, false) => "shadow",
        (false, true) => "HAP only: watches need shadow paging",
        (false, false) => "none",
    }
}

/// Called once by Xen's `rshadow_init()` initcall.
///
/// # Safety
/// `plat` must be null or point to a readable `struct rshadow_platform`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rshadow_boot(plat: *const rshadow_platform) -> i32 {
    // SAFETY: the caller passes null or a valid pointer; `as_ref` handles
    // null.
    let Some(plat) = (unsafe { plat.as_ref() }) else {
        return -EINVAL;
    };
    if plat.abi_version != bindings::RSHADOW_ABI_VERSION {
        let mut l = LogLine::new();
        l.str("rust-shadow: ABI mismatch: Xen ")
            .dec(plat.abi_version.into())
            .str(", module ")
            .dec(bindings::RSHADOW_ABI_VERSION.into());
        xen::log_line(Level::Err, &l);
        return -EINVAL;
    }

    let mut l = LogLine::new();
    l.str("rust-shadow: module alive, ABI ")
        .dec(bindings::RSHADOW_ABI_VERSION.into())
        .str(", version ")
        .str(env!("CARGO_PKG_VERSION"));
    xen::log_line(Level::Notice, &l);

    let mut l = LogLine::new();
    l.str("rust-shadow: stepping: ")
        .str(stepping_method(plat))
        .str("; paging: ")
        .str(paging(plat));
    xen::log_line(Level::Notice, &l);
    0
}
