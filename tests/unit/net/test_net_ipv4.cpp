// IPv4 (net_ipv4.h): RFC 791 validation, options, fragments, the address
// filter, TCP hand-off, and the output path (DF, IP-ID, next hop).
#include "test_net_l3.h"

using namespace netl3test;

TEST(NetIpv4Parse, ValidPacketAndPaddingTrimmed)
{
	Bytes p = ipv4_pkt(NET_IPV4(10, 0, 0, 2), NET_IPV4(10, 0, 0, 1), 6, Bytes{1, 2, 3, 4, 5});
	p.resize(46, 0xaa); // Ethernet padding after the datagram
	net_ipv4_view v{};
	unsigned why = 0;
	ASSERT_EQ(net_ipv4_parse(p.data(), p.size(), &v, &why), NET_OK);
	EXPECT_EQ(why, unsigned(NET_L3_C_COUNT));
	EXPECT_EQ(v.hlen, 20);
	EXPECT_EQ(v.total_len, 25);
	EXPECT_EQ(v.proto, 6);
	EXPECT_EQ(v.ttl, 64);
	EXPECT_EQ(v.id, 0x1234);
	EXPECT_EQ(v.frag, 0x4000);
	EXPECT_EQ(v.src, NET_IPV4(10, 0, 0, 2));
	EXPECT_EQ(v.dst, NET_IPV4(10, 0, 0, 1));
	EXPECT_EQ(v.payload, p.data() + 20);
	EXPECT_EQ(v.payload_len, 5u);
}

TEST(NetIpv4Parse, EveryStrictPrefixIsShort)
{
	IpOpts o;
	o.options = Bytes{1, 1, 1, 0}; // NOP NOP NOP EOL
	Bytes p = ipv4_pkt(NET_IPV4(10, 0, 0, 2), NET_IPV4(10, 0, 0, 1), 6, Bytes(33, 7), o);
	for (size_t n = 0; n < p.size(); n++) {
		net_ipv4_view v{};
		unsigned why = 0;
		EXPECT_EQ(net_ipv4_parse(p.data(), n, &v, &why), NET_SHORT) << n;
		EXPECT_EQ(why, unsigned(NET_L3_C_ip_rx_short)) << n;
	}
	net_ipv4_view v{};
	EXPECT_EQ(net_ipv4_parse(p.data(), p.size(), &v, nullptr), NET_OK);
	EXPECT_EQ(v.hlen, 24);
	EXPECT_EQ(v.payload, p.data() + 24);
}

TEST(NetIpv4Parse, MalformedHeadersWithTheirReasons)
{
	const uint32_t s = NET_IPV4(10, 0, 0, 2), d = NET_IPV4(10, 0, 0, 1);
	net_ipv4_view v{};
	unsigned why;
	IpOpts o6;
	o6.version = 6;
	Bytes p = ipv4_pkt(s, d, 6, Bytes(20, 0), o6);
	EXPECT_EQ(net_ipv4_parse(p.data(), p.size(), &v, &why), NET_BAD);
	EXPECT_EQ(why, unsigned(NET_L3_C_ip_rx_bad_version));

	p = ipv4_pkt(s, d, 6, Bytes(20, 0));
	p[0] = 0x44; // IHL 4
	EXPECT_EQ(net_ipv4_parse(p.data(), p.size(), &v, &why), NET_BAD);
	EXPECT_EQ(why, unsigned(NET_L3_C_ip_rx_bad_ihl));

	p = ipv4_pkt(s, d, 6, Bytes(20, 0));
	p[2] = 0;
	p[3] = 19; // total length below the header
	EXPECT_EQ(net_ipv4_parse(p.data(), p.size(), &v, &why), NET_BAD);
	EXPECT_EQ(why, unsigned(NET_L3_C_ip_rx_bad_ihl));

	IpOpts ob;
	ob.bad_csum = true;
	p = ipv4_pkt(s, d, 6, Bytes(20, 0), ob);
	EXPECT_EQ(net_ipv4_parse(p.data(), p.size(), &v, &why), NET_BAD);
	EXPECT_EQ(why, unsigned(NET_L3_C_ip_rx_bad_csum));
	// a flipped bit anywhere in the header fails the checksum (or an
	// earlier check), never passes
	Bytes good = ipv4_pkt(s, d, 6, Bytes(20, 0));
	for (size_t bit = 0; bit < 160; bit++) {
		Bytes q = good;
		q[bit / 8] ^= uint8_t(1u << (bit % 8));
		EXPECT_NE(net_ipv4_parse(q.data(), q.size(), &v, &why), NET_OK) << bit;
	}
}

