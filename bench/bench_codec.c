/* Codec microbenchmark (issue 3): ns per decode and per encode of a typical
 * oslo.messaging RPC transfer, ours beside proton-C's in the same run.
 *
 * The frame: header + transfer performative (handle, delivery-id, 16-byte
 * delivery-tag, message-format, settled=false) + message: header (ttl),
 * message-annotations (2 entries), properties (message-id, to, reply-to,
 * correlation-id), 100-byte data body. Ours reads it from a 2-segment chain
 * split inside the properties; proton gets one contiguous buffer.
 *
 * "Decode" = frame header checked, every transfer field decoded and
 * validated, message-annotations walked, to/reply-to/correlation-id
 * extracted, body bounds found; the extracted values are compared with the
 * expected ones on every iteration (a mismatch aborts).
 *
 * Usage: bench_codec [iterations]          markdown table and a JSON line
 *        bench_codec iterations profile  only the decode loop (split at the
 *                                         message start), for perf/callgrind */
#include <proton/codec.h>
#include <proton/message.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "amqp_frame.h"
#include "amqp_message.h"
#include "amqp_route.h"

#define TO "openstack.org/om/rpc/unicast/nova/compute/host-0042"
#define REPLY_TO "amqp:/_topic/rpcrouter.reply/9f6c1a2e-5d4b-4c3a-8e2f-1b0a9c8d7e6f"
#define CORR_ID "a7c3e9f1-2b4d-4e6f-8a0c-1d3e5f7a9b2c"
#define MSG_ID "b8d4f0a2-3c5e-4f70-9b1d-2e4f6a8c0d3e"
#define BODY_LEN 100

static uint8_t g_body[BODY_LEN];
static const uint8_t g_tag[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};

static double now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static void die(const char *what)
{
	fprintf(stderr, "bench_codec: check failed: %s\n", what);
	exit(1);
}

/* Our encoder: the whole frame into buf; returns its length. */
static size_t encode_ours(uint8_t *buf, size_t cap, uint32_t delivery_id)
{
	struct amqp_wbuf w;
	amqp_wbuf_init(&w, buf, cap);
	uint8_t *fh = amqp_frame_begin(&w);

	struct amqp_transfer t;
	amqp_transfer_init(&t);
	t.handle = 1;
	t.delivery_id = delivery_id;
	t.delivery_tag = amqp_bytes_of(g_tag, sizeof g_tag);
	t.message_format = 0;
	t.settled = false;
	t.present = AMQP_TRANSFER_HAS_HANDLE | AMQP_TRANSFER_HAS_DELIVERY_ID |
		    AMQP_TRANSFER_HAS_DELIVERY_TAG | AMQP_TRANSFER_HAS_MESSAGE_FORMAT |
		    AMQP_TRANSFER_HAS_SETTLED;
	amqp_transfer_encode(&w, &t);

	struct amqp_header h;
	amqp_header_init(&h);
	h.ttl = 60000;
	h.present = AMQP_HEADER_HAS_TTL;
	amqp_header_encode(&w, &h);

	uint8_t v1[16], v2[16];
	struct amqp_wbuf vw;
	amqp_wbuf_init(&vw, v1, sizeof v1);
	amqp_encode_csym(&vw, "rpc");
	size_t l1 = amqp_wbuf_len(&vw);
	amqp_wbuf_init(&vw, v2, sizeof v2);
	amqp_encode_uint(&vw, 3);
	size_t l2 = amqp_wbuf_len(&vw);
	struct amqp_annotation ann[2] = {{"x-opt-kind", amqp_bytes_of(v1, l1)},
					 {"x-opt-hops", amqp_bytes_of(v2, l2)}};
	amqp_encode_annotations(&w, AMQP_DESC_MESSAGE_ANNOTATIONS, NULL, ann, 2, NULL);

	struct amqp_properties p;
	amqp_properties_init(&p);
	struct amqp_value *ids[4] = {&p.message_id, &p.to, &p.reply_to, &p.correlation_id};
	const char *strs[4] = {MSG_ID, TO, REPLY_TO, CORR_ID};
	for (int i = 0; i < 4; i++) {
		ids[i]->type = AMQP_TYPE_STRING;
		ids[i]->descriptor = AMQP_DESC_NONE;
		ids[i]->raw = amqp_bytes_of(NULL, 0);
		ids[i]->bytes = amqp_bytes_of(strs[i], strlen(strs[i]));
	}
	p.present = AMQP_PROPERTIES_HAS_MESSAGE_ID | AMQP_PROPERTIES_HAS_TO |
		    AMQP_PROPERTIES_HAS_REPLY_TO | AMQP_PROPERTIES_HAS_CORRELATION_ID;
	amqp_properties_encode(&w, &p);

	struct amqp_bytes body = amqp_bytes_of(g_body, BODY_LEN);
	amqp_encode_data_section(&w, &body);
	amqp_frame_end(&w, fh, AMQP_FRAME_AMQP, 0);
	if (!amqp_wbuf_ok(&w))
		die("encode overflow");
	return amqp_wbuf_len(&w);
}

