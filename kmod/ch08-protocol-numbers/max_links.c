// SPDX-License-Identifier: GPL-2.0
/*
 * max_links.c - which protocol numbers a module can claim.
 *
 * At init the module asks netlink_kernel_create() for four numbers and logs
 * what each attempt gives:
 *
 * - MAX_LINKS (32): NULL, the number is out of range;
 * - NETLINK_ROUTE (0): NULL, rtnetlink's kernel socket holds port 0;
 * - NETLINK_USERSOCK (2): a socket! The number is registered, but nobody
 *   holds its port 0, so the call succeeds and shares the number. The
 *   module releases that socket at once;
 * - 31, the largest number below MAX_LINKS: kept. The module answers every
 *   message on it with "protocol 31 answers: <text>".
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/build_bug.h>
#include <linux/errno.h>
#include <linux/gfp.h>
#include <linux/init.h>
#include <linux/module.h>
#include <linux/netlink.h>
#include <linux/string.h>
#include <net/net_namespace.h>
#include <net/netlink.h>
#include <net/sock.h>

/* ANCHOR: protocol */
/* nl_table has MAX_LINKS (32) slots: 31 is the last one. */
#define NLBOOK_PROTOCOL		31
/* ANCHOR_END: protocol */

#define TEXT_MAX		64

static const char answer_prefix[] = "protocol 31 answers: ";

static struct sock *nlbook_sk;

static int max_links_msg(struct sk_buff *skb, struct nlmsghdr *nlh,
			 struct netlink_ext_ack *extack)
{
	const char *text = nlmsg_data(nlh);
	int len = nlmsg_len(nlh);
	struct nlmsghdr *reply_nlh;
	struct sk_buff *reply;
	size_t text_len, reply_len;
	char *payload;

	/* netlink_rcv_skb() checked that len bytes are there; 1..64 are fine. */
	if (len < 1) {
		NL_SET_ERR_MSG_MOD(extack, "empty message: send some text");
		return -EINVAL;
	}
	if (len > TEXT_MAX) {
		NL_SET_ERR_MSG_MOD(extack, "text longer than 64 bytes");
		return -EMSGSIZE;
	}
	text_len = strnlen(text, len);
	reply_len = sizeof(answer_prefix) + text_len;

	reply = nlmsg_new(reply_len, GFP_KERNEL);
	if (!reply)
		return -ENOMEM;
	reply_nlh = nlmsg_put(reply, 0, nlh->nlmsg_seq, nlh->nlmsg_type,
			      reply_len, 0);
	if (!reply_nlh) {
		kfree_skb(reply);
		return -EMSGSIZE;
	}
	payload = nlmsg_data(reply_nlh);
	memcpy(payload, answer_prefix, sizeof(answer_prefix) - 1);
	memcpy(payload + sizeof(answer_prefix) - 1, text, text_len);
	payload[reply_len - 1] = '\0';

	return nlmsg_unicast(nlbook_sk, reply, NETLINK_CB(skb).portid);
}

static void max_links_input(struct sk_buff *skb)
{
	netlink_rcv_skb(skb, max_links_msg);
}

/* ANCHOR: attempts */
/*
 * netlink_kernel_create() says nothing but NULL or a socket. NULL comes
 * from a number outside nl_table, from a port 0 that is already held, or
 * from a failed allocation; a socket may share a number someone else has
 * registered. The log says which case each attempt shows.
 */
static void try_number(int unit, const char *what)
{
	struct netlink_kernel_cfg cfg = {
		.input = max_links_input,
	};
	struct sock *sk;

	sk = netlink_kernel_create(&init_net, unit, &cfg);
	if (!sk) {
		pr_info("netlink_kernel_create(%d) returned NULL: %s\n",
			unit, what);
		return;
	}
	pr_info("netlink_kernel_create(%d) returned a socket: %s; released\n",
		unit, what);
	netlink_kernel_release(sk);
}
/* ANCHOR_END: attempts */

/* ANCHOR: init */
static int __init max_links_init(void)
{
	struct netlink_kernel_cfg cfg = {
		.input = max_links_input,
	};

	/* A constant out of range is a build error, not a NULL at run time. */
	BUILD_BUG_ON(NLBOOK_PROTOCOL < 0 || NLBOOK_PROTOCOL >= MAX_LINKS);

	try_number(MAX_LINKS, "32 is MAX_LINKS, one past nl_table's last slot");
	try_number(NETLINK_ROUTE, "NETLINK_ROUTE's kernel socket holds port 0");
	try_number(NETLINK_USERSOCK,
		   "NETLINK_USERSOCK is registered, but nobody held its port 0");

	nlbook_sk = netlink_kernel_create(&init_net, NLBOOK_PROTOCOL, &cfg);
	if (!nlbook_sk) {
		/*
		 * In range, so another kernel socket holds port 0 of this
		 * number (or memory ran out): the module cannot work, and
		 * insmod reports EBUSY.
		 */
		pr_err("netlink_kernel_create(%d) returned NULL: is the number taken?\n",
		       NLBOOK_PROTOCOL);
		return -EBUSY;
	}
	pr_info("protocol %d ready\n", NLBOOK_PROTOCOL);
	return 0;
}
/* ANCHOR_END: init */

static void __exit max_links_exit(void)
{
	netlink_kernel_release(nlbook_sk);
	pr_info("protocol %d gone\n", NLBOOK_PROTOCOL);
}

module_init(max_links_init);
module_exit(max_links_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Netlink workbook ch08: protocol numbers and MAX_LINKS");
