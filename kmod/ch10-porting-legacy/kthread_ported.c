// SPDX-License-Identifier: GPL-2.0
/*
 * kthread_ported.c - legacy/kthread_2_6.c ported to the API of 6.1 and 6.12,
 * one source for both, with its bugs fixed on the way.
 *
 * The protocol is the legacy one, NETLINK_TEST (25):
 *
 *   NLBOOK_KT_REQUEST  1 to 100 bytes of text (a trailing NUL optional).
 *                      The kernel thread answers the sender with a message
 *                      of the same type and sequence number whose payload
 *                      is "kthread: <text>" and a NUL. Every accepted
 *                      request also (re)arms the reminder timer.
 *   NLBOOK_KT_CANCEL   no payload: forget the pending reminder. Answered
 *                      by an NLMSG_ERROR of 0 when one was pending,
 *                      -ENOENT when none was.
 *   NLBOOK_KT_REMINDER sent by the timer, REMIND_DELAY_MS after the last
 *                      request, to the port that sent it: "reminder from
 *                      the timer" and a NUL.
 *
 * A request that breaks these rules is answered with an NLMSG_ERROR
 * (-EINVAL, -EMSGSIZE, -EOPNOTSUPP) and queues nothing; so is one that
 * finds NLBOOK_KT_QUEUE_MAX requests queued (-ENOBUFS).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/compiler.h>
#include <linux/err.h>
#include <linux/errno.h>
#include <linux/gfp.h>
#include <linux/init.h>
#include <linux/jiffies.h>
#include <linux/kthread.h>
#include <linux/list.h>
#include <linux/module.h>
#include <linux/netlink.h>
#include <linux/overflow.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/string.h>
#include <linux/timer.h>
#include <linux/types.h>
#include <linux/wait.h>
#include <net/net_namespace.h>
#include <net/netlink.h>
#include <net/sock.h>

#include "nlbook_compat.h"

#define NETLINK_TEST		25
#define NLBOOK_KT_REQUEST	0x10
#define NLBOOK_KT_CANCEL	0x11
#define NLBOOK_KT_REMINDER	0x12

/* The legacy MAX_PAYLOAD: now a limit that is checked, not a copy size. */
#define NLBOOK_KT_TEXT_MAX	100
/* The legacy list had no bound: a sender faster than the thread grew it. */
#define NLBOOK_KT_QUEUE_MAX	1024
#define REMIND_DELAY_MS		1000

static const char reply_prefix[] = "kthread: ";
static const char reminder_text[] = "reminder from the timer";

/* One request, from the input callback to the thread. */
struct kt_request {
	struct list_head list;
	u32 portid;
	u32 seq;
	size_t len;
	char text[];
};

/* ANCHOR: reminder */
/*
 * timer.data is gone: what the callback needs lives beside the timer, and
 * the callback finds it with timer_container_of() (from_timer() before
 * 6.16; nlbook_compat.h maps one onto the other).
 */
struct kt_reminder {
	struct timer_list timer;
	/* Written by the input callback, read by the timer: READ/WRITE_ONCE. */
	u32 portid;
};
/* ANCHOR_END: reminder */

static struct sock *kt_sk;
static struct task_struct *kt_thread;
static struct kt_reminder kt_reminder;

/* ANCHOR: lock */
/* SPIN_LOCK_UNLOCKED is gone: a lock defined this way is known to lockdep. */
static DEFINE_SPINLOCK(kt_lock);
static LIST_HEAD(kt_requests);
static unsigned int kt_queued;
static DECLARE_WAIT_QUEUE_HEAD(kt_wait);
/* ANCHOR_END: lock */

/*
 * One message to one port. GFP_KERNEL from the thread, GFP_ATOMIC from the
 * timer: the legacy nl_send() allocated with GFP_KERNEL in both, and
 * without checking. nlmsg_unicast() never blocks (MSG_DONTWAIT) and
 * consumes the skb even when it fails.
 */
static int kt_send(u32 portid, u32 seq, u16 type, const char *prefix,
		   const char *text, size_t text_len, gfp_t gfp)
{
	size_t prefix_len = strlen(prefix);
	size_t payload_len = prefix_len + text_len + 1;
	struct nlmsghdr *nlh;
	struct sk_buff *skb;
	char *payload;

	skb = nlmsg_new(payload_len, gfp);
	if (!skb)
		return -ENOMEM;
	nlh = nlmsg_put(skb, 0, seq, type, payload_len, 0);
	if (!nlh) {
		kfree_skb(skb);
		return -EMSGSIZE;
	}
	payload = nlmsg_data(nlh);
	memcpy(payload, prefix, prefix_len);
	memcpy(payload + prefix_len, text, text_len);
	payload[prefix_len + text_len] = '\0';
	return nlmsg_unicast(kt_sk, skb, portid);
}

/* ANCHOR: timer_callback */
/*
 * Softirq context: nothing here may sleep, hence GFP_ATOMIC (chapter 7).
 * A failed send is not retried; the sender may have gone away.
 */
static void kt_remind(struct timer_list *t)
{
	struct kt_reminder *r = timer_container_of(r, t, timer);

	kt_send(READ_ONCE(r->portid), 0, NLBOOK_KT_REMINDER, "",
		reminder_text, strlen(reminder_text), GFP_ATOMIC);
}
/* ANCHOR_END: timer_callback */

/* ANCHOR: request */
/*
 * Called by netlink_rcv_skb() for each message, in the sender's sendmsg(),
 * process context. netlink_rcv_skb() has checked that the header lies
 * within the skb, so nlmsg_len() bytes of payload are there; how many is
 * up to the sender and is checked here.
 */
