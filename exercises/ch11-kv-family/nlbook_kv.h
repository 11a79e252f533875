/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * nlbook_kv.h - the user-space interface of the NLBOOK_KV generic netlink
 * family, as exercise ch11-kv-family builds it: chapter 11's family
 * without its "events" group. In a kernel tree it would live in
 * include/uapi/linux/; the Rust clients mirror it in
 * chapters/ch11-generic-netlink/src/kv.rs.
 */
#ifndef NLBOOK_KV_H
#define NLBOOK_KV_H

#define NLBOOK_KV_FAMILY_NAME		"NLBOOK_KV"
#define NLBOOK_KV_FAMILY_VERSION	1

/* Longest key, in bytes, without its terminating NUL. */
#define NLBOOK_KV_KEY_MAX		31

/* How many keys one network namespace may hold. */
#define NLBOOK_KV_ENTRIES_MAX		1024

enum nlbook_kv_cmd {
	NLBOOK_KV_CMD_UNSPEC,
	/* KEY and VALUE: create or replace an entry. */
	NLBOOK_KV_CMD_SET,
	/*
	 * KEY: answers KEY, VALUE, GENERATION. With NLM_F_DUMP and no
	 * attributes: one such message per entry, sorted by key.
	 */
	NLBOOK_KV_CMD_GET,
	/* KEY: remove the entry. */
	NLBOOK_KV_CMD_DEL,
	__NLBOOK_KV_CMD_MAX,
};
#define NLBOOK_KV_CMD_MAX (__NLBOOK_KV_CMD_MAX - 1)

enum nlbook_kv_attr {
	NLBOOK_KV_ATTR_UNSPEC,
	NLBOOK_KV_ATTR_KEY,		/* string, NUL-terminated, 1..31 bytes */
	NLBOOK_KV_ATTR_VALUE,		/* u32 */
	/*
	 * u32, kernel to user only: the namespace's change counter when a
	 * reply was built. Never 0.
	 */
	NLBOOK_KV_ATTR_GENERATION,
	__NLBOOK_KV_ATTR_MAX,
};
#define NLBOOK_KV_ATTR_MAX (__NLBOOK_KV_ATTR_MAX - 1)

#endif /* NLBOOK_KV_H */
