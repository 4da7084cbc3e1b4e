/* The table-driven composite engine (AMQP 1.0 part 1.4): one loop over the
 * generated field table decodes or encodes any composite type. */
#include "amqp_spec_gen.h"

#define FIELD_PTR(base, f, type) ((type *)(void *)((uint8_t *)(base) + (f)->offset))
#define FIELD_CPTR(base, f, type) ((const type *)(const void *)((const uint8_t *)(base) + (f)->offset))

static void amqp_field_set_default(const struct amqp_field_desc *f, void *out)
{
	switch (f->kind) {
	case AMQP_FK_BOOL: *FIELD_PTR(out, f, bool) = f->default_u != 0; break;
	case AMQP_FK_UBYTE: *FIELD_PTR(out, f, uint8_t) = (uint8_t)f->default_u; break;
	case AMQP_FK_USHORT: *FIELD_PTR(out, f, uint16_t) = (uint16_t)f->default_u; break;
	case AMQP_FK_UINT: *FIELD_PTR(out, f, uint32_t) = (uint32_t)f->default_u; break;
	case AMQP_FK_ULONG: *FIELD_PTR(out, f, uint64_t) = f->default_u; break;
	case AMQP_FK_TIMESTAMP: *FIELD_PTR(out, f, int64_t) = (int64_t)f->default_u; break;
	case AMQP_FK_BYTES:
		*FIELD_PTR(out, f, struct amqp_bytes) =
			f->default_sym ? amqp_bytes_of(f->default_sym, strlen(f->default_sym))
				       : amqp_bytes_of(NULL, 0);
		break;
	case AMQP_FK_VALUE: amqp_value_set_null(FIELD_PTR(out, f, struct amqp_value)); break;
	case AMQP_FK_COMPOSITE:
		amqp_composite_init(f->composite, FIELD_PTR(out, f, void));
		break;
	}
}

void amqp_composite_init(const struct amqp_composite_desc *desc, void *out)
{
	memcpy(out, desc->defaults, desc->size);
}

/* Does a decoded value fit the field's declared type? */
static bool amqp_field_accepts(const struct amqp_field_desc *f, const struct amqp_value *v)
{
	if (f->kind == AMQP_FK_VALUE && f->prim == AMQP_TYPE_INVALID)
		return true; /* '*': any type; the archetype is checked by users */
	if (v->described != 0)
		return false; /* a described value is another type (part 1.2) */
	if (f->multiple && v->type == AMQP_TYPE_ARRAY)
		return v->elem_type == f->prim; /* part 1.3: multiple = array */
	return v->type == f->prim;
}

bool amqp_field_requires_ok(const struct amqp_field_desc *f, const struct amqp_value *v)
{
	if (f->req_types == 0 && f->n_req_codes == 0)
		return true;
	if (v->described == 0)
		return v->type < 32 && ((f->req_types >> v->type) & 1);
	if (v->described != 1 || v->type != AMQP_TYPE_LIST)
		return false;
	for (unsigned i = 0; i < f->n_req_codes; i++)
		if (v->descriptor == f->req_codes[i])
			return true;
	return false;
}

