// Message sections (AMQP 1.0 part 3.2): messages built with proton's
// pn_message_t, scanned lazily by ours over every split; section
// boundaries found independently by walking the bytes with pn_data_t; the
// body and after_annotations views are byte-exact slices; annotation
// rewrites decode in proton with the new annotation and the same body.
#include "composite_util.h"

#include <proton/message.h>

static const uint64_t kSeedPrinted = test_seed();

struct Section {
	uint64_t code;
	size_t start, end;
};

// Proton's view of where each section starts and ends.
static std::vector<Section> pn_sections(const Bytes &b)
{
	std::vector<Section> out;
	pn_data_t *d = pn_data(16);
	size_t off = 0;
	while (off < b.size()) {
		pn_data_clear(d);
		ssize_t n = pn_data_decode(d, (const char *)b.data() + off, b.size() - off);
		EXPECT_GT(n, 0) << "proton cannot walk the message at " << off;
		if (n <= 0)
			break;
		pn_data_rewind(d);
		pn_data_next(d);
		uint64_t code = ~0ull;
		if (pn_data_type(d) == PN_DESCRIBED) {
			pn_data_enter(d);
			pn_data_next(d);
			code = pn_data_get_ulong(d);
			pn_data_exit(d);
		}
		out.push_back({code, off, off + (size_t)n});
		off += (size_t)n;
	}
	pn_data_free(d);
	return out;
}

struct Msg {
	// What was put in.
	bool durable = false, first_acquirer = false;
	uint8_t priority = 4;
	uint32_t ttl = 0, delivery_count = 0;
	bool has_header_fields = false;
	TV to, reply_to, corr, mid, da, ma, ap, body, footer;
	std::string subject, content_type, group_id;
	uint8_t body_kind = 0; // 0 data, 1 amqp-sequence, 2 amqp-value
	int extra_data = 0;    // extra data sections appended by hand
	Bytes bytes;
};

static TV rand_annotations(Rng &r, bool string_keys)
{
	TV m = tv_of(AMQP_TYPE_MAP);
	size_t n = r.below(6);
	for (size_t k = 0; k < n; k++) {
		m.kids.push_back(tv_s(string_keys ? AMQP_TYPE_STRING : AMQP_TYPE_SYMBOL,
				      "x-opt-" + std::to_string(k) + r.bytes(r.below(8), true)));
		m.kids.push_back(r.coin(10) ? rand_tv(r, 2) : rand_scalar(r, rand_scalar_type(r)));
	}
	return m;
}

static TV rand_id(Rng &r)
{
	static const uint8_t t[] = {AMQP_TYPE_ULONG, AMQP_TYPE_UUID, AMQP_TYPE_BINARY, AMQP_TYPE_STRING};
	TV v = rand_scalar(r, t[r.below(4)]);
	if (v.s.size() > 200)
		v.s.resize(200);
	return v;
}

static void put_pn(pn_data_t *d, const TV &v)
{
	pn_data_clear(d);
	pn_put(d, v);
}

