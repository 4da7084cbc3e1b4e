// Shared pieces of the Ethernet/ARP/IPv4/ICMP tests (test_net_eth/arp/
// ipv4/icmp.cpp): an interface with a capturing output (frames, events,
// TCP segments), and builders of the frames a peer would send, written
// from the RFC layouts independently of the code under test.
#ifndef TEST_NET_L3_H
#define TEST_NET_L3_H

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <functional>
#include <vector>

#include "net_csum.h"
#include "net_ipv4.h"

namespace netl3test
{

using Bytes = std::vector<uint8_t>;

struct TcpSeg {
	uint32_t src, dst;
	Bytes seg;
	uint64_t now;
};

struct Capture {
	std::vector<Bytes> frames;
	std::vector<net_l3_event> events;
	std::vector<TcpSeg> tcp;
	int refuse_tx = 0;				    // refuse this many next tx calls
	std::function<void(const net_l3_event &)> on_event; // runs inside the callback
};

inline int cap_tx(void *ctx, const uint8_t *f, size_t len)
{
	Capture *c = static_cast<Capture *>(ctx);
	if (c->refuse_tx > 0) {
		c->refuse_tx--;
		return -1;
	}
	c->frames.emplace_back(f, f + len);
	return 0;
}

inline void cap_tcp(void *ctx, uint32_t src, uint32_t dst, const uint8_t *seg, size_t len,
		    uint64_t now)
{
	static_cast<Capture *>(ctx)->tcp.push_back(TcpSeg{src, dst, Bytes(seg, seg + len), now});
}

inline void cap_event(void *ctx, const net_l3_event *ev)
{
	Capture *c = static_cast<Capture *>(ctx);
	c->events.push_back(*ev);
	if (c->on_event)
		c->on_event(*ev);
}

inline void put16(Bytes &b, uint16_t v)
{
	b.push_back(uint8_t(v >> 8));
	b.push_back(uint8_t(v));
}

inline void put32(Bytes &b, uint32_t v)
{
	put16(b, uint16_t(v >> 16));
	put16(b, uint16_t(v));
}

inline uint16_t get16(const Bytes &b, size_t off)
{
	return uint16_t(b.at(off) << 8 | b.at(off + 1));
}

inline uint32_t get32(const Bytes &b, size_t off)
{
	return uint32_t(get16(b, off)) << 16 | get16(b, off + 2);
}

inline void put_mac(Bytes &b, const net_mac &m)
{
	b.insert(b.end(), m.b, m.b + 6);
}

inline net_mac mac_at(const Bytes &b, size_t off)
{
	net_mac m;
	memcpy(m.b, b.data() + off, 6);
	return m;
}

inline net_mac mk_mac(uint8_t last)
{
	return net_mac{{0x02, 0, 0, 0, 0, last}};
}

// RFC 1071, straightforward: sum of 16-bit words, odd byte padded, folded.
inline uint16_t ref_csum(const uint8_t *p, size_t n)
{
	uint32_t s = 0;
	for (size_t i = 0; i + 1 < n; i += 2)
		s += uint32_t(p[i] << 8 | p[i + 1]);
	if (n & 1)
		s += uint32_t(p[n - 1] << 8);
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return uint16_t(~s);
}

inline Bytes eth_frame(const net_mac &dst, const net_mac &src, uint16_t type, const Bytes &payload)
{
	Bytes b;
	put_mac(b, dst);
	put_mac(b, src);
	put16(b, type);
	b.insert(b.end(), payload.begin(), payload.end());
	return b;
}

inline Bytes arp_pkt(uint16_t op, const net_mac &sha, uint32_t spa, const net_mac &tha,
		     uint32_t tpa)
{
	Bytes b;
	put16(b, 1);
	put16(b, 0x0800);
	b.push_back(6);
	b.push_back(4);
	put16(b, op);
	put_mac(b, sha);
	put32(b, spa);
	put_mac(b, tha);
	put32(b, tpa);
	return b;
}

struct IpOpts {
	uint8_t ttl = 64;
	uint16_t frag = 0x4000; // DF
	uint16_t id = 0x1234;
	Bytes options; // multiple of 4 bytes
	int version = 4;
	bool bad_csum = false;
};

inline Bytes ipv4_pkt(uint32_t src, uint32_t dst, uint8_t proto, const Bytes &payload,
		      const IpOpts &o = IpOpts())
{
	Bytes b;
	size_t hlen = 20 + o.options.size();
	b.push_back(uint8_t(o.version << 4 | (hlen / 4)));
	b.push_back(0);
	put16(b, uint16_t(hlen + payload.size()));
	put16(b, o.id);
	put16(b, o.frag);
	b.push_back(o.ttl);
	b.push_back(proto);
	put16(b, 0);
	put32(b, src);
	put32(b, dst);
	b.insert(b.end(), o.options.begin(), o.options.end());
	uint16_t cs = ref_csum(b.data(), hlen);
	if (o.bad_csum)
		cs ^= 0x0101;
	b[10] = uint8_t(cs >> 8);
	b[11] = uint8_t(cs);
	b.insert(b.end(), payload.begin(), payload.end());
	return b;
}

inline Bytes icmp_echo(uint8_t type, uint16_t id, uint16_t seq, const Bytes &data)
{
	Bytes b;
	b.push_back(type);
	b.push_back(0);
	put16(b, 0);
	put16(b, id);
	put16(b, seq);
	b.insert(b.end(), data.begin(), data.end());
	uint16_t cs = ref_csum(b.data(), b.size());
	b[2] = uint8_t(cs >> 8);
	b[3] = uint8_t(cs);
	return b;
}

constexpr uint64_t MS = 1000000ull;
constexpr uint64_t SEC = 1000000000ull;

// An interface 10.0.0.1/24 (02:00:00:00:00:01), gateway 10.0.0.254, and a
// peer 10.0.0.2 (02:00:00:00:00:02).
class L3Test : public ::testing::Test
{
      protected:
	net_l3 *l3 = nullptr;
	Capture cap;
	net_l3_config cfg{};
	net_l3_ops ops{};
	const net_mac us = mk_mac(1), peer = mk_mac(2);
	const uint32_t our_ip = NET_IPV4(10, 0, 0, 1), peer_ip = NET_IPV4(10, 0, 0, 2);
	const uint32_t gw_ip = NET_IPV4(10, 0, 0, 254);

