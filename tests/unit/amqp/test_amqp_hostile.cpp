// Hostile inputs: each gives the exact error code, the AMQP condition the
// router sends for it (DESIGN.md: framing-error for frame headers,
// decode-error for bodies), and where meaningful the diag (type, field,
// byte position), whatever the segment split; value, composite, frame and
// message decoders leave the cursor where it was.
#include "composite_util.h"
#include "decoders_util.h"

#include <functional>

static const uint64_t kSeedPrinted = test_seed();


using Decoder = std::function<enum rr_err(struct amqp_cursor *, struct amqp_diag *)>;

struct Want {
	enum rr_err err;
	const char *cond; // expected rr_err_condition
	const char *type; // diag type, or "" to not check
	const char *field; // diag field, or "" to not check (nullptr: must be NULL)
	int64_t pos;       // diag pos, or -1 to not check
	bool restores;     // the cursor must be unchanged after the error
};

static void expect_err(const Bytes &b, const Decoder &dec, const Want &w, const std::string &what)
{
	for (size_t n : test_split_sizes()) {
		test_chain ch(b, n);
		struct amqp_cursor c;
		ch.cursor(&c);
		struct amqp_diag d = {};
		enum rr_err e = dec(&c, &d);
		std::string ctx = what + " (split " + std::to_string(n) + ") " + hex(b, 40);
		ASSERT_EQ(rr_errname(e), std::string(rr_errname(w.err))) << ctx;
		EXPECT_EQ(d.err, w.err) << ctx;
		const char *cond = rr_err_condition(e);
		EXPECT_STREQ(cond, w.cond) << ctx;
		if (w.type == nullptr) {
			EXPECT_EQ(d.type, nullptr) << ctx << " type " << d.type;
		} else if (*w.type) {
			EXPECT_STREQ(d.type, w.type) << ctx;
		}
		if (w.field == nullptr) {
			EXPECT_EQ(d.field, nullptr) << ctx << " field " << d.field;
		} else if (*w.field) {
			EXPECT_STREQ(d.field, w.field) << ctx;
		}
		if (w.pos >= 0) {
			EXPECT_EQ(d.pos, (uint64_t)w.pos) << ctx;
		}
		if (w.restores) {
			EXPECT_EQ(amqp_cur_left(&c), b.size()) << ctx;
			EXPECT_EQ(amqp_cur_pos(&c), 0u) << ctx;
		}
		char buf[256];
		EXPECT_GT(amqp_diag_format(&d, buf, sizeof buf), 0u);
		EXPECT_NE(strstr(buf, cond ? cond : rr_errname(e)), nullptr) << buf;
	}
}

static const char *DEC = "amqp:decode-error";
static const char *FRAMING = "amqp:connection:framing-error";

// Decode a value and walk it all the way down (lying counts show up when
// the elements are walked).
static enum rr_err walk(const struct amqp_value &v, struct amqp_diag *d, int depth = 0)
{
	if (!tv_is_compound(v.type) || depth > 20)
		return RR_OK;
	struct amqp_iter it;
	enum rr_err e = amqp_iter_init(&it, &v, d);
	if (e != RR_OK)
		return e;
	struct amqp_value x;
	while ((e = amqp_iter_next(&it, &x, d)) == RR_OK)
		if ((e = walk(x, d, depth + 1)) != RR_OK)
			return e;
	return e == RR_END ? RR_OK : e;
}

static enum rr_err dec_value(struct amqp_cursor *c, struct amqp_diag *d)
{
	struct amqp_value v;
	return amqp_decode_value(c, &v, d);
}
static enum rr_err dec_walk(struct amqp_cursor *c, struct amqp_diag *d)
{
	struct amqp_value v;
	enum rr_err e = amqp_decode_value(c, &v, d);
	return e != RR_OK ? e : walk(v, d);
}
static Decoder dec_composite(const struct amqp_composite_desc *desc)
{
	return [desc](struct amqp_cursor *c, struct amqp_diag *d) {
		struct_buf s(desc);
		return amqp_composite_decode(desc, c, s.p(), d);
	};
}
static Decoder dec_frame(uint32_t max)
{
	return [max](struct amqp_cursor *c, struct amqp_diag *d) {
		struct amqp_frame f;
		return amqp_frame_parse(c, max, &f, d);
	};
}

