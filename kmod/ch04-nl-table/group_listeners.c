// SPDX-License-Identifier: GPL-2.0
/*
 * group_listeners.c - a netlink protocol with 64 multicast groups that
 * reports what netlink_has_listeners() says while user sockets join and
 * leave, and multicasts to a group on request.
 *
 * Requests (with NLM_F_REQUEST; the reply has the request's type and
 * sequence number):
 *
 *   NLBOOK_LISTENERS_QUERY, no payload. Reply: struct
 *   nlbook_listeners_reply, the number of groups and one bit per group in
 *   __u32 words, set if netlink_has_listeners() says the group has one.
 *
 *   NLBOOK_LISTENERS_MULTICAST, payload one __u32: a group. The module
 *   multicasts an NLBOOK_LISTENERS_EVENT carrying the group number to that
 *   group, then replies with struct nlbook_multicast_reply.
 *
 * The bind and unbind callbacks log what the netlink core tells a
 * protocol about joins and leaves.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/bitmap.h>
#include <linux/errno.h>
#include <linux/gfp.h>
#include <linux/init.h>
#include <linux/module.h>
#include <linux/netlink.h>
#include <linux/string.h>
#include <linux/types.h>
#include <net/net_namespace.h>
#include <net/netlink.h>
#include <net/sock.h>

/*
 * Below MAX_LINKS (32), above the kernel's own protocols (0 to 22), and
 * not chapter 1's echo module (30).
 */
#define NETLINK_NLBOOK_LISTENERS	28

/*
 * More than 32, so that groups exist that bind()'s nl_groups cannot name.
 * The netlink core allocates nl_table[28].listeners for this many groups.
 */
#define NLBOOK_LISTENERS_GROUPS		64

enum {
	NLBOOK_LISTENERS_QUERY = NLMSG_MIN_TYPE,
	NLBOOK_LISTENERS_MULTICAST,
	NLBOOK_LISTENERS_EVENT,
};

/* The payloads, as user space reads them: __u32 words, host byte order. */
struct nlbook_listeners_reply {
	__u32 ngroups;
	__u32 words[BITS_TO_U32(NLBOOK_LISTENERS_GROUPS)];
};

struct nlbook_multicast_reply {
	__u32 group;
	__u32 has_listeners;
	__s32 result;
};

static struct sock *listeners_sk;

/* ANCHOR: callbacks */
/*
 * Called by netlink_bind() for each group set in nl_groups, and by
 * setsockopt(NETLINK_ADD_MEMBERSHIP), in the caller's process context. A
 * non-zero return refuses the join.
 */
static int listeners_bind(struct net *net, int group)
{
	pr_info("bind callback: group %d\n", group);
	return 0;
}

/*
 * Called by setsockopt(NETLINK_DROP_MEMBERSHIP) and, for each group still
 * set, when the socket is released.
 */
static void listeners_unbind(struct net *net, int group)
{
	pr_info("unbind callback: group %d\n", group);
}
/* ANCHOR_END: callbacks */

/* Answer the sender of @skb with a message of @nlh's type and sequence. */
static int listeners_reply(struct sk_buff *skb, const struct nlmsghdr *nlh,
			   const void *data, size_t len)
{
	struct nlmsghdr *reply_nlh;
	struct sk_buff *reply;

	/* .input runs in the sender's sendmsg(): process context. */
	reply = nlmsg_new(len, GFP_KERNEL);
	if (!reply)
		return -ENOMEM;

	reply_nlh = nlmsg_put(reply, 0, nlh->nlmsg_seq, nlh->nlmsg_type,
			      len, 0);
	if (!reply_nlh) {
		kfree_skb(reply);
		return -EMSGSIZE;
	}
	memcpy(nlmsg_data(reply_nlh), data, len);

	/* Consumes the reply, also on failure. */
	return nlmsg_unicast(listeners_sk, reply, NETLINK_CB(skb).portid);
}

/* ANCHOR: query */
static int listeners_query(struct sk_buff *skb, const struct nlmsghdr *nlh,
			   struct netlink_ext_ack *extack)
{
	struct nlbook_listeners_reply r = {
		.ngroups = NLBOOK_LISTENERS_GROUPS,
	};
	DECLARE_BITMAP(listening, NLBOOK_LISTENERS_GROUPS);
	unsigned int group;

	if (nlmsg_len(nlh) != 0) {
		NL_SET_ERR_MSG_MOD(extack, "a query carries no payload");
		return -EINVAL;
	}

