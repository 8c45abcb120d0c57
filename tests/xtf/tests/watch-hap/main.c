/* SPDX-License-Identifier: GPL-2.0-only */
/**
 * @file tests/watch-hap/main.c
 * @brief A domain on hardware-assisted paging is refused with EOPNOTSUPP.
 *
 * Watches work through the shadow page tables.  Xen boots with hap=1 here;
 * on Bochs-VMX (EPT) dom0 then runs on HAP, and every operation must be
 * refused with EOPNOTSUPP (the console says why).  QEMU's SVM has no
 * nested paging, so dom0 stays on shadow paging there and the test skips.
 */
#include <xtf.h>
#include <xtf/rshadow.h>

const char test_title[] = "A HAP domain is refused";

void test_main(void)
{
    long rc;

    rshadow_require();
    rc = rshadow_enable(16);
    if ( rc == 0 )
    {
        rshadow_disable();
        return xtf_skip("dom0 uses shadow paging here (no HAP on this CPU)\n");
    }
    if ( rc != -EOPNOTSUPP )
        return xtf_failure("enable on HAP gave %ld, expected %d\n", rc,
                           -EOPNOTSUPP);
    if ( (rc = rshadow_watch(0x100, 1, XEN_RSHADOW_ACCESS_R, 0)) != -EOPNOTSUPP )
        return xtf_failure("watch on HAP gave %ld, expected %d\n", rc,
                           -EOPNOTSUPP);
    xtf_success(NULL);
}
