// SPDX-License-Identifier: GPL-2.0
/*
 * gfp_kernel.c - the "VM hangs" module, kept wrong on purpose.
 *
 * A timer multicasts "hello from kernel!" to NETLINK_USERSOCK group 22 and
 * re-arms itself, passing GFP_KERNEL to nlmsg_new() and nlmsg_multicast()
 * as the original report did. A timer callback runs in softirq context,
 * where nothing may sleep, and GFP_KERNEL says "you may sleep":
 *
 * - nlmsg_new() may enter memory reclaim and sleep;
 * - netlink_broadcast() calls yield() after delivering to a congested
 *   listener when the mask allows blocking (net/netlink/af_netlink.c).
 *
 * With CONFIG_DEBUG_ATOMIC_SLEEP the first tick reports "BUG: sleeping
 * function called from invalid context", listener or not. A stock kernel
 * shows nothing while every listener keeps up: a small allocation is served
 * without sleeping and nobody is congested. Once a listener falls behind,
 * yield() runs in softirq context and the kernel dies.
 *
 * gfp_atomic.c and use_workqueue.c are the two ways to fix it.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/errno.h>
#include <linux/gfp.h>
#include <linux/init.h>
#include <linux/jiffies.h>
#include <linux/module.h>
#include <linux/netlink.h>
#include <linux/timer.h>
#include <net/net_namespace.h>
#include <net/sock.h>

#include "nlbook_compat.h"
#include "nlbook_mcast.h"

#define MCAST_PERIOD_MS	1

struct mcaster {
	struct sock *sk;
	struct timer_list timer;
	/* Ticks lost to a failed allocation; only the timer writes it. */
	unsigned long skipped;
};

static struct mcaster mcaster;

/* ANCHOR: tick */
static void mcast_tick(struct timer_list *t)
{
	struct mcaster *m = timer_container_of(m, t, timer);

	/* The bug: softirq context, yet a mask that allows sleeping. */
	if (nlbook_mcast_hello(m->sk, GFP_KERNEL) == -ENOMEM)
		m->skipped++;

	mod_timer(&m->timer, jiffies + msecs_to_jiffies(MCAST_PERIOD_MS));
}
/* ANCHOR_END: tick */

static int __init gfp_kernel_init(void)
{
	/* No cfg: this socket only sends, so it needs no .input. */
	mcaster.sk = netlink_kernel_create(&init_net, NETLINK_USERSOCK, NULL);
	if (!mcaster.sk)
		return -ENOMEM;

	timer_setup(&mcaster.timer, mcast_tick, 0);
	mod_timer(&mcaster.timer, jiffies + msecs_to_jiffies(MCAST_PERIOD_MS));

	pr_info("multicasting to NETLINK_USERSOCK group %d from a timer with GFP_KERNEL\n",
		NLBOOK_MCAST_GROUP);
	return 0;
}

static void __exit gfp_kernel_exit(void)
{
	/* Stop the timer for good before the socket it uses goes away. */
#ifdef HAVE_TIMER_SHUTDOWN_SYNC
	timer_shutdown_sync(&mcaster.timer);
#else
	timer_delete_sync(&mcaster.timer);
#endif
	netlink_kernel_release(mcaster.sk);

	if (mcaster.skipped)
		pr_warn("%lu ticks skipped: allocation failed\n",
			mcaster.skipped);
	pr_info("stopped\n");
}

module_init(gfp_kernel_init);
module_exit(gfp_kernel_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Netlink workbook ch07: timer multicast with GFP_KERNEL (deliberately buggy)");
