#include "amqp_message.h"

/* Rank of each section in the order part 3.2 requires. */
enum amqp_section_rank {
	RANK_HEADER,
	RANK_DELIVERY_ANNOTATIONS,
	RANK_MESSAGE_ANNOTATIONS,
	RANK_PROPERTIES,
	RANK_APPLICATION_PROPERTIES,
	RANK_BODY,
	RANK_FOOTER,
};

/* Check a section's value type and place in the order, and record it.
 * *rank is the rank of the last section seen (-1 before the first). */
static enum rr_err amqp_section_take(struct amqp_message_view *m, const struct amqp_value *s,
				     struct amqp_diag *d, int *rank)
{
	int r;
	uint32_t bit;
	uint8_t want; /* required value type; AMQP_TYPE_INVALID = any */

	switch (s->descriptor) {
	case AMQP_DESC_HEADER: r = RANK_HEADER; bit = AMQP_SEC_HEADER; want = AMQP_TYPE_LIST; break;
	case AMQP_DESC_DELIVERY_ANNOTATIONS: r = RANK_DELIVERY_ANNOTATIONS; bit = AMQP_SEC_DELIVERY_ANNOTATIONS; want = AMQP_TYPE_MAP; break;
	case AMQP_DESC_MESSAGE_ANNOTATIONS: r = RANK_MESSAGE_ANNOTATIONS; bit = AMQP_SEC_MESSAGE_ANNOTATIONS; want = AMQP_TYPE_MAP; break;
	case AMQP_DESC_PROPERTIES: r = RANK_PROPERTIES; bit = AMQP_SEC_PROPERTIES; want = AMQP_TYPE_LIST; break;
	case AMQP_DESC_APPLICATION_PROPERTIES: r = RANK_APPLICATION_PROPERTIES; bit = AMQP_SEC_APPLICATION_PROPERTIES; want = AMQP_TYPE_MAP; break;
	case AMQP_DESC_DATA: r = RANK_BODY; bit = AMQP_SEC_BODY_DATA; want = AMQP_TYPE_BINARY; break;
	case AMQP_DESC_AMQP_SEQUENCE: r = RANK_BODY; bit = AMQP_SEC_BODY_SEQUENCE; want = AMQP_TYPE_LIST; break;
	case AMQP_DESC_AMQP_VALUE: r = RANK_BODY; bit = AMQP_SEC_BODY_VALUE; want = AMQP_TYPE_INVALID; break;
	case AMQP_DESC_FOOTER: r = RANK_FOOTER; bit = AMQP_SEC_FOOTER; want = AMQP_TYPE_MAP; break;
	default:
		return amqp_diag_set(d, RR_E_BAD_SECTION, s->pos, "message", "section");
	}
	if (want != AMQP_TYPE_INVALID && s->type != want)
		return amqp_diag_set(d, RR_E_BAD_SECTION, s->pos, "message", "section");

	if (r == RANK_BODY && *rank == RANK_BODY) {
		/* Repeated data or amqp-sequence sections continue the body;
		 * a different kind, or a second amqp-value, is a mix. */
		if (!(m->sections & bit) || bit == AMQP_SEC_BODY_VALUE)
			return amqp_diag_set(d, RR_E_MIXED_BODY, s->pos, "message", "body");
		m->body_sections++;
		return RR_OK;
	}
	if (r <= *rank)
		return amqp_diag_set(d, RR_E_SECTION_ORDER, s->pos, "message", "section");
	*rank = r;
	m->sections |= bit;

	switch (r) {
	case RANK_HEADER:
		m->header_raw = s->raw;
		return amqp_composite_decode_value(&amqp_header_desc, s, &m->header, d);
	case RANK_DELIVERY_ANNOTATIONS:
		m->delivery_annotations = *s;
		m->delivery_annotations_raw = s->raw;
		return RR_OK;
	case RANK_MESSAGE_ANNOTATIONS:
		m->message_annotations = *s;
		return RR_OK;
	case RANK_PROPERTIES:
		return amqp_composite_decode_value(&amqp_properties_desc, s, &m->properties, d);
	case RANK_APPLICATION_PROPERTIES:
		m->application_properties = *s;
		return RR_OK;
	case RANK_BODY:
		m->body_sections = 1;
		return RR_OK;
	default: /* RANK_FOOTER */
		m->footer = *s;
		return RR_OK;
	}
}

