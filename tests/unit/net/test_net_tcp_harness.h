// A packetdrill-like harness for dataplane/net TCP: build segments from a
// remote peer, feed them with a fake clock, collect what the stack emits
// (decoded back, checksum verified) and the events it raises.
#pragma once

#include <gtest/gtest.h>

#include <cstring>
#include <deque>
#include <functional>
#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "net_csum.h"
#include "net_tcp.h"
#include "net_tcp_impl.h"

namespace tcpt {

constexpr uint32_t LADDR = 0x0a000001; // the stack under test
constexpr uint32_t RADDR = 0x0a000002; // the scripted peer
constexpr uint16_t LPORT = 5672;
constexpr uint16_t RPORT = 40000;

enum : uint8_t {
	FIN = NET_TH_FIN,
	SYN = NET_TH_SYN,
	RST = NET_TH_RST,
	PSH = NET_TH_PSH,
	ACK = NET_TH_ACK,
};

// A segment as the peer sends it.
struct S {
	uint8_t fl = 0;
	uint32_t seq_ = 0, ack_ = 0;
	uint16_t win_ = 65535;
	int mss_ = -1, ws_ = -1;
	bool sackok_ = false, ts_ = false;
	uint32_t tsval_ = 0, tsecr_ = 0;
	std::vector<net_tcp_sack_blk> sack_;
	std::string data_;
	uint16_t sport_ = RPORT, dport_ = LPORT;
	bool bad_csum_ = false;
	explicit S(uint8_t f) : fl(f) {}
	S &seq(uint32_t v) { seq_ = v; return *this; }
	S &ack(uint32_t v) { ack_ = v; return *this; }
	S &win(uint16_t v) { win_ = v; return *this; }
	S &mss(int v) { mss_ = v; return *this; }
	S &ws(int v) { ws_ = v; return *this; }
	S &sackok() { sackok_ = true; return *this; }
	S &ts(uint32_t v, uint32_t e) { ts_ = true; tsval_ = v; tsecr_ = e; return *this; }
	S &sack(uint32_t a, uint32_t b) { sack_.push_back({a, b}); return *this; }
	S &data(const std::string &d) { data_ = d; return *this; }
	S &data(size_t n, char c = 'x') { data_ = std::string(n, c); return *this; }
	S &ports(uint16_t sp, uint16_t dp) { sport_ = sp; dport_ = dp; return *this; }
	S &badcsum() { bad_csum_ = true; return *this; }

	std::vector<uint8_t> build(uint32_t src, uint32_t dst) const
	{
		std::vector<uint8_t> o;
		auto u8 = [&](unsigned v) { o.push_back((uint8_t)v); };
		auto u16 = [&](unsigned v) { u8(v >> 8); u8(v); };
		auto u32 = [&](uint32_t v) { u16(v >> 16); u16(v & 0xffff); };
		u16(sport_);
		u16(dport_);
		u32(seq_);
		u32(ack_);
		u8(0);
		u8(fl);
		u16(win_);
		u16(0);
		u16(0);
		if (mss_ >= 0) { u8(2); u8(4); u16(mss_); }
		if (sackok_) { u8(1); u8(1); u8(4); u8(2); }
		if (ts_) { u8(1); u8(1); u8(8); u8(10); u32(tsval_); u32(tsecr_); }
		if (ws_ >= 0) { u8(1); u8(3); u8(3); u8(ws_); }
		if (!sack_.empty()) {
			u8(1); u8(1); u8(5); u8(2 + 8 * sack_.size());
			for (auto &b : sack_) { u32(b.start); u32(b.end); }
		}
		while (o.size() % 4)
			u8(0);
		o[12] = (uint8_t)((o.size() / 4) << 4);
		o.insert(o.end(), data_.begin(), data_.end());
		struct net_csum c;
		net_csum_init(&c);
		net_csum_pseudo4(&c, src, dst, 6, (uint16_t)o.size());
		net_csum_add(&c, o.data(), o.size());
		uint16_t ck = net_csum_finish(&c);
		if (bad_csum_)
			ck ^= 0x5555;
		net_put16(o.data() + 16, ck);
		return o;
	}
};

// A segment the stack emitted, decoded.
struct Out {
	uint32_t saddr = 0, daddr = 0;
	net_tcp_hdr h{};
	std::vector<uint8_t> raw;
	std::string data;
	bool csum_ok = false;
	net_tcp_conn *conn = nullptr;
	uint32_t seq() const { return h.seq; }
	uint32_t ack() const { return h.ack; }
	uint8_t flags() const { return h.flags; }
	uint16_t win() const { return h.win; }
};

struct Ev {
	net_tcp_conn *c;
	net_tcp_event ev;
	net_tcp_close_reason why;
};

inline std::string flagstr(uint8_t f)
{
	std::string s;
	if (f & SYN) s += "S";
	if (f & FIN) s += "F";
	if (f & RST) s += "R";
	if (f & PSH) s += "P";
	if (f & ACK) s += ".";
	return s;
}

// One stack with its memory, lookup table and captured outputs.
struct Host {
	net_tcp_cfg cfg;
	net_tcp_stack st;
	std::vector<net_tcp_conn> conns;
	std::vector<uint8_t> poolmem;
	net_tcp_pool pool;
	std::vector<uint32_t> heads;
	std::deque<Out> out;
	std::vector<Ev> evs;
	std::map<net_tcp_conn *, std::string> rcvd;
	size_t accept_limit = SIZE_MAX; // per recv call
	bool keep_out = true;
	std::function<void(const net_tcp_seg_out *)> on_output;
	std::function<void(net_tcp_conn *, net_tcp_event)> on_event;
	std::function<size_t(net_tcp_conn *, const uint8_t *, size_t)> on_recv;
	// the driver's lookup: (laddr, lport, raddr, rport) -> conn
	std::map<std::tuple<uint32_t, uint16_t, uint32_t, uint16_t>, net_tcp_conn *> lookup;

