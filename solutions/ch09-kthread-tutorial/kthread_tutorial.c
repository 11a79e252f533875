// SPDX-License-Identifier: GPL-2.0
/*
 * kthread_tutorial.c - the kthread tutorial's second design, made safe.
 *
 * Requests on protocol 26 (1 to 100 bytes of payload) are answered with a
 * message of the same type and sequence number whose payload is exactly the
 * request's payload. The input callback checks and queues each request on
 * a list under a spinlock; a kernel thread takes them off and replies.
 *
 * What changed from the starter:
 * - netlink_rcv_skb() walks the messages and checks each nlmsg_len; what it
 *   leaves behind (a header cut short, a length that lies) is refused with
 *   EINVAL; payloads of 0 or more than 100 bytes with EINVAL / EMSGSIZE;
 * - exactly nlmsg_len(nlh) bytes are copied, and exactly those go back;
 * - nothing is allocated under the spinlock, and every allocation is
 *   checked: the input callback allocates before it locks, the thread
 *   after it unlocks (both run in process context: GFP_KERNEL is right);
 * - the queue is bounded: past 1024 requests, senders get ENOBUFS.
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
#include <linux/skbuff.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/string.h>
#include <linux/wait.h>
#include <net/net_namespace.h>
#include <net/netlink.h>
#include <net/sock.h>

/* The tutorial's NETLINK_TEST was 25; chapter 9 uses 26. */
#define NETLINK_TEST		26
#define TEXT_SIZE		100
#define QUEUE_MAX		1024

struct tutorial_request {
	struct list_head node;
	u32 portid;
	u32 seq;
	u16 type;
	u16 len;
	char text[];
};

static struct sock *nl_sk;
static struct task_struct *worker;
static LIST_HEAD(requests);
static unsigned int queued;
static DEFINE_SPINLOCK(requests_lock);
static DECLARE_WAIT_QUEUE_HEAD(requests_wait);

static int nl_request(struct sk_buff *skb, struct nlmsghdr *nlh,
		      struct netlink_ext_ack *extack)
{
	int len = nlmsg_len(nlh);
	struct tutorial_request *req;
	bool added = false;

	if (len < 1)
		return -EINVAL;
	if (len > TEXT_SIZE)
		return -EMSGSIZE;

	req = kmalloc(struct_size(req, text, len), GFP_KERNEL);
	if (!req)
		return -ENOMEM;
	req->portid = NETLINK_CB(skb).portid;
	req->seq = nlh->nlmsg_seq;
	req->type = nlh->nlmsg_type;
	req->len = len;
	memcpy(req->text, nlmsg_data(nlh), len);

	spin_lock(&requests_lock);
	if (queued < QUEUE_MAX) {
		list_add_tail(&req->node, &requests);
		queued++;
		added = true;
	}
	spin_unlock(&requests_lock);

	if (!added) {
		kfree(req);
		return -ENOBUFS;
	}
	wake_up_interruptible(&requests_wait);
	return 0;
}

/* The header as far as it arrived, zero-filled; never the lying payload. */
static void nl_refuse_malformed(struct sk_buff *skb)
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
	nlmsg_unicast(nl_sk, err_skb, NETLINK_CB(skb).portid);
}

static void nl_data_ready(struct sk_buff *skb)
{
	netlink_rcv_skb(skb, nl_request);
	/* netlink_rcv_skb() stops silently where a length lies. */
	if (skb->len)
		nl_refuse_malformed(skb);
}

static void send_reply(struct tutorial_request *req)
{
	struct nlmsghdr *nlh;
	struct sk_buff *skb;

	skb = nlmsg_new(req->len, GFP_KERNEL);
	if (!skb)
		return;
	nlh = nlmsg_put(skb, 0, req->seq, req->type, req->len, 0);
	if (!nlh) {
		kfree_skb(skb);
		return;
	}
	memcpy(nlmsg_data(nlh), req->text, req->len);
	nlmsg_unicast(nl_sk, skb, req->portid);
}

static int reply_thread(void *unused)
{
	while (!kthread_should_stop()) {
		struct tutorial_request *req;

		wait_event_interruptible(requests_wait,
					 !list_empty(&requests) ||
					 kthread_should_stop());

		spin_lock(&requests_lock);
		req = list_first_entry_or_null(&requests,
					       struct tutorial_request, node);
		if (req) {
			list_del(&req->node);
			queued--;
		}
		spin_unlock(&requests_lock);

		if (!req)
			continue;
		send_reply(req);
		kfree(req);
	}
	return 0;
}

static int __init tutorial_init(void)
{
	struct netlink_kernel_cfg cfg = {
		.input = nl_data_ready,
	};

	nl_sk = netlink_kernel_create(&init_net, NETLINK_TEST, &cfg);
	if (!nl_sk)
		return -ENOMEM;

	worker = kthread_run(reply_thread, NULL, "nl_tutorial");
	if (IS_ERR(worker)) {
		netlink_kernel_release(nl_sk);
		return PTR_ERR(worker);
	}
	return 0;
}

static void __exit tutorial_exit(void)
{
	struct tutorial_request *req, *next;

	kthread_stop(worker);
	netlink_kernel_release(nl_sk);
	list_for_each_entry_safe(req, next, &requests, node) {
		list_del(&req->node);
		kfree(req);
	}
}

module_init(tutorial_init);
module_exit(tutorial_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Netlink workbook ch09 exercise: the kthread tutorial, made safe");
