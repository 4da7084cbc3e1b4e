// ICMP (net_icmp.h): echo reply per RFC 792, checks, the token bucket,
// destination unreachable generation (RFC 1122 3.2.2 rules).
#include "test_net_l3.h"

using namespace netl3test;

TEST(NetIcmpParse, HeaderAndEveryStrictPrefixShort)
{
	Bytes m = icmp_echo(8, 0x1111, 0x2222, Bytes{1, 2, 3});
	net_icmp_view v{};
	ASSERT_EQ(net_icmp_parse(m.data(), m.size(), &v), NET_OK);
	EXPECT_EQ(v.type, 8);
	EXPECT_EQ(v.code, 0);
	EXPECT_EQ(v.id, 0x1111);
	EXPECT_EQ(v.seq, 0x2222);
	EXPECT_EQ(v.data_len, 3u);
	EXPECT_TRUE(net_icmp_csum_ok(m.data(), m.size()));
	m[10] ^= 1;
	EXPECT_FALSE(net_icmp_csum_ok(m.data(), m.size()));
	for (size_t n = 0; n < 8; n++)
		EXPECT_EQ(net_icmp_parse(m.data(), n, &v), NET_SHORT) << n;
}

TEST(NetIcmpBucket, BurstThenRate)
{
	net_l3_config cfg{};
	cfg.icmp_rate = 10;
	cfg.icmp_burst = 3;
	net_l3_counters c{};
	net_icmp icmp;
	net_icmp_init(&icmp, &cfg, &c);
	const uint64_t t0 = 1000 * SEC;
	for (int i = 0; i < 3; i++)
		EXPECT_TRUE(net_icmp_take_token(&icmp, t0)) << i;
	EXPECT_FALSE(net_icmp_take_token(&icmp, t0));
	EXPECT_FALSE(net_icmp_take_token(&icmp, t0 + 99 * MS));
	EXPECT_TRUE(net_icmp_take_token(&icmp, t0 + 100 * MS)) << "10/s: one token per 100 ms";
	EXPECT_FALSE(net_icmp_take_token(&icmp, t0 + 150 * MS));
	EXPECT_EQ(c.icmp_rate_limited, 3u);
	// a long idle period refills to the burst, not beyond
	for (int i = 0; i < 3; i++)
		EXPECT_TRUE(net_icmp_take_token(&icmp, t0 + 3600 * SEC)) << i;
	EXPECT_FALSE(net_icmp_take_token(&icmp, t0 + 3600 * SEC));
	// a clock that goes back refills nothing and does not wrap
	EXPECT_FALSE(net_icmp_take_token(&icmp, t0));
	EXPECT_FALSE(net_icmp_take_token(&icmp, t0 + 3600 * SEC));
	EXPECT_TRUE(net_icmp_take_token(&icmp, UINT64_MAX));
}

class NetIcmp : public L3Test
{
      protected:
	void resolve_peer()
	{
		rx(eth_frame(us, peer, 0x0806, arp_pkt(2, peer, peer_ip, us, our_ip)));
		cap = Capture();
	}
	Bytes echo_frame(uint16_t id, uint16_t seq, const Bytes &data, uint32_t dst = 0)
	{
		return ip_frame(peer_ip, dst ? dst : our_ip, 1, icmp_echo(8, id, seq, data));
	}
};

TEST_F(NetIcmp, EchoReplyCarriesIdSeqAndData)
{
	resolve_peer();
	Bytes data;
	for (int i = 0; i < 57; i++) // odd length
		data.push_back(uint8_t(i * 7));
	rx(echo_frame(0xabcd, 42, data));
	ASSERT_EQ(cap.frames.size(), 1u);
	const Bytes &f = cap.frames[0];
	net_mac d = mac_at(f, 0);
	EXPECT_TRUE(net_mac_eq(&d, &peer));
	net_ipv4_view v{};
	ASSERT_EQ(net_ipv4_parse(f.data() + 14, f.size() - 14, &v, nullptr), NET_OK);
	EXPECT_EQ(v.src, our_ip);
	EXPECT_EQ(v.dst, peer_ip);
	EXPECT_EQ(v.proto, 1);
	EXPECT_EQ(v.frag, 0x4000);
	Bytes m(v.payload, v.payload + v.payload_len);
	ASSERT_EQ(m.size(), 8u + data.size());
	EXPECT_EQ(m[0], 0) << "echo reply";
	EXPECT_EQ(m[1], 0);
	EXPECT_EQ(ref_csum(m.data(), m.size()), 0);
	EXPECT_EQ(get16(m, 4), 0xabcd);
	EXPECT_EQ(get16(m, 6), 42);
	EXPECT_EQ(Bytes(m.begin() + 8, m.end()), data);
	EXPECT_EQ(c().icmp_rx_echo, 1u);
	EXPECT_EQ(c().icmp_tx_echo_reply, 1u);
}