enum rr_err amqp_message_scan(struct amqp_cursor *c, struct amqp_message_view *m,
			      struct amqp_diag *d)
{
	const struct amqp_cursor start = *c;
	struct amqp_cursor after_ma = *c;
	struct amqp_cursor body_start = *c;
	uint64_t body_end = 0;
	int rank = -1;
	enum rr_err e = RR_OK;

	m->sections = 0;
	m->pos = amqp_cur_pos(c);
	amqp_value_set_null(&m->delivery_annotations);
	amqp_value_set_null(&m->message_annotations);
	amqp_value_set_null(&m->application_properties);
	amqp_value_set_null(&m->footer);
	m->body = amqp_bytes_of(NULL, 0);
	m->body_sections = 0;
	m->header_raw = amqp_bytes_of(NULL, 0);
	m->delivery_annotations_raw = amqp_bytes_of(NULL, 0);

	while (amqp_cur_left(c) > 0) {
		struct amqp_value s;
		const struct amqp_cursor here = *c;
		e = amqp_decode_value(c, &s, d);
		if (e != RR_OK)
			break;
		if (s.descriptor == AMQP_DESC_NONE) {
			e = amqp_diag_set(d, RR_E_BAD_SECTION, s.pos, "message", "section");
			break;
		}
		int before = rank;
		e = amqp_section_take(m, &s, d, &rank);
		if (e != RR_OK)
			break;
		if (rank <= RANK_MESSAGE_ANNOTATIONS)
			after_ma = *c;
		if (rank == RANK_BODY) {
			if (before != RANK_BODY)
				body_start = here;
			body_end = amqp_cur_pos(c);
		}
	}
	if (e != RR_OK) {
		*c = start;
		return amqp_diag_set(d, e, m->pos, "message", NULL);
	}
	/* Absent header/properties read as their spec defaults. */
	if (!(m->sections & AMQP_SEC_HEADER))
		amqp_header_init(&m->header);
	if (!(m->sections & AMQP_SEC_PROPERTIES))
		amqp_properties_init(&m->properties);
	m->len = amqp_cur_pos(c) - m->pos;
	if (m->sections & AMQP_SEC_BODY)
		amqp_cur_take(&body_start, (uint32_t)(body_end - amqp_cur_pos(&body_start)), &m->body);
	amqp_cur_take(&after_ma, (uint32_t)(amqp_cur_pos(c) - amqp_cur_pos(&after_ma)),
		      &m->after_annotations);
	return RR_OK;
}

static bool amqp_annotation_replaced(const struct amqp_value *key, const struct amqp_annotation *add,
				     size_t nadd)
{
	if (key->type != AMQP_TYPE_SYMBOL)
		return false;
	for (size_t i = 0; i < nadd; i++)
		if (amqp_bytes_eq_str(&key->bytes, add[i].key))
			return true;
	return false;
}

enum rr_err amqp_encode_annotations(struct amqp_wbuf *w, uint64_t code, const struct amqp_value *old,
				    const struct amqp_annotation *add, size_t nadd,
				    struct amqp_diag *d)
{
	struct amqp_compound k;

	amqp_encode_descriptor(w, code);
	amqp_encode_map_open(w, &k);
	if (old != NULL && old->type == AMQP_TYPE_MAP) {
		struct amqp_iter it;
		struct amqp_value key, val;
		enum rr_err e;
		amqp_iter_init(&it, old, d);
		while ((e = amqp_iter_next(&it, &key, d)) == RR_OK) {
			e = amqp_iter_next(&it, &val, d);
			if (e != RR_OK)
				return e == RR_END ? amqp_diag_set(d, RR_E_ODD_MAP, key.pos, "annotations", NULL) : e;
			if (amqp_annotation_replaced(&key, add, nadd))
				continue;
			amqp_encode_value(w, &key);
			amqp_encode_value(w, &val);
			k.count += 2;
		}
		if (e != RR_END)
			return e;
	}
	for (size_t i = 0; i < nadd; i++) {
		amqp_encode_csym(w, add[i].key);
		amqp_write_bytes(w, &add[i].value);
		k.count += 2;
	}
	amqp_encode_compound_close(w, &k);
	return amqp_wbuf_ok(w) ? RR_OK : RR_E_NO_SPACE;
}

void amqp_encode_data_section(struct amqp_wbuf *w, const struct amqp_bytes *bytes)
{
	amqp_encode_descriptor(w, AMQP_DESC_DATA);
	amqp_encode_binary(w, bytes);
}
