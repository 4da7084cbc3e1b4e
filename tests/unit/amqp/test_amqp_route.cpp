// amqp_route_scan (the router's per-transfer fast path) against
// amqp_message_scan (the full decode): for random messages, well-formed and
// broken, over every split, both must give the same result code and the
// same values; the annotation walker must give what amqp_iter gives.
#include "composite_util.h"

#include "amqp_route.h"

static const uint64_t kSeedPrinted = test_seed();

static std::string view_str(const struct amqp_bytes &b)
{
	std::string s(b.len, '\0');
	amqp_bytes_copy(&b, s.data(), s.size());
	return s;
}

static TV rand_ann_map(Rng &r, bool allow_bad_keys)
{
	TV m = tv_of(AMQP_TYPE_MAP);
	size_t n = r.below(5);
	for (size_t k = 0; k < n; k++) {
		if (allow_bad_keys && r.coin(10))
			m.kids.push_back(tv_s(AMQP_TYPE_STRING, "bad-key"));
		else if (r.coin(20))
			m.kids.push_back(tv_u(AMQP_TYPE_ULONG, r.edgy(64)));
		else
			m.kids.push_back(tv_s(AMQP_TYPE_SYMBOL, "x-opt-" + std::to_string(k) + r.bytes(r.below(8), true)));
		m.kids.push_back(r.coin(15) ? rand_tv(r, 1) : rand_scalar(r, rand_scalar_type(r)));
	}
	return m;
}

// A message: sections in order, each present at random; then, sometimes,
// one of the faults a hostile peer could send.
static Bytes rand_message(Rng &r)
{
	std::vector<Bytes> secs;
	if (r.coin(60))
		secs.push_back(canon_bytes(rand_composite(r, &amqp_header_desc, 0, r.coin(80))));
	if (r.coin(15))
		secs.push_back(canon_bytes(tv_described(AMQP_DESC_DELIVERY_ANNOTATIONS, rand_ann_map(r, false))));
	if (r.coin(60))
		secs.push_back(canon_bytes(tv_described(AMQP_DESC_MESSAGE_ANNOTATIONS, rand_ann_map(r, true))));
	if (r.coin(80))
		secs.push_back(canon_bytes(rand_composite(r, &amqp_properties_desc, 0, r.coin(80))));
	if (r.coin(30))
		secs.push_back(canon_bytes(tv_described(AMQP_DESC_APPLICATION_PROPERTIES, rand_fields_map(r, 0))));
	unsigned body = (unsigned)r.below(10);
	if (body < 6) {
		size_t n = 1 + r.below(r.coin(20) ? 4 : 1);
		for (size_t k = 0; k < n; k++)
			secs.push_back(canon_bytes(tv_described(AMQP_DESC_DATA, tv_s(AMQP_TYPE_BINARY, r.bytes(r.len(), false)))));
	} else if (body < 8) {
		secs.push_back(canon_bytes(tv_described(AMQP_DESC_AMQP_SEQUENCE, tv_list({rand_tv(r, 1)}))));
	} else if (body < 9) {
		secs.push_back(canon_bytes(tv_described(AMQP_DESC_AMQP_VALUE, rand_tv(r, 1))));
	}
	if (r.coin(10))
		secs.push_back(canon_bytes(tv_described(AMQP_DESC_FOOTER, rand_ann_map(r, false))));

	// Faults: sections swapped or repeated, a body of mixed kinds, an
	// unknown section, a non-section value.
	if (!secs.empty() && r.coin(15)) {
		switch (r.below(5)) {
		case 0: std::swap(secs[r.below(secs.size())], secs[r.below(secs.size())]); break;
		case 1: secs.push_back(secs[r.below(secs.size())]); break;
		case 2: secs.push_back(canon_bytes(tv_described(AMQP_DESC_AMQP_VALUE, tv_null()))); break;
		case 3: secs.push_back(canon_bytes(tv_described(0x99, tv_null()))); break;
		default: secs.insert(secs.begin(), canon_bytes(tv_u(AMQP_TYPE_UINT, 7))); break;
		}
	}
	Bytes out;
	for (auto &s : secs)
		out.insert(out.end(), s.begin(), s.end());
	// Byte faults: a truncation or a flipped byte.
	if (!out.empty() && r.coin(15)) {
		if (r.coin(50))
			out.resize(r.below(out.size()));
		else
			out[r.below(out.size())] ^= (uint8_t)(1 + r.below(255));
	}
	return out;
}

static void expect_ref_eq(const struct amqp_ref &a, const struct amqp_ref &b, const char *what)
{
	EXPECT_EQ(a.type, b.type) << what;
	EXPECT_EQ(a.code, b.code) << what;
	EXPECT_EQ(view_str(a.bytes), view_str(b.bytes)) << what;
}

