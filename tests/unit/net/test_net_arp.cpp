// ARP (net_arp.h): RFC 826 reply and merge, resolution with a bounded
// pending queue, retries and failure, aging and refresh, RFC 5227
// announcements and conflicts. Time is the tests' own (now_ns passed in).
#include "test_net_l3.h"

using namespace netl3test;

namespace
{

struct ArpFields {
	net_mac eth_dst, eth_src;
	uint16_t type, op;
	net_mac sha, tha;
	uint32_t spa, tpa;
};

ArpFields arp_of(const Bytes &f)
{
	EXPECT_GE(f.size(), 60u);
	ArpFields a{};
	a.eth_dst = mac_at(f, 0);
	a.eth_src = mac_at(f, 6);
	a.type = get16(f, 12);
	EXPECT_EQ(get16(f, 14), 1);
	EXPECT_EQ(get16(f, 16), 0x0800);
	EXPECT_EQ(f.at(18), 6);
	EXPECT_EQ(f.at(19), 4);
	a.op = get16(f, 20);
	a.sha = mac_at(f, 22);
	a.spa = get32(f, 28);
	a.tha = mac_at(f, 32);
	a.tpa = get32(f, 38);
	return a;
}

bool eq(const net_mac &a, const net_mac &b)
{
	return net_mac_eq(&a, &b);
}

} // namespace

TEST(NetArpParse, ValidAndEveryStrictPrefixShort)
{
	Bytes p = arp_pkt(1, mk_mac(2), NET_IPV4(10, 0, 0, 2), net_mac_zero, NET_IPV4(10, 0, 0, 1));
	net_arp_view v{};
	ASSERT_EQ(net_arp_parse(p.data(), p.size(), &v), NET_OK);
	EXPECT_EQ(v.op, 1);
	EXPECT_EQ(v.spa, NET_IPV4(10, 0, 0, 2));
	EXPECT_EQ(v.tpa, NET_IPV4(10, 0, 0, 1));
	net_mac s = mk_mac(2);
	EXPECT_TRUE(eq(v.sha, s));
	EXPECT_TRUE(net_mac_is_zero(&v.tha));
	for (size_t n = 0; n < p.size(); n++) {
		net_arp_view w{};
		EXPECT_EQ(net_arp_parse(p.data(), n, &w), NET_SHORT) << n;
	}
	// trailing Ethernet padding is ignored
	Bytes padded = p;
	padded.resize(46, 0);
	EXPECT_EQ(net_arp_parse(padded.data(), padded.size(), &v), NET_OK);
}

TEST(NetArpParse, WrongHardwareOrProtocolIsBad)
{
	Bytes p = arp_pkt(2, mk_mac(2), 1, mk_mac(1), 2);
	net_arp_view v{};
	for (size_t off : {1u, 2u, 4u, 5u}) {
		Bytes q = p;
		q[off] ^= 0x10;
		EXPECT_EQ(net_arp_parse(q.data(), q.size(), &v), NET_BAD) << off;
	}
	Bytes r = p;
	r[7] = 3; // RARP request
	EXPECT_EQ(net_arp_parse(r.data(), r.size(), &v), NET_UNSUPPORTED);
	EXPECT_EQ(v.op, 3);
}

TEST(NetArpBuild, LayoutPerRfc826)
{
	net_arp_view a{};
	a.op = 2;
	a.sha = mk_mac(1);
	a.spa = NET_IPV4(1, 2, 3, 4);
	a.tha = mk_mac(2);
	a.tpa = NET_IPV4(5, 6, 7, 8);
	uint8_t buf[64];
	net_mac d = mk_mac(2), s = mk_mac(1);
	ASSERT_EQ(net_arp_build(buf, &d, &s, &a), 42u);
	Bytes want = eth_frame(d, s, 0x0806, arp_pkt(2, a.sha, a.spa, a.tha, a.tpa));
	EXPECT_EQ(Bytes(buf, buf + 42), want);
}

