// proton is the oracle: every primitive type and every composite of the
// spec is encoded with pn_data_t and decoded with ours, encoded with ours
// and decoded with pn_data_t, and our bytes are compared with an
// independently written canonical encoding (and with proton's bytes where
// proton's encoding is canonical). Randomized, seeded (see oracle_util.h).
#include "composite_util.h"

static const uint64_t kSeedPrinted = test_seed();

// "" when t survives every direction; otherwise what went wrong.
static std::string check_value(const TV &t, const std::vector<size_t> &splits)
{
	Bytes P = pn_bytes_of(t);
	for (size_t n : splits) {
		std::string e = ours_decode_compare(P, t, n);
		if (!e.empty())
			return "proton->ours: " + e + "; proton bytes " + hex(P);
	}
	Bytes O = ours_bytes(t);
	Bytes C = canon_bytes(t);
	if (O != C)
		return "ours not canonical: ours " + hex(O) + " canonical " + hex(C);
	if (pn_is_canonical_for(t) && O != P)
		return "ours differs from proton: ours " + hex(O) + " proton " + hex(P);
	std::string e = pn_decode_compare(O, t);
	if (!e.empty())
		return "ours->proton: " + e + "; our bytes " + hex(O);
	for (size_t n : splits) {
		e = ours_decode_compare(O, t, n);
		if (!e.empty())
			return "ours->ours: " + e;
	}
	return "";
}

