// SPDX-License-Identifier: GPL-2.0
/*
 * mcast_timer.c - the report's timer multicaster in the right context,
 * and told what each send achieved.
 *
 * A timer multicasts the greeting of nlbook_mcast.h to NETLINK_USERSOCK
 * group 22 and re-arms itself, as in the original report, with three
 * changes:
 *
 * - GFP_ATOMIC: a timer callback runs in softirq context, where nothing
 *   may sleep (chapter 7 shows what GFP_KERNEL does there);
 * - netlink_has_listeners() first: while the group is empty, a tick
 *   allocates nothing;
 * - the return value of nlmsg_multicast() is read. It says whether the
 *   message reached anybody, not whether every listener got it:
 *
 *     0         delivered to at least one socket;
 *     -ESRCH    delivered to no socket: the listeners are in other network
 *               namespaces, or every one of them was full;
 *     -ENOBUFS  a listener that set NETLINK_BROADCAST_ERROR could not take
 *               it (the others may still have got it).
 *
 * Each outcome is logged the first time it happens, so the log says which
 * ones occurred, not how often.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/errno.h>
#include <linux/gfp.h>
#include <linux/init.h>
#include <linux/jiffies.h>
#include <linux/module.h>
#include <linux/netlink.h>
#include <linux/timer.h>
#include <linux/types.h>
#include <net/net_namespace.h>
#include <net/sock.h>

#include "nlbook_compat.h"
#include "nlbook_mcast.h"

#define MCAST_PERIOD_MS	1

struct mcaster {
	struct sock *sk;
	struct timer_list timer;
	/*
	 * Which outcomes were logged already, and how many ticks lost their
	 * message to a failed allocation. Only the timer callback writes
	 * them, and a timer never runs concurrently with itself.
	 */
	bool logged_delivered;
	bool logged_nobody;
	bool logged_overrun;
	unsigned long skipped;
};

static struct mcaster mcaster;

static void note_outcome(struct mcaster *m, int err)
{
	switch (err) {
	case 0:
		if (!m->logged_delivered)
			pr_info("nlmsg_multicast() returned 0: delivered to at least one listener\n");
		m->logged_delivered = true;
		break;
	case -ESRCH:
		if (!m->logged_nobody)
			pr_info("nlmsg_multicast() returned -ESRCH: the group has a listener, but no socket in this namespace took the message\n");
		m->logged_nobody = true;
		break;
	case -ENOBUFS:
		if (!m->logged_overrun)
			pr_info("nlmsg_multicast() returned -ENOBUFS: a listener with NETLINK_BROADCAST_ERROR had no room\n");
		m->logged_overrun = true;
		break;
	case -ENOMEM:
		m->skipped++;
		break;
	default:
		pr_warn_once("nlmsg_multicast() returned %d\n", err);
	}
}

static void mcast_tick(struct timer_list *t)
{
	struct mcaster *m = timer_container_of(m, t, timer);

	/*
	 * A bit test in the protocol's listeners bitmap: nothing is allocated
	 * while the group is empty. The bitmap covers every network namespace,
	 * the broadcast only ours: hence -ESRCH above.
	 */
	if (netlink_has_listeners(m->sk, NLBOOK_MCAST_GROUP))
		note_outcome(m, nlbook_mcast_hello(m->sk, GFP_ATOMIC));

	mod_timer(&m->timer, jiffies + msecs_to_jiffies(MCAST_PERIOD_MS));
}

static int __init mcast_timer_init(void)
{
	/* No cfg: this socket only sends, so it needs no .input. */
	mcaster.sk = netlink_kernel_create(&init_net, NETLINK_USERSOCK, NULL);
	if (!mcaster.sk)
		return -ENOMEM;

	pr_info("multicasting to NETLINK_USERSOCK group %d from a timer with GFP_ATOMIC, while the group has listeners (now: %s)\n",
		NLBOOK_MCAST_GROUP,
		netlink_has_listeners(mcaster.sk, NLBOOK_MCAST_GROUP) ? "yes" : "no");

	timer_setup(&mcaster.timer, mcast_tick, 0);
	mod_timer(&mcaster.timer, jiffies + msecs_to_jiffies(MCAST_PERIOD_MS));
	return 0;
}

static void __exit mcast_timer_exit(void)
{
	/* Stop the timer for good before the socket it uses goes away. */
#ifdef HAVE_TIMER_SHUTDOWN_SYNC
	timer_shutdown_sync(&mcaster.timer);
#else
	timer_delete_sync(&mcaster.timer);
#endif
	netlink_kernel_release(mcaster.sk);

	if (mcaster.skipped)
		pr_warn("%lu ticks skipped: allocation failed\n", mcaster.skipped);
	pr_info("stopped\n");
}

module_init(mcast_timer_init);
module_exit(mcast_timer_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Netlink workbook ch03: timer multicast with GFP_ATOMIC, listeners checked, return value read");