TEST_F(NetIcmp, EchoToUnresolvedPeerWaitsForArp)
{
	rx(echo_frame(1, 1, Bytes(8, 0)));
	ASSERT_EQ(cap.frames.size(), 1u);
	EXPECT_EQ(get16(cap.frames[0], 12), 0x0806);
	rx(eth_frame(us, peer, 0x0806, arp_pkt(2, peer, peer_ip, us, our_ip)), MS);
	ASSERT_EQ(cap.frames.size(), 2u);
	EXPECT_EQ(get16(cap.frames[1], 12), 0x0800);
	EXPECT_EQ(cap.frames[1][14 + 20], 0);
}

TEST_F(NetIcmp, BadChecksumShortAndBroadcastIgnored)
{
	resolve_peer();
	Bytes m = icmp_echo(8, 1, 1, Bytes(10, 1));
	m[9] ^= 0xff;
	rx(ip_frame(peer_ip, our_ip, 1, m));
	EXPECT_EQ(c().icmp_rx_bad_csum, 1u);
	rx(ip_frame(peer_ip, our_ip, 1, Bytes{8, 0, 0, 0, 0}));
	EXPECT_EQ(c().icmp_rx_short, 1u);
	rx(echo_frame(1, 2, Bytes(8, 0), NET_IPV4(10, 0, 0, 255)));
	rx(echo_frame(1, 3, Bytes(8, 0), 0xffffffffu));
	EXPECT_EQ(c().icmp_rx_echo_bcast, 2u);
	EXPECT_TRUE(cap.frames.empty());
	EXPECT_EQ(c().icmp_rx, 4u);
}

TEST_F(NetIcmp, OtherTypesCounted)
{
	Bytes unreach = icmp_echo(3, 0, 0, Bytes(28, 0));
	unreach[1] = 3;
	unreach[2] = unreach[3] = 0;
	uint16_t cs = ref_csum(unreach.data(), unreach.size());
	unreach[2] = uint8_t(cs >> 8);
	unreach[3] = uint8_t(cs);
	rx(ip_frame(peer_ip, our_ip, 1, unreach));
	rx(ip_frame(peer_ip, our_ip, 1, icmp_echo(0, 5, 5, Bytes(4, 0))));   // a stray reply
	rx(ip_frame(peer_ip, our_ip, 1, icmp_echo(13, 5, 5, Bytes(12, 0)))); // timestamp
	EXPECT_EQ(c().icmp_rx_unreach, 1u);
	EXPECT_EQ(c().icmp_rx_other, 2u);
	EXPECT_TRUE(cap.frames.empty());
}

class NetIcmpLimited : public NetIcmp
{
	void tune(net_l3_config &c) override
	{
		c.icmp_rate = 2;
		c.icmp_burst = 2;
	}
};

TEST_F(NetIcmpLimited, EchoRepliesAreRateLimited)
{
	resolve_peer();
	const uint64_t t0 = 5 * SEC;
	for (uint16_t i = 0; i < 5; i++)
		rx(echo_frame(7, i, Bytes(8, 0)), t0);
	EXPECT_EQ(cap.frames.size(), 2u);
	EXPECT_EQ(c().icmp_rate_limited, 3u);
	rx(echo_frame(7, 9, Bytes(8, 0)), t0 + 500 * MS);
	EXPECT_EQ(cap.frames.size(), 3u);
	EXPECT_EQ(get16(cap.frames[2], 14 + 20 + 6), 9);
}

