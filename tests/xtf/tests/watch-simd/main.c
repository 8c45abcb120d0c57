/* SPDX-License-Identifier: GPL-2.0-only */
/**
 * @file tests/watch-simd/main.c
 * @brief SSE, MMX and x87 accesses to a watched page are emulated and
 *        recorded, with native results.
 *
 * glibc's memcpy() and memset() use SSE, so a watch that gives up on SIMD
 * is disabled at the first real guest's first memcpy().  Watched faults
 * are emulated with the HVM emulator's FPU and control register hooks, so
 * that x86_emulate() runs such instructions on the guest's own FPU state.
 *
 * Each form (SSE loads and stores of 4, 8 and 16 bytes, aligned or not,
 * straddling into and out of the page, an SSE2 arithmetic operation with a
 * memory operand, MMX movq, x87 fildl/fistpl) runs against three pages of
 * which none is watched, then against three of which the middle one is
 * watched, for reads and writes, for reads only and for writes only.  The
 * XMM, MMX and x87 results, MXCSR, the flags and the memory must be
 * identical; the trace must hold exactly the expected records (kind,
 * linear address, frame, size, RIP, and the value for accesses of at most
 * 8 bytes: a 16-byte access carries none); the watch stays enabled and
 * the statistics count no error.
 */
#include <xtf.h>
#include <xtf/rshadow.h>

const char test_title[] = "SSE, MMX and x87 on watched pages";

#define NPAGES 3
static uint8_t plain[NPAGES * PAGE_SIZE] __page_bss;
static uint8_t watched[NPAGES * PAGE_SIZE] __page_bss;

#define MID PAGE_SIZE   /* Offset of the watched page in the area. */

/* What a form leaves behind, compared between the two runs. */
struct outcome {
    uint8_t xmm0[16];
    uint8_t xmm1[16];
    uint64_t mm0;
    uint32_t mxcsr;
    int32_t x87;
    unsigned long fsw;
    unsigned long flags;
};

/* What the registers hold before each form. */
static const uint8_t xin0[16] __aligned(16) = {
    0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7,
    0xa8, 0xa9, 0xaa, 0xab, 0xac, 0xad, 0xae, 0xaf,
};
static const uint8_t xin1[16] __aligned(16) = {
    0x5f, 0x5e, 0x5d, 0x5c, 0x5b, 0x5a, 0x59, 0x58,
    0x57, 0x56, 0x55, 0x54, 0x53, 0x52, 0x51, 0x50,
};
static const uint64_t mmin = 0xfedcba9876543210ULL;
static const int32_t x87in = -987654321;

#define XIN0_LO8 0xa7a6a5a4a3a2a1a0ULL
#define XIN0_LO4 0xa3a2a1a0U

/* One expected record: kind, offset of the address in the area, size, value. */
struct exp {
    uint8_t kind, size;
    long off;
    uint64_t value;         /* 0: the pattern there (loads) */
    unsigned int flags;
};

typedef void (*form_fn)(uint8_t *p, struct outcome *o, unsigned long *ip);

struct form {
    const char *name;
    form_fn fn;
    long off;               /* Where the form's operand is, in the area. */
    struct exp rec;
};

#define READ  XEN_RSHADOW_REC_READ
#define WRITE XEN_RSHADOW_REC_WRITE

/* The initial contents of every byte of an area. */
static uint8_t pattern(unsigned long i)
{
    return (i * 7 + 3) & 0xff;
}

static uint64_t pattern_at(unsigned long off, unsigned int size)
{
    uint64_t v = 0;
    unsigned int i;

    for ( i = 0; i < size && i < 8; i++ )
        v |= (uint64_t)pattern(off + i) << (8 * i);
    return v;
}

/*
 * The arithmetic flags before a form's instruction: CF, PF, SF and OF set,
 * AF and ZF clear (in %[fl], which the form overwrites afterwards).
 */
#define SET_FLAGS                                                       \
    "pushf\n\t"                                                         \
    "pop %[fl]\n\t"                                                     \
    "and $~0x8d5, %[fl]\n\t"                                            \
    "or $0x885, %[fl]\n\t"                                              \
    "push %[fl]\n\t"                                                    \
    "popf\n"

/*
 * An SSE form: loads xin0/xin1 into %xmm0/%xmm1, runs insn (operand %[p]),
 * and saves both registers, MXCSR and the flags.
 */
