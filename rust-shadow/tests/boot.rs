//! The boot entry point, called through the C ABI as Xen's initcall calls it,
//! with the fake Xen's console capturing what it prints.
#![allow(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

use rshadow::bindings::{
    RSHADOW_ABI_VERSION, RSHADOW_HVM_NONE, RSHADOW_HVM_SVM, RSHADOW_HVM_VMX, RSHADOW_PLAT_HAP,
    RSHADOW_PLAT_MTF, RSHADOW_PLAT_SHADOW, rshadow_platform,
};
use rshadow::boot::rshadow_boot;
use std::sync::Mutex;

unsafe extern "C" {
    fn fake_xen_log_take(buf: *mut u8, size: usize) -> usize;
    fn fake_xen_module_abi() -> u32;
}

// The fake console is process-global; tests in this file take turns.
static CONSOLE: Mutex<()> = Mutex::new(());

fn boot(plat: Option<&rshadow_platform>) -> (i32, String) {
    let _guard = CONSOLE.lock().unwrap_or_else(|e| e.into_inner());
    let mut buf = vec![0u8; 65536];
    // SAFETY: drains the console before the call; buf is large enough.
    unsafe { fake_xen_log_take(buf.as_mut_ptr(), buf.len()) };
    let ptr = plat.map_or(std::ptr::null(), |p| p as *const _);
    // SAFETY: ptr is null or a live rshadow_platform.
    let rc = unsafe { rshadow_boot(ptr) };
    // SAFETY: as above.
    let n = unsafe { fake_xen_log_take(buf.as_mut_ptr(), buf.len()) };
    (rc, String::from_utf8_lossy(&buf[..n]).into_owned())
}

fn plat(hvm: u32, flags: u32) -> rshadow_platform {
    rshadow_platform {
        abi_version: RSHADOW_ABI_VERSION,
        hvm,
        flags,
        pad: 0,
    }
}

#[test]
fn banner_on_vmx_with_mtf() {
    let (rc, log) = boot(Some(&plat(
        RSHADOW_HVM_VMX,
        RSHADOW_PLAT_MTF | RSHADOW_PLAT_SHADOW | RSHADOW_PLAT_HAP,
    )));
    assert_eq!(rc, 0);
    let alive = format!("rust-shadow: module alive, ABI {RSHADOW_ABI_VERSION}");
    assert!(log.contains(&alive), "{log}");
    assert!(log.contains("stepping: MTF available"), "{log}");
    assert!(log.contains("paging: shadow (HAP also present)"), "{log}");
    // Boot lines carry no level prefix, so Xen prints them by default.
    assert!(log.lines().all(|l| l.starts_with("rust-shadow:")), "{log}");
}

#[test]
fn banner_on_vmx_without_mtf_and_on_svm() {
    let (_, log) = boot(Some(&plat(RSHADOW_HVM_VMX, RSHADOW_PLAT_SHADOW)));
    assert!(
        log.contains("stepping: unavailable (VMX without Monitor Trap Flag)"),
        "{log}"
    );
    let (_, log) = boot(Some(&plat(RSHADOW_HVM_SVM, RSHADOW_PLAT_SHADOW)));
    assert!(log.contains("stepping: TF with the #DB intercept"), "{log}");
    assert!(log.contains("paging: shadow\n"), "{log}");
    let (_, log) = boot(Some(&plat(RSHADOW_HVM_NONE, 0)));
    assert!(log.contains("no HVM support"), "{log}");
}

#[test]
fn rejects_null_and_abi_mismatch() {
    assert_eq!(boot(None).0, -22);
    let mut p = plat(RSHADOW_HVM_VMX, 0);
    p.abi_version = RSHADOW_ABI_VERSION + 1;
    let (rc, log) = boot(Some(&p));
    assert_eq!(rc, -22);
    let msg = format!(
        "<0>rust-shadow: ABI mismatch: Xen {}, module {RSHADOW_ABI_VERSION}",
        RSHADOW_ABI_VERSION + 1
    );
    assert!(log.starts_with(&msg), "{log}");
}

#[test]
fn version_symbol_named_by_the_header_holds_the_abi_version() {
    // SAFETY: a C function without arguments that reads a constant.
    let v = unsafe { fake_xen_module_abi() };
    assert_eq!(v, RSHADOW_ABI_VERSION);
    assert_eq!(rshadow::boot::rshadow_abi_v8, RSHADOW_ABI_VERSION);
}
