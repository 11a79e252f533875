// SPDX-License-Identifier: GPL-2.0
/*
 * kthread_ported.c - legacy/kthread_2_6.c, HALF PORTED: the netlink socket,
 * the lock and the kernel thread are done; the timer, and a few lines
 * around it, are still 2.6-era code. It builds on neither 6.1 nor 6.12.
 * Finish the port (chapter 10 lists every step); keep the protocol.
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
 * (-EINVAL, -EMSGSIZE, -EOPNOTSUPP) and queues nothing.
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

/* TODO: port. 2.6: the timer carries its argument in timer.data. */
static struct timer_list kt_timer;

static struct sock *kt_sk;
static struct task_struct *kt_thread;

/* SPIN_LOCK_UNLOCKED is gone: a lock defined this way is known to lockdep. */
static DEFINE_SPINLOCK(kt_lock);
static LIST_HEAD(kt_requests);
static DECLARE_WAIT_QUEUE_HEAD(kt_wait);

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
	strlcpy(payload, prefix, payload_len);
	memcpy(payload + prefix_len, text, text_len);
	payload[prefix_len + text_len] = '\0';
	return nlmsg_unicast(kt_sk, skb, portid);
}

/*
 * Softirq context: nothing here may sleep, hence GFP_ATOMIC (chapter 7).
 * TODO: port. 2.6: the callback takes timer.data as its argument.
 */
static void kt_remind(unsigned long data)
{
	kt_send((u32)data, 0, NLBOOK_KT_REMINDER, "",
		reminder_text, strlen(reminder_text), GFP_ATOMIC);
}

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
		/* Returns 1 only if the timer was pending. */
		if (!del_timer(&kt_timer)) {
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
	list_add_tail(&req->list, &kt_requests);
	spin_unlock(&kt_lock);
	wake_up_interruptible(&kt_wait);

	kt_timer.data = NETLINK_CB(skb).pid;
	mod_timer(&kt_timer, jiffies + msecs_to_jiffies(REMIND_DELAY_MS));
	return 0;
}

static void kt_input(struct sk_buff *skb)
{
	netlink_rcv_skb(skb, kt_msg);
}

static struct kt_request *kt_next_request(void)
{
	struct kt_request *req;

	spin_lock(&kt_lock);
	req = list_first_entry_or_null(&kt_requests, struct kt_request, list);
	if (req)
		list_del(&req->list);
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

static int __init kt_init(void)
{
	struct netlink_kernel_cfg cfg = {
		.input = kt_input,
	};

	kt_sk = netlink_kernel_create(&init_net, NETLINK_TEST, &cfg);
	if (!kt_sk)
		return -ENOMEM;

	/* TODO: port. */
	init_timer(&kt_timer);
	kt_timer.function = kt_remind;
	kt_timer.data = 0;

	kt_thread = kthread_run(kt_thread_fn, NULL, "nlbook_kt");
	if (IS_ERR(kt_thread)) {
		netlink_kernel_release(kt_sk);
		return PTR_ERR(kt_thread);
	}

	pr_info("protocol %d ready\n", NETLINK_TEST);
	return 0;
}

static void __exit kt_exit(void)
{
	struct kt_request *req;

	/* TODO: port. Is the timer really stopped when this returns? */
	del_timer(&kt_timer);
	kthread_stop(kt_thread);
	/* Then the socket, which no thread or timer uses any more. */
	netlink_kernel_release(kt_sk);
	/* Requests queued after the thread stopped. */
	while ((req = kt_next_request()))
		kfree(req);
	pr_info("protocol %d gone\n", NETLINK_TEST);
}

module_init(kt_init);
module_exit(kt_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Netlink workbook ch10 exercise: finish porting the 2.6-era module");
