// Ethernet II parse/build, MAC helpers, the counter list and the Ethernet
// filters of the rx path (net_eth.h, net_l3_rx).
#include "test_net_l3.h"

#include <set>
#include <string>

using namespace netl3test;

TEST(NetMac, FormatParseRoundTrip)
{
	net_mac m{{0x02, 0xab, 0xcd, 0xef, 0x00, 0x9f}};
	char buf[18];
	net_mac_format(&m, buf, sizeof buf);
	EXPECT_STREQ(buf, "02:ab:cd:ef:00:9f");
	net_mac back{};
	ASSERT_EQ(net_mac_parse(buf, &back), 0);
	EXPECT_TRUE(net_mac_eq(&m, &back));
	ASSERT_EQ(net_mac_parse("02-AB-CD-EF-00-9F", &back), 0);
	EXPECT_TRUE(net_mac_eq(&m, &back));
}

TEST(NetMac, ParseRejectsMalformed)
{
	net_mac m = mk_mac(7);
	const net_mac before = m;
	for (const char *s :
	     {"", "02:ab:cd:ef:00", "02:ab:cd:ef:00:9f:", "02:ab:cd:ef:00:9", "0g:ab:cd:ef:00:9f",
	      "02ab:cd:ef:00:9f:", "02:ab:cd:ef:00:9f0", "02;ab:cd:ef:00:9f"}) {
		EXPECT_EQ(net_mac_parse(s, &m), -1) << s;
		EXPECT_TRUE(net_mac_eq(&m, &before)) << "changed by " << s;
	}
}

TEST(NetMac, Classes)
{
	EXPECT_TRUE(net_mac_is_broadcast(&net_mac_broadcast));
	EXPECT_TRUE(net_mac_is_group(&net_mac_broadcast));
	net_mac mc{{0x01, 0x00, 0x5e, 0, 0, 1}};
	EXPECT_TRUE(net_mac_is_group(&mc));
	EXPECT_FALSE(net_mac_is_broadcast(&mc));
	net_mac uc = mk_mac(1);
	EXPECT_FALSE(net_mac_is_group(&uc));
	EXPECT_FALSE(net_mac_is_zero(&uc));
	EXPECT_TRUE(net_mac_is_zero(&net_mac_zero));
}

TEST(NetEth, ParseUntagged)
{
	Bytes f = eth_frame(mk_mac(1), mk_mac(2), 0x0800, Bytes{1, 2, 3});
	net_eth_view v{};
	ASSERT_EQ(net_eth_parse(f.data(), f.size(), &v), NET_OK);
	net_mac d = mk_mac(1), s = mk_mac(2);
	EXPECT_TRUE(net_mac_eq(&v.dst, &d));
	EXPECT_TRUE(net_mac_eq(&v.src, &s));
	EXPECT_EQ(v.type, 0x0800);
	EXPECT_FALSE(v.vlan);
	EXPECT_EQ(v.hlen, 14u);
	EXPECT_EQ(v.payload, f.data() + 14);
	EXPECT_EQ(v.payload_len, 3u);
}

TEST(NetEth, ParseVlanTagIsUnsupportedButDecoded)
{
	Bytes f;
	put_mac(f, mk_mac(1));
	put_mac(f, mk_mac(2));
	put16(f, 0x8100);
	put16(f, 0xa00b); // PCP 5, VID 11
	put16(f, 0x0806);
	f.resize(f.size() + 28);
	net_eth_view v{};
	EXPECT_EQ(net_eth_parse(f.data(), f.size(), &v), NET_UNSUPPORTED);
	EXPECT_TRUE(v.vlan);
	EXPECT_EQ(v.vlan_tci, 0xa00b);
	EXPECT_EQ(v.type, 0x0806);
	EXPECT_EQ(v.hlen, 18u);
	EXPECT_EQ(v.payload_len, 28u);
	f[12] = 0x88;
	f[13] = 0xa8; // 802.1ad
	EXPECT_EQ(net_eth_parse(f.data(), f.size(), &v), NET_UNSUPPORTED);
	// a strict prefix of the tagged header is short, not unsupported
	for (size_t n = 0; n < 18; n++)
		EXPECT_EQ(net_eth_parse(f.data(), n, &v), NET_SHORT) << n;
}

TEST(NetEth, LengthFieldIsBad)
{
	Bytes f = eth_frame(mk_mac(1), mk_mac(2), 46, Bytes(46, 0)); // 802.3 + LLC
	net_eth_view v{};
	EXPECT_EQ(net_eth_parse(f.data(), f.size(), &v), NET_BAD);
	f[12] = 0x05;
	f[13] = 0xff; // 1535: undefined range
	EXPECT_EQ(net_eth_parse(f.data(), f.size(), &v), NET_BAD);
	f[13] = 0xdc; // 1500
	EXPECT_EQ(net_eth_parse(f.data(), f.size(), &v), NET_BAD);
	f[12] = 0x06;
	f[13] = 0x00; // 0x0600: the first EtherType
	EXPECT_EQ(net_eth_parse(f.data(), f.size(), &v), NET_OK);
}

TEST(NetEth, EveryStrictPrefixOfTheHeaderIsShort)
{
	Bytes f = eth_frame(mk_mac(1), mk_mac(2), 0x0800, Bytes());
	for (size_t n = 0; n < f.size(); n++) {
		net_eth_view v{};
		EXPECT_EQ(net_eth_parse(f.data(), n, &v), NET_SHORT) << n;
	}
}

