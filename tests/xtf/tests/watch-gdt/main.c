/* SPDX-License-Identifier: GPL-2.0-only */
/**
 * @file tests/watch-gdt/main.c
 * @brief The guest's GDT on a watched page: segment reloads (mov to %ds
 *        and %ss, far jump, far return, iret) and exception delivery keep
 *        working, and the records say exactly what the code defines.
 *
 * The framework's GDT is copied onto a page of its own, with one more
 * flat data descriptor whose accessed bit is clear, and loaded.  Then:
 *  - watched for writes, with every descriptor accessed: the CPU only
 *    reads the GDT, so every reload runs natively with nothing recorded;
 *    the guest's own store to a descriptor is emulated and recorded;
 *  - watched for writes, loading the descriptor whose accessed bit is
 *    clear: the CPU's implicit write of that bit faults on the read-only
 *    page, and Xen emulates the `mov %ax, %es`.  The shadow emulator
 *    cannot load a segment (it has no read_segment or write_segment
 *    hook), so Xen's HVM emulator does: the bit set by a locked
 *    compare-exchange, recorded as one RMW of the descriptor's upper half,
 *    and the watch stays on;
 *  - watched for reads: each reload reads its descriptor, faults, and is
 *    emulated the same way: its descriptor reads recorded, the watch on,
 *    and the same reload recorded again (but iret, which x86_emulate()
 *    does in real mode only: it runs natively, the GDT's frame opened to
 *    the vCPU for one step, recorded as an error flagged
 *    XEN_RSHADOW_REC_NATIVE, and the watch stays on); an exception's
 *    delivery reads the handler's code descriptor while the #UD is
 *    pending re-injection, which no emulator does: it runs natively the
 *    same way (XEN_RSHADOW_ERR_EVENT), and so does the handler's iret.
 *  - watched for writes, ltr: the busy bit the CPU sets in the TSS
 *    descriptor is emulated and recorded the same way.
 * Every time the guest ends up with the right selectors and control flow.
 */
#include <xtf.h>
#include <xtf/rshadow.h>
#include <arch/x86/asm.h>

const char test_title[] = "The GDT on a watched page";

#ifdef __x86_64__
# define CODE_SEL GDT_CS64
#else
# define CODE_SEL GDT_CS32
#endif
#define DATA_SEL  GDT_DS
/* Flat data, accessed bit clear: added after the framework's descriptors. */
static unsigned int noacc_sel;
#define NOACC_SEL noacc_sel

struct __attribute__((__packed__)) desc_ptr {
    uint16_t limit;
    unsigned long base;
};

static uint64_t gdt_page[PAGE_SIZE / 8] __page_bss;
static struct desc_ptr old_gdt;

static struct xen_rshadow_record recs[32];
static unsigned int nr;

static unsigned long gdt_gfn(void)
{
    return virt_to_gfn(gdt_page);
}

static unsigned long desc(unsigned int sel)
{
    return (unsigned long)gdt_page + (sel & ~7u);
}

static void watch_gdt(unsigned int access)
{
    rshadow_watch_only(gdt_gfn(), access, 0, "the GDT page");
}

static uint32_t watch_flags(void)
{
    return rshadow_watch_flags(gdt_gfn());
}

/*
 * The instruction at `rip` ran natively: its error record first, flagged
 * XEN_RSHADOW_REC_NATIVE, on a descriptor in [lo, hi); then only steps and
 * other native runs (a handler's iret); the watch still on.
 */
