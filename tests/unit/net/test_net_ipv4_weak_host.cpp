// Two interfaces of one host in the weak end system model (RFC 1122
// 3.3.4.2; net_l3_ops host_addr and tx_off_link, as the dpdk driver's
// ports use them): a datagram to the other interface's address is taken
// here, one from it is a spoof, and output off this interface's subnet
// leaves by the host's route (the other's subnet, our gateway, the
// other's gateway). The route in these tests is the harness's own.
#include "test_net_l3.h"

using namespace netl3test;

namespace
{

struct HostCapture : Capture {
	net_l3 *other = nullptr;   // the host's other interface
	bool take_off_link = true; // the host's route: hand it to `other`
	unsigned off_link_calls = 0;
	bool last_have_gateway = false;
};

HostCapture *host_of(void *ctx)
{
	return static_cast<HostCapture *>(static_cast<Capture *>(ctx));
}

bool host_addr(void *ctx, uint32_t ip)
{
	HostCapture *h = host_of(ctx);
	return h->other != nullptr && net_l3_is_local(h->other, ip);
}

int off_link(void *ctx, uint64_t now, uint8_t *frame, size_t len, uint32_t src, uint32_t dst,
	     uint8_t proto, bool have_gateway)
{
	HostCapture *h = host_of(ctx);
	h->off_link_calls++;
	h->last_have_gateway = have_gateway;
	if (!h->take_off_link || h->other == nullptr)
		return -1;
	return int(net_ipv4_send_frame_via(h->other, now, frame, len, src, dst, proto));
}

// Interface A is the fixture's (10.0.0.1/24, 02::01, gateway 10.0.0.254
// unless a test clears it); interface B is 10.9.0.1/24 (02::03), gateway
// 10.9.0.254 (02::04), with a peer 10.9.0.2 (02::05).
class NetIpv4WeakHost : public L3Test
{
      protected:
	HostCapture ha, hb;
	net_l3 *l3b = nullptr;
	net_l3_config cfgb{};
	net_l3_ops opsb{};
	const net_mac us_b = mk_mac(3), gw_b = mk_mac(4), peer_b = mk_mac(5);
	const uint32_t b_ip = NET_IPV4(10, 9, 0, 1), gw_b_ip = NET_IPV4(10, 9, 0, 254);
	const uint32_t peer_b_ip = NET_IPV4(10, 9, 0, 2), far_ip = NET_IPV4(192, 0, 2, 7);

