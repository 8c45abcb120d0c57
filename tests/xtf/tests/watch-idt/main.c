/* SPDX-License-Identifier: GPL-2.0-only */
/**
 * @file tests/watch-idt/main.c
 * @brief The guest's IDT on a watched page: every exception is still
 *        delivered exactly once, at the right place, and the records say
 *        exactly what the code defines.
 *
 * The IDT is copied onto a page of its own and loaded.  Then:
 *  - watched for writes: the CPU only reads the IDT, so int3, #UD, #PF and
 *    `int $0x40` are delivered natively with no record, while the guest's
 *    own rewrite of a gate is emulated, recorded store by store, and takes
 *    effect (the next `int $0x40` reaches the new handler);
 *  - watched for reads (or reads and writes): the CPU's gate read faults
 *    during delivery, which nothing can emulate.  A hardware exception
 *    (#UD, #PF) is pending re-injection then (XEN_RSHADOW_ERR_EVENT); a
 *    software one (int3, `int n`) is re-executed, and x86_emulate()
 *    returns the software event, which the shadow tail does not inject
 *    (XEN_RSHADOW_ERR_UNHANDLEABLE).  Either way the delivery runs
 *    natively, the IDT's frame opened to the vCPU for one step: one error
 *    record with XEN_RSHADOW_REC_NATIVE, then only the steps of its
 *    window; the event is delivered once; the watch stays on, so the same
 *    event again is recorded again.
 */
#include <xtf.h>
#include <xtf/rshadow.h>

const char test_title[] = "The IDT on a watched page";

#ifdef __x86_64__
# define GATE_SIZE 16
#else
# define GATE_SIZE 8
#endif

struct __attribute__((__packed__)) desc_ptr {
    uint16_t limit;
    unsigned long base;
};

static uint8_t idt_page[PAGE_SIZE] __page_bss;
static struct desc_ptr old_idt;

static struct xen_rshadow_record recs[32];
static unsigned int nr;

static unsigned long idt_gfn(void)
{
    return virt_to_gfn(idt_page);
}

static unsigned long gate(unsigned int vec)
{
    return (unsigned long)idt_page + vec * GATE_SIZE;
}

/* A clean slate (no watches, records or counts), then the IDT watched. */
static void watch_idt(unsigned int access)
{
    rshadow_watch_only(idt_gfn(), access, 0, "the IDT page");
}

static uint32_t watch_flags(void)
{
    return rshadow_watch_flags(idt_gfn());
}

/*
 * The event at `rip`, whose gate read faulted, ran natively: its error
 * record first, flagged XEN_RSHADOW_REC_NATIVE, then only steps; the watch
 * still on, `nth` such events since it was set.
 */
static void expect_native(const char *what, unsigned long rip,
                          unsigned int vec, unsigned int reason,
                          unsigned int nth)
{
    struct xen_rshadow_stats s;
    const struct xen_rshadow_record *r = &recs[0];
    unsigned int i;

    nr = rshadow_read_all(recs, ARRAY_SIZE(recs));
    if ( nr < 1 || r->kind != XEN_RSHADOW_REC_ERROR || r->extra != reason ||
         !(r->flags & XEN_RSHADOW_REC_NATIVE) || r->rip != rip ||
         r->gfn != idt_gfn() || r->linear < gate(vec) ||
         r->linear >= gate(vec) + GATE_SIZE )
    {
        xtf_failure("%s: expected a native error record (reason %u, rip %#lx, gate %#lx) first, got %u records\n",
                    what, reason, rip, gate(vec), nr);
        rshadow_dump(recs, nr);
    }
    for ( i = 1; i < nr; i++ )
        if ( recs[i].kind != XEN_RSHADOW_REC_STEP )
        {
            xtf_failure("%s: record %u is not a step\n", what, i);
            rshadow_dump(recs, nr);
            break;
        }
    if ( watch_flags() != 0 )
        xtf_failure("%s: watch flags %#x, expected it on\n", what,
                    watch_flags());
    if ( rshadow_stats(&s) || s.watched_faults != nth || s.errors != nth ||
         s.emulated != 0 || s.dropped != 0 )
        xtf_failure("%s: stats faults %llu errors %llu emulated %llu, expected %u errors\n",
                    what, (unsigned long long)s.watched_faults,
                    (unsigned long long)s.errors,
                    (unsigned long long)s.emulated, nth);
}

