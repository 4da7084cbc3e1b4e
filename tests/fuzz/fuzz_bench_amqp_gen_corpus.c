/* Seed generator for fuzz_bench_amqp: runs the target's driver
 * (fuzz_bench_amqp.h) against a real peer in memory and writes what the
 * driver received, behind the three header bytes that select the same
 * configuration, so the seed replays that conversation:
 *   - driver client <-> driver server (both recorded), SASL none,
 *     ANONYMOUS, PLAIN, small frames, pre-settled or not, manual settling;
 *   - driver client <-> proton-C's connection driver as a server (no SASL,
 *     ANONYMOUS), proton client -> driver server (no SASL, ANONYMOUS,
 *     PLAIN), proton sending and receiving messages.
 * Usage: fuzz_bench_amqp_gen_corpus DIR (writes DIR/seed-*). Run by hand;
 * the output is committed as corpus/bench_amqp. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <proton/codec.h>
#include <proton/condition.h>
#include <proton/connection.h>
#include <proton/connection_driver.h>
#include <proton/delivery.h>
#include <proton/disposition.h>
#include <proton/event.h>
#include <proton/link.h>
#include <proton/message.h>
#include <proton/sasl.h>
#include <proton/session.h>
#include <proton/terminus.h>
#include <proton/transport.h>

#include "fuzz_bench_amqp.h"

struct rec {
	uint8_t *b;
	size_t n, cap;
};

static void rec_put(struct rec *r, const uint8_t *p, size_t n)
{
	if (r->n + n > r->cap) {
		size_t cap = r->cap ? r->cap : 4096;
		while (cap < r->n + n)
			cap *= 2;
		r->b = realloc(r->b, cap);
		if (!r->b)
			abort();
		r->cap = cap;
	}
	memcpy(r->b + r->n, p, n);
	r->n += n;
}

static const char *gen_dir;
static int gen_count;

static void gen_write(const char *name, uint8_t cfg, uint8_t chunk, uint8_t pump,
		      const struct rec *r)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/seed-%s", gen_dir, name);
	FILE *f = fopen(path, "wb");
	if (!f) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		exit(1);
	}
	/* explicit chunk sizes (header bit 7 clear): 8, 1, 201, ... in turn */
	uint8_t h[3 + 7] = {cfg, chunk, pump, 7, 0, 200, 3, 63, 1, 30};
	size_t hn = 3 + ((chunk & 0x80) ? 0 : (chunk & 7));
	fwrite(h, 1, hn, f);
	fwrite(r->b, 1, r->n, f);
	fclose(f);
	printf("%s: %zu bytes\n", path, r->n + hn);
	gen_count++;
}

/* Move bytes from a's output to b (recorded in rb); true if any moved. */
static bool gen_move(struct fb_drv *a, struct fb_drv *b, struct rec *rb)
{
	size_t n;
	const uint8_t *o = fb_drv_output(a, &n);
	if (n == 0 || bench_amqp_is_closed(b->c)) {
		fb_drv_output_done(a, n);
		return false;
	}
	uint8_t *copy = malloc(n);
	memcpy(copy, o, n);
	fb_drv_output_done(a, n);
	rec_put(rb, copy, n);
	fb_drv_feed(b, copy, n, 1000);
	free(copy);
	return true;
}

/* The driver as a client against the driver as a server: one seed each. */
static void gen_pair(const char *name, uint8_t client_cfg, uint8_t server_cfg, uint8_t pump)
{
	struct fb_drv cl, sv;
	struct rec rc = {0}, rs = {0};
	fb_drv_init(&cl, client_cfg & ~1u, pump);
	fb_drv_init(&sv, server_cfg | 1u, pump);
	int phase = 0;
	for (int round = 0; round < 10000; round++) {
		bool moved = gen_move(&cl, &sv, &rs);
		moved |= gen_move(&sv, &cl, &rc);
		if (moved)
			continue;
		if (phase == 0) {
			/* quiet: the client detaches its sender, then closes */
			bench_amqp_detach(cl.c, cl.sender);
			phase = 1;
		} else if (phase == 1) {
			bench_amqp_close(cl.c, NULL, NULL);
			phase = 2;
		} else {
			break;
		}
	}
	char n2[256];
	snprintf(n2, sizeof n2, "%s-client", name);
	gen_write(n2, client_cfg & ~1u, 0x00, pump, &rc);
	snprintf(n2, sizeof n2, "%s-server", name);
	gen_write(n2, server_cfg | 1u, 0x00, pump, &rs);
	fb_drv_fini(&cl);
	fb_drv_fini(&sv);
	free(rc.b);
	free(rs.b);
}

/* ---- proton peers ---- */

struct pn_peer {
	pn_connection_driver_t d;
	bool client;
	int sent;
	char rx[65536];
};