/* Store one non-null element into field f of out. */
static enum rr_err amqp_field_store(const struct amqp_field_desc *f, const struct amqp_value *v,
				    void *out, struct amqp_diag *d)
{
	if (AMQP_UNLIKELY(f->kind != AMQP_FK_COMPOSITE && !amqp_field_accepts(f, v)))
		return amqp_diag_set(d, RR_E_WRONG_TYPE, v->pos, NULL, f->name);
	if (f->kind == AMQP_FK_VALUE || f->kind == AMQP_FK_COMPOSITE) {
		/* Nested values are checked now, not when someone walks them;
		 * reported at the field, as the generated decoders do (they
		 * check a nested composite's value before decoding it too). */
		enum rr_err e = amqp_value_validate(v, NULL);
		if (AMQP_UNLIKELY(e != RR_OK))
			return amqp_diag_set(d, e, v->pos, NULL, f->name);
		/* then the archetype of a '*' field, in the generated order */
		if (AMQP_UNLIKELY(f->kind == AMQP_FK_VALUE && !amqp_field_requires_ok(f, v)))
			return amqp_diag_set(d, RR_E_WRONG_TYPE, v->pos, NULL, f->name);
	}
	switch (f->kind) {
	case AMQP_FK_BOOL: *FIELD_PTR(out, f, bool) = v->u.b; break;
	case AMQP_FK_UBYTE: *FIELD_PTR(out, f, uint8_t) = (uint8_t)v->u.u; break;
	case AMQP_FK_USHORT: *FIELD_PTR(out, f, uint16_t) = (uint16_t)v->u.u; break;
	case AMQP_FK_UINT: *FIELD_PTR(out, f, uint32_t) = (uint32_t)v->u.u; break;
	case AMQP_FK_ULONG: *FIELD_PTR(out, f, uint64_t) = v->u.u; break;
	case AMQP_FK_TIMESTAMP: *FIELD_PTR(out, f, int64_t) = v->u.i; break;
	case AMQP_FK_BYTES: *FIELD_PTR(out, f, struct amqp_bytes) = v->bytes; break;
	case AMQP_FK_VALUE: *FIELD_PTR(out, f, struct amqp_value) = *v; break;
	case AMQP_FK_COMPOSITE: {
		/* Nesting is bounded by the spec's types (error inside detach),
		 * not by the input: this recursion cannot be driven deeper. */
		enum rr_err e = amqp_composite_decode_value(f->composite, v, FIELD_PTR(out, f, void), d);
		if (e != RR_OK)
			return amqp_diag_set(d, e, v->pos, NULL, f->name);
		break;
	}
	}
	return RR_OK;
}

enum rr_err amqp_composite_decode_value(const struct amqp_composite_desc *desc,
					const struct amqp_value *v, void *out, struct amqp_diag *d)
{
	if (AMQP_UNLIKELY(v->descriptor != desc->code))
		return amqp_diag_set(d, v->descriptor == AMQP_DESC_NONE ? RR_E_NOT_DESCRIBED
									: RR_E_WRONG_DESCRIPTOR,
				     v->pos, desc->name, NULL);
	/* A composite is a described list, not a described described value. */
	if (AMQP_UNLIKELY(v->described != 1))
		return amqp_diag_set(d, RR_E_WRONG_DESCRIPTOR, v->pos, desc->name, NULL);
	if (AMQP_UNLIKELY(v->type != AMQP_TYPE_LIST))
		return amqp_diag_set(d, RR_E_NOT_DESCRIBED, v->pos, desc->name, NULL);
	if (AMQP_LIKELY(amqp_bytes_contiguous(&v->bytes))) {
		enum rr_err fe = desc->decode_flat(v, out, d);
		if (AMQP_LIKELY(fe != AMQP_TRY_SLOW))
			return fe;
	}

	struct amqp_iter it;
	struct amqp_value ev;
	amqp_present_t present = 0;
	unsigned i = 0;
	enum rr_err e;

	amqp_iter_init(&it, v, d);
	for (; i < desc->nfields; i++) {
		const struct amqp_field_desc *f = &desc->fields[i];
		e = amqp_iter_next(&it, &ev, d);
		if (e == RR_END)
			break;
		if (AMQP_UNLIKELY(e != RR_OK)) /* count used up: bytes left, no field */
			return amqp_diag_set(d, e, ev.pos, desc->name, it.remaining ? f->name : NULL);
		if (ev.type == AMQP_TYPE_NULL) {
			if (AMQP_UNLIKELY(f->mandatory))
				return amqp_diag_set(d, RR_E_MISSING_MANDATORY, ev.pos, desc->name, f->name);
			amqp_field_set_default(f, out);
			continue;
		}
		e = amqp_field_store(f, &ev, out, d);
		if (AMQP_UNLIKELY(e != RR_OK))
			return amqp_diag_set(d, e, ev.pos, desc->name, f->name);
		present |= (amqp_present_t)1 << i;
	}
	/* Trailing fields omitted by the sender take their defaults. */
	for (; i < desc->nfields; i++) {
		const struct amqp_field_desc *f = &desc->fields[i];
		if (AMQP_UNLIKELY(f->mandatory))
			return amqp_diag_set(d, RR_E_MISSING_MANDATORY, amqp_cur_pos(&it.cur),
					     desc->name, f->name);
		amqp_field_set_default(f, out);
	}
	/* Fields a later revision may add are skipped, but must still be
	 * well-formed (and the count must match the bytes). */
	while ((e = amqp_iter_next(&it, &ev, d)) == RR_OK)
		;
	if (e != RR_END)
		return amqp_diag_set(d, e, amqp_cur_pos(&it.cur), desc->name, NULL);
	*(amqp_present_t *)out = present;
	return RR_OK;
}

