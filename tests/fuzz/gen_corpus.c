/* Seed generator for the fuzz corpus: writes OUTDIR/<target>/seed-<name>
 * (and seed-<name>-split, the same bytes cut into another segment chain).
 * Seeds are made with our own encoder, by hand for the hostile ones, and
 * (when built with proton) with proton-C's pn_message_encode for a message
 * encoded by an independent implementation.
 *
 *   ./build/tests/fuzz/fuzz_gen_corpus tests/fuzz/corpus
 *
 * Every seed starts with the split header of fuzz_common.h (fuzz_frame:
 * the max-frame-size selector byte first). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "amqp_frame.h"
#include "amqp_message.h"

#ifdef FUZZ_GEN_PROTON
#include <proton/codec.h>
#include <proton/message.h>
#endif

static const char *out_root;
static unsigned nseeds;

/* --- a growable byte buffer ------------------------------------------- */

struct gbuf {
	uint8_t *p;
	size_t len, cap;
};

static void g_put(struct gbuf *g, const void *d, size_t n)
{
	if (g->len + n > g->cap) {
		size_t cap = g->cap ? g->cap : 256;
		while (cap < g->len + n)
			cap *= 2;
		uint8_t *np = (uint8_t *)realloc(g->p, cap);
		if (np == NULL)
			abort();
		g->p = np;
		g->cap = cap;
	}
	if (n)
		memcpy(g->p + g->len, d, n);
	g->len += n;
}
static void g_u8(struct gbuf *g, uint8_t b) { g_put(g, &b, 1); }
static void g_be32(struct gbuf *g, uint32_t v)
{
	uint8_t b[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
	g_put(g, b, 4);
}
static void g_bytes(struct gbuf *g, const char *hex)
{
	/* "00 53 10 c0" -> bytes */
	while (*hex) {
		if (*hex == ' ') {
			hex++;
			continue;
		}
		unsigned v;
		if (sscanf(hex, "%2x", &v) != 1)
			abort();
		g_u8(g, (uint8_t)v);
		hex += 2;
	}
}
static void g_reset(struct gbuf *g) { g->len = 0; }

/* Encode with our encoder into a scratch buffer, then append. */
static uint8_t scratch[1 << 17];
static struct amqp_wbuf sw;
static struct amqp_wbuf *W(void)
{
	amqp_wbuf_init(&sw, scratch, sizeof scratch);
	return &sw;
}
static void g_w(struct gbuf *g)
{
	if (!amqp_wbuf_ok(&sw))
		abort();
	g_put(g, scratch, amqp_wbuf_len(&sw));
}

/* A decoded value that owns a copy of its encoding (leaked on purpose:
 * the generator is a short-lived program). */
static struct amqp_value val_of_w(void)
{
	size_t n = amqp_wbuf_len(&sw);
	uint8_t *copy = (uint8_t *)malloc(n);
	struct amqp_seg *seg = (struct amqp_seg *)malloc(sizeof *seg);
	struct amqp_cursor c;
	struct amqp_value v;
	if (copy == NULL || seg == NULL || !amqp_wbuf_ok(&sw))
		abort();
	memcpy(copy, scratch, n);
	amqp_cur_init_flat(&c, seg, copy, n);
	if (amqp_decode_value(&c, &v, NULL) != RR_OK)
		abort();
	return v;
}
static struct amqp_value val_syms(const char *const *syms, size_t n)
{
	amqp_encode_symbols(W(), syms, n);
	return val_of_w();
}
static struct amqp_value val_str(const char *s)
{
	amqp_encode_cstr(W(), s);
	return val_of_w();
}
static struct amqp_bytes B(const char *s) { return amqp_bytes_of(s, strlen(s)); }

/* --- writing seeds ------------------------------------------------------ */

static void write_file(const char *target, const char *name, const uint8_t *prefix, size_t plen,
		       const uint8_t *d, size_t n)
{
	char path[1024];
	snprintf(path, sizeof path, "%s/%s", out_root, target);
	if (mkdir(path, 0755) != 0 && errno != EEXIST) {
		perror(path);
		exit(1);
	}
	snprintf(path, sizeof path, "%s/%s/seed-%s", out_root, target, name);
	FILE *f = fopen(path, "wb");
	if (f == NULL || fwrite(prefix, 1, plen, f) != plen || (n && fwrite(d, 1, n, f) != n) ||
	    fclose(f) != 0) {
		perror(path);
		exit(1);
	}
	nseeds++;
}

/* Two seeds per input: one segment, and a chain (1-byte chunks for small
 * inputs, explicit cuts with an empty segment, or 7-byte chunks). */
static void seed_x(const char *target, const char *name, const uint8_t *pre, size_t prelen,
		   const struct gbuf *g)
{
	uint8_t prefix[8];
	char split_name[256];
	static unsigned turn;

	if (prelen)
		memcpy(prefix, pre, prelen);
	prefix[prelen] = 0x00;
	write_file(target, name, prefix, prelen + 1, g->p, g->len);

	size_t plen = prelen;
	switch (g->len > 4096 ? 1 + turn % 2 : turn % 3) {
	case 0: prefix[plen++] = 0x80; break; /* 1-byte segments */
	case 1: /* cuts: 3 bytes, an empty segment, 1 byte, the rest */
		prefix[plen++] = 0x03;
		prefix[plen++] = 3;
		prefix[plen++] = 0;
		prefix[plen++] = 1;
		break;
	default: prefix[plen++] = 0x86; break; /* 7-byte segments */
	}
	turn++;
	snprintf(split_name, sizeof split_name, "%s-split", name);
	write_file(target, split_name, prefix, plen, g->p, g->len);
}
static void seed(const char *target, const char *name, const struct gbuf *g)
{
	seed_x(target, name, NULL, 0, g);
}

/* --- values ------------------------------------------------------------- */

static void gen_values(void)
{
	static const struct {
		const char *name, *hex;
	} v[] = {
		{"null", "40"},
		{"true-false-bool", "41 42 56 00 56 01 56 02"},
		{"ubyte-ushort", "50 ff 60 12 34"},
		{"uint-forms", "43 52 07 70 00 01 00 00"},
		{"ulong-forms", "44 53 07 80 00 00 00 01 00 00 00 00"},
		{"signed", "51 80 61 80 00 54 ff 71 80 00 00 00 55 ff 81 80 00 00 00 00 00 00 00"},
		{"float-double", "72 3f 80 00 00 82 3f f0 00 00 00 00 00 00"},
		{"decimals", "74 01 02 03 04 84 01 02 03 04 05 06 07 08 94 00 01 02 03 04 05 06 07 08 09 0a 0b 0c 0d 0e 0f"},
		{"char-timestamp-uuid", "73 00 00 00 41 83 00 00 01 7f 00 00 00 00 98 00 11 22 33 44 55 66 77 88 99 aa bb cc dd ee ff"},
		{"vbin-str-sym", "a0 03 01 02 03 b0 00 00 00 02 aa bb a1 05 68 65 6c 6c 6f b1 00 00 00 01 78 a3 03 66 6f 6f b3 00 00 00 03 62 61 72"},
		{"lists", "45 c0 03 02 41 42 d0 00 00 00 06 00 00 00 02 40 43"},
		{"maps", "c1 05 02 a3 01 6b 41 d1 00 00 00 07 00 00 00 02 a1 01 6b 40"},
		{"array8-sym", "e0 0b 02 a3 04 50 4c 41 49 4e 03 66 6f 6f"},
		{"array32-uint", "f0 00 00 00 0d 00 00 00 02 70 00 00 00 01 00 00 00 02"},
		{"array-described", "e0 0a 02 00 53 70 c0 02 01 41 01 00"},
		{"array-sym-descriptor", "e0 0b 01 00 a3 05 78 2d 66 6f 6f 52 07"},
		{"array-zero-width", "e0 03 05 40 e0 03 03 41"},
		{"array-of-arrays", "e0 0b 02 e0 03 01 52 07 03 01 52 08"},
		{"described-ulong", "00 53 10 c0 03 01 a1 00"},
		{"described-symbol", "00 a3 0e 61 6d 71 70 3a 6f 70 65 6e 3a 6c 69 73 74 45"},
		{"described-unknown-symbol", "00 a3 07 78 3a 66 6f 6f 3a 31 52 05"},
		{"described-twice", "00 53 01 00 53 02 43"},
		{"descriptor-described", "00 00 53 01 53 02 40"},
		{"list-of-described", "c0 0a 02 00 53 24 45 00 a3 01 78 40"},
		/* hostile */
		{"str8-past-end", "a1 c8 61 62 63"},
		{"vbin32-4gib", "b0 ff ff ff ff 00 01 02"},
		{"sym32-4gib", "b3 ff ff ff ff"},
		{"list32-4gib", "d0 ff ff ff ff ff ff ff ff 40"},
		{"list32-count-4gib", "d0 00 00 00 05 ff ff ff ff 40"},
		{"map32-4gib", "d1 ff ff ff ff 00 00 00 02 40 40"},
		{"array32-4gib", "f0 ff ff ff ff 00 00 00 01 52 01"},
		{"array32-count-4gib-zero-width", "f0 00 00 00 05 ff ff ff ff 40"},
		{"array32-count-4gib-uint", "f0 00 00 00 09 ff ff ff ff 70 00 00 00 01"},
		{"array-lying-count-high", "e0 04 05 52 01 02"},
		{"array-lying-count-low", "e0 05 01 52 01 02 03"},
		{"array-lying-count-var", "e0 08 04 a1 01 61 01 62"},
		{"list-lying-count-high", "c0 03 05 41 42"},
		{"list-lying-count-low", "c0 04 01 41 42 43"},
		{"map-odd-count", "c1 04 03 41 42 43"},
		{"list-size-zero", "c0 00"},
		{"list32-size-below-count", "d0 00 00 00 02 00 00 00 00"},
		{"array-size-one", "e0 01 00"},
		{"array-elem-constructor-zero", "e0 03 01 00 00"},
		{"array-elem-reserved", "e0 03 01 01 00"},
		{"reserved-codes", "01 02 0f 1f 2f 3f 4f 57 5f 65 6f 75 7f 85 8f 95 99 9f a2 a4 af b2 b4 bf c2 cf d2 df e1 ef f1 ff"},
		{"descriptor-bad", "00 40 40"},
		{"descriptor-truncated", "00 80 00 00"},
		{"fixed-truncated", "98 00 11 22"},
		{"empty", ""},
	};
	struct gbuf g = {0};
	for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
		g_reset(&g);
		g_bytes(&g, v[i].hex);
		seed("value", v[i].name, &g);
	}

	/* Described types nested 10k deep. */
	g_reset(&g);
	for (int i = 0; i < 10000; i++)
		g_bytes(&g, "00 53 01");
	g_bytes(&g, "40");
	seed("value", "described-10k-deep", &g);
	/* The same inside a list32, so the iterator meets it. */
	{
		struct gbuf in = {0};
		for (int i = 0; i < 10000; i++)
			g_bytes(&in, "00 53 70");
		g_bytes(&in, "45");
		g_reset(&g);
		g_u8(&g, 0xd0);
		g_be32(&g, (uint32_t)in.len + 4);
		g_be32(&g, 1);
		g_put(&g, in.p, in.len);
		seed("value", "list-of-described-10k-deep", &g);
		free(in.p);
	}
	/* Lists nested 1000 deep (list32 each), beyond any walk depth. */
	g_reset(&g);
	for (int i = 0; i < 1000; i++) {
		g_u8(&g, 0xd0);
		g_be32(&g, (uint32_t)(9 * (1000 - i) - 5 + 1));
		g_be32(&g, 1);
	}
	g_bytes(&g, "45");
	seed("value", "list-1000-deep", &g);
	free(g.p);
}