class NetArp : public L3Test
{
      protected:
	Bytes request_from_peer(uint32_t tpa, const net_mac &sha, uint32_t spa)
	{
		return eth_frame(net_mac_broadcast, sha, 0x0806,
				 arp_pkt(1, sha, spa, net_mac_zero, tpa));
	}
	Bytes reply_from(const net_mac &sha, uint32_t spa)
	{
		return eth_frame(us, sha, 0x0806, arp_pkt(2, sha, spa, us, our_ip));
	}
	// an IPv4/UDP-ish payload to send (protocol 17, we do not care)
	enum net_arp_out send_to(uint32_t dst, uint64_t now, uint8_t tag = 0)
	{
		Bytes l4(30, tag);
		return net_ipv4_output(l3, now, 0, dst, 17, l4.data(), l4.size());
	}
};

TEST_F(NetArp, RequestForOurAddressIsAnsweredAndSenderCached)
{
	rx(request_from_peer(our_ip, peer, peer_ip), 5 * MS);
	ASSERT_EQ(cap.frames.size(), 1u);
	ArpFields r = arp_of(cap.frames[0]);
	EXPECT_EQ(cap.frames[0].size(), 60u);
	EXPECT_TRUE(eq(r.eth_dst, peer));
	EXPECT_TRUE(eq(r.eth_src, us));
	EXPECT_EQ(r.type, 0x0806);
	EXPECT_EQ(r.op, 2);
	EXPECT_TRUE(eq(r.sha, us));
	EXPECT_EQ(r.spa, our_ip);
	EXPECT_TRUE(eq(r.tha, peer));
	EXPECT_EQ(r.tpa, peer_ip);
	EXPECT_EQ(c().arp_rx_request, 1u);
	EXPECT_EQ(c().arp_tx_reply, 1u);
	EXPECT_EQ(c().arp_cache_add, 1u);
	const net_arp_entry *e = net_arp_find(&l3->arp, peer_ip);
	ASSERT_NE(e, nullptr);
	EXPECT_EQ(e->state, NET_ARP_REACHABLE);
	EXPECT_TRUE(eq(e->mac, peer));
	EXPECT_EQ(e->expire_ns, 5 * MS + 60 * SEC);
	// and an IPv4 packet to it goes straight out
	EXPECT_EQ(send_to(peer_ip, 6 * MS), NET_ARP_SENT);
	ASSERT_EQ(cap.frames.size(), 2u);
	EXPECT_TRUE(eq(mac_at(cap.frames[1], 0), peer));
	EXPECT_EQ(c().arp_tx_request, 0u);
}

TEST_F(NetArp, RequestForAnotherAddressNotAnsweredNotCached)
{
	rx(request_from_peer(NET_IPV4(10, 0, 0, 9), peer, peer_ip));
	EXPECT_TRUE(cap.frames.empty());
	EXPECT_EQ(c().arp_rx_not_ours, 1u);
	EXPECT_EQ(net_arp_find(&l3->arp, peer_ip), nullptr);
	EXPECT_EQ(c().arp_cache_add, 0u);
}

TEST_F(NetArp, KnownSenderIsUpdatedEvenWhenNotForUs)
{
	rx(request_from_peer(our_ip, peer, peer_ip));
	cap.frames.clear();
	cap.events.clear();
	net_mac moved = mk_mac(0x22);
	rx(request_from_peer(NET_IPV4(10, 0, 0, 9), moved, peer_ip), 3 * SEC);
	EXPECT_TRUE(cap.frames.empty());
	const net_arp_entry *e = net_arp_find(&l3->arp, peer_ip);
	ASSERT_NE(e, nullptr);
	EXPECT_TRUE(eq(e->mac, moved));
	EXPECT_EQ(e->expire_ns, 3 * SEC + 60 * SEC);
	EXPECT_EQ(c().arp_cache_update, 1u);
	EXPECT_EQ(c().arp_cache_mac_change, 1u);
	ASSERT_EQ(cap.events.size(), 1u);
	EXPECT_EQ(cap.events[0].type, NET_L3_EV_ARP_RESOLVED);
	EXPECT_TRUE(eq(cap.events[0].mac, moved));
	// the same MAC again is a confirmation, not a change
	rx(request_from_peer(NET_IPV4(10, 0, 0, 9), moved, peer_ip), 4 * SEC);
	EXPECT_EQ(c().arp_cache_update, 2u);
	EXPECT_EQ(c().arp_cache_mac_change, 1u);
	EXPECT_EQ(cap.events.size(), 1u);
}

