// SPDX-License-Identifier: GPL-2.0
/*
 * blocking_reply.c - the kthread tutorial's first design, kept wrong on
 * purpose: the input callback waits before it replies.
 *
 * The tutorial replied from inside the input callback after
 * wait_for_completion_timeout(), waiting for "the answer is ready". Here
 * nothing completes the wait in time, which is the worst case that design
 * allows: every request costs the full 2 s.
 *
 * The input callback runs inside the sender's sendmsg() call, so the wait
 * happens there: the sender's send() returns only when the callback does,
 * MSG_DONTWAIT or not. The debug kernel says nothing (process context may
 * sleep); the damage is to every program that sends to this protocol.
 *
 * Everything else is right: lengths are checked, the reply is exactly the
 * request's payload, every allocation is checked.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/completion.h>
#include <linux/errno.h>
#include <linux/gfp.h>
#include <linux/init.h>
#include <linux/jiffies.h>
#include <linux/module.h>
#include <linux/netlink.h>
#include <linux/string.h>
#include <net/net_namespace.h>
#include <net/netlink.h>
#include <net/sock.h>

/* Unused by the kernel; the tutorial's NETLINK_TEST was 25 (chapter 10). */
#define NETLINK_NLBOOK_DEFERRED	26
#define DEFERRED_PAYLOAD_MAX	100
#define REPLY_WAIT_MS		2000

static struct sock *blocking_sk;

/* "The answer is ready": in the tutorial, signalled late or never. */
static DECLARE_COMPLETION(answer_ready);

/* ANCHOR: blocking */
static int blocking_msg(struct sk_buff *skb, struct nlmsghdr *nlh,
			struct netlink_ext_ack *extack)
{
	int len = nlmsg_len(nlh);
	struct nlmsghdr *reply_nlh;
	struct sk_buff *reply;

	if (len < 1) {
		NL_SET_ERR_MSG_MOD(extack, "empty request");
		return -EINVAL;
	}
	if (len > DEFERRED_PAYLOAD_MAX) {
		NL_SET_ERR_MSG_MOD(extack, "payload longer than 100 bytes");
		return -EMSGSIZE;
	}

	/* The bug: the sender's sendmsg() is stuck here. */
	wait_for_completion_timeout(&answer_ready,
				    msecs_to_jiffies(REPLY_WAIT_MS));

	reply = nlmsg_new(len, GFP_KERNEL);
	if (!reply)
		return -ENOMEM;
	reply_nlh = nlmsg_put(reply, 0, nlh->nlmsg_seq, nlh->nlmsg_type, len, 0);
	if (!reply_nlh) {
		kfree_skb(reply);
		return -EMSGSIZE;
	}
	memcpy(nlmsg_data(reply_nlh), nlmsg_data(nlh), len);
	return nlmsg_unicast(blocking_sk, reply, NETLINK_CB(skb).portid);
}
/* ANCHOR_END: blocking */

static void blocking_input(struct sk_buff *skb)
{
	netlink_rcv_skb(skb, blocking_msg);
}

static int __init blocking_init(void)
{
	struct netlink_kernel_cfg cfg = {
		.input = blocking_input,
	};

	blocking_sk = netlink_kernel_create(&init_net, NETLINK_NLBOOK_DEFERRED,
					    &cfg);
	if (!blocking_sk) {
		pr_err("cannot create netlink protocol %d\n",
		       NETLINK_NLBOOK_DEFERRED);
		return -ENOMEM;
	}
	pr_info("protocol %d ready, replies from the input callback after waiting\n",
		NETLINK_NLBOOK_DEFERRED);
	return 0;
}

static void __exit blocking_exit(void)
{
	netlink_kernel_release(blocking_sk);
	pr_info("protocol %d gone\n", NETLINK_NLBOOK_DEFERRED);
}

module_init(blocking_init);
module_exit(blocking_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Netlink workbook ch09: replies from the input callback after a wait (deliberately buggy)");
