/*
 * bench_peer: the proton-C load generator and RPC peer of the router
 * benchmark (bench/router_vs_direct.sh, docs/performance.md "Router in
 * path vs direct").
 *
 *   bench_peer send       --url amqp://H:P --address A --count N [--size B]
 *                         [--unsettled] [--credit-window W]
 *   bench_peer recv       --url amqp://H:P --address A --count N [--listen]
 *   bench_peer rpc-server --url amqp://H:P --address A [--listen]
 *                         [--delay-us N] [--stall-after N --stall-ms M]
 *                         [--bad-correlation-every N]
 *   bench_peer rpc-client --url amqp://H:P --address A --count N
 *                         [--inflight K] [--reply-to R]
 *
 * Each run prints one JSON line on stdout. One thread, the proton proactor
 * (epoll) API; the message is encoded once and only its sequence number is
 * patched per send, so the generator is not the bottleneck of what it
 * measures. Messages carry "rrbench\0" + a big-endian 64-bit sequence in
 * their last 16 bytes (the tail of the data section, which a router never
 * rewrites), so the receiver checks order and loss without decoding.
 *
 * Every run is bounded in time (--timeout, default 60 s) as well as count.
 *
 * The rpc-server is also rpcrouter-bench's test peer (tests/bench): an
 * independent implementation that can misbehave on purpose. --delay-us N
 * sends each reply N µs after its request arrived (a queue and the
 * proactor's timer, not a sleep: requests keep being read meanwhile);
 * --stall-after N --stall-ms M sends nothing for M ms after the N-th
 * request (then catches up, in order); --bad-correlation-every N corrupts
 * the correlation-id of every N-th reply, so a harness's check can be
 * shown to fail.
 */
#include <proton/connection.h>
#include <proton/delivery.h>
#include <proton/event.h>
#include <proton/link.h>
#include <proton/listener.h>
#include <proton/message.h>
#include <proton/netaddr.h>
#include <proton/proactor.h>
#include <proton/sasl.h>
#include <proton/session.h>
#include <proton/terminus.h>
#include <proton/transport.h>

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

enum peer_mode { MODE_SEND, MODE_RECV, MODE_RPC_SERVER, MODE_RPC_CLIENT };

static const char *const mode_names[] = {"send", "recv", "rpc-server", "rpc-client"};

#define TAIL_LEN 16
static const char tail_magic[8] = {'r', 'r', 'b', 'e', 'n', 'c', 'h', 0};

/* Largest message a receiver accepts: reply and request bodies are echoed. */
#define MAX_MSG (1u << 20)
/* Links the RPC server can reply on directly (direct mode: one per client
 * reply receiver). */
#define MAX_REPLY_LINKS 16
#define TICK_MS 100

struct peer_opts {
	enum peer_mode mode;
	char host[256];
	char port[16];
	const char *address;
	const char *reply_to; /* rpc-client: fixed reply address (no dynamic) */
	const char *ready_file;
	const char *label;
	uint64_t count;
	size_t size;
	int credit_window;
	int inflight;
	bool unsettled;
	bool listen;
	bool sasl;
	bool busy_poll; /* spin on pn_proactor_get instead of sleeping in epoll */
	int64_t timeout_ms;
	int64_t idle_ms;
	int64_t delay_us;        /* rpc-server: reply this long after the request */
	uint64_t stall_after;    /* rpc-server: after this many requests ... */
	int64_t stall_ms;        /* ... send nothing for this long */
	uint64_t bad_corr_every; /* rpc-server: corrupt every N-th correlation-id */
};

/* A reply waiting for its time (delay or stall): the encoded message. */
struct pending_reply {
	int64_t due_ns;
	pn_link_t *link;
	char *bytes; /* owned */
	size_t len;
};

struct reply_link {
	char *address; /* owned; the remote source address of our sender */
	pn_link_t *link;
};

struct peer {
	struct peer_opts o;
	pn_proactor_t *proactor;
	pn_listener_t *listener;
	pn_connection_t *conn;
	pn_link_t *snd; /* send / rpc-client requests / rpc-server anonymous */
	pn_link_t *rcv; /* recv / rpc-client replies / rpc-server requests */
	char *msg;      /* encoded message template (send, rpc-client) */
	size_t msg_len;
	char *rbuf; /* receive buffer, MAX_MSG */
	pn_message_t *pmsg;
	char reply_addr[512];
	bool reply_ready;

	struct reply_link replies[MAX_REPLY_LINKS];
	int n_replies;

	/* counters */
	uint64_t sent, settled, accepted, rejected, released, modified, other;
	uint64_t received, next_seq, gaps, reordered, bad;
	uint64_t presettled_seen; /* deliveries the sender had settled */
	uint64_t unroutable;
	uint64_t *lat_ns;   /* rpc-client: one per call */
	uint64_t *sent_ns;  /* rpc-client: send time by seq */
	uint64_t outstanding;

	/* rpc-server reply queue (--delay-us, --stall-*), FIFO: every reply
	 * has the same delay, so due times are in arrival order */
	struct pending_reply *pq;
	size_t pq_head, pq_tail, pq_cap;
	int64_t stall_until;
	uint64_t corrupted;

	int64_t t_start, t_first, t_last, t_done, t_deadline;
	bool finished, timed_out, closing, ready_written;
	char error[256];
};

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void put_be64(char *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--) {
		p[i] = (char)(v & 0xff);
		v >>= 8;
	}
}

