// SPDX-License-Identifier: GPL-2.0
/*
 * kthread_tutorial.c - the kthread tutorial's second design, in today's
 * API, with the tutorial's bugs.
 *
 * Requests on protocol 26 (1 to 100 bytes of payload) are to be answered
 * with a message of the same type and sequence number whose payload is
 * exactly the request's payload. The input callback queues each request on
 * a list under a spinlock; a kernel thread takes them off and replies.
 *
 * Make it right: the debug kernel must report nothing, under load too, and
 * every request must get the answer chapter 9 describes.
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

struct tutorial_request {
	struct list_head node;
	u32 portid;
	u32 seq;
	u16 type;
	char text[TEXT_SIZE];
};

static struct sock *nl_sk;
static struct task_struct *worker;
static LIST_HEAD(requests);
static DEFINE_SPINLOCK(requests_lock);
static DECLARE_WAIT_QUEUE_HEAD(requests_wait);

static void nl_data_ready(struct sk_buff *skb)
{
	struct nlmsghdr *nlh = nlmsg_hdr(skb);
	struct tutorial_request *req;

	spin_lock(&requests_lock);
	req = kmalloc(sizeof(*req), GFP_KERNEL);
	req->portid = NETLINK_CB(skb).portid;
	req->seq = nlh->nlmsg_seq;
	req->type = nlh->nlmsg_type;
	memcpy(req->text, NLMSG_DATA(nlh), TEXT_SIZE);
	list_add_tail(&req->node, &requests);
	spin_unlock(&requests_lock);

	wake_up_interruptible(&requests_wait);
}

static int reply_thread(void *unused)
{
	while (!kthread_should_stop()) {
		struct tutorial_request *req;
		struct nlmsghdr *nlh;
		struct sk_buff *skb;

		wait_event_interruptible(requests_wait,
					 !list_empty(&requests) ||
					 kthread_should_stop());

		spin_lock(&requests_lock);
		req = list_first_entry_or_null(&requests,
					       struct tutorial_request, node);
		if (!req) {
			spin_unlock(&requests_lock);
			continue;
		}
		list_del(&req->node);
		skb = alloc_skb(NLMSG_SPACE(TEXT_SIZE), GFP_KERNEL);
		nlh = nlmsg_put(skb, 0, req->seq, req->type, TEXT_SIZE, 0);
		memcpy(NLMSG_DATA(nlh), req->text, TEXT_SIZE);
		spin_unlock(&requests_lock);

		nlmsg_unicast(nl_sk, skb, req->portid);
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
MODULE_DESCRIPTION("Netlink workbook ch09 exercise: the kthread tutorial, to be made safe");