/* --- performatives ------------------------------------------------------ */

static const char *const caps[] = {"ANONYMOUS-RELAY", "DELAYED_DELIVERY"};

static struct amqp_value val_props_map(void)
{
	struct amqp_wbuf *w = W();
	struct amqp_compound k;
	amqp_encode_map_open(w, &k);
	amqp_encode_csym(w, "product");
	amqp_encode_cstr(w, "qpid-proton-python");
	amqp_encode_csym(w, "version");
	amqp_encode_cstr(w, "0.37.0");
	k.count = 4;
	amqp_encode_compound_close(w, &k);
	return val_of_w();
}

static struct amqp_value val_source(const char *addr, bool dynamic)
{
	struct amqp_source s;
	amqp_source_init(&s);
	if (addr) {
		s.address = val_str(addr);
		s.present |= AMQP_SOURCE_HAS_ADDRESS;
	}
	s.durable = 0;
	s.present |= AMQP_SOURCE_HAS_DURABLE;
	s.expiry_policy = B("link-detach");
	s.present |= AMQP_SOURCE_HAS_EXPIRY_POLICY;
	s.dynamic = dynamic;
	s.present |= AMQP_SOURCE_HAS_DYNAMIC;
	s.outcomes = val_syms((const char *const[]){"amqp:accepted:list", "amqp:released:list"}, 2);
	s.present |= AMQP_SOURCE_HAS_OUTCOMES;
	amqp_source_encode(W(), &s);
	return val_of_w();
}