enum rr_err amqp_composite_decode(const struct amqp_composite_desc *desc, struct amqp_cursor *c,
				  void *out, struct amqp_diag *d)
{
	struct amqp_value v;
	const struct amqp_cursor start = *c;
	v.pos = amqp_cur_pos(c);
	enum rr_err e = amqp_decode_value(c, &v, d);
	if (e == RR_OK)
		e = amqp_composite_decode_value(desc, &v, out, d);
	if (e != RR_OK) {
		*c = start;
		return amqp_diag_set(d, e, v.pos, desc->name, NULL);
	}
	return RR_OK;
}

static void amqp_field_encode(const struct amqp_field_desc *f, const void *in, struct amqp_wbuf *w)
{
	switch (f->kind) {
	case AMQP_FK_BOOL: amqp_encode_bool(w, *FIELD_CPTR(in, f, bool)); break;
	case AMQP_FK_UBYTE: amqp_encode_ubyte(w, *FIELD_CPTR(in, f, uint8_t)); break;
	case AMQP_FK_USHORT: amqp_encode_ushort(w, *FIELD_CPTR(in, f, uint16_t)); break;
	case AMQP_FK_UINT: amqp_encode_uint(w, *FIELD_CPTR(in, f, uint32_t)); break;
	case AMQP_FK_ULONG: amqp_encode_ulong(w, *FIELD_CPTR(in, f, uint64_t)); break;
	case AMQP_FK_TIMESTAMP: amqp_encode_timestamp(w, *FIELD_CPTR(in, f, int64_t)); break;
	case AMQP_FK_BYTES: {
		const struct amqp_bytes *b = FIELD_CPTR(in, f, struct amqp_bytes);
		if (f->prim == AMQP_TYPE_STRING)
			amqp_encode_string(w, b);
		else if (f->prim == AMQP_TYPE_SYMBOL)
			amqp_encode_symbol(w, b);
		else
			amqp_encode_binary(w, b);
		break;
	}
	case AMQP_FK_VALUE: amqp_encode_value(w, FIELD_CPTR(in, f, struct amqp_value)); break;
	case AMQP_FK_COMPOSITE: amqp_composite_encode(f->composite, FIELD_CPTR(in, f, void), w); break;
	}
}

void amqp_composite_encode(const struct amqp_composite_desc *desc, const void *in,
			   struct amqp_wbuf *w)
{
	amqp_present_t present = *(const amqp_present_t *)in;
	struct amqp_compound k;
	unsigned n = 0;

	for (unsigned i = 0; i < desc->nfields; i++)
		if (desc->fields[i].mandatory)
			present |= (amqp_present_t)1 << i;
	/* Trailing absent fields are omitted (part 1.4). */
	for (unsigned i = 0; i < desc->nfields; i++)
		if (present & ((amqp_present_t)1 << i))
			n = i + 1;

	amqp_encode_descriptor(w, desc->code);
	amqp_encode_list_open(w, &k);
	for (unsigned i = 0; i < n; i++) {
		if (present & ((amqp_present_t)1 << i))
			amqp_field_encode(&desc->fields[i], in, w);
		else
			amqp_encode_null(w);
	}
	k.count = n;
	amqp_encode_compound_close(w, &k);
}

const struct amqp_composite_desc *amqp_composite_by_code(uint64_t code)
{
	for (size_t i = 0; i < amqp_composites_count; i++)
		if (amqp_composites[i]->code == code)
			return amqp_composites[i];
	return NULL;
}
