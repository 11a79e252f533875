// SPDX-License-Identifier: GPL-2.0
/*
 * copy_100.c - the queued design with the tutorial's input handling, kept
 * wrong on purpose: no length is checked, and every request is copied as
 * memcpy(str, NLMSG_DATA(nlh), 100), whatever its size.
 *
 * The sender decides how many bytes it sends and what nlmsg_len says; this
 * module believes neither. A 5-byte request gets a 100-byte reply: its 5
 * bytes, then 95 bytes of kernel memory the sender never sent (the rest of
 * the skb's buffer). Messages whose header is cut short, or whose nlmsg_len
 * lies, are answered the same way instead of refused.
 *
 * The queue, the lock, the allocation flags and the worker are right, as
 * in deferred_reply.c, the fixed design.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/err.h>
#include <linux/errno.h>
#include <linux/gfp.h>
#include <linux/init.h>
#include <linux/kthread.h>
#include <linux/list.h>
#include <linux/module.h>
#include <linux/netlink.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/string.h>
#include <linux/wait.h>
#include <net/net_namespace.h>
#include <net/netlink.h>
#include <net/sock.h>

/*
 * Unused by the kernel (include/uapi/linux/netlink.h). The tutorial's
 * NETLINK_TEST was 25, which chapter 10's port keeps.
 */
#define NETLINK_NLBOOK_DEFERRED	26
/* The tutorial's buffer size. */
#define DEFERRED_PAYLOAD_MAX	100
/* Enough for every client the chapter runs; past it, requests are dropped. */
#define DEFERRED_QUEUE_MAX	1024

/* ANCHOR: request */
/* The tutorial's char str[100]: a fixed size instead of the sender's. */
struct deferred_request {
	struct list_head node;
	u32 portid;
	u32 seq;
	u16 type;
	u16 len;
	u8 payload[DEFERRED_PAYLOAD_MAX];
};
/* ANCHOR_END: request */

static struct sock *deferred_sk;
static struct task_struct *deferred_worker;

/* ANCHOR: queue */
/* The queue: the input callback adds, the worker takes; the lock guards both fields. */
static LIST_HEAD(deferred_queue);
static unsigned int deferred_queued;
static DEFINE_SPINLOCK(deferred_lock);
static DECLARE_WAIT_QUEUE_HEAD(deferred_wait);
/* ANCHOR_END: queue */

/* Written by the worker only. */
static unsigned long deferred_lost;

/* ANCHOR: trusting */
/* The tutorial's input: one message, taken as it claims to be. */
static void deferred_input(struct sk_buff *skb)
{
	struct nlmsghdr *nlh = nlmsg_hdr(skb);
	struct deferred_request *req;
	bool queued = false;

	req = kmalloc(sizeof(*req), GFP_KERNEL);
	if (!req)
		return;
	req->portid = NETLINK_CB(skb).portid;
	req->seq = nlh->nlmsg_seq;
	req->type = nlh->nlmsg_type;
	/* The bug: 100 bytes, however many the sender sent. */
	req->len = DEFERRED_PAYLOAD_MAX;
	memcpy(req->payload, NLMSG_DATA(nlh), DEFERRED_PAYLOAD_MAX);

	spin_lock(&deferred_lock);
	if (deferred_queued < DEFERRED_QUEUE_MAX) {
		list_add_tail(&req->node, &deferred_queue);
		deferred_queued++;
		queued = true;
	}
	spin_unlock(&deferred_lock);

	if (!queued) {
		kfree(req);
		return;
	}
	wake_up_interruptible(&deferred_wait);
}
/* ANCHOR_END: trusting */

/* ANCHOR: reply */
/* Process context, no lock held: GFP_KERNEL is right, and may fail. */
static void deferred_reply(struct deferred_request *req)
{
	struct nlmsghdr *nlh;
	struct sk_buff *skb;

	skb = nlmsg_new(req->len, GFP_KERNEL);
	if (!skb) {
		deferred_lost++;
		return;
	}
	nlh = nlmsg_put(skb, 0, req->seq, req->type, req->len, 0);
	if (!nlh) {
		kfree_skb(skb);
		deferred_lost++;
		return;
	}
	memcpy(nlmsg_data(nlh), req->payload, req->len);

	/*
	 * Never blocks (MSG_DONTWAIT): a receiver whose buffer is full, or a
	 * socket that has closed, loses this reply instead of stalling
	 * everyone else's.
	 */
	if (nlmsg_unicast(deferred_sk, skb, req->portid))
		deferred_lost++;
}
/* ANCHOR_END: reply */

/* ANCHOR: worker */
static bool deferred_has_work(void)
{
	bool has_work;

	spin_lock(&deferred_lock);
	has_work = deferred_queued > 0;
	spin_unlock(&deferred_lock);
	return has_work;
}

static int deferred_work(void *unused)
{
	while (!kthread_should_stop()) {
		struct deferred_request *req, *next;
		LIST_HEAD(batch);

		/* kthread_stop() wakes the thread and makes kthread_should_stop() true. */
		wait_event_interruptible(deferred_wait,
					 deferred_has_work() || kthread_should_stop());

		/* Take everything queued in one go; reply without the lock. */
		spin_lock(&deferred_lock);
		list_splice_init(&deferred_queue, &batch);
		deferred_queued = 0;
		spin_unlock(&deferred_lock);

		list_for_each_entry_safe(req, next, &batch, node) {
			list_del(&req->node);
			deferred_reply(req);
			kfree(req);
			cond_resched();
		}
	}
	return 0;
}
/* ANCHOR_END: worker */

static int __init deferred_init(void)
{
	struct netlink_kernel_cfg cfg = {
		.input = deferred_input,
	};

	deferred_sk = netlink_kernel_create(&init_net, NETLINK_NLBOOK_DEFERRED,
					    &cfg);
	if (!deferred_sk) {
		pr_err("cannot create netlink protocol %d\n",
		       NETLINK_NLBOOK_DEFERRED);
		return -ENOMEM;
	}

	deferred_worker = kthread_run(deferred_work, NULL, "nlbook_copy_100");
	if (IS_ERR(deferred_worker)) {
		netlink_kernel_release(deferred_sk);
		return PTR_ERR(deferred_worker);
	}

	pr_info("protocol %d ready, replies from a kernel thread\n",
		NETLINK_NLBOOK_DEFERRED);
	return 0;
}

/* ANCHOR: exit */
static void __exit deferred_exit(void)
{
	struct deferred_request *req, *next;

	/*
	 * No input callback can be running: every open socket of protocol 26
	 * holds a reference on this module, so rmmod gets here only once they
	 * are all closed. Stop the worker first, since it uses the socket;
	 * kthread_stop() waits until it has returned.
	 */
	kthread_stop(deferred_worker);
	netlink_kernel_release(deferred_sk);

	/* What the worker did not get to: nobody is left to answer. */
	list_for_each_entry_safe(req, next, &deferred_queue, node) {
		list_del(&req->node);
		kfree(req);
	}

	if (deferred_lost)
		pr_warn("%lu replies lost\n", deferred_lost);
	pr_info("protocol %d gone\n", NETLINK_NLBOOK_DEFERRED);
}
/* ANCHOR_END: exit */

module_init(deferred_init);
module_exit(deferred_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Netlink workbook ch09: a fixed 100-byte copy of unchecked requests (deliberately buggy)");