TEST_F(NetArp, ResolveQueuesSendsInOrderOnReply)
{
	EXPECT_EQ(send_to(peer_ip, 0, 1), NET_ARP_QUEUED);
	ASSERT_EQ(cap.frames.size(), 1u);
	ArpFields q = arp_of(cap.frames[0]);
	EXPECT_TRUE(eq(q.eth_dst, net_mac_broadcast));
	EXPECT_EQ(q.op, 1);
	EXPECT_TRUE(eq(q.sha, us));
	EXPECT_EQ(q.spa, our_ip);
	EXPECT_TRUE(net_mac_is_zero(&q.tha));
	EXPECT_EQ(q.tpa, peer_ip);
	EXPECT_EQ(send_to(peer_ip, 10 * MS, 2), NET_ARP_QUEUED);
	EXPECT_EQ(cap.frames.size(), 1u) << "one request per resolution, not per packet";
	EXPECT_EQ(c().arp_pending_queued, 2u);
	rx(reply_from(peer, peer_ip), 20 * MS);
	ASSERT_EQ(cap.frames.size(), 3u);
	for (int i = 0; i < 2; i++) {
		const Bytes &f = cap.frames[1 + i];
		EXPECT_TRUE(eq(mac_at(f, 0), peer));
		EXPECT_TRUE(eq(mac_at(f, 6), us));
		EXPECT_EQ(get16(f, 12), 0x0800);
		EXPECT_EQ(f.at(14 + 20), i + 1) << "queue order";
	}
	EXPECT_EQ(c().arp_pending_sent, 2u);
	ASSERT_EQ(cap.events.size(), 1u);
	EXPECT_EQ(cap.events[0].type, NET_L3_EV_ARP_RESOLVED);
	EXPECT_EQ(cap.events[0].ip, peer_ip);
	// the reply was for us, but it resolved an existing entry: one add
	EXPECT_EQ(c().arp_cache_add, 1u);
}

TEST_F(NetArp, SendingFromTheResolvedEventDoesNotOvertakeQueuedFrames)
{
	EXPECT_EQ(send_to(peer_ip, 0, 1), NET_ARP_QUEUED);
	EXPECT_EQ(send_to(peer_ip, 0, 2), NET_ARP_QUEUED);
	cap.on_event = [this](const net_l3_event &ev) {
		if (ev.type == NET_L3_EV_ARP_RESOLVED) {
			EXPECT_EQ(send_to(ev.ip, MS, 3), NET_ARP_SENT);
		}
	};
	rx(reply_from(peer, peer_ip), MS);
	ASSERT_EQ(cap.frames.size(), 4u);
	for (int i = 0; i < 3; i++)
		EXPECT_EQ(cap.frames[1 + i].at(34), i + 1) << "order";
}

TEST_F(NetArp, PendingQueueIsBoundedPerNextHop)
{
	for (int i = 0; i < 4; i++)
		EXPECT_EQ(send_to(peer_ip, 0, uint8_t(i)), NET_ARP_QUEUED) << i;
	EXPECT_EQ(send_to(peer_ip, 0, 9), NET_ARP_DROPPED);
	EXPECT_EQ(c().arp_pending_drop, 1u);
	EXPECT_EQ(c().ip_tx, 4u) << "a packet dropped behind ARP is not counted as sent";
	EXPECT_EQ(c().arp_pending_queued, 4u);
	rx(reply_from(peer, peer_ip), MS);
	EXPECT_EQ(c().arp_pending_sent, 4u);
	ASSERT_EQ(cap.frames.size(), 5u);
	for (int i = 0; i < 4; i++)
		EXPECT_EQ(cap.frames[1 + i].at(34), i);
}

TEST_F(NetArp, SharedPoolExhaustionDrops)
{
	// 32 slots shared: 9 next hops x 4 packets = 36 wanted
	unsigned queued = 0, dropped = 0;
	for (uint32_t h = 10; h < 19; h++)
		for (int i = 0; i < 4; i++) {
			enum net_arp_out r = send_to(NET_IPV4(10, 0, 0, h), 0);
			queued += r == NET_ARP_QUEUED;
			dropped += r == NET_ARP_DROPPED;
		}
	EXPECT_EQ(queued, unsigned(NET_ARP_PENDING_SLOTS));
	EXPECT_EQ(dropped, 36u - NET_ARP_PENDING_SLOTS);
	EXPECT_EQ(c().arp_pending_drop, dropped);
}

