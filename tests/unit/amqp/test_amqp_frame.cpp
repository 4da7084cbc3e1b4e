// Protocol headers (AMQP 1.0 part 2.2, 5.2, 5.3) and frames (part 2.3,
// 5.3.1) over segment chains: the same result for every split, and every
// strict prefix answers RR_NEED_MORE with no side effect. Frame bodies are
// performatives and SASL frames encoded by proton, decoded through the
// frame layer by ours.
#include "composite_util.h"

static const uint64_t kSeedPrinted = test_seed();

static Bytes hdr_bytes(uint8_t id) { return Bytes{'A', 'M', 'Q', 'P', id, 1, 0, 0}; }

TEST(AmqpProtoHeader, EveryIdEverySplitEveryPrefix)
{
	RR_SEED_TRACE();
	for (uint8_t id : {AMQP_PROTO_AMQP, AMQP_PROTO_TLS, AMQP_PROTO_SASL}) {
		Bytes h = hdr_bytes(id);
		Bytes out(16);
		struct amqp_wbuf w;
		amqp_wbuf_init(&w, out.data(), out.size());
		amqp_proto_header_encode(&w, (enum amqp_proto_id)id);
		ASSERT_TRUE(amqp_wbuf_ok(&w));
		out.resize(amqp_wbuf_len(&w));
		EXPECT_EQ(out, h);
		Bytes stream = h;
		stream.push_back(0x00); // the next frame's first byte
		for (size_t n : test_split_sizes()) {
			test_chain ch(stream, n);
			struct amqp_cursor c;
			ch.cursor(&c);
			enum amqp_proto_id got = (enum amqp_proto_id)1 /* no such id: a sentinel */;
			ASSERT_EQ(amqp_proto_header_parse(&c, &got), RR_OK) << "split " << n;
			EXPECT_EQ(got, id);
			EXPECT_EQ(amqp_cur_pos(&c), 8u);
			EXPECT_EQ(amqp_cur_left(&c), 1u);
			for (size_t k = 0; k < h.size(); k++) {
				test_chain pc(h.data(), k, n);
				struct amqp_cursor p;
				pc.cursor(&p);
				enum amqp_proto_id untouched = (enum amqp_proto_id)1 /* no such id: a sentinel */;
				ASSERT_EQ(amqp_proto_header_parse(&p, &untouched), RR_NEED_MORE) << "prefix " << k;
				EXPECT_EQ(untouched, (enum amqp_proto_id)1 /* no such id: a sentinel */);
				EXPECT_EQ(amqp_cur_left(&p), k);
				EXPECT_EQ(amqp_cur_pos(&p), 0u);
			}
		}
	}
}

TEST(AmqpProtoHeader, GarbageAndWrongVersions)
{
	RR_SEED_TRACE();
	struct {
		Bytes b;
		enum rr_err want;
	} cases[] = {
		{{'H', 'T', 'T', 'P', '/', '1', '.', '1'}, RR_E_PROTO_HEADER},
		{{'G'}, RR_E_PROTO_HEADER},   // garbage is known at the first byte
		{{'A', 'M', 'X'}, RR_E_PROTO_HEADER},
		{{0x00, 0x00, 0x00, 0x20, 0x02, 0x00, 0x00, 0x00}, RR_E_PROTO_HEADER}, // a frame, no header
		{{'A', 'M', 'Q', 'P', 1, 1, 0, 0}, RR_E_PROTO_VERSION},   // unknown id 1
		{{'A', 'M', 'Q', 'P', 4, 1, 0, 0}, RR_E_PROTO_VERSION},
		{{'A', 'M', 'Q', 'P', 0, 0, 9, 1}, RR_E_PROTO_VERSION},   // AMQP 0-9-1
		{{'A', 'M', 'Q', 'P', 0, 1, 0, 1}, RR_E_PROTO_VERSION},   // 1.0.1
		{{'A', 'M', 'Q', 'P', 3, 2, 0, 0}, RR_E_PROTO_VERSION},
	};
	for (auto &cs : cases)
		for (size_t n : test_split_sizes()) {
			test_chain ch(cs.b, n);
			struct amqp_cursor c;
			ch.cursor(&c);
			enum amqp_proto_id id = (enum amqp_proto_id)1 /* no such id: a sentinel */;
			EXPECT_EQ(rr_errname(amqp_proto_header_parse(&c, &id)), std::string(rr_errname(cs.want)))
				<< hex(cs.b);
			EXPECT_EQ(id, (enum amqp_proto_id)1 /* no such id: a sentinel */);
			EXPECT_EQ(amqp_cur_left(&c), cs.b.size());
			EXPECT_STREQ(rr_err_condition(cs.want), "amqp:connection:framing-error");
		}
}