#define SSE(name, insn)                                                 \
static void name(uint8_t *p, struct outcome *o, unsigned long *ip)     \
{                                                                       \
    asm volatile ("movups %[in0], %%xmm0\n\t"                           \
                  "movups %[in1], %%xmm1\n\t"                           \
                  SET_FLAGS                                             \
                  "1: " insn "\n\t"                                     \
                  "mov $1b, %[ip]\n\t"                                  \
                  "movups %%xmm0, %[x0]\n\t"                            \
                  "movups %%xmm1, %[x1]\n\t"                            \
                  "stmxcsr %[mxcsr]\n\t"                                \
                  "pushf\n\t"                                           \
                  "pop %[fl]"                                           \
                  : [ip] "=&r" (*ip), [fl] "=&r" (o->flags),            \
                    [x0] "=m" (o->xmm0), [x1] "=m" (o->xmm1),           \
                    [mxcsr] "=m" (o->mxcsr)                             \
                  : [p] "r" (p), [in0] "m" (xin0), [in1] "m" (xin1)     \
                  : "memory");                                          \
}

SSE(movups_load, "movups (%[p]), %%xmm0")
SSE(movaps_load, "movaps (%[p]), %%xmm0")
SSE(movdqu_load, "movdqu (%[p]), %%xmm0")
SSE(movdqa_load, "movdqa (%[p]), %%xmm0")
SSE(movq_load, "movq (%[p]), %%xmm0")
SSE(movd_load, "movd (%[p]), %%xmm0")
SSE(paddd_load, "paddd (%[p]), %%xmm0")
SSE(movups_store, "movups %%xmm0, (%[p])")
SSE(movaps_store, "movaps %%xmm0, (%[p])")
SSE(movdqu_store, "movdqu %%xmm0, (%[p])")
SSE(movq_store, "movq %%xmm0, (%[p])")
SSE(movd_store, "movd %%xmm0, (%[p])")

/* An MMX form: mmin in %mm0, then insn, %mm0 saved. */
#define MMX(name, insn)                                                 \
static void name(uint8_t *p, struct outcome *o, unsigned long *ip)     \
{                                                                       \
    asm volatile ("movq %[in], %%mm0\n\t"                               \
                  SET_FLAGS                                             \
                  "1: " insn "\n\t"                                     \
                  "mov $1b, %[ip]\n\t"                                  \
                  "movq %%mm0, %[mm]\n\t"                               \
                  "emms\n\t"                                            \
                  "pushf\n\t"                                           \
                  "pop %[fl]"                                           \
                  : [ip] "=&r" (*ip), [fl] "=&r" (o->flags),            \
                    [mm] "=m" (o->mm0)                                  \
                  : [p] "r" (p), [in] "m" (mmin)                        \
                  : "memory");                                          \
}

MMX(mmx_movq_load, "movq (%[p]), %%mm0")
MMX(mmx_movq_store, "movq %%mm0, (%[p])")

static void fildl_load(uint8_t *p, struct outcome *o, unsigned long *ip)
{
    uint16_t sw;

    asm volatile ("fninit\n\t"
                  SET_FLAGS
                  "1: fildl (%[p])\n\t"
                  "mov $1b, %[ip]\n\t"
                  "fistpl %[out]\n\t"
                  "fnstsw %[sw]\n\t"
                  "pushf\n\t"
                  "pop %[fl]"
                  : [ip] "=&r" (*ip), [fl] "=&r" (o->flags),
                    [out] "=m" (o->x87), [sw] "=m" (sw)
                  : [p] "r" (p) : "memory");
    o->fsw = sw;
}

static void fistpl_store(uint8_t *p, struct outcome *o, unsigned long *ip)
{
    uint16_t sw;

    asm volatile ("fninit\n\t"
                  "fildl %[in]\n\t"
                  SET_FLAGS
                  "1: fistpl (%[p])\n\t"
                  "mov $1b, %[ip]\n\t"
                  "fnstsw %[sw]\n\t"
                  "pushf\n\t"
                  "pop %[fl]"
                  : [ip] "=&r" (*ip), [fl] "=&r" (o->flags), [sw] "=m" (sw)
                  : [p] "r" (p), [in] "m" (x87in) : "memory");
    o->fsw = sw;
}

#define STRADDLE XEN_RSHADOW_REC_STRADDLE