static uint64_t get_be64(const char *p)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = (v << 8) | (uint8_t)p[i];
	return v;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: bench_peer send|recv|rpc-server|rpc-client --url amqp://HOST:PORT\n"
		"         --address A [--count N] [--size BYTES] [--unsettled]\n"
		"         [--credit-window W] [--listen] [--inflight K] [--reply-to R]\n"
		"         [--ready-file PATH] [--timeout SEC] [--idle-timeout MS]\n"
		"         [--no-sasl] [--busy-poll] [--label TEXT]\n"
		"  rpc-server: [--delay-us N] [--stall-after N --stall-ms M]\n"
		"              [--bad-correlation-every N]\n");
}

/* amqp://[user[:pass]@]host[:port][/...]; [v6] accepted; port 0 with
 * --listen picks a free one (reported in the ready file). */
static int parse_url(struct peer_opts *o, const char *url)
{
	const char *p = url;
	if (strncmp(p, "amqp://", 7) == 0)
		p += 7;
	const char *at = strchr(p, '@');
	if (at)
		p = at + 1;
	const char *end = p + strcspn(p, "/");
	const char *colon;
	const char *h = p;
	size_t hlen;
	if (*p == '[') {
		const char *rb = memchr(p, ']', (size_t)(end - p));
		if (!rb)
			return -1;
		h = p + 1;
		hlen = (size_t)(rb - h);
		colon = (rb + 1 < end && rb[1] == ':') ? rb + 1 : NULL;
	} else {
		colon = memchr(p, ':', (size_t)(end - p));
		hlen = (size_t)((colon ? colon : end) - p);
	}
	if (hlen == 0 || hlen >= sizeof o->host)
		return -1;
	memcpy(o->host, h, hlen);
	o->host[hlen] = 0;
	if (colon) {
		size_t plen = (size_t)(end - colon - 1);
		if (plen == 0 || plen >= sizeof o->port)
			return -1;
		memcpy(o->port, colon + 1, plen);
		o->port[plen] = 0;
	} else {
		snprintf(o->port, sizeof o->port, "5672");
	}
	return 0;
}

static int parse_args(struct peer_opts *o, int argc, char **argv)
{
	if (argc < 2)
		return -1;
	int m;
	for (m = 0; m < 4; m++)
		if (strcmp(argv[1], mode_names[m]) == 0)
			break;
	if (m == 4)
		return -1;
	*o = (struct peer_opts){
		.mode = (enum peer_mode)m,
		.address = "bench",
		.count = 100000,
		.size = 100,
		.credit_window = 1000,
		.inflight = 1,
		.sasl = true,
		.timeout_ms = 60000,
		.idle_ms = 2000,
		.label = "",
	};
	snprintf(o->host, sizeof o->host, "127.0.0.1");
	snprintf(o->port, sizeof o->port, "5672");
	for (int i = 2; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
#define NEEDV                                                                                      \
	do {                                                                                       \
		if (!v)                                                                            \
			return -1;                                                                 \
		i++;                                                                               \
	} while (0)
		if (strcmp(a, "--url") == 0) {
			NEEDV;
			if (parse_url(o, v) != 0)
				return -1;
		} else if (strcmp(a, "--address") == 0) {
			NEEDV;
			o->address = v;
		} else if (strcmp(a, "--count") == 0) {
			NEEDV;
			o->count = strtoull(v, NULL, 10);
		} else if (strcmp(a, "--size") == 0) {
			NEEDV;
			o->size = strtoull(v, NULL, 10);
		} else if (strcmp(a, "--credit-window") == 0) {
			NEEDV;
			o->credit_window = atoi(v);
		} else if (strcmp(a, "--inflight") == 0) {
			NEEDV;
			o->inflight = atoi(v);
		} else if (strcmp(a, "--reply-to") == 0) {
			NEEDV;
			o->reply_to = v;
		} else if (strcmp(a, "--ready-file") == 0) {
			NEEDV;
			o->ready_file = v;
		} else if (strcmp(a, "--label") == 0) {
			NEEDV;
			o->label = v;
		} else if (strcmp(a, "--timeout") == 0) {
			NEEDV;
			o->timeout_ms = (int64_t)(atof(v) * 1000);
		} else if (strcmp(a, "--idle-timeout") == 0) {
			NEEDV;
			o->idle_ms = atoll(v);
		} else if (strcmp(a, "--delay-us") == 0) {
			NEEDV;
			o->delay_us = atoll(v);
		} else if (strcmp(a, "--stall-after") == 0) {
			NEEDV;
			o->stall_after = strtoull(v, NULL, 10);
		} else if (strcmp(a, "--stall-ms") == 0) {
			NEEDV;
			o->stall_ms = atoll(v);
		} else if (strcmp(a, "--bad-correlation-every") == 0) {
			NEEDV;
			o->bad_corr_every = strtoull(v, NULL, 10);
		} else if (strcmp(a, "--unsettled") == 0) {
			o->unsettled = true;
		} else if (strcmp(a, "--listen") == 0) {
			o->listen = true;
		} else if (strcmp(a, "--busy-poll") == 0) {
			o->busy_poll = true;
		} else if (strcmp(a, "--no-sasl") == 0) {
			o->sasl = false;
		} else {
			return -1;
		}
#undef NEEDV
	}
	if (o->size < TAIL_LEN || o->size > MAX_MSG / 2 || o->credit_window < 1 ||
	    o->inflight < 1 || o->timeout_ms <= 0 || o->count == 0 || o->delay_us < 0 ||
	    o->stall_ms < 0 || (o->stall_after && !o->stall_ms))
		return -1;
	return 0;
}