static struct amqp_value val_target(const char *addr)
{
	struct amqp_target t;
	amqp_target_init(&t);
	if (addr) {
		t.address = val_str(addr);
		t.present |= AMQP_TARGET_HAS_ADDRESS;
	}
	amqp_target_encode(W(), &t);
	return val_of_w();
}

static struct amqp_value val_accepted(void)
{
	struct amqp_accepted a;
	amqp_accepted_init(&a);
	amqp_accepted_encode(W(), &a);
	return val_of_w();
}

static void fill_error(struct amqp_error *e, const char *cond, const char *desc)
{
	amqp_error_init(e);
	e->condition = B(cond);
	e->present |= AMQP_ERROR_HAS_CONDITION;
	if (desc) {
		e->description = B(desc);
		e->present |= AMQP_ERROR_HAS_DESCRIPTION;
		e->info = val_props_map();
		e->present |= AMQP_ERROR_HAS_INFO;
	}
}

/* An oslo.messaging RPC call as the AMQP 1.0 driver sends it: header,
 * message-annotations, properties with to/reply-to/correlation-id (well,
 * message-id too), and a data body. */
static void enc_oslo_message(struct gbuf *g, size_t body_len)
{
	struct amqp_header h;
	amqp_header_init(&h);
	h.durable = false;
	h.present |= AMQP_HEADER_HAS_DURABLE;
	h.ttl = 60000;
	h.present |= AMQP_HEADER_HAS_TTL;
	amqp_header_encode(W(), &h);
	g_w(g);

	uint8_t v1[64];
	struct amqp_wbuf vw;
	amqp_wbuf_init(&vw, v1, sizeof v1);
	amqp_encode_cstr(&vw, "0/rpcrouter-1");
	uint8_t v0[96];
	struct amqp_wbuf vw0;
	amqp_wbuf_init(&vw0, v0, sizeof v0);
	amqp_encode_cstr(&vw0, "openstack.org/om/rpc/nova/compute/host1");
	struct amqp_annotation ann[2] = {
		{"x-opt-qd.to", amqp_bytes_of(v0, amqp_wbuf_len(&vw0))},
		{"x-opt-qd.trace", amqp_bytes_of(v1, amqp_wbuf_len(&vw))},
	};
	if (amqp_encode_annotations(W(), AMQP_DESC_MESSAGE_ANNOTATIONS, NULL, ann, 2, NULL) != RR_OK)
		abort();
	g_w(g);

	struct amqp_properties p;
	amqp_properties_init(&p);
	p.message_id = val_str("3b6d0c2e-6f0e-4d5a-9b3e-0f6a1c2b3d4e");
	p.present |= AMQP_PROPERTIES_HAS_MESSAGE_ID;
	p.to = val_str("openstack.org/om/rpc/nova/compute/host1");
	p.present |= AMQP_PROPERTIES_HAS_TO;
	p.reply_to = val_str("openstack.org/om/rpc/reply/7f3a");
	p.present |= AMQP_PROPERTIES_HAS_REPLY_TO;
	{
		static const uint8_t uuid[16] = {0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
		amqp_encode_uuid(W(), uuid);
		p.correlation_id = val_of_w();
		p.present |= AMQP_PROPERTIES_HAS_CORRELATION_ID;
	}
	amqp_properties_encode(W(), &p);
	g_w(g);

	char *body = (char *)malloc(body_len);
	if (body == NULL)
		abort();
	for (size_t i = 0; i < body_len; i++)
		body[i] = "{\"oslo.message\": \"...\"}"[i % 24];
	struct amqp_bytes bb = amqp_bytes_of(body, body_len);
	amqp_encode_data_section(W(), &bb);
	g_w(g);
	free(body);
}

/* Every performative, encoded by the generated encoders, each appended to
 * out[i] as a frame body. */
enum { P_OPEN, P_BEGIN, P_ATTACH_SND, P_ATTACH_RCV, P_FLOW, P_TRANSFER, P_DISPOSITION, P_DETACH,
       P_END, P_CLOSE, P_COUNT };
static const char *const perf_names[P_COUNT] = {"open", "begin", "attach-sender", "attach-receiver",
						 "flow", "transfer-oslo-rpc", "disposition", "detach-error",
						 "end", "close-error"};

static void enc_performatives(struct gbuf out[P_COUNT])
{
	struct amqp_open o;
	amqp_open_init(&o);
	o.container_id = B("rpcrouter-fuzz");
	o.hostname = B("localhost");
	o.max_frame_size = 65536;
	o.channel_max = 32767;
	o.idle_time_out = 16000;
	o.offered_capabilities = val_syms(caps, 2);
	o.desired_capabilities = val_syms(caps, 1);
	o.properties = val_props_map();
	o.present |= AMQP_OPEN_HAS_CONTAINER_ID | AMQP_OPEN_HAS_HOSTNAME | AMQP_OPEN_HAS_MAX_FRAME_SIZE |
		     AMQP_OPEN_HAS_CHANNEL_MAX | AMQP_OPEN_HAS_IDLE_TIME_OUT |
		     AMQP_OPEN_HAS_OFFERED_CAPABILITIES | AMQP_OPEN_HAS_DESIRED_CAPABILITIES |
		     AMQP_OPEN_HAS_PROPERTIES;
	amqp_open_encode(W(), &o);
	g_w(&out[P_OPEN]);

	struct amqp_begin b;
	amqp_begin_init(&b);
	b.remote_channel = 0;
	b.next_outgoing_id = 1;
	b.incoming_window = 2147483647;
	b.outgoing_window = 2147483647;
	b.handle_max = 65535;
	b.present |= AMQP_BEGIN_HAS_REMOTE_CHANNEL | AMQP_BEGIN_HAS_NEXT_OUTGOING_ID |
		     AMQP_BEGIN_HAS_INCOMING_WINDOW | AMQP_BEGIN_HAS_OUTGOING_WINDOW |
		     AMQP_BEGIN_HAS_HANDLE_MAX;
	amqp_begin_encode(W(), &b);
	g_w(&out[P_BEGIN]);

	struct amqp_attach a;
	amqp_attach_init(&a);
	a.name = B("sender-openstack.org/om/rpc/nova");
	a.handle = 0;
	a.role = AMQP_ROLE_SENDER;
	a.snd_settle_mode = AMQP_SENDER_SETTLE_MODE_UNSETTLED;
	a.rcv_settle_mode = AMQP_RECEIVER_SETTLE_MODE_FIRST;
	a.source = val_source("rpcrouter-fuzz", false);
	a.target = val_target("openstack.org/om/rpc/nova/compute/host1");
	a.initial_delivery_count = 0;
	a.max_message_size = 1048576;
	a.present |= AMQP_ATTACH_HAS_NAME | AMQP_ATTACH_HAS_HANDLE | AMQP_ATTACH_HAS_ROLE |
		     AMQP_ATTACH_HAS_SND_SETTLE_MODE | AMQP_ATTACH_HAS_RCV_SETTLE_MODE |
		     AMQP_ATTACH_HAS_SOURCE | AMQP_ATTACH_HAS_TARGET |
		     AMQP_ATTACH_HAS_INITIAL_DELIVERY_COUNT | AMQP_ATTACH_HAS_MAX_MESSAGE_SIZE;
	amqp_attach_encode(W(), &a);
	g_w(&out[P_ATTACH_SND]);

	amqp_attach_init(&a);
	a.name = B("receiver-reply");
	a.handle = 1;
	a.role = AMQP_ROLE_RECEIVER;
	a.source = val_source(NULL, true);
	a.target = val_target(NULL);
	a.desired_capabilities = val_syms(caps, 1);
	a.properties = val_props_map();
	a.present |= AMQP_ATTACH_HAS_NAME | AMQP_ATTACH_HAS_HANDLE | AMQP_ATTACH_HAS_ROLE |
		     AMQP_ATTACH_HAS_SOURCE | AMQP_ATTACH_HAS_TARGET |
		     AMQP_ATTACH_HAS_DESIRED_CAPABILITIES | AMQP_ATTACH_HAS_PROPERTIES;
	amqp_attach_encode(W(), &a);
	g_w(&out[P_ATTACH_RCV]);

	struct amqp_flow f;
	amqp_flow_init(&f);
	f.next_incoming_id = 1;
	f.incoming_window = 2147483647;
	f.next_outgoing_id = 1;
	f.outgoing_window = 2147483647;
	f.handle = 1;
	f.delivery_count = 0;
	f.link_credit = 200;
	f.drain = false;
	f.present |= AMQP_FLOW_HAS_NEXT_INCOMING_ID | AMQP_FLOW_HAS_INCOMING_WINDOW |
		     AMQP_FLOW_HAS_NEXT_OUTGOING_ID | AMQP_FLOW_HAS_OUTGOING_WINDOW |
		     AMQP_FLOW_HAS_HANDLE | AMQP_FLOW_HAS_DELIVERY_COUNT | AMQP_FLOW_HAS_LINK_CREDIT |
		     AMQP_FLOW_HAS_DRAIN;
	amqp_flow_encode(W(), &f);
	g_w(&out[P_FLOW]);

	struct amqp_transfer t;
	amqp_transfer_init(&t);
	t.handle = 0;
	t.delivery_id = 0;
	t.delivery_tag = amqp_bytes_of("\x00\x00\x00\x01", 4);
	t.message_format = 0;
	t.settled = false;
	t.present |= AMQP_TRANSFER_HAS_HANDLE | AMQP_TRANSFER_HAS_DELIVERY_ID |
		     AMQP_TRANSFER_HAS_DELIVERY_TAG | AMQP_TRANSFER_HAS_MESSAGE_FORMAT |
		     AMQP_TRANSFER_HAS_SETTLED;
	amqp_transfer_encode(W(), &t);
	g_w(&out[P_TRANSFER]);
	enc_oslo_message(&out[P_TRANSFER], 100);

	struct amqp_disposition dp;
	amqp_disposition_init(&dp);
	dp.role = AMQP_ROLE_RECEIVER;
	dp.first = 0;
	dp.last = 7;
	dp.settled = true;
	dp.state = val_accepted();
	dp.present |= AMQP_DISPOSITION_HAS_ROLE | AMQP_DISPOSITION_HAS_FIRST |
		      AMQP_DISPOSITION_HAS_LAST | AMQP_DISPOSITION_HAS_SETTLED |
		      AMQP_DISPOSITION_HAS_STATE;
	amqp_disposition_encode(W(), &dp);
	g_w(&out[P_DISPOSITION]);

	struct amqp_detach dt;
	amqp_detach_init(&dt);
	dt.handle = 0;
	dt.closed = true;
	fill_error(&dt.error, "amqp:link:detach-forced", "worker shutting down");
	dt.present |= AMQP_DETACH_HAS_HANDLE | AMQP_DETACH_HAS_CLOSED | AMQP_DETACH_HAS_ERROR;
	amqp_detach_encode(W(), &dt);
	g_w(&out[P_DETACH]);

	struct amqp_end e;
	amqp_end_init(&e);
	amqp_end_encode(W(), &e);
	g_w(&out[P_END]);

	struct amqp_close c;
	amqp_close_init(&c);
	fill_error(&c.error, "amqp:connection:framing-error", "frame size below 8");
	c.present |= AMQP_CLOSE_HAS_ERROR;
	amqp_close_encode(W(), &c);
	g_w(&out[P_CLOSE]);
}

static void gen_performatives(const struct gbuf perf[P_COUNT])
{
	for (int i = 0; i < P_COUNT; i++)
		seed("performative", perf_names[i], &perf[i]);

	static const struct {
		const char *name, *hex;
	} v[] = {
		{"open-symbolic-descriptor", "00 a3 0e 61 6d 71 70 3a 6f 70 65 6e 3a 6c 69 73 74 c0 03 01 a1 00"},
		{"open-list32", "00 53 10 d0 00 00 00 07 00 00 00 01 a1 01 78"},
		{"open-missing-container-id", "00 53 10 45"},
		{"open-null-container-id", "00 53 10 c0 02 01 40"},
		{"open-wrong-type", "00 53 10 c0 03 01 52 01"},
		{"open-too-many-fields", "00 53 10 c0 0e 0c a1 01 78 40 40 40 40 40 40 40 40 40 40 40"},
		{"begin-window-4gib", "00 53 11 c0 13 04 40 70 ff ff ff ff 70 ff ff ff ff 70 ff ff ff ff"},
		{"flow-minimal", "00 53 13 c0 04 04 40 43 43 43"},
		{"transfer-minimal", "00 53 14 c0 02 01 43"},
		{"transfer-state-described", "00 53 14 c0 0c 08 43 43 a0 01 01 43 41 40 40 00 53 24 45"},
		{"disposition-minimal", "00 53 15 c0 03 02 41 43"},
		{"end-empty", "00 53 17 45"},
		{"close-error-cond-only", "00 53 18 c0 0b 01 00 53 1d c0 05 01 a3 02 61 62"},
		{"close-error-wrong-descriptor", "00 53 18 c0 0b 01 00 53 1e c0 05 01 a3 02 61 62"},
		{"close-trailing-bytes", "00 53 18 45 40"},
		{"unknown-performative", "00 53 19 45"},
		{"not-described", "c0 01 00"},
		{"sasl-as-performative", "00 53 44 c0 02 01 50 00"},
		{"descriptor-4gib", "00 80 00 00 00 00 ff ff ff ff 45"},
		{"list32-size-4gib", "00 53 10 d0 ff ff ff ff 00 00 00 01 a1 00"},
		{"list-lying-count", "00 53 13 c0 04 09 40 43 43"},
		{"empty", ""},
	};
	struct gbuf g = {0};
	for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
		g_reset(&g);
		g_bytes(&g, v[i].hex);
		seed("performative", v[i].name, &g);
	}
	/* A transfer whose state is described 10k deep. */
	g_reset(&g);
	{
		struct gbuf in = {0};
		g_bytes(&in, "43 43 a0 01 01 43 41 40 40");
		for (int i = 0; i < 10000; i++)
			g_bytes(&in, "00 53 24");
		g_bytes(&in, "45");
		g_bytes(&g, "00 53 14 d0");
		g_be32(&g, (uint32_t)in.len + 4);
		g_be32(&g, 8);
		g_put(&g, in.p, in.len);
		free(in.p);
	}
	seed("performative", "transfer-state-10k-deep", &g);
	free(g.p);
}