// One frame to build and to expect back.
struct FrameCase {
	uint8_t type = AMQP_FRAME_AMQP;
	uint16_t channel = 0;
	Bytes ext;        // extended header (doff*4 - 8 bytes)
	const struct amqp_composite_desc *desc = nullptr; // nullptr: empty frame
	TV body;          // the performative/SASL frame
	Bytes perf;       // its bytes (proton's encoding)
	Bytes payload;    // transfer payload
	Bytes bytes;      // the whole frame
};

static FrameCase make_frame(Rng &r)
{
	static std::vector<const struct amqp_composite_desc *> perfs, sasls;
	if (perfs.empty())
		for (size_t i = 0; i < amqp_composites_count; i++) {
			if (amqp_performative_desc(amqp_composites[i]->code))
				perfs.push_back(amqp_composites[i]);
			if (amqp_sasl_desc(amqp_composites[i]->code))
				sasls.push_back(amqp_composites[i]);
		}
	FrameCase f;
	unsigned kind = (unsigned)r.below(10);
	if (kind == 0) {
		// empty (heartbeat) frame
	} else if (kind <= 2) {
		f.type = AMQP_FRAME_SASL;
		f.desc = sasls[r.below(sasls.size())];
	} else {
		f.desc = kind <= 5 ? &amqp_transfer_desc : perfs[r.below(perfs.size())];
	}
	f.channel = f.type == AMQP_FRAME_SASL ? 0 : (uint16_t)r.edgy(16);
	if (r.coin(15)) {
		std::string e = r.bytes(4 * (1 + r.below(3)), false);
		f.ext.assign(e.begin(), e.end());
	}
	if (f.desc) {
		f.body = rand_composite(r, f.desc, 0, r.coin(80));
		f.perf = pn_bytes_of(f.body);
		if (f.desc == &amqp_transfer_desc && r.coin(80)) {
			std::string p = r.bytes(r.coin(10) ? 2000 + r.below(3000) : r.below(300), false);
			f.payload.assign(p.begin(), p.end());
		}
	}
	size_t size = 8 + f.ext.size() + f.perf.size() + f.payload.size();
	put_be(f.bytes, size, 4);
	f.bytes.push_back((uint8_t)(2 + f.ext.size() / 4));
	f.bytes.push_back(f.type);
	put_be(f.bytes, f.channel, 2);
	f.bytes.insert(f.bytes.end(), f.ext.begin(), f.ext.end());
	f.bytes.insert(f.bytes.end(), f.perf.begin(), f.perf.end());
	f.bytes.insert(f.bytes.end(), f.payload.begin(), f.payload.end());
	return f;
}

static std::string cursor_bytes(struct amqp_cursor c)
{
	std::string s(amqp_cur_left(&c), '\0');
	amqp_cur_copy(&c, &s[0], s.size());
	return s;
}

