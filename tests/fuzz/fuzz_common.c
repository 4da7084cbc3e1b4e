/* Shared pieces of the libFuzzer targets: see fuzz_common.h. */
#include "fuzz_common.h"

#include <string.h>

/* A heap block of exactly n bytes (malloc(0) still gives a distinct
 * pointer that ASan treats as zero-sized, so any read of it is reported). */
static uint8_t *fuzz_block(const uint8_t *src, size_t n)
{
	uint8_t *p = (uint8_t *)malloc(n);
	if (p == NULL && n != 0)
		abort();
	if (n != 0)
		memcpy(p, src, n);
	return p;
}

void fuzz_chain_make(struct fuzz_chain *ch, const uint8_t *data, size_t size)
{
	uint8_t mode = fuzz_take_u8(&data, &size);
	size_t lens[8];
	size_t nlens = 0;
	size_t chunk = 0;

	if (mode & 0x80) {
		chunk = (size_t)((mode & 0x7f) % 16) + 1;
	} else {
		size_t n = mode % 8;
		for (size_t i = 0; i < n && size > 0; i++)
			lens[nlens++] = fuzz_take_u8(&data, &size);
	}

	size_t cap = chunk ? size / chunk + 2 : nlens + 1;
	ch->segs = (struct amqp_seg *)calloc(cap, sizeof *ch->segs);
	if (ch->segs == NULL)
		abort();
	ch->nsegs = 0;
	ch->len = size;

	size_t off = 0;
	if (chunk) {
		do {
			size_t k = size - off < chunk ? size - off : chunk;
			ch->segs[ch->nsegs].data = fuzz_block(data + off, k);
			ch->segs[ch->nsegs].len = (uint32_t)k;
			ch->nsegs++;
			off += k;
		} while (off < size);
		return;
	}
	for (size_t i = 0; i < nlens; i++) {
		size_t k = size - off < lens[i] ? size - off : lens[i];
		ch->segs[ch->nsegs].data = fuzz_block(data + off, k);
		ch->segs[ch->nsegs].len = (uint32_t)k;
		ch->nsegs++;
		off += k;
	}
	ch->segs[ch->nsegs].data = fuzz_block(data + off, size - off);
	ch->segs[ch->nsegs].len = (uint32_t)(size - off);
	ch->nsegs++;
}

void fuzz_chain_free(struct fuzz_chain *ch)
{
	for (size_t i = 0; i < ch->nsegs; i++) {
		/* The blocks are ours: cast away the const the codec wants. */
		void *p;
		memcpy(&p, &ch->segs[i].data, sizeof p);
		free(p);
	}
	free(ch->segs);
	ch->segs = NULL;
	ch->nsegs = 0;
}

void fuzz_chain_flatten(struct fuzz_chain *flat, const struct fuzz_chain *ch)
{
	uint8_t *buf = (uint8_t *)malloc(ch->len + 1);
	if (buf == NULL)
		abort();
	buf[0] = 0; /* split header: no cuts */
	size_t off = 1;
	for (size_t i = 0; i < ch->nsegs; i++) {
		if (ch->segs[i].len)
			memcpy(buf + off, ch->segs[i].data, ch->segs[i].len);
		off += ch->segs[i].len;
	}
	fuzz_chain_make(flat, buf, ch->len + 1);
	free(buf);
}

static uint8_t *fuzz_bytes_dup(const struct amqp_bytes *b)
{
	uint8_t *p = (uint8_t *)malloc(b->len ? b->len : 1);
	if (p == NULL)
		abort();
	size_t n = amqp_bytes_copy(b, p, b->len);
	FUZZ_CHECK(n == b->len, "amqp_bytes_copy returned %zu for a %u-byte view", n, b->len);
	return p;
}

struct amqp_diag fuzz_last_diag;