TEST(AmqpHostile, LengthsPastTheEnd)
{
	RR_SEED_TRACE();
	Want w = {RR_E_TRUNCATED, DEC, nullptr, nullptr, 0, true};
	expect_err(B({}), dec_value, w, "empty");
	expect_err(B({0xa1, 5, 'a', 'b'}), dec_value, w, "str8 past end");
	expect_err(B({0xb1, 0, 0, 1, 0, 'a'}), dec_value, w, "str32 past end");
	expect_err(B({0xa0}), dec_value, w, "vbin8 without size");
	expect_err(B({0xb3, 0, 0}), dec_value, w, "sym32 short size");
	expect_err(B({0x70, 0, 0}), dec_value, w, "uint32 short");
	expect_err(B({0x98, 1, 2, 3}), dec_value, w, "uuid short");
	expect_err(B({0x56}), dec_value, w, "boolean 0x56 without byte");
	expect_err(B({0xc0, 5, 1, 0x40}), dec_value, w, "list8 past end");
	expect_err(B({0xd1, 0, 0, 0, 9, 0, 0, 0, 2}), dec_value, w, "map32 past end");
	expect_err(B({0xe0, 9, 2, 0x71, 0, 0}), dec_value, w, "array8 past end");
	expect_err(B({0x00, 0x53}), dec_value, w, "descriptor without value");
	expect_err(B({0x00, 0xa3, 9, 'x'}), dec_value, w, "symbolic descriptor past end");
	expect_err(B({0x00, 0x53, 0x24}), dec_value, w, "descriptor code without constructor");
	// Inside a container: the element runs past the list's own size.
	Want wi = {RR_E_TRUNCATED, DEC, nullptr, nullptr, 3, false};
	expect_err(B({0xc0, 3, 1, 0xa1, 9, 'x', 'y', 'z', 'z', 'z', 'z', 'z', 'z', 'z'}), dec_walk, wi,
		   "element past its list");
}

TEST(AmqpHostile, FourGigabyteSizes)
{
	RR_SEED_TRACE();
	Want w = {RR_E_TRUNCATED, DEC, nullptr, nullptr, 0, true};
	expect_err(B({0xb1, 0xff, 0xff, 0xff, 0xff, 'a', 'b'}), dec_value, w, "str32 4GiB");
	expect_err(B({0xb0, 0xff, 0xff, 0xff, 0xff, 0}), dec_value, w, "vbin32 4GiB");
	expect_err(B({0xb3, 0xff, 0xff, 0xff, 0xff, 0}), dec_value, w, "sym32 4GiB");
	expect_err(B({0xd0, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 1, 0x40}), dec_value, w, "list32 4GiB");
	expect_err(B({0xd1, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0}), dec_value, w, "map32 4GiB");
	expect_err(B({0xf0, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 1, 0x40}), dec_value, w, "array32 4GiB");
	// A 4 GiB count in a small compound.
	Want wc = {RR_E_BAD_COUNT, DEC, nullptr, nullptr, 0, true};
	expect_err(B({0xd0, 0, 0, 0, 5, 0xff, 0xff, 0xff, 0xff, 0x40}), dec_value, wc, "list32 4G count");
	expect_err(B({0xf0, 0, 0, 0, 6, 0xff, 0xff, 0xff, 0xff, 0x71, 0}), dec_value, wc, "array32 4G count");
	expect_err(B({0xf0, 0, 0, 0, 5, 0xff, 0xff, 0xff, 0xff, 0x40}), dec_value, wc,
		   "array32 of 4G nulls");
	// The frame header: larger than any max-frame-size we negotiate.
	Want wf = {RR_E_FRAME_TOO_LARGE, FRAMING, "frame", "size", 0, true};
	expect_err(B({0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0}), dec_frame(65536), wf, "frame size 4GiB");
}

