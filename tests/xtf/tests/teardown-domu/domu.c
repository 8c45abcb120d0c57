/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Building a small HVM domU from the test kernel (dom0), in the order
 * libxl does it for a PVH guest: XEN_DOMCTL_createdomain, max_vcpus, the
 * shadow pool, max_mem, XENMEM_populate_physmap, the image, then the vCPU
 * through XEN_DOMCTL_sethvmcontext as libxc's vcpu_hvm() does.
 *
 * Loading the image.  dom0 maps the domU's frame into its own physmap
 * (XENMAPSPACE_gmfn_foreign), but on shadow paging it cannot touch it with
 * its CPU: _sh_propagate() and sh_page_fault() map only p2m_is_valid()
 * types, which p2m_map_foreign is not, so the access would come back as a
 * #PF.  Xen's own copies can (p2m_get_page_from_gfn() takes a foreign
 * page), so the bytes get there through one: they are loaded as the
 * domU's general-purpose registers (the 128 bytes rax..r15 of the CPU save
 * record), and XEN_DOMCTL_gethvmcontext_partial writes that record out to
 * a dom0 buffer placed so that those 128 bytes land on the foreign page.
 * The vCPU's real state is loaded afterwards.
 */
#include <xtf.h>
#include "domu.h"

#include <public/hvm/save.h>
#include <public/memory.h>
#include <public/sched.h>

#ifndef ERESTART
#define ERESTART 85
#endif
#ifndef ENOBUFS
#define ENOBUFS  105
#endif
#ifndef ENODATA
#define ENODATA  61
#endif

/*
 * A dom0 frame for the foreign mapping: above dom0's RAM (dom0_mem=128M)
 * and above the emulated machines' RAM (512 MiB at most), below the PCI
 * hole, so nothing of dom0's is there to be replaced.
 */
#define STAGE_GFN 0x30000UL

/*
 * Three pages of dom0's own: the middle one's PTE is pointed at STAGE_GFN
 * while loading; the CPU record Xen writes (1032 bytes) may spill into
 * the other two.
 */
static uint8_t stage[3][PAGE_SIZE] __page_bss;

/* The most image one copy carries: the CPU record's rax..r15. */
#define STAGE_CHUNK 128

const char *domu_errname(long rc)
{
    switch ( -rc )
    {
    case 0:             return "ok";
    case EPERM:         return "EPERM";
    case ENOENT:        return "ENOENT";
    case ESRCH:         return "ESRCH";
    case E2BIG:         return "E2BIG";
    case EAGAIN:        return "EAGAIN";
    case ENOMEM:        return "ENOMEM";
    case EACCES:        return "EACCES";
    case EFAULT:        return "EFAULT";
    case EBUSY:         return "EBUSY";
    case EEXIST:        return "EEXIST";
    case ENODEV:        return "ENODEV";
    case EINVAL:        return "EINVAL";
    case ENOSPC:        return "ENOSPC";
    case ERANGE:        return "ERANGE";
    case ENOSYS:        return "ENOSYS";
    case ENODATA:       return "ENODATA";
    case ERESTART:      return "ERESTART";
    case EOPNOTSUPP:    return "EOPNOTSUPP";
    case ENOBUFS:       return "ENOBUFS";
    case ENXIO:         return "ENXIO";
    default:            return "errno";
    }
}

static long fail(const char *what, unsigned int domid, long rc)
{
    printk("domu: d%u: %s failed: %s (%ld)\n", domid, what, domu_errname(rc),
           rc);
    return rc;
}

static long domctl(struct xen_domctl *op, unsigned int cmd, unsigned int domid)
{
    op->cmd = cmd;
    op->interface_version = XEN_DOMCTL_INTERFACE_VERSION;
    op->domain = domid;
    return hypercall1(__HYPERVISOR_domctl, op);
}

static long simple_domctl(unsigned int cmd, unsigned int domid,
                          const char *what)
{
    struct xen_domctl op = {};
    long rc = domctl(&op, cmd, domid);

    return rc ? fail(what, domid, rc) : 0;
}

