/*
 * netlink_bench.c: the reference implementation of chapter 13's benchmark,
 * in plain C with glibc (built by `cargo xtask bench` with gcc -O2).
 *
 *   netlink_bench --case CASE --messages N
 *
 * CASE is one of
 *   mcast-1         NETLINK_USERSOCK multicast, one sender -> one receiver
 *   mcast-4         the same, one sender -> four receivers
 *   pingpong        USERSOCK unicast: send to a peer, wait for its echo
 *   kernel-getlink  RTM_GETLINK for lo to the kernel, wait for the answer
 *   recv-single     USERSOCK unicast stream, one message per datagram
 *   recv-batched    the same stream, 64 messages packed in each datagram
 *   codec           no socket: recv-batched's datagrams written into a buffer
 *                   and read back on one thread (its user-space part)
 *
 * The Rust implementations (src/raw.rs, src/with_neli.rs) follow the same
 * protocol and print the same line:
 *
 *   impl=c case=CASE messages=N elapsed_ns=T delivered=D drops=L overruns=O
 *
 * Everything runs in a fresh network namespace (unshare(CLONE_NEWNET)), so
 * no other USERSOCK listener of the machine is counted, and lo is the only
 * link.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* The benchmark message: nlmsghdr (16) + index u64 + marker u64 + spare u32. */
#define MSG_TYPE 0x10 /* NLMSG_MIN_TYPE: the first type free for users */
#define MSG_LEN 36
#define MSG_SPACE 36 /* already a multiple of 4 */
#define MARKER 0x2168636e65626c6eULL /* "nlbench!" read as a little-endian u64 */
#define GROUP 1
#define BATCH 64 /* messages per datagram in recv-batched */
#define RECV_BUF 32768 /* the receive buffer of every receiver */
#define RCVBUF_BYTES (256 << 20)
#define RECV_TIMEOUT_S 2
#define MAX_RECEIVERS 4

static void die(const char *what)
{
	fprintf(stderr, "netlink_bench: %s: %s\n", what, strerror(errno));
	exit(1);
}

/*
 * Keeps the calling thread, and every thread it starts from now on, on one
 * CPU: the first the process may use. On one CPU a case measures what its
 * messages cost in CPU time; on two it measured the scheduler (see
 * pin_to_one_cpu() in ../src/lib.rs).
 */
static void pin_to_one_cpu(void)
{
	cpu_set_t set, one;

	if (sched_getaffinity(0, sizeof(set), &set) < 0)
		die("sched_getaffinity");
	for (int cpu = 0; cpu < CPU_SETSIZE; cpu++) {
		if (!CPU_ISSET(cpu, &set))
			continue;
		CPU_ZERO(&one);
		CPU_SET(cpu, &one);
		if (sched_setaffinity(0, sizeof(one), &one) < 0)
			die("sched_setaffinity");
		return;
	}
	errno = EINVAL;
	die("sched_getaffinity: no CPU allowed");
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static void write_message(unsigned char *at, uint64_t index)
{
	struct nlmsghdr h = {
		.nlmsg_len = MSG_LEN,
		.nlmsg_type = MSG_TYPE,
		.nlmsg_flags = 0,
		.nlmsg_seq = (uint32_t)index,
		.nlmsg_pid = 0,
	};
	uint64_t marker = MARKER;
	uint32_t spare = 0;
	memcpy(at, &h, sizeof(h));
	memcpy(at + 16, &index, 8);
	memcpy(at + 24, &marker, 8);
	memcpy(at + 32, &spare, 4);
}

/* 1 if the message at `at` (of `len` bytes left) is benchmark message `index`. */
static int check_message(const unsigned char *at, size_t len, uint64_t index)
{
	struct nlmsghdr h;
	uint64_t got, marker;
	if (len < MSG_LEN)
		return 0;
	memcpy(&h, at, sizeof(h));
	if (h.nlmsg_len != MSG_LEN || h.nlmsg_type != MSG_TYPE)
		return 0;
	memcpy(&got, at + 16, 8);
	memcpy(&marker, at + 24, 8);
	return got == index && marker == MARKER;
}

/* Writes messages first..first+count-1 into `datagram`; returns its length. */
static size_t fill_datagram(unsigned char *datagram, uint64_t first, int count)
{
	for (int n = 0; n < count; n++)
		write_message(datagram + (size_t)n * MSG_SPACE, first + (uint64_t)n);
	return (size_t)count * MSG_SPACE;
}

struct tally {
	uint64_t received;
	uint64_t next_index; /* the lowest index the next message may carry */
};

/* Checks and counts every message of a datagram of `len` bytes; indices
 * only grow (after a loss they jump). 0 if one is malformed or out of order. */
static int read_datagram(const unsigned char *datagram, size_t len, struct tally *t)
{
	for (size_t off = 0; off < len; off += MSG_SPACE) {
		uint64_t index;
		if (len - off < MSG_LEN)
			return 0;
		memcpy(&index, datagram + off + 16, 8);
		if (index < t->next_index || !check_message(datagram + off, len - off, index))
			return 0;
		t->next_index = index + 1;
		t->received++;
	}
	return 1;
}

static int open_socket(int protocol)
{
	struct sockaddr_nl self = { .nl_family = AF_NETLINK };
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, protocol);
	if (fd < 0)
		die("socket(AF_NETLINK)");
	if (bind(fd, (struct sockaddr *)&self, sizeof(self)) < 0)
		die("bind");
	return fd;
}

