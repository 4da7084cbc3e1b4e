/* libFuzzer target: rpcrouter-bench's AMQP connection engine
 * (bench/bench_amqp.c, bench_amqp_msg.c) on its input path, in the client
 * and in the server role, through the driver of fuzz_bench_amqp.h (input
 * layout there): the engine is configured from the first byte, behaves as
 * the generator's scenarios do from its callbacks (attaches, sends while it
 * has credit, settles by hand on some receivers), and gets the rest of the
 * input in chunks, with its output taken and its clock ticked between
 * them, so the conversation advances past Open and Attach into transfers,
 * flow and dispositions.
 *
 * Checks: no crash, leak or UB (ASan/UBSan); bench_amqp_input returns
 * false exactly when the engine says it is closed; a closed engine stays
 * closed, reports closed() at most once and says why (bench_amqp_error);
 * callbacks report link indexes in range; the output never exceeds what
 * the engine allocated. Engine errors are the expected outcome of most
 * inputs. Seeds: fuzz_bench_amqp_gen_corpus (this driver against another
 * engine and against proton-C, what the driver received). */
#include "fuzz_bench_amqp.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Small buffers: the defaults (4 MiB out, 1 MiB reassembly) cost more to
 * allocate than a run takes; the engine raises out_buf to one frame
 * beside its reserve. */
#define FB_OUT_BUF     (96 * 1024)
#define FB_MAX_MESSAGE 2048
#define FB_MAX_SENDS   24

static void fb_send_some(struct fb_drv *d, int link)
{
	/* big bodies: fewer, so a conversation stays within an input */
	unsigned max_sends = d->tpl.body_size > 40 ? 4 : FB_MAX_SENDS;
	while (d->sends < max_sends && bench_amqp_credit(d->c, link) > 0) {
		int64_t t = bench_amqp_send(d->c, link, &d->tpl, d->sends, d->now * 1000000u,
					    0x1000 + d->sends);
		if (t < 0)
			break;
		d->sends++;
	}
}

static void fb_opened(void *ctx, struct bench_amqp_conn *c)
{
	struct fb_drv *d = ctx;
	FUZZ_INVARIANT(c == d->c, "opened: another engine");
}

static void fb_attached(void *ctx, struct bench_amqp_conn *c, int link, bool local_sender,
			const char *address, bool remote_initiated)
{
	struct fb_drv *d = ctx;
	FUZZ_INVARIANT(c == d->c && link >= 0 && link < BENCH_AMQP_MAX_LINKS, "attached: a bad link");
	FUZZ_INVARIANT(address != NULL && strlen(address) < BENCH_AMQP_ADDR_MAX, "attached: address");
	if (!local_sender)
		d->manual[link] =
		    remote_initiated ? (d->cfg_byte & 0x10) != 0 : link == d->dyn_recv;
	else
		fb_send_some(d, link);
}

static void fb_credit(void *ctx, struct bench_amqp_conn *c, int link)
{
	struct fb_drv *d = ctx;
	FUZZ_INVARIANT(c == d->c && link >= 0 && link < BENCH_AMQP_MAX_LINKS, "credit: a bad link");
	fb_send_some(d, link);
}

static void fb_message(void *ctx, struct bench_amqp_conn *c, int link, uint32_t delivery,
		       bool settled, const struct bench_amqp_msg *m)
{
	struct fb_drv *d = ctx;
	FUZZ_INVARIANT(c == d->c && link >= 0 && link < BENCH_AMQP_MAX_LINKS, "message: a bad link");
	FUZZ_INVARIANT(m != NULL && (m->len == 0 || m->data != NULL), "message: no bytes");
	/* part 2.7.3: no delivered message is larger than the max-message-size
	 * the engine announced, in one frame or reassembled */
	FUZZ_INVARIANT(m->len <= FB_MAX_MESSAGE, "message: larger than max_message");
	FUZZ_INVARIANT(memchr(m->to, '\0', sizeof m->to) && memchr(m->reply_to, '\0', sizeof m->reply_to),
		 "message: an unterminated address");
	/* touch every byte (ASan: the view is in bounds) */
	unsigned sum = 0;
	for (size_t i = 0; i < m->len; i++)
		sum += m->data[i];
	(void)sum;
	uint64_t seq, sent;
	(void)bench_amqp_tail(m->data, m->len, &seq, &sent);
	d->msgs++;
	if (!settled && d->manual[link]) {
		static const enum bench_amqp_outcome oc[] = {
		    BENCH_AMQP_ACCEPTED, BENCH_AMQP_REJECTED, BENCH_AMQP_RELEASED,
		    BENCH_AMQP_MODIFIED};
		bench_amqp_settle(c, link, delivery, oc[d->outcome++ % 4]);
		d->settles++;
	}
}