TEST(NetIpv4Parse, FragmentsAreUnsupported)
{
	const uint32_t s = NET_IPV4(10, 0, 0, 2), d = NET_IPV4(10, 0, 0, 1);
	net_ipv4_view v{};
	unsigned why;
	for (uint16_t frag :
	     {uint16_t(0x2000), uint16_t(0x0001), uint16_t(0x2010), uint16_t(0x1fff)}) {
		IpOpts o;
		o.frag = frag;
		Bytes p = ipv4_pkt(s, d, 6, Bytes(20, 0), o);
		EXPECT_EQ(net_ipv4_parse(p.data(), p.size(), &v, &why), NET_UNSUPPORTED) << frag;
		EXPECT_EQ(why, unsigned(NET_L3_C_ip_rx_frag));
	}
	IpOpts o;
	o.frag = 0; // DF clear, not a fragment: fine
	Bytes p = ipv4_pkt(s, d, 6, Bytes(20, 0), o);
	EXPECT_EQ(net_ipv4_parse(p.data(), p.size(), &v, &why), NET_OK);
}

TEST(NetIpv4Build, HeaderFields)
{
	uint8_t h[20];
	net_ipv4_build_hdr(h, NET_IPV4(1, 2, 3, 4), NET_IPV4(5, 6, 7, 8), 6, 0xbeef, 33, 100);
	Bytes b(h, h + 20);
	EXPECT_EQ(b[0], 0x45);
	EXPECT_EQ(get16(b, 2), 120);
	EXPECT_EQ(get16(b, 4), 0xbeef);
	EXPECT_EQ(get16(b, 6), 0x4000) << "DF, offset 0";
	EXPECT_EQ(b[8], 33);
	EXPECT_EQ(b[9], 6);
	EXPECT_EQ(get32(b, 12), NET_IPV4(1, 2, 3, 4));
	EXPECT_EQ(get32(b, 16), NET_IPV4(5, 6, 7, 8));
	EXPECT_EQ(ref_csum(h, 20), 0);
}

class NetIpv4 : public L3Test
{
      protected:
	void resolve_peer(uint64_t now = 0)
	{
		rx(eth_frame(us, peer, 0x0806, arp_pkt(2, peer, peer_ip, us, our_ip)), now);
		cap = Capture();
	}
};

TEST_F(NetIpv4, TcpForUsIsHandedOver)
{
	Bytes seg(40, 0x5a);
	Bytes f = ip_frame(peer_ip, our_ip, 6, seg);
	rx(f, 77);
	ASSERT_EQ(cap.tcp.size(), 1u);
	EXPECT_EQ(cap.tcp[0].src, peer_ip);
	EXPECT_EQ(cap.tcp[0].dst, our_ip);
	EXPECT_EQ(cap.tcp[0].seg, seg);
	EXPECT_EQ(cap.tcp[0].now, 77u);
	EXPECT_EQ(c().ip_rx_tcp, 1u);
	expect_only({NET_L3_C_eth_rx, NET_L3_C_ip_rx, NET_L3_C_ip_rx_tcp});
}

TEST_F(NetIpv4, PaddedFrameGivesTcpOnlyTheDatagram)
{
	Bytes seg(20, 1); // 14 + 20 + 20 = 54 < 60: padded on the wire
	Bytes f = ip_frame(peer_ip, our_ip, 6, seg);
	f.resize(60, 0xcc);
	rx(f);
	ASSERT_EQ(cap.tcp.size(), 1u);
	EXPECT_EQ(cap.tcp[0].seg, seg);
}