TEST(AmqpHostile, NestedDescribedTypes)
{
	RR_SEED_TRACE();
	// 10k nested descriptors: refused without recursion.
	Bytes deep;
	for (int k = 0; k < 10000; k++)
		deep = cat(deep, B({0x00, 0x53, 0x01}));
	deep.push_back(0x40);
	Want w = {RR_E_NESTING, DEC, nullptr, nullptr, 0, true};
	expect_err(deep, dec_value, w, "10k nested described");
	// Nesting up to the limit decodes; one more does not.
	Bytes ok, over;
	for (int k = 0; k < AMQP_MAX_DESCRIBED_DEPTH; k++)
		ok = cat(ok, B({0x00, 0x53, (int)(k + 1)}));
	over = cat(B({0x00, 0x53, 0x77}), ok);
	ok.push_back(0x40);
	over.push_back(0x40);
	for (size_t n : test_split_sizes()) {
		test_chain ch(ok, n);
		struct amqp_cursor c;
		ch.cursor(&c);
		struct amqp_value v;
		struct amqp_diag d = {};
		ASSERT_EQ(amqp_decode_value(&c, &v, &d), RR_OK);
		EXPECT_EQ(v.descriptor, 1u); // the outermost
		EXPECT_EQ(v.type, AMQP_TYPE_NULL);
		EXPECT_EQ(amqp_cur_left(&c), 0u);
	}
	expect_err(over, dec_value, w, "limit + 1");
	// Deep nesting as a list element, a composite field, a message section.
	Bytes lst = cat(B({0xd0}), Bytes());
	put_be(lst, deep.size() + 4, 4);
	put_be(lst, 1, 4);
	lst = cat(lst, deep);
	expect_err(lst, dec_walk, {RR_E_NESTING, DEC, nullptr, nullptr, 9, false}, "nested in a list");
	Bytes disp = cat(B({0x00, 0x53, 0x15, 0xd0}), Bytes());
	Bytes fields = cat(B({0x41, 0x43, 0x40, 0x40}), deep); // role first last settled state
	put_be(disp, fields.size() + 4, 4);
	put_be(disp, 5, 4);
	disp = cat(disp, fields);
	expect_err(disp, dec_perf, {RR_E_NESTING, DEC, "disposition", "state", 16, false},
		   "nested in disposition.state");
	Bytes msg = cat(B({0x00, 0x53, 0x77}), deep);
	expect_err(msg, dec_msg, {RR_E_NESTING, DEC, "message", "", 0, true}, "nested in amqp-value");
	// A descriptor that is itself described.
	expect_err(B({0x00, 0x00, 0x53, 0x01, 0x53, 0x02, 0x40}), dec_value,
		   {RR_E_BAD_DESCRIPTOR, DEC, nullptr, nullptr, 0, true}, "described descriptor");
	expect_err(B({0x00, 0xa1, 1, 'x', 0x40}), dec_value,
		   {RR_E_BAD_DESCRIPTOR, DEC, nullptr, nullptr, 0, true}, "string descriptor");
}

