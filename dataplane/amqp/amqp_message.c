#include "amqp_message.h"

#include <stddef.h>

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

/* What each section descriptor (0x70 header .. 0x78 footer, part 3.2)
 * means to the scanner: its rank, its bit, the value type it must have
 * (AMQP_TYPE_INVALID: any), and where the view keeps it undecoded (offset
 * in struct amqp_message_view, or -1). */
struct amqp_section_info {
	uint8_t rank;
	uint8_t want;
	uint16_t bit;
	int16_t dest;
};

#define SECTION_DEST(field) ((int16_t)offsetof(struct amqp_message_view, field))
static const struct amqp_section_info amqp_section_infos[9] = {
	/* 0x70 */ {RANK_HEADER, AMQP_TYPE_LIST, AMQP_SEC_HEADER, -1},
	/* 0x71 */ {RANK_DELIVERY_ANNOTATIONS, AMQP_TYPE_MAP, AMQP_SEC_DELIVERY_ANNOTATIONS, SECTION_DEST(delivery_annotations)},
	/* 0x72 */ {RANK_MESSAGE_ANNOTATIONS, AMQP_TYPE_MAP, AMQP_SEC_MESSAGE_ANNOTATIONS, SECTION_DEST(message_annotations)},
	/* 0x73 */ {RANK_PROPERTIES, AMQP_TYPE_LIST, AMQP_SEC_PROPERTIES, -1},
	/* 0x74 */ {RANK_APPLICATION_PROPERTIES, AMQP_TYPE_MAP, AMQP_SEC_APPLICATION_PROPERTIES, SECTION_DEST(application_properties)},
	/* 0x75 */ {RANK_BODY, AMQP_TYPE_BINARY, AMQP_SEC_BODY_DATA, -1},
	/* 0x76 */ {RANK_BODY, AMQP_TYPE_LIST, AMQP_SEC_BODY_SEQUENCE, -1},
	/* 0x77 */ {RANK_BODY, AMQP_TYPE_INVALID, AMQP_SEC_BODY_VALUE, -1},
	/* 0x78 */ {RANK_FOOTER, AMQP_TYPE_MAP, AMQP_SEC_FOOTER, SECTION_DEST(footer)},
};

static inline const struct amqp_section_info *amqp_section_info_of(uint64_t descriptor)
{
	uint64_t i = descriptor - AMQP_DESC_HEADER;
	return i < 9 ? &amqp_section_infos[i] : NULL;
}

static inline struct amqp_value *amqp_section_dest(struct amqp_message_view *m,
						   const struct amqp_section_info *info)
{
	return (struct amqp_value *)(void *)((uint8_t *)m + info->dest);
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
	m->body_sections = 0;

	while (amqp_cur_left(c) > 0) {
		struct amqp_value tmp;
		struct amqp_value *s = &tmp;
		const struct amqp_cursor here = *c;
		/* Peek at the usual descriptor form (0x00 0x53 code) so that a
		 * map section is decoded straight into its place in the view. */
		if (AMQP_LIKELY(c->lim - c->p >= 3 && c->p[0] == 0x00 && c->p[1] == 0x53)) {
			const struct amqp_section_info *pi = amqp_section_info_of(c->p[2]);
			if (pi != NULL && pi->dest >= 0)
				s = amqp_section_dest(m, pi);
		}
		e = amqp_decode_value(c, s, d);
		if (AMQP_UNLIKELY(e != RR_OK))
			break;
		const struct amqp_section_info *info = amqp_section_info_of(s->descriptor);
		/* A section is its type described once (part 3.2), not a
		 * described value that is itself described. */
		if (AMQP_UNLIKELY(info == NULL || s->described != 1 ||
				  (info->want != AMQP_TYPE_INVALID && s->type != info->want))) {
			e = amqp_diag_set(d, RR_E_BAD_SECTION, s->pos, "message", "section");
			break;
		}
		if (info->rank == RANK_BODY && rank == RANK_BODY) {
			/* Repeated data or amqp-sequence sections continue the
			 * body; a different kind, or a second amqp-value, is a mix. */
			if (AMQP_UNLIKELY(!(m->sections & info->bit) || info->bit == AMQP_SEC_BODY_VALUE)) {
				e = amqp_diag_set(d, RR_E_MIXED_BODY, s->pos, "message", "body");
				break;
			}
			m->body_sections++;
			body_end = amqp_cur_pos(c);
			continue;
		}
		if (AMQP_UNLIKELY((int)info->rank <= rank)) {
			e = amqp_diag_set(d, RR_E_SECTION_ORDER, s->pos, "message", "section");
			break;
		}
		rank = info->rank;
		m->sections |= info->bit;
		if (info->dest >= 0 && s == &tmp) /* not peeked: an unusual descriptor form */
			*amqp_section_dest(m, info) = tmp;
		switch (info->rank) {
		case RANK_HEADER:
			m->header_raw = s->raw;
			e = amqp_composite_decode_matched(&amqp_header_desc, s, &m->header, d);
			break;
		case RANK_DELIVERY_ANNOTATIONS:
			m->delivery_annotations_raw = s->raw;
			break;
		case RANK_PROPERTIES:
			e = amqp_composite_decode_matched(&amqp_properties_desc, s, &m->properties, d);
			break;
		case RANK_BODY:
			m->body_sections = 1;
			body_start = here;
			body_end = amqp_cur_pos(c);
			break;
		default:
			break;
		}
		if (AMQP_UNLIKELY(e != RR_OK))
			break;
		if (rank <= RANK_MESSAGE_ANNOTATIONS)
			after_ma = *c;
	}
	if (e != RR_OK) {
		*c = start;
		return amqp_diag_set(d, e, m->pos, "message", NULL);
	}
	/* Absent sections read as their spec defaults (null maps). */
	if (!(m->sections & AMQP_SEC_HEADER)) {
		amqp_header_init(&m->header);
		m->header_raw = amqp_bytes_of(NULL, 0);
	}
	if (!(m->sections & AMQP_SEC_DELIVERY_ANNOTATIONS)) {
		amqp_value_set_null(&m->delivery_annotations);
		m->delivery_annotations_raw = amqp_bytes_of(NULL, 0);
	}
	if (!(m->sections & AMQP_SEC_MESSAGE_ANNOTATIONS))
		amqp_value_set_null(&m->message_annotations);
	if (!(m->sections & AMQP_SEC_PROPERTIES))
		amqp_properties_init(&m->properties);
	if (!(m->sections & AMQP_SEC_APPLICATION_PROPERTIES))
		amqp_value_set_null(&m->application_properties);
	if (!(m->sections & AMQP_SEC_FOOTER))
		amqp_value_set_null(&m->footer);
	m->len = amqp_cur_pos(c) - m->pos;
	/* Views hold 32-bit lengths: a message of 4 GiB or more is refused
	 * rather than described wrongly. */
	if (AMQP_UNLIKELY(m->len > UINT32_MAX)) {
		*c = start;
		return amqp_diag_set(d, RR_E_TOO_LARGE, m->pos, "message", NULL);
	}
	if (m->sections & AMQP_SEC_BODY)
		amqp_cur_take(&body_start, (uint32_t)(body_end - amqp_cur_pos(&body_start)), &m->body);
	else
		m->body = amqp_bytes_of(NULL, 0);
	amqp_cur_take(&after_ma, (uint32_t)(amqp_cur_pos(c) - amqp_cur_pos(&after_ma)),
		      &m->after_annotations);
	return RR_OK;
}