static Msg make_msg(Rng &r)
{
	Msg x;
	pn_message_t *m = pn_message();
	if (r.coin(60)) {
		x.has_header_fields = true;
		x.durable = r.coin();
		x.priority = (uint8_t)r.below(10);
		x.ttl = r.coin() ? (uint32_t)r.edgy(32) : 0;
		x.first_acquirer = r.coin();
		x.delivery_count = r.coin() ? (uint32_t)r.edgy(32) : 0;
		pn_message_set_durable(m, x.durable);
		pn_message_set_priority(m, x.priority);
		pn_message_set_ttl(m, x.ttl);
		pn_message_set_first_acquirer(m, x.first_acquirer);
		pn_message_set_delivery_count(m, x.delivery_count);
	}
	if (r.coin(70)) {
		x.to = tv_s(AMQP_TYPE_STRING, "openstack.org/om/rpc/" + r.bytes(r.below(r.coin(10) ? 400 : 40), true));
		pn_message_set_address(m, x.to.s.c_str());
	}
	if (r.coin(50)) {
		x.reply_to = tv_s(AMQP_TYPE_STRING, "reply-" + r.bytes(r.below(30), true));
		pn_message_set_reply_to(m, x.reply_to.s.c_str());
	}
	if (r.coin(50)) {
		x.corr = rand_id(r);
		put_pn(pn_message_correlation_id(m), x.corr);
	}
	if (r.coin(50)) {
		x.mid = rand_id(r);
		put_pn(pn_message_id(m), x.mid);
	}
	if (r.coin(30)) {
		x.subject = r.bytes(r.below(20), true);
		pn_message_set_subject(m, x.subject.c_str());
	}
	if (r.coin(30)) {
		x.content_type = "application/" + r.bytes(r.below(10), true);
		pn_message_set_content_type(m, x.content_type.c_str());
	}
	if (r.coin(20)) {
		x.group_id = r.bytes(r.below(10), true);
		pn_message_set_group_id(m, x.group_id.c_str());
	}
	if (r.coin(30)) {
		x.da = rand_annotations(r, false);
		put_pn(pn_message_instructions(m), x.da);
	}
	if (r.coin(60)) {
		x.ma = rand_annotations(r, false);
		put_pn(pn_message_annotations(m), x.ma);
	}
	if (r.coin(40)) {
		x.ap = rand_annotations(r, true);
		put_pn(pn_message_properties(m), x.ap);
	}
	x.body_kind = (uint8_t)r.below(3);
	if (x.body_kind == 0) {
		x.body = tv_s(AMQP_TYPE_BINARY, r.bytes(r.coin(10) ? 3000 + r.below(3000) : r.below(300), false));
		pn_message_set_inferred(m, true);
	} else if (x.body_kind == 1) {
		x.body = tv_list({rand_tv(r, 1), rand_scalar(r, rand_scalar_type(r))});
		pn_message_set_inferred(m, true);
	} else {
		x.body = rand_tv(r, 1);
		if (x.body.dkind)
			x.body.dkind = 0; // proton would take a described body apart
	}
	put_pn(pn_message_body(m), x.body);
	x.bytes.resize(1 << 16);
	size_t n = x.bytes.size();
	int rc = pn_message_encode(m, (char *)x.bytes.data(), &n);
	EXPECT_EQ(rc, 0) << pn_code(rc);
	x.bytes.resize(n);
	pn_message_free(m);
	// By hand: more data sections, and a footer (proton has no API for it).
	if (x.body_kind == 0 && r.coin(20)) {
		x.extra_data = 1 + (int)r.below(3);
		for (int k = 0; k < x.extra_data; k++) {
			TV d = tv_described(AMQP_DESC_DATA, tv_s(AMQP_TYPE_BINARY, r.bytes(r.below(400), false)));
			Bytes b = canon_bytes(d);
			x.bytes.insert(x.bytes.end(), b.begin(), b.end());
		}
	}
	if (r.coin(20)) {
		x.footer = rand_annotations(r, false);
		Bytes b = canon_bytes(tv_described(AMQP_DESC_FOOTER, x.footer));
		x.bytes.insert(x.bytes.end(), b.begin(), b.end());
	}
	return x;
}

static std::string sub(const Bytes &b, size_t from, size_t to)
{
	return std::string(b.begin() + (ptrdiff_t)from, b.begin() + (ptrdiff_t)to);
}