TEST(AmqpHostile, LyingCountsAndSizes)
{
	RR_SEED_TRACE();
	Want wc = {RR_E_BAD_COUNT, DEC, nullptr, nullptr, 0, true};
	// Fixed-width elements: count * width must be the size exactly.
	expect_err(B({0xe0, 6, 2, 0x71, 0, 0, 0, 1}), dec_value, wc, "array: count 2, one int");
	expect_err(B({0xe0, 6, 0, 0x71, 0, 0, 0, 1}), dec_value, wc, "array: count 0, one int");
	expect_err(B({0xe0, 5, 3, 0xb1, 0, 0, 0}), dec_value, wc, "array: 3 str32 in 3 bytes");
	Bytes nulls = B({0xf0, 0, 0, 0, 5});
	put_be(nulls, AMQP_MAX_ZERO_WIDTH_ARRAY + 1, 4);
	nulls.push_back(0x40);
	expect_err(nulls, dec_value, wc, "array of too many zero-width elements");
	// Variable-width elements: found out while walking.
	expect_err(B({0xe0, 6, 3, 0xa1, 1, 'a', 1, 'b'}), dec_walk,
		   {RR_E_TRUNCATED, DEC, nullptr, nullptr, 8, false}, "array: count 3, two strings");
	expect_err(B({0xe0, 6, 1, 0xa1, 1, 'a', 1, 'b'}), dec_walk,
		   {RR_E_BAD_COUNT, DEC, nullptr, nullptr, 6, false}, "array: count 1, two strings");
	// Lists and maps.
	expect_err(B({0xc0, 3, 5, 0x40, 0x40}), dec_value, wc, "list8: count past size");
	expect_err(B({0xd0, 0, 0, 0, 6, 0, 0, 0, 3, 0x40, 0x40}), dec_value, wc, "list32: count past size");
	expect_err(B({0xc0, 4, 1, 0x40, 0x40, 0x40}), dec_walk, {RR_E_BAD_COUNT, DEC, nullptr, nullptr, 4, false},
		   "list8: count 1, three elements");
	expect_err(B({0xc1, 5, 4, 0xa3, 1, 'k', 0x40}), dec_walk, {RR_E_TRUNCATED, DEC, nullptr, nullptr, 7, false},
		   "map8: count 4, two elements");
	// A composite whose list holds more elements than its count.
	expect_err(B({0x00, 0x53, 0x14, 0xc0, 4, 2, 0x43, 0x43, 0x43}), dec_perf,
		   {RR_E_BAD_COUNT, DEC, "transfer", nullptr, 8, false}, "transfer: count 2, three elements");
	// Sizes smaller than their own count fields.
	Want ws = {RR_E_BAD_SIZE, DEC, nullptr, nullptr, 0, true};
	expect_err(B({0xc0, 0}), dec_value, ws, "list8 size 0");
	expect_err(B({0xd0, 0, 0, 0, 3, 0, 0, 0}), dec_value, ws, "list32 size 3");
	expect_err(B({0xd1, 0, 0, 0, 0}), dec_value, ws, "map32 size 0");
	expect_err(B({0xe0, 1, 0}), dec_value, ws, "array8 size 1");
	expect_err(B({0xf0, 0, 0, 0, 4, 0, 0, 0, 0}), dec_value, ws, "array32 size 4");
	// Constructors.
	Want wk = {RR_E_BAD_CONSTRUCTOR, DEC, nullptr, nullptr, 0, true};
	expect_err(B({0x01}), dec_value, wk, "reserved code 0x01");
	expect_err(B({0xff}), dec_value, wk, "reserved code 0xff");
	expect_err(B({0x00, 0x53, 0x24, 0x3f}), dec_value, wk, "reserved code after a descriptor");
	Want wa = {RR_E_BAD_ARRAY_ELEM, DEC, nullptr, nullptr, 0, true};
	expect_err(B({0xe0, 2, 1, 0x01}), dec_value, wa, "array of reserved code");
	expect_err(B({0xe0, 5, 1, 0x00, 0x53, 0x24, 0x00}), dec_value, wa, "array of described described");
}

TEST(AmqpHostile, FrameHeaders)
{
	RR_SEED_TRACE();
	Want small = {RR_E_FRAME_TOO_SMALL, FRAMING, "frame", "size", 0, true};
	for (int sz = 0; sz < 8; sz++)
		expect_err(B({0, 0, 0, sz, 2, 0, 0, 0}), dec_frame(65536), small, "size " + std::to_string(sz));
	Want doff = {RR_E_FRAME_DOFF, FRAMING, "frame", "doff", 4, true};
	expect_err(B({0, 0, 0, 8, 0, 0, 0, 0}), dec_frame(65536), doff, "doff 0");
	expect_err(B({0, 0, 0, 8, 1, 0, 0, 0}), dec_frame(65536), doff, "doff 1");
	expect_err(B({0, 0, 0, 8, 3, 0, 0, 0}), dec_frame(65536), doff, "doff 3 past an 8-byte frame");
	expect_err(B({0, 0, 0, 12, 4, 0, 0, 0, 0, 0, 0, 0}), dec_frame(65536), doff, "doff 4 past 12 bytes");
	expect_err(B({0, 0, 0, 12, 255, 0, 0, 0, 0, 0, 0, 0}), dec_frame(65536), doff, "doff 255");
	Want big = {RR_E_FRAME_TOO_LARGE, FRAMING, "frame", "size", 0, true};
	Bytes f513 = B({0, 0, 2, 1, 2, 0, 0, 0});
	f513.resize(513, 0x40);
	expect_err(f513, dec_frame(512), big, "513 > max-frame-size 512");
	expect_err(B({0, 1, 0, 1, 2, 0, 0, 0}), dec_frame(65536), big, "65537 announced, header only");
}

