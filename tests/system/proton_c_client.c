/* proton_c_client: a proton-C (proactor) sender or receiver for the system
 * tests, so the suite exercises rpcrouterd with the C library oslo's pyngus
 * sits on and moves enough messages, fast enough, to load the router (the
 * Python binding alone is too slow for the back-pressure tests).
 *
 *   proton_c_client send HOST:PORT ADDRESS COUNT SIZE [--presettled] [--timeout S]
 *   proton_c_client recv HOST:PORT ADDRESS COUNT [--credit N] [--slow-every K --slow-us U]
 *                   [--timeout S]
 *
 * Each message body is a binary of SIZE bytes (at least 8): the sequence
 * number big-endian in the first 8 bytes, then the byte (seq & 0xff)
 * repeated, so the receiver checks order and content of every message.
 *
 * send: one sender link targeted at ADDRESS; sends as credit allows. Unsettled
 * (the default) waits for every outcome. Prints one line
 *   "sent=N accepted=A rejected=J released=R modified=M"
 * and exits 0 when all N were sent (and, unsettled, all ACCEPTED).
 * recv: one receiver link with source ADDRESS, credit N (default 100) topped
 * up at half; accepts unsettled deliveries; with --slow-every K it sleeps U
 * microseconds after every K messages (blocking its only thread, so it reads
 * slower than a fast sender writes). Prints "received=N in_order=O bad=B" and
 * exits 0 when COUNT messages arrived, all in order and intact.
 * Exit 1: protocol or connection error, bad message, or the timeout
 * (default 60 s); 2: usage. Diagnostics go to stderr.
 */
#include <proton/condition.h>
#include <proton/connection.h>
#include <proton/delivery.h>
#include <proton/link.h>
#include <proton/message.h>
#include <proton/proactor.h>
#include <proton/session.h>
#include <proton/terminus.h>
#include <proton/transport.h>

#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct app {
	bool sender;          /* send or recv mode */
	const char *hostport; /* "host:port" for pn_proactor_connect2 via addr */
	const char *address;  /* link target (send) or source (recv) */
	uint64_t count;       /* messages to send or to receive */
	size_t size;          /* body size (send), >= 8 */
	bool presettled;      /* send: snd-settle-mode settled */
	int credit;           /* recv: credit window */
	uint64_t slow_every;  /* recv: sleep after every K messages (0: never) */
	unsigned slow_us;     /* recv: microseconds to sleep */
	unsigned timeout_s;   /* whole run */

	pn_proactor_t *proactor;
	pn_connection_t *conn;
	pn_link_t *link;
	char *buf; /* encode/decode buffer, owned */
	size_t buf_cap;

	uint64_t sent, accepted, rejected, released, modified, settled_remote;
	uint64_t received, in_order, bad;
	bool failed;  /* a protocol/connection error or timeout */
	bool closing; /* we asked for the connection to close */
	bool done;
};

static void app_fail(struct app *a, const char *what, pn_condition_t *cond)
{
	if (cond && pn_condition_is_set(cond))
		fprintf(stderr, "proton_c_client: %s: %s: %s\n", what, pn_condition_get_name(cond),
			pn_condition_get_description(cond) ? pn_condition_get_description(cond) : "");
	else
		fprintf(stderr, "proton_c_client: %s\n", what);
	a->failed = true;
}

static void app_close(struct app *a)
{
	if (!a->closing && a->conn) {
		a->closing = true;
		pn_connection_close(a->conn);
	}
}

/* Grow the shared buffer to at least n bytes. */
static bool app_reserve(struct app *a, size_t n)
{
	if (a->buf_cap >= n)
		return true;
	size_t cap = a->buf_cap ? a->buf_cap : 4096;
	while (cap < n)
		cap *= 2;
	char *nb = realloc(a->buf, cap);
	if (!nb)
		return false;
	a->buf = nb;
	a->buf_cap = cap;
	return true;
}

static void body_fill(char *p, size_t size, uint64_t seq)
{
	for (int i = 0; i < 8; i++)
		p[i] = (char)(seq >> (56 - 8 * i));
	memset(p + 8, (int)(seq & 0xff), size - 8);
}

/* True when body is a well-formed body for sequence number *seq_out. */
static bool body_check(const char *p, size_t size, uint64_t *seq_out)
{
	if (size < 8)
		return false;
	uint64_t seq = 0;
	for (int i = 0; i < 8; i++)
		seq = (seq << 8) | (uint8_t)p[i];
	for (size_t i = 8; i < size; i++)
		if ((uint8_t)p[i] != (seq & 0xff))
			return false;
	*seq_out = seq;
	return true;
}