static void fb_settled(void *ctx, struct bench_amqp_conn *c, int link, uint64_t token,
		       enum bench_amqp_outcome outcome)
{
	struct fb_drv *d = ctx;
	(void)token;
	FUZZ_INVARIANT(c == d->c && link >= 0 && link < BENCH_AMQP_MAX_LINKS, "settled: a bad link");
	FUZZ_INVARIANT(outcome <= BENCH_AMQP_PRESETTLED, "settled: an unknown outcome");
}

static void fb_detached(void *ctx, struct bench_amqp_conn *c, int link, const char *condition,
			const char *description)
{
	struct fb_drv *d = ctx;
	FUZZ_INVARIANT(c == d->c && link >= -1 && link < BENCH_AMQP_MAX_LINKS, "detached: a bad link");
	FUZZ_INVARIANT(condition != NULL && description != NULL, "detached: NULL strings");
	if (link >= 0)
		d->manual[link] = false;
}

static void fb_closed(void *ctx, struct bench_amqp_conn *c, const char *condition,
		      const char *description)
{
	struct fb_drv *d = ctx;
	FUZZ_INVARIANT(c == d->c, "closed: another engine");
	FUZZ_INVARIANT(condition != NULL && description != NULL, "closed: NULL strings");
	d->closed_events++;
	FUZZ_INVARIANT(d->closed_events == 1, "closed reported twice");
}

void fb_drv_init(struct fb_drv *d, uint8_t cfg_byte, uint8_t pump_byte)
{
	memset(d, 0, sizeof(*d));
	d->cfg_byte = cfg_byte;
	d->server = cfg_byte & 1;
	d->sender = d->recv = d->dyn_recv = -1;
	static const char *const mechs[4] = {NULL, "ANONYMOUS", "PLAIN", NULL};
	struct bench_amqp_config cfg;
	memset(&cfg, 0, sizeof cfg);
	cfg.role = d->server ? BENCH_AMQP_SERVER : BENCH_AMQP_CLIENT;
	cfg.container_id = d->server ? "fuzz-server" : "fuzz-client";
	cfg.hostname = d->server ? NULL : "localhost";
	cfg.sasl_mech = mechs[(cfg_byte >> 1) & 3];
	cfg.user = "bench";
	cfg.password = "secret";
	cfg.want_properties = (cfg_byte & 0x08) != 0;
	cfg.peer_link_manual_settle = (cfg_byte & 0x10) != 0;
	cfg.max_frame_size = (cfg_byte & 0x20) ? 512 : 0;
	cfg.idle_timeout_ms = (cfg_byte & 0x40) ? 1000 : 0;
	cfg.incoming_window = 64;
	cfg.out_buf = FB_OUT_BUF;
	cfg.max_message = FB_MAX_MESSAGE;
	cfg.peer_link_credit = 8;
	cfg.max_unsettled = 16;
	cfg.h.opened = fb_opened;
	cfg.h.attached = fb_attached;
	cfg.h.credit = fb_credit;
	cfg.h.message = fb_message;
	cfg.h.settled = fb_settled;
	cfg.h.detached = fb_detached;
	cfg.h.closed = fb_closed;
	cfg.ctx = d;
	FUZZ_INVARIANT(bench_amqp_tpl_build(&d->tpl, "fuzz.q", "fuzz.reply", true,
				      (pump_byte & 0x80) ? 1500 : 40, 0),
		 "template");
	d->c = bench_amqp_new(&cfg);
	FUZZ_INVARIANT(d->c != NULL, "bench_amqp_new");
	if (!d->server) {
		bench_amqp_start(d->c);
		d->sender = bench_amqp_attach_sender(d->c, "fuzz.q", (cfg_byte & 0x80) != 0);
		d->recv = bench_amqp_attach_receiver(d->c, "fuzz.q", 4, true);
		d->dyn_recv = bench_amqp_attach_receiver(d->c, NULL, 2, false);
		FUZZ_INVARIANT(d->sender >= 0 && d->recv >= 0 && d->dyn_recv >= 0, "attach");
	}
}

