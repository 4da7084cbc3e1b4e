/* SASL and the Open exchange of one connection, through proton on the
 * bytes its worker relays (DESIGN.md "Handoff, step by step", steps 2-4).
 *
 * Control splits the relayed input at frame boundaries itself and gives
 * proton only the protocol headers, the SASL frames and the first AMQP
 * frame (which must be Open, AMQP 1.0 part 2.4.1); frames before Open may
 * be at most 512 bytes (MIN-MAX-FRAME-SIZE, part 2.7.1). Pipelined
 * Begin/Attach frames after the Open therefore never reach proton: they
 * stay with the worker, which reads them from offset R after the handoff.
 * Proton's output (SASL frames, headers) goes to the worker as WRITE
 * commands; at the remote Open control opens our side (product/version
 * properties, ANONYMOUS-RELAY, our limits), drains proton's output into
 * the HANDOFF command and frees proton without ticking or closing it. */
#include <proton/connection.h>
#include <proton/event.h>
#include <proton/sasl.h>
#include <proton/transport.h>
#include <stdlib.h>
#include <string.h>

#include "amqp_frame.h"
#include "ctl_log.h"
#include "ctl_router_int.h"

#define PRE_OPEN_FRAME_MAX 512u

static const uint8_t sasl_header[8] = {'A', 'M', 'Q', 'P', 3, 1, 0, 0};

struct ctl_hs *ctl_hs_new(struct ctl_rt *rt, unsigned worker, uint32_t conn, uint32_t gen,
			  uint16_t listener, const char *peer)
{
	struct ctl_hs *hs = (struct ctl_hs *)calloc(1, sizeof(*hs));
	if (hs == NULL)
		return NULL;
	hs->worker = (uint16_t)worker;
	hs->conn = conn;
	hs->gen = gen;
	hs->listener = listener;
	snprintf(hs->peer, sizeof(hs->peer), "%s", peer);
	const struct ctl_listener *li = &rt->listeners[listener];
	const struct ctl_limits *lim = &li->ep->limits;
	pn_transport_t *t = pn_transport();
	if (t == NULL) {
		free(hs);
		return NULL;
	}
	pn_transport_set_server(t);
	pn_transport_set_max_frame(t, lim->max_frame_size);
	pn_transport_set_channel_max(t, (uint16_t)(lim->max_sessions - 1));
	/* proton announces half of this, as qdrouterd (which sets the same) */
	pn_transport_set_idle_timeout(t, lim->idle_timeout_ms);
	if (ctl_sasl_server_setup(t, &li->sasl) != RR_OK) {
		pn_transport_free(t);
		free(hs);
		return NULL;
	}
	if (pn_connection_driver_init(&hs->drv, NULL, t) != 0) {
		pn_transport_free(t);
		free(hs);
		return NULL;
	}
	hs->drv_live = true;
	return hs;
}

void ctl_hs_free(struct ctl_rt *rt, struct ctl_hs *hs)
{
	(void)rt;
	if (hs->drv_live)
		pn_connection_driver_destroy(&hs->drv); /* no tick, no close (handoff 4) */
	free(hs->buf);
	free(hs);
}

static void hs_close(struct ctl_rt *rt, struct ctl_hs *hs, int drop, bool flush)
{
	struct dp_cmd_close c = {hs->conn, hs->gen, (uint16_t)(drop < 0 ? 0xffff : drop),
				 (uint16_t)flush};
	ctl_post(rt, hs->worker, DP_CMD_CLOSE, &c, sizeof(c), NULL, 0);
	hs->phase = HS_DONE;
}

/* Proton's pending output to the worker. */
static void hs_flush_output(struct ctl_rt *rt, struct ctl_hs *hs)
{
	for (;;) {
		pn_bytes_t b = pn_connection_driver_write_buffer(&hs->drv);
		if (b.size == 0)
			return;
		struct dp_cmd_conn h = {hs->conn, hs->gen};
		ctl_post(rt, hs->worker, DP_CMD_WRITE, &h, sizeof(h), b.start, (uint32_t)b.size);
		pn_connection_driver_write_done(&hs->drv, b.size);
	}
}

static void hs_feed(struct ctl_hs *hs, const uint8_t *p, size_t n)
{
	while (n > 0) {
		pn_rwbytes_t rb = pn_connection_driver_read_buffer(&hs->drv);
		if (rb.size == 0)
			return; /* proton closed its input (an error it reports as an event) */
		size_t m = n < rb.size ? n : rb.size;
		memcpy(rb.start, p, m);
		pn_connection_driver_read_done(&hs->drv, m);
		p += m;
		n -= m;
		hs->fed += m;
	}
}