// The route info a full scan implies, built here independently of
// amqp_route.c's own fallback.
static void expect_same(const struct amqp_route_info &r, const struct amqp_message_view &m)
{
	EXPECT_EQ(r.sections, m.sections);
	EXPECT_EQ(r.header.present, m.header.present);
	EXPECT_EQ(r.header.durable, m.header.durable);
	EXPECT_EQ(r.header.priority, m.header.priority);
	EXPECT_EQ(r.header.ttl, m.header.ttl);
	EXPECT_EQ(r.header.first_acquirer, m.header.first_acquirer);
	EXPECT_EQ(r.header.delivery_count, m.header.delivery_count);
	if (m.sections & AMQP_SEC_MESSAGE_ANNOTATIONS) {
		EXPECT_EQ(r.annotations_count, m.message_annotations.count);
		EXPECT_EQ(view_str(r.annotations), view_str(m.message_annotations.bytes));
	} else {
		EXPECT_EQ(r.annotations_count, 0u);
		EXPECT_EQ(r.annotations.len, 0u);
	}
	struct amqp_ref x;
	amqp_ref_from_value(&x, &m.properties.message_id);
	expect_ref_eq(r.message_id, x, "message-id");
	amqp_ref_from_value(&x, &m.properties.to);
	expect_ref_eq(r.to, x, "to");
	amqp_ref_from_value(&x, &m.properties.reply_to);
	expect_ref_eq(r.reply_to, x, "reply-to");
	amqp_ref_from_value(&x, &m.properties.correlation_id);
	expect_ref_eq(r.correlation_id, x, "correlation-id");
	EXPECT_EQ(r.has_absolute_expiry_time,
		  (m.properties.present & AMQP_PROPERTIES_HAS_ABSOLUTE_EXPIRY_TIME) != 0);
	if (r.has_absolute_expiry_time) {
		EXPECT_EQ(r.absolute_expiry_time, m.properties.absolute_expiry_time);
	}
	EXPECT_EQ(r.has_creation_time, (m.properties.present & AMQP_PROPERTIES_HAS_CREATION_TIME) != 0);
	if (r.has_creation_time) {
		EXPECT_EQ(r.creation_time, m.properties.creation_time);
	}
	EXPECT_EQ(view_str(r.body), view_str(m.body));
	EXPECT_EQ(r.body_sections, m.body_sections);
	EXPECT_EQ(view_str(r.after_annotations), view_str(m.after_annotations));
	EXPECT_EQ(r.len, m.len);
}

// Walk the annotations both ways: amqp_ann_next and amqp_iter.
static void expect_same_annotations(const struct amqp_route_info &r, const struct amqp_message_view &m)
{
	struct amqp_ann_iter a;
	amqp_ann_iter_init(&a, &r);
	struct amqp_iter it;
	bool have_map = m.message_annotations.type == AMQP_TYPE_MAP;
	if (have_map) {
		ASSERT_EQ(amqp_iter_init(&it, &m.message_annotations, nullptr), RR_OK);
	}
	for (int guard = 0; guard < 1000; guard++) {
		struct amqp_ref k, v;
		enum rr_err e = amqp_ann_next(&a, &k, &v, nullptr);
		if (!have_map) {
			EXPECT_EQ(e, RR_END);
			return;
		}
		struct amqp_value kv, vv;
		enum rr_err e1 = amqp_iter_next(&it, &kv, nullptr);
		enum rr_err e2 = e1 == RR_OK ? amqp_iter_next(&it, &vv, nullptr) : e1;
		if (e1 == RR_OK && kv.type != AMQP_TYPE_SYMBOL && kv.type != AMQP_TYPE_ULONG) {
			EXPECT_EQ(e, RR_E_WRONG_TYPE) << "annotation key of type " << amqp_type_name((enum amqp_type)kv.type);
			return;
		}
		if (e1 != RR_OK) {
			EXPECT_EQ(e, e1);
			return;
		}
		if (e2 != RR_OK) {
			EXPECT_EQ(e, e2 == RR_END ? RR_E_ODD_MAP : e2);
			return;
		}
		ASSERT_EQ(e, RR_OK);
		struct amqp_ref xk, xv;
		amqp_ref_from_value(&xk, &kv);
		amqp_ref_from_value(&xv, &vv);
		expect_ref_eq(k, xk, "annotation key");
		expect_ref_eq(v, xv, "annotation value");
	}
	ADD_FAILURE() << "annotation walk did not end";
}

