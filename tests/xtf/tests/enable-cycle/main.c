/* SPDX-License-Identifier: GPL-2.0-only */
/**
 * @file tests/enable-cycle/main.c
 * @brief Enabling and disabling rust-shadow, and adding and removing
 *        watches, a thousand times each leaks nothing.
 *
 * Xen's free pages (XEN_SYSCTL_physinfo) are read before and after:
 *  - 1000 rounds of ENABLE (rings of various sizes), three watches (one of
 *    them over 128 frames, which revokes by dropping every shadow, one
 *    with steps where stepping exists), a watched write, then DISABLE;
 *  - with rust-shadow enabled once, 1000 rounds of ADD_WATCH, a watched
 *    write, REMOVE_WATCH (every tenth over 128 frames, every hundredth
 *    followed by a RESET);
 * and must be identical.  Each round's write is recorded exactly, so the
 * watches were live.
 */
#include <xtf.h>
#include <xtf/rshadow.h>
#include <xtf/xenmem.h>

const char test_title[] = "Enable, disable, watch, unwatch: 1000 times";

#define ROUNDS    1000u
#define BIG       128u

static volatile uint32_t page[PAGE_SIZE / 4] __page_bss;
/* Frames for the big range and one more: nothing the test runs from. */
static uint8_t big[BIG + 1][PAGE_SIZE] __page_bss;

static unsigned long page_gfn(void)
{
    return virt_to_gfn((const void *)page);
}

/* A watched write, recorded exactly (after any steps of the last one). */
static bool write_recorded(uint32_t v)
{
    struct xen_rshadow_record r[8];
    unsigned int nr = ARRAY_SIZE(r);

    page[v % 64] = v;
    if ( rshadow_read(r, &nr, NULL) || nr < 1 ||
         r[0].kind != XEN_RSHADOW_REC_WRITE || r[0].value != v ||
         r[0].linear != (unsigned long)&page[v % 64] )
    {
        xtf_failure("write %#x: %u records\n", v, nr);
        if ( nr )
            rshadow_print_record(&r[0]);
        return false;
    }
    return true;
}

static bool stepping(void)
{
    long rc;

    if ( rshadow_enable(16) )
        return false;
    rc = rshadow_watch(page_gfn(), 1, XEN_RSHADOW_ACCESS_W, 1);
    rshadow_disable();
    return rc == 0;
}

static void check_free(const char *what, long before)
{
    long after = xen_free_pages_settle(before);

    if ( after != before )
        xtf_failure("%s: Xen's free pages %ld before, %ld after\n",
                    what, before, after);
    else
        printk("%s: Xen's free pages %ld before and after\n", what, before);
}

static void test_enable_disable(bool steps)
{
    static const unsigned int rings[] = { 16, 256, 4096, 64 };
    long before = xen_free_pages();
    unsigned int i;

    for ( i = 0; i < ROUNDS && !xtf_has_failed(); i++ )
    {
        long rc;

        if ( (rc = rshadow_enable(rings[i % ARRAY_SIZE(rings)])) ||
             (rc = rshadow_watch(page_gfn(), 1, XEN_RSHADOW_ACCESS_W,
                                 steps ? 3 : 0)) ||
             (rc = rshadow_watch(virt_to_gfn(big), BIG, XEN_RSHADOW_ACCESS_R,
                                 0)) ||
             (rc = rshadow_watch(virt_to_gfn(big[BIG]), 1,
                                 XEN_RSHADOW_ACCESS_R | XEN_RSHADOW_ACCESS_W,
                                 0)) )
        {
            xtf_error("round %u: cannot enable and watch: %ld\n", i, rc);
            rshadow_disable();
            break;
        }
        write_recorded(i);
        if ( rshadow_disable() )
        {
            xtf_error("round %u: cannot disable\n", i);
            break;
        }
    }
    check_free("enable/disable", before);
}

static void test_watch_unwatch(void)
{
    long before = xen_free_pages();
    unsigned int i;

    if ( rshadow_enable(64) )
        return xtf_error("cannot enable rust-shadow\n");

    for ( i = 0; i < ROUNDS && !xtf_has_failed(); i++ )
    {
        bool wide = i % 10 == 0;

        if ( rshadow_watch(page_gfn(), 1, XEN_RSHADOW_ACCESS_W, 0) ||
             (wide && rshadow_watch(virt_to_gfn(big), BIG,
                                    XEN_RSHADOW_ACCESS_W, 0)) )
        {
            xtf_error("round %u: cannot watch\n", i);
            break;
        }
        write_recorded(0x10000 + i);
        if ( rshadow_unwatch(page_gfn(), 1) ||
             (wide && rshadow_unwatch(virt_to_gfn(big), BIG)) )
        {
            xtf_error("round %u: cannot unwatch\n", i);
            break;
        }
        if ( i % 100 == 99 && rshadow_reset() )
        {
            xtf_error("round %u: cannot reset\n", i);
            break;
        }
    }

    if ( rshadow_disable() )
        xtf_error("cannot disable rust-shadow\n");
    check_free("watch/unwatch", before);
}

void test_main(void)
{
    long free0;
    bool steps;

    rshadow_require();
    free0 = xen_free_pages();
    if ( free0 < 0 )
        return xtf_error("cannot read Xen's free pages: %ld\n", free0);

    steps = stepping();
    printk("stepping %s\n", steps ? "available" : "unavailable");

    test_enable_disable(steps);
    test_watch_unwatch();
    check_free("the whole test", free0);

    xtf_success(NULL);
}
