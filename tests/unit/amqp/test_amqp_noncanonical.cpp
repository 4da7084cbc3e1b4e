// Non-canonical encodings, written out as bytes, decoded by ours and by
// proton with the same result (AMQP 1.0 part 1.6: every width of every
// type is legal; a receiver must accept all of them).
#include "composite_util.h"

static const uint64_t kSeedPrinted = test_seed();


// Both decoders must see t in b, whatever the segment split.
static void both(const Bytes &b, const TV &t, const char *what)
{
	for (size_t n : test_split_sizes())
		EXPECT_EQ(ours_decode_compare(b, t, n), "") << what << ": " << hex(b);
	EXPECT_EQ(pn_decode_compare(b, t), "") << what << ": " << hex(b);
}

TEST(AmqpNonCanonical, PrimitiveWidths)
{
	RR_SEED_TRACE();
	both(B({0x43}), tv_u(AMQP_TYPE_UINT, 0), "uint0");
	both(B({0x52, 0x00}), tv_u(AMQP_TYPE_UINT, 0), "smalluint 0");
	both(B({0x52, 0x05}), tv_u(AMQP_TYPE_UINT, 5), "smalluint");
	both(B({0x70, 0, 0, 0, 5}), tv_u(AMQP_TYPE_UINT, 5), "uint32 small value");
	both(B({0x70, 0, 0, 0, 0}), tv_u(AMQP_TYPE_UINT, 0), "uint32 zero");
	both(B({0x44}), tv_u(AMQP_TYPE_ULONG, 0), "ulong0");
	both(B({0x53, 0x00}), tv_u(AMQP_TYPE_ULONG, 0), "smallulong 0");
	both(B({0x80, 0, 0, 0, 0, 0, 0, 0, 9}), tv_u(AMQP_TYPE_ULONG, 9), "ulong64 small value");
	both(B({0x71, 0xff, 0xff, 0xff, 0xfe}), tv_i(AMQP_TYPE_INT, -2), "int32 small value");
	both(B({0x81, 0, 0, 0, 0, 0, 0, 0, 1}), tv_i(AMQP_TYPE_LONG, 1), "long64 small value");
	both(B({0x55, 0x80}), tv_i(AMQP_TYPE_LONG, -128), "smalllong");
	both(B({0x56, 0x01}), tv_bool(true), "boolean 0x56 true");
	both(B({0x56, 0x00}), tv_bool(false), "boolean 0x56 false");
	both(B({0xb1, 0, 0, 0, 3, 'a', 'b', 'c'}), tv_s(AMQP_TYPE_STRING, "abc"), "str32 short");
	both(B({0xb3, 0, 0, 0, 2, 'x', 'y'}), tv_s(AMQP_TYPE_SYMBOL, "xy"), "sym32 short");
	both(B({0xb0, 0, 0, 0, 1, 0xff}), tv_s(AMQP_TYPE_BINARY, "\xff"), "vbin32 short");
	both(B({0xb1, 0, 0, 0, 0}), tv_s(AMQP_TYPE_STRING, ""), "str32 empty");
	both(B({0xa0, 0}), tv_s(AMQP_TYPE_BINARY, ""), "vbin8 empty");
}

