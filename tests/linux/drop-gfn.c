/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * drop-gfn DOMID GFN: takes one frame away from a domain, as a balloon
 * driver gives one back to Xen, through Xen's own libxenctrl
 * (XENMEM_decrease_reservation for that domain, from dom0).  The
 * toolstack test (tests/linux/domu.py) drops the frame of a watched page
 * of the domU's target process and checks that the watch ends, and that
 * the trace says so.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xenctrl.h>

int main(int argc, char **argv)
{
    xc_interface *xch;
    xen_pfn_t gfn;
    uint32_t domid;
    int rc;

    if ( argc != 3 )
    {
        fprintf(stderr, "usage: drop-gfn DOMID GFN\n");
        return 2;
    }
    domid = strtoul(argv[1], NULL, 0);
    gfn = strtoull(argv[2], NULL, 0);

    xch = xc_interface_open(NULL, NULL, 0);
    if ( !xch )
    {
        fprintf(stderr, "drop-gfn: cannot open libxenctrl: %s\n", strerror(errno));
        return 1;
    }
    rc = xc_domain_decrease_reservation_exact(xch, domid, 1, 0, &gfn);
    if ( rc )
        fprintf(stderr, "drop-gfn: d%" PRIu32 " gfn %#" PRIx64 ": %s\n", domid,
                (uint64_t)gfn, strerror(errno));
    else
        printf("drop-gfn: d%" PRIu32 " gfn %#" PRIx64 " given back to Xen\n", domid,
               (uint64_t)gfn);
    xc_interface_close(xch);

    return rc ? 1 : 0;
}
