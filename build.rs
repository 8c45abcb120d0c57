//! Build script of the `rust-shadow` crate.
//!
//! 1. bindgen turns `rust-shadow/include/rshadow_abi.h`, the header Xen's glue
//!    also includes, into the crate's raw bindings.  Layout assertions come
//!    with them, so a structure that drifts between C and Rust fails the
//!    build.
//! 2. For host builds only, cc compiles the fake Xen in
//!    `rust-shadow/fake-xen/`: the leaf services the module calls, written in
//!    C against the same header, so host tests cross the real C ABI.

// A build script reports failure by panicking; the crate's no-panic lints
// are for the hypervisor code, not for this.
#![allow(clippy::expect_used, clippy::panic, clippy::unwrap_used)]

use std::env;
use std::path::PathBuf;

fn main() {
    let manifest = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets this"));
    let include = manifest.join("include");
    let header = include.join("rshadow_abi.h");
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets this"));
    let target_os = env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();

    println!("cargo:rerun-if-changed={}", header.display());
    println!("cargo:rerun-if-changed=../build.rs");

    let bindings = bindgen::Builder::default()
        .header(header.to_string_lossy())
        // Same layout on the host and in Xen: both are x86-64 SysV.  The
        // freestanding headers keep libc out of the generated view.
        .clang_args([
            "--target=x86_64-unknown-linux-gnu",
            "-ffreestanding",
            "-nostdinc",
        ])
        .clang_arg(format!("-I{}", clang_builtin_include().display()))
        .use_core()
        // Only the leaf services are foreign to the crate; the entry points
        // are defined in Rust and checked against the header in `abi`.
        .allowlist_function("rshadow_xen_.*")
        .allowlist_type("rshadow_.*")
        .allowlist_var("RSHADOW_.*")
        .layout_tests(true)
        .derive_default(true)
        .derive_debug(true)
        .derive_partialeq(true)
        .derive_eq(true)
        .generate_comments(true)
        .parse_callbacks(Box::new(bindgen::CargoCallbacks::new()))
        .generate()
        .expect("bindgen failed on rust-shadow/include/rshadow_abi.h");
    bindings
        .write_to_file(out.join("bindings.rs"))
        .expect("cannot write bindings.rs");

    // The header's declarations of the functions Rust implements, for the
    // compile-time signature checks in src/abi.rs.
    bindgen::Builder::default()
        .header(header.to_string_lossy())
        .clang_args([
            "--target=x86_64-unknown-linux-gnu",
            "-ffreestanding",
            "-nostdinc",
        ])
        .clang_arg(format!("-I{}", clang_builtin_include().display()))
        .use_core()
        .allowlist_function("rshadow_.*")
        .blocklist_function("rshadow_xen_.*")
        .allowlist_var("rshadow_abi_v.*")
        .allowlist_recursively(false)
        .generate()
        .expect("bindgen failed on rust-shadow/include/rshadow_abi.h")
        .write_to_file(out.join("entry_points.rs"))
        .expect("cannot write entry_points.rs");

    if target_os != "none" {
        let fake = manifest.join("fake-xen");
        println!("cargo:rerun-if-changed={}", fake.display());
        cc::Build::new()
            .file(fake.join("fake_xen.c"))
            .file(fake.join("tail_ref.c"))
            .include(&include)
            .warnings(true)
            .extra_warnings(true)
            .compile("fake_xen");
    }
}

/// The directory holding clang's own freestanding headers (stddef.h,
/// stdint.h), found through clang itself so no version is hard-coded.
fn clang_builtin_include() -> PathBuf {
    let clang = env::var("CLANG").unwrap_or_else(|_| "clang".into());
    let out = std::process::Command::new(&clang)
        .arg("-print-resource-dir")
        .output()
        .unwrap_or_else(|e| panic!("cannot run {clang}: {e} (run scripts/setup.sh)"));
    let dir = String::from_utf8_lossy(&out.stdout).trim().to_string();
    PathBuf::from(dir).join("include")
}
