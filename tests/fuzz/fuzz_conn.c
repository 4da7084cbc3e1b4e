/* libFuzzer target: the worker's connection engine after the handoff
 * (dataplane/dp_conn.c, dp_link.c, dp_deliver.c), through the test harness
 * of tests/unit/dataplane/dp_harness.h (no threads, no sockets, a fake
 * control that answers Attach events as ctl_router.c does).
 *
 * Per input: a fresh worker, or two; a consumer connection attached to
 * "fuzz.q" (and granting credit); then a second connection opened by the
 * real ACCEPT + HANDOFF path on worker 0, fed the input stream as reads of
 * a fuzz-chosen size, its timers run, then destroyed.
 *
 * Input: byte 0 selects the read size, byte 1 the peer's max-frame-size
 * (bits 0-1), idle-timeout (bit 2) and the consumer's worker (bit 3: 1
 * puts it on a second worker, so what is routed crosses the workers'
 * rings, dp_xc_*); the rest is the stream (AMQP frames after Open).
 *
 * Invariants (beyond ASan/UBSan/LSan): the consumer never sees a Detach,
 * End or Close; after the fuzzed connection is destroyed and the consumer
 * has taken and settled what was routed to it, each worker's block pool and
 * delivery pool are back at their counts from before the fuzzed
 * connection, and the consumer still works (a flow gets no error). */
#include "fuzz_common.h"

#include <string.h>

#include "dp_harness.h"

#define CONSUMER_ADDR "fuzz.q"

static const size_t fuzz_reads[8] = {1, 2, 3, 5, 7, 64, 1460, 0 /* one read */};
static const uint32_t fuzz_peer_max_frame[4] = {512, 4096, 65536, UINT32_MAX};
static const uint32_t fuzz_peer_idle[2] = {0, 10000};

/* --- the consumer's frames ------------------------------------------------- */

static size_t frame_done(struct amqp_wbuf *wb, uint8_t *hdr, uint16_t ch)
{
	amqp_frame_end(wb, hdr, AMQP_FRAME_AMQP, ch);
	FUZZ_CHECK(amqp_wbuf_ok(wb), "consumer frame too large");
	return amqp_wbuf_len(wb);
}

static struct amqp_value described_raw(const uint8_t *p, size_t n)
{
	struct amqp_value v;
	memset(&v, 0, sizeof(v));
	v.type = AMQP_TYPE_LIST;
	v.code = 0x45;
	v.described = 1;
	v.descriptor = AMQP_DESC_NONE;
	v.elem_descriptor = AMQP_DESC_NONE;
	v.raw = amqp_bytes_of(p, n);
	return v;
}

static size_t enc_consumer_open(uint8_t *buf, size_t cap)
{
	struct amqp_wbuf wb;
	amqp_wbuf_init(&wb, buf, cap);
	uint8_t *hdr = amqp_frame_begin(&wb);
	struct amqp_begin b;
	amqp_begin_init(&b);
	b.present = AMQP_BEGIN_HAS_NEXT_OUTGOING_ID | AMQP_BEGIN_HAS_INCOMING_WINDOW |
		    AMQP_BEGIN_HAS_OUTGOING_WINDOW;
	b.incoming_window = 1000000;
	b.outgoing_window = 1000;
	amqp_begin_encode(&wb, &b);
	amqp_frame_end(&wb, hdr, AMQP_FRAME_AMQP, 0);

	uint8_t src[64];
	struct amqp_wbuf sb;
	amqp_wbuf_init(&sb, src, sizeof(src));
	struct amqp_source s;
	amqp_source_init(&s);
	s.present = AMQP_SOURCE_HAS_ADDRESS;
	s.address.type = AMQP_TYPE_STRING;
	s.address.code = 0xa1;
	s.address.descriptor = AMQP_DESC_NONE;
	s.address.elem_descriptor = AMQP_DESC_NONE;
	s.address.bytes = amqp_bytes_of(CONSUMER_ADDR, strlen(CONSUMER_ADDR));
	amqp_source_encode(&sb, &s);
	FUZZ_CHECK(amqp_wbuf_ok(&sb), "source");

	hdr = amqp_frame_begin(&wb);
	struct amqp_attach a;
	amqp_attach_init(&a);
	a.present = AMQP_ATTACH_HAS_NAME | AMQP_ATTACH_HAS_HANDLE | AMQP_ATTACH_HAS_ROLE |
		    AMQP_ATTACH_HAS_SOURCE;
	a.name = amqp_bytes_of("consumer", 8);
	a.handle = 0;
	a.role = true;
	a.source = described_raw(src, amqp_wbuf_len(&sb));
	amqp_attach_encode(&wb, &a);
	return frame_done(&wb, hdr, 0);
}

