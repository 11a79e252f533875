// SPDX-License-Identifier: GPL-2.0
/*
 * claim.c - claim the first free protocol number of a list.
 *
 * The module tries the numbers in candidates[] in order and keeps the
 * first it can claim. Every request on that protocol is answered with a
 * report of the attempts, "NUMBER:CODE" for each, separated by spaces:
 * CODE is 0 for the number claimed, or the negative error code claim()
 * gave for it. If no number can be claimed, init fails with the last
 * attempt's error code.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/err.h>
#include <linux/errno.h>
#include <linux/gfp.h>
#include <linux/init.h>
#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/net.h>
#include <linux/netlink.h>
#include <linux/socket.h>
#include <net/net_namespace.h>
#include <net/netlink.h>
#include <net/sock.h>

/* Out of range, ROUTE, USERSOCK, and the last slot of nl_table. */
static const int candidates[] = { MAX_LINKS, NETLINK_ROUTE, NETLINK_USERSOCK, 31 };

/* Each " NUMBER:CODE": a space, two digits, ':', an errno down to -4095. */
#define REPORT_MAX	(ARRAY_SIZE(candidates) * 9 + 1)

static int results[ARRAY_SIZE(candidates)];
static unsigned int attempts;
static struct sock *claim_sk;

/*
 * Create the kernel socket of protocol @unit, or return why not as an
 * ERR_PTR: -EPROTONOSUPPORT for a number outside nl_table, -EBUSY for a
 * number that someone has registered already.
 */
static struct sock *claim(int unit, struct netlink_kernel_cfg *cfg)
{
	struct sock *sk;

	sk = netlink_kernel_create(&init_net, unit, cfg);
	if (!sk)
		return ERR_PTR(-ENOMEM);
	return sk;
}

static int claim_msg(struct sk_buff *skb, struct nlmsghdr *nlh,
		     struct netlink_ext_ack *extack)
{
	char report[REPORT_MAX];
	struct nlmsghdr *reply_nlh;
	struct sk_buff *reply;
	unsigned int i;
	int len = 0;

	for (i = 0; i < attempts; i++)
		len += scnprintf(report + len, sizeof(report) - len, "%s%d:%d",
				 i ? " " : "", candidates[i], results[i]);

	reply = nlmsg_new(len + 1, GFP_KERNEL);
	if (!reply)
		return -ENOMEM;
	reply_nlh = nlmsg_put(reply, 0, nlh->nlmsg_seq, nlh->nlmsg_type,
			      len + 1, 0);
	if (!reply_nlh) {
		kfree_skb(reply);
		return -EMSGSIZE;
	}
	memcpy(nlmsg_data(reply_nlh), report, len + 1);
	return nlmsg_unicast(claim_sk, reply, NETLINK_CB(skb).portid);
}

static void claim_input(struct sk_buff *skb)
{
	netlink_rcv_skb(skb, claim_msg);
}

static int __init claim_init(void)
{
	struct netlink_kernel_cfg cfg = {
		.input = claim_input,
	};
	struct sock *sk = ERR_PTR(-ENOENT);
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(candidates); i++) {
		sk = claim(candidates[i], &cfg);
		results[i] = PTR_ERR_OR_ZERO(sk);
		attempts = i + 1;
		pr_info("protocol %d: %d\n", candidates[i], results[i]);
		if (!IS_ERR(sk))
			break;
	}
	if (IS_ERR(sk))
		return PTR_ERR(sk);

	claim_sk = sk;
	pr_info("serving protocol %d\n", candidates[attempts - 1]);
	return 0;
}

static void __exit claim_exit(void)
{
	netlink_kernel_release(claim_sk);
	pr_info("protocol %d released\n", candidates[attempts - 1]);
}

module_init(claim_init);
module_exit(claim_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Netlink workbook ch08 exercise: claim a free protocol number");