TEST(AmqpRoute, SameAsFullScanForRandomMessagesEverySplit)
{
	RR_SEED_TRACE();
	Rng r(0x70e7e);
	unsigned ok = 0, failed = 0;
	for (int n = 0; n < 3000; n++) {
		Bytes msg = rand_message(r);
		SCOPED_TRACE(::testing::Message() << "message " << n << " of " << msg.size() << " bytes");
		for (size_t split : test_split_sizes()) {
			test_chain ch(msg, split);
			struct amqp_cursor c1, c2;
			ch.cursor(&c1);
			ch.cursor(&c2);
			struct amqp_message_view m;
			struct amqp_route_info ri;
			struct amqp_diag d1 = {RR_OK, 0, nullptr, nullptr}, d2 = {RR_OK, 0, nullptr, nullptr};
			enum rr_err e1 = amqp_message_scan(&c1, &m, &d1);
			enum rr_err e2 = amqp_route_scan(&c2, &ri, &d2);
			ASSERT_EQ(e2, e1) << "split " << split << ": route " << rr_errname(e2) << " vs full "
					  << rr_errname(e1);
			EXPECT_EQ(amqp_cur_left(&c2), amqp_cur_left(&c1)) << "split " << split;
			if (e1 != RR_OK) {
				EXPECT_EQ(d2.err, d1.err);
				failed++;
				continue;
			}
			ok++;
			expect_same(ri, m);
			expect_same_annotations(ri, m);
			if (HasFailure())
				return;
		}
	}
	// Both kinds of input were exercised.
	EXPECT_GT(ok, 1000u);
	EXPECT_GT(failed, 100u);
}

// The common oslo RPC shape takes the inline path and yields its fields.
TEST(AmqpRoute, ReadsAnOsloRpcMessage)
{
	Bytes msg;
	TV props = tv_described(AMQP_DESC_PROPERTIES,
				tv_list({tv_s(AMQP_TYPE_STRING, "mid-1"), tv_null(),
					 tv_s(AMQP_TYPE_STRING, "openstack.org/om/rpc/unicast/nova/compute"),
					 tv_null(), tv_s(AMQP_TYPE_STRING, "amqp:/_topic/reply/1"),
					 tv_s(AMQP_TYPE_STRING, "corr-7"), tv_null(), tv_null(),
					 tv_i(AMQP_TYPE_TIMESTAMP, 1700000000123)}));
	for (const TV &t : {tv_described(AMQP_DESC_HEADER, tv_list({tv_null(), tv_null(), tv_u(AMQP_TYPE_UINT, 30000)})),
			    tv_described(AMQP_DESC_MESSAGE_ANNOTATIONS,
					 tv_map({tv_s(AMQP_TYPE_SYMBOL, "x-opt-qd.trace"), tv_s(AMQP_TYPE_STRING, "0/r1")})),
			    props, tv_described(AMQP_DESC_DATA, tv_s(AMQP_TYPE_BINARY, "payload"))}) {
		Bytes b = canon_bytes(t);
		msg.insert(msg.end(), b.begin(), b.end());
	}
	struct amqp_seg seg;
	struct amqp_cursor c;
	amqp_cur_init_flat(&c, &seg, msg.data(), msg.size());
	struct amqp_route_info ri;
	ASSERT_EQ(amqp_route_scan(&c, &ri, nullptr), RR_OK);
	EXPECT_EQ(ri.header.ttl, 30000u);
	EXPECT_TRUE(ri.header.present & AMQP_HEADER_HAS_TTL);
	EXPECT_EQ(ri.to.type, AMQP_TYPE_STRING);
	EXPECT_EQ(view_str(ri.to.bytes), "openstack.org/om/rpc/unicast/nova/compute");
	EXPECT_EQ(view_str(ri.reply_to.bytes), "amqp:/_topic/reply/1");
	EXPECT_EQ(view_str(ri.correlation_id.bytes), "corr-7");
	EXPECT_EQ(view_str(ri.message_id.bytes), "mid-1");
	EXPECT_TRUE(ri.has_absolute_expiry_time);
	EXPECT_EQ(ri.absolute_expiry_time, 1700000000123);
	EXPECT_FALSE(ri.has_creation_time);
	EXPECT_EQ(ri.body_sections, 1u);
	EXPECT_EQ(view_str(ri.body), std::string("\x00\x53\x75\xa0\x07payload", 12));
	EXPECT_EQ(ri.annotations_count, 2u);
	struct amqp_ann_iter a;
	struct amqp_ref k, v;
	amqp_ann_iter_init(&a, &ri);
	ASSERT_EQ(amqp_ann_next(&a, &k, &v, nullptr), RR_OK);
	EXPECT_EQ(view_str(k.bytes), "x-opt-qd.trace");
	EXPECT_EQ(v.type, AMQP_TYPE_STRING);
	EXPECT_EQ(view_str(v.bytes), "0/r1");
	EXPECT_EQ(amqp_ann_next(&a, &k, &v, nullptr), RR_END);
	EXPECT_EQ(amqp_cur_left(&c), 0u);
}
