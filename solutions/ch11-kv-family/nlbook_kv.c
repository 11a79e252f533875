// SPDX-License-Identifier: GPL-2.0
/*
 * nlbook_kv.c - a generic netlink family: a small key/value store in every
 * network namespace (exercise ch11-kv-family, solved).
 *
 * The family "NLBOOK_KV" (nlbook_kv.h) has three commands: SET, GET (also
 * as a dump of every entry) and DEL, and one attribute policy for all of
 * them. Chapter 11's module is the same family with an "events" group;
 * this one leaves the group out. Its id is chosen by the kernel at
 * registration: clients look it up by name through the "nlctrl" family.
 *
 * netnsok: the family answers in every network namespace, and each
 * namespace has a store of its own (pernet_operations), which a request
 * reaches through the namespace of the socket that sent it.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/errno.h>
#include <linux/gfp.h>
#include <linux/init.h>
#include <linux/list.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <net/genetlink.h>
#include <net/net_namespace.h>
#include <net/netlink.h>
#include <net/netns/generic.h>
#include <net/sock.h>

#include "nlbook_kv.h"

struct kv_entry {
	struct list_head node;
	u32 value;
	char key[NLBOOK_KV_KEY_MAX + 1];
};

/* One store per network namespace. */
struct kv_net {
	/*
	 * Guards everything below. A mutex: every path that takes it runs in
	 * process context (the sender's sendmsg() or the reader's recvmsg()),
	 * and the family sets parallel_ops, so the genl core takes no lock
	 * of its own around our callbacks.
	 */
	struct mutex lock;
	struct list_head entries;	/* sorted by key */
	unsigned int count;
	/*
	 * Bumped on every change. A dump copies it into cb->seq; see
	 * kv_dump(). Never 0: nl_dump_check_consistent() treats 0 as "not
	 * set".
	 */
	u32 generation;
};

/*
 * A store's first generation: 512 changes before the counter wraps, so
 * that every test crosses the wrap, as the kernel starts jiffies five
 * minutes before theirs (INITIAL_JIFFIES).
 */
#define KV_FIRST_GENERATION	(U32_MAX - 511)

static unsigned int kv_net_id __read_mostly;

static struct genl_family kv_family;

/*
 * The policy: what each attribute must look like before any command sees
 * it. The genl core validates every request against it strictly (the
 * family leaves resv_start_op at 0, as new families should), so a wrong
 * length, an unknown attribute type or a key without its NUL is refused
 * with an extended-ACK message that names the attribute.
 */
static const struct nla_policy kv_policy[NLBOOK_KV_ATTR_MAX + 1] = {
	/* Up to 31 bytes and a NUL within the first 32. */
	[NLBOOK_KV_ATTR_KEY] = { .type = NLA_NUL_STRING,
				 .len = NLBOOK_KV_KEY_MAX },
	[NLBOOK_KV_ATTR_VALUE] = { .type = NLA_U32 },
	[NLBOOK_KV_ATTR_GENERATION] = {
		.type = NLA_REJECT,
		.reject_message = "GENERATION is set by the kernel, not by requests",
	},
};

/* The room one entry's message needs after the genl header. */
static size_t kv_entry_msg_size(void)
{
	return nla_total_size(NLBOOK_KV_KEY_MAX + 1) +	/* KEY */
	       nla_total_size(sizeof(u32)) +		/* VALUE */
	       nla_total_size(sizeof(u32));		/* GENERATION */
}

static int kv_put_entry(struct sk_buff *skb, const char *key, u32 value,
			u32 generation)
{
	if (nla_put_string(skb, NLBOOK_KV_ATTR_KEY, key) ||
	    nla_put_u32(skb, NLBOOK_KV_ATTR_VALUE, value) ||
	    nla_put_u32(skb, NLBOOK_KV_ATTR_GENERATION, generation))
		return -EMSGSIZE;
	return 0;
}

static void kv_changed(struct kv_net *kn)
{
	kn->generation++;
	if (kn->generation == 0)
		kn->generation = 1;
}

static struct kv_entry *kv_find(struct kv_net *kn, const char *key)
{
	struct kv_entry *e;

	list_for_each_entry(e, &kn->entries, node)
		if (strcmp(e->key, key) == 0)
			return e;
	return NULL;
}

/*
 * The KEY attribute of a request, checked: present, and not empty. The
 * policy has already made sure it is NUL-terminated within 32 bytes.
 */
static const char *kv_key(struct genl_info *info)
{
	struct nlattr *attr = info->attrs[NLBOOK_KV_ATTR_KEY];

	if (GENL_REQ_ATTR_CHECK(info, NLBOOK_KV_ATTR_KEY)) {
		GENL_SET_ERR_MSG(info, "KEY is required");
		return NULL;
	}
	if (nla_len(attr) < 2) {
		NL_SET_ERR_MSG_ATTR(info->extack, attr, "KEY is empty");
		return NULL;
	}
	return nla_data(attr);
}

