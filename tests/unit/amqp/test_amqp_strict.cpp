// Rules added after the spec review of the codec: values nested in
// performative fields are checked when the performative is decoded; typed
// fields, sections and composites refuse described (or doubly described)
// values; nested arrays of zero-width elements cannot multiply a small input
// into a long walk; 4 GiB values are refused instead of wrapping a 32-bit
// length. Each on every split.
#include "oracle_util.h"

#include "decoders_util.h"

using Decoder = enum rr_err (*)(struct amqp_cursor *, struct amqp_diag *);

static void expect_err(const Bytes &b, Decoder dec, enum rr_err want, const char *field, const char *what)
{
	for (size_t n : test_split_sizes()) {
		test_chain ch(b, n);
		struct amqp_cursor c;
		ch.cursor(&c);
		struct amqp_diag d = {};
		enum rr_err e = dec(&c, &d);
		EXPECT_STREQ(rr_errname(e), rr_errname(want)) << what << " split " << n;
		// Message scans leave the cursor where it was; a performative is
		// decoded from its frame's own body cursor, which is spent.
		if (dec != dec_perf) {
			EXPECT_EQ(amqp_cur_left(&c), b.size()) << what << " split " << n;
		}
		if (field != nullptr) {
			EXPECT_STREQ(d.field, field) << what << " split " << n;
		}
	}
}

static void expect_ok(const Bytes &b, Decoder dec, const char *what)
{
	for (size_t n : test_split_sizes()) {
		test_chain ch(b, n);
		struct amqp_cursor c;
		ch.cursor(&c);
		struct amqp_diag d = {};
		EXPECT_STREQ(rr_errname(dec(&c, &d)), "OK") << what << " split " << n;
		EXPECT_EQ(amqp_cur_left(&c), 0u) << what << " split " << n;
	}
}

// A described list: 0x00 0x53 code, list32 of the given field encodings.
static Bytes described_list(uint8_t code, const std::vector<Bytes> &fields)
{
	Bytes body;
	for (const Bytes &f : fields)
		body.insert(body.end(), f.begin(), f.end());
	Bytes out = {0x00, 0x53, code, 0xd0};
	put_be(out, body.size() + 4, 4);
	put_be(out, fields.size(), 4);
	out.insert(out.end(), body.begin(), body.end());
	return out;
}

static const Bytes kNull = {0x40};

// attach(name "a", handle 0, role receiver, ..., properties = map)
static Bytes attach_with_properties(const Bytes &props)
{
	std::vector<Bytes> f = {{0xa1, 1, 'a'}, {0x43}, {0x41}};
	for (int i = 3; i < 13; i++)
		f.push_back(kNull);
	f.push_back(props);
	return described_list(0x12, f);
}

TEST(AmqpStrict, NestedValuesInPerformativeFieldsAreChecked)
{
	// properties: a map8 claiming one entry whose key runs past the map
	expect_err(attach_with_properties({0xc1, 3, 2, 0xa3, 5}), dec_perf, RR_E_TRUNCATED, "properties",
		   "attach.properties with a truncated key");
	// properties: a map holding a list with a lying count, one level down
	expect_err(attach_with_properties({0xc1, 9, 2, 0xa3, 1, 'k', 0xc0, 3, 5, 0x40, 0x40}), dec_perf,
		   RR_E_BAD_COUNT, "properties", "attach.properties with a nested lying count");
	// the same shape, well-formed, decodes
	expect_ok(attach_with_properties({0xc1, 9, 2, 0xa3, 1, 'k', 0xc0, 3, 2, 0x40, 0x40}), dec_perf,
		  "attach.properties with a nested list");
	// offered-capabilities: an array of 3 symbols holding 1
	std::vector<Bytes> open = {{0xa1, 1, 'c'}, kNull, kNull, kNull, kNull, kNull, kNull,
				   {0xe0, 5, 3, 0xa3, 1, 'x', 0x40}};
	expect_err(described_list(0x10, open), dec_perf, RR_E_TRUNCATED, "offered-capabilities",
		   "open.offered-capabilities with a lying array");
}

