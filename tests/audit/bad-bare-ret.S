# expect: ret
        .text
        .globl rshadow_bare_ret
        .type rshadow_bare_ret, @function
rshadow_bare_ret:
        endbr64
        ret
        jmp     __x86_return_thunk@PLT