static int kt_msg(struct sk_buff *skb, struct nlmsghdr *nlh,
		  struct netlink_ext_ack *extack)
{
	const char *text = nlmsg_data(nlh);
	int len = nlmsg_len(nlh);
	struct kt_request *req;
	size_t text_len;

	if (nlh->nlmsg_type == NLBOOK_KT_CANCEL) {
		/* timer_delete() returns 1 only if the timer was pending. */
		if (!timer_delete(&kt_reminder.timer)) {
			NL_SET_ERR_MSG_MOD(extack, "no reminder pending");
			return -ENOENT;
		}
		return 0;
	}
	if (nlh->nlmsg_type != NLBOOK_KT_REQUEST) {
		NL_SET_ERR_MSG_MOD(extack, "unknown message type");
		return -EOPNOTSUPP;
	}
	if (len > NLBOOK_KT_TEXT_MAX) {
		NL_SET_ERR_MSG_MOD(extack, "text longer than 100 bytes");
		return -EMSGSIZE;
	}
	/* A NUL, if any, ends the text; never read past the payload. */
	text_len = strnlen(text, len);
	if (!text_len) {
		NL_SET_ERR_MSG_MOD(extack, "empty text");
		return -EINVAL;
	}

	/* Allocate before taking the lock: GFP_KERNEL may sleep. */
	req = kmalloc(struct_size(req, text, text_len), GFP_KERNEL);
	if (!req)
		return -ENOMEM;
	req->portid = NETLINK_CB(skb).portid;
	req->seq = nlh->nlmsg_seq;
	req->len = text_len;
	memcpy(req->text, text, text_len);

	spin_lock(&kt_lock);
	if (kt_queued >= NLBOOK_KT_QUEUE_MAX) {
		spin_unlock(&kt_lock);
		kfree(req);
		NL_SET_ERR_MSG_MOD(extack, "too many requests queued");
		return -ENOBUFS;
	}
	list_add_tail(&req->list, &kt_requests);
	kt_queued++;
	spin_unlock(&kt_lock);
	wake_up_interruptible(&kt_wait);

	WRITE_ONCE(kt_reminder.portid, req->portid);
	mod_timer(&kt_reminder.timer,
		  jiffies + msecs_to_jiffies(REMIND_DELAY_MS));
	return 0;
}
/* ANCHOR_END: request */

static void kt_input(struct sk_buff *skb)
{
	netlink_rcv_skb(skb, kt_msg);
}

static struct kt_request *kt_next_request(void)
{
	struct kt_request *req;

	spin_lock(&kt_lock);
	req = list_first_entry_or_null(&kt_requests, struct kt_request, list);
	if (req) {
		list_del(&req->list);
		kt_queued--;
	}
	spin_unlock(&kt_lock);
	return req;
}

static bool kt_have_request(void)
{
	bool have;

	spin_lock(&kt_lock);
	have = !list_empty(&kt_requests);
	spin_unlock(&kt_lock);
	return have;
}

/* ANCHOR: thread */
/*
 * kthread_run() gives a thread that is already a kernel thread: no
 * daemonize(), no signals to allow, no completion to signal on exit:
 * kthread_stop() wakes it, kthread_should_stop() tells it, and
 * kthread_stop() waits for the return.
 */
static int kt_thread_fn(void *unused)
{
	while (!kthread_should_stop()) {
		struct kt_request *req;

		wait_event_interruptible(kt_wait,
					 kt_have_request() || kthread_should_stop());
		/* The lock is held only to unlink; replying may sleep. */
		while ((req = kt_next_request())) {
			kt_send(req->portid, req->seq, NLBOOK_KT_REQUEST,
				reply_prefix, req->text, req->len, GFP_KERNEL);
			kfree(req);
		}
	}
	return 0;
}
/* ANCHOR_END: thread */

static int __init kt_init(void)
{
	/* ANCHOR: create */
	struct netlink_kernel_cfg cfg = {
		.input = kt_input,
	};

	kt_sk = netlink_kernel_create(&init_net, NETLINK_TEST, &cfg);
	if (!kt_sk)
		return -ENOMEM;
	/* ANCHOR_END: create */

	/* ANCHOR: timer_setup */
	timer_setup(&kt_reminder.timer, kt_remind, 0);
	/* ANCHOR_END: timer_setup */

	/* ANCHOR: thread_start */
	kt_thread = kthread_run(kt_thread_fn, NULL, "nlbook_kt");
	if (IS_ERR(kt_thread)) {
		netlink_kernel_release(kt_sk);
		return PTR_ERR(kt_thread);
	}
	/* ANCHOR_END: thread_start */

	pr_info("protocol %d ready\n", NETLINK_TEST);
	return 0;
}

/* ANCHOR: exit */
static void __exit kt_exit(void)
{
	struct kt_request *req;

	/*
	 * Producers first. The timer: after timer_shutdown_sync() it neither
	 * runs nor can be re-armed by a late request. Without it,
	 * timer_delete_sync() waits for a running callback, but a request
	 * arriving just then could arm the timer again.
	 */
#ifdef HAVE_TIMER_SHUTDOWN_SYNC
	timer_shutdown_sync(&kt_reminder.timer);
#else
	timer_delete_sync(&kt_reminder.timer);
#endif
	kthread_stop(kt_thread);
	/* Then the socket, which no thread or timer uses any more. */
	netlink_kernel_release(kt_sk);
	/* Requests queued after the thread stopped. */
	while ((req = kt_next_request()))
		kfree(req);
	pr_info("protocol %d gone\n", NETLINK_TEST);
}
/* ANCHOR_END: exit */

module_init(kt_init);
module_exit(kt_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Netlink workbook ch10: a 2.6-era netlink module with a kernel thread and a timer, ported");