// Parse one frame at c and check everything in it.
static std::string check_frame(struct amqp_cursor *c, const FrameCase &x, uint64_t pos)
{
	struct amqp_frame f;
	struct amqp_diag d = {};
	enum rr_err e = amqp_frame_parse(c, 1u << 20, &f, &d);
	if (e != RR_OK)
		return std::string("frame_parse ") + rr_errname(e);
	if (f.size != x.bytes.size() || f.doff != 2 + x.ext.size() / 4 || f.type != x.type ||
	    f.channel != x.channel || f.pos != pos)
		return "frame header fields differ";
	if (bytes_str(f.ext_header) != std::string(x.ext.begin(), x.ext.end()))
		return "extended header differs";
	std::string body = std::string(x.perf.begin(), x.perf.end()) + std::string(x.payload.begin(), x.payload.end());
	if (cursor_bytes(f.body) != body)
		return "body differs";
	if (amqp_cur_pos(&f.body) != pos + 8 + x.ext.size())
		return "body position differs";
	if (x.desc == nullptr)
		return amqp_frame_is_empty(&f) ? "" : "heartbeat not empty";
	if (amqp_frame_is_empty(&f))
		return "frame empty";
	if (x.type == AMQP_FRAME_SASL) {
		struct amqp_sasl_frame s;
		e = amqp_sasl_frame_decode(&f.body, &s, &d);
		if (e != RR_OK || s.code != x.desc->code)
			return std::string("sasl decode ") + rr_errname(e);
		return compare_struct(x.desc, &s.u, x.body);
	}
	struct amqp_performative p;
	e = amqp_performative_decode(&f.body, &p, &d);
	if (e != RR_OK || p.code != x.desc->code)
		return std::string("performative decode ") + rr_errname(e) + " " + (d.field ? d.field : "");
	std::string m = compare_struct(x.desc, &p.u, x.body);
	if (!m.empty())
		return m;
	if (cursor_bytes(p.payload) != std::string(x.payload.begin(), x.payload.end()))
		return "payload differs";
	return "";
}

TEST(AmqpFrame, RandomStreamsEverySplit)
{
	RR_SEED_TRACE();
	Rng r(0x5005);
	int frames = 0;
	for (int k = 0; k < 600; k++) {
		std::vector<FrameCase> fs;
		Bytes stream;
		size_t nf = 1 + r.below(5);
		for (size_t j = 0; j < nf; j++) {
			fs.push_back(make_frame(r));
			stream.insert(stream.end(), fs.back().bytes.begin(), fs.back().bytes.end());
		}
		std::vector<size_t> splits = k < 100 ? test_split_sizes() : std::vector<size_t>{pick_split(r)};
		for (size_t n : splits) {
			test_chain ch(stream, n);
			struct amqp_cursor c;
			ch.cursor(&c);
			uint64_t pos = 0;
			for (size_t j = 0; j < nf; j++, frames++) {
				std::string e = check_frame(&c, fs[j], pos);
				ASSERT_EQ(e, "") << "stream " << k << " frame " << j << " split " << n << ": "
						 << hex(fs[j].bytes);
				pos += fs[j].bytes.size();
				ASSERT_EQ(amqp_cur_pos(&c), pos);
			}
			struct amqp_frame f;
			ASSERT_EQ(amqp_frame_parse(&c, 1u << 20, &f, nullptr), RR_NEED_MORE);
		}
	}
	printf("[ cases    ] %d frames parsed\n", frames);
}

// Every strict prefix of a frame: RR_NEED_MORE, cursor and output untouched.
TEST(AmqpFrame, EveryStrictPrefixNeedsMore)
{
	RR_SEED_TRACE();
	Rng r(0x6006);
	int prefixes = 0;
	for (int k = 0; k < 60; k++) {
		FrameCase x = make_frame(r);
		size_t len = x.bytes.size();
		size_t step = len > 600 ? len / 200 : 1;
		for (size_t n : test_split_sizes()) {
			for (size_t p = 0; p < len; p += (p < 16 ? 1 : step), prefixes++) {
				test_chain ch(x.bytes.data(), p, n);
				struct amqp_cursor c;
				ch.cursor(&c);
				struct amqp_cursor before = c;
				struct amqp_frame f, sentinel;
				memset(&f, 0xa5, sizeof f);
				memset(&sentinel, 0xa5, sizeof sentinel);
				struct amqp_diag d = {};
				ASSERT_EQ(amqp_frame_parse(&c, 1u << 20, &f, &d), RR_NEED_MORE) << "prefix " << p;
				ASSERT_EQ(memcmp(&c, &before, sizeof c), 0) << "cursor moved, prefix " << p;
				ASSERT_EQ(memcmp(&f, &sentinel, sizeof f), 0) << "frame written, prefix " << p;
				ASSERT_EQ(d.err, RR_OK);
			}
			// The whole frame then parses.
			test_chain ch(x.bytes, n);
			struct amqp_cursor c;
			ch.cursor(&c);
			ASSERT_EQ(check_frame(&c, x, 0), "");
		}
	}
	printf("[ cases    ] %d strict prefixes\n", prefixes);
}