TEST(AmqpNonCanonical, CompoundWidths)
{
	RR_SEED_TRACE();
	TV l1 = tv_list({tv_i(AMQP_TYPE_INT, 7)});
	both(B({0xd0, 0, 0, 0, 6, 0, 0, 0, 1, 0x54, 7}), l1, "list32 where list8 would do");
	both(B({0xc0, 1, 0}), tv_list({}), "list8 empty");
	both(B({0xd0, 0, 0, 0, 4, 0, 0, 0, 0}), tv_list({}), "list32 empty");
	TV m = tv_map({tv_s(AMQP_TYPE_SYMBOL, "k"), tv_u(AMQP_TYPE_UINT, 0)});
	both(B({0xd1, 0, 0, 0, 8, 0, 0, 0, 2, 0xa3, 1, 'k', 0x43}), m, "map32");
	both(B({0xd1, 0, 0, 0, 4, 0, 0, 0, 0}), tv_map({}), "map32 empty");
	TV a = tv_array(AMQP_TYPE_SYMBOL, {tv_s(AMQP_TYPE_SYMBOL, "a"), tv_s(AMQP_TYPE_SYMBOL, "bc")});
	both(B({0xf0, 0, 0, 0, 10, 0, 0, 0, 2, 0xa3, 1, 'a', 2, 'b', 'c'}), a, "array32 of sym8");
	both(B({0xe0, 13, 2, 0xb3, 0, 0, 0, 1, 'a', 0, 0, 0, 2, 'b', 'c'}), a, "array8 of sym32");
	TV ai = tv_array(AMQP_TYPE_INT, {tv_i(AMQP_TYPE_INT, -1), tv_i(AMQP_TYPE_INT, 5)});
	both(B({0xe0, 4, 2, 0x54, 0xff, 0x05}), ai, "array8 of smallint");
	TV au = tv_array(AMQP_TYPE_UINT, {tv_u(AMQP_TYPE_UINT, 0), tv_u(AMQP_TYPE_UINT, 0), tv_u(AMQP_TYPE_UINT, 0)});
	both(B({0xe0, 2, 3, 0x43}), au, "array8 of uint0 (zero-width elements)");
	TV ab = tv_array(AMQP_TYPE_BOOLEAN, {tv_bool(true), tv_bool(false)});
	both(B({0xe0, 4, 2, 0x56, 1, 0}), ab, "array of boolean 0x56");
	both(B({0xe0, 2, 2, 0x41}), tv_array(AMQP_TYPE_BOOLEAN, {tv_bool(true), tv_bool(true)}),
	     "array of true");
	// Arrays of compounds (proton's own output for them).
	TV al = tv_array(AMQP_TYPE_LIST, {tv_list({tv_null()}), tv_list({})});
	both(B({0xf0, 0, 0, 0, 22, 0, 0, 0, 2, 0xd0, 0, 0, 0, 5, 0, 0, 0, 1, 0x40, 0, 0, 0, 4, 0, 0, 0, 0}),
	     al, "array32 of list32");
	TV aa = tv_array(AMQP_TYPE_ARRAY, {tv_array(AMQP_TYPE_UBYTE, {tv_u(AMQP_TYPE_UBYTE, 9)})});
	both(B({0xe0, 6, 1, 0xe0, 3, 1, 0x50, 9}), aa, "array of arrays");
}

TEST(AmqpNonCanonical, DescriptorForms)
{
	RR_SEED_TRACE();
	TV acc = tv_described(0x24, tv_list({}));
	both(B({0x00, 0x80, 0, 0, 0, 0, 0, 0, 0, 0x24, 0x45}), acc, "ulong64 descriptor");
	both(B({0x00, 0x44, 0x45}), tv_described(0, tv_list({})), "ulong0 descriptor");
	TV sacc = tv_list({});
	sacc.dkind = 2;
	sacc.dsym = "amqp:accepted:list";
	both(cat(cat(B({0x00, 0xa3, 18}), str_bytes("amqp:accepted:list")), B({0x45})), sacc,
	     "sym8 descriptor");
	both(cat(cat(B({0x00, 0xb3, 0, 0, 0, 18}), str_bytes("amqp:accepted:list")), B({0x45})), sacc,
	     "sym32 descriptor");
	// Described elements in an array: one descriptor for all of them.
	TV da = tv_array(AMQP_TYPE_LIST, {tv_list({}), tv_list({})});
	da.edesc = true;
	da.edcode = 0x24;
	both(B({0xe0, 5, 2, 0x00, 0x53, 0x24, 0x45}), da, "array of described list0");
	both(B({0xf0, 0, 0, 0, 24, 0, 0, 0, 2, 0x00, 0x53, 0x24, 0xd0, 0, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0, 4, 0, 0,
		0, 0}),
	     da, "array32 of described list32");
}