static size_t enc_consumer_flow(uint8_t *buf, size_t cap, const struct dp_link *l,
				const struct dp_session *s)
{
	struct amqp_wbuf wb;
	amqp_wbuf_init(&wb, buf, cap);
	uint8_t *hdr = amqp_frame_begin(&wb);
	struct amqp_flow f;
	amqp_flow_init(&f);
	f.present = AMQP_FLOW_HAS_NEXT_INCOMING_ID | AMQP_FLOW_HAS_INCOMING_WINDOW |
		    AMQP_FLOW_HAS_NEXT_OUTGOING_ID | AMQP_FLOW_HAS_OUTGOING_WINDOW |
		    AMQP_FLOW_HAS_HANDLE | AMQP_FLOW_HAS_DELIVERY_COUNT | AMQP_FLOW_HAS_LINK_CREDIT;
	/* the consumer has read everything the router sent */
	f.next_incoming_id = s->next_outgoing_id;
	f.incoming_window = 1000000;
	f.outgoing_window = 1000;
	f.handle = 0;
	f.delivery_count = l->delivery_count;
	f.link_credit = 1000;
	amqp_flow_encode(&wb, &f);
	return frame_done(&wb, hdr, 0);
}

static size_t enc_consumer_settle(uint8_t *buf, size_t cap, uint32_t first, uint32_t last)
{
	uint8_t st[16];
	struct amqp_wbuf sw;
	amqp_wbuf_init(&sw, st, sizeof(st));
	struct amqp_accepted acc;
	amqp_accepted_init(&acc);
	amqp_accepted_encode(&sw, &acc);

	struct amqp_wbuf wb;
	amqp_wbuf_init(&wb, buf, cap);
	uint8_t *hdr = amqp_frame_begin(&wb);
	struct amqp_disposition d;
	amqp_disposition_init(&d);
	d.present = AMQP_DISPOSITION_HAS_ROLE | AMQP_DISPOSITION_HAS_FIRST | AMQP_DISPOSITION_HAS_LAST |
		    AMQP_DISPOSITION_HAS_SETTLED | AMQP_DISPOSITION_HAS_STATE;
	d.role = true;
	d.first = first;
	d.last = last;
	d.settled = true;
	d.state = described_raw(st, amqp_wbuf_len(&sw));
	amqp_disposition_encode(&wb, &d);
	return frame_done(&wb, hdr, 0);
}

/* The consumer's worker: 0, or 1 with the fuzzed producer on worker 0
 * (every message crosses the workers' rings: dp_xc_*). */
static unsigned cw;

/* The consumer's output so far must be whole frames, none of them a
 * Detach, End or Close; then it is dropped. */
static void consumer_check_output(struct dph *h, uint32_t c)
{
	size_t n;
	const uint8_t *o = dph_out(h, cw, c, &n);
	struct amqp_seg seg = {o, (uint32_t)n};
	struct amqp_cursor cur;
	amqp_cur_init(&cur, &seg, n ? 1 : 0);
	while (amqp_cur_left(&cur) > 0) {
		struct amqp_frame f;
		struct amqp_diag d;
		memset(&d, 0, sizeof(d));
		FUZZ_CHECK(amqp_frame_parse(&cur, UINT32_MAX, &f, &d) == RR_OK,
			   "consumer output is not whole frames");
		if (amqp_frame_is_empty(&f))
			continue;
		struct amqp_performative p;
		FUZZ_CHECK(amqp_performative_decode(&f.body, &p, &d) == RR_OK,
			   "consumer output undecodable");
		FUZZ_CHECK(p.code != AMQP_DESC_DETACH && p.code != AMQP_DESC_END &&
				   p.code != AMQP_DESC_CLOSE,
			   "the consumer got performative 0x%llx", (unsigned long long)p.code);
	}
	dph_out_clear(h, cw, c);
}

static struct dp_link *consumer_link(struct dph *h, uint32_t c)
{
	struct dp_conn *cc = dph_conn(h, cw, c);
	FUZZ_CHECK(cc != NULL && cc->state == DP_CONN_OPEN, "the consumer connection is gone");
	FUZZ_CHECK(cc->sessions_cap > 0 && cc->sessions[0] != NULL, "the consumer session is gone");
	struct dp_session *s = cc->sessions[0];
	FUZZ_CHECK(s->links_cap > 0 && s->links[0] != NULL && s->links[0]->state == DP_LINK_ACTIVE,
		   "the consumer link is gone");
	return s->links[0];
}