/* Encodes one message whose data section is the last thing in it, so its
 * last TAIL_LEN bytes are the magic + sequence patched per send. */
static int build_template(struct peer *p, const char *to, const char *reply_to)
{
	pn_message_t *m = pn_message();
	char *body = calloc(1, p->o.size);
	if (!m || !body)
		return -1;
	for (size_t i = 0; i + TAIL_LEN < p->o.size; i++)
		body[i] = (char)('a' + i % 26);
	memcpy(body + p->o.size - TAIL_LEN, tail_magic, 8);
	if (to)
		pn_message_set_address(m, to);
	if (reply_to)
		pn_message_set_reply_to(m, reply_to);
	pn_data_t *b = pn_message_body(m);
	pn_data_put_binary(b, pn_bytes(p->o.size, body));
	free(body);
	size_t cap = p->o.size + 1024;
	free(p->msg);
	p->msg = malloc(cap);
	if (!p->msg)
		return -1;
	int rc = pn_message_encode(m, p->msg, &cap);
	pn_message_free(m);
	if (rc != 0)
		return -1;
	p->msg_len = cap;
	/* The data section (binary) must end the message for the tail trick. */
	if (memcmp(p->msg + cap - TAIL_LEN, tail_magic, 8) != 0)
		return -1;
	return 0;
}

/* Returns the sequence in a received message, or UINT64_MAX if its tail is
 * not ours. */
static uint64_t msg_seq(const char *b, size_t n)
{
	if (n < TAIL_LEN || memcmp(b + n - TAIL_LEN, tail_magic, 8) != 0)
		return UINT64_MAX;
	return get_be64(b + n - 8);
}

static void write_ready(struct peer *p, const char *port)
{
	if (p->ready_written || !p->o.ready_file)
		return;
	p->ready_written = true;
	char tmp[1024];
	snprintf(tmp, sizeof tmp, "%s.tmp", p->o.ready_file);
	FILE *f = fopen(tmp, "w");
	if (!f)
		return;
	fprintf(f, "%s\n", port ? port : "");
	fclose(f);
	rename(tmp, p->o.ready_file); /* atomic: the script polls for it */
}

static void peer_finish(struct peer *p)
{
	if (p->finished)
		return;
	p->finished = true;
	p->t_done = now_ns();
	if (p->conn && !p->closing) {
		p->closing = true;
		/* Proton emits Detach only after the link's queued transfers
		 * (transport.c teardown), so nothing pre-settled is cut off. */
		pn_connection_close(p->conn);
	}
	if (p->listener)
		pn_listener_close(p->listener);
}

static pn_transport_t *make_transport(struct peer *p)
{
	pn_transport_t *t = pn_transport();
	/* pn_sasl() fixes the client/server role when called, so the role
	 * must be set first. */
	if (p->o.listen)
		pn_transport_set_server(t);
	if (p->o.sasl) {
		pn_sasl_t *s = pn_sasl(t);
		pn_sasl_allowed_mechs(s, "ANONYMOUS");
	}
	/* Detect a dead peer (kill -9 of the router) within the time box. */
	pn_transport_set_idle_timeout(t, 10000);
	return t;
}

/* ---- sender side ---- */

static void send_batch(struct peer *p)
{
	pn_link_t *l = p->snd;
	if (!l || p->finished)
		return;
	char tag[8];
	while (p->sent < p->o.count && pn_link_credit(l) > 0) {
		put_be64(p->msg + p->msg_len - 8, p->sent);
		put_be64(tag, p->sent);
		pn_delivery_t *d = pn_delivery(l, pn_dtag(tag, sizeof tag));
		pn_link_send(l, p->msg, p->msg_len);
		pn_link_advance(l);
		if (!p->o.unsettled)
			pn_delivery_settle(d);
		if (p->sent == 0)
			p->t_first = now_ns();
		p->sent++;
	}
	if (p->sent == p->o.count && !p->o.unsettled)
		peer_finish(p);
}

static void count_outcome(struct peer *p, uint64_t st)
{
	switch (st) {
	case PN_ACCEPTED:
		p->accepted++;
		break;
	case PN_REJECTED:
		p->rejected++;
		break;
	case PN_RELEASED:
		p->released++;
		break;
	case PN_MODIFIED:
		p->modified++;
		break;
	default:
		p->other++;
	}
}

/* rpc-client: sends requests while fewer than --inflight are out. */
static void rpc_send(struct peer *p)
{
	pn_link_t *l = p->snd;
	if (!l || !p->reply_ready || p->finished)
		return;
	char tag[8];
	while (p->sent < p->o.count && p->outstanding < (uint64_t)p->o.inflight &&
	       pn_link_credit(l) > 0) {
		put_be64(p->msg + p->msg_len - 8, p->sent);
		put_be64(tag, p->sent);
		pn_delivery_t *d = pn_delivery(l, pn_dtag(tag, sizeof tag));
		int64_t t = now_ns();
		if (p->sent == 0)
			p->t_first = t;
		p->sent_ns[p->sent] = (uint64_t)t;
		pn_link_send(l, p->msg, p->msg_len);
		pn_link_advance(l);
		if (!p->o.unsettled)
			pn_delivery_settle(d);
		p->sent++;
		p->outstanding++;
	}
}