bool fb_drv_feed(struct fb_drv *d, const uint8_t *p, size_t n, uint64_t now)
{
	bool was_closed = bench_amqp_is_closed(d->c);
	d->now = now;
	bool ok = bench_amqp_input(d->c, p, n, now);
	FUZZ_INVARIANT(ok == !bench_amqp_is_closed(d->c), "input's result is not !is_closed");
	FUZZ_INVARIANT(!was_closed || !ok, "a closed engine opened again");
	if (!ok)
		FUZZ_INVARIANT(d->closed_events == 1, "closed without the closed callback");
	(void)bench_amqp_tick(d->c, now);
	return ok;
}

const uint8_t *fb_drv_output(struct fb_drv *d, size_t *n)
{
	const uint8_t *o = bench_amqp_output(d->c, n);
	FUZZ_INVARIANT(*n <= FB_OUT_BUF + 65536 + 16384 + 4096, "output larger than the buffer");
	return o;
}

void fb_drv_output_done(struct fb_drv *d, size_t n)
{
	bench_amqp_output_done(d->c, n);
}

void fb_drv_fini(struct fb_drv *d)
{
	bench_amqp_input_eof(d->c);
	FUZZ_INVARIANT(bench_amqp_is_closed(d->c), "still open after EOF");
	FUZZ_INVARIANT(d->closed_events == 1, "EOF: closed reported other than once");
	size_t n;
	(void)fb_drv_output(d, &n);
	fb_drv_output_done(d, n);
	bench_amqp_free(d->c);
	d->c = NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint64_t steps[8] = {0, 1, 10, 100, 600, 1000, 5000, 0};
	uint8_t hdr[3] = {0, 0, 0};
	for (int i = 0; i < 3 && size > 0; i++) {
		hdr[i] = *data++;
		size--;
	}
	uint8_t sizes[7];
	unsigned nsizes = 0;
	if (!(hdr[1] & 0x80)) {
		unsigned want = hdr[1] & 7;
		while (nsizes < want && size > 0) {
			sizes[nsizes++] = *data++;
			size--;
		}
	}
	struct fb_drv d;
	fb_drv_init(&d, hdr[0], hdr[2]);

	/* the stream in its own block, so ASan sees a read past its end */
	uint8_t *in = malloc(size ? size : 1);
	FUZZ_INVARIANT(in != NULL, "out of memory");
	memcpy(in, data, size);
	uint64_t now = 1000;
	size_t at = 0;
	unsigned k = 0;
	bool half_done = false;
	while (at < size) {
		size_t chunk;
		if (hdr[1] & 0x80)
			chunk = (size_t)(hdr[1] & 0x7f) + 1;
		else if (nsizes > 0)
			chunk = (size_t)sizes[k % nsizes] + 1;
		else
			chunk = size - at;
		if (chunk > size - at)
			chunk = size - at;
		k++;
		now += steps[(hdr[2] >> 2) & 7];
		bool ok = fb_drv_feed(&d, in + at, chunk, now);
		at += chunk;
		size_t n;
		(void)fb_drv_output(&d, &n);
		switch (hdr[2] & 3) {
		case 1: fb_drv_output_done(&d, (n + 1) / 2); break;
		case 2: fb_drv_output_done(&d, n ? 1 : 0); break;
		default: fb_drv_output_done(&d, n); break;
		}
		if (!half_done && at >= size / 2) {
			half_done = true;
			if (hdr[2] & 0x40)
				bench_amqp_detach(d.c, 0);
			if (hdr[2] & 0x20)
				bench_amqp_close(d.c, NULL, NULL);
		}
		if (!ok)
			break; /* the caller flushes and closes */
	}
	fb_drv_fini(&d);
	free(in);
	return 0;
}