	void SetUp() override
	{
		L3Test::SetUp();
		l3b = new net_l3;
		cfgb.mac = us_b;
		cfgb.addrs[0] = net_l3_addr{b_ip, 24};
		cfgb.n_addrs = 1;
		cfgb.gateway = gw_b_ip;
		opsb = ops;
		opsb.ctx = static_cast<Capture *>(&hb);
		opsb.host_addr = host_addr;
		opsb.tx_off_link = off_link;
		ops.ctx = static_cast<Capture *>(&ha);
		ops.host_addr = host_addr;
		ops.tx_off_link = off_link;
		init_both();
	}
	void TearDown() override
	{
		delete l3b;
		L3Test::TearDown();
	}
	void init_both()
	{
		net_l3_init(l3, &cfg, &ops);
		net_l3_init(l3b, &cfgb, &opsb);
		ha = HostCapture();
		hb = HostCapture();
		ha.other = l3b;
		hb.other = l3;
	}
	// ARP replies from A's peer and gateway and B's gateway and peer
	void resolve_all()
	{
		rx(eth_frame(us, peer, 0x0806, arp_pkt(2, peer, peer_ip, us, our_ip)));
		rx(eth_frame(us, mk_mac(6), 0x0806, arp_pkt(2, mk_mac(6), gw_ip, us, our_ip)));
		rx_b(eth_frame(us_b, gw_b, 0x0806, arp_pkt(2, gw_b, gw_b_ip, us_b, b_ip)));
		rx_b(eth_frame(us_b, peer_b, 0x0806, arp_pkt(2, peer_b, peer_b_ip, us_b, b_ip)));
		ha.frames.clear();
		hb.frames.clear();
	}
	void rx_b(const Bytes &f) { net_l3_rx(l3b, 0, f.data(), f.size()); }
	enum net_arp_out send_a(uint32_t src, uint32_t dst, size_t l4_len = 20)
	{
		Bytes l4(l4_len, 0x42);
		return net_ipv4_output(l3, 0, src, dst, 6, l4.data(), l4.size());
	}
};

// An IPv4 frame's addresses, and its Ethernet destination and source.
uint32_t ip_src(const Bytes &f)
{
	return get32(f, 14 + 12);
}
uint32_t ip_dst(const Bytes &f)
{
	return get32(f, 14 + 16);
}
bool eth_to(const Bytes &f, const net_mac &m)
{
	return memcmp(f.data(), m.b, 6) == 0;
}
bool eth_from(const Bytes &f, const net_mac &m)
{
	return memcmp(f.data() + 6, m.b, 6) == 0;
}

TEST_F(NetIpv4WeakHost, TcpToTheOtherInterfacesAddressIsTakenHere)
{
	rx(ip_frame(peer_ip, b_ip, 6, Bytes(20, 1)));
	ASSERT_EQ(ha.tcp.size(), 1u);
	EXPECT_EQ(ha.tcp[0].dst, b_ip);
	EXPECT_EQ(ha.tcp[0].src, peer_ip);
	EXPECT_EQ(c().ip_rx_host_addr, 1u);
	EXPECT_EQ(c().ip_rx_not_ours, 0u);
	EXPECT_TRUE(hb.tcp.empty());
	// an address of neither interface is still not ours
	rx(ip_frame(peer_ip, NET_IPV4(10, 9, 0, 3), 6, Bytes(20, 1)));
	EXPECT_EQ(ha.tcp.size(), 1u);
	EXPECT_EQ(c().ip_rx_not_ours, 1u);
	// without the hook (a host with one interface) it is not ours either
	ops.host_addr = nullptr;
	init_both();
	rx(ip_frame(peer_ip, b_ip, 6, Bytes(20, 1)));
	EXPECT_TRUE(ha.tcp.empty());
	EXPECT_EQ(c().ip_rx_not_ours, 1u);
}

TEST_F(NetIpv4WeakHost, FromTheOtherInterfacesAddressIsASpoof)
{
	rx(ip_frame(b_ip, our_ip, 6, Bytes(20, 1)));
	EXPECT_TRUE(ha.tcp.empty());
	EXPECT_EQ(c().ip_rx_bad_src, 1u);
}

// RFC 1122 3.2.2.6: the reply's source is the address the request was
// sent to, the other interface's here; it leaves by this one (the peer is
// on its subnet).
TEST_F(NetIpv4WeakHost, EchoToTheOtherAddressIsAnsweredFromIt)
{
	resolve_all();
	rx(ip_frame(peer_ip, b_ip, 1, icmp_echo(8, 7, 1, Bytes(8, 9))));
	ASSERT_EQ(ha.frames.size(), 1u);
	EXPECT_TRUE(hb.frames.empty());
	const Bytes &f = ha.frames[0];
	EXPECT_TRUE(eth_to(f, peer));
	EXPECT_TRUE(eth_from(f, us));
	EXPECT_EQ(ip_src(f), b_ip);
	EXPECT_EQ(ip_dst(f), peer_ip);
	EXPECT_EQ(f[14 + 20], 0) << "echo reply";
	EXPECT_EQ(ref_csum(f.data() + 14, 20), 0);
	EXPECT_EQ(c().icmp_tx_echo_reply, 1u);
}

// A without a gateway: a peer off both subnets is reached by B's gateway,
// from A's address (the source the connection has), once B has resolved
// it; counted as handed on at A and sent at B.
TEST_F(NetIpv4WeakHost, OffLinkWithoutAGatewayLeavesByTheOthersGateway)
{
	cfg.gateway = 0;
	init_both();
	EXPECT_EQ(send_a(our_ip, far_ip), NET_ARP_QUEUED);
	EXPECT_EQ(ha.off_link_calls, 1u);
	EXPECT_FALSE(ha.last_have_gateway);
	EXPECT_TRUE(ha.frames.empty());
	ASSERT_EQ(hb.frames.size(), 1u) << "B's ARP request for its gateway";
	EXPECT_EQ(get16(hb.frames[0], 12), 0x0806);
	EXPECT_EQ(get32(hb.frames[0], 14 + 24), gw_b_ip);
	rx_b(eth_frame(us_b, gw_b, 0x0806, arp_pkt(2, gw_b, gw_b_ip, us_b, b_ip)));
	ASSERT_EQ(hb.frames.size(), 2u);
	const Bytes &f = hb.frames[1];
	EXPECT_TRUE(eth_to(f, gw_b));
	EXPECT_TRUE(eth_from(f, us_b));
	EXPECT_EQ(ip_src(f), our_ip);
	EXPECT_EQ(ip_dst(f), far_ip);
	EXPECT_EQ(ref_csum(f.data() + 14, 20), 0);
	EXPECT_EQ(c().ip_tx_other_port, 1u);
	EXPECT_EQ(c().ip_tx_no_route, 0u);
	EXPECT_EQ(c().ip_tx, 0u);
	EXPECT_EQ(l3b->c.ip_tx, 1u);
	EXPECT_EQ(l3b->c.ip_tx_other_port, 0u);
	EXPECT_EQ(hb.off_link_calls, 0u) << "never handed on twice";
}

// The other interface's subnet comes before our gateway (a connected
// route is more specific than the default).
TEST_F(NetIpv4WeakHost, ThePeerOnTheOthersSubnetIsSentToDirectly)
{
	resolve_all();
	EXPECT_EQ(send_a(our_ip, peer_b_ip), NET_ARP_SENT);
	EXPECT_TRUE(ha.last_have_gateway);
	EXPECT_TRUE(ha.frames.empty());
	ASSERT_EQ(hb.frames.size(), 1u);
	EXPECT_TRUE(eth_to(hb.frames[0], peer_b));
	EXPECT_TRUE(eth_from(hb.frames[0], us_b));
	EXPECT_EQ(ip_src(hb.frames[0]), our_ip);
}

// The route declines: our own gateway, or no route without one.
TEST_F(NetIpv4WeakHost, DeclinedOffLinkUsesOurGatewayOrHasNoRoute)
{
	resolve_all();
	ha.take_off_link = false;
	EXPECT_EQ(send_a(our_ip, far_ip), NET_ARP_SENT);
	EXPECT_EQ(ha.off_link_calls, 1u);
	ASSERT_EQ(ha.frames.size(), 1u);
	EXPECT_TRUE(eth_to(ha.frames[0], mk_mac(6))) << "A's gateway";
	EXPECT_TRUE(hb.frames.empty());
	EXPECT_EQ(c().ip_tx_other_port, 0u);
	cfg.gateway = 0;
	init_both();
	ha.take_off_link = false;
	EXPECT_EQ(send_a(our_ip, far_ip), NET_ARP_DROPPED);
	EXPECT_EQ(c().ip_tx_no_route, 1u);
	EXPECT_TRUE(ha.frames.empty());
	EXPECT_TRUE(hb.frames.empty());
	// on our own subnet the route is never asked
	EXPECT_EQ(send_a(our_ip, NET_IPV4(10, 0, 0, 2)), NET_ARP_QUEUED);
	EXPECT_EQ(ha.off_link_calls, 1u);
}

// A drop at the other interface (over its MTU) is its drop, not a missing
// route here.
TEST_F(NetIpv4WeakHost, ADropAtTheOtherInterfaceIsCountedThere)
{
	cfgb.mtu = 576;
	cfg.gateway = 0;
	init_both();
	EXPECT_EQ(send_a(our_ip, far_ip, 600), NET_ARP_DROPPED);
	EXPECT_EQ(l3b->c.ip_tx_too_big, 1u);
	EXPECT_EQ(c().ip_tx_no_route, 0u);
	EXPECT_EQ(c().ip_tx_other_port, 1u);
}

// net_ipv4_send_frame_via: only from the other interface's address, never
// to a broadcast of this one's subnet, never handed on again.
TEST_F(NetIpv4WeakHost, SendViaChecksItsSourceAndDestination)
{
	resolve_all();
	uint8_t frame[NET_L3_HEADROOM + 20] = {};
	EXPECT_EQ(net_ipv4_send_frame_via(l3b, 0, frame, sizeof frame, b_ip, far_ip, 6),
		  NET_ARP_DROPPED)
	    << "B's own address is not another interface's";
	EXPECT_EQ(l3b->c.ip_tx_bad_src, 1u);
	EXPECT_EQ(
	    net_ipv4_send_frame_via(l3b, 0, frame, sizeof frame, NET_IPV4(10, 0, 0, 9), far_ip, 6),
	    NET_ARP_DROPPED);
	EXPECT_EQ(l3b->c.ip_tx_bad_src, 2u);
	EXPECT_EQ(net_ipv4_send_frame_via(l3b, 0, frame, sizeof frame, our_ip,
					  NET_IPV4(10, 9, 0, 255), 6),
		  NET_ARP_DROPPED);
	EXPECT_EQ(l3b->c.ip_tx_no_route, 1u);
	EXPECT_TRUE(hb.frames.empty());
	// B without a gateway: off B's subnet there is no route, and B's
	// hook is not asked (no loop back to A)
	cfgb.gateway = 0;
	init_both();
	EXPECT_EQ(net_ipv4_send_frame_via(l3b, 0, frame, sizeof frame, our_ip, far_ip, 6),
		  NET_ARP_DROPPED);
	EXPECT_EQ(l3b->c.ip_tx_no_route, 1u);
	EXPECT_EQ(hb.off_link_calls, 0u);
	EXPECT_EQ(ha.off_link_calls, 0u);
}

} // namespace