TEST_F(NetIpv4, OptionsSkippedAndCounted)
{
	IpOpts o;
	o.options = Bytes{0x94, 0x04, 0, 0}; // router alert, RFC 2113
	Bytes seg(20, 3);
	rx(ip_frame(peer_ip, our_ip, 6, seg, o));
	ASSERT_EQ(cap.tcp.size(), 1u);
	EXPECT_EQ(cap.tcp[0].seg, seg);
	EXPECT_EQ(c().ip_rx_options, 1u);
}

TEST_F(NetIpv4, FragmentsDroppedAndCounted)
{
	IpOpts o;
	o.frag = 0x2000; // MF, first fragment
	rx(ip_frame(peer_ip, our_ip, 6, Bytes(24, 0), o));
	o.frag = 3; // last fragment, offset 24
	rx(ip_frame(peer_ip, our_ip, 6, Bytes(8, 0), o));
	EXPECT_EQ(c().ip_rx_frag, 2u);
	EXPECT_TRUE(cap.tcp.empty());
}

TEST_F(NetIpv4, TtlZeroDropped)
{
	IpOpts o;
	o.ttl = 0;
	rx(ip_frame(peer_ip, our_ip, 6, Bytes(20, 0), o));
	EXPECT_EQ(c().ip_rx_ttl_zero, 1u);
	EXPECT_TRUE(cap.tcp.empty());
	o.ttl = 1; // 1 is fine for a host
	rx(ip_frame(peer_ip, our_ip, 6, Bytes(20, 0), o));
	EXPECT_EQ(cap.tcp.size(), 1u);
}

TEST_F(NetIpv4, BadSourcesDropped)
{
	for (uint32_t src : {0u, 0xffffffffu, NET_IPV4(10, 0, 0, 255), NET_IPV4(224, 0, 0, 1),
			     NET_IPV4(240, 0, 0, 1), NET_IPV4(127, 0, 0, 1), our_ip})
		rx(ip_frame(src, our_ip, 6, Bytes(20, 0)));
	EXPECT_EQ(c().ip_rx_bad_src, 7u);
	EXPECT_TRUE(cap.tcp.empty());
	rx(ip_frame(NET_IPV4(192, 0, 2, 1), our_ip, 6, Bytes(20, 0))); // off-link is fine
	EXPECT_EQ(cap.tcp.size(), 1u);
}

TEST_F(NetIpv4, DestinationFilterAndBroadcasts)
{
	rx(ip_frame(peer_ip, NET_IPV4(10, 0, 0, 3), 6, Bytes(20, 0)));
	rx(ip_frame(peer_ip, NET_IPV4(224, 0, 0, 251), 17, Bytes(8, 0)));
	EXPECT_EQ(c().ip_rx_not_ours, 2u);
	// TCP to a broadcast is never accepted (RFC 1122 4.2.3.10)
	rx(ip_frame(peer_ip, 0xffffffffu, 6, Bytes(20, 0)));
	rx(ip_frame(peer_ip, NET_IPV4(10, 0, 0, 255), 6, Bytes(20, 0)));
	EXPECT_EQ(c().ip_rx_broadcast, 2u);
	EXPECT_EQ(c().ip_rx_tcp_broadcast, 2u);
	EXPECT_TRUE(cap.tcp.empty());
	// other protocols to a broadcast reach protocol dispatch (counted)
	rx(ip_frame(peer_ip, NET_IPV4(10, 0, 0, 255), 17, Bytes(8, 0)));
	EXPECT_EQ(c().ip_rx_broadcast, 3u);
	EXPECT_EQ(c().ip_rx_unknown_proto, 1u);
	EXPECT_TRUE(cap.frames.empty());
}

TEST_F(NetIpv4, SecondAddressAndSlash31HaveNoDirectedBroadcast)
{
	cfg.addrs[1] = net_l3_addr{NET_IPV4(192, 168, 7, 0), 31};
	cfg.n_addrs = 2;
	reinit();
	EXPECT_TRUE(net_l3_is_local(l3, NET_IPV4(192, 168, 7, 0)));
	EXPECT_FALSE(net_l3_is_broadcast(l3, NET_IPV4(192, 168, 7, 1)));
	EXPECT_TRUE(net_l3_is_broadcast(l3, NET_IPV4(10, 0, 0, 255)));
	rx(ip_frame(NET_IPV4(192, 168, 7, 1), NET_IPV4(192, 168, 7, 0), 6, Bytes(20, 0)));
	ASSERT_EQ(cap.tcp.size(), 1u);
	EXPECT_EQ(cap.tcp[0].dst, NET_IPV4(192, 168, 7, 0));
}