static void pn_peer_send(struct pn_peer *p, pn_link_t *l)
{
	while (pn_link_credit(l) > 0 && p->sent < 4) {
		pn_message_t *m = pn_message();
		pn_message_set_address(m, "fuzz.q");
		pn_message_set_reply_to(m, "fuzz.reply");
		pn_data_put_ulong(pn_message_correlation_id(m), 77 + (uint64_t)p->sent);
		char body[48];
		memset(body, 'p', sizeof body);
		memcpy(body + sizeof body - 24, "rrbench", 8);
		memset(body + sizeof body - 16, 0, 16);
		body[sizeof body - 9] = (char)p->sent;
		pn_data_put_binary(pn_message_body(m), pn_bytes(sizeof body, body));
		char buf[1024];
		size_t n = sizeof buf;
		if (pn_message_encode(m, buf, &n) != 0)
			abort();
		pn_message_free(m);
		int tag = p->sent;
		pn_delivery_t *dl = pn_delivery(l, pn_dtag((const char *)&tag, sizeof tag));
		pn_link_send(l, buf, n);
		pn_link_advance(l);
		if (pn_link_snd_settle_mode(l) == PN_SND_SETTLED || p->sent % 2)
			pn_delivery_settle(dl);
		p->sent++;
	}
}

static void pn_peer_event(struct pn_peer *p, pn_event_t *e)
{
	pn_connection_t *pc = p->d.connection;
	switch (pn_event_type(e)) {
	case PN_CONNECTION_INIT:
		if (!p->client)
			break;
		pn_connection_set_hostname(pc, "localhost");
		pn_connection_open(pc);
		{
			pn_session_t *s = pn_session(pc);
			pn_session_open(s);
			pn_link_t *snd = pn_sender(s, "pn-snd");
			pn_terminus_set_address(pn_link_target(snd), "fuzz.q");
			pn_link_open(snd);
			pn_link_t *rcv = pn_receiver(s, "pn-rcv");
			pn_terminus_set_address(pn_link_source(rcv), "fuzz.q");
			pn_link_open(rcv);
			pn_link_flow(rcv, 6);
			pn_link_t *dyn = pn_receiver(s, "pn-dyn");
			pn_terminus_set_dynamic(pn_link_source(dyn), true);
			pn_link_open(dyn);
			pn_link_flow(dyn, 2);
		}
		break;
	case PN_CONNECTION_REMOTE_OPEN:
		if (pn_connection_state(pc) & PN_LOCAL_UNINIT)
			pn_connection_open(pc);
		break;
	case PN_CONNECTION_REMOTE_CLOSE:
		if (!(pn_connection_state(pc) & PN_LOCAL_CLOSED))
			pn_connection_close(pc);
		break;
	case PN_SESSION_REMOTE_OPEN: {
		pn_session_t *s = pn_event_session(e);
		if (pn_session_state(s) & PN_LOCAL_UNINIT)
			pn_session_open(s);
		break;
	}
	case PN_LINK_REMOTE_OPEN: {
		pn_link_t *l = pn_event_link(e);
		if (!(pn_link_state(l) & PN_LOCAL_UNINIT))
			break;
		pn_terminus_copy(pn_link_source(l), pn_link_remote_source(l));
		pn_terminus_copy(pn_link_target(l), pn_link_remote_target(l));
		if (pn_terminus_is_dynamic(pn_link_remote_source(l)))
			pn_terminus_set_address(pn_link_source(l), "pn.dynamic.1");
		pn_link_set_snd_settle_mode(l, pn_link_remote_snd_settle_mode(l));
		pn_link_open(l);
		if (pn_link_is_receiver(l))
			pn_link_flow(l, 6);
		break;
	}
	case PN_LINK_REMOTE_DETACH: {
		pn_link_t *l = pn_event_link(e);
		if (!(pn_link_state(l) & PN_LOCAL_CLOSED))
			pn_link_close(l);
		break;
	}
	case PN_LINK_FLOW: {
		pn_link_t *l = pn_event_link(e);
		if (pn_link_is_sender(l))
			pn_peer_send(p, l);
		break;
	}
	case PN_DELIVERY: {
		pn_delivery_t *dl = pn_event_delivery(e);
		pn_link_t *l = pn_delivery_link(dl);
		if (pn_link_is_receiver(l)) {
			if (!pn_delivery_readable(dl) || pn_delivery_partial(dl))
				break;
			while (pn_link_recv(l, p->rx, sizeof p->rx) > 0) {
			}
			if (!pn_delivery_settled(dl))
				pn_delivery_update(dl, pn_link_credit(l) % 2 ? PN_ACCEPTED
									     : PN_RELEASED);
			pn_delivery_settle(dl);
			if (pn_link_credit(l) < 3)
				pn_link_flow(l, 6 - pn_link_credit(l));
		} else if (pn_delivery_updated(dl) && pn_delivery_remote_state(dl)) {
			pn_delivery_settle(dl);
		}
		break;
	}
	default: break;
	}
}