static bool fuzz_str_same(const char *a, const char *b)
{
	return a == b || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

bool fuzz_diag_same(const struct amqp_diag *a, const struct amqp_diag *b)
{
	return a->err == b->err && a->pos == b->pos && fuzz_str_same(a->type, b->type) &&
	       fuzz_str_same(a->field, b->field);
}

void fuzz_check_same_diag(const struct amqp_diag *chain, const struct amqp_diag *flat)
{
	FUZZ_CHECK(fuzz_diag_same(chain, flat),
		   "diag differs: chain at %llu %s.%s, contiguous at %llu %s.%s",
		   (unsigned long long)chain->pos, chain->type ? chain->type : "-",
		   chain->field ? chain->field : "-", (unsigned long long)flat->pos,
		   flat->type ? flat->type : "-", flat->field ? flat->field : "-");
}

bool fuzz_bytes_same(const struct amqp_bytes *a, const struct amqp_bytes *b)
{
	if (a->len != b->len)
		return false;
	if (a->len == 0)
		return true;
	uint8_t *pa = fuzz_bytes_dup(a);
	uint8_t *pb = fuzz_bytes_dup(b);
	bool same = memcmp(pa, pb, a->len) == 0;
	/* The library's own comparison must agree with ours. */
	FUZZ_CHECK(amqp_bytes_eq(a, pb, b->len) == same, "amqp_bytes_eq disagrees");
	FUZZ_CHECK(amqp_bytes_has_prefix(a, pb, b->len / 2) || !same, "amqp_bytes_has_prefix");
	free(pa);
	free(pb);
	return same;
}

uint32_t fuzz_bytes_touch(const struct amqp_bytes *b)
{
	uint32_t h = 2166136261u;
	if (b->len == 0)
		return h;
	uint8_t *p = fuzz_bytes_dup(b);
	for (uint32_t i = 0; i < b->len; i++)
		h = (h ^ p[i]) * 16777619u;
	free(p);
	return h;
}

#define FIELD_AT(base, f, type) ((const type *)(const void *)((const uint8_t *)(base) + (f)->offset))

static void fuzz_value_check_equal(const char *ctx, const char *field, const struct amqp_value *a,
				   const struct amqp_value *b)
{
	FUZZ_CHECK(a->type == b->type, "%s.%s: type %u != %u", ctx, field, a->type, b->type);
	if (a->type == AMQP_TYPE_NULL)
		return;
	FUZZ_CHECK(a->descriptor == b->descriptor, "%s.%s: descriptor", ctx, field);
	FUZZ_CHECK(fuzz_bytes_same(&a->raw, &b->raw), "%s.%s: encoding differs", ctx, field);
	/* bytes and count are only specified for these types. */
	if (a->type >= AMQP_TYPE_BINARY && a->type <= AMQP_TYPE_ARRAY)
		FUZZ_CHECK(fuzz_bytes_same(&a->bytes, &b->bytes), "%s.%s: content differs", ctx, field);
	if (a->type == AMQP_TYPE_LIST || a->type == AMQP_TYPE_MAP || a->type == AMQP_TYPE_ARRAY)
		FUZZ_CHECK(a->count == b->count, "%s.%s: count", ctx, field);
}

void fuzz_composite_check_equal(const struct amqp_composite_desc *desc, const void *a,
				const void *b)
{
	FUZZ_CHECK(*(const amqp_present_t *)a == *(const amqp_present_t *)b,
		   "%s: present 0x%x != 0x%x", desc->name, *(const amqp_present_t *)a,
		   *(const amqp_present_t *)b);
	for (unsigned i = 0; i < desc->nfields; i++) {
		const struct amqp_field_desc *f = &desc->fields[i];
		switch (f->kind) {
		case AMQP_FK_BOOL:
			FUZZ_CHECK(*FIELD_AT(a, f, bool) == *FIELD_AT(b, f, bool), "%s.%s", desc->name,
				   f->name);
			break;
		case AMQP_FK_UBYTE:
			FUZZ_CHECK(*FIELD_AT(a, f, uint8_t) == *FIELD_AT(b, f, uint8_t), "%s.%s",
				   desc->name, f->name);
			break;
		case AMQP_FK_USHORT:
			FUZZ_CHECK(*FIELD_AT(a, f, uint16_t) == *FIELD_AT(b, f, uint16_t), "%s.%s",
				   desc->name, f->name);
			break;
		case AMQP_FK_UINT:
			FUZZ_CHECK(*FIELD_AT(a, f, uint32_t) == *FIELD_AT(b, f, uint32_t), "%s.%s",
				   desc->name, f->name);
			break;
		case AMQP_FK_ULONG:
			FUZZ_CHECK(*FIELD_AT(a, f, uint64_t) == *FIELD_AT(b, f, uint64_t), "%s.%s",
				   desc->name, f->name);
			break;
		case AMQP_FK_TIMESTAMP:
			FUZZ_CHECK(*FIELD_AT(a, f, int64_t) == *FIELD_AT(b, f, int64_t), "%s.%s",
				   desc->name, f->name);
			break;
		case AMQP_FK_BYTES:
			FUZZ_CHECK(fuzz_bytes_same(FIELD_AT(a, f, struct amqp_bytes),
						   FIELD_AT(b, f, struct amqp_bytes)),
				   "%s.%s: bytes differ", desc->name, f->name);
			break;
		case AMQP_FK_VALUE:
			fuzz_value_check_equal(desc->name, f->name, FIELD_AT(a, f, struct amqp_value),
					       FIELD_AT(b, f, struct amqp_value));
			break;
		case AMQP_FK_COMPOSITE:
			fuzz_composite_check_equal(f->composite, FIELD_AT(a, f, void),
						   FIELD_AT(b, f, void));
			break;
		}
	}
}

/* Cut buf into a chain the way hint says (0: one segment). */
static void fuzz_chain_of(struct fuzz_chain *ch, const uint8_t *buf, size_t len, uint8_t hint)
{
	uint8_t *tmp = (uint8_t *)malloc(len + 1);
	if (tmp == NULL)
		abort();
	tmp[0] = hint ? (uint8_t)(0x80 | (hint % 16)) : 0;
	memcpy(tmp + 1, buf, len);
	fuzz_chain_make(ch, tmp, len + 1);
	free(tmp);
}

/* Bound on the encoding of a decoded composite: every field is copied or
 * re-encoded canonically, so the size is bounded by the views it holds
 * plus a few bytes per field. */
static size_t fuzz_encoded_bound(const struct amqp_composite_desc *desc, const void *in)
{
	size_t n = 32;
	for (unsigned i = 0; i < desc->nfields; i++) {
		const struct amqp_field_desc *f = &desc->fields[i];
		n += 24;
		if (f->kind == AMQP_FK_BYTES)
			n += FIELD_AT(in, f, struct amqp_bytes)->len;
		else if (f->kind == AMQP_FK_VALUE)
			n += FIELD_AT(in, f, struct amqp_value)->raw.len;
		else if (f->kind == AMQP_FK_COMPOSITE)
			n += fuzz_encoded_bound(f->composite, FIELD_AT(in, f, void));
	}
	return n;
}

void fuzz_composite_roundtrip(const struct amqp_composite_desc *desc, const void *decoded,
			      uint8_t split_hint)
{
	size_t cap = fuzz_encoded_bound(desc, decoded);
	uint8_t *buf1 = (uint8_t *)malloc(cap);
	uint8_t *buf2 = (uint8_t *)malloc(cap);
	void *again = malloc(desc->size);
	if (buf1 == NULL || buf2 == NULL || again == NULL)
		abort();

	struct amqp_wbuf w;
	amqp_wbuf_init(&w, buf1, cap);
	amqp_composite_encode(desc, decoded, &w);
	FUZZ_CHECK(amqp_wbuf_ok(&w), "%s: encoding overflowed %zu bytes", desc->name, cap);
	size_t len1 = amqp_wbuf_len(&w);

	struct fuzz_chain ch;
	struct amqp_cursor c;
	struct amqp_diag d = {RR_OK, 0, NULL, NULL};
	fuzz_chain_of(&ch, buf1, len1, split_hint);
	amqp_cur_init(&c, ch.segs, ch.nsegs);
	memset(again, 0xbe, desc->size);
	enum rr_err e = amqp_composite_decode(desc, &c, again, &d);
	if (e != RR_OK) {
		char msg[256];
		amqp_diag_format(&d, msg, sizeof msg);
		FUZZ_CHECK(e == RR_OK, "%s: re-encoding does not decode: %s", desc->name, msg);
	}
	FUZZ_CHECK(amqp_cur_left(&c) == 0, "%s: bytes left after re-decode", desc->name);
	fuzz_composite_check_equal(desc, decoded, again);

	/* Encoding what was decoded from our own encoding gives it back. */
	amqp_wbuf_init(&w, buf2, cap);
	amqp_composite_encode(desc, again, &w);
	FUZZ_CHECK(amqp_wbuf_ok(&w) && amqp_wbuf_len(&w) == len1 && memcmp(buf1, buf2, len1) == 0,
		   "%s: encoding is not a fixed point", desc->name);

	fuzz_chain_free(&ch);
	free(again);
	free(buf2);
	free(buf1);
}

/* Does re-encoding a value from its fields (as for an array element) give a
 * value that decodes to the same thing? Only for values that walked clean:
 * the encoder does not promise to reproduce malformed compounds. */
static void fuzz_value_reencode(const struct amqp_value *v)
{
	struct amqp_value copy = *v;
	copy.raw = amqp_bytes_of(NULL, 0); /* force the from-fields path */
	/* bytes and sym_descriptor are only meaningful for some values. */
	size_t cap = 64;
	if (v->type >= AMQP_TYPE_BINARY && v->type <= AMQP_TYPE_ARRAY)
		cap += v->bytes.len;
	if (v->descriptor == AMQP_DESC_UNKNOWN)
		cap += v->sym_descriptor.len;
	uint8_t *buf = (uint8_t *)malloc(cap);
	if (buf == NULL)
		abort();
	struct amqp_wbuf w;
	amqp_wbuf_init(&w, buf, cap);
	amqp_encode_value(&w, &copy);
	FUZZ_CHECK(amqp_wbuf_ok(&w), "re-encoding a %s overflowed", amqp_type_name(v->type));

	struct amqp_seg seg;
	struct amqp_cursor c;
	struct amqp_value r;
	struct amqp_diag d = {RR_OK, 0, NULL, NULL};
	memset(&r, 0xbe, sizeof r);
	amqp_cur_init_flat(&c, &seg, buf, amqp_wbuf_len(&w));
	enum rr_err e = amqp_decode_value(&c, &r, &d);
	FUZZ_CHECK(e == RR_OK, "re-encoded %s (code 0x%02x) does not decode: %s",
		   amqp_type_name(v->type), v->code, rr_errname(e));
	FUZZ_CHECK(amqp_cur_left(&c) == 0, "re-encoded %s: trailing bytes", amqp_type_name(v->type));
	FUZZ_CHECK(r.type == v->type, "re-encoded %s decodes as %s", amqp_type_name(v->type),
		   amqp_type_name(r.type));
	FUZZ_CHECK(r.descriptor == v->descriptor, "re-encoded %s: descriptor %llx != %llx",
		   amqp_type_name(v->type), (unsigned long long)r.descriptor,
		   (unsigned long long)v->descriptor);
	if (v->descriptor == AMQP_DESC_UNKNOWN)
		FUZZ_CHECK(fuzz_bytes_same(&r.sym_descriptor, &v->sym_descriptor),
			   "re-encoded %s: symbolic descriptor differs", amqp_type_name(v->type));
	switch (v->type) {
	case AMQP_TYPE_NULL:
		break;
	case AMQP_TYPE_BOOLEAN:
		FUZZ_CHECK(r.u.b == v->u.b, "boolean");
		break;
	case AMQP_TYPE_FLOAT:
		FUZZ_CHECK(memcmp(&r.u.f, &v->u.f, sizeof r.u.f) == 0, "float bits");
		break;
	case AMQP_TYPE_DOUBLE:
		FUZZ_CHECK(memcmp(&r.u.d, &v->u.d, sizeof r.u.d) == 0, "double bits");
		break;
	case AMQP_TYPE_DECIMAL128:
	case AMQP_TYPE_UUID:
		FUZZ_CHECK(memcmp(r.u.b16, v->u.b16, 16) == 0, "16-byte value");
		break;
	case AMQP_TYPE_BINARY:
	case AMQP_TYPE_STRING:
	case AMQP_TYPE_SYMBOL:
		FUZZ_CHECK(fuzz_bytes_same(&r.bytes, &v->bytes), "%s content", amqp_type_name(v->type));
		break;
	case AMQP_TYPE_LIST:
	case AMQP_TYPE_MAP:
	case AMQP_TYPE_ARRAY:
		FUZZ_CHECK(r.count == v->count, "%s count %u != %u", amqp_type_name(v->type), r.count,
			   v->count);
		FUZZ_CHECK(fuzz_bytes_same(&r.bytes, &v->bytes), "%s elements", amqp_type_name(v->type));
		if (v->type == AMQP_TYPE_ARRAY) {
			FUZZ_CHECK(r.elem_code == v->elem_code, "array element code 0x%02x != 0x%02x",
				   r.elem_code, v->elem_code);
			FUZZ_CHECK(r.elem_descriptor == v->elem_descriptor, "array element descriptor");
		}
		break;
	default:
		FUZZ_CHECK(r.u.u == v->u.u, "%s value", amqp_type_name(v->type));
		break;
	}
	free(buf);
}

bool fuzz_walk_value(const struct amqp_value *v, unsigned depth, unsigned max_depth)
{
	bool clean = true;

	(void)fuzz_bytes_touch(&v->raw);
	if (v->descriptor == AMQP_DESC_UNKNOWN)
		(void)fuzz_bytes_touch(&v->sym_descriptor);
	switch (v->type) {
	case AMQP_TYPE_BINARY:
	case AMQP_TYPE_STRING:
	case AMQP_TYPE_SYMBOL:
		(void)fuzz_bytes_touch(&v->bytes);
		(void)amqp_bytes_eq_str(&v->bytes, "openstack.org/om/rpc");
		(void)amqp_bytes_has_prefix(&v->bytes, "x-opt-", 6);
		break;
	case AMQP_TYPE_LIST:
	case AMQP_TYPE_MAP:
	case AMQP_TYPE_ARRAY: {
		(void)fuzz_bytes_touch(&v->bytes);
		if (depth >= max_depth)
			return false;
		struct amqp_iter it;
		struct amqp_value e;
		struct amqp_diag d = {RR_OK, 0, NULL, NULL};
		enum rr_err r = amqp_iter_init(&it, v, &d);
		FUZZ_CHECK(r == RR_OK, "amqp_iter_init refused a %s", amqp_type_name(v->type));
		uint32_t n = 0;
		for (;;) {
			memset(&e, 0xbe, sizeof e);
			r = amqp_iter_next(&it, &e, &d);
			if (r != RR_OK)
				break;
			n++;
			FUZZ_CHECK(n <= v->count, "iterator gave more than %u elements", v->count);
			if (!fuzz_walk_value(&e, depth + 1, max_depth))
				clean = false;
		}
		if (r != RR_END) {
			clean = false;
		} else {
			FUZZ_CHECK(n == v->count, "iterator ended after %u of %u elements", n, v->count);
			/* After the end the iterator stays at the end. */
			FUZZ_CHECK(amqp_iter_next(&it, &e, &d) == RR_END, "iterator restarted");
		}
		if (v->type == AMQP_TYPE_MAP) {
			struct amqp_value found;
			d.type = d.field = NULL;
			(void)amqp_map_find(v, "x-opt-to", &found, &d);
		}
		break;
	}
	default:
		break;
	}
	if (clean && v->type != AMQP_TYPE_INVALID)
		fuzz_value_reencode(v);
	return clean;
}