/* A receiver's socket: a large receive buffer (SO_RCVBUFFORCE as root,
 * else SO_RCVBUF, capped by rmem_max) and a timeout, so lost messages end
 * the run instead of hanging it. */
static void prepare_receiver(int fd)
{
	int size = RCVBUF_BYTES;
	struct timeval tv = { .tv_sec = RECV_TIMEOUT_S };
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) < 0 &&
	    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size)) < 0)
		die("setsockopt(SO_RCVBUF)");
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0)
		die("setsockopt(SO_RCVTIMEO)");
}

static uint32_t portid_of(int fd)
{
	struct sockaddr_nl self;
	socklen_t len = sizeof(self);
	if (getsockname(fd, (struct sockaddr *)&self, &len) < 0)
		die("getsockname");
	return self.nl_pid;
}

static ssize_t send_to(int fd, const void *buf, size_t len, uint32_t portid, uint32_t groups)
{
	struct sockaddr_nl to = { .nl_family = AF_NETLINK, .nl_pid = portid, .nl_groups = groups };
	ssize_t n;
	do
		n = sendto(fd, buf, len, 0, (struct sockaddr *)&to, sizeof(to));
	while (n < 0 && errno == EINTR);
	return n;
}

struct receiver {
	pthread_t thread;
	int fd;
	uint64_t expected; /* messages this receiver should get */
	struct tally tally;
	uint64_t overruns; /* ENOBUFS reports */
	uint64_t end_ns;
	pthread_barrier_t *ready;
};

static void *receive_stream(void *arg)
{
	struct receiver *r = arg;
	static __thread unsigned char buf[RECV_BUF];
	pthread_barrier_wait(r->ready);
	while (r->tally.received < r->expected) {
		ssize_t n = recv(r->fd, buf, sizeof(buf), 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == ENOBUFS) {
				r->overruns++;
				continue;
			}
			if (errno == EAGAIN)
				break; /* messages lost: the timeout ends the run */
			die("recv");
		}
		if (!read_datagram(buf, (size_t)n, &r->tally)) {
			fprintf(stderr, "netlink_bench: a malformed or out-of-order message\n");
			exit(1);
		}
	}
	r->end_ns = now_ns();
	return NULL;
}

struct result {
	uint64_t elapsed_ns, delivered, drops, overruns;
};

/* One sender, `receivers` receivers; unicast to the only receiver when
 * `multicast` is 0, `batch` messages per datagram. */
static struct result stream(uint64_t messages, int receivers, int multicast, int batch)
{
	struct receiver r[MAX_RECEIVERS];
	pthread_barrier_t ready;
	static unsigned char datagram[BATCH * MSG_SPACE];
	int protocol = NETLINK_USERSOCK;
	int sender = open_socket(protocol);
	uint32_t dest_portid = 0, dest_groups = 0;
	struct result res = { 0 };