/* ---- receiver side ---- */

static void top_up_credit(struct peer *p, pn_link_t *l)
{
	int c = pn_link_credit(l);
	if (c < p->o.credit_window / 2)
		pn_link_flow(l, p->o.credit_window - c);
}

/* Reads a complete delivery into rbuf; returns its length or -1. */
static ssize_t read_delivery(struct peer *p, pn_delivery_t *d)
{
	pn_link_t *l = pn_delivery_link(d);
	size_t n = pn_delivery_pending(d);
	if (n > MAX_MSG) {
		p->bad++;
		return -1;
	}
	ssize_t got = pn_link_recv(l, p->rbuf, n);
	if (got < 0 || (size_t)got != n) {
		p->bad++;
		return -1;
	}
	return got;
}

static void settle_incoming(pn_delivery_t *d)
{
	if (!pn_delivery_settled(d))
		pn_delivery_update(d, PN_ACCEPTED);
	pn_delivery_settle(d); /* advances the link too */
}

static void on_recv_delivery(struct peer *p, pn_delivery_t *d)
{
	/* Remote settled before we read it: the sender's (or router's)
	 * transfer carried settled=true. */
	if (pn_delivery_settled(d))
		p->presettled_seen++;
	ssize_t n = read_delivery(p, d);
	settle_incoming(d);
	if (n >= 0) {
		uint64_t seq = msg_seq(p->rbuf, (size_t)n);
		int64_t t = now_ns();
		if (p->received == 0)
			p->t_first = t;
		p->t_last = t;
		p->received++;
		if (seq == UINT64_MAX) {
			p->bad++;
		} else if (seq == p->next_seq) {
			p->next_seq++;
		} else if (seq > p->next_seq) {
			p->gaps += seq - p->next_seq;
			p->next_seq = seq + 1;
		} else {
			p->reordered++;
		}
	}
	if (p->received >= p->o.count)
		peer_finish(p);
}

static pn_link_t *find_reply_link(struct peer *p, const char *addr)
{
	for (int i = 0; i < p->n_replies; i++)
		if (p->replies[i].link && strcmp(p->replies[i].address, addr) == 0)
			return p->replies[i].link;
	return NULL;
}

static void send_reply(struct peer *p, pn_link_t *l, const char *bytes, size_t len)
{
	char tag[8];
	put_be64(tag, p->sent);
	pn_delivery_t *out = pn_delivery(l, pn_dtag(tag, sizeof tag));
	pn_link_send(l, bytes, len);
	pn_link_advance(l);
	pn_delivery_settle(out);
	p->sent++;
	p->t_last = now_ns();
}

static void queue_reply(struct peer *p, pn_link_t *l, int64_t due, const char *bytes, size_t len)
{
	if (p->pq_tail - p->pq_head == p->pq_cap) {
		/* grow: copy the live span to the front of a bigger array */
		size_t n = p->pq_tail - p->pq_head, cap = p->pq_cap ? p->pq_cap * 2 : 1024;
		struct pending_reply *v = malloc(cap * sizeof *v);
		if (!v) {
			p->bad++;
			return;
		}
		for (size_t i = 0; i < n; i++)
			v[i] = p->pq[(p->pq_head + i) % p->pq_cap];
		free(p->pq);
		p->pq = v;
		p->pq_cap = cap;
		p->pq_head = 0;
		p->pq_tail = n;
	}
	struct pending_reply *r = &p->pq[p->pq_tail % p->pq_cap];
	r->bytes = malloc(len);
	if (!r->bytes) {
		p->bad++;
		return;
	}
	memcpy(r->bytes, bytes, len);
	r->len = len;
	r->link = l;
	r->due_ns = due;
	p->pq_tail++;
}

/* Sends the queued replies whose time has come; arms the proactor's
 * timer for the next one (or the regular tick). */
static void send_due_replies(struct peer *p)
{
	int64_t t = now_ns();
	while (p->pq_head != p->pq_tail && t >= p->stall_until) {
		struct pending_reply *r = &p->pq[p->pq_head % p->pq_cap];
		if (r->due_ns > t)
			break;
		if (r->link && !(pn_link_state(r->link) & PN_LOCAL_CLOSED))
			send_reply(p, r->link, r->bytes, r->len);
		else
			p->unroutable++;
		free(r->bytes);
		p->pq_head++;
	}
	int64_t next_ms = TICK_MS;
	if (p->pq_head != p->pq_tail) {
		int64_t due = p->pq[p->pq_head % p->pq_cap].due_ns;
		if (due < p->stall_until)
			due = p->stall_until;
		/* round up: the timer must not fire before the reply is due */
		int64_t ms = (due - t + 999999) / 1000000;
		if (ms < 1)
			ms = 1;
		if (ms < next_ms)
			next_ms = ms;
	}
	pn_proactor_set_timeout(p->proactor, next_ms);
}

/* rpc-server: echo the body back to reply-to, pre-settled (oslo's default
 * for RPC replies). */