TEST_F(NetIpv4, UnknownProtocolCountedAndNoTcpCallbackMeansDrop)
{
	rx(ip_frame(peer_ip, our_ip, 17, Bytes(8, 0)));
	EXPECT_EQ(c().ip_rx_unknown_proto, 1u);
	ops.tcp_rx = nullptr;
	reinit();
	rx(ip_frame(peer_ip, our_ip, 6, Bytes(20, 0)));
	EXPECT_EQ(c().ip_rx_unknown_proto, 1u);
	EXPECT_EQ(c().ip_rx_tcp, 0u);
}

TEST_F(NetIpv4, EveryStrictPrefixThroughRxHasNoEffectButACount)
{
	Bytes f = ip_frame(peer_ip, our_ip, 6, Bytes(41, 9));
	for (size_t n = 14; n < f.size(); n++) {
		reinit();
		rx(Bytes(f.begin(), f.begin() + long(n)));
		EXPECT_TRUE(cap.tcp.empty()) << n;
		EXPECT_TRUE(cap.frames.empty()) << n;
		EXPECT_EQ(c().ip_rx_short, 1u) << n;
		expect_only({NET_L3_C_eth_rx, NET_L3_C_ip_rx, NET_L3_C_ip_rx_short});
	}
}

TEST_F(NetIpv4, OutputFramesAreWellFormedWithDfAndIncreasingIds)
{
	cfg.ip_id_seed = 0xfffe;
	cfg.ttl = 17;
	reinit();
	resolve_peer();
	Bytes l4(31, 0x42);
	for (int i = 0; i < 3; i++)
		ASSERT_EQ(net_ipv4_output(l3, 0, our_ip, peer_ip, 6, l4.data(), l4.size()),
			  NET_ARP_SENT);
	ASSERT_EQ(cap.frames.size(), 3u);
	const uint16_t want_id[3] = {0xfffe, 0xffff, 0x0000};
	for (int i = 0; i < 3; i++) {
		const Bytes &f = cap.frames[i];
		ASSERT_EQ(f.size(), 14u + 20 + 31);
		net_mac d = mac_at(f, 0);
		EXPECT_TRUE(net_mac_eq(&d, &peer));
		EXPECT_EQ(get16(f, 12), 0x0800);
		net_ipv4_view v{};
		ASSERT_EQ(net_ipv4_parse(f.data() + 14, f.size() - 14, &v, nullptr), NET_OK);
		EXPECT_EQ(v.frag, 0x4000);
		EXPECT_EQ(v.id, want_id[i]);
		EXPECT_EQ(v.ttl, 17);
		EXPECT_EQ(v.src, our_ip);
		EXPECT_EQ(v.dst, peer_ip);
		EXPECT_EQ(Bytes(v.payload, v.payload + v.payload_len), l4);
	}
	EXPECT_EQ(c().ip_tx, 3u);
}

TEST_F(NetIpv4, OutputChoosesSourceChecksSourceAndSize)
{
	resolve_peer();
	Bytes l4(20, 0);
	ASSERT_EQ(net_ipv4_output(l3, 0, 0, peer_ip, 6, l4.data(), l4.size()), NET_ARP_SENT);
	EXPECT_EQ(get32(cap.frames.at(0), 14 + 12), our_ip);
	EXPECT_EQ(net_ipv4_output(l3, 0, NET_IPV4(10, 0, 0, 9), peer_ip, 6, l4.data(), l4.size()),
		  NET_ARP_DROPPED);
	EXPECT_EQ(c().ip_tx_bad_src, 1u);
	Bytes big(1481, 0); // 20 + 1481 > 1500
	EXPECT_EQ(net_ipv4_output(l3, 0, 0, peer_ip, 6, big.data(), big.size()), NET_ARP_DROPPED);
	EXPECT_EQ(c().ip_tx_too_big, 1u);
	big.resize(1480);
	EXPECT_EQ(net_ipv4_output(l3, 0, 0, peer_ip, 6, big.data(), big.size()), NET_ARP_SENT);
	EXPECT_EQ(cap.frames.back().size(), 1514u);
	EXPECT_EQ(cap.frames.size(), 2u);
}