static std::vector<TV> edge_values()
{
	std::vector<TV> v;
	v.push_back(tv_null());
	v.push_back(tv_bool(true));
	v.push_back(tv_bool(false));
	for (uint64_t u : {0ull, 1ull, 127ull, 255ull})
		v.push_back(tv_u(AMQP_TYPE_UBYTE, u));
	for (uint64_t u : {0ull, 255ull, 256ull, 65535ull})
		v.push_back(tv_u(AMQP_TYPE_USHORT, u));
	for (uint64_t u : {0ull, 1ull, 255ull, 256ull, 65536ull, 0xffffffffull})
		v.push_back(tv_u(AMQP_TYPE_UINT, u));
	for (uint64_t u : {0ull, 1ull, 255ull, 256ull, 0xffffffffull, 0x100000000ull, ~0ull})
		v.push_back(tv_u(AMQP_TYPE_ULONG, u));
	for (int64_t i : {0ll, -1ll, 127ll, -128ll})
		v.push_back(tv_i(AMQP_TYPE_BYTE, i));
	for (int64_t i : {0ll, -1ll, 32767ll, -32768ll})
		v.push_back(tv_i(AMQP_TYPE_SHORT, i));
	for (int64_t i : {0ll, -1ll, 127ll, -128ll, 128ll, -129ll, 2147483647ll, -2147483647ll - 1})
		v.push_back(tv_i(AMQP_TYPE_INT, i));
	for (int64_t i : {0ll, -1ll, 127ll, -128ll, 128ll, -129ll, (long long)INT64_MAX, (long long)INT64_MIN})
		v.push_back(tv_i(AMQP_TYPE_LONG, i));
	for (int64_t i : {0ll, -1ll, 1700000000000ll, (long long)INT64_MIN})
		v.push_back(tv_i(AMQP_TYPE_TIMESTAMP, i));
	for (uint64_t u : {0ull, 0x3f800000ull, 0x80000000ull, 0x7f800000ull, 0xff7fffffull})
		v.push_back(tv_u(AMQP_TYPE_FLOAT, u));
	for (uint64_t u : {0ull, 0x3ff0000000000000ull, 0x8000000000000000ull, 0x7ff0000000000000ull})
		v.push_back(tv_u(AMQP_TYPE_DOUBLE, u));
	v.push_back(tv_u(AMQP_TYPE_DECIMAL32, 0x12345678));
	v.push_back(tv_u(AMQP_TYPE_DECIMAL64, 0x0123456789abcdefull));
	for (uint64_t u : {0ull, 0x41ull, 0x1f600ull, 0x10ffffull})
		v.push_back(tv_u(AMQP_TYPE_CHAR, u));
	TV d128 = tv_of(AMQP_TYPE_DECIMAL128), uuid = tv_of(AMQP_TYPE_UUID);
	for (int k = 0; k < 16; k++) {
		d128.b16[k] = (uint8_t)(k * 17 + 3);
		uuid.b16[k] = (uint8_t)(0xf0 - k);
	}
	v.push_back(d128);
	v.push_back(uuid);
	for (uint8_t t : {AMQP_TYPE_BINARY, AMQP_TYPE_STRING, AMQP_TYPE_SYMBOL})
		for (size_t n : {0, 1, 255, 256, 1000})
			v.push_back(tv_s(t, std::string(n, (char)('a' + n % 26))));
	v.push_back(tv_list({}));
	v.push_back(tv_list({tv_u(AMQP_TYPE_UINT, 1), tv_null(), tv_s(AMQP_TYPE_STRING, "x")}));
	v.push_back(tv_list(std::vector<TV>(300, tv_null()))); // count > 255: list32
	v.push_back(tv_list({tv_s(AMQP_TYPE_BINARY, std::string(254, 'b'))})); // size 257: list32
	v.push_back(tv_list({tv_s(AMQP_TYPE_BINARY, std::string(251, 'b'))})); // size 255: list8
	v.push_back(tv_map({}));
	v.push_back(tv_map({tv_s(AMQP_TYPE_SYMBOL, "k"), tv_i(AMQP_TYPE_INT, -7),
			    tv_s(AMQP_TYPE_STRING, "s"), tv_list({tv_map({})})}));
	v.push_back(tv_array(AMQP_TYPE_SYMBOL, {}));
	v.push_back(tv_array(AMQP_TYPE_SYMBOL, {tv_s(AMQP_TYPE_SYMBOL, "a"), tv_s(AMQP_TYPE_SYMBOL, "bc")}));
	v.push_back(tv_array(AMQP_TYPE_SYMBOL, {tv_s(AMQP_TYPE_SYMBOL, std::string(300, 'l'))}));
	v.push_back(tv_array(AMQP_TYPE_BOOLEAN, {tv_bool(true), tv_bool(false)}));
	v.push_back(tv_array(AMQP_TYPE_NULL, std::vector<TV>(3, tv_null())));
	v.push_back(tv_array(AMQP_TYPE_UINT, std::vector<TV>(70, tv_u(AMQP_TYPE_UINT, 9)))); // array32
	TV da = tv_array(AMQP_TYPE_LONG, {tv_i(AMQP_TYPE_LONG, -2), tv_i(AMQP_TYPE_LONG, 3)});
	da.edesc = true;
	da.edcode = 0x1234;
	v.push_back(da);
	v.push_back(tv_described(0x24, tv_list({})));
	v.push_back(tv_described(0, tv_null()));
	v.push_back(tv_described(0x1234567890ull, tv_s(AMQP_TYPE_STRING, "d")));
	TV sd = tv_s(AMQP_TYPE_BINARY, "z");
	sd.dkind = 2;
	sd.dsym = "com.example:thing";
	v.push_back(sd);
	TV sd2 = tv_list({});
	sd2.dkind = 2;
	sd2.dsym = "amqp:transfer:list";
	v.push_back(sd2);
	return v;
}

TEST(AmqpOracle, EdgeValuesOfEveryTypeAndWidth)
{
	RR_SEED_TRACE();
	std::vector<TV> vals = edge_values();
	bool seen[AMQP_TYPE_COUNT] = {};
	for (size_t k = 0; k < vals.size(); k++) {
		seen[vals[k].type] = true;
		std::string e = check_value(vals[k], test_split_sizes());
		EXPECT_EQ(e, "") << "edge value #" << k;
	}
	for (int t = 0; t < AMQP_TYPE_COUNT; t++)
		EXPECT_TRUE(seen[t]) << "no edge value of type " << amqp_type_name((enum amqp_type)t);
}