/* Frame header and transfer, every transfer field checked; p->payload is
 * then the message. Shared by both decode variants (inlined: part of what
 * each measures). */
static inline __attribute__((always_inline)) void decode_frame_transfer(const struct amqp_seg *segs,
									 size_t nsegs, uint32_t want_id,
									 struct amqp_performative *p,
									 struct amqp_diag *d)
{
	struct amqp_cursor c;
	struct amqp_frame f;

	amqp_cur_init(&c, segs, nsegs);
	if (amqp_frame_parse(&c, 65536, &f, d) != RR_OK)
		die("frame");
	if (amqp_performative_decode(&f.body, p, d) != RR_OK || p->code != AMQP_DESC_TRANSFER)
		die("transfer");
	const struct amqp_transfer *t = &p->u.transfer;
	if (t->handle != 1 || t->delivery_id != want_id || t->delivery_tag.len != 16 || t->settled ||
	    t->more || t->aborted)
		die("transfer fields");
}

/* Our decode through the router's fast path: amqp_route_scan and the
 * annotation walker (what rpcrouterd calls per transfer), with every
 * extracted value checked. */
__attribute__((noinline)) static void decode_ours(const struct amqp_seg *segs, size_t nsegs, uint32_t want_id)
{
	struct amqp_performative p;
	struct amqp_route_info r;
	struct amqp_diag d = {RR_OK, 0, NULL, NULL};

	decode_frame_transfer(segs, nsegs, want_id, &p, &d);
	if (amqp_route_scan(&p.payload, &r, &d) != RR_OK)
		die("message");
	if (r.header.ttl != 60000)
		die("ttl");
	struct amqp_ann_iter a;
	struct amqp_ref k, v;
	unsigned n = 0;
	amqp_ann_iter_init(&a, &r);
	while (amqp_ann_next(&a, &k, &v, &d) == RR_OK) {
		if (k.type != AMQP_TYPE_SYMBOL)
			die("annotations");
		n++;
	}
	if (n != 2)
		die("annotation count");
	if (r.to.type != AMQP_TYPE_STRING || !amqp_bytes_eq(&r.to.bytes, TO, sizeof TO - 1))
		die("to");
	if (!amqp_bytes_eq(&r.reply_to.bytes, REPLY_TO, sizeof REPLY_TO - 1))
		die("reply-to");
	if (!amqp_bytes_eq(&r.correlation_id.bytes, CORR_ID, sizeof CORR_ID - 1))
		die("correlation-id");
	if (r.body_sections != 1 || r.body.len != BODY_LEN + 5) /* descriptor 3 + vbin8 2 */
		die("body");
}

/* The same work with the full decode (amqp_message_scan: every section
 * into the general structs, annotations walked with amqp_iter). */