TEST(AmqpHostile, OddMaps)
{
	RR_SEED_TRACE();
	Want w = {RR_E_ODD_MAP, DEC, nullptr, nullptr, 0, true};
	expect_err(B({0xc1, 2, 1, 0x40}), dec_value, w, "map8 count 1");
	expect_err(B({0xd1, 0, 0, 0, 7, 0, 0, 0, 3, 0x40, 0x40, 0x40}), dec_value, w, "map32 count 3");
	// open.properties (fields) with an odd count.
	Bytes open = B({0x00, 0x53, 0x10, 0xc0, 16, 10, 0xa1, 1, 'c', 0x40, 0x40, 0x40, 0x40, 0x40, 0x40, 0x40,
			0x40, 0xc1, 2, 1, 0x40});
	expect_err(open, dec_perf, {RR_E_ODD_MAP, DEC, "open", "properties", 17, false}, "open.properties");
	expect_err(open, dec_composite(&amqp_open_desc), {RR_E_ODD_MAP, DEC, "open", "properties", 17, true},
		   "open.properties (composite)");
	// Message annotations with an odd count.
	expect_err(B({0x00, 0x53, 0x72, 0xc1, 2, 1, 0x40}), dec_msg, {RR_E_ODD_MAP, DEC, "message", "", 0, true},
		   "message-annotations");
}