static void on_server_request(struct peer *p, pn_delivery_t *d)
{
	ssize_t n = read_delivery(p, d);
	settle_incoming(d);
	if (n < 0)
		return;
	p->received++;
	if (p->received == 1)
		p->t_first = now_ns();
	pn_message_clear(p->pmsg);
	if (pn_message_decode(p->pmsg, p->rbuf, (size_t)n) != 0) {
		p->bad++;
		return;
	}
	const char *rt = pn_message_get_reply_to(p->pmsg);
	if (!rt) {
		p->unroutable++;
		return;
	}
	pn_link_t *l = find_reply_link(p, rt);
	if (!l)
		l = p->snd; /* anonymous relay: route by `to` */
	if (!l) {
		p->unroutable++;
		return;
	}
	pn_message_set_address(p->pmsg, rt);
	pn_message_set_reply_to(p->pmsg, NULL);
	uint64_t nth = p->received; /* this reply answers the nth request */
	if (p->o.bad_corr_every && nth % p->o.bad_corr_every == 0) {
		pn_atom_t id = pn_message_get_correlation_id(p->pmsg);
		if (id.type == PN_ULONG)
			id.u.as_ulong ^= 0x5a5a5a5a5a5a5a5aull;
		else
			id = (pn_atom_t){.type = PN_ULONG, .u.as_ulong = 0x5a5a5a5a5a5a5a5aull};
		pn_message_set_correlation_id(p->pmsg, id);
		p->corrupted++;
	}
	size_t cap = MAX_MSG;
	if (pn_message_encode(p->pmsg, p->rbuf, &cap) != 0) {
		p->bad++;
		return;
	}
	int64_t t = now_ns();
	if (p->o.stall_after && nth == p->o.stall_after)
		p->stall_until = t + p->o.stall_ms * 1000000;
	if (p->o.delay_us || p->stall_until > t || p->pq_head != p->pq_tail) {
		queue_reply(p, l, t + p->o.delay_us * 1000, p->rbuf, cap);
		send_due_replies(p);
		return;
	}
	send_reply(p, l, p->rbuf, cap);
}

static void on_client_reply(struct peer *p, pn_delivery_t *d)
{
	ssize_t n = read_delivery(p, d);
	settle_incoming(d);
	if (n < 0)
		return;
	uint64_t t = (uint64_t)now_ns();
	uint64_t seq = msg_seq(p->rbuf, (size_t)n);
	if (seq == UINT64_MAX || seq >= p->sent || p->sent_ns[seq] == 0) {
		p->bad++;
		return;
	}
	p->lat_ns[p->received++] = t - p->sent_ns[seq];
	p->sent_ns[seq] = 0; /* a duplicate reply counts as bad */
	p->outstanding--;
	p->t_last = (int64_t)t;
	if (p->received >= p->o.count)
		peer_finish(p);
	else
		rpc_send(p);
}

/* ---- connection set-up ---- */

static void client_links(struct peer *p)
{
	pn_session_t *s = pn_session(p->conn);
	pn_session_open(s);
	switch (p->o.mode) {
	case MODE_SEND:
		p->snd = pn_sender(s, "bench-send");
		pn_terminus_set_address(pn_link_target(p->snd), p->o.address);
		pn_link_set_snd_settle_mode(p->snd,
					    p->o.unsettled ? PN_SND_UNSETTLED : PN_SND_SETTLED);
		pn_link_open(p->snd);
		break;
	case MODE_RECV:
		p->rcv = pn_receiver(s, "bench-recv");
		pn_terminus_set_address(pn_link_source(p->rcv), p->o.address);
		pn_link_open(p->rcv);
		pn_link_flow(p->rcv, p->o.credit_window);
		break;
	case MODE_RPC_SERVER:
		p->rcv = pn_receiver(s, "bench-rpc-server");
		pn_terminus_set_address(pn_link_source(p->rcv), p->o.address);
		pn_link_open(p->rcv);
		pn_link_flow(p->rcv, p->o.credit_window);
		/* Anonymous relay: a target with no address (AMQP 3.5.3). */
		p->snd = pn_sender(s, "bench-rpc-replies");
		pn_link_set_snd_settle_mode(p->snd, PN_SND_SETTLED);
		pn_link_open(p->snd);
		break;
	case MODE_RPC_CLIENT:
		p->rcv = pn_receiver(s, "bench-rpc-reply");
		if (p->o.reply_to)
			pn_terminus_set_address(pn_link_source(p->rcv), p->o.reply_to);
		else
			pn_terminus_set_dynamic(pn_link_source(p->rcv), true);
		pn_link_open(p->rcv);
		pn_link_flow(p->rcv, p->o.credit_window);
		p->snd = pn_sender(s, "bench-rpc-call");
		pn_terminus_set_address(pn_link_target(p->snd), p->o.address);
		pn_link_set_snd_settle_mode(p->snd,
					    p->o.unsettled ? PN_SND_UNSETTLED : PN_SND_SETTLED);
		pn_link_open(p->snd);
		break;
	}
}

/* Listen mode: the remote peer creates the links; mirror its termini. */
static void accept_link(struct peer *p, pn_link_t *l)
{
	pn_terminus_copy(pn_link_source(l), pn_link_remote_source(l));
	pn_terminus_copy(pn_link_target(l), pn_link_remote_target(l));
	if (pn_link_is_receiver(l)) {
		pn_link_open(l);
		if (!p->rcv)
			p->rcv = l;
		pn_link_flow(l, p->o.credit_window);
		return;
	}
	pn_link_set_snd_settle_mode(l, pn_link_remote_snd_settle_mode(l));
	pn_link_open(l);
	const char *a = pn_terminus_get_address(pn_link_remote_source(l));
	if (p->o.mode == MODE_RPC_SERVER && a && p->n_replies < MAX_REPLY_LINKS) {
		p->replies[p->n_replies].address = strdup(a);
		p->replies[p->n_replies].link = l;
		p->n_replies++;
	} else if (!p->snd) {
		p->snd = l;
	}
}