	static void cb_output(void *ctx, const net_tcp_seg_out *so)
	{
		Host *h = (Host *)ctx;
		if (h->on_output)
			h->on_output(so);
		if (!h->keep_out)
			return;
		Out o;
		o.saddr = so->saddr;
		o.daddr = so->daddr;
		o.conn = so->conn;
		o.raw.assign(so->hdr, so->hdr + so->hdr_len);
		uint32_t n = 0;
		for (unsigned i = 0; i < so->iovcnt; i++) {
			o.raw.insert(o.raw.end(), so->iov[i].base, so->iov[i].base + so->iov[i].len);
			n += so->iov[i].len;
		}
		EXPECT_EQ(n, so->payload_len);
		struct net_csum c;
		net_csum_init(&c);
		net_csum_pseudo4(&c, so->saddr, so->daddr, 6, (uint16_t)o.raw.size());
		net_csum_add(&c, o.raw.data(), o.raw.size());
		o.csum_ok = net_csum_finish(&c) == 0;
		EXPECT_EQ(net_tcp_parse(o.raw.data(), o.raw.size(), &o.h), 0);
		EXPECT_FALSE(o.h.bad_opt);
		o.data.assign((const char *)o.h.data, o.h.dlen);
		o.h.data = nullptr;
		h->out.push_back(o);
	}
	static size_t cb_recv(void *ctx, net_tcp_conn *c, const uint8_t *p, size_t len)
	{
		Host *h = (Host *)ctx;
		if (h->on_recv)
			return h->on_recv(c, p, len);
		size_t n = len < h->accept_limit ? len : h->accept_limit;
		h->rcvd[c].append((const char *)p, n);
		return n;
	}
	static void cb_event(void *ctx, net_tcp_conn *c, net_tcp_event ev, net_tcp_close_reason why)
	{
		Host *h = (Host *)ctx;
		h->evs.push_back({c, ev, why});
		if (ev == NET_TCP_EV_NEW)
			h->lookup[{c->laddr, c->lport, c->raddr, c->rport}] = c;
		if (ev == NET_TCP_EV_FREE)
			h->lookup.erase({c->laddr, c->lport, c->raddr, c->rport});
		if (h->on_event)
			h->on_event(c, ev);
	}

