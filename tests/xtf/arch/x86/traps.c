/* SPDX-License-Identifier: GPL-2.0-only */
/* The IDT, exception counting, hooks and the exception table. */
#include <xtf.h>
#include <xtf/user.h>
#include <arch/x86/asm.h>

volatile unsigned long exc_count[256];
volatile struct exc_record last_exc;

static trap_hook_t hooks[256];

struct extable_entry {
    unsigned long fault, fixup;
};
extern const struct extable_entry __start_ex_table[], __stop_ex_table[];

extern const uint8_t exc_stubs[];
extern const uint8_t ret2kern_stub[];

#ifdef __x86_64__
struct idt_gate {
    uint16_t off_lo, sel;
    uint8_t ist, type;
    uint16_t off_mid;
    uint32_t off_hi, rsvd;
};
#define GATE_CS GDT_CS64
#else
struct idt_gate {
    uint16_t off_lo, sel;
    uint8_t rsvd, type;
    uint16_t off_mid;
};
#define GATE_CS GDT_CS32
#endif

static struct idt_gate idt[256] __aligned(16);

static const char *const exc_names[32] = {
    "#DE", "#DB", "NMI", "#BP", "#OF", "#BR", "#UD", "#NM",
    "#DF", "CSO", "#TS", "#NP", "#SS", "#GP", "#PF", "#15",
    "#MF", "#AC", "#MC", "#XM", "#VE", "#CP", "#22", "#23",
    "#24", "#25", "#26", "#27", "#HV", "#VC", "#SX", "#31",
};

void set_trap_hook(unsigned int vector, trap_hook_t hook)
{
    if ( vector < ARRAY_SIZE(hooks) )
        hooks[vector] = hook;
}

void traps_load(void)
{
    const struct __attribute__((__packed__)) {
        uint16_t limit;
        unsigned long base;
    } ptr = {
        .limit = sizeof(idt) - 1,
        .base = (unsigned long)idt,
    };

    /* The whole descriptor is the operand, so no store to it is dropped. */
    asm volatile ("lidt %0" :: "m" (ptr));
}

void traps_init(void)
{
    unsigned int i;

    for ( i = 0; i < ARRAY_SIZE(idt); i++ )
    {
        bool ret2kern = i == X86_VEC_RET2KERN;
        unsigned long a = ret2kern ? (unsigned long)ret2kern_stub
                                   : (unsigned long)&exc_stubs[i * 16];

        idt[i] = (struct idt_gate){
            .off_lo = a & 0xffff,
            .sel = GATE_CS,
            /* Present interrupt gate; DPL3 only for user code's return. */
            .type = ret2kern ? 0xee : 0x8e,
            .off_mid = (a >> 16) & 0xffff,
#ifdef __x86_64__
            .off_hi = a >> 32,
#endif
        };
    }

    traps_load();
}

static bool fixup_from_extable(struct cpu_regs *regs)
{
    const struct extable_entry *e;

    for ( e = __start_ex_table; e < __stop_ex_table; e++ )
    {
        if ( e->fault == regs->ip )
        {
            regs->ip = e->fixup;
            return true;
        }
    }
    return false;
}

void do_exception(struct cpu_regs *regs)
{
    unsigned int vec = regs->entry_vector & 0xff;

    exc_count[vec]++;
    last_exc.vector = vec;
    last_exc.error_code = regs->error_code;
    last_exc.ip = regs->ip;
    last_exc.cr2 = vec == X86_EXC_PF ? read_cr2() : 0;
    if ( vec == X86_EXC_DB )
    {
        /* DR6 is sticky: clear it so the next #DB reports only itself. */
        last_exc.dr6 = read_dr6();
        write_dr6(X86_DR6_DEFAULT);
    }
    else
        last_exc.dr6 = 0;

    if ( hooks[vec] && hooks[vec](regs) )
        return;

    if ( fixup_from_extable(regs) )
        return;

    /* Taken at CPL3: ends the user run (exec_user() reports it). */
    if ( user_abort(regs) )
        return;

    xtf_error("Unexpected exception %s (vector %u) at %p, ec %#lx, cr2 %#lx\n",
              vec < 32 ? exc_names[vec] : "IRQ", vec, (void *)regs->ip,
              regs->error_code, last_exc.cr2);
    xtf_exit();
}

unsigned long iret_via(unsigned long *frame)
{
    unsigned long insn;

    asm volatile (
#ifdef __x86_64__
                  "mov %%rsp, %%rbx\n\t"
                  "mov %[f], %%rsp\n\t"
                  "1: iretq\n\t"
#else
                  "mov %%esp, %%ebx\n\t"
                  "mov %[f], %%esp\n\t"
                  "1: iret\n\t"
#endif
                  ".globl iret_via_return\n"
                  "iret_via_return:\n\t"
#ifdef __x86_64__
                  "mov %%rbx, %%rsp\n\t"
#else
                  "mov %%ebx, %%esp\n\t"
#endif
                  "mov $1b, %[insn]"
                  : [insn] "=r" (insn) : [f] "r" (frame) : "bx", "memory");
    return insn;
}
