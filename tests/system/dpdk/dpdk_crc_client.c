/* dpdk_crc_client: bulk, unsettled, checked transfers through rpcrouterd for
 * the dpdk driver's fault test (tests/system/dpdk/faults.sh): a proton-C
 * (proactor) process that opens PAIRS sender/receiver pairs, each pair on
 * its own two connections and its own address, and moves COUNT messages
 * over each pair.
 *
 *   dpdk_crc_client HOST:PORT [--pairs P] [--count N] [--sizes A,B,...]
 *                   [--window W] [--credit C] [--timeout S]
 *
 * Message i of pair p is a binary body: seq (8 bytes, big-endian), p (4),
 * payload length (4), CRC32 of the payload (4, IEEE 802.3 / RFC 1952 s. 8),
 * then the payload: pseudo-random bytes seeded by (p, seq), length
 * sizes[seq % nsizes]. The sender link is unsettled (snd-settle-mode
 * unsettled): every delivery must come back ACCEPTED, at most W in flight
 * per link; the receiver grants C credit, accepts and settles each message
 * and checks it: the right pair, seq exactly the next one (a lower one is a
 * duplicate, a higher one a loss or reordering), the length and the CRC, and
 * that it arrived unsettled.
 *
 * Prints one summary line to stdout:
 *   "pairs=P messages=M bytes=B seconds=T accepted=A remote_settled=R
 *    duplicates=D gaps=G bad=X"
 * and exits 0 when every message of every pair was received once, in
 * order and intact, and every delivery was accepted and settled by the
 * router; 1 otherwise (the
 * first failure goes to stderr, progress every 5 s too); 2: usage.
 * Bounded: --timeout (default 80 s) for the whole run.
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
#include <time.h>

#define HDR_LEN	  20
#define MAX_PAIRS 64
#define MAX_SIZES 16

struct pair {
	int id;
	char addr[64];
	pn_connection_t *sconn, *rconn;
	pn_link_t *snd, *rcv;
	uint64_t sent, outcomes, accepted, remote_settled;
	uint64_t received, expect; /* receiver: messages, next seq */
	unsigned inflight;
};

struct app {
	const char *hostport;
	int npairs;
	uint64_t count;
	size_t sizes[MAX_SIZES];
	int nsizes;
	unsigned window, credit, timeout_s;

	pn_proactor_t *proactor;
	pn_message_t *msg;
	struct pair pairs[MAX_PAIRS];
	char *buf, *enc; /* body scratch, encode/decode buffer */
	size_t buf_cap, enc_cap;
	uint64_t bytes, duplicates, gaps, bad;
	int done_pairs;
	int nconns, nclosed; /* connections started, transports closed */
	bool closing, failed, stop;
	double t0, deadline;
};

static uint32_t crc_table[256];

static void crc32_init(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;
		for (int k = 0; k < 8; k++)
			c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
		crc_table[i] = c;
	}
}

