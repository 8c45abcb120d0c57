/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * trace-c: a C program on rshadowctl's C API (tools/rshadowctl/include/
 * rshadowctl.h, librshadowctl.a), as a tool of the LibVMI or DRAKVUF family
 * would use it.  Run in dom0 by the toolstack test (tests/linux/dom0-init)
 * while the domU's target page is watched: finds the domain by name, asks
 * Xen to signal it when records wait, reads its vCPU 0 trace, sleeping on
 * the signal when the ring is drained, until a write to GFN comes, and
 * prints that record and the steps after it on "CAPI key=value" lines.  Also
 * checks the API's refusals: a domain that does not exist, a NULL buffer.
 *
 * usage: trace-c NAME GFN
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rshadowctl.h"

#define BATCH 64

int main(int argc, char **argv)
{
    RshadowctlRecord recs[BATCH];
    RshadowctlHandle *h;
    uint64_t gfn, lost = 0;
    unsigned int tries, i, steps;
    int domid, n, rc = 1;

    if ( argc != 3 )
    {
        fprintf(stderr, "usage: trace-c NAME GFN\n");
        return 2;
    }
    gfn = strtoull(argv[2], NULL, 0);

    h = rshadowctl_open();
    if ( !h )
    {
        printf("CAPI open failed: %s\n", strerror(errno));
        return 1;
    }
    domid = rshadowctl_domid_by_name(argv[1]);
    printf("CAPI domid=%d nosuch=%d\n", domid, rshadowctl_domid_by_name("nosuch"));
    printf("CAPI null-buffer=%d\n", rshadowctl_read_trace(h, domid, 0, NULL, 1, NULL));
    if ( domid < 0 )
        goto out;
    /* Xen signals when records wait: no polling. */
    n = rshadowctl_notify(h, domid, 0, 0);
    printf("CAPI notify=%d\n", n);
    if ( n < 0 )
        goto out;

    for ( tries = 0; tries < 100; tries++ )
    {
        n = rshadowctl_read_trace(h, domid, 0, recs, BATCH, &lost);
        if ( n < 0 )
        {
            printf("CAPI read_trace=%d\n", n);
            goto out;
        }
        for ( i = 0; i < (unsigned int)n; i++ )
        {
            if ( recs[i].kind != RshadowctlRecWrite || recs[i].gfn != gfn )
                continue;
            for ( steps = 0; i + 1 + steps < (unsigned int)n &&
                             recs[i + 1 + steps].kind == RshadowctlRecStep; steps++ )
                ;
            printf("CAPI write gfn=0x%" PRIx64 " linear=0x%" PRIx64 " rip=0x%" PRIx64
                   " value=0x%" PRIx64 " size=%u cpl=%u steps=%u first-step=0x%" PRIx64 "\n",
                   recs[i].gfn, recs[i].linear, recs[i].rip, recs[i].value,
                   recs[i].size, (recs[i].mode >> 4) & 3, steps,
                   steps ? recs[i + 1].rip : 0);
            rc = 0;
            goto out;
        }
        /* The ring drained (a full batch may leave more): sleep on Xen. */
        if ( n < BATCH && rshadowctl_wait(h, 1000) < 0 )
        {
            printf("CAPI wait failed\n");
            goto out;
        }
    }
    printf("CAPI no write to 0x%" PRIx64 " in 100 batches or waits\n", gfn);
 out:
    rshadowctl_close(h);
    return rc;
}