__attribute__((noinline)) static void decode_ours_full(const struct amqp_seg *segs, size_t nsegs, uint32_t want_id)
{
	struct amqp_performative p;
	struct amqp_message_view m;
	struct amqp_diag d = {RR_OK, 0, NULL, NULL};

	decode_frame_transfer(segs, nsegs, want_id, &p, &d);
	if (amqp_message_scan(&p.payload, &m, &d) != RR_OK)
		die("message");
	if (m.header.ttl != 60000)
		die("ttl");
	/* Walk the message annotations. */
	struct amqp_iter it;
	struct amqp_value k, v;
	unsigned n = 0;
	amqp_iter_init(&it, &m.message_annotations, &d);
	while (amqp_iter_next(&it, &k, &d) == RR_OK) {
		if (amqp_iter_next(&it, &v, &d) != RR_OK || k.type != AMQP_TYPE_SYMBOL)
			die("annotations");
		n++;
	}
	if (n != 2)
		die("annotation count");
	if (m.properties.to.type != AMQP_TYPE_STRING ||
	    !amqp_bytes_eq(&m.properties.to.bytes, TO, sizeof TO - 1))
		die("to");
	if (!amqp_bytes_eq(&m.properties.reply_to.bytes, REPLY_TO, sizeof REPLY_TO - 1))
		die("reply-to");
	if (!amqp_bytes_eq(&m.properties.correlation_id.bytes, CORR_ID, sizeof CORR_ID - 1))
		die("correlation-id");
	if (m.body_sections != 1 || m.body.len != BODY_LEN + 5) /* descriptor 3 + vbin8 2 */
		die("body");
}

/* Parts of decode_ours, for the breakdown rows (where the time goes). */
__attribute__((noinline)) static void decode_frame_only(const struct amqp_seg *segs, size_t nsegs, uint32_t want_id)
{
	struct amqp_performative p;
	struct amqp_diag d = {RR_OK, 0, NULL, NULL};
	decode_frame_transfer(segs, nsegs, want_id, &p, &d);
}

__attribute__((noinline)) static void decode_scan_only(const struct amqp_seg *seg)
{
	struct amqp_cursor c;
	struct amqp_message_view m;
	amqp_cur_init(&c, seg, 1);
	if (amqp_message_scan(&c, &m, NULL) != RR_OK || m.header.ttl != 60000)
		die("scan only");
}

/* Proton doing the same work: pn_data_decode of the performative, field
 * checks, pn_message_decode of the sections, annotations walked. */
static void decode_proton(pn_data_t *perf, pn_message_t *msg, const uint8_t *frame, size_t len,
			  uint32_t want_id)
{
	uint32_t size = ((uint32_t)frame[0] << 24) | (frame[1] << 16) | (frame[2] << 8) | frame[3];
	if (size != len || frame[4] < 2)
		die("proton frame");
	const char *body = (const char *)frame + frame[4] * 4;
	size_t body_len = len - frame[4] * 4;
	pn_data_clear(perf);
	ssize_t used = pn_data_decode(perf, body, body_len);
	if (used <= 0)
		die("proton performative");
	pn_data_rewind(perf);
	if (!pn_data_next(perf) || !pn_data_enter(perf) || !pn_data_next(perf) ||
	    pn_data_get_ulong(perf) != 0x14)
		die("proton descriptor");
	pn_data_next(perf);
	pn_data_enter(perf);
	pn_data_next(perf);
	if (pn_data_get_uint(perf) != 1)
		die("proton handle");
	pn_data_next(perf);
	if (pn_data_get_uint(perf) != want_id)
		die("proton delivery-id");
	pn_data_next(perf);
	if (pn_data_get_binary(perf).size != 16)
		die("proton tag");
	pn_data_next(perf);
	pn_data_next(perf);
	if (pn_data_get_bool(perf))
		die("proton settled");
	if (pn_message_decode(msg, body + used, body_len - (size_t)used) != 0)
		die("proton message");
	if (pn_message_get_ttl(msg) != 60000)
		die("proton ttl");
	pn_data_t *ma = pn_message_annotations(msg);
	pn_data_rewind(ma);
	pn_data_next(ma);
	if (pn_data_get_map(ma) != 4)
		die("proton annotations");
	pn_data_enter(ma);
	while (pn_data_next(ma))
		;
	pn_data_exit(ma);
	if (strcmp(pn_message_get_address(msg), TO) != 0)
		die("proton to");
	if (strcmp(pn_message_get_reply_to(msg), REPLY_TO) != 0)
		die("proton reply-to");
	pn_msgid_t cid = pn_message_get_correlation_id(msg);
	if (cid.type != PN_STRING || cid.u.as_bytes.size != sizeof CORR_ID - 1)
		die("proton correlation-id");
	pn_data_t *b = pn_message_body(msg);
	pn_data_rewind(b);
	pn_data_next(b);
	if (pn_data_get_binary(b).size != BODY_LEN)
		die("proton body");
}

