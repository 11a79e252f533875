// SPDX-License-Identifier: GPL-2.0
/*
 * registered_port.c - the kernel sends to a port id a user registered.
 *
 * A socket sends NLBOOK_REGISTER; the module remembers the port id it came
 * from. Later, any socket sends NLBOOK_NOTIFY with a text (1 to 64 bytes),
 * and the module sends that text, as an NLBOOK_EVENT message, to the
 * registered port id. The NOTIFY request's acknowledgement says how it went:
 *
 * 0             delivered
 * -ENOTCONN     nobody is registered
 * -ECONNREFUSED no socket holds the registered port id any more: the
 *               registered socket has closed. The module unregisters it.
 *
 * A port id names a socket only while the socket lives: once it closes,
 * another socket may be given the same number. This module notices a
 * closed socket only when a send fails, so a registration can outlive its
 * socket and reach whoever holds the number next.
 *
 * Built with NLBOOK_FORGET_ON_RELEASE (registered_release.c), the module
 * also listens for NETLINK_URELEASE, which netlink_release() announces
 * when a bound socket closes, and unregisters at once.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/errno.h>
#include <linux/gfp.h>
#include <linux/init.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/netlink.h>
#include <linux/notifier.h>
#include <linux/string.h>
#include <linux/types.h>
#include <net/net_namespace.h>
#include <net/netlink.h>
#include <net/sock.h>

/* Below MAX_LINKS (32) and unused by the kernel; 30 is chapter 1's. */
#define NETLINK_NLBOOK_ADDRESSES	29

#define NLBOOK_REGISTER			NLMSG_MIN_TYPE
#define NLBOOK_NOTIFY			(NLMSG_MIN_TYPE + 1)
#define NLBOOK_EVENT			(NLMSG_MIN_TYPE + 2)

#define NOTIFY_TEXT_MAX			64

static struct sock *registry_sk;

/* Serializes the registration; every user of it runs in process context. */
static DEFINE_MUTEX(registry_lock);

/*
 * The registered port id, 0 for none. No user socket has port id 0: bind()
 * with nl_pid 0 means "choose one", and netlink_autobind() chooses the
 * process id or a negative number; port 0 is the kernel's own socket.
 */
static u32 registered_portid;

/* ANCHOR: register */
static int registry_register(struct sk_buff *skb)
{
	mutex_lock(&registry_lock);
	if (registered_portid)
		pr_info("a new registration replaces the previous one\n");
	/* The socket that sent this message, not what its header claims. */
	registered_portid = NETLINK_CB(skb).portid;
	mutex_unlock(&registry_lock);

	pr_info("registered the sending socket's port id\n");
	return 0;
}
/* ANCHOR_END: register */

/* ANCHOR: notify */
static int registry_notify(struct nlmsghdr *nlh,
			   struct netlink_ext_ack *extack)
{
	const char *text = nlmsg_data(nlh);
	int len = nlmsg_len(nlh);
	struct nlmsghdr *event_nlh;
	struct sk_buff *event;
	size_t text_len;
	char *payload;
	int err;

	/* netlink_rcv_skb() checked that len bytes are there; the number is
	 * still the sender's to choose.
	 */
	if (len < 1 || len > NOTIFY_TEXT_MAX) {
		NL_SET_ERR_MSG_MOD(extack, "the text must be 1 to 64 bytes");
		return -EINVAL;
	}
	/* A NUL, if any, ends the text; never read past the payload. */
	text_len = strnlen(text, len);

	mutex_lock(&registry_lock);
	if (!registered_portid) {
		NL_SET_ERR_MSG_MOD(extack, "nobody is registered");
		err = -ENOTCONN;
		goto unlock;
	}

	/* .input runs in the sender's sendmsg(): process context. */
	event = nlmsg_new(text_len + 1, GFP_KERNEL);
	if (!event) {
		err = -ENOMEM;
		goto unlock;
	}
	event_nlh = nlmsg_put(event, registered_portid, 0, NLBOOK_EVENT,
			      text_len + 1, 0);
	if (!event_nlh) {
		kfree_skb(event);
		err = -EMSGSIZE;
		goto unlock;
	}
	payload = nlmsg_data(event_nlh);
	memcpy(payload, text, text_len);
	payload[text_len] = '\0';