static const struct form forms[] = {
    { "movups load", movups_load, MID + 0x13, { READ, 16, MID + 0x13 } },
    { "movaps load", movaps_load, MID + 0x20, { READ, 16, MID + 0x20 } },
    { "movdqu load", movdqu_load, MID + 0x35, { READ, 16, MID + 0x35 } },
    { "movdqa load", movdqa_load, MID + 0x40, { READ, 16, MID + 0x40 } },
    { "movq xmm load", movq_load, MID + 0x51, { READ, 8, MID + 0x51 } },
    { "movd xmm load", movd_load, MID + 0x62, { READ, 4, MID + 0x62 } },
    { "paddd load", paddd_load, MID + 0x70, { READ, 16, MID + 0x70 } },
    { "movdqu load into the page", movdqu_load, MID - 8,
      { READ, 16, MID - 8, 0, STRADDLE } },
    { "movups load out of the page", movups_load, 2 * MID - 4,
      { READ, 16, 2 * MID - 4, 0, STRADDLE } },
    { "movups store", movups_store, MID + 0x103,
      { WRITE, 16, MID + 0x103 } },
    { "movaps store", movaps_store, MID + 0x110,
      { WRITE, 16, MID + 0x110 } },
    { "movdqu store", movdqu_store, MID + 0x125,
      { WRITE, 16, MID + 0x125 } },
    { "movq xmm store", movq_store, MID + 0x139,
      { WRITE, 8, MID + 0x139, XIN0_LO8 } },
    { "movd xmm store", movd_store, MID + 0x14a,
      { WRITE, 4, MID + 0x14a, XIN0_LO4 } },
    { "movdqu store into the page", movdqu_store, MID - 4,
      { WRITE, 16, MID - 4, 0, STRADDLE } },
    { "movups store out of the page", movups_store, 2 * MID - 12,
      { WRITE, 16, 2 * MID - 12, 0, STRADDLE } },
    { "mmx movq load", mmx_movq_load, MID + 0x208, { READ, 8, MID + 0x208 } },
    { "mmx movq store", mmx_movq_store, MID + 0x213,
      { WRITE, 8, MID + 0x213, 0xfedcba9876543210ULL } },
    { "fildl", fildl_load, MID + 0x304, { READ, 4, MID + 0x304 } },
    { "fistpl", fistpl_store, MID + 0x30b,
      { WRITE, 4, MID + 0x30b, (uint32_t)-987654321 } },
};

static void fill(uint8_t *area, size_t len)
{
    size_t i;

    for ( i = 0; i < len; i++ )
        area[i] = pattern(i);
}

static struct xen_rshadow_record recs[32];

static void watch_page(unsigned int access)
{
    long rc;

    if ( access )
        rc = rshadow_watch(virt_to_gfn(watched + MID), 1, access, 0);
    else
        rc = rshadow_unwatch(virt_to_gfn(watched + MID), 1);
    if ( rc )
    {
        xtf_error("cannot %swatch the page: %ld\n", access ? "" : "un", rc);
        xtf_exit();
    }
}

static bool kind_watched(unsigned int kind, unsigned int access)
{
    return access & (kind == READ ? XEN_RSHADOW_ACCESS_R
                                  : XEN_RSHADOW_ACCESS_W);
}