/* Proton's encode of the same frame: performative with pn_data_encode,
 * message with pn_message_encode. */
static size_t encode_proton(pn_data_t *perf, pn_message_t *msg, char *buf, size_t cap, uint32_t id)
{
	pn_data_clear(perf);
	pn_data_put_described(perf);
	pn_data_enter(perf);
	pn_data_put_ulong(perf, 0x14);
	pn_data_put_list(perf);
	pn_data_enter(perf);
	pn_data_put_uint(perf, 1);
	pn_data_put_uint(perf, id);
	pn_data_put_binary(perf, pn_bytes(sizeof g_tag, (const char *)g_tag));
	pn_data_put_uint(perf, 0);
	pn_data_put_bool(perf, false);
	pn_data_exit(perf);
	pn_data_exit(perf);
	ssize_t n = pn_data_encode(perf, buf + 8, cap - 8);
	if (n <= 0)
		die("proton encode performative");
	size_t mlen = cap - 8 - (size_t)n;
	if (pn_message_encode(msg, buf + 8 + n, &mlen) != 0)
		die("proton encode message");
	size_t total = 8 + (size_t)n + mlen;
	buf[0] = (char)(total >> 24);
	buf[1] = (char)(total >> 16);
	buf[2] = (char)(total >> 8);
	buf[3] = (char)total;
	buf[4] = 2;
	buf[5] = 0;
	buf[6] = buf[7] = 0;
	return total;
}

static void proton_message_fill(pn_message_t *msg)
{
	pn_message_set_ttl(msg, 60000);
	pn_data_t *ma = pn_message_annotations(msg);
	pn_data_put_map(ma);
	pn_data_enter(ma);
	pn_data_put_symbol(ma, pn_bytes(10, "x-opt-kind"));
	pn_data_put_symbol(ma, pn_bytes(3, "rpc"));
	pn_data_put_symbol(ma, pn_bytes(10, "x-opt-hops"));
	pn_data_put_uint(ma, 3);
	pn_data_exit(ma);
	pn_msgid_t mid = {.type = PN_STRING, .u.as_bytes = pn_bytes(sizeof MSG_ID - 1, MSG_ID)};
	pn_message_set_id(msg, mid);
	pn_message_set_address(msg, TO);
	pn_message_set_reply_to(msg, REPLY_TO);
	pn_msgid_t cid = {.type = PN_STRING, .u.as_bytes = pn_bytes(sizeof CORR_ID - 1, CORR_ID)};
	pn_message_set_correlation_id(msg, cid);
	pn_data_put_binary(pn_message_body(msg), pn_bytes(BODY_LEN, (const char *)g_body));
}

/* Best of rounds, in ns per iteration. */
#define ROUNDS 7
#define MEASURE(result, iters, stmt)                                                               \
	do {                                                                                       \
		double best_ = 1e30;                                                               \
		for (int r_ = 0; r_ < ROUNDS; r_++) {                                              \
			double t0_ = now_ns();                                                     \
			for (long i_ = 0; i_ < (iters); i_++) {                                    \
				stmt;                                                              \
			}                                                                          \
			double ns_ = (now_ns() - t0_) / (double)(iters);                           \
			if (ns_ < best_)                                                           \
				best_ = ns_;                                                       \
		}                                                                                  \
		(result) = best_;                                                                  \
	} while (0)

