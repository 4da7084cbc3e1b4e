// dataplane/net TCP header/option decoder and encoder (RFC 9293 3.1-3.2,
// RFC 7323, RFC 2018): every prefix, malformed lengths, unknown options,
// round trips; and a seeded random-segment run against live connections
// (no crash, accounting intact: ASan/UBSan builds make it strict).
#include "test_net_tcp_harness.h"

#include <random>

using namespace tcpt;

static const std::string &pattern_bytes()
{
	static std::string s = [] {
		std::string x(8000, 0);
		for (size_t i = 0; i < x.size(); i++)
			x[i] = (char)(i * 13);
		return x;
	}();
	return s;
}

static std::vector<uint8_t> hdr_with_opts(const std::vector<uint8_t> &opts)
{
	std::vector<uint8_t> h;
	h.reserve(64);
	for (int i = 0; i < 20; i++)
		h.push_back(0);
	for (uint8_t b : opts)
		h.push_back(b);
	while (h.size() % 4)
		h.push_back(0);
	h[12] = (uint8_t)((h.size() / 4) << 4);
	h[13] = ACK;
	return h;
}

TEST(NetTcpOpt, EveryPrefixOfAHeader)
{
	auto seg = S(SYN).seq(77).mss(1400).sackok().ts(5, 6).ws(9).data("xyz").build(1, 2);
	net_tcp_hdr h;
	size_t hlen = (seg[12] >> 4) * 4u;
	EXPECT_EQ(hlen, 44u);
	for (size_t n = 0; n < seg.size(); n++) {
		// copy into an exact-size buffer so ASan catches any over-read
		std::vector<uint8_t> p(seg.begin(), seg.begin() + n);
		int r = net_tcp_parse(p.data(), p.size(), &h);
		if (n < hlen) {
			EXPECT_EQ(r, -1) << n; // shorter than the data offset says
		} else {
			EXPECT_EQ(r, 0) << n;
			EXPECT_EQ(h.dlen, n - hlen);
		}
	}
	ASSERT_EQ(net_tcp_parse(seg.data(), seg.size(), &h), 0);
	EXPECT_EQ(h.seq, 77u);
	EXPECT_TRUE(h.has_mss && h.sack_perm && h.has_ts && h.has_ws);
	EXPECT_EQ(h.mss, 1400);
	EXPECT_EQ(h.ws, 9);
	EXPECT_EQ(h.tsval, 5u);
	EXPECT_EQ(h.tsecr, 6u);
	EXPECT_EQ(h.dlen, 3u);
	EXPECT_FALSE(h.bad_opt);
}

TEST(NetTcpOpt, MalformedOptions)
{
	net_tcp_hdr h;
	// data offset below 5
	auto b = hdr_with_opts({});
	b[12] = 4 << 4;
	EXPECT_EQ(net_tcp_parse(b.data(), b.size(), &h), -1);
	// length 0 and 1: malformed, decoding stops
	for (uint8_t l : {0, 1}) {
		auto x = hdr_with_opts({NET_TCPOPT_MSS, l, 5, 0xb4});
		ASSERT_EQ(net_tcp_parse(x.data(), x.size(), &h), 0);
		EXPECT_TRUE(h.bad_opt);
		EXPECT_FALSE(h.has_mss);
	}
	// length beyond the header
	auto y = hdr_with_opts({NET_TCPOPT_NOP, NET_TCPOPT_TS, 10, 1, 2, 3, 4, 5});
	ASSERT_EQ(net_tcp_parse(y.data(), y.size(), &h), 0);
	EXPECT_TRUE(h.bad_opt);
	EXPECT_FALSE(h.has_ts);
	// a wrong fixed length is skipped, the next option still read
	auto z = hdr_with_opts({NET_TCPOPT_MSS, 3, 5, NET_TCPOPT_WS, 3, 4});
	ASSERT_EQ(net_tcp_parse(z.data(), z.size(), &h), 0);
	EXPECT_TRUE(h.bad_opt);
	EXPECT_FALSE(h.has_mss);
	EXPECT_TRUE(h.has_ws);
	EXPECT_EQ(h.ws, 4);
	// unknown option skipped by its length; EOL ends the list
	auto u = hdr_with_opts({99, 4, 0, 0, NET_TCPOPT_SACK_PERM, 2, NET_TCPOPT_EOL,
				NET_TCPOPT_WS, 3, 1});
	ASSERT_EQ(net_tcp_parse(u.data(), u.size(), &h), 0);
	EXPECT_FALSE(h.bad_opt);
	EXPECT_TRUE(h.sack_perm);
	EXPECT_FALSE(h.has_ws);
	// SACK: 4 blocks taken, a length not 2 + 8n rejected
	std::vector<uint8_t> sk = {NET_TCPOPT_NOP, NET_TCPOPT_NOP, NET_TCPOPT_SACK, 34};
	for (int i = 0; i < 8; i++) {
		sk.push_back(0);
		sk.push_back(0);
		sk.push_back(0);
		sk.push_back((uint8_t)(i + 1));
	}
	auto s4 = hdr_with_opts(sk);
	ASSERT_EQ(net_tcp_parse(s4.data(), s4.size(), &h), 0);
	EXPECT_EQ(h.nsack, 4);
	EXPECT_EQ(h.sack[3].start, 7u);
	EXPECT_EQ(h.sack[3].end, 8u);
	auto s5 = hdr_with_opts({NET_TCPOPT_SACK, 9, 0, 0, 0, 1, 0, 0, 0});
	ASSERT_EQ(net_tcp_parse(s5.data(), s5.size(), &h), 0);
	EXPECT_TRUE(h.bad_opt);
	EXPECT_EQ(h.nsack, 0);
}