// Our frame writer: header fields, and performatives encoded into frames
// that the parser and proton read back.
TEST(AmqpFrame, EncodeFramesAndHeartbeat)
{
	RR_SEED_TRACE();
	Bytes out(64);
	struct amqp_wbuf w;
	amqp_wbuf_init(&w, out.data(), out.size());
	amqp_frame_encode_heartbeat(&w);
	ASSERT_TRUE(amqp_wbuf_ok(&w));
	out.resize(amqp_wbuf_len(&w));
	EXPECT_EQ(hex(out), hex(Bytes{0, 0, 0, 8, 2, 0, 0, 0}));

	Rng r(0x7007);
	for (int k = 0; k < 2000; k++) {
		const struct amqp_composite_desc *desc = amqp_composites[r.below(amqp_composites_count)];
		bool sasl = amqp_sasl_desc(desc->code) != nullptr;
		if (!sasl && amqp_performative_desc(desc->code) == nullptr)
			continue;
		TV t = canonical_composite(rand_composite(r, desc, 0, true), desc->code);
		std::deque<Bytes> keep;
		struct_buf s(desc);
		fill_struct(desc, s.p(), t, keep);
		uint16_t ch = sasl ? 0 : (uint16_t)r.edgy(16);
		Bytes buf(1 << 18);
		amqp_wbuf_init(&w, buf.data(), buf.size());
		uint8_t *h = amqp_frame_begin(&w);
		amqp_composite_encode(desc, s.p(), &w);
		amqp_frame_end(&w, h, sasl ? AMQP_FRAME_SASL : AMQP_FRAME_AMQP, ch);
		ASSERT_TRUE(amqp_wbuf_ok(&w));
		buf.resize(amqp_wbuf_len(&w));
		Bytes body = canon_bytes(t);
		Bytes want;
		put_be(want, 8 + body.size(), 4);
		want.push_back(2);
		want.push_back(sasl ? 1 : 0);
		put_be(want, ch, 2);
		want.insert(want.end(), body.begin(), body.end());
		ASSERT_EQ(hex(buf, 100), hex(want, 100));
		ASSERT_EQ(buf, want);
		Bytes pb(buf.begin() + 8, buf.end());
		ASSERT_EQ(pn_decode_compare(pb, t), "") << desc->name;
		// Too small an output buffer: overflow, reported once.
		Bytes small(buf.size() - 1);
		amqp_wbuf_init(&w, small.data(), small.size());
		h = amqp_frame_begin(&w);
		amqp_composite_encode(desc, s.p(), &w);
		amqp_frame_end(&w, h, AMQP_FRAME_AMQP, ch);
		ASSERT_FALSE(amqp_wbuf_ok(&w));
	}
}

TEST(AmqpFrame, MaxFrameSizeBoundary)
{
	RR_SEED_TRACE();
	Bytes f(512, 0x40);
	f[0] = 0;
	f[1] = 0;
	f[2] = 2;
	f[3] = 0; // 512
	f[4] = 2;
	f[5] = 0;
	f[6] = f[7] = 0;
	for (size_t n : test_split_sizes()) {
		test_chain ch(f, n);
		struct amqp_cursor c;
		ch.cursor(&c);
		struct amqp_frame fr;
		ASSERT_EQ(amqp_frame_parse(&c, 512, &fr, nullptr), RR_OK);
		EXPECT_EQ(fr.size, 512u);
		EXPECT_EQ(amqp_cur_left(&fr.body), 504u);
		test_chain ch2(f, n);
		ch2.cursor(&c);
		struct amqp_diag d = {};
		EXPECT_EQ(amqp_frame_parse(&c, 511, &fr, &d), RR_E_FRAME_TOO_LARGE);
		EXPECT_EQ(amqp_cur_left(&c), 512u);
	}
}
