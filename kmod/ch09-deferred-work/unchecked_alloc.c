// SPDX-License-Identifier: GPL-2.0
/*
 * unchecked_alloc.c - the queued design with the tutorial's unchecked
 * allocation, kept wrong on purpose: the kernel thread builds each reply
 * with alloc_skb(GFP_KERNEL) and writes into it without looking at what
 * alloc_skb() returned.
 *
 * GFP_KERNEL may fail: when memory is short and reclaim cannot free enough,
 * the allocator returns NULL. nlmsg_put() then reads the tail room of a
 * NULL skb, and the kernel thread dies in a NULL pointer dereference with
 * the module's state half-updated; no later request is answered.
 *
 * On an idle machine a small allocation never fails, so every test passes.
 * The lab's debug kernel has fault injection (CONFIG_FAILSLAB): the chapter's
 * ch09-failslab client makes this thread's next slab allocation fail, and
 * the run shows the oops; deferred_reply.c survives the same failure.
 *
 * Everything else is as in deferred_reply.c, the fixed design.
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
#include <linux/overflow.h>
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
/* The tutorial's buffer size, now a limit that is checked. */
#define DEFERRED_PAYLOAD_MAX	100
/* Enough for every client the chapter runs; past it, senders get ENOBUFS. */
#define DEFERRED_QUEUE_MAX	1024

/* ANCHOR: request */
/* A request, copied out of the sender's skb: the skb is gone once .input returns. */
struct deferred_request {
	struct list_head node;
	u32 portid;
	u32 seq;
	u16 type;
	u16 len;
	u8 payload[];
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

/* ANCHOR: enqueue */
/*
 * Called by netlink_rcv_skb() for each request, in the sender's context. It
 * has checked that nlmsg_len covers the header and lies within the skb, so
 * nlmsg_len(nlh) payload bytes are there.
 */
static int deferred_msg(struct sk_buff *skb, struct nlmsghdr *nlh,
			struct netlink_ext_ack *extack)
{
	int len = nlmsg_len(nlh);
	struct deferred_request *req;
	bool queued = false;

	if (len < 1) {
		NL_SET_ERR_MSG_MOD(extack, "empty request");
		return -EINVAL;
	}
	if (len > DEFERRED_PAYLOAD_MAX) {
		NL_SET_ERR_MSG_MOD(extack, "payload longer than 100 bytes");
		return -EMSGSIZE;
	}

	/*
	 * Allocate before taking the lock. This is process context (the
	 * kernel's own netlink_ack() allocates with GFP_KERNEL here too), so
	 * the allocation may sleep; under the spinlock it could not.
	 */
	req = kmalloc(struct_size(req, payload, len), GFP_KERNEL);
	if (!req)
		return -ENOMEM;
	/* The sender's port id as the kernel knows it, not nlh->nlmsg_pid. */
	req->portid = NETLINK_CB(skb).portid;
	req->seq = nlh->nlmsg_seq;
	req->type = nlh->nlmsg_type;
	req->len = len;
	memcpy(req->payload, nlmsg_data(nlh), len);

	spin_lock(&deferred_lock);
	if (deferred_queued < DEFERRED_QUEUE_MAX) {
		list_add_tail(&req->node, &deferred_queue);
		deferred_queued++;
		queued = true;
	}
	spin_unlock(&deferred_lock);

	if (!queued) {
		kfree(req);
		NL_SET_ERR_MSG_MOD(extack, "queue full, try again");
		return -ENOBUFS;
	}
	wake_up_interruptible(&deferred_wait);
	return 0;
}
/* ANCHOR_END: enqueue */

/* ANCHOR: malformed */
/*
 * Answer a message whose framing cannot be trusted with EINVAL. The error
 * carries the request's header as far as it arrived, zero-filled beyond,
 * and never the payload: its length is the lie.
 */
static void deferred_refuse_malformed(struct sk_buff *skb)
{
	struct nlmsghdr hdr = {};
	struct nlmsgerr *errmsg;
	struct nlmsghdr *rep;
	struct sk_buff *err_skb;

	memcpy(&hdr, skb->data, min_t(unsigned int, skb->len, sizeof(hdr)));

	err_skb = nlmsg_new(sizeof(*errmsg), GFP_KERNEL);
	if (!err_skb)
		return;
	rep = nlmsg_put(err_skb, 0, hdr.nlmsg_seq, NLMSG_ERROR,
			sizeof(*errmsg), NLM_F_CAPPED);
	if (!rep) {
		kfree_skb(err_skb);
		return;
	}
	errmsg = nlmsg_data(rep);
	errmsg->error = -EINVAL;
	errmsg->msg = hdr;
	nlmsg_unicast(deferred_sk, err_skb, NETLINK_CB(skb).portid);
}
/* ANCHOR_END: malformed */

/* ANCHOR: input */
static void deferred_input(struct sk_buff *skb)
{
	/*
	 * Handles every well-formed message and answers errors (and ACKs on
	 * NLM_F_ACK) itself. At a header cut short, or an nlmsg_len below
	 * the header or past the end, it stops without a word and leaves
	 * skb->data there: what is left is the message that lied.
	 */
	netlink_rcv_skb(skb, deferred_msg);
	if (skb->len)
		deferred_refuse_malformed(skb);
}
/* ANCHOR_END: input */

/* ANCHOR: reply */
/* Process context, no lock held: GFP_KERNEL is right, and may fail. */
static void deferred_reply(struct deferred_request *req)
{
	struct nlmsghdr *nlh;
	struct sk_buff *skb;

	/* The bug: alloc_skb() may return NULL, and nothing looks. */
	skb = alloc_skb(nlmsg_total_size(req->len), GFP_KERNEL);
	nlh = nlmsg_put(skb, 0, req->seq, req->type, req->len, 0);
	memcpy(nlmsg_data(nlh), req->payload, req->len);

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

	deferred_worker = kthread_run(deferred_work, NULL, "nlbook_nocheck");
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
MODULE_DESCRIPTION("Netlink workbook ch09: an unchecked alloc_skb() in the reply thread (deliberately buggy)");