/* --- SASL --------------------------------------------------------------- */

enum { S_MECHS, S_MECHS_ONE, S_INIT, S_CHALLENGE, S_RESPONSE, S_OUTCOME_OK, S_OUTCOME_AUTH, S_COUNT };
static const char *const sasl_names[S_COUNT] = {"mechanisms", "mechanisms-single", "init-plain",
						 "challenge", "response", "outcome-ok", "outcome-auth"};

static void enc_sasl(struct gbuf out[S_COUNT])
{
	static const char *const mechs[] = {"ANONYMOUS", "PLAIN", "EXTERNAL", "SCRAM-SHA-256"};
	struct amqp_sasl_mechanisms m;
	amqp_sasl_mechanisms_init(&m);
	m.sasl_server_mechanisms = val_syms(mechs, 4);
	m.present |= AMQP_SASL_MECHANISMS_HAS_SASL_SERVER_MECHANISMS;
	amqp_sasl_mechanisms_encode(W(), &m);
	g_w(&out[S_MECHS]);
	m.sasl_server_mechanisms = val_syms(mechs, 1);
	amqp_sasl_mechanisms_encode(W(), &m);
	g_w(&out[S_MECHS_ONE]);

	struct amqp_sasl_init in;
	amqp_sasl_init_init(&in);
	in.mechanism = B("PLAIN");
	in.initial_response = amqp_bytes_of("\0guest\0secret", 13);
	in.hostname = B("localhost");
	in.present |= AMQP_SASL_INIT_HAS_MECHANISM | AMQP_SASL_INIT_HAS_INITIAL_RESPONSE |
		      AMQP_SASL_INIT_HAS_HOSTNAME;
	amqp_sasl_init_encode(W(), &in);
	g_w(&out[S_INIT]);

	struct amqp_sasl_challenge ch;
	amqp_sasl_challenge_init(&ch);
	ch.challenge = B("r=fyko+d2lbbFgONRv9qkxdawL,s=QSXCR+Q6sek8bf92,i=4096");
	ch.present |= AMQP_SASL_CHALLENGE_HAS_CHALLENGE;
	amqp_sasl_challenge_encode(W(), &ch);
	g_w(&out[S_CHALLENGE]);

	struct amqp_sasl_response r;
	amqp_sasl_response_init(&r);
	r.response = B("c=biws,r=fyko+d2lbbFgONRv9qkxdawL,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=");
	r.present |= AMQP_SASL_RESPONSE_HAS_RESPONSE;
	amqp_sasl_response_encode(W(), &r);
	g_w(&out[S_RESPONSE]);

	struct amqp_sasl_outcome o;
	amqp_sasl_outcome_init(&o);
	o.code = AMQP_SASL_CODE_OK;
	o.present |= AMQP_SASL_OUTCOME_HAS_CODE;
	amqp_sasl_outcome_encode(W(), &o);
	g_w(&out[S_OUTCOME_OK]);
	o.code = AMQP_SASL_CODE_AUTH;
	o.additional_data = B("authentication failed");
	o.present |= AMQP_SASL_OUTCOME_HAS_ADDITIONAL_DATA;
	amqp_sasl_outcome_encode(W(), &o);
	g_w(&out[S_OUTCOME_AUTH]);
}

