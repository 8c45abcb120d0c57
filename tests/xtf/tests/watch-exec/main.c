/* SPDX-License-Identifier: GPL-2.0-only */
/**
 * @file tests/watch-exec/main.c
 * @brief Execute watches: code on a watched page runs correctly and each of
 *        its instructions is recorded, also those the shadow emulator
 *        cannot do.
 *
 * The shadow emulator has no `cpuid` hook, so `cpuid` fetched from an
 * execute-watched page is done by Xen's HVM emulator instead: the same
 * result as natively (where Xen intercepts it anyway), the fetch recorded
 * like any other, no error, and the watch stays on.
 */
#include <xtf.h>
#include <xtf/rshadow.h>

const char test_title[] = "Execute watches";

/* Two pages of code of their own. */
asm (".pushsection .text.page_own, \"ax\", @progbits\n"
     ".balign 4096\n"
     ".globl exec_code\n"
     "exec_code:\n"
     "exec_i0: mov $1, %eax\n"
     "exec_i1: add $2, %eax\n"
     "exec_i2: shl $3, %eax\n"
     "exec_i3: ret\n"
     "exec_end:\n"
     ".balign 4096\n"
     ".globl exec_cpuid\n"
     "exec_cpuid:\n"
     "cpuid_i0: cpuid\n"
     "cpuid_i1: ret\n"
     ".balign 4096\n"
     ".popsection\n");

extern const char exec_code[], exec_i0[], exec_i1[], exec_i2[], exec_i3[],
    exec_end[], exec_cpuid[], cpuid_i0[], cpuid_i1[];

static struct xen_rshadow_record recs[16];

static unsigned int read_all(void)
{
    unsigned int nr = ARRAY_SIZE(recs);

    return rshadow_read(recs, &nr, NULL) ? 0 : nr;
}

static void test_exec(void)
{
    static const char *const insn[] = { exec_i0, exec_i1, exec_i2, exec_i3,
                                        exec_end };
    unsigned long gfn = virt_to_gfn(exec_code);
    unsigned int i, nr, eax;

    if ( rshadow_watch(gfn, 1, XEN_RSHADOW_ACCESS_X, 0) )
        return xtf_error("cannot watch the code page\n");

    asm volatile ("call exec_code" : "=a" (eax) :: "memory", "cc");
    if ( eax != 24 )
        xtf_failure("watched code computed %u, expected 24\n", eax);

    nr = read_all();
    if ( nr != 4 )
        xtf_failure("%u records for 4 instructions\n", nr);
    for ( i = 0; i < nr && i < 4; i++ )
    {
        const struct xen_rshadow_record *r = &recs[i];
        unsigned int len = insn[i + 1] - insn[i];

        if ( r->kind != XEN_RSHADOW_REC_EXEC ||
             r->rip != (unsigned long)insn[i] ||
             r->linear != (unsigned long)insn[i] || r->size != len ||
             r->gfn != gfn ||
             memcmp(&r->value, insn[i], len) )
        {
            xtf_failure("record %u is not instruction %u (%u bytes at %p)\n",
                        i, i, len, insn[i]);
            rshadow_print_record(r);
        }
    }

    /* Reading the watched code page is not recorded (not watched for R). */
    if ( ACCESS_ONCE(*(volatile const uint8_t *)exec_i0) != 0xb8 || read_all() )
        xtf_failure("data read of an execute-only watched page misbehaved\n");

    rshadow_unwatch(gfn, 1);
}

static void test_cpuid(void)
{
    unsigned long gfn = virt_to_gfn(exec_cpuid);
    uint32_t a, b, c, d, na, nb, nc, nd;
    struct xen_rshadow_watch w;
    struct xen_rshadow_stats s;
    unsigned int nr, round, i;

    if ( rshadow_watch(gfn, 1, XEN_RSHADOW_ACCESS_X, 0) )
        return xtf_error("cannot watch the cpuid page\n");

    cpuid(0, &na, &nb, &nc, &nd);
    for ( round = 0; round < 2; round++ )
    {
        const char *insn[] = { cpuid_i0, cpuid_i1 };
        unsigned int len[] = { 2, 1 };

        asm volatile ("call exec_cpuid"
                      : "=a" (a), "=b" (b), "=c" (c), "=d" (d)
                      : "a" (0), "c" (0) : "memory");
        if ( a != na || b != nb || c != nc || d != nd )
            xtf_failure("cpuid from the watched page gave a different result\n");

        /* cpuid, then ret: each fetch recorded, as any instruction's. */
        nr = read_all();
        for ( i = 0; i < nr && i < 2; i++ )
            if ( recs[i].kind != XEN_RSHADOW_REC_EXEC ||
                 recs[i].rip != (unsigned long)insn[i] ||
                 recs[i].size != len[i] ||
                 memcmp(&recs[i].value, insn[i], len[i]) )
                break;
        if ( nr != 2 || i != 2 )
        {
            xtf_failure("round %u: %u records, expected the fetches of "
                        "cpuid and ret\n", round, nr);
            for ( i = 0; i < nr; i++ )
                rshadow_print_record(&recs[i]);
        }
    }

    nr = 1;
    if ( rshadow_list(&w, &nr, 0, NULL) || nr != 1 || w.flags )
        xtf_failure("the watch is listed with flags %#x\n", w.flags);
    if ( rshadow_stats(&s) || s.errors != 0 )
        xtf_failure("stats: %llu errors, expected none\n",
                    (unsigned long long)s.errors);

    rshadow_unwatch(gfn, 1);
}

void test_main(void)
{
    rshadow_require();
    if ( rshadow_enable(16) )
        return xtf_error("cannot enable rust-shadow\n");

    test_exec();
    test_cpuid();

    rshadow_disable();
    xtf_success(NULL);
}