TEST_F(NetArp, RetriesOncePerIntervalThenFails)
{
	EXPECT_EQ(send_to(peer_ip, 0), NET_ARP_QUEUED);
	EXPECT_EQ(send_to(peer_ip, 0), NET_ARP_QUEUED);
	EXPECT_EQ(c().arp_tx_request, 1u);
	net_l3_tick(l3, SEC - 1);
	EXPECT_EQ(c().arp_tx_request, 1u);
	net_l3_tick(l3, SEC);
	EXPECT_EQ(c().arp_tx_request, 2u);
	net_l3_tick(l3, SEC + 500 * MS);
	EXPECT_EQ(c().arp_tx_request, 2u);
	net_l3_tick(l3, 2 * SEC);
	EXPECT_EQ(c().arp_tx_request, 3u);
	EXPECT_TRUE(cap.events.empty());
	net_l3_tick(l3, 3 * SEC);
	EXPECT_EQ(c().arp_tx_request, 3u) << "3 requests, then failure";
	EXPECT_EQ(c().arp_resolve_fail, 1u);
	EXPECT_EQ(c().arp_pending_drop, 2u);
	ASSERT_EQ(cap.events.size(), 1u);
	EXPECT_EQ(cap.events[0].type, NET_L3_EV_ARP_FAILED);
	EXPECT_EQ(cap.events[0].ip, peer_ip);
	EXPECT_EQ(cap.events[0].dropped, 2u);
	EXPECT_EQ(net_arp_find(&l3->arp, peer_ip), nullptr);
	for (size_t i = 0; i < cap.frames.size(); i++) {
		ArpFields q = arp_of(cap.frames[i]);
		EXPECT_EQ(q.op, 1);
		EXPECT_EQ(q.tpa, peer_ip);
	}
	// a late reply is not for a pending resolution: just cached
	rx(reply_from(peer, peer_ip), 4 * SEC);
	EXPECT_EQ(c().arp_pending_sent, 0u);
}

TEST_F(NetArp, OffLinkGoesThroughGateway)
{
	EXPECT_EQ(send_to(NET_IPV4(192, 0, 2, 7), 0), NET_ARP_QUEUED);
	ArpFields q = arp_of(cap.frames.at(0));
	EXPECT_EQ(q.tpa, gw_ip);
	net_mac gw = mk_mac(0xfe);
	rx(reply_from(gw, gw_ip), MS);
	ASSERT_EQ(cap.frames.size(), 2u);
	EXPECT_TRUE(eq(mac_at(cap.frames[1], 0), gw));
	EXPECT_EQ(get32(cap.frames[1], 14 + 16), NET_IPV4(192, 0, 2, 7));
}

TEST_F(NetArp, EntriesAgeOutAndRefreshBeforeExpiry)
{
	rx(reply_from(peer, peer_ip), 0); // unsolicited reply, for us: cached
	ASSERT_NE(net_arp_find(&l3->arp, peer_ip), nullptr);
	cap.frames.clear();
	// in the first 3/4 of its life an entry is used silently
	EXPECT_EQ(send_to(peer_ip, 44 * SEC), NET_ARP_SENT);
	EXPECT_EQ(c().arp_tx_request, 0u);
	// in the last quarter, one unicast request per retry interval
	EXPECT_EQ(send_to(peer_ip, 46 * SEC), NET_ARP_SENT);
	EXPECT_EQ(c().arp_tx_request, 1u);
	ArpFields q = arp_of(cap.frames.at(1));
	EXPECT_TRUE(eq(q.eth_dst, peer)) << "a refresh is unicast";
	EXPECT_EQ(q.tpa, peer_ip);
	EXPECT_EQ(send_to(peer_ip, 46 * SEC + 500 * MS), NET_ARP_SENT);
	EXPECT_EQ(c().arp_tx_request, 1u);
	EXPECT_EQ(send_to(peer_ip, 47 * SEC), NET_ARP_SENT);
	EXPECT_EQ(c().arp_tx_request, 2u);
	// the answer extends the entry
	rx(reply_from(peer, peer_ip), 47 * SEC + MS);
	EXPECT_EQ(net_arp_find(&l3->arp, peer_ip)->expire_ns, 107 * SEC + MS);
	net_l3_tick(l3, 107 * SEC);
	EXPECT_NE(net_arp_find(&l3->arp, peer_ip), nullptr);
	net_l3_tick(l3, 107 * SEC + MS);
	EXPECT_EQ(net_arp_find(&l3->arp, peer_ip), nullptr);
	EXPECT_EQ(c().arp_cache_expire, 1u);
}

