// expect: panic
// Rust that can panic: the bounds check keeps the panic handler, and with
// it the call into Xen's panic, alive after optimisation.
#![no_std]

unsafe extern "C" {
    fn rshadow_xen_panic(msg: *const u8, len: usize) -> !;
}

#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    // SAFETY: a static string.
    unsafe { rshadow_xen_panic(b"x".as_ptr(), 1) }
}

#[unsafe(no_mangle)]
pub extern "C" fn rshadow_bad_index(table: &[u8; 4], i: usize) -> u8 {
    table[i]
}