	void SetUp() override
	{
		cfg.mac = us;
		cfg.addrs[0] = net_l3_addr{our_ip, 24};
		cfg.n_addrs = 1;
		cfg.gateway = gw_ip;
		ops.ctx = &cap;
		ops.tx_frame = cap_tx;
		ops.tcp_rx = cap_tcp;
		ops.event = cap_event;
		tune(cfg);
		l3 = new net_l3;
		net_l3_init(l3, &cfg, &ops);
	}
	void TearDown() override { delete l3; }
	virtual void tune(net_l3_config &) {}

	void reinit()
	{
		net_l3_init(l3, &cfg, &ops);
		cap = Capture();
	}
	void rx(const Bytes &f, uint64_t now = 0) { net_l3_rx(l3, now, f.data(), f.size()); }
	// an IPv4 frame from the peer to us
	Bytes ip_frame(uint32_t src, uint32_t dst, uint8_t proto, const Bytes &payload,
		       const IpOpts &o = IpOpts())
	{
		return eth_frame(us, peer, 0x0800, ipv4_pkt(src, dst, proto, payload, o));
	}
	const net_l3_counters &c() const { return l3->c; }
	uint64_t total_counts() const
	{
		uint64_t s = 0;
		for (unsigned i = 0; i < NET_L3_C_COUNT; i++)
			s += net_l3_counter_get(&l3->c, i);
		return s;
	}
	// every counter but the named ones is 0
	void expect_only(std::initializer_list<unsigned> ids)
	{
		for (unsigned i = 0; i < NET_L3_C_COUNT; i++) {
			bool named = false;
			for (unsigned id : ids)
				named |= (id == i);
			if (!named) {
				EXPECT_EQ(net_l3_counter_get(&l3->c, i), 0u)
				    << net_l3_counter_names[i];
			}
		}
	}
};

} // namespace netl3test

#endif
