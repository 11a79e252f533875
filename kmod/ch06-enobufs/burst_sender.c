// SPDX-License-Identifier: GPL-2.0
/*
 * burst_sender.c - multicast a burst of messages in one go, so that a
 * listener with a small receive buffer overflows the same way every time.
 *
 * A socket sends NLBOOK_BURST_REQUEST with one __u32 payload, a count from
 * 1 to NLBOOK_BURST_MAX. Before the request is acknowledged, the module
 * multicasts that many NLBOOK_BURST_MESSAGE messages to group 1; message i
 * (counting from 1) has nlmsg_seq i and carries i as its __u32 payload, so
 * a listener can tell which ones reached it.
 *
 * The burst runs in the requester's sendmsg(): process context, where
 * GFP_KERNEL is allowed and netlink_broadcast() may yield() to a listener
 * that is falling behind. A listener that reads only after the request's
 * acknowledgement has arrived sees exactly what its queue could hold.
 *
 * The acknowledgement says how it went:
 *
 * 0        the burst was sent (whether every listener had room or not)
 * -EINVAL  the payload is not one __u32
 * -ERANGE  the count is 0 or above NLBOOK_BURST_MAX
 * -ESRCH   nobody listens on group 1
 * -ENOMEM  a message could not be allocated; the burst stopped there
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/errno.h>
#include <linux/gfp.h>
#include <linux/init.h>
#include <linux/module.h>
#include <linux/netlink.h>
#include <linux/types.h>
#include <net/net_namespace.h>
#include <net/netlink.h>
#include <net/sock.h>

/*
 * Below MAX_LINKS (32) and above the kernel's own protocols (0 to 22); the
 * workbook's other modules use 28 to 32.
 */
#define NETLINK_NLBOOK_BURST	23

#define NLBOOK_BURST_GROUP	1
#define NLBOOK_BURST_MAX	256

enum {
	NLBOOK_BURST_REQUEST = NLMSG_MIN_TYPE,
	NLBOOK_BURST_MESSAGE,
};

static struct sock *burst_sk;

/* ANCHOR: burst */
static int burst_send(u32 count, struct netlink_ext_ack *extack)
{
	struct nlmsghdr *nlh;
	struct sk_buff *skb;
	u32 failed = 0;
	u32 i;

	for (i = 1; i <= count; i++) {
		skb = nlmsg_new(sizeof(u32), GFP_KERNEL);
		if (!skb) {
			NL_SET_ERR_MSG_MOD(extack, "out of memory mid-burst");
			return -ENOMEM;
		}
		nlh = nlmsg_put(skb, 0, i, NLBOOK_BURST_MESSAGE, sizeof(u32), 0);
		if (!nlh) {
			kfree_skb(skb);
			return -EMSGSIZE;
		}
		*(u32 *)nlmsg_data(nlh) = i;
		/*
		 * Consumes the skb. It returns 0 even when a listener had no
		 * room: the drop is that listener's news (ENOBUFS on its next
		 * recv), not the sender's, unless the listener asked for
		 * NETLINK_BROADCAST_ERROR.
		 */
		if (nlmsg_multicast(burst_sk, skb, 0, NLBOOK_BURST_GROUP,
				    GFP_KERNEL))
			failed++;
	}
	pr_info("burst of %u sent to group %d, %u reported failed\n",
		count, NLBOOK_BURST_GROUP, failed);
	return 0;
}
/* ANCHOR_END: burst */

/* ANCHOR: request */
static int burst_msg(struct sk_buff *skb, struct nlmsghdr *nlh,
		     struct netlink_ext_ack *extack)
{
	u32 count;

	if (nlh->nlmsg_type != NLBOOK_BURST_REQUEST) {
		NL_SET_ERR_MSG_MOD(extack, "unknown request type");
		return -EOPNOTSUPP;
	}
	/* netlink_rcv_skb() checked that the declared bytes are there. */
	if (nlmsg_len(nlh) != sizeof(u32)) {
		NL_SET_ERR_MSG_MOD(extack, "the payload must be one __u32");
		return -EINVAL;
	}
	count = *(u32 *)nlmsg_data(nlh);
	if (count < 1 || count > NLBOOK_BURST_MAX) {
		NL_SET_ERR_MSG_MOD(extack, "the count must be 1 to 256");
		return -ERANGE;
	}
	if (!netlink_has_listeners(burst_sk, NLBOOK_BURST_GROUP)) {
		NL_SET_ERR_MSG_MOD(extack, "nobody listens on group 1");
		return -ESRCH;
	}
	return burst_send(count, extack);
}
/* ANCHOR_END: request */

static void burst_input(struct sk_buff *skb)
{
	netlink_rcv_skb(skb, burst_msg);
}

static int __init burst_init(void)
{
	/*
	 * No NL_CFG_F_NONROOT_RECV in .flags: joining the group takes
	 * CAP_NET_ADMIN (netlink_allowed()).
	 */
	struct netlink_kernel_cfg cfg = {
		.groups = NLBOOK_BURST_GROUP,
		.input = burst_input,
	};

	burst_sk = netlink_kernel_create(&init_net, NETLINK_NLBOOK_BURST, &cfg);
	if (!burst_sk) {
		pr_err("cannot create netlink protocol %d\n",
		       NETLINK_NLBOOK_BURST);
		return -ENOMEM;
	}
	pr_info("protocol %d ready\n", NETLINK_NLBOOK_BURST);
	return 0;
}

static void __exit burst_exit(void)
{
	netlink_kernel_release(burst_sk);
	pr_info("protocol %d gone\n", NETLINK_NLBOOK_BURST);
}

module_init(burst_init);
module_exit(burst_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Netlink workbook ch06: a multicast burst that overruns small receive buffers");