static void expect_native(const char *what, unsigned long rip,
                          unsigned long lo, unsigned long hi,
                          unsigned int reason)
{
    struct xen_rshadow_stats s;
    const struct xen_rshadow_record *r = &recs[0];
    unsigned int i;

    nr = rshadow_read_all(recs, ARRAY_SIZE(recs));
    if ( nr < 1 || r->kind != XEN_RSHADOW_REC_ERROR || r->extra != reason ||
         !(r->flags & XEN_RSHADOW_REC_NATIVE) || r->rip != rip ||
         r->gfn != gdt_gfn() || r->linear < lo || r->linear >= hi )
    {
        xtf_failure("%s: expected a native error record (reason %u, rip %#lx, %#lx-%#lx) first, got %u records\n",
                    what, reason, rip, lo, hi - 1, nr);
        rshadow_dump(recs, nr);
    }
    for ( i = 1; i < nr; i++ )
        if ( recs[i].kind != XEN_RSHADOW_REC_STEP &&
             !(recs[i].kind == XEN_RSHADOW_REC_ERROR &&
               (recs[i].flags & XEN_RSHADOW_REC_NATIVE)) )
        {
            xtf_failure("%s: record %u is neither a step nor a native run\n",
                        what, i);
            rshadow_dump(recs, nr);
            break;
        }
    if ( watch_flags() != 0 )
        xtf_failure("%s: watch flags %#x, expected it on\n", what,
                    watch_flags());
    if ( rshadow_stats(&s) || !s.errors || s.errors != s.watched_faults ||
         s.emulated != 0 || s.records != nr )
        xtf_failure("%s: stats faults %llu errors %llu emulated %llu records %llu\n",
                    what, (unsigned long long)s.watched_faults,
                    (unsigned long long)s.errors,
                    (unsigned long long)s.emulated,
                    (unsigned long long)s.records);
}

/*
 * Records of `kind` only, at least one, all by the instruction at `rip` on
 * a descriptor in [lo, hi); no error; the watch still on.
 */
static void expect_recorded(const char *what, unsigned long rip,
                            unsigned int kind, unsigned long lo,
                            unsigned long hi)
{
    struct xen_rshadow_stats s;
    unsigned int i;

    nr = rshadow_read_all(recs, ARRAY_SIZE(recs));
    for ( i = 0; i < nr; i++ )
        if ( recs[i].kind != kind || recs[i].rip != rip ||
             recs[i].gfn != gdt_gfn() || recs[i].linear < lo ||
             recs[i].linear >= hi )
            break;
    if ( !nr || i != nr )
    {
        xtf_failure("%s: expected kind %u records by %#lx in %#lx-%#lx, got %u\n",
                    what, kind, rip, lo, hi - 1, nr);
        rshadow_dump(recs, nr);
    }
    if ( watch_flags() != 0 )
        xtf_failure("%s: watch flags %#x, expected on\n", what, watch_flags());
    if ( rshadow_stats(&s) || s.errors != 0 || s.emulated != s.watched_faults )
        xtf_failure("%s: stats faults %llu errors %llu emulated %llu\n",
                    what, (unsigned long long)s.watched_faults,
                    (unsigned long long)s.errors,
                    (unsigned long long)s.emulated);
}

static void expect_nothing(const char *what)
{
    struct xen_rshadow_stats s;

    nr = rshadow_read_all(recs, ARRAY_SIZE(recs));
    if ( nr || rshadow_stats(&s) || s.watched_faults )
    {
        xtf_failure("%s: %u records, %llu watched faults, expected none\n",
                    what, nr, (unsigned long long)s.watched_faults);
        rshadow_dump(recs, nr);
    }
}

/* ---- Segment reloads; each returns the address of the instruction ---- */