static void gen_sasl(const struct gbuf sasl[S_COUNT])
{
	for (int i = 0; i < S_COUNT; i++)
		seed("sasl", sasl_names[i], &sasl[i]);
	static const struct {
		const char *name, *hex;
	} v[] = {
		{"mechanisms-array-lying-count", "00 53 40 c0 0c 01 e0 09 05 a3 05 50 4c 41 49 4e"},
		{"mechanisms-array32-4gib", "00 53 40 c0 0e 01 f0 ff ff ff ff 00 00 00 01 a3 01 41"},
		{"mechanisms-wrong-elem-type", "00 53 40 c0 07 01 e0 04 01 52 01 02"},
		{"mechanisms-missing", "00 53 40 45"},
		{"init-symbolic-descriptor", "00 a3 13 61 6d 71 70 3a 73 61 73 6c 2d 69 6e 69 74 3a 6c 69 73 74 c0 0b 01 a3 08 41 4e 4f 4e 59 4d 4f 55"},
		{"init-response-4gib", "00 53 41 c0 0d 02 a3 05 50 4c 41 49 4e b0 ff ff ff ff"},
		{"outcome-code-wrong-type", "00 53 44 c0 02 01 43"},
		{"outcome-trailing", "00 53 44 c0 03 01 50 00 40"},
		{"performative-as-sasl", "00 53 10 c0 03 01 a1 00"},
		{"empty", ""},
	};
	struct gbuf g = {0};
	for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
		g_reset(&g);
		g_bytes(&g, v[i].hex);
		seed("sasl", v[i].name, &g);
	}
	free(g.p);
}

