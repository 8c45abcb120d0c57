/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Xen's public headers rshadowctl takes structures from (bindgen, in
 * build.rs), as Debian's libxen-dev installs them for the pinned Xen.
 */
#define __XEN_TOOLS__ 1
#include <stdint.h>
#include <xen/xen.h>
#include <xen/hvm/save.h>
#include <xen/domctl.h>
