/* libFuzzer target: amqp_message_scan (AMQP 1.0 part 3.2) on a segment
 * chain; every annotation/property map walked with amqp_iter; the scan
 * repeated on a contiguous copy (same result); then the message-annotations
 * rewritten with amqp_encode_annotations the way the router does (header,
 * delivery-annotations, new message-annotations, the untouched rest) and
 * the result re-scanned: it must scan, with the same header, properties and
 * body bytes, and the added annotations present. amqp_route_scan (the
 * router's fast path) must give the same result as amqp_message_scan, on
 * the chain and on the contiguous copy, and its annotation walk the same
 * entries and errors as amqp_iter.
 * Input: split header (fuzz_common.h), then the encoded message. */
#include "fuzz_common.h"
#include "amqp_route.h"

#include <string.h>

static const char fuzz_trace_key[] = "x-opt-qd.trace";

static enum rr_err fuzz_scan(const struct fuzz_chain *ch, struct amqp_message_view *m)
{
	struct amqp_cursor c;
	struct amqp_diag d = {RR_OK, 0, NULL, NULL};
	amqp_cur_init(&c, ch->segs, ch->nsegs);
	memset(m, 0xbe, sizeof *m);
	enum rr_err e = amqp_message_scan(&c, m, &d);
	fuzz_last_diag = d;
	if (e != RR_OK) {
		char msg[256];
		FUZZ_CHECK(e > RR_END && rr_err_condition(e) != NULL, "error %s", rr_errname(e));
		FUZZ_CHECK(amqp_cur_left(&c) == ch->len, "cursor moved on error");
		amqp_diag_format(&d, msg, sizeof msg);
		return e;
	}
	FUZZ_CHECK(amqp_cur_left(&c) == 0, "scan stopped before the end");
	FUZZ_CHECK(m->len == ch->len, "message length %llu of %zu", (unsigned long long)m->len,
		   ch->len);
	return e;
}

static void fuzz_check_same_view(const struct amqp_message_view *a, const struct amqp_message_view *b)
{
	FUZZ_CHECK(a->sections == b->sections, "sections 0x%x != 0x%x", a->sections, b->sections);
	fuzz_composite_check_equal(&amqp_header_desc, &a->header, &b->header);
	fuzz_composite_check_equal(&amqp_properties_desc, &a->properties, &b->properties);
	FUZZ_CHECK(a->body_sections == b->body_sections, "body sections");
	FUZZ_CHECK(fuzz_bytes_same(&a->body, &b->body), "body bytes differ");
	FUZZ_CHECK(fuzz_bytes_same(&a->after_annotations, &b->after_annotations), "after_annotations");
	FUZZ_CHECK(fuzz_bytes_same(&a->header_raw, &b->header_raw), "header_raw");
	FUZZ_CHECK(fuzz_bytes_same(&a->delivery_annotations_raw, &b->delivery_annotations_raw),
		   "delivery_annotations_raw");
	FUZZ_CHECK(fuzz_bytes_same(&a->application_properties.raw, &b->application_properties.raw),
		   "application_properties");
	FUZZ_CHECK(fuzz_bytes_same(&a->footer.raw, &b->footer.raw), "footer");
}

/* Does map hold exactly one entry with symbol key `key`, whose value is
 * encoded as `val`? */
static bool fuzz_find_symbol(const struct amqp_value *map, const char *key,
			     const struct amqp_bytes *val)
{
	struct amqp_iter it;
	struct amqp_value k, v;
	unsigned found = 0;
	bool same = false;
	if (amqp_iter_init(&it, map, NULL) != RR_OK)
		return false;
	while (amqp_iter_next(&it, &k, NULL) == RR_OK && amqp_iter_next(&it, &v, NULL) == RR_OK) {
		if (k.type == AMQP_TYPE_SYMBOL && amqp_bytes_eq_str(&k.bytes, key)) {
			found++;
			same = fuzz_bytes_same(&v.raw, val);
		}
	}
	return found == 1 && same;
}