/* Is key (of the map's key type) one of the keys being added? */
static bool amqp_key_replaced(const struct amqp_value *key, uint8_t key_type,
			      const struct amqp_annotation *add, size_t nadd)
{
	if (key->type != key_type)
		return false;
	for (size_t i = 0; i < nadd; i++)
		if (amqp_bytes_eq_str(&key->bytes, add[i].key))
			return true;
	return false;
}

/* A described map section: old's entries whose keys are not in add, then
 * add's, with keys of key_type (symbol for annotations, part 3.2.10;
 * string for application-properties, part 3.2.5). */
static enum rr_err amqp_encode_keyed_section(struct amqp_wbuf *w, uint64_t code, uint8_t key_type,
					     const struct amqp_value *old,
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
			if (amqp_key_replaced(&key, key_type, add, nadd))
				continue;
			amqp_encode_value(w, &key);
			amqp_encode_value(w, &val);
			k.count += 2;
		}
		if (e != RR_END)
			return e;
	}
	for (size_t i = 0; i < nadd; i++) {
		struct amqp_bytes key = amqp_bytes_of(add[i].key, strlen(add[i].key));
		if (key_type == AMQP_TYPE_STRING)
			amqp_encode_string(w, &key);
		else
			amqp_encode_symbol(w, &key);
		amqp_write_bytes(w, &add[i].value);
		k.count += 2;
	}
	amqp_encode_compound_close(w, &k);
	return amqp_wbuf_ok(w) ? RR_OK : RR_E_NO_SPACE;
}

enum rr_err amqp_encode_annotations(struct amqp_wbuf *w, uint64_t code, const struct amqp_value *old,
				    const struct amqp_annotation *add, size_t nadd,
				    struct amqp_diag *d)
{
	return amqp_encode_keyed_section(w, code, AMQP_TYPE_SYMBOL, old, add, nadd, d);
}

enum rr_err amqp_encode_application_properties(struct amqp_wbuf *w, const struct amqp_value *old,
					       const struct amqp_annotation *add, size_t nadd,
					       struct amqp_diag *d)
{
	return amqp_encode_keyed_section(w, AMQP_DESC_APPLICATION_PROPERTIES, AMQP_TYPE_STRING, old,
					 add, nadd, d);
}

void amqp_encode_amqp_sequence_section(struct amqp_wbuf *w, const struct amqp_value *list)
{
	if (list->type != AMQP_TYPE_LIST) {
		w->overflow = true; /* refuse to write an invalid section */
		return;
	}
	amqp_encode_descriptor(w, AMQP_DESC_AMQP_SEQUENCE);
	amqp_encode_value(w, list);
}

void amqp_encode_amqp_value_section(struct amqp_wbuf *w, const struct amqp_value *v)
{
	amqp_encode_descriptor(w, AMQP_DESC_AMQP_VALUE);
	amqp_encode_value(w, v);
}

void amqp_encode_data_section(struct amqp_wbuf *w, const struct amqp_bytes *bytes)
{
	amqp_encode_descriptor(w, AMQP_DESC_DATA);
	amqp_encode_binary(w, bytes);
}