/* Grant credit and settle everything sent, until nothing is queued for
 * the consumer (bounded). */
static void consumer_drain(struct dph *h, uint32_t c)
{
	uint8_t buf[512];
	for (int round = 0; round < 64; round++) {
		struct dp_link *l = consumer_link(h, c);
		struct dp_session *s = l->sess;
		size_t n = enc_consumer_flow(buf, sizeof(buf), l, s);
		if (s->unsettled_out.n)
			n += enc_consumer_settle(buf + n, sizeof(buf) - n, 0, s->next_outgoing_id - 1);
		dph_feed(h, cw, c, buf, n, 0);
		consumer_check_output(h, c);
		l = consumer_link(h, c);
		if (l->q_head == NULL && l->sess->unsettled_out.n == 0)
			return;
	}
	FUZZ_CHECK(0, "the consumer's queue did not drain");
}

/* Both workers' block and delivery pools, to compare before and after. */
struct pools {
	uint64_t blocks_free[DPH_MAX_WORKERS], blocks_total[DPH_MAX_WORKERS], dlv[DPH_MAX_WORKERS];
};

static void pools_read(struct dph *h, unsigned nw, struct pools *p)
{
	for (unsigned i = 0; i < nw; i++) {
		dph_drop_current_blocks(h, i);
		struct dp_worker *w = dph_worker(h, i);
		p->blocks_free[i] = w->blocks.blocks_free;
		p->blocks_total[i] = w->blocks.blocks_total;
		p->dlv[i] = w->dlv_live;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t split = fuzz_reads[fuzz_take_u8(&data, &size) & 7];
	uint8_t peer = fuzz_take_u8(&data, &size);
	cw = (peer >> 3) & 1;
	unsigned nw = cw + 1;

	static struct dph h;
	dph_init(&h, nw, ROUTE_BALANCED);
	struct dp_worker *w = dph_worker(&h, 0);
	uint64_t t0 = w->now_ms;

	uint8_t buf[1024];
	uint32_t c = dph_open(&h, cw, 0, 65536, 0);
	size_t n = enc_consumer_open(buf, sizeof(buf));
	dph_feed(&h, cw, c, buf, n, 0);
	consumer_check_output(&h, c);
	consumer_drain(&h, c); /* grants its credit */

	struct pools before, after;
	pools_read(&h, nw, &before);

	uint32_t p = dph_open(&h, 0, 0, fuzz_peer_max_frame[peer & 3], fuzz_peer_idle[(peer >> 2) & 1]);
	dph_feed(&h, 0, p, data, size, split);
	consumer_check_output(&h, c);
	/* timers: heartbeats, idle, a closing connection's linger */
	dph_tick(&h, t0 + 6000);
	dph_tick(&h, t0 + 12000);
	consumer_check_output(&h, c);
	struct dp_conn *pc = dph_conn(&h, 0, p);
	if (pc)
		dp_conn_destroy(w, pc);
	dph_run(&h);
	consumer_check_output(&h, c);
	consumer_drain(&h, c);

	pools_read(&h, nw, &after);
	for (unsigned i = 0; i < nw; i++) {
		FUZZ_CHECK(after.dlv[i] == before.dlv[i], "worker %u: %llu deliveries live, %llu before",
			   i, (unsigned long long)after.dlv[i], (unsigned long long)before.dlv[i]);
		FUZZ_CHECK(after.blocks_free[i] - before.blocks_free[i] ==
				   after.blocks_total[i] - before.blocks_total[i],
			   "worker %u: %llu of %llu blocks free, %llu of %llu before", i,
			   (unsigned long long)after.blocks_free[i],
			   (unsigned long long)after.blocks_total[i],
			   (unsigned long long)before.blocks_free[i],
			   (unsigned long long)before.blocks_total[i]);
	}
	FUZZ_CHECK(dph_worker(&h, cw)->n_conns == 1 && (cw == 0 || w->n_conns == 0),
		   "%llu connections on the consumer's worker, %llu on worker 0",
		   (unsigned long long)dph_worker(&h, cw)->n_conns, (unsigned long long)w->n_conns);
	consumer_link(&h, c);
	dph_fini(&h);
	return 0;
}