/* Rewrite the message-annotations: add a trace annotation, and replace the
 * first existing symbol key (if any), as the router does with x-opt-qd.*. */
static void fuzz_rewrite(const struct amqp_message_view *m, bool ma_clean, uint8_t hint)
{
	struct amqp_annotation add[2];
	size_t nadd = 0;
	uint8_t val1[64], val2[16];
	struct amqp_wbuf vw;
	char first_key[64];

	amqp_wbuf_init(&vw, val1, sizeof val1);
	struct amqp_compound k;
	amqp_encode_list_open(&vw, &k);
	amqp_encode_cstr(&vw, "0/rpcrouter");
	k.count = 1;
	amqp_encode_compound_close(&vw, &k);
	add[nadd].key = fuzz_trace_key;
	add[nadd].value = amqp_bytes_of(val1, amqp_wbuf_len(&vw));
	nadd++;

	if (m->message_annotations.type == AMQP_TYPE_MAP && ma_clean) {
		struct amqp_iter it;
		struct amqp_value key;
		amqp_iter_init(&it, &m->message_annotations, NULL);
		if (amqp_iter_next(&it, &key, NULL) == RR_OK && key.type == AMQP_TYPE_SYMBOL &&
		    key.bytes.len < sizeof first_key && !amqp_bytes_eq_str(&key.bytes, fuzz_trace_key)) {
			size_t n = amqp_bytes_copy(&key.bytes, first_key, sizeof first_key - 1);
			first_key[n] = 0;
			/* A key with a NUL inside cannot be named by a C string. */
			if (strlen(first_key) == n) {
				amqp_wbuf_init(&vw, val2, sizeof val2);
				amqp_encode_uint(&vw, hint);
				add[nadd].key = first_key;
				add[nadd].value = amqp_bytes_of(val2, amqp_wbuf_len(&vw));
				nadd++;
			}
		}
	}

	size_t cap = (size_t)m->len + 256;
	uint8_t *out = (uint8_t *)malloc(cap);
	if (out == NULL)
		abort();
	struct amqp_wbuf w;
	struct amqp_diag d = {RR_OK, 0, NULL, NULL};
	amqp_wbuf_init(&w, out, cap);
	amqp_write_bytes(&w, &m->header_raw);
	amqp_write_bytes(&w, &m->delivery_annotations_raw);
	enum rr_err e = amqp_encode_annotations(&w, AMQP_DESC_MESSAGE_ANNOTATIONS,
						&m->message_annotations, add, nadd, &d);
	if (e != RR_OK) {
		/* Only a map whose entries do not decode may be refused. */
		FUZZ_CHECK(!ma_clean, "rewrite of clean annotations failed: %s", rr_errname(e));
		free(out);
		return;
	}
	amqp_write_bytes(&w, &m->after_annotations);
	FUZZ_CHECK(amqp_wbuf_ok(&w), "rewrite overflowed %zu bytes", cap);

	struct fuzz_chain ch;
	uint8_t *tmp = (uint8_t *)malloc(amqp_wbuf_len(&w) + 1);
	if (tmp == NULL)
		abort();
	tmp[0] = (uint8_t)(0x80 | (hint % 16)); /* re-scan it as a chain too */
	memcpy(tmp + 1, out, amqp_wbuf_len(&w));
	fuzz_chain_make(&ch, tmp, amqp_wbuf_len(&w) + 1);
	free(tmp);

	struct amqp_message_view r;
	e = fuzz_scan(&ch, &r);
	FUZZ_CHECK(e == RR_OK, "rewritten message does not scan: %s", rr_errname(e));
	FUZZ_CHECK(r.sections == (m->sections | AMQP_SEC_MESSAGE_ANNOTATIONS), "sections 0x%x -> 0x%x",
		   m->sections, r.sections);
	fuzz_composite_check_equal(&amqp_header_desc, &m->header, &r.header);
	fuzz_composite_check_equal(&amqp_properties_desc, &m->properties, &r.properties);
	FUZZ_CHECK(fuzz_bytes_same(&m->body, &r.body), "body bytes changed by the rewrite");
	FUZZ_CHECK(m->body_sections == r.body_sections, "body sections changed");
	FUZZ_CHECK(fuzz_bytes_same(&m->after_annotations, &r.after_annotations), "rest changed");

	/* The added keys are symbols; amqp_map_find also matches a string
	 * key of the same bytes (kept from the old map), so look by hand. */
	for (size_t i = 0; i < nadd; i++)
		FUZZ_CHECK(fuzz_find_symbol(&r.message_annotations, add[i].key, &add[i].value),
			   "annotation %s missing after the rewrite", add[i].key);
	uint32_t expect = (m->message_annotations.type == AMQP_TYPE_MAP ? m->message_annotations.count : 0);
	/* Every old entry is kept except those whose key is replaced. */
	FUZZ_CHECK(r.message_annotations.count <= expect + 2 * nadd, "annotation count grew too much");
	FUZZ_CHECK(fuzz_walk_value(&r.message_annotations, 0, 8) || !ma_clean,
		   "rewritten annotations do not walk");
	fuzz_chain_free(&ch);
	free(out);
}

