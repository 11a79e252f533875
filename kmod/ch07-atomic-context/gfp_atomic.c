// SPDX-License-Identifier: GPL-2.0
/*
 * gfp_atomic.c - the timer multicast fixed by telling the truth about the
 * context: GFP_ATOMIC.
 *
 * Same timer and message as gfp_kernel.c. GFP_ATOMIC never sleeps: the
 * allocation fails instead of entering reclaim, and netlink_broadcast()
 * skips its yield() for a congested listener. That listener's socket then
 * drops messages, and its next recv() fails with ENOBUFS: the loss is
 * reported where it happened, in the slow reader.
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

	/* Softirq context: GFP_ATOMIC may fail, so skip this tick if it does. */
	if (nlbook_mcast_hello(m->sk, GFP_ATOMIC) == -ENOMEM)
		m->skipped++;

	mod_timer(&m->timer, jiffies + msecs_to_jiffies(MCAST_PERIOD_MS));
}
/* ANCHOR_END: tick */

static int __init gfp_atomic_init(void)
{
	/* No cfg: this socket only sends, so it needs no .input. */
	mcaster.sk = netlink_kernel_create(&init_net, NETLINK_USERSOCK, NULL);
	if (!mcaster.sk)
		return -ENOMEM;

	timer_setup(&mcaster.timer, mcast_tick, 0);
	mod_timer(&mcaster.timer, jiffies + msecs_to_jiffies(MCAST_PERIOD_MS));

	pr_info("multicasting to NETLINK_USERSOCK group %d from a timer with GFP_ATOMIC\n",
		NLBOOK_MCAST_GROUP);
	return 0;
}

static void __exit gfp_atomic_exit(void)
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

module_init(gfp_atomic_init);
module_exit(gfp_atomic_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Netlink workbook ch07: timer multicast with GFP_ATOMIC");
