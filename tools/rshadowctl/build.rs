//! Build script of `rshadowctl`.
//!
//! 1. bindgen takes the structures rshadowctl reads from Xen (an HVM vCPU's
//!    CPU save record, the domctl that reads it) from Xen's own public
//!    headers, as Debian's `libxen-dev` installs them for the pinned Xen.
//! 2. bindgen takes rust-shadow's own public structures (the domctl, its
//!    records, watches and statistics) from the patched `domctl.h`: Debian's
//!    copy of the pinned Xen's, with the `domctl.h` hunks of
//!    `xen-patches/` applied in order.  The patches are the one source of
//!    that interface; nothing of it is copied by hand.
//! 3. It links Xen's libxencall, libxenstore, libxenforeignmemory and
//!    libxenevtchn (and the libxentoollog and libxentoolcore they need) from
//!    the same package,
//!    statically, so the tool stays one file that runs in any dom0.
//!    `make setup` installs the package at the pinned version.

// A build script reports failure by panicking.
#![allow(clippy::expect_used, clippy::panic, clippy::unwrap_used)]

use std::env;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

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

    rshadow_public(&manifest, &out);

    // Debian's multiarch directory, where libxen-dev puts the archives: the
    // staticlib (librshadowctl.a) bundles them, so C programs need not.
    println!("cargo:rustc-link-search=native=/usr/lib/x86_64-linux-gnu");
    println!("cargo:rustc-link-lib=static=xenstore");
    println!("cargo:rustc-link-lib=static=xenforeignmemory");
    println!("cargo:rustc-link-lib=static=xenevtchn");
    println!("cargo:rustc-link-lib=static=xencall");
    println!("cargo:rustc-link-lib=static=xentoollog");
    println!("cargo:rustc-link-lib=static=xentoolcore");
}

/// The patched public `domctl.h`: Debian's, which is the pinned source's
/// byte for byte, with every hunk of the series that touches it applied
/// (`patch`), then bindgen over it.
fn rshadow_public(manifest: &Path, out: &Path) {
    const FILE: &str = "xen/include/public/domctl.h";
    let series = manifest.join("../../xen-patches");
    println!("cargo:rerun-if-changed={}", series.display());
    let tree = out.join("patched");
    let dir = tree.join("xen/include/public");
    fs::create_dir_all(&dir).expect("cannot make the scratch tree");
    fs::copy("/usr/include/xen/domctl.h", dir.join("domctl.h"))
        .expect("Debian's xen/domctl.h is missing: install libxen-dev (make setup)");
    let mut patches: Vec<PathBuf> = fs::read_dir(&series)
        .expect("xen-patches/ is missing")
        .map(|e| e.expect("cannot list xen-patches/").path())
        .filter(|p| p.extension().is_some_and(|e| e == "patch"))
        .collect();
    patches.sort();
    for p in &patches {
        println!("cargo:rerun-if-changed={}", p.display());
        let text = fs::read_to_string(p).expect("cannot read a patch");
        // The patch's sections for domctl.h only: from its `diff --git`
        // line to the next one.
        let mut keep = String::new();
        let mut on = false;
        for line in text.lines() {
            if line.starts_with("diff --git ") {
                on = line == format!("diff --git a/{FILE} b/{FILE}");
            } else if line == "-- " {
                on = false;
            }
            if on {
                keep.push_str(line);
                keep.push('\n');
            }
        }
        if keep.is_empty() {
            continue;
        }
        let mut child = Command::new("patch")
            .args(["-p1", "--silent", "--forward", "--batch", "-d"])
            .arg(&tree)
            .stdin(Stdio::piped())
            .spawn()
            .expect("cannot run patch (install it: make setup)");
        child
            .stdin
            .take()
            .expect("piped")
            .write_all(keep.as_bytes())
            .expect("cannot feed patch");
        let ok = child.wait().expect("patch did not run").success();
        assert!(ok, "{} does not apply to Debian's domctl.h", p.display());
    }
    bindgen::Builder::default()
        .header_contents(
            "rshadow_public.h",
            &format!(
                "#define __XEN_TOOLS__ 1\n#include <stdint.h>\n#include \"{}\"\n",
                dir.join("domctl.h").display()
            ),
        )
        // domctl.h includes its neighbours by their bare names.
        .clang_arg("-iquote/usr/include/xen")
        .allowlist_type("xen_rshadow_.*")
        .allowlist_type("xen_domctl_rshadow_op")
        .allowlist_var("XEN_RSHADOW_.*")
        .allowlist_var("XEN_DOMCTL_RSHADOW_OP_.*")
        .allowlist_var("XEN_DOMCTL_rshadow_op")
        .layout_tests(true)
        .derive_default(true)
        .derive_debug(true)
        .derive_partialeq(true)
        .derive_eq(true)
        .generate()
        .expect("bindgen failed on the patched domctl.h")
        .write_to_file(out.join("rshadow_public.rs"))
        .expect("cannot write rshadow_public.rs");
}
