// SPDX-License-Identifier: GPL-2.0
/*
 * An event family of our own: network device events
 * multicast on netlink protocol 27, one multicast group per event kind.
 *
 * A netdevice notifier hears NETDEV_REGISTER, NETDEV_UP, NETDEV_DOWN and
 * NETDEV_UNREGISTER for every device of every network namespace. For each,
 * the module builds one message and multicasts it, in the device's own
 * namespace, to the group of that event kind:
 *
 *   group 1  NLBOOK_EVENT_REGISTER     message type 17
 *   group 2  NLBOOK_EVENT_UP           message type 18
 *   group 3  NLBOOK_EVENT_DOWN         message type 19
 *   group 4  NLBOOK_EVENT_UNREGISTER   message type 20
 *
 * The payload is struct nlbook_netdev_event: the device's ifindex and name.
 * A listener joins the groups of the events it wants and gets no others.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/errno.h>
#include <linux/gfp.h>
#include <linux/if.h>
#include <linux/init.h>
#include <linux/module.h>
#include <linux/netdevice.h>
#include <linux/netlink.h>
#include <linux/notifier.h>
#include <linux/string.h>
#include <linux/types.h>
#include <net/net_namespace.h>
#include <net/netns/generic.h>
#include <net/netlink.h>
#include <net/sock.h>

/*
 * Below MAX_LINKS (32), above the kernel's own protocols (0 to 22); 25 and
 * 28 to 31 belong to other chapters' modules.
 */
#define NETLINK_NLBOOK_EVENTS	27

/* ANCHOR: groups */
/* One group per event kind; the message type names the kind as well. */
enum nlbook_event_group {
	NLBOOK_EVENT_REGISTER = 1,
	NLBOOK_EVENT_UP,
	NLBOOK_EVENT_DOWN,
	NLBOOK_EVENT_UNREGISTER,
	__NLBOOK_EVENT_MAX,
};

#define NLBOOK_EVENT_GROUPS	(__NLBOOK_EVENT_MAX - 1)

/* The payload, as user space reads it: host byte order. */
struct nlbook_netdev_event {
	__s32 ifindex;
	char name[IFNAMSIZ];
};

/* ANCHOR_END: groups */

/*
 * The message type is NLBOOK_EVENT_MSG_BASE + group: types below
 * NLMSG_MIN_TYPE (16) are the netlink core's own (NLMSG_NOOP, NLMSG_ERROR,
 * NLMSG_DONE, ...).
 */
#define NLBOOK_EVENT_MSG_BASE	NLMSG_MIN_TYPE

/* One kernel socket per network namespace, as rtnetlink has. */
struct netdev_events_net {
	struct sock *sk;
};

static unsigned int netdev_events_net_id;

/* ANCHOR: notify */
static int netdev_events_send(struct net_device *dev, int group)
{
	struct netdev_events_net *nn = net_generic(dev_net(dev),
						   netdev_events_net_id);
	struct nlbook_netdev_event *event;
	struct nlmsghdr *nlh;
	struct sk_buff *skb;

	/* Build nothing nobody would receive. */
	if (!nn->sk || !netlink_has_listeners(nn->sk, group))
		return 0;

	/*
	 * Netdevice notifiers run with the RTNL mutex held, in the process
	 * context of whoever changed the device (ASSERT_RTNL() in
	 * call_netdevice_notifiers_info()): they may sleep, so GFP_KERNEL.
	 */
	skb = nlmsg_new(sizeof(*event), GFP_KERNEL);
	if (!skb)
		return -ENOMEM;

	nlh = nlmsg_put(skb, 0, 0, NLBOOK_EVENT_MSG_BASE + group,
			sizeof(*event), 0);
	if (!nlh) {
		kfree_skb(skb);
		return -EMSGSIZE;
	}
	event = nlmsg_data(nlh);
	memset(event, 0, sizeof(*event));
	event->ifindex = dev->ifindex;
	strscpy(event->name, dev->name, sizeof(event->name));
	nlmsg_end(skb, nlh);

	/*
	 * Consumes the skb. -ESRCH means every listener left since the check
	 * above; a full listener's loss shows up as its ENOBUFS.
	 */
	return nlmsg_multicast(nn->sk, skb, 0, group, GFP_KERNEL);
}

static int netdev_events_notify(struct notifier_block *nb,
				unsigned long event, void *ptr)
{
	struct net_device *dev = netdev_notifier_info_to_dev(ptr);
	int group;

	switch (event) {
	case NETDEV_REGISTER:
		group = NLBOOK_EVENT_REGISTER;
		break;
	case NETDEV_UP:
		group = NLBOOK_EVENT_UP;
		break;
	case NETDEV_DOWN:
		group = NLBOOK_EVENT_DOWN;
		break;
	case NETDEV_UNREGISTER:
		group = NLBOOK_EVENT_UNREGISTER;
		break;
	default:
		return NOTIFY_DONE;
	}

	/* An event lost to memory pressure must not veto the device change. */
	if (netdev_events_send(dev, group) == -ENOMEM)
		pr_warn_ratelimited("no memory for an event of %s\n", dev->name);
	return NOTIFY_DONE;
}
/* ANCHOR_END: notify */

static struct notifier_block netdev_events_nb = {
	.notifier_call = netdev_events_notify,
};

/* ANCHOR: pernet */
static int __net_init netdev_events_net_init(struct net *net)
{
	struct netdev_events_net *nn = net_generic(net, netdev_events_net_id);
	/*
	 * NL_CFG_F_NONROOT_RECV: any process may listen, as on rtnetlink's
	 * link group. The events say what `ip link` already shows anybody in
	 * the namespace. Sending stays reserved: this protocol has no .input,
	 * and without NL_CFG_F_NONROOT_SEND netlink_sendmsg() refuses to
	 * multicast for a sender without CAP_NET_ADMIN.
	 */
	struct netlink_kernel_cfg cfg = {
		.groups = NLBOOK_EVENT_GROUPS,
		.flags = NL_CFG_F_NONROOT_RECV,
	};

	nn->sk = netlink_kernel_create(net, NETLINK_NLBOOK_EVENTS, &cfg);
	if (!nn->sk)
		return -ENOMEM;
	return 0;
}

static void __net_exit netdev_events_net_exit(struct net *net)
{
	struct netdev_events_net *nn = net_generic(net, netdev_events_net_id);

	netlink_kernel_release(nn->sk);
	nn->sk = NULL;
}

static struct pernet_operations netdev_events_net_ops = {
	.init = netdev_events_net_init,
	.exit = netdev_events_net_exit,
	.id = &netdev_events_net_id,
	.size = sizeof(struct netdev_events_net),
};
/* ANCHOR_END: pernet */

static int __init netdev_events_init(void)
{
	int err;

	/* Sockets first: the notifier may fire as soon as it is registered. */
	err = register_pernet_subsys(&netdev_events_net_ops);
	if (err)
		return err;

	err = register_netdevice_notifier(&netdev_events_nb);
	if (err) {
		unregister_pernet_subsys(&netdev_events_net_ops);
		return err;
	}

	pr_info("protocol %d ready, %d groups\n", NETLINK_NLBOOK_EVENTS,
		NLBOOK_EVENT_GROUPS);
	return 0;
}

static void __exit netdev_events_exit(void)
{
	unregister_netdevice_notifier(&netdev_events_nb);
	unregister_pernet_subsys(&netdev_events_net_ops);
	pr_info("protocol %d gone\n", NETLINK_NLBOOK_EVENTS);
}

module_init(netdev_events_init);
module_exit(netdev_events_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Netlink workbook ch05: network device events, one multicast group per kind");