	pthread_barrier_init(&ready, NULL, (unsigned)receivers + 1);
	for (int i = 0; i < receivers; i++) {
		r[i] = (struct receiver){ .fd = open_socket(protocol), .expected = messages, .ready = &ready };
		prepare_receiver(r[i].fd);
		if (multicast) {
			int group = GROUP;
			if (setsockopt(r[i].fd, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &group, sizeof(group)) < 0)
				die("setsockopt(NETLINK_ADD_MEMBERSHIP)");
		}
		if (pthread_create(&r[i].thread, NULL, receive_stream, &r[i]))
			die("pthread_create");
	}
	if (multicast)
		dest_groups = 1u << (GROUP - 1);
	else
		dest_portid = portid_of(r[0].fd);

	pthread_barrier_wait(&ready);
	uint64_t start = now_ns();
	for (uint64_t sent = 0; sent < messages;) {
		int n = messages - sent < (uint64_t)batch ? (int)(messages - sent) : batch;
		size_t len = fill_datagram(datagram, sent, n);
		/* USERSOCK multicast also tries a unicast to port 0, where no
		 * kernel socket listens: ECONNREFUSED after the delivery. */
		if (send_to(sender, datagram, len, dest_portid, dest_groups) < 0 &&
		    !(multicast && errno == ECONNREFUSED))
			die("sendto");
		sent += (uint64_t)n;
	}
	uint64_t end = start;
	for (int i = 0; i < receivers; i++) {
		pthread_join(r[i].thread, NULL);
		if (r[i].end_ns > end)
			end = r[i].end_ns;
		res.delivered += r[i].tally.received;
		res.drops += messages - r[i].tally.received;
		res.overruns += r[i].overruns;
		close(r[i].fd);
	}
	close(sender);
	res.elapsed_ns = end - start;
	return res;
}

/* recv-batched without the kernel: fill, then read, on one thread. */
static struct result codec(uint64_t messages)
{
	static unsigned char datagram[BATCH * MSG_SPACE];
	struct tally t = { 0 };
	struct result res = { 0 };

	uint64_t start = now_ns();
	for (uint64_t done = 0; done < messages;) {
		int n = messages - done < BATCH ? (int)(messages - done) : BATCH;
		size_t len = fill_datagram(datagram, done, n);
		/* As if the bytes had gone through the kernel: the compiler may
		 * not decode what it just encoded from its registers. */
		__asm__ volatile("" : : "r"(datagram) : "memory");
		if (!read_datagram(datagram, len, &t)) {
			fprintf(stderr, "netlink_bench: codec read back a wrong message\n");
			exit(1);
		}
		done += (uint64_t)n;
	}
	res.elapsed_ns = now_ns() - start;
	res.delivered = t.received;
	res.drops = messages - t.received;
	return res;
}

struct echo {
	int fd;
	uint32_t peer;
	uint64_t messages;
};

static void *echo_loop(void *arg)
{
	struct echo *e = arg;
	unsigned char buf[RECV_BUF];
	for (uint64_t i = 0; i < e->messages; i++) {
		ssize_t n;
		do
			n = recv(e->fd, buf, sizeof(buf), 0);
		while (n < 0 && errno == EINTR);
		if (n < 0)
			die("recv (echo)");
		if (!check_message(buf, (size_t)n, i)) {
			fprintf(stderr, "netlink_bench: echo got a wrong message\n");
			exit(1);
		}
		if (send_to(e->fd, buf, (size_t)n, e->peer, 0) < 0)
			die("sendto (echo)");
	}
	return NULL;
}

static struct result pingpong(uint64_t messages)
{
	int client = open_socket(NETLINK_USERSOCK);
	struct echo e = { .fd = open_socket(NETLINK_USERSOCK), .peer = portid_of(client), .messages = messages };
	uint32_t server = portid_of(e.fd);
	unsigned char msg[MSG_LEN], buf[RECV_BUF];
	pthread_t thread;
	struct result res = { 0 };