TEST(AmqpHostile, WrongFieldTypes)
{
	RR_SEED_TRACE();
	auto perf = [](const Bytes &b, const char *type, const char *field, int64_t pos, const char *what) {
		expect_err(b, dec_perf, {RR_E_WRONG_TYPE, DEC, type, field, pos, false}, what);
		expect_err(b, dec_composite(amqp_performative_desc(b[2])),
			   {RR_E_WRONG_TYPE, DEC, type, field, pos, true}, std::string(what) + " (composite)");
	};
	perf(B({0x00, 0x53, 0x10, 0xc0, 2, 1, 0x43}), "open", "container-id", 6, "open.container-id uint");
	perf(B({0x00, 0x53, 0x10, 0xc0, 5, 2, 0xa1, 0, 0xa3, 0}), "open", "hostname", 8, "open.hostname symbol");
	perf(B({0x00, 0x53, 0x14, 0xc0, 3, 1, 0xa1, 0}), "transfer", "handle", 6, "transfer.handle string");
	perf(B({0x00, 0x53, 0x14, 0xc0, 4, 2, 0x43, 0x53, 1}), "transfer", "delivery-id", 7,
	     "transfer.delivery-id ulong");
	perf(B({0x00, 0x53, 0x12, 0xc0, 6, 3, 0xa1, 1, 'n', 0x43, 0x43}), "attach", "role", 10, "attach.role uint");
	perf(B({0x00, 0x53, 0x11, 0xc0, 12, 6, 0x40, 0x43, 0x43, 0x43, 0x40, 0xe0, 4, 1, 0xa1, 1, 'x'}), "begin",
	     "offered-capabilities", 11, "begin.offered-capabilities array of string");
	perf(B({0x00, 0x53, 0x11, 0xc0, 8, 6, 0x40, 0x43, 0x43, 0x43, 0x40, 0x54, 1}), "begin",
	     "offered-capabilities", 11, "begin.offered-capabilities int");
	perf(B({0x00, 0x53, 0x13, 0xc0, 5, 4, 0x40, 0x43, 0x43, 0x41}), "flow", "outgoing-window", 9,
	     "flow.outgoing-window boolean");
	perf(B({0x00, 0x53, 0x10, 0xc0, 12, 10, 0xa1, 0, 0x40, 0x40, 0x40, 0x40, 0x40, 0x40, 0x40, 0x40, 0x45}),
	     "open", "properties", 16, "open.properties list");
	// Nested: detach.error.condition as a string.
	expect_err(B({0x00, 0x53, 0x16, 0xc0, 11, 3, 0x43, 0x40, 0x00, 0x53, 0x1d, 0xc0, 3, 1, 0xa1, 0}), dec_perf,
		   {RR_E_WRONG_TYPE, DEC, "error", "condition", 14, false}, "detach.error.condition");
	expect_err(B({0x00, 0x53, 0x16, 0xc0, 7, 3, 0x43, 0x40, 0x00, 0x53, 0x24, 0x45}), dec_perf,
		   {RR_E_WRONG_DESCRIPTOR, DEC, "", "error", 8, false}, "detach.error accepted");
	expect_err(B({0x00, 0x53, 0x16, 0xc0, 4, 3, 0x43, 0x40, 0x45}), dec_perf,
		   {RR_E_NOT_DESCRIBED, DEC, "", "error", 8, false}, "detach.error plain list");
	// SASL.
	expect_err(B({0x00, 0x53, 0x41, 0xc0, 3, 1, 0xa1, 0}), dec_sasl,
		   {RR_E_WRONG_TYPE, DEC, "sasl-init", "mechanism", 6, false}, "sasl-init.mechanism string");
	expect_err(B({0x00, 0x53, 0x44, 0xc0, 2, 1, 0x43}), dec_sasl,
		   {RR_E_WRONG_TYPE, DEC, "sasl-outcome", "code", 6, false}, "sasl-outcome.code uint");
	// Sections.
	expect_err(B({0x00, 0x53, 0x70, 0xc0, 3, 1, 0xa1, 0}), dec_msg,
		   {RR_E_WRONG_TYPE, DEC, "header", "durable", 6, true}, "header.durable string");
	expect_err(B({0x00, 0x53, 0x73, 0xc0, 4, 2, 0x40, 0xa1, 0}), dec_msg,
		   {RR_E_WRONG_TYPE, DEC, "properties", "user-id", 7, true}, "properties.user-id string");
}

TEST(AmqpHostile, MissingMandatoryFields)
{
	RR_SEED_TRACE();
	auto perf = [](const Bytes &b, const char *type, const char *field, int64_t pos, const char *what) {
		expect_err(b, dec_perf, {RR_E_MISSING_MANDATORY, DEC, type, field, pos, false}, what);
	};
	perf(B({0x00, 0x53, 0x10, 0x45}), "open", "container-id", 4, "open list0");
	perf(B({0x00, 0x53, 0x10, 0xc0, 1, 0}), "open", "container-id", 6, "open list8 empty");
	perf(B({0x00, 0x53, 0x10, 0xc0, 2, 1, 0x40}), "open", "container-id", 6, "open container-id null");
	perf(B({0x00, 0x53, 0x14, 0xc0, 2, 1, 0x40}), "transfer", "handle", 6, "transfer handle null");
	perf(B({0x00, 0x53, 0x13, 0xc0, 3, 2, 0x40, 0x43}), "flow", "next-outgoing-id", 8,
	     "flow without next-outgoing-id");
	perf(B({0x00, 0x53, 0x11, 0xc0, 5, 4, 0x40, 0x43, 0x43, 0x40}), "begin", "outgoing-window", 9,
	     "begin outgoing-window null");
	perf(B({0x00, 0x53, 0x12, 0xc0, 5, 2, 0xa1, 1, 'n', 0x43}), "attach", "role", 10, "attach without role");
	perf(B({0x00, 0x53, 0x15, 0xc0, 2, 1, 0x41}), "disposition", "first", 7, "disposition without first");
	perf(B({0x00, 0x53, 0x16, 0x45}), "detach", "handle", 4, "detach list0");
	expect_err(B({0x00, 0x53, 0x41, 0x45}), dec_sasl,
		   {RR_E_MISSING_MANDATORY, DEC, "sasl-init", "mechanism", 4, false}, "sasl-init list0");
	expect_err(B({0x00, 0x53, 0x40, 0x45}), dec_sasl,
		   {RR_E_MISSING_MANDATORY, DEC, "sasl-mechanisms", "sasl-server-mechanisms", 4, false},
		   "sasl-mechanisms list0");
	expect_err(B({0x00, 0x53, 0x16, 0xc0, 7, 3, 0x43, 0x40, 0x00, 0x53, 0x1d, 0x45}), dec_perf,
		   {RR_E_MISSING_MANDATORY, DEC, "error", "condition", 12, false}, "detach.error without condition");
	expect_err(B({0x00, 0x53, 0x23, 0xc0, 2, 1, 0x43}), dec_composite(&amqp_received_desc),
		   {RR_E_MISSING_MANDATORY, DEC, "received", "section-offset", 7, true},
		   "received without section-offset");
}