TEST(AmqpStrict, DescribedValuesWhereAPlainOneBelongs)
{
	// attach handle described as 0x99: not a handle
	std::vector<Bytes> f = {{0xa1, 1, 'a'}, {0x00, 0x53, 0x99, 0x43}, {0x41}};
	expect_err(described_list(0x12, f), dec_perf, RR_E_WRONG_TYPE, "handle", "described handle");
	// a performative whose list is itself described
	expect_err({0x00, 0x53, 0x10, 0x00, 0x53, 0x11, 0x45}, dec_perf, RR_E_WRONG_DESCRIPTOR, nullptr,
		   "open of a described begin");
	// a data section holding a described binary
	Bytes msg = {0x00, 0x53, 0x75, 0x00, 0x53, 0x77, 0xa0, 0x00};
	expect_err(msg, dec_msg, RR_E_BAD_SECTION, nullptr, "data of amqp-value");
	expect_err(msg, dec_route, RR_E_BAD_SECTION, nullptr, "data of amqp-value (route)");
	// '*' fields still take described values (disposition state accepted)
	std::vector<Bytes> disp = {{0x41}, {0x43}, kNull, {0x41}, {0x00, 0x53, 0x24, 0x45}};
	expect_ok(described_list(0x15, disp), dec_perf, "disposition with accepted");
}

TEST(AmqpStrict, NestedZeroWidthArraysCannotMultiply)
{
	// 100 arrays of 65536 nulls each (6.5M elements) in 914 bytes, as a
	// value in attach.properties: refused, not walked for seconds.
	Bytes inner = {0x00, 0x00, 0x00, 0x05, 0x00, 0x01, 0x00, 0x00, 0x40}; // array32 body
	Bytes outer_body;
	put_be(outer_body, 100, 4);
	outer_body.push_back(0xf0);
	for (int i = 0; i < 100; i++)
		outer_body.insert(outer_body.end(), inner.begin(), inner.end());
	Bytes outer = {0xf0};
	put_be(outer, outer_body.size(), 4);
	outer.insert(outer.end(), outer_body.begin(), outer_body.end());
	Bytes map = {0xd1};
	put_be(map, outer.size() + 4 + 3, 4);
	put_be(map, 2, 4);
	map.insert(map.end(), {0xa3, 1, 'k'});
	map.insert(map.end(), outer.begin(), outer.end());
	expect_err(attach_with_properties(map), dec_perf, RR_E_BAD_COUNT, "properties",
		   "attach.properties with 6.5M nested nulls");
	// One array of 65536 nulls alone is still fine (proton writes those).
	Bytes one = {0xd1};
	Bytes arr = {0xf0, 0x00, 0x00, 0x00, 0x05, 0x00, 0x01, 0x00, 0x00, 0x40};
	put_be(one, arr.size() + 4 + 3, 4);
	put_be(one, 2, 4);
	one.insert(one.end(), {0xa3, 1, 'k'});
	one.insert(one.end(), arr.begin(), arr.end());
	expect_ok(attach_with_properties(one), dec_perf, "attach.properties with 65536 nulls");
}

TEST(AmqpStrict, FourGibibyteValuesAreRefused)
{
	// properties{to="q"} then a data section claiming 4 GiB - 1 bytes,
	// given as 4096 segments of one 1 MiB buffer (no 4 GiB allocation).
	Bytes head = {0x00, 0x53, 0x73, 0xc0, 0x06, 0x03, 0x40, 0x40, 0xa1, 0x01, 'q',
		      0x00, 0x53, 0x75, 0xb0, 0xff, 0xff, 0xff, 0xff};
	static std::vector<uint8_t> mib(1 << 20, 0);
	std::vector<struct amqp_seg> segs;
	segs.push_back({head.data(), (uint32_t)head.size()});
	uint64_t need = 0xffffffffull;
	while (need > 0) {
		uint32_t n = (uint32_t)std::min<uint64_t>(need, mib.size());
		segs.push_back({mib.data(), n});
		need -= n;
	}
	struct amqp_cursor c;
	struct amqp_diag d = {};
	amqp_cur_init(&c, segs.data(), segs.size());
	struct amqp_message_view m;
	EXPECT_EQ(amqp_message_scan(&c, &m, &d), RR_E_TOO_LARGE);
	EXPECT_EQ(amqp_cur_pos(&c), 0u);
	EXPECT_STREQ(rr_err_condition(RR_E_TOO_LARGE), "amqp:resource-limit-exceeded");
	amqp_cur_init(&c, segs.data(), segs.size());
	struct amqp_route_info r;
	EXPECT_EQ(amqp_route_scan(&c, &r, &d), RR_E_TOO_LARGE);
	// The data section alone: its body fits 32 bits, its encoding does not.
	amqp_cur_init(&c, segs.data(), segs.size());
	amqp_cur_skip(&c, 11);
	struct amqp_value v;
	EXPECT_EQ(amqp_decode_value(&c, &v, &d), RR_E_TOO_LARGE);
	EXPECT_EQ(amqp_cur_pos(&c), 11u);
}