long domu_pause(unsigned int domid)
{
    return simple_domctl(XEN_DOMCTL_pausedomain, domid,
                         "XEN_DOMCTL_pausedomain");
}

long domu_unpause(unsigned int domid)
{
    return simple_domctl(XEN_DOMCTL_unpausedomain, domid,
                         "XEN_DOMCTL_unpausedomain");
}

long domu_info(unsigned int domid, struct xen_domctl_getdomaininfo *info)
{
    struct xen_domctl op = {};
    long rc = domctl(&op, XEN_DOMCTL_getdomaininfo, domid);

    /* Xen answers with the next domain up when this one is gone. */
    if ( !rc && op.u.getdomaininfo.domain != domid )
        rc = -ESRCH;
    if ( !rc && info )
        *info = op.u.getdomaininfo;
    return rc;
}

long domu_shutdown(unsigned int domid, unsigned int reason)
{
    struct sched_remote_shutdown rs = {
        .domain_id = domid,
        .reason = reason,
    };
    long rc = hypercall2(__HYPERVISOR_sched_op, SCHEDOP_remote_shutdown, &rs);

    return rc ? fail("SCHEDOP_remote_shutdown", domid, rc) : 0;
}

long domu_destroy(unsigned int domid)
{
    struct xen_domctl op;
    unsigned int tries;
    long rc;

    /*
     * Xen restarts the domctl itself (a continuation) while domain_kill()
     * has work left; -ERESTART or -EAGAIN reaching us means call again.
     */
    for ( tries = 0; tries < 10000; tries++ )
    {
        memset(&op, 0, sizeof(op));
        rc = domctl(&op, XEN_DOMCTL_destroydomain, domid);
        if ( rc != -ERESTART && rc != -EAGAIN )
            break;
        hypercall2(__HYPERVISOR_sched_op, SCHEDOP_yield, NULL);
    }
    return rc ? fail("XEN_DOMCTL_destroydomain", domid, rc) : 0;
}

bool domu_wait_gone(unsigned int domid)
{
    unsigned int i;

    /* The last reference goes with an RCU callback: give it time. */
    for ( i = 0; i < 20000; i++ )
    {
        if ( domu_info(domid, NULL) == -ESRCH )
            return true;
        hypercall2(__HYPERVISOR_sched_op, SCHEDOP_yield, NULL);
    }
    printk("domu: d%u still in Xen's domain list after destruction\n", domid);
    return false;
}

static long populate(unsigned int domid, unsigned long nr)
{
    static xen_pfn_t gfns[256];
    unsigned long done = 0, i, n;
    long rc;

    while ( done < nr )
    {
        struct xen_memory_reservation res = {
            .extent_order = 0,
            .domid = domid,
        };

        n = nr - done < ARRAY_SIZE(gfns) ? nr - done : ARRAY_SIZE(gfns);
        for ( i = 0; i < n; i++ )
            gfns[i] = done + i;
        res.nr_extents = n;
        res.extent_start.p = gfns;

        rc = hypercall2(__HYPERVISOR_memory_op, XENMEM_populate_physmap, &res);
        if ( rc < 0 )
            return fail("XENMEM_populate_physmap", domid, rc);
        if ( rc == 0 )
        {
            printk("domu: d%u: XENMEM_populate_physmap made no progress at gfn %#lx\n",
                   domid, done);
            return -ENOMEM;
        }
        done += rc;
    }
    return 0;
}

/* Maps the domU's gfn at STAGE_GFN in dom0's physmap. */
static long map_foreign(unsigned int domid, unsigned long gfn)
{
    xen_ulong_t idx = gfn;
    xen_pfn_t gpfn = STAGE_GFN;
    int err = 0;
    struct xen_add_to_physmap_batch b = {
        .domid = DOMID_SELF,
        .space = XENMAPSPACE_gmfn_foreign,
        .size = 1,
        .u.foreign_domid = domid,
    };
    long rc;

    /* Plain handles: set_xen_guest_handle() trips -Wstrict-aliasing in 32-bit. */
    b.idxs.p = &idx;
    b.gpfns.p = &gpfn;
    b.errs.p = &err;
    rc = hypercall2(__HYPERVISOR_memory_op, XENMEM_add_to_physmap_batch, &b);
    if ( !rc )
        rc = err;
    return rc ? fail("XENMEM_add_to_physmap_batch (gmfn_foreign)", domid, rc)
              : 0;
}