// Exact bytes for the smallest encodings, written out by hand.
TEST(AmqpOracle, SmallestEncodingsExactBytes)
{
	RR_SEED_TRACE();
	struct {
		TV v;
		Bytes want;
	} cases[] = {
		{tv_u(AMQP_TYPE_UINT, 0), {0x43}},
		{tv_u(AMQP_TYPE_UINT, 255), {0x52, 0xff}},
		{tv_u(AMQP_TYPE_UINT, 256), {0x70, 0, 0, 1, 0}},
		{tv_u(AMQP_TYPE_ULONG, 0), {0x44}},
		{tv_u(AMQP_TYPE_ULONG, 7), {0x53, 7}},
		{tv_i(AMQP_TYPE_INT, -1), {0x54, 0xff}},
		{tv_i(AMQP_TYPE_LONG, -129), {0x81, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f}},
		{tv_s(AMQP_TYPE_SYMBOL, "ab"), {0xa3, 2, 'a', 'b'}},
		{tv_list({}), {0x45}},
		{tv_list({tv_null()}), {0xc0, 2, 1, 0x40}},
		{tv_map({}), {0xc1, 1, 0}},
		{tv_described(0x24, tv_list({})), {0x00, 0x53, 0x24, 0x45}},
		{tv_array(AMQP_TYPE_SYMBOL, {tv_s(AMQP_TYPE_SYMBOL, "a")}), {0xe0, 4, 1, 0xa3, 1, 'a'}},
	};
	for (auto &c : cases) {
		EXPECT_EQ(hex(ours_bytes(c.v)), hex(c.want));
		EXPECT_EQ(hex(canon_bytes(c.v)), hex(c.want));
	}
}

TEST(AmqpOracle, RandomValues)
{
	RR_SEED_TRACE();
	Rng r(0x1001);
	const int N = 100000;
	int failures = 0;
	for (int k = 0; k < N && failures < 10; k++) {
		TV t = rand_tv(r, 0);
		std::string e = check_value(t, {pick_split(r)});
		if (!e.empty()) {
			failures++;
			ADD_FAILURE() << "random value case " << k << ": " << e;
		}
	}
	printf("[ cases    ] %d random values\n", N);
}

// --- composites ----------------------------------------------------------

