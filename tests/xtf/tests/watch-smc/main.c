/* SPDX-License-Identifier: GPL-2.0-only */
/**
 * @file tests/watch-smc/main.c
 * @brief Self-modifying code on an execute-watched page: the new bytes
 *        run, never stale ones, and the records show them.
 *
 * Each instruction on an execute-watched page is emulated, fetched afresh
 * from guest memory; nothing may be served from an earlier fetch.
 *  - The guest rewrites the immediate of an instruction on the page from
 *    outside it (a write to a page hidden for fetches: emulated, and not
 *    recorded under an execute-only watch), then calls it again: the new
 *    value comes out, and the exec record holds the new bytes.
 *  - An instruction on the page rewrites the immediate of the very next
 *    one, under an execute watch and under a read/write/execute watch:
 *    the next instruction runs with the new immediate; the records are
 *    the fetch of the writer, its write (R/W/X only), the fetch of the new
 *    bytes, and the fetch of the `ret`, in that order.
 */
#include <xtf.h>
#include <xtf/rshadow.h>

const char test_title[] = "Self-modifying code, execute-watched";

asm (".pushsection .text.page_own, \"ax\", @progbits\n"
     ".balign 4096\n"
     ".globl smc_code\n"
     "smc_code:\n"
     "smc_a: mov $0x11111111, %eax\n"
     "smc_b: ret\n"
     "smc_c:\n"
     ".balign 64\n"
     ".globl smc_self\n"
     "smc_self:\n"
     "smc_s0: movl $0x33333333, smc_s1 + 1\n"
     "smc_s1: mov $0x11111111, %eax\n"
     "smc_s2: ret\n"
     "smc_s3:\n"
     ".balign 4096\n"
     ".popsection\n");

extern uint8_t smc_code[], smc_a[], smc_b[], smc_c[], smc_self[], smc_s0[],
    smc_s1[], smc_s2[], smc_s3[];

static struct xen_rshadow_record recs[16];
static unsigned int nr;

static unsigned long code_gfn(void)
{
    return virt_to_gfn(smc_code);
}

static void watch_code(unsigned int access)
{
    rshadow_watch_only(code_gfn(), access, 0, "the code page");
}

/* The immediate of `mov $imm32, %eax` (b8 + imm32) at insn. */
static void set_imm(uint8_t *insn, uint32_t v)
{
    volatile uint8_t *p = insn + 1;

    /* Byte stores: the immediate is not 4-byte aligned. */
    p[0] = v;
    p[1] = v >> 8;
    p[2] = v >> 16;
    p[3] = v >> 24;
}

static unsigned int call(void *fn)
{
    unsigned int eax;

    asm volatile ("call *%1" : "=a" (eax) : "r" (fn) : "memory", "cc");
    return eax;
}

/* Record i is the fetch of the instruction [insn, end), as it is now. */
static bool is_exec(unsigned int i, const uint8_t *insn, const uint8_t *end)
{
    const struct xen_rshadow_record *r = &recs[i];
    unsigned int len = end - insn;

    return i < nr && r->kind == XEN_RSHADOW_REC_EXEC &&
           r->rip == (unsigned long)insn && r->linear == (unsigned long)insn &&
           r->gfn == code_gfn() && r->size == len &&
           !memcmp(&r->value, insn, len < 8 ? len : 8);
}

static void test_patch_from_outside(void)
{
    unsigned int eax;

    set_imm(smc_a, 0x11111111);
    watch_code(XEN_RSHADOW_ACCESS_X);

    eax = call(smc_code);
    nr = rshadow_read_all(recs, ARRAY_SIZE(recs));
    if ( eax != 0x11111111 || nr != 2 || !is_exec(0, smc_a, smc_b) ||
         !is_exec(1, smc_b, smc_c) )
    {
        xtf_failure("first run: %#x, %u records\n", eax, nr);
        rshadow_dump(recs, nr);
    }

    /* Hidden for fetches, so the write faults too: emulated, not recorded. */
    set_imm(smc_a, 0x22222222);
    nr = rshadow_read_all(recs, ARRAY_SIZE(recs));
    if ( nr )
    {
        xtf_failure("writes under an execute-only watch: %u records\n", nr);
        rshadow_dump(recs, nr);
    }

    eax = call(smc_code);
    nr = rshadow_read_all(recs, ARRAY_SIZE(recs));
    if ( eax != 0x22222222 || nr != 2 || !is_exec(0, smc_a, smc_b) ||
         smc_a[1] != 0x22 || !is_exec(1, smc_b, smc_c) )
    {
        xtf_failure("after the patch: %#x (expected 0x22222222), %u records\n",
                    eax, nr);
        rshadow_dump(recs, nr);
    }
}

/* Record i is the write of the writer at smc_s0 into smc_s1's immediate. */
static bool is_patch_write(unsigned int i)
{
    const struct xen_rshadow_record *w = &recs[i];

    return i < nr && w->kind == XEN_RSHADOW_REC_WRITE && w->size == 4 &&
           w->rip == (unsigned long)smc_s0 &&
           w->linear == (unsigned long)smc_s1 + 1 &&
           w->value == 0x33333333 && w->gfn == code_gfn();
}

static void test_patch_next(unsigned int access)
{
    bool rw = access & XEN_RSHADOW_ACCESS_W;
    unsigned int eax, i;
    bool ok;

    set_imm(smc_s1, 0x11111111);
    watch_code(access);

    eax = call(smc_self);
    nr = rshadow_read_all(recs, ARRAY_SIZE(recs));
    if ( eax != 0x33333333 || smc_s1[1] != 0x33 )
        xtf_failure("%s: the patched instruction gave %#x, expected 0x33333333\n",
                    rw ? "rwx" : "x", eax);

    /* The writer's fetch, its write if watched, the new bytes, the ret. */
    ok = nr == (rw ? 4u : 3u) && is_exec(0, smc_s0, smc_s1);
    i = 1;
    if ( rw )
        ok = ok && is_patch_write(i++);
    ok = ok && is_exec(i, smc_s1, smc_s2) && is_exec(i + 1, smc_s2, smc_s3);
    if ( !ok )
    {
        xtf_failure("%s: the trace of the self-patching code:\n",
                    rw ? "rwx" : "x");
        rshadow_dump(recs, nr);
    }
}

void test_main(void)
{
    struct xen_rshadow_stats s;

    rshadow_require();
    if ( rshadow_enable(64) )
        return xtf_error("cannot enable rust-shadow\n");

    test_patch_from_outside();
    test_patch_next(XEN_RSHADOW_ACCESS_X);
    test_patch_next(XEN_RSHADOW_ACCESS_R | XEN_RSHADOW_ACCESS_W |
                    XEN_RSHADOW_ACCESS_X);

    if ( rshadow_stats(&s) || s.errors )
        xtf_failure("%llu errors\n", (unsigned long long)s.errors);

    rshadow_disable();
    xtf_success(NULL);
}