TEST(NetEth, BuildMatchesParse)
{
	uint8_t buf[64];
	net_mac d = mk_mac(9), s = mk_mac(8);
	ASSERT_EQ(net_eth_build(buf, &d, &s, 0x86dd), 14u);
	Bytes want = eth_frame(d, s, 0x86dd, Bytes());
	EXPECT_EQ(Bytes(buf, buf + 14), want);
}

TEST(NetEth, SendPadsToMinimumAndCounts)
{
	Capture cap;
	net_l3_ops ops{};
	ops.ctx = &cap;
	ops.tx_frame = cap_tx;
	net_l3_counters c{};
	uint8_t buf[NET_ETH_MIN_FRAME];
	memset(buf, 0xee, sizeof buf);
	net_mac d = mk_mac(9), s = mk_mac(8);
	net_eth_build(buf, &d, &s, 0x0806);
	ASSERT_EQ(net_eth_send(&ops, &c, buf, 20), 0);
	ASSERT_EQ(cap.frames.size(), 1u);
	ASSERT_EQ(cap.frames[0].size(), 60u);
	for (size_t i = 20; i < 60; i++)
		EXPECT_EQ(cap.frames[0][i], 0) << i;
	EXPECT_EQ(c.eth_tx, 1u);
	cap.refuse_tx = 1;
	EXPECT_EQ(net_eth_send(&ops, &c, buf, 60), -1);
	EXPECT_EQ(c.eth_tx, 1u);
	EXPECT_EQ(c.eth_tx_fail, 1u);
}

TEST(NetL3Counters, NamesUniqueAndStructInDefOrder)
{
	std::set<std::string> names;
	for (unsigned i = 0; i < NET_L3_C_COUNT; i++) {
		ASSERT_NE(net_l3_counter_names[i], nullptr);
		EXPECT_TRUE(names.insert(net_l3_counter_names[i]).second)
		    << net_l3_counter_names[i];
		EXPECT_GT(strlen(net_l3_counter_descs[i]), 0u);
	}
	EXPECT_EQ(sizeof(net_l3_counters), NET_L3_C_COUNT * sizeof(uint64_t));
	net_l3_counters c{};
	c.arp_conflict = 7;
	c.icmp_rate_limited = 9;
	EXPECT_EQ(net_l3_counter_get(&c, NET_L3_C_arp_conflict), 7u);
	EXPECT_EQ(net_l3_counter_get(&c, NET_L3_C_icmp_rate_limited), 9u);
	EXPECT_STREQ(net_l3_counter_names[NET_L3_C_arp_conflict], "arp_conflict");
}

class NetEthRx : public L3Test
{
};

TEST_F(NetEthRx, ShortFrame)
{
	Bytes f = eth_frame(us, peer, 0x0800, Bytes());
	rx(Bytes(f.begin(), f.begin() + 13));
	EXPECT_EQ(c().eth_rx, 1u);
	EXPECT_EQ(c().eth_rx_short, 1u);
	expect_only({NET_L3_C_eth_rx, NET_L3_C_eth_rx_short});
	EXPECT_TRUE(cap.frames.empty());
}

TEST_F(NetEthRx, OtherUnicastAndMulticastDestinationsDropped)
{
	Bytes req = arp_pkt(1, peer, peer_ip, net_mac_zero, our_ip);
	rx(eth_frame(mk_mac(3), peer, 0x0806, req));
	net_mac mc{{0x01, 0x00, 0x5e, 0, 0, 1}};
	rx(eth_frame(mc, peer, 0x0806, req));
	EXPECT_EQ(c().eth_rx_not_ours, 2u);
	EXPECT_EQ(c().arp_rx, 0u);
	EXPECT_TRUE(cap.frames.empty());
	// the same request broadcast is answered
	rx(eth_frame(net_mac_broadcast, peer, 0x0806, req));
	EXPECT_EQ(c().arp_rx, 1u);
	EXPECT_EQ(cap.frames.size(), 1u);
}

TEST_F(NetEthRx, BadSourceDropped)
{
	Bytes req = arp_pkt(1, peer, peer_ip, net_mac_zero, our_ip);
	net_mac mc{{0x01, 0, 0, 0, 0, 2}};
	rx(eth_frame(net_mac_broadcast, mc, 0x0806, req));
	rx(eth_frame(net_mac_broadcast, us, 0x0806, req));
	EXPECT_EQ(c().eth_rx_bad_src, 2u);
	EXPECT_EQ(c().arp_rx, 0u);
	EXPECT_TRUE(cap.frames.empty());
}

TEST_F(NetEthRx, VlanAndUnknownTypesCounted)
{
	Bytes f;
	put_mac(f, us);
	put_mac(f, peer);
	put16(f, 0x8100);
	put16(f, 5);
	put16(f, 0x0800);
	Bytes ip = ipv4_pkt(peer_ip, our_ip, 6, Bytes(20, 0));
	f.insert(f.end(), ip.begin(), ip.end());
	rx(f);
	EXPECT_EQ(c().eth_rx_vlan, 1u);
	rx(eth_frame(us, peer, 0x86dd, Bytes(40, 0)));
	rx(eth_frame(us, peer, 100, Bytes(100, 0)));
	EXPECT_EQ(c().eth_rx_unknown_type, 2u);
	EXPECT_EQ(c().eth_rx, 3u);
	EXPECT_EQ(c().ip_rx, 0u);
	EXPECT_TRUE(cap.tcp.empty());
}