TEST_F(NetArp, ExpiredButNotYetAgedEntryIsResolvedAgain)
{
	rx(reply_from(peer, peer_ip), 0);
	cap.frames.clear();
	EXPECT_EQ(send_to(peer_ip, 61 * SEC), NET_ARP_QUEUED);
	ASSERT_EQ(cap.frames.size(), 1u);
	EXPECT_TRUE(eq(arp_of(cap.frames[0]).eth_dst, net_mac_broadcast));
	EXPECT_EQ(c().arp_cache_expire, 1u);
}

TEST_F(NetArp, AnnouncementsOnStart)
{
	net_l3_start(l3, 100 * MS);
	ASSERT_EQ(cap.frames.size(), 1u);
	ArpFields a = arp_of(cap.frames[0]);
	// RFC 5227 2.3: request, sender = target = our address, tha zero
	EXPECT_TRUE(eq(a.eth_dst, net_mac_broadcast));
	EXPECT_EQ(a.op, 1);
	EXPECT_TRUE(eq(a.sha, us));
	EXPECT_EQ(a.spa, our_ip);
	EXPECT_EQ(a.tpa, our_ip);
	EXPECT_TRUE(net_mac_is_zero(&a.tha));
	net_l3_tick(l3, 2 * SEC);
	EXPECT_EQ(cap.frames.size(), 1u);
	net_l3_tick(l3, 2 * SEC + 100 * MS);
	EXPECT_EQ(cap.frames.size(), 2u);
	EXPECT_EQ(arp_of(cap.frames[1]).spa, our_ip);
	net_l3_tick(l3, 10 * SEC);
	EXPECT_EQ(cap.frames.size(), 2u) << "ANNOUNCE_NUM = 2";
	EXPECT_EQ(c().arp_tx_announce, 2u);
}

TEST_F(NetArp, ConflictCountedReportedDefendedAtMostEveryTenSeconds)
{
	net_mac thief = mk_mac(0x66);
	Bytes claim = eth_frame(net_mac_broadcast, thief, 0x0806,
				arp_pkt(1, thief, our_ip, net_mac_zero, our_ip));
	rx(claim, 1 * SEC);
	EXPECT_EQ(c().arp_conflict, 1u);
	ASSERT_EQ(cap.events.size(), 1u);
	EXPECT_EQ(cap.events[0].type, NET_L3_EV_ADDR_CONFLICT);
	EXPECT_EQ(cap.events[0].ip, our_ip);
	EXPECT_TRUE(eq(cap.events[0].mac, thief));
	ASSERT_EQ(cap.frames.size(), 1u);
	EXPECT_EQ(arp_of(cap.frames[0]).spa, our_ip);
	EXPECT_EQ(arp_of(cap.frames[0]).tpa, our_ip);
	rx(claim, 5 * SEC);
	EXPECT_EQ(c().arp_conflict, 2u);
	EXPECT_EQ(cap.frames.size(), 1u) << "no second defence within DEFEND_INTERVAL";
	rx(claim, 11 * SEC);
	EXPECT_EQ(cap.frames.size(), 2u);
	EXPECT_EQ(c().arp_tx_announce, 2u);
	EXPECT_EQ(net_arp_find(&l3->arp, our_ip), nullptr) << "our address is never cached";
}

