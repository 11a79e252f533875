/* SPDX-License-Identifier: GPL-2.0 */
/*
 * nlbook_mcast.h - the one message the chapter 7 modules multicast.
 *
 * The variants differ only in the context they send from and the gfp mask
 * they pass; building the message is the same in each, so it lives here.
 */
#ifndef NLBOOK_MCAST_H
#define NLBOOK_MCAST_H

#include <linux/errno.h>
#include <linux/gfp.h>
#include <linux/string.h>
#include <net/netlink.h>
#include <net/sock.h>

/* The group the original report used; listeners join it with setsockopt(). */
#define NLBOOK_MCAST_GROUP	22

/*
 * A message type of its own: types below NLMSG_MIN_TYPE (0x10) are the
 * control messages NOOP, ERROR, DONE and OVERRUN.
 */
#define NLBOOK_MCAST_HELLO	NLMSG_MIN_TYPE

/* Sent with its NUL, as the original module did. */
#define NLBOOK_MCAST_TEXT	"hello from kernel!"

/**
 * nlbook_mcast_hello - multicast one greeting to NLBOOK_MCAST_GROUP
 * @sk: the module's kernel netlink socket
 * @gfp: the allocation mask, used by nlmsg_new() and nlmsg_multicast()
 *
 * The same @gfp goes to both calls, as in the original module: the
 * allocation and netlink_broadcast() both decide from it whether they may
 * sleep. Pass GFP_ATOMIC unless the caller may sleep.
 *
 * Return: 0 if delivered to some listener, -ESRCH if nobody listens,
 * -ENOMEM if the message could not be allocated, or another error from
 * nlmsg_multicast(). The message is always consumed.
 */
static inline int nlbook_mcast_hello(struct sock *sk, gfp_t gfp)
{
	struct sk_buff *skb;
	struct nlmsghdr *nlh;

	skb = nlmsg_new(sizeof(NLBOOK_MCAST_TEXT), gfp);
	if (!skb)
		return -ENOMEM;

	/* portid 0: the message comes from the kernel. */
	nlh = nlmsg_put(skb, 0, 0, NLBOOK_MCAST_HELLO,
			sizeof(NLBOOK_MCAST_TEXT), 0);
	if (!nlh) {
		kfree_skb(skb);
		return -EMSGSIZE;
	}
	/*
	 * nlmsg_put() set nlmsg_len to header + payload and zeroed the
	 * alignment padding. No nlmsg_end(): that is for messages that grow
	 * attributes, and it would count the padding as payload.
	 */
	memcpy(nlmsg_data(nlh), NLBOOK_MCAST_TEXT, sizeof(NLBOOK_MCAST_TEXT));

	return nlmsg_multicast(sk, skb, 0, NLBOOK_MCAST_GROUP, gfp);
}

#endif /* NLBOOK_MCAST_H */