static void pn_peer_dispatch(struct pn_peer *p)
{
	pn_event_t *e;
	while ((e = pn_connection_driver_next_event(&p->d)) != NULL)
		pn_peer_event(p, e);
}

/* sasl: NULL, "ANONYMOUS" or "PLAIN" (proton client only: its server side
 * would need Cyrus for PLAIN). */
static void gen_proton(const char *name, uint8_t cfg, const char *sasl, uint8_t chunk, uint8_t pump)
{
	struct fb_drv d;
	struct pn_peer p;
	struct rec r = {0};
	memset(&p, 0, sizeof p);
	p.client = (cfg & 1) != 0; /* driver server: proton is the client */
	pn_connection_driver_init(&p.d, NULL, NULL);
	if (!p.client)
		pn_transport_set_server(p.d.transport);
	pn_connection_set_container(p.d.connection, "proton-peer");
	if (sasl) {
		pn_sasl_t *s = pn_sasl(p.d.transport);
		pn_sasl_allowed_mechs(s, sasl);
		pn_sasl_set_allow_insecure_mechs(s, true);
		if (strcmp(sasl, "PLAIN") == 0) {
			pn_connection_set_user(p.d.connection, "alice");
			pn_connection_set_password(p.d.connection, "pw");
		}
	}
	fb_drv_init(&d, cfg, pump);
	int phase = 0;
	for (int round = 0; round < 10000; round++) {
		bool moved = false;
		pn_peer_dispatch(&p);
		size_t n;
		const uint8_t *o = fb_drv_output(&d, &n);
		while (n) {
			pn_rwbytes_t rb = pn_connection_driver_read_buffer(&p.d);
			if (rb.size == 0)
				break;
			size_t k = n < rb.size ? n : rb.size;
			memcpy(rb.start, o, k);
			pn_connection_driver_read_done(&p.d, k);
			fb_drv_output_done(&d, k);
			moved = true;
			pn_peer_dispatch(&p);
			o = fb_drv_output(&d, &n);
		}
		pn_bytes_t wb = pn_connection_driver_write_buffer(&p.d);
		while (wb.size) {
			if (!bench_amqp_is_closed(d.c)) {
				rec_put(&r, (const uint8_t *)wb.start, wb.size);
				fb_drv_feed(&d, (const uint8_t *)wb.start, wb.size, 1000);
			}
			pn_connection_driver_write_done(&p.d, wb.size);
			moved = true;
			wb = pn_connection_driver_write_buffer(&p.d);
		}
		pn_peer_dispatch(&p);
		if (moved)
			continue;
		if (phase == 0) {
			/* quiet: proton closes the connection */
			pn_connection_close(p.d.connection);
			phase = 1;
		} else {
			break;
		}
	}
	printf("%s: proton sent %d, driver sent %u, received %u, closed %d (%s)\n", name, p.sent,
	       d.sends, d.msgs, bench_amqp_is_closed(d.c), bench_amqp_error(d.c));
	gen_write(name, cfg, chunk, pump, &r);
	fb_drv_fini(&d);
	pn_connection_driver_destroy(&p.d);
	free(r.b);
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: %s DIR\n", argv[0]);
		return 2;
	}
	gen_dir = argv[1];
	/* cfg bits: 0 role, 1-2 SASL (1 ANONYMOUS, 2 PLAIN), 3 properties,
	 * 4 manual settle, 5 small frames, 6 idle time-out, 7 pre-settled */
	gen_pair("pair-plain", 0x08, 0x08, 0x00);
	gen_pair("pair-anon-presettled", 0x82 | 0x08, 0x02, 0x00);
	gen_pair("pair-sasl-plain-manual", 0x04 | 0x10, 0x04 | 0x10 | 0x08, 0x00);
	gen_pair("pair-small-frames", 0x20 | 0x08, 0x20, 0x00);
	gen_pair("pair-idle", 0x40, 0x40 | 0x10, 0x00);
	/* 1500-byte bodies to a 512-byte max-frame-size: multi-frame
	 * deliveries both ways (part 2.6.14) */
	gen_pair("pair-multi-frame", 0x20 | 0x08, 0x20 | 0x10, 0x80);
	gen_pair("pair-multi-frame-presettled", 0x80 | 0x20, 0x20 | 0x08, 0x80);
	gen_proton("proton-server", 0x08, NULL, 0x00, 0x00);
	gen_proton("proton-server-anon", 0x02 | 0x10, "ANONYMOUS", 0x80 | 6, 0x00);
	gen_proton("proton-client", 0x01 | 0x08, NULL, 0x00, 0x00);
	gen_proton("proton-client-anon", 0x01 | 0x02 | 0x10, "ANONYMOUS", 0x03, 0x04 | 0x01);
	gen_proton("proton-client-plain", 0x01 | 0x04 | 0x08, "PLAIN", 0x80 | 0x1f, 0x00);
	printf("%d seeds\n", gen_count);
	return 0;
}
