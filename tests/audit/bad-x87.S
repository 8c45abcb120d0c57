# expect: fpu
        .text
        .globl rshadow_x87
        .type rshadow_x87, @function
rshadow_x87:
        endbr64
        fldz
        fstpt (%rdi)
        jmp     __x86_return_thunk@PLT
