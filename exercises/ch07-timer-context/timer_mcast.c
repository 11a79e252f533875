// SPDX-License-Identifier: GPL-2.0
/*
 * timer_mcast.c - exercise: make the timer multicaster safe.
 *
 * A timer multicasts "hello from kernel!" to NETLINK_USERSOCK group 22
 * every millisecond, as in the "VM hangs" report. As written it allocates
 * and sends with GFP_KERNEL from the timer callback: the debug kernel
 * reports "sleeping function called from invalid context", and a listener
 * that falls behind makes netlink_broadcast() yield in softirq context,
 * which takes a stock kernel down.
 *
 * Your task: change this module so that every kernel stays quiet, with a
 * listener that keeps up and with one that does not. Keep the message,
 * the group and the period.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/errno.h>
#include <linux/gfp.h>
#include <linux/init.h>
#include <linux/jiffies.h>
#include <linux/module.h>
#include <linux/netlink.h>
#include <linux/string.h>
#include <linux/timer.h>
#include <net/net_namespace.h>
#include <net/netlink.h>
#include <net/sock.h>

#include "nlbook_compat.h"

#define MCAST_GROUP	22
#define MCAST_TEXT	"hello from kernel!"

static struct sock *mcast_sk;
static struct timer_list mcast_timer;

static void mcast_send(gfp_t gfp)
{
	struct nlmsghdr *nlh;
	struct sk_buff *skb;

	skb = nlmsg_new(sizeof(MCAST_TEXT), gfp);
	if (!skb)
		return;
	nlh = nlmsg_put(skb, 0, 0, NLMSG_MIN_TYPE, sizeof(MCAST_TEXT), 0);
	if (!nlh) {
		kfree_skb(skb);
		return;
	}
	memcpy(nlmsg_data(nlh), MCAST_TEXT, sizeof(MCAST_TEXT));
	/* Consumes skb; -ESRCH only means nobody listens. */
	nlmsg_multicast(mcast_sk, skb, 0, MCAST_GROUP, gfp);
}

static void mcast_tick(struct timer_list *t)
{
	/* TODO: this runs in softirq context. */
	mcast_send(GFP_KERNEL);
	mod_timer(&mcast_timer, jiffies + msecs_to_jiffies(1));
}

static int __init mcast_init(void)
{
	mcast_sk = netlink_kernel_create(&init_net, NETLINK_USERSOCK, NULL);
	if (!mcast_sk)
		return -ENOMEM;
	timer_setup(&mcast_timer, mcast_tick, 0);
	mod_timer(&mcast_timer, jiffies + msecs_to_jiffies(1));
	pr_info("multicasting to group %d\n", MCAST_GROUP);
	return 0;
}

static void __exit mcast_exit(void)
{
#ifdef HAVE_TIMER_SHUTDOWN_SYNC
	timer_shutdown_sync(&mcast_timer);
#else
	timer_delete_sync(&mcast_timer);
#endif
	netlink_kernel_release(mcast_sk);
	pr_info("stopped\n");
}

module_init(mcast_init);
module_exit(mcast_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Netlink workbook exercise ch07: a timer multicaster to fix");