TEST(NetTcpOpt, BuildRoundTrips)
{
	uint8_t out[40];
	net_tcp_sack_blk blks[4] = {{1, 2}, {3, 4}, {5, 6}, {7, 8}};
	struct Case {
		bool syn, sack_perm, ts;
		int ws;
		uint8_t nsack;
	} cases[] = {{true, true, true, 7, 0},  {true, false, false, -1, 0}, {true, true, false, 0, 0},
		     {true, false, true, 14, 0}, {false, false, true, -1, 4},  {false, false, false, -1, 4},
		     {false, false, true, -1, 1}, {false, false, false, -1, 0}};
	for (auto &k : cases) {
		net_tcp_optout o{};
		o.syn = k.syn;
		o.mss = 1234;
		o.ws = k.ws;
		o.sack_perm = k.sack_perm;
		o.ts = k.ts;
		o.tsval = 0xdeadbeef;
		o.tsecr = 0x01020304;
		o.nsack = k.nsack;
		o.sack = blks;
		unsigned n = net_tcp_opt_build(out, &o);
		ASSERT_LE(n, 40u);
		EXPECT_EQ(n % 4, 0u);
		auto h0 = hdr_with_opts(std::vector<uint8_t>(out, out + n));
		net_tcp_hdr h;
		ASSERT_EQ(net_tcp_parse(h0.data(), h0.size(), &h), 0);
		EXPECT_FALSE(h.bad_opt);
		EXPECT_EQ(h.has_mss, k.syn);
		if (k.syn) {
			EXPECT_EQ(h.mss, 1234);
		}
		EXPECT_EQ(h.sack_perm, k.syn && k.sack_perm);
		EXPECT_EQ(h.has_ws, k.syn && k.ws >= 0);
		EXPECT_EQ(h.has_ts, k.ts);
		if (k.ts) {
			EXPECT_EQ(h.tsval, 0xdeadbeefu);
			EXPECT_EQ(h.tsecr, 0x01020304u);
		}
		// with timestamps only 3 SACK blocks fit in 40 bytes
		unsigned want = k.syn ? 0 : (k.ts ? std::min<unsigned>(k.nsack, 3) : k.nsack);
		EXPECT_EQ(h.nsack, want);
	}
}

// Random segments (valid checksums, plausible and implausible fields)
// thrown at a listener and at live connections in several states.
TEST_F(TcpTest, RandomSegmentsKeepAccounting)
{
	start(8, 256, 512);
	std::mt19937 rng(12345);
	handshake_passive();
	net_tcp_conn *c = conn();
	net_tcp_send(&H.st, c, pattern_bytes().data(), 4000);
	net_tcp_flush(&H.st, c, now);
	uint32_t base_ack = c->snd_una, base_seq = c->rcv_nxt;
	for (int i = 0; i < 20000; i++) {
		uint8_t flags = (uint8_t)(rng() & 0x3f);
		S s(flags);
		uint32_t near = (rng() % 3 == 0) ? (uint32_t)rng() : (uint32_t)(rng() % 20000) - 10000;
		s.seq(base_seq + near).ack(base_ack + (uint32_t)(rng() % 10000) - 2000);
		s.win((uint16_t)rng());
		s.ports((uint16_t)(RPORT + rng() % 3), LPORT);
		if (rng() % 2)
			s.ts((uint32_t)rng(), (uint32_t)rng());
		if (rng() % 3 == 0)
			s.sack(base_ack + rng() % 8000, base_ack + rng() % 8000);
		if (rng() % 4 == 0)
			s.mss((int)(rng() % 65536)).ws((int)(rng() % 20));
		if (rng() % 2)
			s.data(rng() % 1600, (char)('a' + rng() % 26));
		in(s);
		if (rng() % 50 == 0)
			advance(rng() % 300000);
		H.out.clear();
		if (H.st.nfree == H.st.nconns && rng() % 4 == 0)
			handshake_passive(base_seq = (uint32_t)rng());
		if ((c = conn()) != nullptr && c->state >= NET_TCP_ESTABLISHED) {
			base_ack = c->snd_una;
			base_seq = c->rcv_nxt;
		}
		net_tcp_unlisten(&H.st, LPORT);
	}
	// drain everything: every block and connection comes back
	for (auto &x : H.conns)
		if (x.state != NET_TCP_CLOSED)
			net_tcp_abort(&H.st, &x, now);
	EXPECT_EQ(H.st.nfree, H.st.nconns);
	EXPECT_EQ(H.pool.nfree, H.pool.nblocks);
	EXPECT_EQ(H.st.wheel.armed, 0u);
	EXPECT_EQ(H.lookup.size(), 0u);
}