// A transfer written with every field in a non-canonical form and a
// symbolic descriptor: ours (as a performative, whatever the split) and
// proton read the same fields.
TEST(AmqpNonCanonical, PerformativeWithSymbolicDescriptorAndWideForms)
{
	RR_SEED_TRACE();
	for (bool sym32 : {false, true}) {
		std::string name = "amqp:transfer:list";
		Bytes b = {0x00};
		b = cat(b, sym32 ? B({0xb3, 0, 0, 0, (int)name.size()}) : B({0xa3, (int)name.size()}));
		b = cat(b, str_bytes(name));
		Bytes fields = cat(B({0x70, 0, 0, 0, 3,                  // handle: uint32
				      0x52, 0x09,                         // delivery-id: smalluint
				      0xb0, 0, 0, 0, 2, 't', 'g',        // delivery-tag: vbin32
				      0x43,                               // message-format: uint0
				      0x56, 0x01,                         // settled: boolean 0x56
				      0x56, 0x00,                         // more
				      0x40,                               // rcv-settle-mode: null
				      0x00, 0xa3, 18}),
				   cat(str_bytes("amqp:accepted:list"), B({0xd0, 0, 0, 0, 4, 0, 0, 0, 0})));
		b = cat(b, B({0xd0}));
		put_be(b, fields.size() + 4, 4);
		put_be(b, 8, 4); // 8 elements, rcv-settle-mode null
		b = cat(b, fields);

		TV st = tv_list({});
		st.dkind = 2;
		st.dsym = "amqp:accepted:list";
		TV t = tv_list({tv_u(AMQP_TYPE_UINT, 3), tv_u(AMQP_TYPE_UINT, 9), tv_s(AMQP_TYPE_BINARY, "tg"),
				tv_u(AMQP_TYPE_UINT, 0), tv_bool(true), tv_bool(false), tv_null(), st});
		t.dkind = 2;
		t.dsym = name;
		both(b, t, sym32 ? "transfer with sym32 descriptor" : "transfer with sym8 descriptor");

		for (size_t n : test_split_sizes()) {
			test_chain ch(b, n);
			struct amqp_cursor c;
			ch.cursor(&c);
			struct amqp_performative p;
			struct amqp_diag d = {};
			ASSERT_EQ(amqp_performative_decode(&c, &p, &d), RR_OK) << "split " << n;
			ASSERT_EQ(p.code, AMQP_DESC_TRANSFER);
			const struct amqp_transfer &x = p.u.transfer;
			EXPECT_EQ(x.handle, 3u);
			EXPECT_EQ(x.delivery_id, 9u);
			EXPECT_TRUE(amqp_bytes_eq_str(&x.delivery_tag, "tg"));
			EXPECT_EQ(x.message_format, 0u);
			EXPECT_TRUE(x.settled);
			EXPECT_FALSE(x.more);
			EXPECT_EQ(x.state.descriptor, AMQP_DESC_ACCEPTED);
			EXPECT_EQ(x.present, AMQP_TRANSFER_HAS_HANDLE | AMQP_TRANSFER_HAS_DELIVERY_ID |
						     AMQP_TRANSFER_HAS_DELIVERY_TAG | AMQP_TRANSFER_HAS_MESSAGE_FORMAT |
						     AMQP_TRANSFER_HAS_SETTLED | AMQP_TRANSFER_HAS_MORE |
						     AMQP_TRANSFER_HAS_STATE);
			struct amqp_accepted acc;
			ASSERT_EQ(amqp_composite_decode_value(&amqp_accepted_desc, &x.state, &acc, &d), RR_OK);
		}
	}
}

// Every field of every composite in a non-canonical width: each value of
// a random composite rewritten in its widest form (uint32, ulong64,
// str32/sym32/vbin32, list32/map32/array32, 0x56 booleans, ulong64 or
// symbolic descriptors), then decoded by both.
static void wide_encode(Bytes &o, const TV &v, Rng &r);

static void wide_var(Bytes &o, uint8_t c32, const std::string &s)
{
	o.push_back(c32);
	put_be(o, s.size(), 4);
	o.insert(o.end(), s.begin(), s.end());
}

