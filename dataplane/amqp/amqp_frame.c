#include "amqp_frame.h"

static const uint8_t amqp_magic[4] = {'A', 'M', 'Q', 'P'};

enum rr_err amqp_proto_header_parse(struct amqp_cursor *c, enum amqp_proto_id *id)
{
	uint8_t h[AMQP_PROTO_HEADER_LEN];
	uint64_t n = amqp_cur_left(c) < sizeof h ? amqp_cur_left(c) : sizeof h;
	struct amqp_cursor peek = *c;

	if (n == 0)
		return RR_NEED_MORE; /* nothing yet (an empty chain may hold NULL) */
	amqp_cur_copy(&peek, h, (size_t)n);
	/* A prefix that already differs from "AMQP" is garbage: say so now
	 * rather than wait for 8 bytes that will never make it valid. */
	if (memcmp(h, amqp_magic, n < 4 ? (size_t)n : 4) != 0)
		return RR_E_PROTO_HEADER;
	/* Likewise an unknown protocol id or version is known at its byte. */
	const uint8_t want[3] = {AMQP_MAJOR, AMQP_MINOR, AMQP_REVISION};
	if (n > 4 && h[4] != AMQP_PROTO_AMQP && h[4] != AMQP_PROTO_TLS && h[4] != AMQP_PROTO_SASL)
		return RR_E_PROTO_VERSION;
	if (n > 5 && memcmp(h + 5, want, (size_t)n - 5) != 0)
		return RR_E_PROTO_VERSION;
	if (n < sizeof h)
		return RR_NEED_MORE;
	*id = (enum amqp_proto_id)h[4];
	*c = peek;
	return RR_OK;
}

void amqp_proto_header_encode(struct amqp_wbuf *w, enum amqp_proto_id id)
{
	uint8_t h[AMQP_PROTO_HEADER_LEN] = {'A', 'M', 'Q', 'P', (uint8_t)id, AMQP_MAJOR, AMQP_MINOR,
					    AMQP_REVISION};
	amqp_write_mem(w, h, sizeof h);
}

enum rr_err amqp_frame_parse(struct amqp_cursor *c, uint32_t max_frame, struct amqp_frame *f,
			     struct amqp_diag *d)
{
	uint8_t hb[AMQP_FRAME_HEADER_LEN];
	const uint8_t *h;
	uint64_t pos = amqp_cur_pos(c);

	if (amqp_cur_left(c) < sizeof hb)
		return RR_NEED_MORE;
	if (AMQP_LIKELY((size_t)(c->lim - c->p) >= sizeof hb)) {
		h = c->p; /* the header lies in one segment: read it in place */
	} else {
		struct amqp_cursor peek = *c;
		amqp_cur_copy(&peek, hb, sizeof hb);
		h = hb;
	}
	uint32_t size = ((uint32_t)h[0] << 24) | ((uint32_t)h[1] << 16) | ((uint32_t)h[2] << 8) | h[3];
	/* part 2.3.1: size counts the whole frame; doff counts 4-byte words
	 * from the frame start to the body and is at least 2. */
	if (AMQP_UNLIKELY(size < AMQP_FRAME_HEADER_LEN))
		return amqp_diag_set(d, RR_E_FRAME_TOO_SMALL, pos, "frame", "size");
	if (AMQP_UNLIKELY(size > max_frame))
		return amqp_diag_set(d, RR_E_FRAME_TOO_LARGE, pos, "frame", "size");
	const uint32_t hlen = (uint32_t)h[4] * 4;
	if (AMQP_UNLIKELY(h[4] < 2 || hlen > size))
		return amqp_diag_set(d, RR_E_FRAME_DOFF, pos + 4, "frame", "doff");
	if (amqp_cur_left(c) < size)
		return RR_NEED_MORE;