static void on_link_remote_open(struct peer *p, pn_link_t *l)
{
	if (pn_link_state(l) & PN_LOCAL_UNINIT) {
		accept_link(p, l);
		return;
	}
	if (p->o.mode == MODE_RPC_CLIENT && l == p->rcv && !p->reply_ready) {
		const char *a = pn_terminus_get_address(pn_link_remote_source(l));
		if (!a || !*a) {
			snprintf(p->error, sizeof p->error, "no reply address from peer");
			peer_finish(p);
			return;
		}
		snprintf(p->reply_addr, sizeof p->reply_addr, "%s", a);
		if (build_template(p, p->o.address, p->reply_addr) != 0) {
			snprintf(p->error, sizeof p->error, "encode failed");
			peer_finish(p);
			return;
		}
		p->reply_ready = true;
		rpc_send(p);
	}
	/* Our receiver is attached: for the router, a consumer now exists. */
	if (l == p->rcv && (p->o.mode == MODE_RECV || p->o.mode == MODE_RPC_SERVER))
		write_ready(p, NULL);
}

static void on_delivery(struct peer *p, pn_delivery_t *d)
{
	pn_link_t *l = pn_delivery_link(d);
	if (pn_link_is_sender(l)) {
		if (pn_delivery_updated(d)) {
			uint64_t st = pn_delivery_remote_state(d);
			if (st || pn_delivery_settled(d)) {
				count_outcome(p, st);
				pn_delivery_settle(d);
				p->settled++;
				if (p->o.mode == MODE_SEND && p->settled >= p->o.count)
					peer_finish(p);
			}
		}
		return;
	}
	if (!pn_delivery_readable(d) || pn_delivery_partial(d))
		return;
	switch (p->o.mode) {
	case MODE_SEND:
	case MODE_RECV:
		on_recv_delivery(p, d);
		break;
	case MODE_RPC_SERVER:
		on_server_request(p, d);
		break;
	case MODE_RPC_CLIENT:
		on_client_reply(p, d);
		break;
	}
	if (!p->finished)
		top_up_credit(p, l);
}

static void set_error_from(struct peer *p, pn_condition_t *c, const char *what)
{
	if (c && pn_condition_is_set(c) && !p->error[0])
		snprintf(p->error, sizeof p->error, "%s: %s: %s", what, pn_condition_get_name(c),
			 pn_condition_get_description(c) ? pn_condition_get_description(c) : "");
}