static bool count_only(struct cpu_regs *regs)
{
    return true;
}

/* ---- The events, each with its checks of what the guest saw ---- */

static unsigned long do_int3(void)
{
    unsigned long bps = exc_count[X86_EXC_BP], insn, after;

    asm volatile ("1: int3\n"
                  "2:\n\t"
                  "mov $1b, %[insn]\n\t"
                  "mov $2b, %[after]"
                  : [insn] "=r" (insn), [after] "=r" (after) :: "memory");
    if ( exc_count[X86_EXC_BP] != bps + 1 || last_exc.vector != X86_EXC_BP ||
         last_exc.ip != after )
        xtf_failure("int3: %lu #BP, last vector %lu at %#lx (expected one at %#lx)\n",
                    exc_count[X86_EXC_BP] - bps, last_exc.vector, last_exc.ip,
                    after);
    return insn;
}

static unsigned long do_ud2(void)
{
    unsigned long uds = exc_count[X86_EXC_UD], insn;

    asm volatile ("1: ud2\n"
                  "2:\n\t"
                  _ASM_EXTABLE(1b, 2b)
                  "mov $1b, %[insn]"
                  : [insn] "=r" (insn) :: "memory");
    if ( exc_count[X86_EXC_UD] != uds + 1 || last_exc.vector != X86_EXC_UD ||
         last_exc.ip != insn )
        xtf_failure("ud2: %lu #UD, last vector %lu at %#lx (expected one at %#lx)\n",
                    exc_count[X86_EXC_UD] - uds, last_exc.vector, last_exc.ip,
                    insn);
    return insn;
}

static unsigned long do_pf(void)
{
    unsigned long pfs = exc_count[X86_EXC_PF], insn;

    /* Frame 0 is not mapped: a supervisor read of a not-present page. */
    asm volatile ("1: mov 0x10, %%eax\n"
                  "2:\n\t"
                  _ASM_EXTABLE(1b, 2b)
                  "mov $1b, %[insn]"
                  : [insn] "=r" (insn) :: "eax", "memory");
    if ( exc_count[X86_EXC_PF] != pfs + 1 || last_exc.vector != X86_EXC_PF ||
         last_exc.ip != insn || last_exc.cr2 != 0x10 ||
         last_exc.error_code != 0 )
        xtf_failure("#PF: %lu taken, last vector %lu at %#lx cr2 %#lx ec %#lx\n",
                    exc_count[X86_EXC_PF] - pfs, last_exc.vector, last_exc.ip,
                    last_exc.cr2, last_exc.error_code);
    return insn;
}

/* int $0x40; `expect` is the vector whose stub must run (gate rewritten). */
static unsigned long do_int40(unsigned int expect)
{
    unsigned long n = exc_count[expect], insn, after;

    asm volatile ("1: int $0x40\n"
                  "2:\n\t"
                  "mov $1b, %[insn]\n\t"
                  "mov $2b, %[after]"
                  : [insn] "=r" (insn), [after] "=r" (after) :: "memory");
    if ( exc_count[expect] != n + 1 || last_exc.vector != expect ||
         last_exc.ip != after )
        xtf_failure("int $0x40: vector %#x ran %lu times, last vector %#lx at %#lx\n",
                    expect, exc_count[expect] - n, last_exc.vector,
                    last_exc.ip);
    return insn;
}

/* ---- The cases ---- */

