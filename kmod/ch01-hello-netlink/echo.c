// SPDX-License-Identifier: GPL-2.0
/*
 * echo.c - a netlink protocol of its own that answers every greeting.
 *
 * A user program sends a message of any type >= NLMSG_MIN_TYPE whose
 * payload is 1 to 256 bytes of text, with or without a trailing NUL. The
 * module answers the sending socket with a message of the same type and
 * sequence number whose payload is "hello from kernel: <text>" and a NUL.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/errno.h>
#include <linux/gfp.h>
#include <linux/init.h>
#include <linux/module.h>
#include <linux/netlink.h>
#include <linux/string.h>
#include <net/net_namespace.h>
#include <net/netlink.h>
#include <net/sock.h>

/*
 * The protocol number indexes nl_table[MAX_LINKS], and MAX_LINKS is 32
 * (include/uapi/linux/netlink.h): netlink_kernel_create() returns NULL for
 * 32 and above. The kernel's own families use 0 to 22, so a private
 * protocol must pick one of the few numbers left: 30, as the tutorials do.
 * Running out of numbers is why new families use generic netlink instead.
 */
#define NETLINK_NLBOOK_ECHO	30

#define ECHO_TEXT_MAX		256

static const char echo_prefix[] = "hello from kernel: ";

static struct sock *echo_sk;

/*
 * Called by netlink_rcv_skb() for each request in the skb. By then it has
 * checked that nlmsg_len lies within skb->len and is at least a header, so
 * nlmsg_len(nlh) bytes of payload are really there; their number is still
 * up to the sender.
 */
static int echo_msg(struct sk_buff *skb, struct nlmsghdr *nlh,
		    struct netlink_ext_ack *extack)
{
	const char *text = nlmsg_data(nlh);
	int len = nlmsg_len(nlh);
	struct nlmsghdr *reply_nlh;
	struct sk_buff *reply;
	size_t text_len, reply_len;
	char *payload;

	if (len < 1) {
		NL_SET_ERR_MSG_MOD(extack, "empty message: send some text");
		return -EINVAL;
	}
	if (len > ECHO_TEXT_MAX) {
		NL_SET_ERR_MSG_MOD(extack, "text longer than 256 bytes");
		return -EMSGSIZE;
	}

	/* A NUL, if any, ends the text; never read past the payload. */
	text_len = strnlen(text, len);

	/* %pE escapes what is not printable: the text comes from user space. */
	pr_info("received %d bytes: \"%*pE\"\n", len, (int)text_len, text);

	/* sizeof(echo_prefix) counts the prefix's NUL: room for ours. */
	reply_len = sizeof(echo_prefix) + text_len;

	/*
	 * .input runs in the sender's sendmsg() call, process context, so
	 * GFP_KERNEL is fine here.
	 */
	reply = nlmsg_new(reply_len, GFP_KERNEL);
	if (!reply)
		return -ENOMEM;

	/*
	 * nlmsg_put() sets nlmsg_len to header + reply_len exactly and zeroes
	 * the alignment padding. No nlmsg_end(): that is for messages that
	 * grow attributes, and it would count the padding as payload.
	 */
	reply_nlh = nlmsg_put(reply, 0, nlh->nlmsg_seq, nlh->nlmsg_type,
			      reply_len, 0);
	if (!reply_nlh) {
		kfree_skb(reply);
		return -EMSGSIZE;
	}
	payload = nlmsg_data(reply_nlh);
	memcpy(payload, echo_prefix, sizeof(echo_prefix) - 1);
	memcpy(payload + sizeof(echo_prefix) - 1, text, text_len);
	payload[reply_len - 1] = '\0';

	/*
	 * The sender's port id, not nlh->nlmsg_pid: the header field is
	 * whatever the sender wrote, NETLINK_CB() is what the kernel knows.
	 * nlmsg_unicast() consumes the reply even when it fails.
	 */
	return nlmsg_unicast(echo_sk, reply, NETLINK_CB(skb).portid);
}

static void echo_input(struct sk_buff *skb)
{
	/*
	 * Walks every message in the skb, skips those without NLM_F_REQUEST
	 * or with a control type (< NLMSG_MIN_TYPE), and sends NLMSG_ERROR
	 * for a non-zero return of echo_msg(), or an ACK on NLM_F_ACK.
	 */
	netlink_rcv_skb(skb, echo_msg);
}

static int __init echo_init(void)
{
	struct netlink_kernel_cfg cfg = {
		.input = echo_input,
	};

	echo_sk = netlink_kernel_create(&init_net, NETLINK_NLBOOK_ECHO, &cfg);
	if (!echo_sk) {
		pr_err("cannot create netlink protocol %d\n",
		       NETLINK_NLBOOK_ECHO);
		return -ENOMEM;
	}

	pr_info("protocol %d ready\n", NETLINK_NLBOOK_ECHO);
	return 0;
}

static void __exit echo_exit(void)
{
	netlink_kernel_release(echo_sk);
	pr_info("protocol %d gone\n", NETLINK_NLBOOK_ECHO);
}

module_init(echo_init);
module_exit(echo_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Netlink workbook ch01: echo on a custom netlink protocol");
