# expect: panic
        .text
        .globl rshadow_panic_leaf
        .type rshadow_panic_leaf, @function
rshadow_panic_leaf:
        endbr64
        call    rshadow_xen_panic@PLT
        jmp     __x86_return_thunk@PLT