static long unmap_foreign(unsigned int domid)
{
    struct xen_remove_from_physmap r = {
        .domid = DOMID_SELF,
        .gpfn = STAGE_GFN,
    };
    long rc = hypercall2(__HYPERVISOR_memory_op, XENMEM_remove_from_physmap, &r);

    return rc ? fail("XENMEM_remove_from_physmap", domid, rc) : 0;
}

static long get_cpu_record(unsigned int domid, void *buf)
{
    struct xen_domctl op = {};
    long rc;

    op.u.hvmcontext_partial.type = HVM_SAVE_CODE(CPU);
    op.u.hvmcontext_partial.instance = 0;
    op.u.hvmcontext_partial.bufsz = HVM_SAVE_LENGTH(CPU);
    set_xen_guest_handle(op.u.hvmcontext_partial.buffer, buf);
    rc = domctl(&op, XEN_DOMCTL_gethvmcontext_partial, domid);
    return rc ? fail("XEN_DOMCTL_gethvmcontext_partial (CPU)", domid, rc) : 0;
}

/* The whole save image, from XEN_DOMCTL_gethvmcontext. */
static uint8_t full_ctx[4 * PAGE_SIZE];
static uint32_t full_size;

static long get_context(unsigned int domid)
{
    struct xen_domctl op = {};
    long rc;

    rc = domctl(&op, XEN_DOMCTL_gethvmcontext, domid);
    if ( rc )
        return fail("XEN_DOMCTL_gethvmcontext (size)", domid, rc);
    if ( op.u.hvmcontext.size > sizeof(full_ctx) )
    {
        printk("domu: d%u: HVM context of %u bytes, room for %zu\n", domid,
               op.u.hvmcontext.size, sizeof(full_ctx));
        return -ENOSPC;
    }

    memset(&op, 0, sizeof(op));
    op.u.hvmcontext.size = sizeof(full_ctx);
    set_xen_guest_handle(op.u.hvmcontext.buffer, full_ctx);
    rc = domctl(&op, XEN_DOMCTL_gethvmcontext, domid);
    if ( rc )
        return fail("XEN_DOMCTL_gethvmcontext", domid, rc);
    full_size = op.u.hvmcontext.size;
    return 0;
}

/* A record of the saved image, or NULL. */
static const void *find_record(uint16_t type, uint16_t instance,
                               uint32_t length)
{
    uint32_t off = 0;

    while ( off + sizeof(struct hvm_save_descriptor) <= full_size )
    {
        const struct hvm_save_descriptor *d = (const void *)&full_ctx[off];

        off += sizeof(*d);
        if ( d->length > full_size - off )
            break;
        if ( d->typecode == type && d->instance == instance &&
             d->length == length )
            return &full_ctx[off];
        if ( d->typecode == HVM_SAVE_CODE(END) )
            break;
        off += d->length;
    }
    return NULL;
}

/* The image handed to XEN_DOMCTL_sethvmcontext. */
static struct {
    struct hvm_save_descriptor header_d;
    HVM_SAVE_TYPE(HEADER) header;
    struct hvm_save_descriptor cpu_d;
    HVM_SAVE_TYPE(CPU) cpu;
    struct hvm_save_descriptor mtrr_d;
    HVM_SAVE_TYPE(MTRR) mtrr;
    struct hvm_save_descriptor end_d;
    HVM_SAVE_TYPE(END) end;
} __attribute__((packed)) set_ctx;