static void check_scan(const Msg &x, const struct amqp_message_view &v, const std::vector<Section> &secs,
		       const std::string &ctx)
{
	uint32_t want_bits = 0;
	size_t body_start = SIZE_MAX, body_end = 0, after_ma = 0;
	uint32_t body_sections = 0;
	for (auto &s : secs) {
		switch (s.code) {
		case AMQP_DESC_HEADER: want_bits |= AMQP_SEC_HEADER; after_ma = s.end; break;
		case AMQP_DESC_DELIVERY_ANNOTATIONS: want_bits |= AMQP_SEC_DELIVERY_ANNOTATIONS; after_ma = s.end; break;
		case AMQP_DESC_MESSAGE_ANNOTATIONS: want_bits |= AMQP_SEC_MESSAGE_ANNOTATIONS; after_ma = s.end; break;
		case AMQP_DESC_PROPERTIES: want_bits |= AMQP_SEC_PROPERTIES; break;
		case AMQP_DESC_APPLICATION_PROPERTIES: want_bits |= AMQP_SEC_APPLICATION_PROPERTIES; break;
		case AMQP_DESC_DATA: want_bits |= AMQP_SEC_BODY_DATA; break;
		case AMQP_DESC_AMQP_SEQUENCE: want_bits |= AMQP_SEC_BODY_SEQUENCE; break;
		case AMQP_DESC_AMQP_VALUE: want_bits |= AMQP_SEC_BODY_VALUE; break;
		case AMQP_DESC_FOOTER: want_bits |= AMQP_SEC_FOOTER; break;
		default: ADD_FAILURE() << ctx << ": proton found section " << s.code;
		}
		if (s.code >= AMQP_DESC_DATA && s.code <= AMQP_DESC_AMQP_VALUE) {
			body_start = std::min(body_start, s.start);
			body_end = s.end;
			body_sections++;
		}
	}
	EXPECT_EQ(v.sections, want_bits) << ctx;
	EXPECT_EQ(v.len, x.bytes.size()) << ctx;
	EXPECT_EQ(v.pos, 0u) << ctx;
	// Byte-exact views.
	ASSERT_NE(body_start, SIZE_MAX) << ctx;
	EXPECT_EQ(bytes_str(v.body), sub(x.bytes, body_start, body_end)) << ctx;
	EXPECT_EQ(v.body_sections, body_sections) << ctx;
	EXPECT_EQ(bytes_str(v.after_annotations), sub(x.bytes, after_ma, x.bytes.size())) << ctx;
	for (auto &s : secs) {
		if (s.code == AMQP_DESC_HEADER) {
			EXPECT_EQ(bytes_str(v.header_raw), sub(x.bytes, s.start, s.end)) << ctx;
		}
		if (s.code == AMQP_DESC_DELIVERY_ANNOTATIONS) {
			EXPECT_EQ(bytes_str(v.delivery_annotations_raw), sub(x.bytes, s.start, s.end)) << ctx;
		}
	}
	// Header: the values put in (defaults when proton left it out).
	EXPECT_EQ(v.header.durable, x.durable) << ctx;
	EXPECT_EQ(v.header.priority, x.priority) << ctx;
	EXPECT_EQ(v.header.ttl, x.ttl) << ctx;
	EXPECT_EQ(v.header.first_acquirer, x.first_acquirer) << ctx;
	EXPECT_EQ(v.header.delivery_count, x.delivery_count) << ctx;
	// Properties routed on.
	const struct amqp_properties &p = v.properties;
	auto field = [&](const struct amqp_value &got, const TV &want, uint32_t bit, const char *name) {
		if (want.type == AMQP_TYPE_NULL) {
			EXPECT_FALSE(p.present & bit) << ctx << " " << name;
			EXPECT_EQ(got.type, AMQP_TYPE_NULL) << ctx << " " << name;
		} else {
			EXPECT_TRUE(p.present & bit) << ctx << " " << name;
			EXPECT_EQ(ours_compare(got, want, name), "") << ctx;
		}
	};
	field(p.to, x.to, AMQP_PROPERTIES_HAS_TO, "to");
	field(p.reply_to, x.reply_to, AMQP_PROPERTIES_HAS_REPLY_TO, "reply-to");
	field(p.correlation_id, x.corr, AMQP_PROPERTIES_HAS_CORRELATION_ID, "correlation-id");
	field(p.message_id, x.mid, AMQP_PROPERTIES_HAS_MESSAGE_ID, "message-id");
	EXPECT_EQ(bytes_str(p.subject), x.subject) << ctx;
	EXPECT_EQ(bytes_str(p.content_type), x.content_type) << ctx;
	EXPECT_EQ(bytes_str(p.group_id), x.group_id) << ctx;
	// Maps, undecoded until walked.
	auto map = [&](const struct amqp_value &got, const TV &want, const char *name) {
		if (want.type == AMQP_TYPE_NULL) {
			EXPECT_EQ(got.type, AMQP_TYPE_NULL) << ctx << " " << name;
		} else {
			EXPECT_EQ(ours_compare_body(got, want, name), "") << ctx;
		}
	};
	map(v.delivery_annotations, x.da, "delivery-annotations");
	map(v.message_annotations, x.ma, "message-annotations");
	map(v.application_properties, x.ap, "application-properties");
	map(v.footer, x.footer, "footer");
	if (x.ma.type == AMQP_TYPE_MAP && !x.ma.kids.empty()) {
		struct amqp_value found;
		struct amqp_diag d = {};
		ASSERT_EQ(amqp_map_find(&v.message_annotations, x.ma.kids[0].s.c_str(), &found, &d), RR_OK) << ctx;
		EXPECT_EQ(ours_compare(found, x.ma.kids[1]), "") << ctx;
		EXPECT_EQ(amqp_map_find(&v.message_annotations, "no-such-key-here", &found, &d), RR_END) << ctx;
	}
	// The body section itself: walk it.
	struct amqp_cursor bc;
	amqp_cur_from_bytes(&bc, &v.body, body_start);
	struct amqp_value bv;
	struct amqp_diag d = {};
	ASSERT_EQ(amqp_decode_value(&bc, &bv, &d), RR_OK) << ctx;
	TV want_body = x.body;
	want_body.dkind = 1;
	want_body.dcode = x.body_kind == 0 ? AMQP_DESC_DATA : x.body_kind == 1 ? AMQP_DESC_AMQP_SEQUENCE : AMQP_DESC_AMQP_VALUE;
	EXPECT_EQ(ours_compare(bv, want_body), "") << ctx;
}