/* --- messages ----------------------------------------------------------- */

static void gen_messages(void)
{
	struct gbuf g = {0};

	enc_oslo_message(&g, 100);
	seed("message", "oslo-rpc-call", &g);

	/* Every section: header, delivery-annotations, message-annotations,
	 * properties, application-properties, amqp-value body, footer. */
	g_reset(&g);
	{
		struct amqp_header h;
		amqp_header_init(&h);
		h.durable = true;
		h.priority = 9;
		h.first_acquirer = true;
		h.delivery_count = 3;
		h.present |= AMQP_HEADER_HAS_DURABLE | AMQP_HEADER_HAS_PRIORITY |
			     AMQP_HEADER_HAS_FIRST_ACQUIRER | AMQP_HEADER_HAS_DELIVERY_COUNT;
		amqp_header_encode(W(), &h);
		g_w(&g);
		uint8_t v[16];
		struct amqp_wbuf vw;
		amqp_wbuf_init(&vw, v, sizeof v);
		amqp_encode_ulong(&vw, 42);
		struct amqp_annotation da = {"x-opt-delivery", amqp_bytes_of(v, amqp_wbuf_len(&vw))};
		amqp_encode_annotations(W(), AMQP_DESC_DELIVERY_ANNOTATIONS, NULL, &da, 1, NULL);
		g_w(&g);
		amqp_encode_annotations(W(), AMQP_DESC_MESSAGE_ANNOTATIONS, NULL, &da, 1, NULL);
		g_w(&g);
		struct amqp_properties p;
		amqp_properties_init(&p);
		amqp_encode_ulong(W(), 7);
		p.message_id = val_of_w();
		p.user_id = B("guest");
		p.to = val_str("exclusive/reply-q");
		p.subject = B("subject");
		p.reply_to = val_str("unicast/replies");
		p.correlation_id = val_str("corr-1");
		p.content_type = B("application/json");
		p.content_encoding = B("utf-8");
		p.absolute_expiry_time = 1700000000000;
		p.creation_time = 1690000000000;
		p.group_id = B("g");
		p.group_sequence = 5;
		p.reply_to_group_id = B("rg");
		p.present = 0x1fff;
		amqp_properties_encode(W(), &p);
		g_w(&g);
		struct amqp_value ap = val_props_map();
		amqp_encode_descriptor(W(), AMQP_DESC_APPLICATION_PROPERTIES);
		amqp_encode_value(&sw, &ap);
		g_w(&g);
		amqp_encode_descriptor(W(), AMQP_DESC_AMQP_VALUE);
		amqp_encode_value(&sw, &ap);
		g_w(&g);
		amqp_encode_annotations(W(), AMQP_DESC_FOOTER, NULL, &da, 1, NULL);
		g_w(&g);
	}
	seed("message", "all-sections-amqp-value", &g);

	static const struct {
		const char *name, *hex;
	} v[] = {
		{"data-sections-3", "00 53 75 a0 01 61 00 53 75 a0 00 00 53 75 b0 00 00 00 01 62"},
		{"amqp-sequence-2", "00 53 76 c0 02 01 41 00 53 76 45"},
		{"amqp-value-null", "00 53 77 40"},
		{"symbolic-section-descriptors", "00 a3 16 61 6d 71 70 3a 6d 65 73 73 61 67 65 2d 61 6e 6e 6f 74 61 74 69 6f 6e 73 3a 6d 61 70 c1 01 00 00 a3 0e 61 6d 71 70 3a 64 61 74 61 3a 62 69 6e 61 72 79 a0 01 78"},
		{"ma-with-string-and-int-keys", "00 53 72 c1 0c 04 a1 01 6b 41 53 05 a3 03 78 2d 79 00 53 75 a0 00"},
		{"ma-nested-values", "00 53 72 c1 0e 02 a3 01 6b c0 08 02 c1 02 00 d0 00 00 00 04 00 00 00 00"},
		{"header-only", "00 53 70 45"},
		{"empty", ""},
		/* hostile */
		{"sections-out-of-order", "00 53 73 45 00 53 70 45"},
		{"section-repeated", "00 53 70 45 00 53 70 45"},
		{"body-mixed", "00 53 75 a0 00 00 53 77 40"},
		{"amqp-value-twice", "00 53 77 40 00 53 77 40"},
		{"section-after-footer", "00 53 78 c1 01 00 00 53 75 a0 00"},
		{"section-not-described", "c1 01 00"},
		{"section-unknown", "00 53 79 40"},
		{"section-wrong-type", "00 53 72 c0 01 00"},
		{"data-4gib", "00 53 75 b0 ff ff ff ff 00"},
		{"ma-lying-count", "00 53 72 c1 04 08 a3 01 6b 40"},
		{"ma-bad-entry", "00 53 72 c1 03 02 a3 ff 00 53 75 a0 00"},
		{"ma-odd-count", "00 53 72 c1 03 01 a3 00"},
		{"properties-wrong-type", "00 53 73 c0 03 01 52 05"},
		{"header-wrong-type", "00 53 70 c0 02 01 43"},
	};
	for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
		g_reset(&g);
		g_bytes(&g, v[i].hex);
		seed("message", v[i].name, &g);
	}

	/* Message-annotations holding a value described 10k deep. */
	g_reset(&g);
	{
		struct gbuf in = {0};
		g_bytes(&in, "a3 01 6b");
		for (int i = 0; i < 10000; i++)
			g_bytes(&in, "00 53 72");
		g_bytes(&in, "40");
		g_bytes(&g, "00 53 72 d1");
		g_be32(&g, (uint32_t)in.len + 4);
		g_be32(&g, 2);
		g_put(&g, in.p, in.len);
		free(in.p);
		g_bytes(&g, "00 53 75 a0 00");
	}
	seed("message", "ma-value-described-10k-deep", &g);