static void run_form(const struct form *f, unsigned int access)
{
    const struct exp *e = &f->rec;
    struct outcome o[2];
    struct xen_rshadow_watch w;
    unsigned long ip[2];
    unsigned int nr, n = 1, expected = kind_watched(e->kind, access);

    /* Set up the pages unwatched, so that only the form is recorded. */
    fill(plain, sizeof(plain));
    fill(watched, sizeof(watched));
    memset(o, 0, sizeof(o));
    watch_page(access);
    rshadow_drain(recs, ARRAY_SIZE(recs));

    f->fn(plain + f->off, &o[0], &ip[0]);
    nr = rshadow_drain(recs, ARRAY_SIZE(recs));
    if ( nr )
        xtf_failure("%s (%#x): %u records from the unwatched pages\n",
                    f->name, access, nr);

    f->fn(watched + f->off, &o[1], &ip[1]);
    nr = rshadow_drain(recs, ARRAY_SIZE(recs));

    /* The watch stays enabled: list it before it goes. */
    if ( rshadow_list(&w, &n, 0, NULL) || n != 1 || w.flags )
        xtf_failure("%s (%#x): the watch is not listed enabled (%u, %#x)\n",
                    f->name, access, n, n ? w.flags : 0);
    watch_page(0);

    /* Native results: registers, flags and memory. */
    if ( o[0].flags != o[1].flags || !(o[1].flags & 0x800) )
        xtf_failure("%s (%#x): flags %#lx, native %#lx\n",
                    f->name, access, o[1].flags, o[0].flags);
    else if ( memcmp(&o[0], &o[1], sizeof(o[0])) )
    {
        const uint64_t *a = (const uint64_t *)o[0].xmm0;
        const uint64_t *b = (const uint64_t *)o[1].xmm0;

        xtf_failure("%s (%#x): registers differ: xmm0 %#llx:%#llx xmm1 %#llx:%#llx mm0 %#llx mxcsr %#x x87 %d fsw %#lx fl %#lx vs xmm0 %#llx:%#llx xmm1 %#llx:%#llx mm0 %#llx mxcsr %#x x87 %d fsw %#lx fl %#lx\n",
                    f->name, access,
                    (unsigned long long)a[1], (unsigned long long)a[0],
                    (unsigned long long)a[3], (unsigned long long)a[2],
                    (unsigned long long)o[0].mm0, o[0].mxcsr, o[0].x87,
                    o[0].fsw, o[0].flags,
                    (unsigned long long)b[1], (unsigned long long)b[0],
                    (unsigned long long)b[3], (unsigned long long)b[2],
                    (unsigned long long)o[1].mm0, o[1].mxcsr, o[1].x87,
                    o[1].fsw, o[1].flags);
    }
    if ( memcmp(plain, watched, sizeof(plain)) )
        xtf_failure("%s (%#x): memory differs\n", f->name, access);

    /* Exact records. */
    if ( nr != expected )
        xtf_failure("%s (%#x): %u records, expected %u\n",
                    f->name, access, nr, expected);
    if ( nr && expected )
    {
        const struct xen_rshadow_record *r = &recs[0];
        unsigned long lin = (unsigned long)(watched + e->off);
        bool has_value = e->size <= 8;
        uint64_t value = 0;

        if ( has_value )
            value = e->value ?: pattern_at(e->off, e->size);

        if ( r->kind != e->kind || r->size != e->size || r->linear != lin ||
             r->rip != ip[1] || r->gfn != virt_to_gfn(watched + MID) ||
             r->value != value ||
             !!(r->flags & XEN_RSHADOW_REC_VALUE) != has_value ||
             (r->flags & STRADDLE) != (e->flags & STRADDLE) )
        {
            xtf_failure("%s (%#x): record differs: expected kind %u size %u lin %#lx rip %#lx value %#llx%s\n",
                        f->name, access, e->kind, e->size, lin, ip[1],
                        (unsigned long long)value,
                        has_value ? "" : " (none)");
            rshadow_print_record(r);
        }
    }
}

/* SSE as an OS enables it: CR4.OSFXSR, CR0.MP, no EM or TS. */
static void enable_sse(void)
{
    uint32_t a, b, c, d;

    cpuid(1, &a, &b, &c, &d);
    if ( !(d & (1U << 25)) || !(d & (1U << 26)) || !(d & (1U << 24)) )
    {
        xtf_skip("no SSE2 or FXSR (cpuid 1 edx %#x)\n", d);
        xtf_exit();
    }

    sse_enable();
    asm volatile ("fninit");
}

void test_main(void)
{
    static const unsigned int modes[] = {
        XEN_RSHADOW_ACCESS_R | XEN_RSHADOW_ACCESS_W,
        XEN_RSHADOW_ACCESS_R,
        XEN_RSHADOW_ACCESS_W,
    };
    struct xen_rshadow_stats s;
    unsigned int i, m;

    rshadow_require();
    enable_sse();

    if ( rshadow_enable(64) )
        return xtf_error("cannot enable rust-shadow\n");

    for ( m = 0; m < ARRAY_SIZE(modes); m++ )
        for ( i = 0; i < ARRAY_SIZE(forms); i++ )
            run_form(&forms[i], modes[m]);

    if ( rshadow_stats(&s) || s.errors || !s.emulated )
        xtf_failure("stats: errors %llu emulated %llu\n",
                    (unsigned long long)s.errors,
                    (unsigned long long)s.emulated);

    rshadow_disable();
    xtf_success(NULL);
}