TEST(AmqpMessage, ProtonMessagesEverySplit)
{
	RR_SEED_TRACE();
	Rng r(0x8008);
	int cases = 0;
	for (int k = 0; k < 1500; k++) {
		Msg x = make_msg(r);
		std::vector<Section> secs = pn_sections(x.bytes);
		std::vector<size_t> splits = k < 200 ? test_split_sizes() : std::vector<size_t>{pick_split(r)};
		for (size_t n : splits) {
			test_chain ch(x.bytes, n);
			struct amqp_cursor c;
			ch.cursor(&c);
			struct amqp_message_view v;
			struct amqp_diag d = {};
			std::string ctx = "message " + std::to_string(k) + " split " + std::to_string(n);
			ASSERT_EQ(amqp_message_scan(&c, &v, &d), RR_OK)
				<< ctx << ": " << rr_errname(d.err) << " at " << d.pos << " " << (d.type ? d.type : "") << "."
				<< (d.field ? d.field : "");
			ASSERT_EQ(amqp_cur_left(&c), 0u) << ctx;
			check_scan(x, v, secs, ctx);
			if (HasFailure())
				return;
			cases++;
		}
	}
	printf("[ cases    ] %d message scans\n", cases);
}

// Rewrite message-annotations (add a key, replace one), splice the new
// section between the untouched head (header, delivery-annotations) and
// after_annotations: proton decodes the result with the new annotation and
// the same body.
TEST(AmqpMessage, AnnotationRewriteDecodesInProton)
{
	RR_SEED_TRACE();
	Rng r(0x9009);
	int cases = 0;
	for (int k = 0; k < 1500; k++) {
		Msg x = make_msg(r);
		if (x.footer.type != AMQP_TYPE_NULL || x.extra_data)
			continue; // pn_message_t keeps neither
		test_chain ch(x.bytes, pick_split(r));
		struct amqp_cursor c;
		ch.cursor(&c);
		struct amqp_message_view v;
		struct amqp_diag d = {};
		ASSERT_EQ(amqp_message_scan(&c, &v, &d), RR_OK);

		// New annotations: one new key, and (sometimes) a replaced one.
		std::vector<std::string> keys = {"x-opt-rpcrouter-trace"};
		std::vector<TV> vals = {tv_s(AMQP_TYPE_STRING, "router-" + r.bytes(r.below(300), true))};
		if (!x.ma.kids.empty() && r.coin()) {
			keys.push_back(x.ma.kids[0].s);
			vals.push_back(tv_i(AMQP_TYPE_LONG, (int64_t)r.u64()));
		}
		std::vector<Bytes> enc;
		for (auto &t : vals)
			enc.push_back(canon_bytes(t));
		std::vector<struct amqp_annotation> add;
		for (size_t j = 0; j < keys.size(); j++)
			add.push_back({keys[j].c_str(), amqp_bytes_of(enc[j].data(), enc[j].size())});

		Bytes out(x.bytes.size() + 4096);
		struct amqp_wbuf w;
		amqp_wbuf_init(&w, out.data(), out.size());
		amqp_write_bytes(&w, &v.header_raw);
		amqp_write_bytes(&w, &v.delivery_annotations_raw);
		ASSERT_EQ(amqp_encode_annotations(&w, AMQP_DESC_MESSAGE_ANNOTATIONS, &v.message_annotations,
						  add.data(), add.size(), &d),
			  RR_OK);
		amqp_write_bytes(&w, &v.after_annotations);
		ASSERT_TRUE(amqp_wbuf_ok(&w));
		out.resize(amqp_wbuf_len(&w));

		// Expected annotations: the old ones minus replaced keys, then the added.
		TV want = tv_of(AMQP_TYPE_MAP);
		for (size_t j = 0; j + 1 < x.ma.kids.size(); j += 2) {
			bool replaced = false;
			for (auto &kk : keys)
				replaced = replaced || (x.ma.kids[j].type == AMQP_TYPE_SYMBOL && x.ma.kids[j].s == kk);
			if (!replaced) {
				want.kids.push_back(x.ma.kids[j]);
				want.kids.push_back(x.ma.kids[j + 1]);
			}
		}
		for (size_t j = 0; j < keys.size(); j++) {
			want.kids.push_back(tv_s(AMQP_TYPE_SYMBOL, keys[j]));
			want.kids.push_back(vals[j]);
		}

		pn_message_t *orig = pn_message(), *now = pn_message();
		ASSERT_EQ(pn_message_decode(orig, (const char *)x.bytes.data(), x.bytes.size()), 0);
		ASSERT_EQ(pn_message_decode(now, (const char *)out.data(), out.size()), 0) << hex(out);
		pn_data_t *ann = pn_message_annotations(now);
		pn_data_rewind(ann);
		ASSERT_TRUE(pn_data_next(ann));
		EXPECT_EQ(pn_compare(ann, want), "") << "case " << k;
		// Same body, same properties, same header.
		auto enc_pn = [](pn_data_t *dd) {
			Bytes b(1 << 16);
			ssize_t n = pn_data_encode(dd, (char *)b.data(), b.size());
			b.resize(n < 0 ? 0 : (size_t)n);
			return b;
		};
		EXPECT_EQ(enc_pn(pn_message_body(orig)), enc_pn(pn_message_body(now))) << "case " << k;
		EXPECT_EQ(enc_pn(pn_message_properties(orig)), enc_pn(pn_message_properties(now)));
		EXPECT_EQ(enc_pn(pn_message_instructions(orig)), enc_pn(pn_message_instructions(now)));
		EXPECT_STREQ(pn_message_get_address(orig), pn_message_get_address(now));
		EXPECT_EQ(pn_message_get_ttl(orig), pn_message_get_ttl(now));
		EXPECT_EQ(pn_message_get_priority(orig), pn_message_get_priority(now));
		pn_message_free(orig);
		pn_message_free(now);

		// Ours: the body bytes are the same bytes.
		test_chain ch2(out, pick_split(r));
		ch2.cursor(&c);
		struct amqp_message_view v2;
		ASSERT_EQ(amqp_message_scan(&c, &v2, &d), RR_OK);
		EXPECT_EQ(bytes_str(v2.body), bytes_str(v.body));
		EXPECT_EQ(bytes_str(v2.after_annotations), bytes_str(v.after_annotations));
		EXPECT_EQ(ours_compare_body(v2.message_annotations, want, "ma"), "");
		cases++;
		if (HasFailure())
			return;
	}
	printf("[ cases    ] %d annotation rewrites\n", cases);
}

