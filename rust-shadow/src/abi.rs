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

// The version symbol the header names is the one the module defines, with
// the header's type.
const _: () = {
    let _: *const u32 = &raw const decl::rshadow_abi_v8;
    let _: &u32 = &crate::boot::rshadow_abi_v8;
    assert!(crate::bindings::RSHADOW_ABI_VERSION == 8);
};

same_signature! {
    crate::boot::rshadow_boot => rshadow_boot,
    crate::control::rshadow_ctl_check => rshadow_ctl_check,
    crate::control::rshadow_ctl_check_bounded => rshadow_ctl_check_bounded,
    crate::control::rshadow_ctl_apply => rshadow_ctl_apply,
    crate::control::rshadow_domain_init => rshadow_domain_init,
    crate::control::rshadow_watch_count => rshadow_watch_count,
    crate::control::rshadow_watch_list => rshadow_watch_list,
    crate::control::rshadow_domain_stats => rshadow_domain_stats,
    crate::trace::rshadow_vcpu_init => rshadow_vcpu_init,
    crate::trace::rshadow_trace_peek => rshadow_trace_peek,
    crate::trace::rshadow_trace_len => rshadow_trace_len,
    crate::trace::rshadow_trace_consume => rshadow_trace_consume,
    crate::cmdline::rshadow_cmdline_parse => rshadow_cmdline_parse,
    crate::trace::rshadow_trace_dropped => rshadow_trace_dropped,
    crate::trace::rshadow_trace_clear => rshadow_trace_clear,
    crate::trace::rshadow_vcpu_stats => rshadow_vcpu_stats,
    crate::fault::rshadow_l1_flags => rshadow_l1_flags,
    crate::fault::rshadow_fault_check => rshadow_fault_check,
    crate::fault::rshadow_watch_disable => rshadow_watch_disable,
    crate::fault::rshadow_watch_gone => rshadow_watch_gone,
    crate::fault::rshadow_emulation_tail => rshadow_emulation_tail,
    crate::fault::rshadow_fault_abandon => rshadow_fault_abandon,
    crate::fault::rshadow_native_open => rshadow_native_open,
    crate::fault::rshadow_native_close => rshadow_native_close,
    crate::tail::rshadow_pae_extra => rshadow_pae_extra,
    crate::tail::rshadow_tail_decide => rshadow_tail_decide,
    crate::step::rshadow_step_begin => rshadow_step_begin,
    crate::step::rshadow_step_exit => rshadow_step_exit,
    crate::step::rshadow_step_entry => rshadow_step_entry,
    crate::step::rshadow_step_cancel => rshadow_step_cancel,
    crate::step::rshadow_step_hold => rshadow_step_hold,
    crate::step::rshadow_debug_exit => rshadow_debug_exit,
    crate::step::rshadow_tf_exit => rshadow_tf_exit,
    crate::step::rshadow_tf_entry => rshadow_tf_entry,
    crate::step::rshadow_tf_must_emulate => rshadow_tf_must_emulate,
    crate::step::rshadow_step_event => rshadow_step_event,
}