static void test_write_watch(void)
{
    volatile uint32_t *g40 = (volatile uint32_t *)gate(0x40);
    const uint32_t *g41 = (const uint32_t *)gate(0x41);
    uint32_t old[GATE_SIZE / 4];
    unsigned int i;

    watch_idt(XEN_RSHADOW_ACCESS_W);

    /* The CPU only reads the IDT: nothing faults, nothing is recorded. */
    do_int3();
    do_ud2();
    do_pf();
    do_int40(0x40);
    nr = rshadow_read_all(recs, ARRAY_SIZE(recs));
    if ( nr )
    {
        xtf_failure("write watch: %u records for event deliveries\n", nr);
        rshadow_dump(recs, nr);
    }

    /* The guest points vector 0x40 at vector 0x41's stub, store by store. */
    for ( i = 0; i < GATE_SIZE / 4; i++ )
    {
        old[i] = g40[i];
        g40[i] = g41[i];
    }
    nr = rshadow_read_all(recs, ARRAY_SIZE(recs));
    if ( nr != GATE_SIZE / 4 )
    {
        xtf_failure("gate rewrite: %u records for %u stores\n", nr,
                    GATE_SIZE / 4);
        rshadow_dump(recs, nr);
    }
    for ( i = 0; i < nr && i < GATE_SIZE / 4; i++ )
        if ( recs[i].kind != XEN_RSHADOW_REC_WRITE || recs[i].size != 4 ||
             recs[i].linear != (unsigned long)&g40[i] ||
             recs[i].gfn != idt_gfn() || recs[i].value != g41[i] ||
             !(recs[i].flags & XEN_RSHADOW_REC_VALUE) )
        {
            xtf_failure("gate rewrite: record %u is not store %u\n", i, i);
            rshadow_print_record(&recs[i]);
        }

    /* The new gate is the one the CPU uses. */
    do_int40(0x41);
    for ( i = 0; i < GATE_SIZE / 4; i++ )
        g40[i] = old[i];
    do_int40(0x40);
    nr = rshadow_read_all(recs, ARRAY_SIZE(recs));
    if ( nr != GATE_SIZE / 4 || watch_flags() != 0 )
    {
        xtf_failure("gate restore: %u records, flags %#x\n", nr, watch_flags());
        rshadow_dump(recs, nr);
    }
}

static void test_read_watch(unsigned int access)
{
    const char *what = access & XEN_RSHADOW_ACCESS_W ? "rw" : "r";
    unsigned long rip;

    printk("IDT watched %s\n", what);

    watch_idt(access);
    rip = do_int3();
    expect_native("int3", rip, X86_EXC_BP, XEN_RSHADOW_ERR_UNHANDLEABLE, 1);
    /* Still watched: the same event again is seen again. */
    rip = do_int3();
    expect_native("int3 again", rip, X86_EXC_BP,
                  XEN_RSHADOW_ERR_UNHANDLEABLE, 2);

    watch_idt(access);
    rip = do_ud2();
    expect_native("#UD", rip, X86_EXC_UD, XEN_RSHADOW_ERR_EVENT, 1);
    rip = do_ud2();
    expect_native("#UD again", rip, X86_EXC_UD, XEN_RSHADOW_ERR_EVENT, 2);

    watch_idt(access);
    rip = do_pf();
    expect_native("#PF", rip, X86_EXC_PF, XEN_RSHADOW_ERR_EVENT, 1);

    watch_idt(access);
    rip = do_int40(0x40);
    expect_native("int $0x40", rip, 0x40, XEN_RSHADOW_ERR_UNHANDLEABLE, 1);
}

void test_main(void)
{
    struct desc_ptr new_idt;

    rshadow_require();

    set_trap_hook(X86_EXC_BP, count_only);
    set_trap_hook(0x40, count_only);
    set_trap_hook(0x41, count_only);

    /* The framework's IDT, copied onto a page nothing else touches. */
    asm volatile ("sidt %0" : "=m" (old_idt));
    if ( old_idt.limit + 1u > sizeof(idt_page) )
        return xtf_error("IDT of %u bytes does not fit a page\n",
                         old_idt.limit + 1);
    memcpy(idt_page, (const void *)old_idt.base, old_idt.limit + 1);
    new_idt = (struct desc_ptr){ .limit = old_idt.limit,
                                 .base = (unsigned long)idt_page };
    asm volatile ("lidt %0" :: "m" (new_idt));

    if ( rshadow_enable(64) )
        return xtf_error("cannot enable rust-shadow\n");

    test_write_watch();
    test_read_watch(XEN_RSHADOW_ACCESS_R);
    test_read_watch(XEN_RSHADOW_ACCESS_R | XEN_RSHADOW_ACCESS_W);

    rshadow_disable();
    asm volatile ("lidt %0" :: "m" (old_idt));
    xtf_success(NULL);
}
