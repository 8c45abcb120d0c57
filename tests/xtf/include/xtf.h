/* SPDX-License-Identifier: GPL-2.0-only */
/* Everything a test needs, in one include. */
#ifndef XTF_H
#define XTF_H

#include <xtf/types.h>
#include <xtf/lib.h>
#include <xtf/report.h>
#include <xtf/test.h>
#include <xtf/hypercall.h>
#include <xtf/traps.h>
#include <arch/x86/processor.h>
#include <arch/x86/page.h>
#include <arch/x86/regs.h>

#endif /* XTF_H */