	bitmap_zero(listening, NLBOOK_LISTENERS_GROUPS);
	for (group = 1; group <= NLBOOK_LISTENERS_GROUPS; group++)
		if (netlink_has_listeners(listeners_sk, group))
			__set_bit(group - 1, listening);

	/*
	 * The kernel's own conversion from unsigned longs to __u32 words: the
	 * same on every machine, unlike a copy of the longs' memory.
	 */
	bitmap_to_arr32(r.words, listening, NLBOOK_LISTENERS_GROUPS);

	return listeners_reply(skb, nlh, &r, sizeof(r));
}
/* ANCHOR_END: query */

static int listeners_multicast(struct sk_buff *skb,
			       const struct nlmsghdr *nlh,
			       struct netlink_ext_ack *extack)
{
	struct nlbook_multicast_reply r = {};
	struct nlmsghdr *event_nlh;
	struct sk_buff *event;
	u32 group;

	/*
	 * netlink_rcv_skb() checked nlmsg_len against the skb, but its value
	 * is still the sender's: exactly one __u32, or nothing is read.
	 */
	if (nlmsg_len(nlh) != sizeof(group)) {
		NL_SET_ERR_MSG_MOD(extack, "the payload is one __u32: the group");
		return -EINVAL;
	}
	memcpy(&group, nlmsg_data(nlh), sizeof(group));
	if (group < 1 || group > NLBOOK_LISTENERS_GROUPS) {
		NL_SET_ERR_MSG_MOD(extack, "groups are 1 to 64");
		return -EINVAL;
	}

	r.group = group;
	r.has_listeners = netlink_has_listeners(listeners_sk, group);

	event = nlmsg_new(sizeof(group), GFP_KERNEL);
	if (!event)
		return -ENOMEM;
	event_nlh = nlmsg_put(event, 0, 0, NLBOOK_LISTENERS_EVENT,
			      sizeof(group), 0);
	if (!event_nlh) {
		kfree_skb(event);
		return -EMSGSIZE;
	}
	memcpy(nlmsg_data(event_nlh), &group, sizeof(group));

	/* ANCHOR: multicast */
	/*
	 * portid 0, the kernel's: do_one_broadcast() skips every socket whose
	 * own port id equals it, which includes sockets never bound. The
	 * result is 0 if some socket got the message, -ESRCH if none did.
	 */
	r.result = nlmsg_multicast(listeners_sk, event, 0, group, GFP_KERNEL);
	/* ANCHOR_END: multicast */

	return listeners_reply(skb, nlh, &r, sizeof(r));
}

static int listeners_msg(struct sk_buff *skb, struct nlmsghdr *nlh,
			 struct netlink_ext_ack *extack)
{
	switch (nlh->nlmsg_type) {
	case NLBOOK_LISTENERS_QUERY:
		return listeners_query(skb, nlh, extack);
	case NLBOOK_LISTENERS_MULTICAST:
		return listeners_multicast(skb, nlh, extack);
	default:
		NL_SET_ERR_MSG_MOD(extack, "unknown request type");
		return -EOPNOTSUPP;
	}
}

static void listeners_input(struct sk_buff *skb)
{
	/* Checks each nlmsg_len, skips non-requests, answers errors. */
	netlink_rcv_skb(skb, listeners_msg);
}

/* ANCHOR: init */
static int __init group_listeners_init(void)
{
	/*
	 * No NL_CFG_F_NONROOT_RECV in .flags: joining takes CAP_NET_ADMIN,
	 * as netlink_allowed() checks in netlink_bind() and setsockopt().
	 */
	struct netlink_kernel_cfg cfg = {
		.groups = NLBOOK_LISTENERS_GROUPS,
		.input = listeners_input,
		.bind = listeners_bind,
		.unbind = listeners_unbind,
	};

	listeners_sk = netlink_kernel_create(&init_net,
					     NETLINK_NLBOOK_LISTENERS, &cfg);
	if (!listeners_sk) {
		pr_err("cannot create netlink protocol %d\n",
		       NETLINK_NLBOOK_LISTENERS);
		return -ENOMEM;
	}

	pr_info("protocol %d ready, %d groups\n", NETLINK_NLBOOK_LISTENERS,
		NLBOOK_LISTENERS_GROUPS);
	return 0;
}
/* ANCHOR_END: init */

static void __exit group_listeners_exit(void)
{
	netlink_kernel_release(listeners_sk);
	pr_info("protocol %d gone\n", NETLINK_NLBOOK_LISTENERS);
}

module_init(group_listeners_init);
module_exit(group_listeners_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Netlink workbook ch04: netlink_has_listeners() per group as sockets join and leave");
