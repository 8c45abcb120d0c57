// expect: fpu
// Floating point compiled for a hard-float target uses SSE registers.
#![no_std]

#[unsafe(no_mangle)]
pub extern "C" fn rshadow_bad_float(a: f64, b: f64) -> f64 {
    a * b + 1.5
}
