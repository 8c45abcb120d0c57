//! Instructions per call of the module's hot paths, counted by callgrind:
//! `scripts/bench-host.py` runs this under valgrind.  Each case runs
//! ITERS times between a zeroing and a dump of callgrind's counters, made
//! with its client requests; run natively they do nothing.
#![allow(missing_docs, clippy::undocumented_unsafe_blocks)]

mod cases;

use cases::{Appender, Lookup, SIZES, Stepper};
use std::arch::asm;
use std::hint::black_box;

/// Callgrind's client requests (valgrind/callgrind.h): the tool base
/// ('C' << 24 | 'T' << 16) plus the request.
const CALLGRIND_DUMP_STATS_AT: u64 = 0x4354_0003;
const CALLGRIND_ZERO_STATS: u64 = 0x4354_0001;

/// Valgrind's client request sequence for x86-64: a no-op on a real CPU
/// (four rotations of rdi by 128 bits in all, then xchg of rbx with
/// itself), which valgrind recognises; rax points to the request's words.
fn client_request(request: u64, arg: u64) {
    let words = [request, arg, 0, 0, 0, 0];
    let mut result: u64 = 0;
    unsafe {
        asm!(
            "rol rdi, 3", "rol rdi, 13", "rol rdi, 61", "rol rdi, 51",
            "xchg rbx, rbx",
            in("rax") words.as_ptr(),
            inout("rdx") result,
            out("rdi") _,
            options(nostack)
        );
    }
    black_box(result);
}

fn measure(name: &str, iters: u64, mut f: impl FnMut()) {
    let label = format!("{name} {iters}\0");
    client_request(CALLGRIND_ZERO_STATS, 0);
    for _ in 0..iters {
        f();
    }
    client_request(CALLGRIND_DUMP_STATS_AT, label.as_ptr() as u64);
}

fn main() {
    let iters = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(100_000u64);
    // The loop alone, to subtract.
    measure("loop", iters, || {
        black_box(());
    });
    for n in SIZES {
        let mut l = Lookup::new(n);
        measure(&format!("lookup/hit/{n}"), iters, || {
            black_box(l.hit());
        });
        measure(&format!("lookup/miss/{n}"), iters, || {
            black_box(l.miss());
        });
        measure(&format!("lookup/miss-worst/{n}"), iters, || {
            black_box(l.worst_miss());
        });
    }
    let mut s = Stepper::new();
    measure("step/mtf-exit", iters, || s.step());
    let mut a = Appender::new();
    measure("record/append", iters, || a.append());
}