#ifdef FUZZ_GEN_PROTON
	/* The same kind of message, encoded by proton-C. */
	{
		pn_message_t *m = pn_message();
		pn_message_set_durable(m, false);
		pn_message_set_ttl(m, 30000);
		pn_message_set_address(m, "openstack.org/om/rpc/nova/compute/host1");
		pn_message_set_reply_to(m, "openstack.org/om/rpc/reply/7f3a");
		pn_atom_t id;
		id.type = PN_STRING;
		id.u.as_bytes = pn_bytes(6, "corr-9");
		pn_message_set_correlation_id(m, id);
		id.type = PN_ULONG;
		id.u.as_ulong = 12345;
		pn_message_set_id(m, id);
		pn_data_t *ann = pn_message_annotations(m);
		pn_data_put_map(ann);
		pn_data_enter(ann);
		pn_data_put_symbol(ann, pn_bytes(11, "x-opt-qd.to"));
		pn_data_put_string(ann, pn_bytes(9, "amqp:/foo"));
		pn_data_put_symbol(ann, pn_bytes(14, "x-opt-qd.trace"));
		pn_data_put_list(ann);
		pn_data_enter(ann);
		pn_data_put_string(ann, pn_bytes(5, "0/r-1"));
		pn_data_exit(ann);
		pn_data_exit(ann);
		pn_data_t *props = pn_message_properties(m);
		pn_data_put_map(props);
		pn_data_enter(props);
		pn_data_put_string(props, pn_bytes(4, "verb"));
		pn_data_put_int(props, -5);
		pn_data_exit(props);
		pn_data_t *body = pn_message_body(m);
		pn_data_put_binary(body, pn_bytes(100, "{\"oslo.version\": \"2.0\", \"oslo.message\": \"{\\\"method\\\": \\\"ping\\\", \\\"args\\\": {}}\"}                   "));
		pn_message_set_inferred(m, true);
		char buf[4096];
		size_t n = sizeof buf;
		if (pn_message_encode(m, buf, &n) != 0)
			abort();
		g_reset(&g);
		g_put(&g, buf, n);
		seed("message", "proton-oslo-rpc-call", &g);
		pn_message_free(m);
	}
#endif
	free(g.p);
}

/* --- frame streams ------------------------------------------------------ */

static void frame_append(struct gbuf *g, uint8_t type, uint16_t channel, const struct gbuf *body)
{
	g_be32(g, (uint32_t)(8 + body->len));
	g_u8(g, 2);
	g_u8(g, type);
	g_u8(g, (uint8_t)(channel >> 8));
	g_u8(g, (uint8_t)channel);
	g_put(g, body->p, body->len);
}

static void seed_frame(const char *name, uint8_t mf, const struct gbuf *g)
{
	seed_x("frame", name, &mf, 1, g);
}