static std::string check_composite(const struct amqp_composite_desc *desc, const TV &t, size_t split)
{
	TV canon = canonical_composite(t, desc->code);
	Bytes P = pn_bytes_of(t);
	// proton -> ours: the generic value decoder, then the composite.
	std::string e = ours_decode_compare(P, t, split);
	if (!e.empty())
		return "proton->ours value: " + e;
	{
		test_chain ch(P, split);
		struct amqp_cursor c;
		ch.cursor(&c);
		struct_buf s(desc);
		struct amqp_diag d = {};
		enum rr_err r = amqp_composite_decode(desc, &c, s.p(), &d);
		if (r != RR_OK)
			return std::string("proton->ours composite: ") + rr_errname(r) + " at " +
			       (d.type ? d.type : "?") + "." + (d.field ? d.field : "?") + " bytes " + hex(P);
		if (amqp_cur_left(&c) != 0)
			return "proton->ours composite: bytes left";
		e = compare_struct(desc, s.p(), t);
		if (!e.empty())
			return "proton->ours struct: " + e + " bytes " + hex(P);
		// Frame bodies: the performative and SASL dispatch.
		if (amqp_performative_desc(desc->code) != nullptr) {
			test_chain ch2(P, split);
			struct amqp_cursor b;
			ch2.cursor(&b);
			struct amqp_performative p;
			r = amqp_performative_decode(&b, &p, &d);
			if (r != RR_OK || p.code != desc->code)
				return std::string("performative_decode: ") + rr_errname(r);
			e = compare_struct(desc, &p.u, t);
			if (!e.empty())
				return "performative_decode: " + e;
			if (amqp_cur_left(&p.payload) != 0)
				return "performative_decode: payload not empty";
		}
		if (amqp_sasl_desc(desc->code) != nullptr) {
			test_chain ch2(P, split);
			struct amqp_cursor b;
			ch2.cursor(&b);
			struct amqp_sasl_frame sf;
			r = amqp_sasl_frame_decode(&b, &sf, &d);
			if (r != RR_OK || sf.code != desc->code)
				return std::string("sasl_frame_decode: ") + rr_errname(r);
			e = compare_struct(desc, &sf.u, t);
			if (!e.empty())
				return "sasl_frame_decode: " + e;
		}
	}
	// ours -> proton: fill the generated struct, encode it.
	std::deque<Bytes> keep;
	struct_buf s(desc);
	fill_struct(desc, s.p(), canon, keep);
	Bytes O = encode_struct(desc, s.p());
	Bytes C = canon_bytes(canon);
	if (O != C)
		return "composite encode not canonical: ours " + hex(O, 200) + " canonical " + hex(C, 200);
	e = pn_decode_compare(O, canon);
	if (!e.empty())
		return "ours->proton: " + e + " bytes " + hex(O);
	test_chain ch(O, split);
	struct amqp_cursor c;
	ch.cursor(&c);
	struct_buf s2(desc);
	struct amqp_diag d = {};
	if (amqp_composite_decode(desc, &c, s2.p(), &d) != RR_OK)
		return "ours->ours composite decode failed";
	e = compare_struct(desc, s2.p(), canon);
	return e.empty() ? e : "ours->ours: " + e;
}

TEST(AmqpOracle, EveryCompositeRandomized)
{
	RR_SEED_TRACE();
	Rng r(0x2002);
	const int per = 3000;
	int total = 0;
	ASSERT_EQ(amqp_composites_count, 33u); // 10 transport, 13 messaging, 5 security, 5 transactions
	for (size_t ci = 0; ci < amqp_composites_count; ci++) {
		const struct amqp_composite_desc *desc = amqp_composites[ci];
		int failures = 0;
		for (int k = 0; k < per && failures < 3; k++, total++) {
			TV t = rand_composite(r, desc, 0, r.coin(75));
			if (r.coin(10)) {
				t.dkind = 2;
				t.dsym = desc->symbol;
			}
			std::string e = check_composite(desc, t, pick_split(r));
			if (!e.empty()) {
				failures++;
				ADD_FAILURE() << desc->name << " case " << k << ": " << e;
			}
		}
	}
	printf("[ cases    ] %d random composites over %zu types\n", total, amqp_composites_count);
}

