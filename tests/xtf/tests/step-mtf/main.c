/* SPDX-License-Identifier: GPL-2.0-only */
/**
 * @file tests/step-mtf/main.c
 * @brief The regression test for the 2008 bug: stepping after an emulated
 *        access, invisible to the guest.
 *
 * The guest writes to a page watched with a budget of 8 steps, then runs
 * eight more instructions.  On VMX (Monitor Trap Flag) it must not see a
 * single #DB, and the trace must hold the access, standing for the
 * emulated instruction, then exactly 8 step records whose RIPs are the 8
 * instructions after it (and whose next-RIPs are the ones after those).
 *
 * On SVM, which has no MTF, the same window is stepped with EFLAGS.TF and
 * the #DB intercept, hidden from the guest: the trace must be the same, and
 * the guest must not see a #DB there either.
 *
 * tests/step-naive-tf is the other half of the pair: the same thing done
 * with EFLAGS.TF, which hands the #DB to the guest.
 */
#include <xtf.h>
#include <xtf/rshadow.h>

const char test_title[] = "Stepping after a watched access";

uint32_t step_page[PAGE_SIZE / 4] __page_bss;

void step_seq(uint32_t *page);
extern const char step_access[], step_i1[], step_i2[], step_i3[], step_i4[],
    step_i5[], step_i6[], step_i7[], step_i8[], step_i9[];

#define STEPS 8

void test_main(void)
{
    static const char *const insn[] = {
        step_i1, step_i2, step_i3, step_i4, step_i5, step_i6, step_i7,
        step_i8, step_i9,
    };
    unsigned long gfn = virt_to_gfn(step_page);
    struct xen_rshadow_record r[16];
    unsigned int nr = ARRAY_SIZE(r), i;
    unsigned long dbs;

    rshadow_require();
    if ( rshadow_enable(64) )
        return xtf_error("cannot enable rust-shadow\n");

    if ( rshadow_watch(gfn, 1, XEN_RSHADOW_ACCESS_W, STEPS) )
        return xtf_failure("cannot watch with %u steps\n", STEPS);

    dbs = exc_count[X86_EXC_DB];
    step_seq(step_page);

    if ( exc_count[X86_EXC_DB] != dbs )
        xtf_failure("the guest saw %lu #DB(s): stepping leaked\n",
                    exc_count[X86_EXC_DB] - dbs);
    if ( step_page[0] != 0x5eed )
        xtf_failure("the watched write was lost\n");

    if ( rshadow_read(r, &nr, NULL) )
        return xtf_error("cannot read the trace\n");
    if ( nr != 1 + STEPS )
        xtf_failure("%u records, expected the access and %u steps\n", nr,
                    STEPS);

    if ( nr < 1 || r[0].kind != XEN_RSHADOW_REC_WRITE ||
         r[0].rip != (unsigned long)step_access ||
         r[0].linear != (unsigned long)step_page || r[0].value != 0x5eed )
        xtf_failure("the first record is not the emulated access\n");

    for ( i = 1; i < nr && i <= STEPS; i++ )
        if ( r[i].kind != XEN_RSHADOW_REC_STEP || r[i].extra != i - 1 ||
             r[i].rip != (unsigned long)insn[i - 1] ||
             r[i].linear != (unsigned long)insn[i] ||
             (r[i].rflags & X86_EFLAGS_TF) )
            xtf_failure("step %u: rip %#llx next %#llx, expected %p then %p\n",
                        i - 1, (unsigned long long)r[i].rip,
                        (unsigned long long)r[i].linear, insn[i - 1], insn[i]);

    if ( xtf_has_failed() )
        for ( i = 0; i < nr; i++ )
            rshadow_print_record(&r[i]);

    rshadow_disable();
    xtf_success(NULL);
}