static void wide_encode(Bytes &o, const TV &v, Rng &r)
{
	if (v.dkind == 1) {
		o.push_back(0x00);
		if (r.coin(50)) {
			o.push_back(0x80);
			put_be(o, v.dcode, 8);
		} else {
			canon_ulong(o, v.dcode);
		}
	} else if (v.dkind == 2) {
		o.push_back(0x00);
		wide_var(o, 0xb3, v.dsym);
	}
	switch (v.type) {
	case AMQP_TYPE_BOOLEAN: o.push_back(0x56); o.push_back(v.b ? 1 : 0); return;
	case AMQP_TYPE_UINT: o.push_back(0x70); put_be(o, v.u, 4); return;
	case AMQP_TYPE_ULONG: o.push_back(0x80); put_be(o, v.u, 8); return;
	case AMQP_TYPE_INT: o.push_back(0x71); put_be(o, (uint64_t)v.i, 4); return;
	case AMQP_TYPE_LONG: o.push_back(0x81); put_be(o, (uint64_t)v.i, 8); return;
	case AMQP_TYPE_BINARY: wide_var(o, 0xb0, v.s); return;
	case AMQP_TYPE_STRING: wide_var(o, 0xb1, v.s); return;
	case AMQP_TYPE_SYMBOL: wide_var(o, 0xb3, v.s); return;
	case AMQP_TYPE_LIST:
	case AMQP_TYPE_MAP: {
		Bytes body;
		for (auto &k : v.kids)
			wide_encode(body, k, r);
		o.push_back(v.type == AMQP_TYPE_LIST ? 0xd0 : 0xd1);
		put_be(o, body.size() + 4, 4);
		put_be(o, v.kids.size(), 4);
		o.insert(o.end(), body.begin(), body.end());
		return;
	}
	case AMQP_TYPE_ARRAY: {
		Bytes body;
		uint8_t ec = canon_elem_code(v);
		if (ec == 0xa0 || ec == 0xa1 || ec == 0xa3)
			ec = (uint8_t)(ec + 0x10);
		if (v.edesc) {
			body.push_back(0x00);
			body.push_back(0x80);
			put_be(body, v.edcode, 8);
		}
		body.push_back(ec);
		for (auto &k : v.kids)
			canon_elem_body(body, k, ec);
		o.push_back(0xf0);
		put_be(o, body.size() + 4, 4);
		put_be(o, v.kids.size(), 4);
		o.insert(o.end(), body.begin(), body.end());
		return;
	}
	default: {
		TV plain = v;
		plain.dkind = 0;
		canon_encode(o, plain);
	}
	}
}

TEST(AmqpNonCanonical, EveryCompositeInWideForms)
{
	RR_SEED_TRACE();
	Rng r(0x4004);
	int cases = 0;
	for (size_t ci = 0; ci < amqp_composites_count; ci++) {
		const struct amqp_composite_desc *desc = amqp_composites[ci];
		for (int k = 0; k < 500; k++, cases++) {
			TV t = rand_composite(r, desc, 0, r.coin(50));
			Bytes b;
			wide_encode(b, t, r);
			size_t split = pick_split(r);
			ASSERT_EQ(ours_decode_compare(b, t, split), "") << desc->name << " case " << k << ": " << hex(b);
			ASSERT_EQ(pn_decode_compare(b, t), "") << desc->name << " case " << k;
			test_chain ch(b, split);
			struct amqp_cursor c;
			ch.cursor(&c);
			struct_buf s(desc);
			struct amqp_diag d = {};
			ASSERT_EQ(amqp_composite_decode(desc, &c, s.p(), &d), RR_OK)
				<< desc->name << " case " << k << ": " << rr_errname(d.err) << " at "
				<< (d.field ? d.field : "?") << " " << hex(b);
			ASSERT_EQ(compare_struct(desc, s.p(), t), "") << "case " << k << ": " << hex(b);
		}
	}
	printf("[ cases    ] %d wide-form composites\n", cases);
}