static int kv_set(struct sk_buff *skb, struct genl_info *info)
{
	struct kv_net *kn = net_generic(genl_info_net(info), kv_net_id);
	struct kv_entry *fresh, *e, *pos;
	const char *key;

	key = kv_key(info);
	if (!key)
		return -EINVAL;
	if (GENL_REQ_ATTR_CHECK(info, NLBOOK_KV_ATTR_VALUE)) {
		GENL_SET_ERR_MSG(info, "VALUE is required");
		return -EINVAL;
	}

	/* Allocate before locking; freed below if the key exists. */
	fresh = kzalloc(sizeof(*fresh), GFP_KERNEL);
	if (!fresh)
		return -ENOMEM;

	mutex_lock(&kn->lock);
	e = kv_find(kn, key);
	if (!e) {
		if (kn->count >= NLBOOK_KV_ENTRIES_MAX) {
			mutex_unlock(&kn->lock);
			NL_SET_ERR_MSG_MOD(info->extack,
					   "the store is full (1024 keys)");
			kfree(fresh);
			return -ENOSPC;
		}
		strscpy(fresh->key, key, sizeof(fresh->key));
		/* Keep the list sorted: dumps come out in key order. */
		list_for_each_entry(pos, &kn->entries, node)
			if (strcmp(pos->key, key) > 0)
				break;
		list_add_tail(&fresh->node, &pos->node);
		kn->count++;
		e = fresh;
		fresh = NULL;
	}
	e->value = nla_get_u32(info->attrs[NLBOOK_KV_ATTR_VALUE]);
	kv_changed(kn);
	mutex_unlock(&kn->lock);

	kfree(fresh);
	return 0;
}

static int kv_get(struct sk_buff *skb, struct genl_info *info)
{
	struct kv_net *kn = net_generic(genl_info_net(info), kv_net_id);
	const struct kv_entry *e;
	struct sk_buff *reply;
	const char *key;
	void *hdr;
	int err;

	key = kv_key(info);
	if (!key)
		return -EINVAL;

	reply = genlmsg_new(kv_entry_msg_size(), GFP_KERNEL);
	if (!reply)
		return -ENOMEM;
	hdr = genlmsg_put_reply(reply, info, &kv_family, 0, NLBOOK_KV_CMD_GET);
	if (!hdr) {
		nlmsg_free(reply);
		return -EMSGSIZE;
	}

	mutex_lock(&kn->lock);
	e = kv_find(kn, key);
	if (!e) {
		mutex_unlock(&kn->lock);
		/* Our own, semantic error: it points at the attribute too. */
		NL_SET_ERR_MSG_ATTR(info->extack, info->attrs[NLBOOK_KV_ATTR_KEY],
				    "no such key");
		nlmsg_free(reply);
		return -ENOENT;
	}
	err = kv_put_entry(reply, e->key, e->value, kn->generation);
	mutex_unlock(&kn->lock);
	if (err) {
		nlmsg_free(reply);
		return err;
	}
	genlmsg_end(reply, hdr);
	return genlmsg_reply(reply, info);
}

static int kv_del(struct sk_buff *skb, struct genl_info *info)
{
	struct kv_net *kn = net_generic(genl_info_net(info), kv_net_id);
	struct kv_entry *e;
	const char *key;

	key = kv_key(info);
	if (!key)
		return -EINVAL;

	mutex_lock(&kn->lock);
	e = kv_find(kn, key);
	if (!e) {
		mutex_unlock(&kn->lock);
		NL_SET_ERR_MSG_ATTR(info->extack, info->attrs[NLBOOK_KV_ATTR_KEY],
				    "no such key");
		return -ENOENT;
	}
	list_del(&e->node);
	kn->count--;
	kv_changed(kn);
	mutex_unlock(&kn->lock);

	kfree(e);
	return 0;
}

/*
 * GET with NLM_F_DUMP: every entry, one message each, in key order.
 *
 * A dump is built in passes: each pass fills one skb (about a page, or
 * more if the reader's earlier recvmsg() buffers were larger) and the
 * next pass runs when the reader has taken it, in the reader's
 * recvmsg(). cb->args[0] remembers how many entries earlier passes sent.
 * If the store changes between two passes, that position no longer means
 * the same entry: an entry can be skipped or sent twice. Hence the
 * consistency check: each pass copies the namespace's generation into
 * cb->seq, and genl_dump_check_consistent() marks a message with
 * NLM_F_DUMP_INTR when cb->seq differs from the generation it saw last
 * (cb->prev_seq), then remembers the new one. So only the first message
 * built after a change is marked (the kernel checks NLMSG_DONE the same
 * way): the reader must remember the flag until the dump ends, then
 * throw the dump away and ask again.
 *
 * Every message of the dump carries NLM_F_MULTI, the request's seq and
 * the reader's port id; the genl core adds NLMSG_DONE when a pass sends
 * nothing more.
 */