// Fields checked by name, not through the tables, so a table mistake that
// the generic comparison would share cannot hide.
TEST(AmqpOracle, TransferFieldsByName)
{
	RR_SEED_TRACE();
	pn_data_t *d = pn_data(0);
	pn_data_put_described(d);
	pn_data_enter(d);
	pn_data_put_ulong(d, 0x14);
	pn_data_put_list(d);
	pn_data_enter(d);
	pn_data_put_uint(d, 7);                          // handle
	pn_data_put_uint(d, 300);                        // delivery-id
	pn_data_put_binary(d, pn_bytes(4, "tag1"));      // delivery-tag
	pn_data_put_uint(d, 0);                          // message-format
	pn_data_put_bool(d, true);                       // settled
	pn_data_put_null(d);                             // more
	pn_data_put_ubyte(d, 1);                         // rcv-settle-mode
	pn_data_put_described(d);                        // state: accepted
	pn_data_enter(d);
	pn_data_put_ulong(d, 0x24);
	pn_data_put_list(d);
	pn_data_exit(d);
	pn_data_put_null(d);                             // resume
	pn_data_put_bool(d, true);                       // aborted
	pn_data_exit(d);
	pn_data_exit(d);
	char buf[256];
	ssize_t n = pn_data_encode(d, buf, sizeof buf);
	ASSERT_GT(n, 0);
	Bytes b(buf, buf + n);
	for (size_t split : test_split_sizes()) {
		test_chain ch(b, split);
		struct amqp_cursor c;
		ch.cursor(&c);
		struct amqp_performative p;
		struct amqp_diag dg = {};
		ASSERT_EQ(amqp_performative_decode(&c, &p, &dg), RR_OK);
		ASSERT_EQ(p.code, 0x14u);
		const struct amqp_transfer &t = p.u.transfer;
		EXPECT_EQ(t.handle, 7u);
		EXPECT_EQ(t.delivery_id, 300u);
		EXPECT_TRUE(amqp_bytes_eq_str(&t.delivery_tag, "tag1"));
		EXPECT_EQ(t.message_format, 0u);
		EXPECT_TRUE(t.settled);
		EXPECT_FALSE(t.more);
		EXPECT_EQ(t.rcv_settle_mode, 1);
		EXPECT_EQ(t.state.descriptor, 0x24u);
		EXPECT_EQ(t.state.type, AMQP_TYPE_LIST);
		EXPECT_FALSE(t.resume);
		EXPECT_TRUE(t.aborted);
		EXPECT_FALSE(t.batchable);
		EXPECT_EQ(t.present, AMQP_TRANSFER_HAS_HANDLE | AMQP_TRANSFER_HAS_DELIVERY_ID |
					     AMQP_TRANSFER_HAS_DELIVERY_TAG | AMQP_TRANSFER_HAS_MESSAGE_FORMAT |
					     AMQP_TRANSFER_HAS_SETTLED | AMQP_TRANSFER_HAS_RCV_SETTLE_MODE |
					     AMQP_TRANSFER_HAS_STATE | AMQP_TRANSFER_HAS_ABORTED);
	}
	pn_data_free(d);
}

// Spec defaults (AMQP 1.0 part 2.7, 3.2, 3.5) read off the spec by hand.
TEST(AmqpOracle, DefaultsByName)
{
	RR_SEED_TRACE();
	const uint8_t open[] = {0x00, 0x53, 0x10, 0xc0, 0x03, 0x01, 0xa1, 0x00};
	struct amqp_seg seg;
	struct amqp_cursor c;
	struct amqp_diag d = {};
	amqp_cur_init_flat(&c, &seg, open, sizeof open);
	struct amqp_open o;
	ASSERT_EQ(amqp_open_decode(&c, &o, &d), RR_OK);
	EXPECT_EQ(o.max_frame_size, 4294967295u);
	EXPECT_EQ(o.channel_max, 65535);
	EXPECT_EQ(o.idle_time_out, 0u);
	EXPECT_EQ(o.present, AMQP_OPEN_HAS_CONTAINER_ID);
	EXPECT_EQ(o.offered_capabilities.type, AMQP_TYPE_NULL);

	struct amqp_source s;
	amqp_source_init(&s);
	EXPECT_TRUE(amqp_bytes_eq_str(&s.expiry_policy, "session-end"));
	EXPECT_EQ(s.durable, 0u);
	EXPECT_EQ(s.timeout, 0u);
	EXPECT_FALSE(s.dynamic);
	struct amqp_header h;
	amqp_header_init(&h);
	EXPECT_EQ(h.priority, 4);
	EXPECT_FALSE(h.durable);
	EXPECT_EQ(h.delivery_count, 0u);
	struct amqp_attach a;
	amqp_attach_init(&a);
	EXPECT_EQ(a.snd_settle_mode, 2); // mixed
	EXPECT_EQ(a.rcv_settle_mode, 0); // first
	struct amqp_begin bg;
	amqp_begin_init(&bg);
	EXPECT_EQ(bg.handle_max, 4294967295u);
}