int main(int argc, char **argv)
{
	long iters = argc > 1 ? atol(argv[1]) : 200000;
	static uint8_t frame[2048];
	static char pframe[2048];
	for (int i = 0; i < BODY_LEN; i++)
		g_body[i] = (uint8_t)(i * 13);

	size_t len = encode_ours(frame, sizeof frame, 7);
	/* Two 2-segment layouts: split where the message starts (frame header
	 * + performative in one buffer, message in the next, as a router that
	 * builds frames does), and split inside the properties list (as an
	 * arbitrary TCP read boundary may). */
	size_t split_msg;
	{
		struct amqp_seg one = {frame, (uint32_t)len};
		struct amqp_cursor c;
		struct amqp_frame f;
		struct amqp_performative pf;
		amqp_cur_init(&c, &one, 1);
		if (amqp_frame_parse(&c, 65536, &f, NULL) != RR_OK ||
		    amqp_performative_decode(&f.body, &pf, NULL) != RR_OK)
			die("frame");
		split_msg = len - (size_t)amqp_cur_left(&pf.payload);
	}
	size_t split_props = len - BODY_LEN - 60;
	struct amqp_seg segs[2] = {{frame, (uint32_t)split_msg}, {frame + split_msg, (uint32_t)(len - split_msg)}};
	struct amqp_seg segs_p[2] = {{frame, (uint32_t)split_props},
				     {frame + split_props, (uint32_t)(len - split_props)}};
	{
		/* The split really is at the message start: the payload's first
		 * byte is the header section's descriptor. */
		if (frame[split_msg] != 0x00 || frame[split_msg + 2] != 0x70)
			die("split point");
	}

	pn_data_t *perf = pn_data(16);
	pn_message_t *msg = pn_message();
	pn_message_t *pmsg = pn_message();
	proton_message_fill(pmsg);
	/* Sanity: proton decodes our frame, and we decode proton's. */
	decode_proton(perf, msg, frame, len, 7);
	size_t plen = encode_proton(perf, pmsg, pframe, sizeof pframe, 7);
	struct amqp_seg pseg = {(const uint8_t *)pframe, (uint32_t)plen};
	decode_ours(&pseg, 1, 7);

	if (argc > 2 && strcmp(argv[2], "profile") == 0) {
		for (long i = 0; i < iters; i++)
			decode_ours(segs, 2, 7);
		return 0;
	}
	double frame_only, scan_only;
	MEASURE(frame_only, iters, decode_frame_only(segs, 2, 7));
	MEASURE(scan_only, iters, decode_scan_only(&segs[1]));
	double ours_dec, ours_dec_p, prot_dec, ours_enc, prot_enc;
	double ours_full;
	decode_ours_full(segs, 2, 7);
	MEASURE(ours_full, iters, decode_ours_full(segs, 2, 7));
	MEASURE(ours_dec, iters, decode_ours(segs, 2, 7));
	MEASURE(ours_dec_p, iters, decode_ours(segs_p, 2, 7));
	MEASURE(prot_dec, iters / 10, decode_proton(perf, msg, frame, len, 7));
	MEASURE(ours_enc, iters, if (encode_ours(frame, sizeof frame, 7) != len) die("len"));
	MEASURE(prot_enc, iters / 10, encode_proton(perf, pmsg, pframe, sizeof pframe, 7));

	printf("| operation (%zu-byte oslo RPC transfer frame) | rpcrouter ns | proton-C ns | proton / rpcrouter |\n", len);
	printf("|---|---:|---:|---:|\n");
	printf("| decode, 2 segments split at the message start | %.1f | %.1f | %.1fx |\n", ours_dec, prot_dec, prot_dec / ours_dec);
	printf("| decode, 2 segments split inside the properties | %.1f | %.1f | %.1fx |\n", ours_dec_p, prot_dec, prot_dec / ours_dec_p);
	printf("| decode with the full message_scan, split at the message start | %.1f | %.1f | %.1fx |\n", ours_full, prot_dec, prot_dec / ours_full);
	printf("| encode | %.1f | %.1f | %.1fx |\n", ours_enc, prot_enc, prot_enc / ours_enc);
	printf("\nrpcrouter breakdown: frame header + transfer %.1f ns; message scan alone "
	       "(header, annotations, properties, body bounds; one segment) %.1f ns\n",
	       frame_only, scan_only);
	printf("{\"bench\":\"codec\",\"frame_bytes\":%zu,\"iterations\":%ld,\"decode_ns\":%.2f,\"decode_split_in_properties_ns\":%.2f,\"decode_full_scan_ns\":%.2f,"
	       "\"proton_decode_ns\":%.2f,\"encode_ns\":%.2f,\"proton_encode_ns\":%.2f}\n",
	       len, iters, ours_dec, ours_dec_p, ours_full, prot_dec, ours_enc, prot_enc);
	pn_data_free(perf);
	pn_message_free(msg);
	pn_message_free(pmsg);
	return 0;
}