// The other annotation sections, and an absent old map.
TEST(AmqpMessage, EncodeAnnotationsFromNothing)
{
	RR_SEED_TRACE();
	for (uint64_t code : {AMQP_DESC_MESSAGE_ANNOTATIONS, AMQP_DESC_DELIVERY_ANNOTATIONS, AMQP_DESC_FOOTER}) {
		struct amqp_value none;
		amqp_value_set_null(&none);
		Bytes val = canon_bytes(tv_u(AMQP_TYPE_UINT, 300));
		struct amqp_annotation a = {"x-opt-k", amqp_bytes_of(val.data(), val.size())};
		Bytes out(64);
		struct amqp_wbuf w;
		amqp_wbuf_init(&w, out.data(), out.size());
		struct amqp_diag d = {};
		ASSERT_EQ(amqp_encode_annotations(&w, code, &none, &a, 1, &d), RR_OK);
		out.resize(amqp_wbuf_len(&w));
		TV want = tv_described(code, tv_map({tv_s(AMQP_TYPE_SYMBOL, "x-opt-k"), tv_u(AMQP_TYPE_UINT, 300)}));
		EXPECT_EQ(hex(out), hex(canon_bytes(want)));
		EXPECT_EQ(pn_decode_compare(out, want), "");
		Bytes tiny(5);
		amqp_wbuf_init(&w, tiny.data(), tiny.size());
		EXPECT_EQ(amqp_encode_annotations(&w, code, &none, &a, 1, &d), RR_E_NO_SPACE);
	}
	// A data section from our encoder.
	Bytes payload(700, 0x5a);
	Bytes out(1024);
	struct amqp_wbuf w;
	amqp_wbuf_init(&w, out.data(), out.size());
	struct amqp_bytes pb = amqp_bytes_of(payload.data(), payload.size());
	amqp_encode_data_section(&w, &pb);
	out.resize(amqp_wbuf_len(&w));
	TV want = tv_described(AMQP_DESC_DATA, tv_s(AMQP_TYPE_BINARY, std::string(700, 0x5a)));
	EXPECT_EQ(hex(out), hex(canon_bytes(want)));
	EXPECT_EQ(pn_decode_compare(out, want), "");
}