TEST(AmqpHostile, UnknownPerformatives)
{
	RR_SEED_TRACE();
	Want w = {RR_E_UNKNOWN_PERFORMATIVE, DEC, "frame", "performative", 0, false};
	expect_err(B({0x00, 0x53, 0x19, 0x45}), dec_perf, w, "descriptor 0x19");
	expect_err(B({0x00, 0x53, 0x24, 0x45}), dec_perf, w, "accepted as a performative");
	expect_err(B({0x00, 0x53, 0x41, 0xc0, 3, 1, 0xa3, 0}), dec_perf, w, "sasl-init as a performative");
	expect_err(B({0x00, 0x80, 0, 0, 0x01, 0, 0, 0, 0, 0x10, 0x45}), dec_perf, w, "0x0000010000000010");
	expect_err(cat(cat(B({0x00, 0xa3, 13}), str_bytes("amqp:foo:list")), B({0x45})), dec_perf, w,
		   "symbol amqp:foo:list");
	expect_err(cat(cat(B({0x00, 0xa3, 18}), str_bytes("amqp:accepted:list")), B({0x45})), dec_perf, w,
		   "symbol amqp:accepted:list");
	expect_err(B({0x00, 0x53, 0x10, 0xc0, 3, 1, 0xa1, 0}), dec_sasl, w, "open as a SASL frame");
	expect_err(B({0x45}), dec_perf, {RR_E_NOT_DESCRIBED, DEC, "frame", "performative", 0, false}, "plain list");
	expect_err(B({0x00, 0x53, 0x10, 0xa1, 1, 'x'}), dec_perf, {RR_E_NOT_DESCRIBED, DEC, "open", nullptr, 0, false},
		   "open described string");
	expect_err(B({}), dec_perf, {RR_E_TRUNCATED, DEC, "frame", "performative", 0, false}, "empty body");
}

TEST(AmqpHostile, BytesAfterANonTransferPerformative)
{
	RR_SEED_TRACE();
	expect_err(B({0x00, 0x53, 0x13, 0xc0, 5, 4, 0x40, 0x43, 0x43, 0x43, 0x40}), dec_perf,
		   {RR_E_FRAME_TRAILING, FRAMING, "flow", nullptr, 10, false}, "flow + null");
	expect_err(B({0x00, 0x53, 0x18, 0x45, 0x00}), dec_perf, {RR_E_FRAME_TRAILING, FRAMING, "close", nullptr, 4, false},
		   "close + byte");
	expect_err(B({0x00, 0x53, 0x10, 0xc0, 3, 1, 0xa1, 0, 0x00, 0x53, 0x11}), dec_perf,
		   {RR_E_FRAME_TRAILING, FRAMING, "open", nullptr, 8, false}, "open + begin bytes");
	expect_err(B({0x00, 0x53, 0x44, 0xc0, 3, 1, 0x50, 0, 0xff}), dec_sasl,
		   {RR_E_FRAME_TRAILING, FRAMING, "sasl-outcome", nullptr, 8, false}, "sasl-outcome + byte");
	// A transfer carries its payload.
	Bytes t = B({0x00, 0x53, 0x14, 0xc0, 2, 1, 0x43, 0x00, 0x53, 0x77, 0x40});
	for (size_t n : test_split_sizes()) {
		test_chain ch(t, n);
		struct amqp_cursor c;
		ch.cursor(&c);
		struct amqp_performative p;
		struct amqp_diag d = {};
		ASSERT_EQ(amqp_performative_decode(&c, &p, &d), RR_OK);
		EXPECT_EQ(amqp_cur_left(&p.payload), 4u);
		EXPECT_EQ(amqp_cur_pos(&p.payload), 7u);
	}
}