static void hs_handoff(struct ctl_rt *rt, struct ctl_hs *hs)
{
	pn_connection_t *pc = hs->drv.connection;
	pn_transport_t *t = hs->drv.transport;
	const struct ctl_listener *li = &rt->listeners[hs->listener];
	const struct ctl_limits *lim = &li->ep->limits;

	pn_connection_set_container(pc, rt->router_id);
	/* oslo.messaging reads `product`: without it, broker-style addresses
	 * (oslo-amqp1-contract.md "Router detection") */
	pn_data_t *props = pn_connection_properties(pc);
	pn_data_put_map(props);
	pn_data_enter(props);
	pn_data_put_symbol(props, pn_bytes(7, "product"));
	pn_data_put_string(props, pn_bytes(9, "rpcrouter"));
	pn_data_put_symbol(props, pn_bytes(7, "version"));
	pn_data_put_string(props, pn_bytes(strlen(rt->version), rt->version));
	pn_data_exit(props);
	pn_data_t *caps = pn_connection_offered_capabilities(pc);
	pn_data_put_array(caps, false, PN_SYMBOL);
	pn_data_enter(caps);
	pn_data_put_symbol(caps, pn_bytes(15, "ANONYMOUS-RELAY"));
	pn_data_exit(caps);
	pn_connection_open(pc);

	/* drain every byte proton has for the peer: the Open (and whatever of
	 * SASL was still pending) */
	uint8_t *out = NULL;
	size_t out_len = 0;
	for (;;) {
		pn_bytes_t b = pn_connection_driver_write_buffer(&hs->drv);
		if (b.size == 0)
			break;
		uint8_t *n = (uint8_t *)realloc(out, out_len + b.size);
		if (n == NULL)
			break;
		out = n;
		memcpy(out + out_len, b.start, b.size);
		out_len += b.size;
		pn_connection_driver_write_done(&hs->drv, b.size);
	}
	struct dp_cmd_handoff h;
	memset(&h, 0, sizeof(h));
	h.conn = hs->conn;
	h.gen = hs->gen;
	h.consumed = hs->fed;
	h.remote_max_frame = pn_transport_get_remote_max_frame(t);
	h.remote_channel_max = pn_transport_remote_channel_max(t);
	h.remote_idle_ms = pn_transport_get_remote_idle_timeout(t);
	h.local_idle_ms = lim->idle_timeout_ms;
	h.max_frame = lim->max_frame_size;
	h.channel_max = (uint16_t)(lim->max_sessions - 1);
	const char *user = pn_transport_get_user(t);
	const char *container = pn_connection_remote_container(pc);
	ctl_log("SERVER", CTL_LEVEL_INFO,
		"[C%u.%u] Connection from %s (to %s) opened: container %s, user %s, worker %u",
		hs->worker, hs->conn, hs->peer, li->name, container ? container : "", user ? user : "",
		hs->worker);
	ctl_post(rt, hs->worker, DP_CMD_HANDOFF, &h, sizeof(h), out, (uint32_t)out_len);
	free(out);
	pn_connection_driver_destroy(&hs->drv);
	hs->drv_live = false;
	hs->phase = HS_DONE;
}

/* Proton's events after a feed: the remote Open, or the end of the
 * transport (a SASL failure, a protocol error). */
static void hs_events(struct ctl_rt *rt, struct ctl_hs *hs)
{
	pn_transport_t *t = hs->drv.transport;
	pn_event_t *ev;
	bool opened = false, closed = false;
	while ((ev = pn_connection_driver_next_event(&hs->drv)) != NULL) {
		switch (pn_event_type(ev)) {
		case PN_CONNECTION_REMOTE_OPEN: opened = true; break;
		case PN_TRANSPORT_ERROR:
		case PN_TRANSPORT_TAIL_CLOSED:
		case PN_TRANSPORT_CLOSED: closed = true; break;
		default: break;
		}
	}
	pn_sasl_t *sasl = pn_sasl(t);
	pn_sasl_outcome_t outcome = pn_sasl_outcome(sasl);
	if (outcome != PN_SASL_NONE && outcome != PN_SASL_OK && !hs->auth_logged) {
		hs->auth_logged = true;
		rt->auth_failures++;
		const char *why = ctl_sasl_failure(t);
		const char *mech = pn_sasl_get_mech(sasl);
		ctl_log("AUTHSERVICE", CTL_LEVEL_WARNING,
			"[C%u.%u] Authentication failed for a connection from %s: mechanism %s%s%s",
			hs->worker, hs->conn, hs->peer, mech ? mech : "?", why ? ": " : "",
			why ? why : "");
	}
	if (opened && !closed && (outcome == PN_SASL_OK || outcome == PN_SASL_NONE)) {
		hs_handoff(rt, hs);
		return;
	}
	hs_flush_output(rt, hs);
	if (closed) {
		pn_condition_t *cond = pn_transport_condition(t);
		if (!hs->auth_logged && pn_condition_is_set(cond))
			ctl_log("SERVER", CTL_LEVEL_INFO, "[C%u.%u] Connection from %s closed: %s: %s",
				hs->worker, hs->conn, hs->peer, pn_condition_get_name(cond),
				pn_condition_get_description(cond) ? pn_condition_get_description(cond)
								   : "");
		hs_close(rt, hs, -1, true);
	}
}

