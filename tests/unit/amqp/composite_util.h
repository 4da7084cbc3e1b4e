// Composite helpers: random composites (as value trees) driven by the
// generated field tables, comparison of a decoded generated struct with a
// tree, and filling a struct from a tree for our encoder.
#pragma once

#include "oracle_util.h"

// Composites whose "provides" lists archetype a (e.g. "delivery-state").
inline std::vector<const struct amqp_composite_desc *> providers_of(const std::string &a)
{
	std::vector<const struct amqp_composite_desc *> out;
	for (size_t i = 0; i < amqp_composites_count; i++) {
		const char *p = amqp_composites[i]->provides;
		if (p == nullptr)
			continue;
		std::string s = std::string(", ") + p + ",";
		if (s.find(" " + a + ",") != std::string::npos)
			out.push_back(amqp_composites[i]);
	}
	return out;
}

inline TV rand_composite(Rng &r, const struct amqp_composite_desc *desc, int depth, bool canonical);

inline TV rand_fields_map(Rng &r, int depth)
{
	TV m = tv_of(AMQP_TYPE_MAP);
	size_t n = r.below(4);
	for (size_t k = 0; k < n; k++) {
		m.kids.push_back(tv_s(AMQP_TYPE_SYMBOL, "k" + std::to_string(k) + r.bytes(r.below(6), true)));
		m.kids.push_back(depth < 2 && r.coin(20) ? rand_tv(r, 2) : rand_scalar(r, rand_scalar_type(r)));
	}
	return m;
}

inline TV rand_of_prim(Rng &r, uint8_t prim, int depth)
{
	if (prim == AMQP_TYPE_MAP)
		return rand_fields_map(r, depth);
	TV v = rand_scalar(r, prim);
	if (prim == AMQP_TYPE_SYMBOL && v.s.size() > 300)
		v.s.resize(300);
	return v;
}

inline TV rand_field(Rng &r, const struct amqp_field_desc *f, int depth)
{
	if (f->kind == AMQP_FK_COMPOSITE)
		return rand_composite(r, f->composite, depth + 1, true);
	if (f->multiple) {
		if (r.coin(40))
			return rand_of_prim(r, f->prim, depth);
		TV a = tv_array(f->prim, {});
		size_t n = r.below(5);
		for (size_t k = 0; k < n; k++) {
			TV e = rand_scalar(r, f->prim);
			if (e.s.size() > 40 && !r.coin(5))
				e.s.resize(40);
			a.kids.push_back(e);
		}
		return a;
	}
	if (f->prim != AMQP_TYPE_INVALID)
		return rand_of_prim(r, f->prim, depth);
	// '*' fields: a value of a type that provides the required archetype.
	std::string req = f->requires ? f->requires : "";
	auto provs = providers_of(req);
	if (!provs.empty()) {
		if (depth >= 2)
			return rand_composite(r, &amqp_accepted_desc, depth + 1, true);
		return rand_composite(r, provs[r.below(provs.size())], depth + 1, true);
	}
	if (req == "address")
		return tv_s(AMQP_TYPE_STRING, r.coin() ? "openstack.org/om/rpc/" + r.bytes(r.below(30), true)
						     : r.bytes(r.len(), true));
	if (req == "message-id") {
		static const uint8_t t[] = {AMQP_TYPE_ULONG, AMQP_TYPE_UUID, AMQP_TYPE_BINARY, AMQP_TYPE_STRING};
		return rand_scalar(r, t[r.below(4)]);
	}
	if (req == "txn-id" || req == "global-tx-id")
		return tv_s(AMQP_TYPE_BINARY, r.bytes(r.below(40), false));
	return rand_scalar(r, rand_scalar_type(r));
}

// A random composite as a described list. canonical: trailing nulls
// omitted; otherwise up to 3 explicit trailing nulls may follow.
inline TV rand_composite(Rng &r, const struct amqp_composite_desc *desc, int depth, bool canonical)
{
	TV t = tv_described(desc->code, tv_list({}));
	size_t last = 0;
	std::vector<TV> kids(desc->nfields);
	for (unsigned i = 0; i < desc->nfields; i++) {
		const struct amqp_field_desc *f = &desc->fields[i];
		if (f->mandatory || r.coin(depth ? 40 : 55)) {
			kids[i] = rand_field(r, f, depth);
			last = i + 1;
		}
	}
	kids.resize(last);
	if (!canonical) {
		size_t extra = r.below(4);
		for (size_t k = 0; k < extra && kids.size() < desc->nfields; k++)
			kids.push_back(tv_null());
	}
	t.kids = kids;
	return t;
}

// The canonical form of a composite tree: numeric descriptor, no trailing
// nulls (top level; nested composites are generated canonical).
inline TV canonical_composite(const TV &t, uint64_t code)
{
	TV c = t;
	c.dkind = 1;
	c.dcode = code;
	c.dsym.clear();
	while (!c.kids.empty() && c.kids.back().type == AMQP_TYPE_NULL && c.kids.back().dkind == 0)
		c.kids.pop_back();
	return c;
}

// Storage for one generated struct of any composite, suitably aligned.
struct struct_buf {
	std::vector<uint64_t> mem;
	explicit struct_buf(const struct amqp_composite_desc *desc) : mem(desc->size / 8 + 2, 0) {}
	void *p() { return mem.data(); }
};

template <typename T> inline const T &field_at(const void *s, const struct amqp_field_desc *f)
{
	return *(const T *)(const void *)((const uint8_t *)s + f->offset);
}
template <typename T> inline T &field_at(void *s, const struct amqp_field_desc *f)
{
	return *(T *)(void *)((uint8_t *)s + f->offset);
}

