# expect: pass
# What the module's code looks like when everything is right: ENDBR64 at the
# entry, calls to Xen's services and thunks by PLT32, PC-relative data, an
# indirect call through the retpoline thunk, a return through the thunk.
        .text
        .globl rshadow_good
        .type rshadow_good, @function
rshadow_good:
        endbr64
        push    %rbx
        lea     table(%rip), %rax
        mov     (%rax), %r11
        call    __x86_indirect_thunk_r11@PLT
        call    rshadow_xen_now@PLT
        call    memcpy@PLT
        lfence
        verw    (%rsp)
        pop     %rbx
        jmp     __x86_return_thunk@PLT
        .data
table:  .quad rshadow_good