// cfg.mtu: jumbo frames up to 9000, and the datagram limit follows it;
// out-of-range values clamp to what the buffers and RFC 791 allow.
TEST_F(NetIpv4, MtuSetsTheLargestDatagram)
{
	cfg.mtu = 9000;
	reinit();
	resolve_peer();
	Bytes big(8981, 0); // 20 + 8981 > 9000
	EXPECT_EQ(net_ipv4_output(l3, 0, 0, peer_ip, 6, big.data(), big.size()), NET_ARP_DROPPED);
	EXPECT_EQ(c().ip_tx_too_big, 1u);
	big.resize(8980);
	ASSERT_EQ(net_ipv4_output(l3, 0, 0, peer_ip, 6, big.data(), big.size()), NET_ARP_SENT);
	EXPECT_EQ(cap.frames.back().size(), 9014u);
	net_ipv4_view v{};
	ASSERT_EQ(net_ipv4_parse(cap.frames.back().data() + 14, 9000, &v, nullptr), NET_OK);
	EXPECT_EQ(v.total_len, 9000u);
	EXPECT_EQ(v.frag, NET_IPV4_DF); // never fragmented: DF, as at 1500
	cfg.mtu = 60000;
	reinit();
	EXPECT_EQ(l3->cfg.mtu, NET_ETH_MTU_MAX);
	cfg.mtu = 100;
	reinit();
	EXPECT_EQ(l3->cfg.mtu, NET_ETH_MTU_MIN);
	cfg.mtu = 0;
	reinit();
	EXPECT_EQ(l3->cfg.mtu, NET_ETH_MTU_DEFAULT);
}

TEST_F(NetIpv4, NoGatewayNoRouteAndBroadcastNeedsNoArp)
{
	cfg.gateway = 0;
	reinit();
	Bytes l4(8, 0);
	EXPECT_EQ(net_ipv4_output(l3, 0, 0, NET_IPV4(8, 8, 8, 8), 17, l4.data(), l4.size()),
		  NET_ARP_DROPPED);
	EXPECT_EQ(c().ip_tx_no_route, 1u);
	EXPECT_TRUE(cap.frames.empty());
	EXPECT_EQ(net_ipv4_output(l3, 0, 0, NET_IPV4(10, 0, 0, 255), 17, l4.data(), l4.size()),
		  NET_ARP_SENT);
	ASSERT_EQ(cap.frames.size(), 1u);
	net_mac d = mac_at(cap.frames[0], 0);
	EXPECT_TRUE(net_mac_is_broadcast(&d));
	EXPECT_EQ(cap.frames[0].size(), 60u) << "padded";
	EXPECT_EQ(get16(cap.frames[0], 14 + 2), 28) << "total length excludes the padding";
	EXPECT_EQ(c().arp_tx_request, 0u);
}

TEST_F(NetIpv4, SendFrameInPlaceLeavesTheL4BytesAlone)
{
	resolve_peer();
	uint8_t frame[NET_L3_HEADROOM + 64];
	memset(frame, 0, sizeof frame);
	for (int i = 0; i < 64; i++)
		frame[NET_L3_HEADROOM + i] = uint8_t(i);
	ASSERT_EQ(net_ipv4_send_frame(l3, 0, frame, sizeof frame, our_ip, peer_ip, 6),
		  NET_ARP_SENT);
	ASSERT_EQ(cap.frames.size(), 1u);
	EXPECT_EQ(Bytes(cap.frames[0].begin() + NET_L3_HEADROOM, cap.frames[0].end()),
		  Bytes(frame + NET_L3_HEADROOM, frame + sizeof frame));
	for (int i = 0; i < 64; i++)
		EXPECT_EQ(cap.frames[0][NET_L3_HEADROOM + i], i);
}