TEST_F(NetArp, OwnLoopedAnnouncementIgnored)
{
	// a promiscuous port may hand us our own broadcast back (the Ethernet
	// filter drops it by source MAC; ARP alone must not call it a conflict)
	Bytes own = eth_frame(net_mac_broadcast, peer, 0x0806,
			      arp_pkt(1, us, our_ip, net_mac_zero, our_ip));
	rx(own);
	EXPECT_EQ(c().arp_conflict, 0u);
	EXPECT_TRUE(cap.frames.empty());
}

TEST_F(NetArp, ProbeForOurAddressIsAnsweredNothingCached)
{
	net_mac prober = mk_mac(0x44);
	rx(eth_frame(net_mac_broadcast, prober, 0x0806,
		     arp_pkt(1, prober, 0, net_mac_zero, our_ip)));
	ASSERT_EQ(cap.frames.size(), 1u);
	ArpFields r = arp_of(cap.frames[0]);
	EXPECT_EQ(r.op, 2);
	EXPECT_TRUE(eq(r.eth_dst, prober));
	EXPECT_EQ(r.tpa, 0u);
	EXPECT_EQ(c().arp_cache_add, 0u);
}

TEST_F(NetArp, GroupSenderIgnored)
{
	net_mac mc{{0x01, 0, 0x5e, 0, 0, 1}};
	rx(eth_frame(net_mac_broadcast, peer, 0x0806,
		     arp_pkt(1, mc, peer_ip, net_mac_zero, our_ip)));
	EXPECT_EQ(c().arp_rx_bad_sender, 1u);
	EXPECT_TRUE(cap.frames.empty());
	EXPECT_EQ(net_arp_find(&l3->arp, peer_ip), nullptr);
}

TEST_F(NetArp, CacheIsBoundedAndEvictsLeastRecentlyUsed)
{
	// 2000 different senders ask for us: every one is answered and cached,
	// the cache never holds more than its size
	for (uint32_t i = 0; i < 2000; i++) {
		net_mac m{{0x02, 1, uint8_t(i >> 16), uint8_t(i >> 8), uint8_t(i), 0}};
		rx(request_from_peer(our_ip, m, NET_IPV4(10, 1, 0, 0) + i + 1), i * MS);
	}
	EXPECT_EQ(c().arp_tx_reply, 2000u);
	unsigned live = 0;
	for (uint32_t i = 0; i < 2000; i++)
		live += net_arp_find(&l3->arp, NET_IPV4(10, 1, 0, 0) + i + 1) != nullptr;
	EXPECT_LE(live, unsigned(NET_ARP_SETS * NET_ARP_WAYS));
	EXPECT_GT(live, unsigned(NET_ARP_SETS * NET_ARP_WAYS) / 2) << "sets are used evenly";
	EXPECT_EQ(c().arp_cache_add - c().arp_cache_evict, live);
	// the newest sender is always there
	EXPECT_NE(net_arp_find(&l3->arp, NET_IPV4(10, 1, 0, 0) + 2000), nullptr);
}

TEST_F(NetArp, EveryStrictPrefixThroughRxHasNoEffectButACount)
{
	Bytes f = request_from_peer(our_ip, peer, peer_ip);
	for (size_t n = 14; n < f.size(); n++) {
		reinit();
		rx(Bytes(f.begin(), f.begin() + long(n)));
		EXPECT_TRUE(cap.frames.empty()) << n;
		EXPECT_EQ(net_arp_find(&l3->arp, peer_ip), nullptr) << n;
		EXPECT_EQ(c().arp_rx_short, 1u) << n;
		expect_only({NET_L3_C_eth_rx, NET_L3_C_arp_rx, NET_L3_C_arp_rx_short});
	}
	reinit();
	rx(f);
	EXPECT_EQ(cap.frames.size(), 1u);
}

TEST_F(NetArp, TxRefusedIsCountedAndPendingStillSent)
{
	cap.refuse_tx = 1; // the request is lost
	EXPECT_EQ(send_to(peer_ip, 0), NET_ARP_QUEUED);
	EXPECT_EQ(c().eth_tx_fail, 1u);
	EXPECT_TRUE(cap.frames.empty());
	net_l3_tick(l3, SEC); // the retry goes out
	ASSERT_EQ(cap.frames.size(), 1u);
	rx(reply_from(peer, peer_ip), SEC + MS);
	EXPECT_EQ(c().arp_pending_sent, 1u);
}