static void gen_frames(const struct gbuf perf[P_COUNT], const struct gbuf sasl[S_COUNT])
{
	struct gbuf g = {0};
	static const uint8_t amqp_hdr[8] = {'A', 'M', 'Q', 'P', 0, 1, 0, 0};
	static const uint8_t sasl_hdr[8] = {'A', 'M', 'Q', 'P', 3, 1, 0, 0};
	struct gbuf empty = {0};

	/* A whole connection: SASL, then AMQP with every performative. */
	g_put(&g, sasl_hdr, 8);
	frame_append(&g, AMQP_FRAME_SASL, 0, &sasl[S_MECHS]);
	frame_append(&g, AMQP_FRAME_SASL, 0, &sasl[S_INIT]);
	frame_append(&g, AMQP_FRAME_SASL, 0, &sasl[S_OUTCOME_OK]);
	g_put(&g, amqp_hdr, 8);
	for (int i = 0; i < P_COUNT; i++) {
		frame_append(&g, AMQP_FRAME_AMQP, 0, &perf[i]);
		if (i == P_FLOW)
			frame_append(&g, AMQP_FRAME_AMQP, 0, &empty); /* heartbeat */
	}
	seed_frame("connection-sasl-every-performative", 0, &g);

	/* Client pipelining Open+Begin+Attach, then an oslo RPC transfer,
	 * with a max-frame-size of 512. */
	g_reset(&g);
	g_put(&g, amqp_hdr, 8);
	frame_append(&g, AMQP_FRAME_AMQP, 0, &perf[P_OPEN]);
	frame_append(&g, AMQP_FRAME_AMQP, 0, &perf[P_BEGIN]);
	frame_append(&g, AMQP_FRAME_AMQP, 0, &perf[P_ATTACH_SND]);
	frame_append(&g, AMQP_FRAME_AMQP, 0, &perf[P_TRANSFER]);
	seed_frame("pipelined-open-begin-attach-transfer", 1, &g);

	/* SASL failure. */
	g_reset(&g);
	g_put(&g, sasl_hdr, 8);
	for (int i = 0; i < S_COUNT; i++)
		frame_append(&g, AMQP_FRAME_SASL, 0, &sasl[i]);
	seed_frame("sasl-every-frame", 2, &g);

	static const struct {
		const char *name;
		uint8_t mf;
		const char *hex;
	} v[] = {
		{"heartbeats", 0, "41 4d 51 50 00 01 00 00 00 00 00 08 02 00 00 00 00 00 00 08 02 00 00 00"},
		{"ext-header-doff3", 0, "41 4d 51 50 00 01 00 00 00 00 00 10 03 00 00 05 de ad be ef 00 53 17 45"},
		{"ext-header-doff-max", 0, "41 4d 51 50 00 01 00 00 00 00 03 fc ff 00 00 00"},
		{"frame-size-4", 0, "41 4d 51 50 00 01 00 00 00 00 00 04 02 00 00 00"},
		{"frame-size-0", 0, "41 4d 51 50 00 01 00 00 00 00 00 00 02 00 00 00"},
		{"frame-doff-0", 0, "41 4d 51 50 00 01 00 00 00 00 00 0c 00 00 00 00 00 53 17 45"},
		{"frame-doff-1", 0, "41 4d 51 50 00 01 00 00 00 00 00 0c 01 00 00 00 00 53 17 45"},
		{"frame-doff-past-end", 0, "41 4d 51 50 00 01 00 00 00 00 00 0c 04 00 00 00 00 53 17 45"},
		{"frame-size-4gib", 0, "41 4d 51 50 00 01 00 00 ff ff ff ff 02 00 00 00 00 53 17 45"},
		{"frame-over-max-512", 1, "41 4d 51 50 00 01 00 00 00 00 02 01 02 00 00 00 00 53 17 45"},
		{"frame-truncated", 0, "41 4d 51 50 00 01 00 00 00 00 00 20 02 00 00 00 00 53 17"},
		{"frame-unknown-type", 0, "41 4d 51 50 00 01 00 00 00 00 00 0c 02 07 00 00 00 53 17 45"},
		{"frame-trailing-after-end", 0, "41 4d 51 50 00 01 00 00 00 00 00 0d 02 00 00 01 00 53 17 45 40"},
		{"header-tls", 0, "41 4d 51 50 02 01 00 00 16 03 01 00"},
		{"header-garbage", 0, "47 45 54 20 2f 20 48 54 54 50 2f 31 2e 31"},
		{"header-bad-version", 0, "41 4d 51 50 00 01 00 01"},
		{"header-amqp-0-10", 0, "41 4d 51 50 01 01 00 0a"},
		{"header-prefix", 0, "41 4d 51"},
		{"small-max-frame-8", 5, "41 4d 51 50 00 01 00 00 00 00 00 08 02 00 00 00 00 00 00 0c 02 00 00 00 00 53 17 45"},
		{"empty", 0, ""},
	};
	for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
		g_reset(&g);
		g_bytes(&g, v[i].hex);
		seed_frame(v[i].name, v[i].mf, &g);
	}
	free(g.p);
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: %s CORPUS_DIR (e.g. tests/fuzz/corpus)\n", argv[0]);
		return 2;
	}
	out_root = argv[1];
	if (mkdir(out_root, 0755) != 0 && errno != EEXIST) {
		perror(out_root);
		return 1;
	}

	struct gbuf perf[P_COUNT] = {{0}};
	struct gbuf sasl[S_COUNT] = {{0}};
	enc_performatives(perf);
	enc_sasl(sasl);

	gen_values();
	gen_performatives(perf);
	gen_sasl(sasl);
	gen_messages();
	gen_frames(perf, sasl);

	for (int i = 0; i < P_COUNT; i++)
		free(perf[i].p);
	for (int i = 0; i < S_COUNT; i++)
		free(sasl[i].p);
	printf("wrote %u seeds under %s\n", nseeds, out_root);
	return 0;
}
