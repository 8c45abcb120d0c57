# expect: panic
        .text
        .globl rshadow_panic_legacy
        .type rshadow_panic_legacy, @function
rshadow_panic_legacy:
        endbr64
        call    _ZN4core9panicking5panic17h0123456789abcdefE@PLT
        jmp     __x86_return_thunk@PLT