	/*
	 * Non-blocking (MSG_DONTWAIT); consumes the skb even on failure.
	 * netlink_unicast() looks the port id up in this protocol's table of
	 * the kernel socket's namespace; -ECONNREFUSED means no socket holds
	 * it, or the one that does has connect()ed to another peer and takes
	 * nothing from us (netlink_getsockbyportid()).
	 */
	err = nlmsg_unicast(registry_sk, event, registered_portid);
	if (err == -ECONNREFUSED) {
		registered_portid = 0;
		pr_info("the registered port id is gone (ECONNREFUSED): unregistered\n");
		NL_SET_ERR_MSG_MOD(extack,
				   "the registered socket is gone; unregistered it");
	}
unlock:
	mutex_unlock(&registry_lock);
	return err;
}
/* ANCHOR_END: notify */

static int registry_msg(struct sk_buff *skb, struct nlmsghdr *nlh,
			struct netlink_ext_ack *extack)
{
	switch (nlh->nlmsg_type) {
	case NLBOOK_REGISTER:
		return registry_register(skb);
	case NLBOOK_NOTIFY:
		return registry_notify(nlh, extack);
	default:
		NL_SET_ERR_MSG_MOD(extack, "unknown request type");
		return -EOPNOTSUPP;
	}
}

static void registry_input(struct sk_buff *skb)
{
	netlink_rcv_skb(skb, registry_msg);
}

#ifdef NLBOOK_FORGET_ON_RELEASE
/* ANCHOR: release */
/*
 * netlink_release() calls this chain for every bound netlink socket that
 * closes, of any protocol and namespace, in process context.
 */
static int registry_release(struct notifier_block *nb, unsigned long event,
			    void *ptr)
{
	struct netlink_notify *n = ptr;

	if (event != NETLINK_URELEASE ||
	    n->protocol != NETLINK_NLBOOK_ADDRESSES ||
	    !net_eq(n->net, &init_net))
		return NOTIFY_DONE;

	mutex_lock(&registry_lock);
	if (registered_portid && n->portid == registered_portid) {
		registered_portid = 0;
		pr_info("the registered socket closed (NETLINK_URELEASE): unregistered\n");
	}
	mutex_unlock(&registry_lock);
	return NOTIFY_DONE;
}

static struct notifier_block registry_release_nb = {
	.notifier_call = registry_release,
};
/* ANCHOR_END: release */

static int registry_watch_releases(void)
{
	return netlink_register_notifier(&registry_release_nb);
}

static void registry_unwatch_releases(void)
{
	netlink_unregister_notifier(&registry_release_nb);
}
#else
/* Without the notifier, a closed socket shows only as -ECONNREFUSED. */
static int registry_watch_releases(void)
{
	return 0;
}

static void registry_unwatch_releases(void)
{
}
#endif

static int __init registry_init(void)
{
	struct netlink_kernel_cfg cfg = {
		.input = registry_input,
	};
	int err;

	registry_sk = netlink_kernel_create(&init_net,
					    NETLINK_NLBOOK_ADDRESSES, &cfg);
	if (!registry_sk) {
		pr_err("cannot create netlink protocol %d\n",
		       NETLINK_NLBOOK_ADDRESSES);
		return -ENOMEM;
	}

	err = registry_watch_releases();
	if (err) {
		netlink_kernel_release(registry_sk);
		return err;
	}

	pr_info("protocol %d ready\n", NETLINK_NLBOOK_ADDRESSES);
	return 0;
}

static void __exit registry_exit(void)
{
	registry_unwatch_releases();
	netlink_kernel_release(registry_sk);
	pr_info("protocol %d gone\n", NETLINK_NLBOOK_ADDRESSES);
}

module_init(registry_init);
module_exit(registry_exit);

MODULE_LICENSE("GPL");
#ifdef NLBOOK_FORGET_ON_RELEASE
MODULE_DESCRIPTION("Netlink workbook ch02: a registration ends when its socket closes");
#else
MODULE_DESCRIPTION("Netlink workbook ch02: unicast to a port id a user registered");
#endif