// Compare a decoded struct with the tree it was encoded from; "" if equal.
inline std::string compare_struct(const struct amqp_composite_desc *desc, const void *s, const TV &t,
				  const std::string &path = "")
{
	std::string base = path.empty() ? desc->name : path;
	amqp_present_t present = *(const amqp_present_t *)s;
	if (t.kids.size() < 32 && (present >> desc->nfields) != 0)
		return base + ": presence bits past the last field";
	for (unsigned i = 0; i < desc->nfields; i++) {
		const struct amqp_field_desc *f = &desc->fields[i];
		std::string p = base + "." + f->name;
		const TV *kid = i < t.kids.size() && t.kids[i].type != AMQP_TYPE_NULL ? &t.kids[i] : nullptr;
		bool bit = (present >> i) & 1;
		if (bit != (kid != nullptr))
			return p + ": present bit " + std::to_string(bit);
		switch (f->kind) {
		case AMQP_FK_BOOL:
			if (field_at<bool>(s, f) != (kid ? kid->b : f->default_u != 0)) return p + ": bool";
			break;
		case AMQP_FK_UBYTE:
			if (field_at<uint8_t>(s, f) != (kid ? kid->u : f->default_u)) return p + ": ubyte";
			break;
		case AMQP_FK_USHORT:
			if (field_at<uint16_t>(s, f) != (kid ? kid->u : f->default_u)) return p + ": ushort";
			break;
		case AMQP_FK_UINT:
			if (field_at<uint32_t>(s, f) != (kid ? kid->u : f->default_u)) return p + ": uint";
			break;
		case AMQP_FK_ULONG:
			if (field_at<uint64_t>(s, f) != (kid ? kid->u : f->default_u)) return p + ": ulong";
			break;
		case AMQP_FK_TIMESTAMP:
			if (field_at<int64_t>(s, f) != (kid ? kid->i : (int64_t)f->default_u)) return p + ": timestamp";
			break;
		case AMQP_FK_BYTES: {
			std::string want = kid ? kid->s : f->default_sym ? f->default_sym : "";
			if (bytes_str(field_at<struct amqp_bytes>(s, f)) != want) return p + ": bytes";
			break;
		}
		case AMQP_FK_VALUE: {
			const struct amqp_value &v = field_at<struct amqp_value>(s, f);
			if (kid == nullptr) {
				if (v.type != AMQP_TYPE_NULL) return p + ": absent but not null";
			} else {
				std::string e = ours_compare(v, *kid, p);
				if (!e.empty()) return e;
			}
			break;
		}
		case AMQP_FK_COMPOSITE: {
			const void *sub = (const uint8_t *)s + f->offset;
			std::string e = compare_struct(f->composite, sub, kid ? *kid : tv_list({}), p);
			if (!e.empty()) return e;
			break;
		}
		}
	}
	return "";
}

// Fill a generated struct from a composite tree; keep holds the encoded
// bytes that '*' / multiple / map fields point into.
inline void fill_struct(const struct amqp_composite_desc *desc, void *s, const TV &t,
			std::deque<Bytes> &keep)
{
	amqp_composite_init(desc, s);
	amqp_present_t present = 0;
	for (unsigned i = 0; i < desc->nfields && i < t.kids.size(); i++) {
		const struct amqp_field_desc *f = &desc->fields[i];
		const TV &kid = t.kids[i];
		if (kid.type == AMQP_TYPE_NULL)
			continue;
		present |= (amqp_present_t)1 << i;
		switch (f->kind) {
		case AMQP_FK_BOOL: field_at<bool>(s, f) = kid.b; break;
		case AMQP_FK_UBYTE: field_at<uint8_t>(s, f) = (uint8_t)kid.u; break;
		case AMQP_FK_USHORT: field_at<uint16_t>(s, f) = (uint16_t)kid.u; break;
		case AMQP_FK_UINT: field_at<uint32_t>(s, f) = (uint32_t)kid.u; break;
		case AMQP_FK_ULONG: field_at<uint64_t>(s, f) = kid.u; break;
		case AMQP_FK_TIMESTAMP: field_at<int64_t>(s, f) = kid.i; break;
		case AMQP_FK_BYTES: field_at<struct amqp_bytes>(s, f) = amqp_bytes_of(kid.s.data(), kid.s.size()); break;
		case AMQP_FK_VALUE: {
			keep.push_back(canon_bytes(kid));
			struct amqp_seg seg;
			struct amqp_cursor c;
			amqp_cur_init_flat(&c, &seg, keep.back().data(), keep.back().size());
			struct amqp_diag d = {};
			EXPECT_EQ(amqp_decode_value(&c, &field_at<struct amqp_value>(s, f), &d), RR_OK);
			break;
		}
		case AMQP_FK_COMPOSITE: fill_struct(f->composite, (uint8_t *)s + f->offset, kid, keep); break;
		}
	}
	*(amqp_present_t *)s = present;
}

inline Bytes encode_struct(const struct amqp_composite_desc *desc, const void *s)
{
	Bytes &o = scratch_out();
	struct amqp_wbuf w;
	amqp_wbuf_init(&w, o.data(), o.size());
	amqp_composite_encode(desc, s, &w);
	EXPECT_TRUE(amqp_wbuf_ok(&w));
	return Bytes(o.begin(), o.begin() + (ptrdiff_t)amqp_wbuf_len(&w));
}