static bool fuzz_ref_same(const struct amqp_ref *a, const struct amqp_value *v)
{
	struct amqp_ref b;
	amqp_ref_from_value(&b, v);
	return a->type == b.type && a->code == b.code && fuzz_bytes_same(&a->bytes, &b.bytes);
}

/* amqp_route_scan against the full scan's result e and view m. */
static void fuzz_check_route(const struct fuzz_chain *ch, enum rr_err e,
			     const struct amqp_message_view *m)
{
	struct amqp_cursor c;
	struct amqp_route_info r;
	struct amqp_diag d = {RR_OK, 0, NULL, NULL};
	amqp_cur_init(&c, ch->segs, ch->nsegs);
	memset(&r, 0xbe, sizeof r);
	enum rr_err er = amqp_route_scan(&c, &r, &d);
	FUZZ_CHECK(er == e, "route scan gave %s, full scan %s", rr_errname(er), rr_errname(e));
	if (e != RR_OK) {
		FUZZ_CHECK(amqp_cur_left(&c) == ch->len, "route scan moved the cursor on error");
		return;
	}
	FUZZ_CHECK(amqp_cur_left(&c) == 0 && r.len == m->len, "route scan length");
	FUZZ_CHECK(r.sections == m->sections, "route sections 0x%x != 0x%x", r.sections, m->sections);
	fuzz_composite_check_equal(&amqp_header_desc, &r.header, &m->header);
	FUZZ_CHECK(fuzz_ref_same(&r.to, &m->properties.to), "route to");
	FUZZ_CHECK(fuzz_ref_same(&r.reply_to, &m->properties.reply_to), "route reply-to");
	FUZZ_CHECK(fuzz_ref_same(&r.correlation_id, &m->properties.correlation_id), "route correlation-id");
	FUZZ_CHECK(fuzz_ref_same(&r.message_id, &m->properties.message_id), "route message-id");
	FUZZ_CHECK(r.has_absolute_expiry_time ==
			   ((m->properties.present & AMQP_PROPERTIES_HAS_ABSOLUTE_EXPIRY_TIME) != 0) &&
		   (!r.has_absolute_expiry_time ||
		    r.absolute_expiry_time == m->properties.absolute_expiry_time),
		   "route absolute-expiry-time");
	FUZZ_CHECK(r.has_creation_time == ((m->properties.present & AMQP_PROPERTIES_HAS_CREATION_TIME) != 0) &&
			   (!r.has_creation_time || r.creation_time == m->properties.creation_time),
		   "route creation-time");
	FUZZ_CHECK(fuzz_bytes_same(&r.body, &m->body) && r.body_sections == m->body_sections, "route body");
	FUZZ_CHECK(fuzz_bytes_same(&r.after_annotations, &m->after_annotations), "route after_annotations");

	/* The annotation walk: the same entries, and the same first error. */
	bool have = m->message_annotations.type == AMQP_TYPE_MAP;
	FUZZ_CHECK(r.annotations_count == (have ? m->message_annotations.count : 0), "route annotations count");
	struct amqp_ann_iter a;
	struct amqp_iter it;
	amqp_ann_iter_init(&a, &r);
	if (have)
		amqp_iter_init(&it, &m->message_annotations, NULL);
	for (unsigned guard = 0; guard < 100000; guard++) {
		struct amqp_ref k, v;
		struct amqp_value kv, vv;
		enum rr_err ea = amqp_ann_next(&a, &k, &v, NULL);
		if (!have) {
			FUZZ_CHECK(ea == RR_END, "annotations walk without a map: %s", rr_errname(ea));
			return;
		}
		enum rr_err e1 = amqp_iter_next(&it, &kv, NULL);
		if (e1 != RR_OK) {
			FUZZ_CHECK(ea == e1, "annotation walk %s, iterator %s", rr_errname(ea), rr_errname(e1));
			return;
		}
		if (kv.type != AMQP_TYPE_SYMBOL && kv.type != AMQP_TYPE_ULONG) {
			FUZZ_CHECK(ea == RR_E_WRONG_TYPE, "annotation key type: %s", rr_errname(ea));
			return;
		}
		enum rr_err e2 = amqp_iter_next(&it, &vv, NULL);
		if (e2 != RR_OK) {
			FUZZ_CHECK(ea == (e2 == RR_END ? RR_E_ODD_MAP : e2), "annotation value: %s vs %s",
				   rr_errname(ea), rr_errname(e2));
			return;
		}
		FUZZ_CHECK(ea == RR_OK && fuzz_ref_same(&k, &kv) && fuzz_ref_same(&v, &vv),
			   "annotation entry differs (%s)", rr_errname(ea));
	}
	FUZZ_CHECK(false, "annotation walk did not end");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_chain ch, flat;
	struct amqp_message_view m, n;
	uint8_t hint = size ? data[0] : 0;

	fuzz_chain_make(&ch, data, size);
	fuzz_chain_flatten(&flat, &ch);
	enum rr_err e = fuzz_scan(&ch, &m);
	const struct amqp_diag d1 = fuzz_last_diag;
	enum rr_err e2 = fuzz_scan(&flat, &n);
	FUZZ_CHECK(e == e2, "chain gave %s, contiguous gave %s", rr_errname(e), rr_errname(e2));
	if (e != RR_OK)
		fuzz_check_same_diag(&d1, &fuzz_last_diag);
	fuzz_check_route(&ch, e, &m);
	fuzz_check_route(&flat, e2, &n);
	if (e == RR_OK) {
		fuzz_check_same_view(&m, &n);
		bool ma_clean = true;
		const struct amqp_value *maps[] = {&m.delivery_annotations, &m.message_annotations,
						   &m.application_properties, &m.footer};
		for (size_t i = 0; i < sizeof maps / sizeof maps[0]; i++) {
			if (maps[i]->type == AMQP_TYPE_NULL)
				continue;
			FUZZ_CHECK(maps[i]->type == AMQP_TYPE_MAP, "section %zu is a %s", i,
				   amqp_type_name(maps[i]->type));
			bool clean = fuzz_walk_value(maps[i], 0, 8);
			if (maps[i] == &m.message_annotations)
				ma_clean = clean;
		}
		/* What a router reads to route. */
		(void)fuzz_walk_value(&m.properties.to, 0, 2);
		(void)fuzz_walk_value(&m.properties.reply_to, 0, 2);
		(void)fuzz_walk_value(&m.properties.correlation_id, 0, 2);
		(void)fuzz_bytes_touch(&m.body);
		fuzz_rewrite(&m, ma_clean, hint);
	}
	fuzz_chain_free(&flat);
	fuzz_chain_free(&ch);
	return 0;
}