static uint32_t crc32_of(const uint8_t *p, size_t n)
{
	uint32_t c = 0xFFFFFFFFu;
	for (size_t i = 0; i < n; i++)
		c = crc_table[(c ^ p[i]) & 0xff] ^ (c >> 8);
	return c ^ 0xFFFFFFFFu;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void put_be(uint8_t *p, uint64_t v, int n)
{
	for (int i = n - 1; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

static uint64_t get_be(const uint8_t *p, int n)
{
	uint64_t v = 0;
	for (int i = 0; i < n; i++)
		v = v << 8 | p[i];
	return v;
}

static void fill_payload(uint8_t *p, size_t n, int pair, uint64_t seq)
{
	/* xorshift32 (Marsaglia): different bytes for every message, so a
	 * segment landing at the wrong offset changes the CRC */
	uint32_t x = (uint32_t)(seq * 2654435761u) ^ ((uint32_t)pair << 24) ^ 0x9e3779b9u;
	if (x == 0)
		x = 1;
	for (size_t i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		p[i] = (uint8_t)x;
	}
}

static void app_progress(const struct app *a, FILE *f)
{
	for (int i = 0; i < a->npairs; i++) {
		const struct pair *p = &a->pairs[i];
		fprintf(f,
			"  pair %d: sent %" PRIu64 ", outcomes %" PRIu64 ", received %" PRIu64
			" of %" PRIu64 ", in flight %u, credit %d\n",
			p->id, p->sent, p->outcomes, p->received, a->count, p->inflight,
			p->snd ? pn_link_credit(p->snd) : -1);
	}
}

static void app_close_all(struct app *a)
{
	if (a->closing)
		return;
	a->closing = true;
	for (int i = 0; i < a->npairs; i++) {
		if (a->pairs[i].sconn)
			pn_connection_close(a->pairs[i].sconn);
		if (a->pairs[i].rconn)
			pn_connection_close(a->pairs[i].rconn);
	}
}

static void app_fail(struct app *a, const char *fmt, const char *detail)
{
	if (!a->failed) {
		fprintf(stderr, "dpdk_crc_client: %s%s%s\n", fmt, detail ? ": " : "",
			detail ? detail : "");
		app_progress(a, stderr);
	}
	a->failed = true;
	app_close_all(a);
}

static struct pair *pair_of_conn(struct app *a, pn_connection_t *c)
{
	for (int i = 0; i < a->npairs; i++)
		if (a->pairs[i].sconn == c || a->pairs[i].rconn == c)
			return &a->pairs[i];
	return NULL;
}

static void pair_check_done(struct app *a, struct pair *p)
{
	if (p->received == a->count && p->outcomes == a->count) {
		if (++a->done_pairs == a->npairs)
			app_close_all(a);
	}
}

static bool ensure(char **b, size_t *cap, size_t want)
{
	if (*cap >= want)
		return true;
	char *n = realloc(*b, want);
	if (!n)
		return false;
	*b = n;
	*cap = want;
	return true;
}

static void pair_pump(struct app *a, struct pair *p)
{
	while (!a->closing && p->sent < a->count && p->inflight < a->window &&
	       pn_link_credit(p->snd) > 0) {
		uint64_t seq = p->sent;
		size_t plen = a->sizes[seq % (uint64_t)a->nsizes];
		uint8_t *b = (uint8_t *)a->buf;
		put_be(b, seq, 8);
		put_be(b + 8, (uint64_t)p->id, 4);
		put_be(b + 12, plen, 4);
		fill_payload(b + HDR_LEN, plen, p->id, seq);
		put_be(b + 16, crc32_of(b + HDR_LEN, plen), 4);
		pn_data_t *body = pn_message_body(a->msg);
		pn_data_clear(body);
		pn_data_put_binary(body, pn_bytes(HDR_LEN + plen, a->buf));
		size_t n = a->enc_cap;
		if (pn_message_encode(a->msg, a->enc, &n) != 0) {
			app_fail(a, "pn_message_encode failed", NULL);
			return;
		}
		char tag[16];
		memcpy(tag, &seq, 8);
		pn_delivery(p->snd, pn_dtag(tag, 8));
		pn_link_send(p->snd, a->enc, n);
		pn_link_advance(p->snd);
		p->sent++;
		p->inflight++;
	}
}

static void on_sender_delivery(struct app *a, struct pair *p, pn_delivery_t *d)
{
	if (!pn_delivery_updated(d))
		return;
	uint64_t st = pn_delivery_remote_state(d);
	if (st == 0)
		return; /* a non-terminal update */
	p->outcomes++;
	p->inflight--;
	if (pn_delivery_settled(d))
		p->remote_settled++;
	if (st == PN_ACCEPTED)
		p->accepted++;
	else
		app_fail(a, "a delivery was not accepted", pn_disposition_type_name(st));
	pn_delivery_settle(d);
	pair_check_done(a, p);
	pair_pump(a, p);
}

static void on_receiver_delivery(struct app *a, struct pair *p, pn_delivery_t *d)
{
	if (!pn_delivery_readable(d) || pn_delivery_partial(d))
		return;
	pn_link_t *l = pn_delivery_link(d);
	size_t want = pn_delivery_pending(d);
	if (!ensure(&a->enc, &a->enc_cap, want + 1)) {
		app_fail(a, "out of memory", NULL);
		return;
	}
	ssize_t n = pn_link_recv(l, a->enc, want);
	bool unsettled = !pn_delivery_settled(d);
	pn_link_advance(l);
	pn_delivery_update(d, PN_ACCEPTED);
	pn_delivery_settle(d);
	if (pn_link_credit(l) < (int)a->credit / 2)
		pn_link_flow(l, (int)a->credit - pn_link_credit(l));
	if (n < 0 || (size_t)n != want) {
		a->bad++;
		app_fail(a, "short read of a delivery", NULL);
		return;
	}
	if (!unsettled) {
		a->bad++;
		app_fail(a, "a delivery arrived settled (the sender sent it unsettled)", NULL);
		return;
	}
	pn_message_clear(a->msg);
	if (pn_message_decode(a->msg, a->enc, (size_t)n) != 0) {
		a->bad++;
		app_fail(a, "undecodable message", NULL);
		return;
	}
	pn_data_t *body = pn_message_body(a->msg);
	pn_data_rewind(body);
	if (!pn_data_next(body) || pn_data_type(body) != PN_BINARY) {
		a->bad++;
		app_fail(a, "body is not a binary", NULL);
		return;
	}
	pn_bytes_t bb = pn_data_get_binary(body);
	const uint8_t *b = (const uint8_t *)bb.start;
	char why[160];
	if (bb.size < HDR_LEN) {
		a->bad++;
		app_fail(a, "body shorter than its header", NULL);
		return;
	}
	uint64_t seq = get_be(b, 8);
	uint64_t pid = get_be(b + 8, 4), plen = get_be(b + 12, 4);
	uint32_t crc = (uint32_t)get_be(b + 16, 4);
	if (pid != (uint64_t)p->id || plen != bb.size - HDR_LEN) {
		a->bad++;
		snprintf(why, sizeof why,
			 "pair %d seq %" PRIu64 ": header says pair %" PRIu64 " length %" PRIu64
			 ", body has %zu",
			 p->id, seq, pid, plen, bb.size - HDR_LEN);
		app_fail(a, why, NULL);
		return;
	}
	if (crc32_of(b + HDR_LEN, (size_t)plen) != crc) {
		a->bad++;
		snprintf(why, sizeof why, "pair %d seq %" PRIu64 ": CRC32 mismatch", p->id, seq);
		app_fail(a, why, NULL);
		return;
	}
	if (seq != p->expect) {
		if (seq < p->expect)
			a->duplicates++;
		else
			a->gaps++;
		snprintf(why, sizeof why,
			 "pair %d: seq %" PRIu64 " where %" PRIu64 " was next (%s)", p->id, seq,
			 p->expect, seq < p->expect ? "duplicate" : "loss or reordering");
		app_fail(a, why, NULL);
		return;
	}
	p->expect++;
	p->received++;
	a->bytes += plen;
	pair_check_done(a, p);
}

static void open_sender(struct app *a, struct pair *p)
{
	p->sconn = pn_connection();
	pn_connection_set_container(p->sconn, "dpdk-crc-client");
	pn_proactor_connect2(a->proactor, p->sconn, NULL, a->hostport);
	a->nconns++;
}

static void on_connection_init(struct app *a, pn_connection_t *c)
{
	struct pair *p = pair_of_conn(a, c);
	if (!p)
		return;
	pn_connection_open(c);
	pn_session_t *s = pn_session(c);
	pn_session_open(s);
	char name[32];
	if (c == p->rconn) {
		snprintf(name, sizeof name, "r%d", p->id);
		p->rcv = pn_receiver(s, name);
		pn_terminus_set_address(pn_link_source(p->rcv), p->addr);
		pn_link_set_rcv_settle_mode(p->rcv, PN_RCV_FIRST);
		pn_link_open(p->rcv);
		pn_link_flow(p->rcv, (int)a->credit);
	} else {
		snprintf(name, sizeof name, "s%d", p->id);
		p->snd = pn_sender(s, name);
		pn_terminus_set_address(pn_link_target(p->snd), p->addr);
		pn_link_set_snd_settle_mode(p->snd, PN_SND_UNSETTLED);
		pn_link_open(p->snd);
	}
}

static const char *cond_text(pn_condition_t *c)
{
	if (!c || !pn_condition_is_set(c))
		return "?";
	const char *d = pn_condition_get_description(c);
	return d ? d : pn_condition_get_name(c);
}

static void handle(struct app *a, pn_event_t *e)
{
	switch (pn_event_type(e)) {
	case PN_CONNECTION_INIT: on_connection_init(a, pn_event_connection(e)); break;
	case PN_LINK_REMOTE_OPEN: {
		pn_link_t *l = pn_event_link(e);
		struct pair *p = pair_of_conn(a, pn_event_connection(e));
		/* the sender attaches once its consumer is routable */
		if (p && l == p->rcv && !p->sconn)
			open_sender(a, p);
		break;
	}
	case PN_LINK_FLOW: {
		struct pair *p = pair_of_conn(a, pn_event_connection(e));
		if (p && pn_event_link(e) == p->snd)
			pair_pump(a, p);
		break;
	}
	case PN_DELIVERY: {
		pn_delivery_t *d = pn_event_delivery(e);
		pn_link_t *l = pn_delivery_link(d);
		struct pair *p = pair_of_conn(a, pn_event_connection(e));
		if (!p)
			break;
		if (l == p->snd)
			on_sender_delivery(a, p, d);
		else if (l == p->rcv)
			on_receiver_delivery(a, p, d);
		break;
	}
	case PN_LINK_REMOTE_CLOSE:
		if (!a->closing)
			app_fail(a, "link closed by the router",
				 cond_text(pn_link_remote_condition(pn_event_link(e))));
		pn_link_close(pn_event_link(e));
		break;
	case PN_CONNECTION_REMOTE_CLOSE:
		if (!a->closing)
			app_fail(a, "connection closed by the router",
				 cond_text(pn_connection_remote_condition(pn_event_connection(e))));
		pn_connection_close(pn_event_connection(e));
		break;
	case PN_TRANSPORT_CLOSED:
		if (!a->closing)
			app_fail(a, "connection lost",
				 cond_text(pn_transport_condition(pn_event_transport(e))));
		/* the pending timer would hold PN_PROACTOR_INACTIVE back: count */
		if (++a->nclosed == a->nconns && a->closing)
			a->stop = true;
		break;
	case PN_PROACTOR_TIMEOUT:
		if (a->closing && now_s() >= a->deadline) {
			a->stop = true; /* the closes did not finish either */
		} else if (now_s() >= a->deadline) {
			app_fail(a, "timed out", NULL);
			a->deadline = now_s() + 5;
			pn_proactor_set_timeout(a->proactor, 1000);
		} else {
			fprintf(stderr, "dpdk_crc_client: %.1f s, %" PRIu64 " bytes received\n",
				now_s() - a->t0, a->bytes);
			pn_proactor_set_timeout(a->proactor, 5000);
		}
		break;
	default: break;
	}
}

static bool parse_sizes(struct app *a, const char *s)
{
	a->nsizes = 0;
	while (*s && a->nsizes < MAX_SIZES) {
		char *end;
		unsigned long v = strtoul(s, &end, 10);
		if (end == s || v == 0 || v > (16u << 20))
			return false;
		a->sizes[a->nsizes++] = v;
		if (*end == ',')
			end++;
		else if (*end)
			return false;
		s = end;
	}
	return a->nsizes > 0 && !*s;
}

static int usage(void)
{
	fprintf(stderr, "usage: dpdk_crc_client HOST:PORT [--pairs P] [--count N] "
			"[--sizes A,B,...] [--window W] [--credit C] [--timeout S]\n");
	return 2;
}

int main(int argc, char **argv)
{
	static struct app a;
	a.npairs = 4;
	a.count = 1000;
	a.sizes[0] = 4096;
	a.nsizes = 1;
	a.window = 64;
	a.credit = 128;
	a.timeout_s = 80;
	if (argc < 2 || argv[1][0] == '-')
		return usage();
	a.hostport = argv[1];
	for (int i = 2; i < argc; i++) {
		const char *o = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!v)
			return usage();
		i++;
		if (strcmp(o, "--pairs") == 0)
			a.npairs = atoi(v);
		else if (strcmp(o, "--count") == 0)
			a.count = strtoull(v, NULL, 10);
		else if (strcmp(o, "--sizes") == 0) {
			if (!parse_sizes(&a, v))
				return usage();
		} else if (strcmp(o, "--window") == 0)
			a.window = (unsigned)atoi(v);
		else if (strcmp(o, "--credit") == 0)
			a.credit = (unsigned)atoi(v);
		else if (strcmp(o, "--timeout") == 0)
			a.timeout_s = (unsigned)atoi(v);
		else
			return usage();
	}
	if (a.npairs < 1 || a.npairs > MAX_PAIRS || a.count == 0 || a.window == 0 || a.credit < 2 ||
	    a.timeout_s == 0)
		return usage();
	crc32_init();
	size_t maxsz = 0;
	for (int i = 0; i < a.nsizes; i++)
		if (a.sizes[i] > maxsz)
			maxsz = a.sizes[i];
	if (!ensure(&a.buf, &a.buf_cap, HDR_LEN + maxsz) ||
	    !ensure(&a.enc, &a.enc_cap, HDR_LEN + maxsz + 1024))
		return 1;
	a.msg = pn_message();
	a.proactor = pn_proactor();
	a.t0 = now_s();
	a.deadline = a.t0 + a.timeout_s;
	for (int i = 0; i < a.npairs; i++) {
		struct pair *p = &a.pairs[i];
		p->id = i;
		snprintf(p->addr, sizeof p->addr, "dpdk/crc/%d/%ld", i, (long)a.t0);
		p->rconn = pn_connection();
		pn_connection_set_container(p->rconn, "dpdk-crc-client");
		pn_proactor_connect2(a.proactor, p->rconn, NULL, a.hostport);
		a.nconns++;
	}
	pn_proactor_set_timeout(a.proactor, 5000);
	bool running = true;
	while (running && !a.stop) {
		pn_event_batch_t *batch = pn_proactor_wait(a.proactor);
		pn_event_t *e;
		while ((e = pn_event_batch_next(batch))) {
			if (pn_event_type(e) == PN_PROACTOR_INACTIVE)
				running = false;
			else
				handle(&a, e);
		}
		pn_proactor_done(a.proactor, batch);
	}
	double secs = now_s() - a.t0;
	uint64_t msgs = 0, acc = 0, rset = 0;
	for (int i = 0; i < a.npairs; i++) {
		msgs += a.pairs[i].received;
		acc += a.pairs[i].accepted;
		rset += a.pairs[i].remote_settled;
	}
	printf("pairs=%d messages=%" PRIu64 " bytes=%" PRIu64 " seconds=%.2f accepted=%" PRIu64
	       " remote_settled=%" PRIu64 " duplicates=%" PRIu64 " gaps=%" PRIu64 " bad=%" PRIu64
	       "\n",
	       a.npairs, msgs, a.bytes, secs, acc, rset, a.duplicates, a.gaps, a.bad);
	/* rcv-settle-mode first (part 2.8.3): the router settles each delivery
	 * when it sends the outcome, so every one must come back settled too */
	bool ok = !a.failed && a.done_pairs == a.npairs && msgs == a.count * (uint64_t)a.npairs &&
		  acc == msgs && rset == msgs;
	pn_proactor_free(a.proactor);
	pn_message_free(a.msg);
	free(a.buf);
	free(a.enc);
	return ok ? 0 : 1;
}
