# expect: panic
        .text
        .globl rshadow_panic_v0
        .type rshadow_panic_v0, @function
rshadow_panic_v0:
        endbr64
        call    _RNvNtCs1234_4core9panicking9panic_fmt@PLT
        jmp     __x86_return_thunk@PLT