static void send_some(struct app *a, pn_message_t *msg)
{
	pn_link_t *l = a->link;
	while (a->sent < a->count && pn_link_credit(l) > 0) {
		char tag[8];
		memcpy(tag, &a->sent, sizeof tag);
		pn_delivery_t *d = pn_delivery(l, pn_dtag(tag, sizeof tag));

		pn_data_t *body = pn_message_body(msg);
		pn_data_clear(body);
		if (!app_reserve(a, a->size * 2 + 256)) {
			app_fail(a, "out of memory", NULL);
			return;
		}
		/* The body bytes live after the encode area of the buffer. */
		char *raw = a->buf + a->size + 256;
		body_fill(raw, a->size, a->sent);
		pn_data_put_binary(body, pn_bytes(a->size, raw));
		size_t n = a->size + 256;
		int rc = pn_message_encode(msg, a->buf, &n);
		if (rc) {
			app_fail(a, "pn_message_encode failed", NULL);
			return;
		}
		pn_link_send(l, a->buf, n);
		pn_link_advance(l);
		if (a->presettled)
			pn_delivery_settle(d);
		a->sent++;
	}
	if (a->sent == a->count && a->presettled)
		app_close(a); /* pending transfers are written before Close */
}

static void on_sender_delivery(struct app *a, pn_delivery_t *d)
{
	if (!pn_delivery_updated(d) || !pn_delivery_settled(d))
		return;
	switch (pn_delivery_remote_state(d)) {
	case PN_ACCEPTED: a->accepted++; break;
	case PN_REJECTED: a->rejected++; break;
	case PN_RELEASED: a->released++; break;
	case PN_MODIFIED: a->modified++; break;
	default: break;
	}
	a->settled_remote++;
	pn_delivery_settle(d);
	if (a->settled_remote == a->count)
		app_close(a);
}

static void on_receiver_delivery(struct app *a, pn_delivery_t *d, pn_message_t *msg)
{
	if (!pn_delivery_readable(d) || pn_delivery_partial(d))
		return;
	if (pn_delivery_aborted(d)) {
		pn_delivery_settle(d);
		return;
	}
	pn_link_t *l = pn_delivery_link(d);
	size_t n = pn_delivery_pending(d);
	if (!app_reserve(a, n + 1)) {
		app_fail(a, "out of memory", NULL);
		return;
	}
	ssize_t got = pn_link_recv(l, a->buf, n);
	pn_link_advance(l);
	bool ok = got >= 0 && pn_message_decode(msg, a->buf, (size_t)got) == 0;
	uint64_t seq = 0;
	if (ok) {
		pn_data_t *body = pn_message_body(msg);
		pn_data_rewind(body);
		ok = pn_data_next(body) && pn_data_type(body) == PN_BINARY;
		if (ok) {
			pn_bytes_t b = pn_data_get_binary(body);
			ok = body_check(b.start, b.size, &seq);
		}
	}
	if (!ok)
		a->bad++;
	else if (seq == a->received)
		a->in_order++;
	a->received++;
	if (!pn_delivery_settled(d))
		pn_delivery_update(d, PN_ACCEPTED);
	pn_delivery_settle(d);

	if (a->slow_every && a->received % a->slow_every == 0)
		usleep(a->slow_us);
	if (a->received >= a->count) {
		app_close(a);
		return;
	}
	int want = a->credit;
	uint64_t left = a->count - a->received;
	if ((uint64_t)want > left)
		want = (int)left;
	if (pn_link_credit(l) < want / 2 + 1)
		pn_link_flow(l, want - pn_link_credit(l));
}

static void app_handle(struct app *a, pn_event_t *e, pn_message_t *msg)
{
	switch (pn_event_type(e)) {
	case PN_CONNECTION_INIT: {
		pn_connection_t *c = pn_event_connection(e);
		pn_connection_set_container(c, a->sender ? "proton_c_client-send"
							 : "proton_c_client-recv");
		pn_connection_open(c);
		pn_session_t *s = pn_session(c);
		pn_session_open(s);
		if (a->sender) {
			a->link = pn_sender(s, "proton_c_client-sender");
			pn_terminus_set_address(pn_link_target(a->link), a->address);
			pn_terminus_set_address(pn_link_source(a->link), a->address);
			pn_link_set_snd_settle_mode(a->link,
						    a->presettled ? PN_SND_SETTLED : PN_SND_UNSETTLED);
		} else {
			a->link = pn_receiver(s, "proton_c_client-receiver");
			pn_terminus_set_address(pn_link_source(a->link), a->address);
			pn_terminus_set_address(pn_link_target(a->link), a->address);
		}
		pn_link_open(a->link);
		if (!a->sender) {
			uint64_t c0 = (uint64_t)a->credit < a->count ? (uint64_t)a->credit : a->count;
			pn_link_flow(a->link, (int)c0);
		}
		break;
	}
	case PN_LINK_FLOW:
		if (a->sender && pn_event_link(e) == a->link)
			send_some(a, msg);
		break;
	case PN_DELIVERY: {
		pn_delivery_t *d = pn_event_delivery(e);
		if (a->sender)
			on_sender_delivery(a, d);
		else
			on_receiver_delivery(a, d, msg);
		break;
	}
	case PN_LINK_REMOTE_CLOSE:
		app_fail(a, "link closed by the router", pn_link_remote_condition(pn_event_link(e)));
		app_close(a);
		break;
	case PN_SESSION_REMOTE_CLOSE:
		app_fail(a, "session ended by the router",
			 pn_session_remote_condition(pn_event_session(e)));
		app_close(a);
		break;
	case PN_CONNECTION_REMOTE_CLOSE:
		if (!a->closing) {
			app_fail(a, "connection closed by the router",
				 pn_connection_remote_condition(pn_event_connection(e)));
			app_close(a);
		}
		break;
	case PN_TRANSPORT_ERROR:
		if (!a->closing)
			app_fail(a, "transport error", pn_transport_condition(pn_event_transport(e)));
		break;
	case PN_TRANSPORT_CLOSED:
		/* The run is over: the proactor's timeout would keep it from
		 * going inactive. */
		if (!a->closing)
			app_fail(a, "connection lost", pn_transport_condition(pn_event_transport(e)));
		a->done = true;
		break;
	case PN_PROACTOR_TIMEOUT:
		app_fail(a, "timed out", NULL);
		a->done = true;
		break;
	case PN_PROACTOR_INACTIVE:
		a->done = true;
		break;
	default: break;
	}
}