	void init(const net_tcp_cfg &c, uint32_t nconns = 16, uint32_t nblocks = 1024,
		  uint32_t bsize = 2048, uint64_t now = 1000000)
	{
		cfg = c;
		conns.resize(nconns);
		poolmem.resize(net_tcp_pool_mem_size(nblocks, bsize));
		ASSERT_EQ(net_tcp_pool_init(&pool, poolmem.data(), poolmem.size(), bsize), 0);
		heads.resize(4096 + 1);
		net_tcp_ops ops = {cb_output, cb_recv, cb_event};
		ASSERT_EQ(net_tcp_stack_init(&st, &cfg, &ops, this, conns.data(), nconns, &pool,
					     heads.data(), 4096, now),
			  0);
	}
	net_tcp_conn *find(uint32_t laddr, uint16_t lport, uint32_t raddr, uint16_t rport)
	{
		auto it = lookup.find({laddr, lport, raddr, rport});
		return it == lookup.end() ? nullptr : it->second;
	}
	net_tcp_conn *connect(uint32_t laddr, uint16_t lport, uint32_t raddr, uint16_t rport,
			      uint64_t now)
	{
		net_tcp_conn *c = net_tcp_connect(&st, laddr, lport, raddr, rport, 0, now);
		if (c)
			lookup[{laddr, lport, raddr, rport}] = c;
		return c;
	}
	// deliver raw bytes as the driver would
	void input(uint32_t src, uint32_t dst, const uint8_t *p, size_t n, uint64_t now)
	{
		net_tcp_hdr h;
		net_tcp_conn *c = nullptr;
		if (net_tcp_parse(p, n, &h) == 0)
			c = find(dst, h.dport, src, h.sport);
		net_tcp_input(&st, c, src, dst, p, n, now);
	}
	uint64_t ctr(net_tcp_counter_id id) const { return st.counters[id]; }
	size_t count_ev(net_tcp_event e) const
	{
		size_t n = 0;
		for (auto &x : evs)
			n += x.ev == e;
		return n;
	}
};

// Fixture: the stack under test plus a scripted peer at RADDR:RPORT.
class TcpTest : public ::testing::Test {
      protected:
	Host H;
	uint64_t now = 1000000; // µs
	net_tcp_cfg cfg;

	void SetUp() override
	{
		net_tcp_cfg_default(&cfg);
		for (int i = 0; i < 16; i++)
			cfg.isn_key[i] = (uint8_t)(i * 7 + 1);
	}
	void start(uint32_t nconns = 16, uint32_t nblocks = 1024, uint32_t bsize = 2048)
	{
		H.init(cfg, nconns, nblocks, bsize, now);
	}
	void in(const S &s)
	{
		auto b = s.build(RADDR, LADDR);
		H.input(RADDR, LADDR, b.data(), b.size(), now);
	}
	void advance(uint64_t us)
	{
		now += us;
		net_tcp_advance(&H.st, now);
	}
	// step the clock in 1 ms increments up to us (timers fire on time)
	void run_for(uint64_t us)
	{
		uint64_t end = now + us;
		while (now < end)
			advance(std::min<uint64_t>(1000, end - now));
	}
	Out pop()
	{
		EXPECT_FALSE(H.out.empty()) << "no segment was sent";
		if (H.out.empty())
			return Out{};
		Out o = H.out.front();
		H.out.pop_front();
		EXPECT_TRUE(o.csum_ok);
		return o;
	}
	// expect the next output's flags exactly
	Out expect(uint8_t flags)
	{
		Out o = pop();
		EXPECT_EQ(flagstr(o.flags()), flagstr(flags));
		return o;
	}
	void no_output()
	{
		EXPECT_TRUE(H.out.empty()) << H.out.size() << " unexpected segment(s), first "
					   << (H.out.empty() ? "" : flagstr(H.out.front().flags()))
					   << " seq " << (H.out.empty() ? 0 : H.out.front().seq());
		H.out.clear();
	}
	net_tcp_conn *conn() { return H.find(LADDR, LPORT, RADDR, RPORT); }

	// Passive open to ESTABLISHED. peer ISN irs; returns our ISS.
	uint32_t handshake_passive(uint32_t irs = 1000, bool opts = true, uint16_t mss = 1460,
				   int ws = 7)
	{
		EXPECT_GE(net_tcp_listen(&H.st, 0, LPORT, 8), 0);
		S syn(SYN);
		syn.seq(irs).win(65535);
		if (opts) {
			syn.mss(mss).sackok().ts(100, 0);
			if (ws >= 0)
				syn.ws(ws);
		}
		in(syn);
		Out sa = expect(SYN | ACK);
		EXPECT_EQ(sa.ack(), irs + 1);
		S a(ACK);
		a.seq(irs + 1).ack(sa.seq() + 1).win(65535);
		if (opts)
			a.ts(101, sa.h.tsval);
		in(a);
		EXPECT_EQ(conn() ? conn()->state : -1, NET_TCP_ESTABLISHED);
		no_output();
		return sa.seq();
	}
};

} // namespace tcpt