	f->size = size;
	f->doff = h[4];
	f->type = h[5];
	f->channel = (uint16_t)((h[6] << 8) | h[7]);
	f->pos = pos;
	/* From here on the cursor moves (all checks are done). */
	if (AMQP_LIKELY((size_t)(c->lim - c->p) >= hlen)) {
		f->ext_header = amqp_bytes_of(c->p + AMQP_FRAME_HEADER_LEN, hlen - AMQP_FRAME_HEADER_LEN);
		c->p += hlen;
		c->left -= hlen;
	} else {
		amqp_cur_skip(c, AMQP_FRAME_HEADER_LEN);
		amqp_cur_take(c, hlen - AMQP_FRAME_HEADER_LEN, &f->ext_header);
	}
	amqp_cur_split(c, size - hlen, &f->body);
	return RR_OK;
}

void amqp_frame_end(struct amqp_wbuf *w, uint8_t *hdr, enum amqp_frame_type type, uint16_t channel)
{
	if (w->overflow || hdr == NULL)
		return;
	amqp_put_be32(hdr, (uint32_t)(w->p - hdr));
	hdr[4] = 2;
	hdr[5] = (uint8_t)type;
	amqp_put_be16(hdr + 6, channel);
}

void amqp_frame_encode_heartbeat(struct amqp_wbuf *w)
{
	uint8_t *h = amqp_frame_begin(w);
	amqp_frame_end(w, h, AMQP_FRAME_AMQP, 0);
}

const struct amqp_composite_desc *amqp_performative_desc(uint64_t code)
{
	switch (code) {
	case AMQP_DESC_OPEN: return &amqp_open_desc;
	case AMQP_DESC_BEGIN: return &amqp_begin_desc;
	case AMQP_DESC_ATTACH: return &amqp_attach_desc;
	case AMQP_DESC_FLOW: return &amqp_flow_desc;
	case AMQP_DESC_TRANSFER: return &amqp_transfer_desc;
	case AMQP_DESC_DISPOSITION: return &amqp_disposition_desc;
	case AMQP_DESC_DETACH: return &amqp_detach_desc;
	case AMQP_DESC_END: return &amqp_end_desc;
	case AMQP_DESC_CLOSE: return &amqp_close_desc;
	default: return NULL;
	}
}

const struct amqp_composite_desc *amqp_sasl_desc(uint64_t code)
{
	switch (code) {
	case AMQP_DESC_SASL_MECHANISMS: return &amqp_sasl_mechanisms_desc;
	case AMQP_DESC_SASL_INIT: return &amqp_sasl_init_desc;
	case AMQP_DESC_SASL_CHALLENGE: return &amqp_sasl_challenge_desc;
	case AMQP_DESC_SASL_RESPONSE: return &amqp_sasl_response_desc;
	case AMQP_DESC_SASL_OUTCOME: return &amqp_sasl_outcome_desc;
	default: return NULL;
	}
}

/* Decode the described list at the start of a frame body with the table
 * that lookup() picks for its descriptor. */
static enum rr_err amqp_body_decode(struct amqp_cursor *body,
				    const struct amqp_composite_desc *(*lookup)(uint64_t),
				    uint64_t *code, void *out, bool payload_allowed, struct amqp_diag *d)
{
	struct amqp_value v;
	uint64_t pos = amqp_cur_pos(body);
	enum rr_err e = amqp_decode_value(body, &v, d);
	if (e != RR_OK)
		return amqp_diag_set(d, e, pos, "frame", "performative");
	const struct amqp_composite_desc *desc = lookup(v.descriptor);
	if (desc == NULL)
		return amqp_diag_set(d, v.descriptor == AMQP_DESC_NONE ? RR_E_NOT_DESCRIBED
								       : RR_E_UNKNOWN_PERFORMATIVE,
				     pos, "frame", "performative");
	e = amqp_composite_decode_matched(desc, &v, out, d);
	if (e != RR_OK)
		return e;
	if (!payload_allowed && amqp_cur_left(body) != 0)
		return amqp_diag_set(d, RR_E_FRAME_TRAILING, amqp_cur_pos(body), desc->name, NULL);
	*code = desc->code;
	return RR_OK;
}