// The convenience encoders: "multiple" symbols, and values re-encoded
// from their fields (array elements have no raw bytes of their own).
TEST(AmqpOracle, SymbolsAndReencodedArrayElements)
{
	RR_SEED_TRACE();
	const char *one[] = {"ANONYMOUS-RELAY"};
	const char *two[] = {"a", "bb"};
	std::string longsym(300, 'q');
	const char *lng[] = {"x", longsym.c_str()};
	struct {
		const char *const *s;
		size_t n;
		TV want;
	} cases[] = {
		{one, 1, tv_s(AMQP_TYPE_SYMBOL, "ANONYMOUS-RELAY")},
		{two, 2, tv_array(AMQP_TYPE_SYMBOL, {tv_s(AMQP_TYPE_SYMBOL, "a"), tv_s(AMQP_TYPE_SYMBOL, "bb")})},
		{lng, 2, tv_array(AMQP_TYPE_SYMBOL, {tv_s(AMQP_TYPE_SYMBOL, "x"), tv_s(AMQP_TYPE_SYMBOL, longsym)})},
		{two, 0, tv_array(AMQP_TYPE_SYMBOL, {})},
	};
	for (auto &c : cases) {
		Bytes o(2048);
		struct amqp_wbuf w;
		amqp_wbuf_init(&w, o.data(), o.size());
		amqp_encode_symbols(&w, c.s, c.n);
		ASSERT_TRUE(amqp_wbuf_ok(&w));
		o.resize(amqp_wbuf_len(&w));
		EXPECT_EQ(hex(o), hex(canon_bytes(c.want)));
		EXPECT_EQ(pn_decode_compare(o, c.want), "");
	}

	// Every element of a random array, re-encoded alone from its fields,
	// is the element as a standalone canonical value.
	Rng r(0x3003);
	for (int k = 0; k < 3000; k++) {
		TV a = tv_array(rand_scalar_type(r), {});
		size_t n = 1 + r.below(5);
		for (size_t j = 0; j < n; j++)
			a.kids.push_back(rand_scalar(r, a.elem_type));
		if (r.coin(20)) {
			a.edesc = true;
			a.edcode = r.edgy(16);
		}
		Bytes b = canon_bytes(a);
		struct amqp_seg seg;
		struct amqp_cursor c;
		amqp_cur_init_flat(&c, &seg, b.data(), b.size());
		struct amqp_value v, e;
		struct amqp_diag d = {};
		ASSERT_EQ(amqp_decode_value(&c, &v, &d), RR_OK);
		struct amqp_iter it;
		ASSERT_EQ(amqp_iter_init(&it, &v, &d), RR_OK);
		for (size_t j = 0; j < n; j++) {
			ASSERT_EQ(amqp_iter_next(&it, &e, &d), RR_OK);
			Bytes o(4096);
			struct amqp_wbuf w;
			amqp_wbuf_init(&w, o.data(), o.size());
			amqp_encode_value(&w, &e);
			ASSERT_TRUE(amqp_wbuf_ok(&w));
			o.resize(amqp_wbuf_len(&w));
			TV want = a.kids[j];
			if (a.edesc) {
				want.dkind = 1;
				want.dcode = a.edcode;
			}
			ASSERT_EQ(hex(o), hex(canon_bytes(want))) << "case " << k << " element " << j;
		}
		// The whole array re-encoded from its fields (raw dropped).
		v.raw = amqp_bytes_of(nullptr, 0);
		Bytes o(8192);
		struct amqp_wbuf w;
		amqp_wbuf_init(&w, o.data(), o.size());
		amqp_encode_value(&w, &v);
		ASSERT_TRUE(amqp_wbuf_ok(&w));
		o.resize(amqp_wbuf_len(&w));
		ASSERT_EQ(hex(o), hex(b)) << "case " << k;
	}
}
