/* SPDX-License-Identifier: GPL-2.0 */
/*
 * nlbook_compat.h - the kernel API differences the workbook's modules meet.
 *
 * The modules are written against the newest API. This header turns kernel
 * versions into feature macros so that no module does version arithmetic:
 *
 * - where a kernel only renamed something, older kernels get the new name
 *   mapped onto the old one, and the module just uses the new name;
 * - where an older kernel lacks a feature, HAVE_<FEATURE> stays undefined
 *   and the module says what it does instead under #ifdef HAVE_<FEATURE>.
 *
 * Each entry names the mainline release that brought the API and, where it
 * matters for Debian 12, the 6.1 stable release that back-ported it (listed
 * in the "New upstream stable update" entries of Debian's linux changelog).
 */
#ifndef NLBOOK_COMPAT_H
#define NLBOOK_COMPAT_H

#include <linux/timer.h>
#include <linux/version.h>

/*
 * timer_delete_sync(): mainline 6.2 (the new name of del_timer_sync()),
 * back-ported to 6.1.84. Newer kernels drop the old name.
 */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 1, 84)
#define HAVE_TIMER_DELETE_SYNC
#endif

#ifndef HAVE_TIMER_DELETE_SYNC
#define timer_delete_sync(timer) del_timer_sync(timer)
#endif

/*
 * timer_delete(): mainline 6.2, the new name of del_timer(), which 6.15
 * removed. 6.1.192 has it (verified in its source); which 6.1 stable
 * release first did is not pinned here, so older 6.1 releases use the old
 * name, which every one of them has.
 */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 1, 192)
#define HAVE_TIMER_DELETE
#endif

#ifndef HAVE_TIMER_DELETE
#define timer_delete(timer) del_timer(timer)
#endif

/*
 * timer_shutdown_sync(): mainline 6.2, back-ported to 6.1.158. It waits for
 * a running callback like timer_delete_sync() and also makes any later
 * mod_timer() a no-op, which is what a module's exit path wants for a timer
 * that re-arms itself. Without it, timer_delete_sync() still suffices for a
 * timer that only its own callback re-arms: it waits for the callback, then
 * removes the timer that callback queued.
 */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 1, 158)
#define HAVE_TIMER_SHUTDOWN_SYNC
#endif

/*
 * timer_container_of(): mainline 6.16, the new name of from_timer(). It is
 * a macro, so a stable kernel that back-ports it is detected as well.
 */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 16, 0) || defined(timer_container_of)
#define HAVE_TIMER_CONTAINER_OF
#endif

#ifndef HAVE_TIMER_CONTAINER_OF
#define timer_container_of(var, callback_timer, timer_fieldname) \
	from_timer(var, callback_timer, timer_fieldname)
#endif

#endif /* NLBOOK_COMPAT_H */