/* Returns false when the proactor loop should end. */
static bool handle(struct peer *p, pn_event_t *e)
{
	static int debug = -1;
	if (debug < 0)
		debug = getenv("BENCH_PEER_DEBUG") != NULL;
	if (debug)
		fprintf(stderr, "bench_peer: %s\n", pn_event_type_name(pn_event_type(e)));
	switch (pn_event_type(e)) {
	case PN_LISTENER_OPEN: {
		char port[16] = "";
		char host[256];
		const pn_netaddr_t *na = pn_listener_addr(p->listener);
		if (na)
			pn_netaddr_host_port(na, host, sizeof host, port, sizeof port);
		write_ready(p, port);
		break;
	}
	case PN_LISTENER_ACCEPT:
		if (p->conn) {
			/* One connection per run; refuse others by closing them. */
			pn_connection_t *c = pn_connection();
			pn_listener_accept2(p->listener, c, NULL);
			pn_connection_close(c);
			break;
		}
		p->conn = pn_connection();
		pn_connection_set_container(p->conn, "bench-peer");
		pn_listener_accept2(p->listener, p->conn, make_transport(p));
		break;
	case PN_LISTENER_CLOSE:
		set_error_from(p, pn_listener_condition(p->listener), "listener");
		p->listener = NULL;
		if (!p->conn)
			return false;
		break;
	case PN_CONNECTION_INIT:
		if (!p->o.listen && pn_event_connection(e) == p->conn) {
			pn_connection_open(p->conn);
			client_links(p);
		}
		break;
	case PN_CONNECTION_REMOTE_OPEN: {
		pn_connection_t *c = pn_event_connection(e);
		if (pn_connection_state(c) & PN_LOCAL_UNINIT)
			pn_connection_open(c);
		if (!p->t_start)
			p->t_start = now_ns();
		break;
	}
	case PN_SESSION_REMOTE_OPEN: {
		pn_session_t *s = pn_event_session(e);
		if (pn_session_state(s) & PN_LOCAL_UNINIT)
			pn_session_open(s);
		break;
	}
	case PN_LINK_REMOTE_OPEN:
		on_link_remote_open(p, pn_event_link(e));
		break;
	case PN_LINK_FLOW: {
		pn_link_t *l = pn_event_link(e);
		if (l == p->snd && p->o.mode == MODE_SEND)
			send_batch(p);
		else if (l == p->snd && p->o.mode == MODE_RPC_CLIENT)
			rpc_send(p);
		break;
	}
	case PN_DELIVERY:
		on_delivery(p, pn_event_delivery(e));
		break;
	case PN_LINK_REMOTE_CLOSE: {
		pn_link_t *l = pn_event_link(e);
		set_error_from(p, pn_link_remote_condition(l), "link closed by peer");
		for (int i = 0; i < p->n_replies; i++)
			if (p->replies[i].link == l)
				p->replies[i].link = NULL;
		if (l == p->snd)
			p->snd = NULL;
		if (l == p->rcv)
			p->rcv = NULL;
		pn_link_close(l);
		if (p->o.mode != MODE_RPC_SERVER || !p->o.listen)
			peer_finish(p);
		break;
	}
	case PN_CONNECTION_REMOTE_CLOSE: {
		pn_connection_t *c = pn_event_connection(e);
		if (c == p->conn)
			set_error_from(p, pn_connection_remote_condition(c), "connection closed");
		pn_connection_close(c);
		if (c == p->conn)
			peer_finish(p);
		break;
	}
	case PN_TRANSPORT_CLOSED: {
		pn_connection_t *c = pn_event_connection(e);
		if (c == p->conn) {
			if (!p->finished) {
				set_error_from(p, pn_connection_remote_condition(c),
					       "connection closed");
				set_error_from(p, pn_transport_condition(pn_event_transport(e)),
					       "transport");
				if (!p->error[0] && p->o.mode != MODE_RPC_SERVER)
					snprintf(p->error, sizeof p->error,
						 "connection ended before the run completed");
			}
			p->conn = NULL;
			peer_finish(p);
			if (!p->listener)
				return false;
		}
		break;
	}
	case PN_PROACTOR_TIMEOUT: {
		int64_t t = now_ns();
		bool queued = p->pq_head != p->pq_tail;
		bool idle = p->o.mode == MODE_RECV && p->received > 0 &&
			    t - p->t_last > p->o.idle_ms * 1000000;
		if (stop_requested || idle || t > p->t_deadline) {
			if (!stop_requested && !idle)
				p->timed_out = true;
			if (idle)
				p->timed_out = true;
			peer_finish(p);
			if (!p->conn && !p->listener)
				return false;
		}
		if (queued && !p->finished) {
			send_due_replies(p); /* re-arms the timer */
			/* Sent outside the connection's own event batch: the
			 * proactor writes it only once the connection is woken. */
			if (p->conn)
				pn_connection_wake(p->conn);
		}
		else
			pn_proactor_set_timeout(p->proactor, TICK_MS);
		/* A stuck close (peer gone silent) must not outlive the box. */
		if (p->finished && t > p->t_done + 5000000000LL)
			return false;
		break;
	}
	case PN_PROACTOR_INACTIVE:
		return false;
	default:
		break;
	}
	return true;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static double pct_us(const uint64_t *v, uint64_t n, double q)
{
	if (n == 0)
		return 0;
	/* nearest-rank: the smallest value with at least q of the samples <= it */
	uint64_t k = (uint64_t)((double)n * q + 0.999999);
	if (k == 0)
		k = 1;
	if (k > n)
		k = n;
	return (double)v[k - 1] / 1000.0;
}

static void print_json(struct peer *p)
{
	double el = 0;
	int64_t t_end = p->t_last ? p->t_last : p->t_done;
	if (p->t_first && t_end > p->t_first)
		el = (double)(t_end - p->t_first) / 1e9;
	printf("{\"mode\":\"%s\",\"label\":\"%s\",\"address\":\"%s\",\"size\":%zu,"
	       "\"settle\":\"%s\",\"credit_window\":%d,\"count\":%" PRIu64,
	       mode_names[p->o.mode], p->o.label, p->o.address, p->o.size,
	       p->o.unsettled ? "unsettled" : "presettled", p->o.credit_window, p->o.count);
	switch (p->o.mode) {
	case MODE_SEND: {
		/* Sender time: first send to last settle (unsettled) or to the
		 * last message handed to proton (pre-settled). */
		double sel = p->t_first && p->t_done > p->t_first
				     ? (double)(p->t_done - p->t_first) / 1e9
				     : 0;
		printf(",\"sent\":%" PRIu64 ",\"settled\":%" PRIu64 ",\"accepted\":%" PRIu64
		       ",\"rejected\":%" PRIu64 ",\"released\":%" PRIu64 ",\"modified\":%" PRIu64
		       ",\"elapsed_s\":%.6f,\"rate\":%.0f",
		       p->sent, p->settled, p->accepted, p->rejected, p->released, p->modified,
		       sel, sel > 0 ? (double)p->sent / sel : 0);
		break;
	}
	case MODE_RECV:
		printf(",\"received\":%" PRIu64 ",\"gaps\":%" PRIu64 ",\"reordered\":%" PRIu64
		       ",\"bad\":%" PRIu64 ",\"presettled_seen\":%" PRIu64
		       ",\"elapsed_s\":%.6f,\"rate\":%.0f",
		       p->received, p->gaps, p->reordered, p->bad, p->presettled_seen, el,
		       el > 0 ? (double)p->received / el : 0);
		break;
	case MODE_RPC_SERVER:
		printf(",\"requests\":%" PRIu64 ",\"replies\":%" PRIu64 ",\"unroutable\":%" PRIu64
		       ",\"bad\":%" PRIu64 ",\"corrupted\":%" PRIu64 ",\"queued\":%zu",
		       p->received, p->sent, p->unroutable, p->bad, p->corrupted,
		       p->pq_tail - p->pq_head);
		break;
	case MODE_RPC_CLIENT: {
		uint64_t n = p->received;
		qsort(p->lat_ns, n, sizeof *p->lat_ns, cmp_u64);
		double sum = 0;
		for (uint64_t i = 0; i < n; i++)
			sum += (double)p->lat_ns[i];
		printf(",\"inflight\":%d,\"reply_to\":\"%s\",\"calls\":%" PRIu64
		       ",\"replies\":%" PRIu64 ",\"accepted\":%" PRIu64 ",\"bad\":%" PRIu64
		       ",\"elapsed_s\":%.6f,\"rate\":%.0f,\"lat_us\":{\"min\":%.1f,\"mean\":%.1f,"
		       "\"p50\":%.1f,\"p90\":%.1f,\"p99\":%.1f,\"p99_9\":%.1f,\"max\":%.1f}",
		       p->o.inflight, p->reply_addr, p->sent, n, p->accepted, p->bad, el,
		       el > 0 ? (double)n / el : 0, n ? (double)p->lat_ns[0] / 1000 : 0,
		       n ? sum / (double)n / 1000 : 0, pct_us(p->lat_ns, n, 0.50),
		       pct_us(p->lat_ns, n, 0.90), pct_us(p->lat_ns, n, 0.99),
		       pct_us(p->lat_ns, n, 0.999), n ? (double)p->lat_ns[n - 1] / 1000 : 0);
		break;
	}
	}
	/* The peer's own CPU, to show what the clients cost beside the router. */
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	double cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
		     (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
	printf(",\"cpu_s\":%.3f,\"timed_out\":%s,\"error\":\"", cpu,
	       p->timed_out ? "true" : "false");
	for (const char *c = p->error; *c; c++)
		if (*c != '"' && *c != '\\' && (unsigned char)*c >= 0x20)
			putchar(*c);
	printf("\"}\n");
	fflush(stdout);
}

/* Exit status: 0 the run did what it was asked, 1 it did not (timeout,
 * error, loss or disorder seen by the receiver), 2 usage. */
static int run_status(const struct peer *p)
{
	if (p->error[0] || p->timed_out)
		return 1;
	switch (p->o.mode) {
	case MODE_SEND:
		return p->sent == p->o.count &&
			       (!p->o.unsettled || p->accepted == p->o.count)
			       ? 0
			       : 1;
	case MODE_RECV:
		return p->received == p->o.count && p->gaps == 0 && p->reordered == 0 &&
			       p->bad == 0
			       ? 0
			       : 1;
	case MODE_RPC_SERVER:
		return p->bad == 0 && p->unroutable == 0 ? 0 : 1;
	case MODE_RPC_CLIENT:
		return p->received == p->o.count && p->bad == 0 ? 0 : 1;
	}
	return 1;
}

int main(int argc, char **argv)
{
	static struct peer peer;
	struct peer *p = &peer;
	if (parse_args(&p->o, argc, argv) != 0) {
		usage();
		return 2;
	}
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	signal(SIGPIPE, SIG_IGN);
	p->rbuf = malloc(MAX_MSG);
	p->pmsg = pn_message();
	if (p->o.mode == MODE_RPC_CLIENT) {
		p->lat_ns = calloc(p->o.count, sizeof *p->lat_ns);
		p->sent_ns = calloc(p->o.count, sizeof *p->sent_ns);
	}
	if (!p->rbuf || !p->pmsg ||
	    (p->o.mode == MODE_RPC_CLIENT && (!p->lat_ns || !p->sent_ns))) {
		fprintf(stderr, "bench_peer: out of memory\n");
		return 1;
	}
	if (p->o.mode == MODE_SEND && build_template(p, p->o.address, NULL) != 0) {
		fprintf(stderr, "bench_peer: cannot encode the message\n");
		return 1;
	}

	p->proactor = pn_proactor();
	char addr[300];
	pn_proactor_addr(addr, sizeof addr, p->o.host, p->o.port);
	p->t_deadline = now_ns() + p->o.timeout_ms * 1000000;
	if (p->o.listen) {
		p->listener = pn_listener();
		pn_proactor_listen(p->proactor, p->listener, addr, 16);
	} else {
		p->conn = pn_connection();
		pn_connection_set_container(p->conn, "bench-peer");
		pn_connection_set_hostname(p->conn, p->o.host);
		pn_proactor_connect2(p->proactor, p->conn, make_transport(p), addr);
	}
	pn_proactor_set_timeout(p->proactor, TICK_MS);

	bool running = true;
	while (running) {
		pn_event_batch_t *b;
		if (p->o.busy_poll) {
			/* Spinning keeps the core awake: no halt/IPI wake-up (tens
			 * of µs in a VM) on each message of a latency run. */
			while (!(b = pn_proactor_get(p->proactor)))
				;
		} else {
			b = pn_proactor_wait(p->proactor);
		}
		pn_event_t *e;
		while ((e = pn_event_batch_next(b)))
			if (!handle(p, e))
				running = false;
		pn_proactor_done(p->proactor, b);
	}
	print_json(p);
	int rc = run_status(p);
	pn_proactor_free(p->proactor);
	pn_message_free(p->pmsg);
	for (int i = 0; i < p->n_replies; i++)
		free(p->replies[i].address);
	free(p->rbuf);
	free(p->msg);
	free(p->lat_ns);
	free(p->sent_ns);
	for (size_t i = p->pq_head; i != p->pq_tail; i++)
		free(p->pq[i % p->pq_cap].bytes);
	free(p->pq);
	return rc;
}