	prepare_receiver(client);
	prepare_receiver(e.fd);
	if (pthread_create(&thread, NULL, echo_loop, &e))
		die("pthread_create");
	uint64_t start = now_ns();
	for (uint64_t i = 0; i < messages; i++) {
		write_message(msg, i);
		if (send_to(client, msg, sizeof(msg), server, 0) < 0)
			die("sendto");
		ssize_t n;
		do
			n = recv(client, buf, sizeof(buf), 0);
		while (n < 0 && errno == EINTR);
		if (n < 0)
			die("recv");
		if (!check_message(buf, (size_t)n, i)) {
			fprintf(stderr, "netlink_bench: a wrong echo\n");
			exit(1);
		}
		res.delivered++;
	}
	res.elapsed_ns = now_ns() - start;
	pthread_join(thread, NULL);
	close(client);
	close(e.fd);
	return res;
}

static struct result kernel_getlink(uint64_t messages)
{
	int fd = open_socket(NETLINK_ROUTE);
	struct {
		struct nlmsghdr h;
		struct ifinfomsg ifi;
	} req = {
		.h = { .nlmsg_len = sizeof(req), .nlmsg_type = RTM_GETLINK, .nlmsg_flags = NLM_F_REQUEST },
		.ifi = { .ifi_family = AF_UNSPEC, .ifi_index = 1 }, /* lo */
	};
	static unsigned char buf[RECV_BUF];
	struct result res = { 0 };

	prepare_receiver(fd);
	uint64_t start = now_ns();
	for (uint64_t i = 0; i < messages; i++) {
		req.h.nlmsg_seq = (uint32_t)i;
		if (send_to(fd, &req, sizeof(req), 0, 0) < 0)
			die("sendto (RTM_GETLINK)");
		ssize_t n;
		do
			n = recv(fd, buf, sizeof(buf), 0);
		while (n < 0 && errno == EINTR);
		if (n < 0)
			die("recv (RTM_NEWLINK)");
		struct nlmsghdr *h = (struct nlmsghdr *)buf;
		if (!NLMSG_OK(h, n) || h->nlmsg_type != RTM_NEWLINK || h->nlmsg_seq != (uint32_t)i) {
			fprintf(stderr, "netlink_bench: not the RTM_NEWLINK answer to request %llu\n",
				(unsigned long long)i);
			exit(1);
		}
		res.delivered++;
	}
	res.elapsed_ns = now_ns() - start;
	close(fd);
	return res;
}

int main(int argc, char **argv)
{
	const char *name = NULL;
	uint64_t messages = 0;
	struct result res;

	for (int i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--case"))
			name = argv[i + 1];
		else if (!strcmp(argv[i], "--messages"))
			messages = strtoull(argv[i + 1], NULL, 10);
	}
	if (!name || messages == 0 || argc != 5) {
		fprintf(stderr, "usage: netlink_bench --case CASE --messages N\n");
		return 2;
	}
	if (unshare(CLONE_NEWNET) < 0)
		die("unshare(CLONE_NEWNET) (run as root or under unshare -Urn)");
	pin_to_one_cpu(); /* before any thread starts: they inherit it */
	if (!strcmp(name, "mcast-1"))
		res = stream(messages, 1, 1, 1);
	else if (!strcmp(name, "mcast-4"))
		res = stream(messages, 4, 1, 1);
	else if (!strcmp(name, "pingpong"))
		res = pingpong(messages);
	else if (!strcmp(name, "kernel-getlink"))
		res = kernel_getlink(messages);
	else if (!strcmp(name, "recv-single"))
		res = stream(messages, 1, 0, 1);
	else if (!strcmp(name, "recv-batched"))
		res = stream(messages, 1, 0, BATCH);
	else if (!strcmp(name, "codec"))
		res = codec(messages);
	else {
		fprintf(stderr, "netlink_bench: unknown case %s\n", name);
		return 2;
	}
	printf("impl=c case=%s messages=%llu elapsed_ns=%llu delivered=%llu drops=%llu overruns=%llu\n",
	       name, (unsigned long long)messages, (unsigned long long)res.elapsed_ns,
	       (unsigned long long)res.delivered, (unsigned long long)res.drops,
	       (unsigned long long)res.overruns);
	return 0;
}