TEST_F(NetIcmp, PortUnreachableQuotesTheDatagram)
{
	resolve_peer();
	Bytes orig = ipv4_pkt(peer_ip, our_ip, 6, Bytes(20, 0x77));
	ASSERT_TRUE(net_l3_send_unreach(l3, 0, NET_ICMP_UNREACH_PORT, orig.data(), orig.size()));
	ASSERT_EQ(cap.frames.size(), 1u);
	const Bytes &f = cap.frames[0];
	net_ipv4_view v{};
	ASSERT_EQ(net_ipv4_parse(f.data() + 14, f.size() - 14, &v, nullptr), NET_OK);
	EXPECT_EQ(v.src, our_ip);
	EXPECT_EQ(v.dst, peer_ip);
	EXPECT_EQ(v.proto, 1);
	Bytes m(v.payload, v.payload + v.payload_len);
	EXPECT_EQ(m.at(0), 3);
	EXPECT_EQ(m.at(1), 3);
	EXPECT_EQ(get32(m, 4), 0u);
	EXPECT_EQ(ref_csum(m.data(), m.size()), 0);
	EXPECT_EQ(Bytes(m.begin() + 8, m.end()), orig);
	EXPECT_EQ(c().icmp_tx_unreach, 1u);
}

TEST_F(NetIcmp, UnreachableQuoteCappedAndPaddingNotQuoted)
{
	resolve_peer();
	Bytes orig = ipv4_pkt(peer_ip, our_ip, 6, Bytes(1000, 1));
	ASSERT_TRUE(net_l3_send_unreach(l3, 0, NET_ICMP_UNREACH_PORT, orig.data(), orig.size()));
	EXPECT_EQ(get16(cap.frames.at(0), 14 + 2), 576) << "RFC 1812 4.3.2.3";
	Bytes small = ipv4_pkt(peer_ip, our_ip, 6, Bytes(20, 1));
	Bytes padded = small;
	padded.resize(46, 0xee);
	ASSERT_TRUE(
	    net_l3_send_unreach(l3, 0, NET_ICMP_UNREACH_PORT, padded.data(), padded.size()));
	EXPECT_EQ(get16(cap.frames.at(1), 14 + 2), 20 + 8 + 40);
}

TEST_F(NetIcmp, NoUnreachableWhereRfc1122ForbidsIt)
{
	resolve_peer();
	const uint8_t code = NET_ICMP_UNREACH_PORT;
	Bytes to_bcast = ipv4_pkt(peer_ip, NET_IPV4(10, 0, 0, 255), 17, Bytes(8, 0));
	EXPECT_FALSE(net_l3_send_unreach(l3, 0, code, to_bcast.data(), to_bcast.size()));
	Bytes from_mcast = ipv4_pkt(NET_IPV4(224, 0, 0, 5), our_ip, 17, Bytes(8, 0));
	EXPECT_FALSE(net_l3_send_unreach(l3, 0, code, from_mcast.data(), from_mcast.size()));
	IpOpts o;
	o.frag = 0x0010;
	Bytes frag = ipv4_pkt(peer_ip, our_ip, 17, Bytes(8, 0), o);
	EXPECT_FALSE(net_l3_send_unreach(l3, 0, code, frag.data(), frag.size()));
	Bytes err = icmp_echo(3, 0, 0, Bytes(28, 0));
	Bytes about_err = ipv4_pkt(peer_ip, our_ip, 1, err);
	EXPECT_FALSE(net_l3_send_unreach(l3, 0, code, about_err.data(), about_err.size()));
	Bytes truncated = ipv4_pkt(peer_ip, our_ip, 6, Bytes(20, 0));
	EXPECT_FALSE(net_l3_send_unreach(l3, 0, code, truncated.data(), 30));
	EXPECT_TRUE(cap.frames.empty());
	EXPECT_EQ(c().icmp_tx_unreach, 0u);
	// an echo request may be answered with one (it is not an error)
	Bytes about_echo = ipv4_pkt(peer_ip, our_ip, 1, icmp_echo(8, 1, 1, Bytes()));
	EXPECT_TRUE(net_l3_send_unreach(l3, 0, code, about_echo.data(), about_echo.size()));
}

TEST_F(NetIcmp, EveryStrictPrefixOfAnEchoHasNoEffectButACount)
{
	Bytes f = echo_frame(3, 4, Bytes(13, 5));
	for (size_t n = 14; n < f.size(); n++) {
		reinit();
		rx(Bytes(f.begin(), f.begin() + long(n)));
		EXPECT_TRUE(cap.frames.empty()) << n;
		expect_only({NET_L3_C_eth_rx, NET_L3_C_ip_rx, NET_L3_C_ip_rx_short});
	}
}