#define READ_SEG(s) ({ unsigned int _v;                                  \
            asm volatile ("mov %%" #s ", %0" : "=r" (_v)); _v & 0xffff; })

static unsigned long load_ds(void)
{
    unsigned long insn;

    asm volatile ("1: mov %k[sel], %%ds\n\t"
                  "mov $1b, %[insn]"
                  : [insn] "=r" (insn) : [sel] "r" (DATA_SEL) : "memory");
    if ( READ_SEG(ds) != DATA_SEL )
        xtf_failure("mov to %%ds: %%ds is %#x\n", READ_SEG(ds));
    return insn;
}

static unsigned long load_ss(void)
{
    unsigned long insn;

    asm volatile ("1: mov %k[sel], %%ss\n\t"
                  "mov $1b, %[insn]"
                  : [insn] "=r" (insn) : [sel] "r" (DATA_SEL) : "memory");
    if ( READ_SEG(ss) != DATA_SEL )
        xtf_failure("mov to %%ss: %%ss is %#x\n", READ_SEG(ss));
    return insn;
}

static unsigned long load_es_noacc(void)
{
    unsigned long insn;

    asm volatile ("1: mov %k[sel], %%es\n\t"
                  "mov $1b, %[insn]"
                  : [insn] "=r" (insn) : [sel] "r" (NOACC_SEL) : "memory");
    if ( READ_SEG(es) != NOACC_SEL )
        xtf_failure("mov to %%es: %%es is %#x\n", READ_SEG(es));
    asm volatile ("mov %k0, %%es" :: "r" (DATA_SEL));
    return insn;
}

static unsigned long far_jump(void)
{
    static struct __attribute__((__packed__)) {
        uint32_t off;
        uint16_t sel;
    } ptr;
    unsigned long insn, reached = 0;

    asm volatile ("movl $2f, %[off]\n\t"
                  "movw %[sel], %[ptrsel]\n"
                  "1: ljmpl *%[ptr]\n\t"
                  "mov $0, %[reached]\n"
                  "2: mov $1, %[reached]\n\t"
                  "mov $1b, %[insn]"
                  : [insn] "=r" (insn), [reached] "+r" (reached),
                    [off] "=m" (ptr.off), [ptrsel] "=m" (ptr.sel)
                  : [ptr] "m" (ptr), [sel] "i" (CODE_SEL) : "memory");
    if ( !reached || READ_SEG(cs) != CODE_SEL )
        xtf_failure("far jump: reached %lu, %%cs %#x\n", reached,
                    READ_SEG(cs));
    return insn;
}

#ifdef __x86_64__
# define PUSH_LABEL(l) "lea " l "(%%rip), %%rax; push %%rax\n\t"
# define LRET "lretq"
# define IRET "iretq"
#else
# define PUSH_LABEL(l) "push $" l "\n\t"
# define LRET "lret"
# define IRET "iret"
#endif

static unsigned long far_return(void)
{
    unsigned long insn, reached = 0;

    asm volatile ("push %[sel]\n\t"
                  PUSH_LABEL("2f")
                  "1: " LRET "\n\t"
                  "mov $0, %[reached]\n"
                  "2: mov $1, %[reached]\n\t"
                  "mov $1b, %[insn]"
                  : [insn] "=r" (insn), [reached] "+r" (reached)
                  : [sel] "i" (CODE_SEL) : "memory", "ax");
    if ( !reached || READ_SEG(cs) != CODE_SEL )
        xtf_failure("far return: reached %lu, %%cs %#x\n", reached,
                    READ_SEG(cs));
    return insn;
}

static unsigned long do_iret(void)
{
    unsigned long insn, reached = 0;

    asm volatile (
#ifdef __x86_64__
                  "mov %%rsp, %%rax\n\t"
                  "push %[ss]\n\t"
                  "push %%rax\n\t"
#endif
                  "pushf\n\t"
                  "push %[sel]\n\t"
                  PUSH_LABEL("2f")
                  "1: " IRET "\n\t"
                  "mov $0, %[reached]\n"
                  "2: mov $1, %[reached]\n\t"
                  "mov $1b, %[insn]"
                  : [insn] "=r" (insn), [reached] "+r" (reached)
                  : [sel] "i" (CODE_SEL), [ss] "i" (DATA_SEL)
                  : "memory", "ax");
    if ( !reached || READ_SEG(cs) != CODE_SEL || READ_SEG(ss) != DATA_SEL )
        xtf_failure("iret: reached %lu, %%cs %#x %%ss %#x\n", reached,
                    READ_SEG(cs), READ_SEG(ss));
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
    if ( exc_count[X86_EXC_UD] != uds + 1 || last_exc.ip != insn )
        xtf_failure("ud2: %lu #UD, last at %#lx (expected one at %#lx)\n",
                    exc_count[X86_EXC_UD] - uds, last_exc.ip, insn);
    return insn;
}

static const struct {
    const char *name;
    unsigned long (*fn)(void);
    unsigned int sel, sel2;     /* Descriptors the first read may hit. */
    bool native;              /* No emulator of Xen 4.17's can do it. */
} reloads[] = {
    { "mov to %ds", load_ds, DATA_SEL, DATA_SEL },
    { "mov to %ss", load_ss, DATA_SEL, DATA_SEL },
    { "far jump", far_jump, CODE_SEL, CODE_SEL },
    { "far return", far_return, CODE_SEL, CODE_SEL },
    /* x86_emulate() does iret in real mode only: the last resort. */
#ifdef __x86_64__
    /* 64-bit iret loads %ss too: either descriptor may be read first. */
    { "iret", do_iret, CODE_SEL, DATA_SEL, true },
#else
    { "iret", do_iret, CODE_SEL, CODE_SEL, true },
#endif
};

/* ---- The cases ---- */

static void test_write_watch(void)
{
    volatile uint32_t *d = (volatile uint32_t *)desc(NOACC_SEL);
    uint32_t lo = d[0], hi = d[1];
    unsigned int i;

    watch_gdt(XEN_RSHADOW_ACCESS_W);
    for ( i = 0; i < ARRAY_SIZE(reloads); i++ )
        reloads[i].fn();
    do_ud2();
    expect_nothing("write watch, accessed descriptors");

    /* The guest's own stores to a descriptor: emulated and recorded. */
    d[0] = lo;
    d[1] = hi;
    nr = rshadow_read_all(recs, ARRAY_SIZE(recs));
    if ( nr != 2 || recs[0].kind != XEN_RSHADOW_REC_WRITE ||
         recs[0].linear != desc(NOACC_SEL) || recs[0].value != lo ||
         recs[1].kind != XEN_RSHADOW_REC_WRITE ||
         recs[1].linear != desc(NOACC_SEL) + 4 || recs[1].value != hi ||
         recs[0].gfn != gdt_gfn() || recs[1].gfn != gdt_gfn() )
    {
        xtf_failure("descriptor stores: %u records, expected 2 writes\n", nr);
        rshadow_dump(recs, nr);
    }

    /* The CPU sets the accessed bit: emulated, and recorded as an RMW. */
    watch_gdt(XEN_RSHADOW_ACCESS_W);
    expect_recorded("accessed bit", load_es_noacc(), XEN_RSHADOW_REC_RMW,
                    desc(NOACC_SEL) + 4, desc(NOACC_SEL) + 5);
    if ( nr != 1 || recs[0].value != (hi | (1u << 8)) )
        xtf_failure("accessed bit: %u records, value %#llx, expected %#x\n",
                    nr, (unsigned long long)recs[0].value, hi | (1u << 8));
    if ( !(gdt_page[NOACC_SEL / 8] & (1ull << 40)) )
        xtf_failure("the accessed bit is not set\n");
    gdt_page[NOACC_SEL / 8] &= ~(1ull << 40);
}

/*
 * ltr with the GDT watched for writes: the CPU marks the TSS descriptor
 * busy, an implicit write (upstream XTF's own kernels, booted with their
 * data pages watched, lost the whole watch to it before test_main()).
 * Emulated: one RMW of the descriptor's upper half, the busy bit set, the
 * task register loaded, and the watch still on.
 */
static void test_ltr(void)
{
    static uint8_t tss[104] __aligned(16);
    unsigned long base = (unsigned long)tss, limit = sizeof(tss) - 1;
    unsigned int tr;
    unsigned long insn;
    uint32_t hi;

    /* An available 32/64-bit TSS, DPL0 (type 9, present). */
    gdt_page[GDT_TSS / 8] = (limit & 0xffff) | ((uint64_t)(base & 0xffffff) << 16) |
                            (0x89ULL << 40) | ((uint64_t)(limit & 0xf0000) << 32) |
                            ((uint64_t)(base & 0xff000000) << 32);
#ifdef __x86_64__
    gdt_page[GDT_TSS / 8 + 1] = (uint64_t)base >> 32;
#endif
    hi = gdt_page[GDT_TSS / 8] >> 32;

    watch_gdt(XEN_RSHADOW_ACCESS_W);
    asm volatile ("1: ltr %w[sel]\n\t"
                  "mov $1b, %[insn]"
                  : [insn] "=r" (insn) : [sel] "r" (GDT_TSS) : "memory");
    expect_recorded("ltr", insn, XEN_RSHADOW_REC_RMW, desc(GDT_TSS) + 4,
                    desc(GDT_TSS) + 5);
    if ( nr != 1 || recs[0].value != (hi | (2u << 8)) )
        xtf_failure("ltr: %u records, value %#llx, expected %#x\n", nr,
                    (unsigned long long)recs[0].value, hi | (2u << 8));
    if ( !(gdt_page[GDT_TSS / 8] & (2ull << 40)) )
        xtf_failure("ltr: the busy bit is not set\n");
    asm volatile ("str %0" : "=r" (tr));
    if ( (tr & 0xffff) != GDT_TSS )
        xtf_failure("ltr: the task register is %#x\n", tr & 0xffff);
}

static void test_read_watch(unsigned int access)
{
    unsigned int i;

    printk("GDT watched %s\n", access & XEN_RSHADOW_ACCESS_W ? "rw" : "r");
    for ( i = 0; i < ARRAY_SIZE(reloads); i++ )
    {
        unsigned long rip, lo, hi;

        watch_gdt(access);
        rip = reloads[i].fn();
        lo = desc(reloads[i].sel < reloads[i].sel2 ? reloads[i].sel
                                                   : reloads[i].sel2);
        hi = desc(reloads[i].sel < reloads[i].sel2 ? reloads[i].sel2
                                                   : reloads[i].sel) + 8;
        if ( reloads[i].native )
        {
            expect_native(reloads[i].name, rip, lo, hi,
                          XEN_RSHADOW_ERR_UNHANDLEABLE);
            /* Still on: the same reload again is seen again. */
            watch_gdt(access);
            rip = reloads[i].fn();
            expect_native(reloads[i].name, rip, lo, hi,
                          XEN_RSHADOW_ERR_UNHANDLEABLE);
            continue;
        }

        expect_recorded(reloads[i].name, rip, XEN_RSHADOW_REC_READ, lo, hi);

        /* Still on: the same reload again is recorded again. */
        rip = reloads[i].fn();
        expect_recorded(reloads[i].name, rip, XEN_RSHADOW_REC_READ, lo, hi);
    }

    /* Delivery reads the handler's code descriptor. */
    watch_gdt(access);
    expect_native("#UD delivery", do_ud2(), desc(CODE_SEL),
                  desc(CODE_SEL) + 8, XEN_RSHADOW_ERR_EVENT);
}

void test_main(void)
{
    struct desc_ptr new_gdt;

    rshadow_require();

    asm volatile ("sgdt %0" : "=m" (old_gdt));
    noacc_sel = ROUNDUP(old_gdt.limit + 1u, 8);
    if ( noacc_sel + 8 > PAGE_SIZE )
        return xtf_error("unexpected framework GDT (limit %#x)\n",
                         old_gdt.limit);
    memcpy(gdt_page, (const void *)old_gdt.base, old_gdt.limit + 1);
    gdt_page[NOACC_SEL / 8] = 0x00cf92000000ffffull;
    new_gdt = (struct desc_ptr){ .limit = NOACC_SEL + 7,
                                 .base = (unsigned long)gdt_page };
    asm volatile ("lgdt %0" :: "m" (new_gdt));

    if ( rshadow_enable(64) )
        return xtf_error("cannot enable rust-shadow\n");

    test_write_watch();
    test_ltr();
    test_read_watch(XEN_RSHADOW_ACCESS_R);
    test_read_watch(XEN_RSHADOW_ACCESS_R | XEN_RSHADOW_ACCESS_W);

    rshadow_disable();
    asm volatile ("lgdt %0" :: "m" (old_gdt));
    xtf_success(NULL);
}
