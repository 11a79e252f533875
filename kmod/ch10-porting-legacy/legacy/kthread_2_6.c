/*
 * kthread_2_6.c - the starting point of chapter 10: a netlink module as it
 * was written for 2.6-era kernels (about 2.6.24 to 2.6.38: netlink_kernel_create()
 * takes a network namespace, SPIN_LOCK_UNLOCKED still exists).
 *
 * THIS FILE IS A RECONSTRUCTION, NOT SOMEBODY'S ORIGINAL. It puts together,
 * in one module, what the tutorial and the report the chapter starts from
 * did: protocol NETLINK_TEST (25), an input callback that queues each
 * request on a spinlock-protected list, a kernel thread started with
 * kernel_thread() and daemonize() that answers from that list, and a timer
 * set up with init_timer() and timer.data that reminds the sender a second
 * later. Its bugs are the originals' bugs, kept on purpose; chapter 9 is
 * about them. It is not built by the lab and does not build on any kernel
 * the workbook runs: the chapter snapshots the compiler's errors. The
 * ANCHOR comments are the workbook's: they mark what the book shows.
 */
#include <linux/module.h>
#include <linux/kernel.h>
#include <linux/init.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/list.h>
#include <linux/spinlock.h>
#include <linux/wait.h>
#include <linux/completion.h>
#include <linux/timer.h>
#include <linux/skbuff.h>
#include <linux/netlink.h>
#include <net/sock.h>

#define NETLINK_TEST 25
#define MAX_PAYLOAD 100

/* Message types: a text to answer, or "forget the reminder". */
#define NL_REQUEST	0x10
#define NL_CANCEL	0x11
#define NL_REMINDER	0x12

struct nl_req {
	struct list_head list;
	u32 pid;
	char str[MAX_PAYLOAD];
};

static struct sock *nl_sk = NULL;
static LIST_HEAD(req_list);
/* ANCHOR: lock */
static spinlock_t req_lock = SPIN_LOCK_UNLOCKED;
static DECLARE_WAIT_QUEUE_HEAD(req_wait);
/* ANCHOR_END: lock */
static DECLARE_COMPLETION(thread_done);
static int thread_stop = 0;
static struct timer_list remind_timer;

/* ANCHOR: send */
static void nl_send(u32 pid, int type, const char *text)
{
	struct sk_buff *skb;
	struct nlmsghdr *nlh;

	skb = alloc_skb(NLMSG_SPACE(MAX_PAYLOAD), GFP_KERNEL);
	nlh = (struct nlmsghdr *)skb_put(skb, NLMSG_SPACE(MAX_PAYLOAD));
	nlh->nlmsg_len = NLMSG_SPACE(MAX_PAYLOAD);
	nlh->nlmsg_pid = 0;
	nlh->nlmsg_flags = 0;
	nlh->nlmsg_type = type;
	strcpy(NLMSG_DATA(nlh), text);

	NETLINK_CB(skb).pid = 0;
	NETLINK_CB(skb).dst_group = 0;
	netlink_unicast(nl_sk, skb, pid, MSG_DONTWAIT);
}
/* ANCHOR_END: send */

/* ANCHOR: input */
/* Runs in the sender's context; hands the request to the thread. */
static void nl_data_ready(struct sk_buff *skb)
{
	struct nlmsghdr *nlh = (struct nlmsghdr *)skb->data;
	struct nl_req *req;

	if (nlh->nlmsg_type == NL_CANCEL) {
		del_timer(&remind_timer);
		return;
	}

	spin_lock(&req_lock);
	req = kmalloc(sizeof(*req), GFP_KERNEL);
	req->pid = NETLINK_CB(skb).pid;
	memcpy(req->str, NLMSG_DATA(nlh), MAX_PAYLOAD);
	list_add_tail(&req->list, &req_list);
	spin_unlock(&req_lock);
	wake_up_interruptible(&req_wait);

	/* Remind the sender in a second. */
	remind_timer.data = NETLINK_CB(skb).pid;
	mod_timer(&remind_timer, jiffies + HZ);
}
/* ANCHOR_END: input */

/* ANCHOR: timer_callback */
static void remind(unsigned long data)
{
	nl_send((u32)data, NL_REMINDER, "reminder from the timer");
}
/* ANCHOR_END: timer_callback */

/* ANCHOR: thread */
static int nl_thread(void *unused)
{
	struct nl_req *req;
	char reply[MAX_PAYLOAD];

	daemonize("nl_kthread");
	allow_signal(SIGKILL);

	while (!thread_stop) {
		wait_event_interruptible(req_wait,
					 !list_empty(&req_list) || thread_stop);
		spin_lock(&req_lock);
		while (!list_empty(&req_list)) {
			req = list_entry(req_list.next, struct nl_req, list);
			list_del(&req->list);
			sprintf(reply, "kthread: %s", req->str);
			nl_send(req->pid, NL_REQUEST, reply);
			kfree(req);
		}
		spin_unlock(&req_lock);
	}
	complete_and_exit(&thread_done, 0);
}
/* ANCHOR_END: thread */

static int __init nl_init(void)
{
	/* ANCHOR: create */
	nl_sk = netlink_kernel_create(&init_net, NETLINK_TEST, 1,
				      nl_data_ready, NULL, THIS_MODULE);
	if (!nl_sk)
		return -ENOMEM;
	/* ANCHOR_END: create */

	/* ANCHOR: timer_init */
	init_timer(&remind_timer);
	remind_timer.function = remind;
	remind_timer.data = 0;
	/* ANCHOR_END: timer_init */

	/* ANCHOR: thread_start */
	kernel_thread(nl_thread, NULL, CLONE_KERNEL);
	/* ANCHOR_END: thread_start */
	printk(KERN_INFO "nl_kthread: protocol %d ready\n", NETLINK_TEST);
	return 0;
}

/* ANCHOR: exit */
static void __exit nl_exit(void)
{
	del_timer(&remind_timer);
	thread_stop = 1;
	wake_up_interruptible(&req_wait);
	wait_for_completion(&thread_done);
	sock_release(nl_sk->sk_socket);
	printk(KERN_INFO "nl_kthread: unloaded\n");
}
/* ANCHOR_END: exit */

module_init(nl_init);
module_exit(nl_exit);
MODULE_LICENSE("GPL");
