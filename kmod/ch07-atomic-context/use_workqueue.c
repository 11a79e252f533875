// SPDX-License-Identifier: GPL-2.0
/*
 * use_workqueue.c - the timer multicast fixed by moving the work to a
 * context that may sleep.
 *
 * The timer only queues a work item. The work item runs in a kworker
 * thread, i.e. process context, where GFP_KERNEL is correct: the allocation
 * may sleep in reclaim, and netlink_broadcast() may yield() to let a
 * congested listener catch up. A listener that still falls behind loses
 * messages and sees ENOBUFS, as with GFP_ATOMIC.
 *
 * (The file is not called workqueue.c: the module name would clash with the
 * built-in kernel/workqueue.c, which owns /sys/module/workqueue.)
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/errno.h>
#include <linux/gfp.h>
#include <linux/init.h>
#include <linux/jiffies.h>
#include <linux/module.h>
#include <linux/netlink.h>
#include <linux/timer.h>
#include <linux/workqueue.h>
#include <net/net_namespace.h>
#include <net/sock.h>

#include "nlbook_compat.h"
#include "nlbook_mcast.h"

#define MCAST_PERIOD_MS	1

struct mcaster {
	struct sock *sk;
	struct timer_list timer;
	struct work_struct work;
	/*
	 * Sends lost to a failed allocation. Only the work item writes it, and
	 * a work item never runs concurrently with itself.
	 */
	unsigned long skipped;
};

static struct mcaster mcaster;

/* ANCHOR: tick */
/* Process context: sleeping is allowed here. */
static void mcast_work(struct work_struct *work)
{
	struct mcaster *m = container_of(work, struct mcaster, work);

	if (nlbook_mcast_hello(m->sk, GFP_KERNEL) == -ENOMEM)
		m->skipped++;
}

/*
 * Softirq context: only hand over. If the previous work item has not run
 * yet, schedule_work() does nothing and the two ticks become one message.
 */
static void mcast_tick(struct timer_list *t)
{
	struct mcaster *m = timer_container_of(m, t, timer);

	schedule_work(&m->work);
	mod_timer(&m->timer, jiffies + msecs_to_jiffies(MCAST_PERIOD_MS));
}
/* ANCHOR_END: tick */

static int __init use_workqueue_init(void)
{
	/* No cfg: this socket only sends, so it needs no .input. */
	mcaster.sk = netlink_kernel_create(&init_net, NETLINK_USERSOCK, NULL);
	if (!mcaster.sk)
		return -ENOMEM;

	INIT_WORK(&mcaster.work, mcast_work);
	timer_setup(&mcaster.timer, mcast_tick, 0);
	mod_timer(&mcaster.timer, jiffies + msecs_to_jiffies(MCAST_PERIOD_MS));

	pr_info("multicasting to NETLINK_USERSOCK group %d from a work item with GFP_KERNEL\n",
		NLBOOK_MCAST_GROUP);
	return 0;
}

static void __exit use_workqueue_exit(void)
{
	/*
	 * Order matters: first stop the timer, the only thing that queues the
	 * work; then wait for a queued or running work item; only then is the
	 * socket unused.
	 */
#ifdef HAVE_TIMER_SHUTDOWN_SYNC
	timer_shutdown_sync(&mcaster.timer);
#else
	timer_delete_sync(&mcaster.timer);
#endif
	cancel_work_sync(&mcaster.work);
	netlink_kernel_release(mcaster.sk);

	if (mcaster.skipped)
		pr_warn("%lu sends skipped: allocation failed\n",
			mcaster.skipped);
	pr_info("stopped\n");
}

module_init(use_workqueue_init);
module_exit(use_workqueue_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Netlink workbook ch07: timer queues work, work multicasts with GFP_KERNEL");