/* AMQP 2.2: a header we do not speak is answered with ours, then close. */
static void hs_bad_header(struct ctl_rt *rt, struct ctl_hs *hs)
{
	struct dp_cmd_conn h = {hs->conn, hs->gen};
	ctl_post(rt, hs->worker, DP_CMD_WRITE, &h, sizeof(h), sasl_header, sizeof(sasl_header));
	ctl_log("SERVER", CTL_LEVEL_INFO,
		"[C%u.%u] Connection from %s closed: not an AMQP 1.0 protocol header (or TLS, not "
		"served yet)",
		hs->worker, hs->conn, hs->peer);
	hs_close(rt, hs, DP_D_proto_header, true);
}

/* authenticatePeer and a client that skips SASL: an authentication
 * failure; AMQP 2.2 says answer with the header we require, then close. */
static void hs_sasl_required(struct ctl_rt *rt, struct ctl_hs *hs)
{
	struct dp_cmd_conn h = {hs->conn, hs->gen};
	ctl_post(rt, hs->worker, DP_CMD_WRITE, &h, sizeof(h), sasl_header, sizeof(sasl_header));
	rt->auth_failures++;
	ctl_log("AUTHSERVICE", CTL_LEVEL_WARNING,
		"[C%u.%u] Authentication failed for a connection from %s: it skipped SASL, which "
		"this listener requires (authenticatePeer)",
		hs->worker, hs->conn, hs->peer);
	hs_close(rt, hs, -1, true);
}

static void hs_split(struct ctl_rt *rt, struct ctl_hs *hs)
{
	while (hs->phase != HS_DONE && hs->phase != HS_WAIT) {
		const uint8_t *p = hs->buf + hs->fed;
		size_t avail = hs->len - hs->fed;
		if (hs->phase == HS_HEADER) {
			struct amqp_seg seg;
			struct amqp_cursor c;
			amqp_cur_init_flat(&c, &seg, p, avail);
			enum amqp_proto_id id;
			enum rr_err e = amqp_proto_header_parse(&c, &id);
			if (e == RR_NEED_MORE)
				return;
			if (e != RR_OK || id == AMQP_PROTO_TLS || (id == AMQP_PROTO_SASL && hs->sasl_done)) {
				hs_bad_header(rt, hs);
				return;
			}
			if (id == AMQP_PROTO_AMQP && !hs->sasl_done &&
			    rt->listeners[hs->listener].sasl.authenticate_peer) {
				hs_sasl_required(rt, hs);
				return;
			}
			hs->phase = id == AMQP_PROTO_SASL ? HS_SASL : HS_OPEN;
			hs_feed(hs, p, AMQP_PROTO_HEADER_LEN);
		} else {
			if (hs->phase == HS_SASL && avail >= 4 && memcmp(p, "AMQP", 4) == 0) {
				hs->sasl_done = true; /* the AMQP header after the outcome */
				hs->phase = HS_HEADER;
				continue;
			}
			if (avail < 8)
				return;
			uint32_t size = ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) |
					((uint32_t)p[2] << 8) | p[3];
			if (size < 8 || size > PRE_OPEN_FRAME_MAX) {
				ctl_log("SERVER", CTL_LEVEL_INFO,
					"[C%u.%u] Connection from %s closed: a %u-byte frame before "
					"Open (at most %u allowed)",
					hs->worker, hs->conn, hs->peer, size, PRE_OPEN_FRAME_MAX);
				hs_close(rt, hs, size < 8 ? DP_D_framing_error : DP_D_pre_open_too_large,
					 false);
				return;
			}
			if (avail < size)
				return;
			hs_feed(hs, p, size);
			if (hs->phase == HS_OPEN && size > 8)
				hs->phase = HS_WAIT; /* the Open (or what proton refuses) */
		}
		hs_events(rt, hs);
	}
}

void ctl_hs_input(struct ctl_rt *rt, struct ctl_hs *hs, uint64_t offset, const uint8_t *p, size_t n)
{
	if (hs->phase == HS_DONE)
		return;
	/* relays are in order; skip what we already have */
	if (offset > hs->len)
		return;
	size_t skip = (size_t)(hs->len - offset);
	if (skip >= n)
		return;
	p += skip;
	n -= skip;
	if (hs->len + n > hs->cap) {
		size_t cap = hs->cap ? hs->cap * 2 : 1024;
		while (cap < hs->len + n)
			cap *= 2;
		uint8_t *b = (uint8_t *)realloc(hs->buf, cap);
		if (b == NULL) {
			hs_close(rt, hs, DP_D_resource_limit, false);
			return;
		}
		hs->buf = b;
		hs->cap = cap;
	}
	memcpy(hs->buf + hs->len, p, n);
	hs->len += n;
	hs_split(rt, hs);
	if (hs->phase == HS_WAIT)
		hs_events(rt, hs);
}
