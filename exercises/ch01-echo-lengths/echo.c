// SPDX-License-Identifier: GPL-2.0
/*
 * echo.c - exercise: an echo module that trusts the sender's lengths.
 *
 * It answers every message on protocol 30 with "hello from kernel: " and
 * the text it received, like chapter 1's module, but it handles the text
 * the way the old tutorials did: it copies a fixed 100 bytes, whatever the
 * message holds. Send it "hi" and it reads far past the two bytes it was
 * given; send it nothing and it answers anyway; send it 300 bytes and it
 * cuts them silently.
 *
 * Your task: validate every length that comes from user space. A payload
 * of 1 to 256 bytes is answered with exactly its text (up to the first NUL,
 * if any); an empty one is refused with -EINVAL, a longer one with
 * -EMSGSIZE. Never read a byte past nlmsg_len.
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

#define NETLINK_NLBOOK_ECHO	30
#define ECHO_COPY		100

static const char echo_prefix[] = "hello from kernel: ";

static struct sock *echo_sk;

static int echo_msg(struct sk_buff *skb, struct nlmsghdr *nlh,
		    struct netlink_ext_ack *extack)
{
	struct nlmsghdr *reply_nlh;
	struct sk_buff *reply;
	char text[ECHO_COPY];
	size_t text_len, reply_len;
	char *payload;

	/* TODO: the sender decides how many bytes are really there. */
	memcpy(text, nlmsg_data(nlh), ECHO_COPY);
	text[ECHO_COPY - 1] = '\0';
	text_len = strlen(text);

	reply_len = sizeof(echo_prefix) + text_len;
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
	memcpy(payload, echo_prefix, sizeof(echo_prefix) - 1);
	memcpy(payload + sizeof(echo_prefix) - 1, text, text_len);
	payload[reply_len - 1] = '\0';

	return nlmsg_unicast(echo_sk, reply, NETLINK_CB(skb).portid);
}

static void echo_input(struct sk_buff *skb)
{
	netlink_rcv_skb(skb, echo_msg);
}

static int __init echo_init(void)
{
	struct netlink_kernel_cfg cfg = {
		.input = echo_input,
	};

	echo_sk = netlink_kernel_create(&init_net, NETLINK_NLBOOK_ECHO, &cfg);
	if (!echo_sk)
		return -ENOMEM;
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
MODULE_DESCRIPTION("Netlink workbook exercise ch01: echo that trusts lengths");
