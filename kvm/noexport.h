/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Included first into every object of a KVM instance module: several
 * copies of KVM are loaded at once, so none may export a symbol.
 *
 * The kernel's __DISABLE_EXPORTS would do that too, but on x86 it also
 * turns off the return thunk and IBT in assembly (asm/linkage.h, asm/ibt.h),
 * which vmenter.S and the emulator's fastops need.
 */
#ifndef _KVM_INSTANCE_NOEXPORT_H
#define _KVM_INSTANCE_NOEXPORT_H

#include <linux/export.h>

#undef EXPORT_SYMBOL
#undef EXPORT_SYMBOL_GPL
#undef EXPORT_SYMBOL_NS
#undef EXPORT_SYMBOL_NS_GPL
#define EXPORT_SYMBOL(sym)
#define EXPORT_SYMBOL_GPL(sym)
#define EXPORT_SYMBOL_NS(sym, ns)
#define EXPORT_SYMBOL_NS_GPL(sym, ns)

#endif
