/* SPDX-License-Identifier: GPL-2.0-only */
/**
 * @file tests/step-exceptions/main.c
 * @brief An exception the CPU delivers inside a stepping window shows the
 *        guest's own flags, and no stray #DB follows.
 *
 * A store to a watched page opens a window of 8 steps; two instructions
 * later one faults: #DE (div by zero), #GP(0) (a non-canonical load,
 * 64-bit) or #BR (bound, 32-bit), #XM (SSE, where the CPU raises it), and
 * a software interrupt (int $0x41).  On SVM the window steps with a TF of
 * Xen's, which the CPU would push in the exception frame when it delivers
 * the exception itself: the handler would see TF, and its iret would bring
 * #DBs the guest never asked for.
 *
 * Each case runs unwatched, then watched: the handler must see the same
 * RIP, error code and EFLAGS, and the number of #DBs must be the same
 * (none).
 */
#include <xtf.h>
#include <xtf/rshadow.h>

const char test_title[] = "Exceptions inside a stepping window";

static uint8_t page[PAGE_SIZE] __page_bss;

struct seen {
    unsigned long vector, ec, ip, flags, dbs;
    bool fault;
};

static struct seen cur;

static bool note(struct cpu_regs *regs)
{
    cur.fault = true;
    cur.vector = regs->entry_vector;
    cur.ec = regs->error_code;
    cur.ip = regs->ip;
    cur.flags = regs->flags;
    return false;               /* The exception table resumes. */
}

/* A #DB the guest did not ask for: counted, and TF dropped to stop more. */
static bool note_db(struct cpu_regs *regs)
{
    cur.dbs++;
    regs->flags &= ~X86_EFLAGS_TF;
    return true;
}

/* The store that opens the window, two instructions, then `insn`. */
#define CASE(name, insn, ...)                                           \
static void name(void)                                                  \
{                                                                       \
    asm volatile ("movl $1, %[w]\n\t"                                   \
                  "nop\n\t"                                             \
                  "nop\n\t"                                             \
                  "1: " insn "\n\t"                                     \
                  "2:\n\t"                                              \
                  _ASM_EXTABLE(1b, 2b)                                  \
                  : [w] "=m" (*(uint32_t *)page)                        \
                  : __VA_ARGS__ : "memory", "cc");                      \
}

CASE(c_div, "divl %%ecx", "a" (1), "d" (0), "c" (0))
#ifdef __x86_64__
/* Faults before writing: %esi stays the input. */
CASE(c_noncanon, "movl (%%rsi), %%esi", "S" (0x8000000000000000UL))
#else
static const uint32_t bounds[2];
CASE(c_bound, "boundl %%eax, %[b]", [b] "m" (bounds), "a" (5))
#endif
CASE(c_divss, "divss %[z], %%xmm0", [z] "m" (*(const uint32_t *)&page[64]))

/* int $0x41: the handler resumes after it (the hook returns true). */
static bool note_int(struct cpu_regs *regs)
{
    note(regs);
    return true;
}

CASE(c_int, "int $0x41")

static void sse_on(void)
{
    uint32_t mxcsr = 0x1f80 & ~(1u << 9);      /* #XM for ZE unmasked */
    static const uint32_t one = 0x3f800000;

    sse_enable();
    asm volatile ("ldmxcsr %0" :: "m" (mxcsr));
    asm volatile ("movss %0, %%xmm0" :: "m" (one));
}

struct kase {
    const char *name;
    void (*fn)(void);
    unsigned int vector;
};

static void run(const struct kase *k, struct seen *out)
{
    uint32_t mxcsr = 0x1f80 & ~(1u << 9);

    asm volatile ("ldmxcsr %0" :: "m" (mxcsr));
    memset(&cur, 0, sizeof(cur));
    set_trap_hook(k->vector, k->vector == 0x41 ? note_int : note);
    set_trap_hook(X86_EXC_DB, note_db);
    k->fn();
    /* Room for a stray #DB to arrive after the handler's iret. */
    asm volatile ("nop; nop; nop; nop");
    set_trap_hook(X86_EXC_DB, NULL);
    set_trap_hook(k->vector, NULL);
    *out = cur;
}

static void check(const struct kase *k)
{
    struct seen native, watched;

    run(k, &native);
    rshadow_watch_only(virt_to_gfn(page), XEN_RSHADOW_ACCESS_W, 8, "the page");
    run(k, &watched);
    rshadow_reset();

    if ( !native.fault && k->vector == X86_EXC_XM )
    {
        printk("  skip %s: this CPU raises no #XM natively\n", k->name);
        return;
    }
    if ( !native.fault || native.vector != k->vector || native.dbs )
        return xtf_failure("%s: natively fault %d vector %lu, %lu #DB\n",
                           k->name, native.fault, native.vector, native.dbs);
    if ( watched.fault != native.fault || watched.vector != native.vector ||
         watched.ec != native.ec || watched.ip != native.ip ||
         watched.flags != native.flags || watched.dbs != native.dbs )
        return xtf_failure("%s: watched: vector %lu ec %#lx ip %#lx flags %#lx, "
                           "%lu #DB; native: vector %lu ec %#lx ip %#lx "
                           "flags %#lx\n", k->name, watched.vector, watched.ec,
                           watched.ip, watched.flags, watched.dbs,
                           native.vector, native.ec, native.ip, native.flags);
    printk("  ok   %s: flags %#lx in the frame, no #DB\n", k->name,
           watched.flags);
}

void test_main(void)
{
    static const struct kase cases[] = {
        { "#DE", c_div, X86_EXC_DE },
#ifdef __x86_64__
        { "#GP(0), non-canonical load", c_noncanon, X86_EXC_GP },
#else
        { "#BR", c_bound, X86_EXC_BR },
#endif
        { "#XM", c_divss, X86_EXC_XM },
        { "int $0x41", c_int, 0x41 },
    };
    unsigned int i;

    rshadow_require();
    if ( rshadow_enable(256) )
        return xtf_error("cannot enable rust-shadow\n");
    sse_on();

    for ( i = 0; i < ARRAY_SIZE(cases); i++ )
        check(&cases[i]);

    rshadow_disable();
    xtf_success(NULL);
}