/* Loads header + CPU (+ MTRR) + END; the vCPU comes up, still paused. */
static long set_context(unsigned int domid, bool with_mtrr)
{
    struct xen_domctl op = {};
    uint8_t *p = (uint8_t *)&set_ctx;
    size_t size;
    long rc;

    set_ctx.cpu_d = (struct hvm_save_descriptor){
        .typecode = HVM_SAVE_CODE(CPU),
        .length = HVM_SAVE_LENGTH(CPU),
    };
    set_ctx.end_d = (struct hvm_save_descriptor){
        .typecode = HVM_SAVE_CODE(END),
        .length = HVM_SAVE_LENGTH(END),
    };
    if ( with_mtrr )
    {
        set_ctx.mtrr_d = (struct hvm_save_descriptor){
            .typecode = HVM_SAVE_CODE(MTRR),
            .length = HVM_SAVE_LENGTH(MTRR),
        };
        size = sizeof(set_ctx);
    }
    else
    {
        /* END straight after the CPU record. */
        memcpy(&set_ctx.mtrr_d, &set_ctx.end_d, sizeof(set_ctx.end_d));
        size = offsetof(typeof(set_ctx), mtrr) + sizeof(set_ctx.end);
    }

    op.u.hvmcontext.size = size;
    set_xen_guest_handle(op.u.hvmcontext.buffer, p);
    rc = domctl(&op, XEN_DOMCTL_sethvmcontext, domid);
    return rc ? fail("XEN_DOMCTL_sethvmcontext", domid, rc) : 0;
}

static long load_image(const struct domu_config *cfg, unsigned int domid)
{
    intpte_t *pte = l1e_of(stage[1]), saved = *pte;
    size_t off = cfg->load_off;
    long rc, rc2;

    if ( cfg->blob_size > STAGE_CHUNK || off + cfg->blob_size > PAGE_SIZE )
    {
        printk("domu: d%u: image of %zu bytes at %#zx: at most %u bytes, in one page\n",
               domid, cfg->blob_size, off, STAGE_CHUNK);
        return -E2BIG;
    }

    /* The image as rax..r15; the rest of this record does not matter. */
    memset(&set_ctx.cpu, 0, sizeof(set_ctx.cpu));
    memcpy(&set_ctx.cpu.rax, cfg->blob, cfg->blob_size);
    set_ctx.cpu.cr0 = X86_CR0_PE | X86_CR0_ET;
    set_ctx.cpu.cs_arbytes = 0xc9b;
    set_ctx.cpu.ds_arbytes = set_ctx.cpu.ss_arbytes = 0xc93;
    set_ctx.cpu.tr_arbytes = 0x8b;
    if ( (rc = set_context(domid, false)) ||
         (rc = map_foreign(domid, cfg->load_gfn)) )
        return rc;

    /* Xen walks our page tables for the copy: point them there. */
    *pte = ((intpte_t)STAGE_GFN << PAGE_SHIFT) | (saved & ~PAGE_MASK);
    invlpg(stage[1]);

    /* Written out so that rax lands at `off` in the foreign page. */
    rc = get_cpu_record(domid,
                        &stage[1][off] - offsetof(struct hvm_hw_cpu, rax));

    /* Our own page back before the foreign one goes. */
    *pte = saved;
    invlpg(stage[1]);
    rc2 = unmap_foreign(domid);
    return rc ?: rc2;
}

/*
 * The save image's header, which every XEN_DOMCTL_sethvmcontext needs:
 * taken from Xen's own image, as libxc's vcpu_hvm() does (it holds CPUID
 * details Xen checks on load).
 */
static long get_header(unsigned int domid)
{
    long rc;

    if ( (rc = get_context(domid)) )
        return rc;
    if ( full_size < sizeof(set_ctx.header_d) + sizeof(set_ctx.header) ||
         ((const struct hvm_save_descriptor *)full_ctx)->typecode !=
         HVM_SAVE_CODE(HEADER) )
    {
        printk("domu: d%u: HVM context has no header\n", domid);
        return -EINVAL;
    }
    memcpy(&set_ctx.header_d, full_ctx,
           sizeof(set_ctx.header_d) + sizeof(set_ctx.header));
    return 0;
}