static int usage(void)
{
	fprintf(stderr, "usage: proton_c_client send HOST:PORT ADDRESS COUNT SIZE [--presettled] "
			"[--timeout S]\n"
			"       proton_c_client recv HOST:PORT ADDRESS COUNT [--credit N] "
			"[--slow-every K --slow-us U] [--timeout S]\n");
	return 2;
}

static bool parse_u64(const char *s, uint64_t *out)
{
	char *end;
	if (!s || !*s)
		return false;
	unsigned long long v = strtoull(s, &end, 10);
	if (*end)
		return false;
	*out = v;
	return true;
}

int main(int argc, char **argv)
{
	struct app a = {.credit = 100, .timeout_s = 60};
	uint64_t v;
	if (argc < 5)
		return usage();
	if (!strcmp(argv[1], "send"))
		a.sender = true;
	else if (strcmp(argv[1], "recv"))
		return usage();
	a.hostport = argv[2];
	a.address = argv[3];
	if (!parse_u64(argv[4], &a.count) || a.count == 0)
		return usage();
	int i = 5;
	if (a.sender) {
		if (argc < 6 || !parse_u64(argv[5], &v) || v < 8 || v > (1u << 30))
			return usage();
		a.size = (size_t)v;
		i = 6;
	}
	for (; i < argc; i++) {
		const char *o = argv[i];
		const char *arg = i + 1 < argc ? argv[i + 1] : NULL;
		if (!strcmp(o, "--presettled") && a.sender) {
			a.presettled = true;
			continue;
		}
		if (!parse_u64(arg, &v))
			return usage();
		i++;
		if (!strcmp(o, "--timeout") && v > 0 && v < 100000)
			a.timeout_s = (unsigned)v;
		else if (!strcmp(o, "--credit") && !a.sender && v > 0 && v < (1u << 30))
			a.credit = (int)v;
		else if (!strcmp(o, "--slow-every") && !a.sender)
			a.slow_every = v;
		else if (!strcmp(o, "--slow-us") && !a.sender && v < 10000000)
			a.slow_us = (unsigned)v;
		else
			return usage();
	}

	pn_message_t *msg = pn_message();
	a.proactor = pn_proactor();
	a.conn = pn_connection();
	pn_proactor_connect2(a.proactor, a.conn, NULL, a.hostport);
	pn_proactor_set_timeout(a.proactor, (pn_millis_t)a.timeout_s * 1000);

	while (!a.done) {
		pn_event_batch_t *batch = pn_proactor_wait(a.proactor);
		pn_event_t *e;
		while ((e = pn_event_batch_next(batch)))
			app_handle(&a, e, msg);
		pn_proactor_done(a.proactor, batch);
	}

	int rc = 0;
	if (a.sender) {
		printf("sent=%" PRIu64 " accepted=%" PRIu64 " rejected=%" PRIu64 " released=%" PRIu64
		       " modified=%" PRIu64 "\n",
		       a.sent, a.accepted, a.rejected, a.released, a.modified);
		if (a.failed || a.sent != a.count || (!a.presettled && a.accepted != a.count))
			rc = 1;
	} else {
		printf("received=%" PRIu64 " in_order=%" PRIu64 " bad=%" PRIu64 "\n", a.received,
		       a.in_order, a.bad);
		if (a.failed || a.received != a.count || a.in_order != a.count || a.bad)
			rc = 1;
	}
	fflush(stdout);
	pn_proactor_free(a.proactor);
	pn_message_free(msg);
	free(a.buf);
	return rc;
}
