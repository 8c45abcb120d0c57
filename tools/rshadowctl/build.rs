//! Build script of `rshadowctl`.
//!
//! 1. bindgen takes the structures rshadowctl reads from Xen (an HVM vCPU's
//!    CPU save record, the domctl that reads it) from Xen's own public
//!    headers, as Debian's `libxen-dev` installs them for the pinned Xen.
//! 2. It links Xen's libxenstore and libxenforeignmemory (and the
//!    libxentoollog and libxentoolcore they need) from the same package,
//!    statically, so the tool stays one file that runs in any dom0.
//!    `make setup` installs the package at the pinned version.

// A build script reports failure by panicking.
#![allow(clippy::expect_used, clippy::panic, clippy::unwrap_used)]

use std::env;
use std::path::PathBuf;

fn main() {
    let manifest = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets this"));
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets this"));
    let header = manifest.join("include/xen_public.h");
    println!("cargo:rerun-if-changed={}", header.display());
    println!("cargo:rerun-if-changed=build.rs");
    if !PathBuf::from("/usr/include/xen/arch-x86/hvm/save.h").exists() {
        panic!("Xen's public headers are missing: install libxen-dev (make setup)");
    }
    bindgen::Builder::default()
        .header(header.to_string_lossy())
        .allowlist_type("hvm_hw_cpu")
        .allowlist_type("xen_domctl_hvmcontext_partial")
        .allowlist_var("XEN_DOMCTL_INTERFACE_VERSION")
        .allowlist_var("XEN_DOMCTL_gethvmcontext_partial")
        .layout_tests(true)
        .derive_default(true)
        .generate()
        .expect("bindgen failed on Xen's public headers")
        .write_to_file(out.join("xen_public.rs"))
        .expect("cannot write xen_public.rs");

    // Debian's multiarch directory, where libxen-dev puts the archives: the
    // staticlib (librshadowctl.a) bundles them, so C programs need not.
    println!("cargo:rustc-link-search=native=/usr/lib/x86_64-linux-gnu");
    println!("cargo:rustc-link-lib=static=xenstore");
    println!("cargo:rustc-link-lib=static=xenforeignmemory");
    println!("cargo:rustc-link-lib=static=xentoollog");
    println!("cargo:rustc-link-lib=static=xentoolcore");
}