/* The vCPU as libxc's vcpu_hvm() leaves a PVH guest's BSP. */
static long start_vcpu(const struct domu_config *cfg, unsigned int domid)
{
    const void *mtrr;

    memset(&set_ctx.cpu, 0, sizeof(set_ctx.cpu));
    set_ctx.cpu.cs_limit = set_ctx.cpu.ds_limit = ~0u;
    set_ctx.cpu.es_limit = set_ctx.cpu.ss_limit = ~0u;
    set_ctx.cpu.tr_limit = 0x67;
    set_ctx.cpu.cs_arbytes = 0xc9b;
    set_ctx.cpu.ds_arbytes = set_ctx.cpu.es_arbytes = 0xc93;
    set_ctx.cpu.ss_arbytes = 0xc93;
    set_ctx.cpu.tr_arbytes = 0x8b;
    set_ctx.cpu.cr0 = X86_CR0_PE | X86_CR0_ET;
    set_ctx.cpu.rip = cfg->entry;
    set_ctx.cpu.rflags = X86_EFLAGS_MBS;   /* IF clear: no interrupts */
    set_ctx.cpu.dr6 = X86_DR6_DEFAULT;
    set_ctx.cpu.dr7 = X86_DR7_DEFAULT;

    /* MTRRs on, write-back by default, as for a PVH guest. */
    mtrr = find_record(HVM_SAVE_CODE(MTRR), 0, HVM_SAVE_LENGTH(MTRR));
    if ( mtrr )
    {
        memcpy(&set_ctx.mtrr, mtrr, sizeof(set_ctx.mtrr));
        set_ctx.mtrr.msr_mtrr_def_type = 6 /* WB */ | (1u << 11) /* E */;
    }

    return set_context(domid, mtrr != NULL);
}

long domu_create(const struct domu_config *cfg, unsigned int *domid)
{
    struct xen_domctl op = {};
    unsigned int id;
    long rc;

    op.u.createdomain = (struct xen_domctl_createdomain){
        .flags = XEN_DOMCTL_CDF_hvm,        /* no CDF_hap: shadow paging */
        .max_vcpus = 1,
        .max_evtchn_port = 1023,
        .max_grant_frames = -1,
        .max_maptrack_frames = -1,
        .grant_opts = XEN_DOMCTL_GRANT_version(1),
        .arch.emulation_flags = XEN_X86_EMU_LAPIC,
    };
    rc = domctl(&op, XEN_DOMCTL_createdomain, 0);
    if ( rc )
        return fail("XEN_DOMCTL_createdomain", 0, rc);
    id = op.domain;

    memset(&op, 0, sizeof(op));
    op.u.max_vcpus.max = 1;
    if ( (rc = domctl(&op, XEN_DOMCTL_max_vcpus, id)) )
    {
        fail("XEN_DOMCTL_max_vcpus", id, rc);
        goto undo;
    }

    memset(&op, 0, sizeof(op));
    op.u.shadow_op.op = XEN_DOMCTL_SHADOW_OP_SET_ALLOCATION;
    op.u.shadow_op.mb = cfg->shadow_mb;
    if ( (rc = domctl(&op, XEN_DOMCTL_shadow_op, id)) )
    {
        fail("XEN_DOMCTL_shadow_op (SET_ALLOCATION)", id, rc);
        goto undo;
    }

    memset(&op, 0, sizeof(op));
    op.u.max_mem.max_memkb = (uint64_t)cfg->ram_pages * (PAGE_SIZE / 1024);
    if ( (rc = domctl(&op, XEN_DOMCTL_max_mem, id)) )
    {
        fail("XEN_DOMCTL_max_mem", id, rc);
        goto undo;
    }

    if ( (rc = populate(id, cfg->ram_pages)) ||
         (rc = get_header(id)) ||
         (rc = load_image(cfg, id)) ||
         (rc = start_vcpu(cfg, id)) )
        goto undo;

    *domid = id;
    return 0;

 undo:
    if ( !domu_destroy(id) )
        domu_wait_gone(id);
    return rc;
}