TEST(AmqpHostile, MessageSections)
{
	RR_SEED_TRACE();
	const Bytes hdr = B({0x00, 0x53, 0x70, 0x45});
	const Bytes da = B({0x00, 0x53, 0x71, 0xc1, 1, 0});
	const Bytes ma = B({0x00, 0x53, 0x72, 0xc1, 1, 0});
	const Bytes props = B({0x00, 0x53, 0x73, 0x45});
	const Bytes ap = B({0x00, 0x53, 0x74, 0xc1, 1, 0});
	const Bytes data = B({0x00, 0x53, 0x75, 0xa0, 1, 'x'});
	const Bytes seq = B({0x00, 0x53, 0x76, 0x45});
	const Bytes val = B({0x00, 0x53, 0x77, 0x40});
	const Bytes foot = B({0x00, 0x53, 0x78, 0xc1, 1, 0});
	auto order = [](const Bytes &a, const Bytes &b, enum rr_err err, const char *field, const char *what) {
		expect_err(cat(a, b), dec_msg, {err, DEC, "message", field, (int64_t)a.size(), true}, what);
	};
	order(props, hdr, RR_E_SECTION_ORDER, "section", "properties before header");
	order(hdr, hdr, RR_E_SECTION_ORDER, "section", "header twice");
	order(ma, da, RR_E_SECTION_ORDER, "section", "delivery- after message-annotations");
	order(ma, ma, RR_E_SECTION_ORDER, "section", "message-annotations twice");
	order(ap, props, RR_E_SECTION_ORDER, "section", "properties after application-properties");
	order(data, ap, RR_E_SECTION_ORDER, "section", "application-properties after the body");
	order(foot, data, RR_E_SECTION_ORDER, "section", "body after the footer");
	order(foot, foot, RR_E_SECTION_ORDER, "section", "footer twice");
	order(cat(hdr, data), val, RR_E_MIXED_BODY, "body", "data then amqp-value");
	order(data, seq, RR_E_MIXED_BODY, "body", "data then amqp-sequence");
	order(seq, data, RR_E_MIXED_BODY, "body", "amqp-sequence then data");
	order(val, val, RR_E_MIXED_BODY, "body", "two amqp-values");
	order(val, data, RR_E_MIXED_BODY, "body", "amqp-value then data");
	Want bad = {RR_E_BAD_SECTION, DEC, "message", "section", 0, true};
	expect_err(B({0x40}), dec_msg, bad, "not described");
	expect_err(B({0x00, 0x53, 0x79, 0x40}), dec_msg, bad, "unknown descriptor 0x79");
	expect_err(B({0x00, 0x53, 0x10, 0xc0, 3, 1, 0xa1, 0}), dec_msg, bad, "open as a section");
	expect_err(B({0x00, 0x53, 0x75, 0xa1, 0}), dec_msg, bad, "data holding a string");
	expect_err(B({0x00, 0x53, 0x72, 0x45}), dec_msg, bad, "message-annotations holding a list");
	expect_err(B({0x00, 0x53, 0x70, 0xc1, 1, 0}), dec_msg, bad, "header holding a map");
	expect_err(cat(hdr, B({0x00, 0x53, 0x76, 0xa1, 0})), dec_msg, {RR_E_BAD_SECTION, DEC, "message", "section", 4, true},
		   "amqp-sequence holding a string");
	expect_err(cat(hdr, B({0x00, 0x53, 0x75, 0xa0, 9, 'x'})), dec_msg,
		   {RR_E_TRUNCATED, DEC, "message", "", 4, true}, "data past the end");
}
