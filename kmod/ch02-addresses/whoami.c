// SPDX-License-Identifier: GPL-2.0
/*
 * whoami.c - tells each sender who the kernel thinks it is.
 *
 * Every netlink message carries two "sender" fields: nlmsg_pid in its
 * header, which the sender writes, and NETLINK_CB(skb).portid, which
 * netlink_sendmsg() fills in with the port id of the sending socket. This
 * module answers each request with both, and lets the request choose which
 * one the answer is sent to:
 *
 * NLBOOK_WHOAMI            the answer goes to NETLINK_CB(skb).portid: the
 *                          socket that sent the request, whatever its
 *                          header says. This is the right way.
 * NLBOOK_WHOAMI_BY_HEADER  the answer goes to nlh->nlmsg_pid, as in the
 *                          classic tutorials: wherever the header points.
 *
 * Requests have no payload. The answer has the request's type and sequence
 * number, and a struct whoami_answer as its payload.
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

/* Below MAX_LINKS (32) and unused by the kernel; 30 is chapter 1's. */
#define NETLINK_NLBOOK_ADDRESSES	29

#define NLBOOK_WHOAMI			NLMSG_MIN_TYPE
#define NLBOOK_WHOAMI_BY_HEADER		(NLMSG_MIN_TYPE + 1)

/* The answer's payload, in host byte order like every netlink header. */
struct whoami_answer {
	__u32 nlmsg_pid;	/* what the request's header said */
	__u32 portid;		/* NETLINK_CB(skb).portid: who really sent it */
};

static struct sock *whoami_sk;

static const char *request_name(u16 type)
{
	return type == NLBOOK_WHOAMI ? "WHOAMI" : "WHOAMI_BY_HEADER";
}

/* ANCHOR: msg */
/* Called by netlink_rcv_skb() for each request in the skb. */
static int whoami_msg(struct sk_buff *skb, struct nlmsghdr *nlh,
		      struct netlink_ext_ack *extack)
{
	u32 sender = NETLINK_CB(skb).portid;
	struct whoami_answer *answer;
	struct nlmsghdr *answer_nlh;
	struct sk_buff *out;
	u32 dst;

	switch (nlh->nlmsg_type) {
	case NLBOOK_WHOAMI:
		dst = sender;
		break;
	case NLBOOK_WHOAMI_BY_HEADER:
		dst = nlh->nlmsg_pid;
		break;
	default:
		NL_SET_ERR_MSG_MOD(extack, "unknown request type");
		return -EOPNOTSUPP;
	}
	/* The payload is never read, but a request is expected to have none. */
	if (nlmsg_len(nlh) != 0) {
		NL_SET_ERR_MSG_MOD(extack, "requests carry no payload");
		return -EINVAL;
	}

	pr_info("%s: the header's nlmsg_pid %s the sending socket's port id\n",
		request_name(nlh->nlmsg_type),
		nlh->nlmsg_pid == sender ? "is" : "is not");

	/* .input runs in the sender's sendmsg(): process context. */
	out = nlmsg_new(sizeof(*answer), GFP_KERNEL);
	if (!out)
		return -ENOMEM;

	/*
	 * A reply names its receiver in nlmsg_pid, as netlink_ack() and
	 * rtnetlink do; libraries such as neli check it.
	 */
	answer_nlh = nlmsg_put(out, dst, nlh->nlmsg_seq, nlh->nlmsg_type,
			       sizeof(*answer), 0);
	if (!answer_nlh) {
		kfree_skb(out);
		return -EMSGSIZE;
	}
	answer = nlmsg_data(answer_nlh);
	answer->nlmsg_pid = nlh->nlmsg_pid;
	answer->portid = sender;

	/*
	 * Consumes the skb even on failure. An error is returned to
	 * netlink_rcv_skb(), whose netlink_ack() reports it to
	 * NETLINK_CB(skb).portid: the real sender, in every case.
	 */
	return nlmsg_unicast(whoami_sk, out, dst);
}
/* ANCHOR_END: msg */

/* ANCHOR: input */
static void whoami_input(struct sk_buff *skb)
{
	/*
	 * Port 0 of this protocol is this very socket: an answer sent to
	 * nlmsg_pid 0 is delivered here, synchronously, by
	 * netlink_unicast_kernel(), which records the sending socket in
	 * NETLINK_CB(skb).sk. netlink_rcv_skb() would skip it anyway (it has
	 * no NLM_F_REQUEST); say so instead of losing it silently.
	 */
	if (NETLINK_CB(skb).sk == whoami_sk) {
		pr_info("an answer sent to port 0 came back to this socket: dropped\n");
		return;
	}
	netlink_rcv_skb(skb, whoami_msg);
}
/* ANCHOR_END: input */

static int __init whoami_init(void)
{
	struct netlink_kernel_cfg cfg = {
		.input = whoami_input,
	};

	whoami_sk = netlink_kernel_create(&init_net, NETLINK_NLBOOK_ADDRESSES,
					  &cfg);
	if (!whoami_sk) {
		pr_err("cannot create netlink protocol %d\n",
		       NETLINK_NLBOOK_ADDRESSES);
		return -ENOMEM;
	}

	pr_info("protocol %d ready\n", NETLINK_NLBOOK_ADDRESSES);
	return 0;
}

static void __exit whoami_exit(void)
{
	netlink_kernel_release(whoami_sk);
	pr_info("protocol %d gone\n", NETLINK_NLBOOK_ADDRESSES);
}

module_init(whoami_init);
module_exit(whoami_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Netlink workbook ch02: answer the sending socket, not nlmsg_pid");