static int kv_dump(struct sk_buff *skb, struct netlink_callback *cb)
{
	struct kv_net *kn = net_generic(sock_net(cb->skb->sk), kv_net_id);
	unsigned long sent = cb->args[0];
	const struct kv_entry *e;
	unsigned long index = 0;
	int err = 0;
	void *hdr;

	mutex_lock(&kn->lock);
	cb->seq = kn->generation;
	list_for_each_entry(e, &kn->entries, node) {
		if (index < sent) {
			index++;
			continue;
		}
		hdr = genlmsg_put(skb, NETLINK_CB(cb->skb).portid,
				  cb->nlh->nlmsg_seq, &kv_family, NLM_F_MULTI,
				  NLBOOK_KV_CMD_GET);
		if (!hdr) {
			err = -EMSGSIZE;
			break;
		}
		genl_dump_check_consistent(cb, hdr);
		err = kv_put_entry(skb, e->key, e->value, kn->generation);
		if (err) {
			genlmsg_cancel(skb, hdr);
			break;
		}
		genlmsg_end(skb, hdr);
		index++;
	}
	mutex_unlock(&kn->lock);
	cb->args[0] = index;

	/*
	 * A full skb ends this pass; the next recvmsg() resumes. Only an
	 * entry too large for an empty skb is an error (it cannot happen
	 * here, but a dump that returned 0 then would end silently).
	 */
	if (err && skb->len == 0)
		return err;
	return skb->len;
}

static const struct genl_ops kv_ops[] = {
	{
		.cmd = NLBOOK_KV_CMD_SET,
		.doit = kv_set,
		/* CAP_NET_ADMIN in the user namespace owning the netns. */
		.flags = GENL_UNS_ADMIN_PERM,
	},
	{
		.cmd = NLBOOK_KV_CMD_GET,
		.doit = kv_get,
		.dumpit = kv_dump,
	},
	{
		.cmd = NLBOOK_KV_CMD_DEL,
		.doit = kv_del,
		.flags = GENL_UNS_ADMIN_PERM,
	},
};

static struct genl_family kv_family __ro_after_init = {
	.name = NLBOOK_KV_FAMILY_NAME,
	.version = NLBOOK_KV_FAMILY_VERSION,
	.maxattr = NLBOOK_KV_ATTR_MAX,
	.policy = kv_policy,
	.netnsok = true,
	/* Our mutex serializes what needs it; see struct kv_net. */
	.parallel_ops = true,
	.module = THIS_MODULE,
	.ops = kv_ops,
	.n_ops = ARRAY_SIZE(kv_ops),
};

static int __net_init kv_net_init(struct net *net)
{
	struct kv_net *kn = net_generic(net, kv_net_id);

	mutex_init(&kn->lock);
	INIT_LIST_HEAD(&kn->entries);
	kn->count = 0;
	kn->generation = KV_FIRST_GENERATION;
	return 0;
}

/*
 * The namespace is going away: no socket is left in it, so no request
 * can reach this store any more.
 */
static void __net_exit kv_net_exit(struct net *net)
{
	struct kv_net *kn = net_generic(net, kv_net_id);
	struct kv_entry *e, *tmp;

	list_for_each_entry_safe(e, tmp, &kn->entries, node) {
		list_del(&e->node);
		kfree(e);
	}
	mutex_destroy(&kn->lock);
}

static struct pernet_operations kv_net_ops = {
	.init = kv_net_init,
	.exit = kv_net_exit,
	.id = &kv_net_id,
	.size = sizeof(struct kv_net),
};


static int __init kv_init(void)
{
	int err;

	/* The stores first: a request may arrive as soon as the family exists. */
	err = register_pernet_subsys(&kv_net_ops);
	if (err)
		return err;
	err = genl_register_family(&kv_family);
	if (err) {
		unregister_pernet_subsys(&kv_net_ops);
		return err;
	}
	pr_info("family %s registered, version %d\n", kv_family.name,
		kv_family.version);
	return 0;
}

static void __exit kv_exit(void)
{
	/* The family first: it waits for running callbacks to finish. */
	genl_unregister_family(&kv_family);
	unregister_pernet_subsys(&kv_net_ops);
	pr_info("family %s unregistered\n", NLBOOK_KV_FAMILY_NAME);
}

module_init(kv_init);
module_exit(kv_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Netlink workbook ch11: a generic netlink key/value store per network namespace");