TEST(AmqpStrict, ProtocolHeaderVersionKnownAtItsByte)
{
	struct {
		Bytes b;
		enum rr_err want;
	} cases[] = {
		{{'A', 'M', 'Q', 'P', 5}, RR_E_PROTO_VERSION},       // unknown id, no need for 3 more bytes
		{{'A', 'M', 'Q', 'P', 0, 2}, RR_E_PROTO_VERSION},    // major 2
		{{'A', 'M', 'Q', 'P', 3, 1, 1}, RR_E_PROTO_VERSION}, // minor 1
		{{'A', 'M', 'Q', 'P', 0, 1}, RR_NEED_MORE},          // a valid prefix
		{{'A', 'M', 'Q', 'P', 2, 1, 0}, RR_NEED_MORE},
	};
	for (const auto &cs : cases) {
		for (size_t n : test_split_sizes()) {
			test_chain ch(cs.b, n);
			struct amqp_cursor c;
			ch.cursor(&c);
			enum amqp_proto_id id;
			EXPECT_STREQ(rr_errname(amqp_proto_header_parse(&c, &id)), rr_errname(cs.want)) << n;
			EXPECT_EQ(amqp_cur_left(&c), cs.b.size());
		}
	}
}

TEST(AmqpStrict, ErrorInAnExtraFieldIsReportedWhereItIs)
{
	// header with 7 fields (2 of a "later revision"); the 7th, a sym32,
	// runs past the list: the error is at its byte (12), whatever the split.
	Bytes b = {0x00, 0x53, 0x70, 0xc0, 0x0b, 0x07, 0x40, 0x40, 0x40, 0x40,
		   0x40, 0x40, 0xb3, 0x00, 0x00, 0x00, 0x09};
	for (size_t n : test_split_sizes()) {
		test_chain ch(b, n);
		struct amqp_cursor c;
		ch.cursor(&c);
		struct amqp_message_view m;
		struct amqp_diag d = {};
		EXPECT_EQ(amqp_message_scan(&c, &m, &d), RR_E_TRUNCATED) << n;
		EXPECT_EQ(d.pos, 12u) << n;
		EXPECT_STREQ(d.type, "header") << n;
	}
}

TEST(AmqpStrict, StarFieldsMeetTheirArchetype)
{
	// properties.to = ulong 5: an address is a string (messaging.xml
	// address-string); the route scan refuses it as the full scan does.
	Bytes to_ulong = {0x00, 0x53, 0x73, 0xc0, 0x05, 0x03, 0x40, 0x40, 0x53, 0x05,
			  0x00, 0x53, 0x75, 0xa0, 0x00};
	expect_err(to_ulong, dec_msg, RR_E_WRONG_TYPE, "to", "properties.to as ulong");
	expect_err(to_ulong, dec_route, RR_E_WRONG_TYPE, "to", "properties.to as ulong (route)");
	// message-id may be ulong, uuid, binary or string, not a boolean
	Bytes id_bool = {0x00, 0x53, 0x73, 0xc0, 0x02, 0x01, 0x41};
	expect_err(id_bool, dec_msg, RR_E_WRONG_TYPE, "message-id", "properties.message-id as boolean");
	Bytes id_ulong = {0x00, 0x53, 0x73, 0xc0, 0x03, 0x01, 0x53, 0x07};
	expect_ok(id_ulong, dec_msg, "properties.message-id as ulong");
	expect_ok(id_ulong, dec_route, "properties.message-id as ulong (route)");
	// disposition.state must be a delivery-state: @open[] is not
	std::vector<Bytes> disp = {{0x41}, {0x43}, kNull, {0x41}, {0x00, 0x53, 0x10, 0xc0, 0x01, 0x00}};
	expect_err(described_list(0x15, disp), dec_perf, RR_E_WRONG_TYPE, "state", "disposition state @open");
	// attach.source must be a source: a target is not
	std::vector<Bytes> att = {{0xa1, 1, 'a'}, {0x43}, {0x41}, kNull, kNull, {0x00, 0x53, 0x29, 0x45}};
	expect_err(described_list(0x12, att), dec_perf, RR_E_WRONG_TYPE, "source", "attach.source as a target");
	att[5] = {0x00, 0x53, 0x28, 0x45};
	expect_ok(described_list(0x12, att), dec_perf, "attach.source as a source");
}