/* The transfer as every peer encodes it: 0x00 0x53 0x14 and a list8 or
 * list32 lying in the current segment. Its elements go straight to the
 * generated decoder; anything else (other performatives, other forms, a
 * list across segments or malformed) returns AMQP_TRY_SLOW untouched and
 * takes the general path, which gives the same result. */
static AMQP_INLINE enum rr_err amqp_transfer_fast(struct amqp_cursor *body,
						  struct amqp_performative *p, struct amqp_diag *d)
{
	const uint8_t *const s = body->p;
	const uint64_t avail = (uint64_t)(body->lim - s);
	uint64_t hlen, size;
	uint32_t count;

	if (AMQP_UNLIKELY(avail < 6 || s[0] != 0x00 || s[1] != 0x53 || s[2] != AMQP_DESC_TRANSFER))
		return AMQP_TRY_SLOW;
	if (AMQP_LIKELY(s[3] == 0xc0)) { /* list8: size, count */
		size = s[4];
		if (AMQP_UNLIKELY(size < 1 || size > avail - 5))
			return AMQP_TRY_SLOW;
		count = s[5];
		hlen = 6;
		size += 5;
	} else if (s[3] == 0xd0) { /* list32 */
		if (AMQP_UNLIKELY(avail < 12))
			return AMQP_TRY_SLOW;
		size = ((uint32_t)s[4] << 24) | ((uint32_t)s[5] << 16) | ((uint32_t)s[6] << 8) | s[7];
		if (AMQP_UNLIKELY(size < 4 || size > avail - 8))
			return AMQP_TRY_SLOW;
		count = ((uint32_t)s[8] << 24) | ((uint32_t)s[9] << 16) | ((uint32_t)s[10] << 8) | s[11];
		hlen = 12;
		size += 8;
	} else {
		return AMQP_TRY_SLOW;
	}
	if (AMQP_UNLIKELY(count > size - hlen))
		return AMQP_TRY_SLOW; /* the general path names the error */
	enum rr_err e = amqp_transfer_decode_list(s + hlen, s + size, count,
						  amqp_cur_pos(body) + hlen, &p->u.transfer, d);
	if (AMQP_LIKELY(e == RR_OK)) {
		body->p = s + size;
		body->left -= size;
		p->code = AMQP_DESC_TRANSFER;
		p->payload = *body;
		return RR_OK;
	}
	if (e != AMQP_TRY_SLOW) {
		/* as the general path leaves it: past the performative */
		body->p = s + size;
		body->left -= size;
	}
	return e;
}

enum rr_err amqp_performative_decode(struct amqp_cursor *body, struct amqp_performative *p,
				     struct amqp_diag *d)
{
	enum rr_err e = amqp_transfer_fast(body, p, d);
	if (AMQP_LIKELY(e != AMQP_TRY_SLOW))
		return e;
	/* Only a transfer carries a payload (part 2.7.5); decide after the
	 * descriptor is known, so peek at it through the generic path. */
	e = amqp_body_decode(body, amqp_performative_desc, &p->code, &p->u, true, d);
	if (e != RR_OK)
		return e;
	if (p->code != AMQP_DESC_TRANSFER && amqp_cur_left(body) != 0)
		return amqp_diag_set(d, RR_E_FRAME_TRAILING, amqp_cur_pos(body),
				     amqp_performative_desc(p->code)->name, NULL);
	p->payload = *body;
	return RR_OK;
}

enum rr_err amqp_sasl_frame_decode(struct amqp_cursor *body, struct amqp_sasl_frame *s,
				   struct amqp_diag *d)
{
	return amqp_body_decode(body, amqp_sasl_desc, &s->code, &s->u, false, d);
}
