/* SPDX-License-Identifier: GPL-2.0-only */
/**
 * @file tests/watch-exec/main.c
 * @brief Execute watches: code on a watched page runs correctly and each of
 *        its instructions is recorded; an instruction Xen cannot emulate
 *        degrades by the documented policy.
 *
 * The policy: x86_emulate() has no `cpuid` for shadow emulation, so
 * fetching it from an execute-watched page gives an error record, the
 * watch is disabled (and listed so), and the guest's retry runs natively
 * with the right result.
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

static void test_unhandleable(void)
{
    unsigned long gfn = virt_to_gfn(exec_cpuid);
    uint32_t a, b, c, d, na, nb, nc, nd;
    struct xen_rshadow_watch w;
    struct xen_rshadow_stats s;
    unsigned int nr = 1;

    if ( rshadow_watch(gfn, 1, XEN_RSHADOW_ACCESS_X, 0) )
        return xtf_error("cannot watch the cpuid page\n");

    cpuid(0, &na, &nb, &nc, &nd);
    asm volatile ("call exec_cpuid"
                  : "=a" (a), "=b" (b), "=c" (c), "=d" (d)
                  : "a" (0), "c" (0) : "memory");
    if ( a != na || b != nb || c != nc || d != nd )
        xtf_failure("cpuid from the watched page gave a different result\n");

    nr = read_all();
    if ( nr < 1 || recs[0].kind != XEN_RSHADOW_REC_ERROR ||
         recs[0].extra != XEN_RSHADOW_ERR_UNHANDLEABLE ||
         recs[0].rip != (unsigned long)cpuid_i0 )
    {
        xtf_failure("no error record for the unemulatable cpuid (%u)\n", nr);
        if ( nr )
            rshadow_print_record(&recs[0]);
    }

    nr = 1;
    if ( rshadow_list(&w, &nr, 0, NULL) || nr != 1 ||
         !(w.flags & XEN_RSHADOW_WATCH_DISABLED) )
        xtf_failure("the watch was not disabled\n");
    if ( rshadow_stats(&s) || s.errors != 1 )
        xtf_failure("stats: %llu errors, expected 1\n",
                    (unsigned long long)s.errors);

    /* Disabled: the code now runs natively, unrecorded. */
    asm volatile ("call exec_cpuid"
                  : "=a" (a), "=b" (b), "=c" (c), "=d" (d)
                  : "a" (0), "c" (0) : "memory");
    if ( read_all() )
        xtf_failure("a disabled watch still records\n");

    rshadow_unwatch(gfn, 1);
}

void test_main(void)
{
    rshadow_require();
    if ( rshadow_enable(16) )
        return xtf_error("cannot enable rust-shadow\n");

    test_exec();
    test_unhandleable();

    rshadow_disable();
    xtf_success(NULL);
}
