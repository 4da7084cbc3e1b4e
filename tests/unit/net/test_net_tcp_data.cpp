// dataplane/net TCP data transfer: delayed ACKs, windows and scaling,
// out-of-order + SACK, segmentation, retransmission (RFC 6298), fast
// retransmit / NewReno (RFC 5681/6582), zero-window probes, keepalive,
// sequence wrap-around, and the timer wheel itself.
#include "test_net_tcp_harness.h"

#include "net_timer.h"

using namespace tcpt;

static std::string pattern(size_t n, unsigned seed = 1)
{
	std::string s(n, 0);
	for (size_t i = 0; i < n; i++)
		s[i] = (char)('a' + (i * 7 + seed) % 26);
	return s;
}

TEST_F(TcpTest, DelayedAckAfter40ms)
{
	start();
	handshake_passive();
	net_tcp_conn *c = conn();
	in(S(ACK | PSH).seq(1001).ack(c->snd_nxt).data(100));
	EXPECT_EQ(H.rcvd[c].size(), 100u);
	run_for(39000);
	no_output();
	run_for(1000);
	Out a = expect(ACK);
	EXPECT_EQ(a.ack(), 1101u);
	EXPECT_EQ(H.ctr(NET_TCP_C_tx_delayed_acks), 1u);
	run_for(100000);
	no_output();
}

TEST_F(TcpTest, AckEverySecondFullSegment)
{
	start();
	handshake_passive();
	net_tcp_conn *c = conn();
	uint32_t rmss = 1460 - 12;
	in(S(ACK).seq(1001).ack(c->snd_nxt).data(rmss));
	no_output();
	in(S(ACK).seq(1001 + rmss).ack(c->snd_nxt).data(rmss));
	EXPECT_EQ(expect(ACK).ack(), 1001 + 2 * rmss);
	EXPECT_EQ(H.ctr(NET_TCP_C_tx_delayed_acks), 0u);
	EXPECT_EQ((c->flags & NET_TCP_F_DELACK), 0u); // the timer is off again
}

TEST_F(TcpTest, OddSizedPayloads)
{
	start();
	handshake_passive();
	net_tcp_conn *c = conn();
	std::string all = pattern(20000);
	size_t sizes[] = {1, 3, 7, 1000, 1, 1447, 1448, 2, 513, 99, 1, 1, 1, 1200};
	size_t off = 0;
	for (int round = 0; off < all.size(); round++) {
		size_t n = std::min(sizes[round % 14], all.size() - off);
		in(S(ACK).seq(1001 + (uint32_t)off).ack(c->snd_nxt).data(all.substr(off, n)));
		off += n;
	}
	EXPECT_EQ(H.rcvd[c], all);
	run_for(40000);
	EXPECT_EQ(H.out.back().ack(), 1001u + 20000u);
	EXPECT_EQ(H.ctr(NET_TCP_C_rx_bytes), 20000u);
}

TEST_F(TcpTest, AppRefusesPartAndWindowFollowsApp)
{
	cfg.rcv_space = 4096;
	start();
	handshake_passive(); // window scale 7 both ways
	net_tcp_conn *c = conn();
	H.accept_limit = 10;
	in(S(ACK).seq(1001).ack(c->snd_nxt).data(100));
	EXPECT_EQ(H.rcvd[c].size(), 10u);
	Out a = expect(ACK); // at once: the rest was refused
	EXPECT_EQ(a.ack(), 1011u);
	EXPECT_EQ(H.ctr(NET_TCP_C_rx_app_refused), 90u);
	// the advertised right edge (1001 + 4096) never moves back
	EXPECT_EQ((uint32_t)a.win() << 7, (4096u - 10u) & ~127u);
	H.accept_limit = SIZE_MAX;
	in(S(ACK).seq(1011).ack(c->snd_nxt).data(990));
	EXPECT_EQ(c->rcv_space, 4096u - 1000u);
	// the application makes room: a window update
	net_tcp_set_rcv_space(&H.st, c, 8192, now);
	Out wu = expect(ACK);
	EXPECT_EQ(wu.ack(), 2001u);
	EXPECT_EQ(wu.win(), 8192 >> 7);
	EXPECT_EQ(H.ctr(NET_TCP_C_tx_window_updates), 1u);
	// a tiny increase is not worth a segment (receiver SWS avoidance)
	net_tcp_set_rcv_space(&H.st, c, 8192 + 100, now);
	no_output();
}

TEST_F(TcpTest, ZeroReceiveWindowAndProbe)
{
	cfg.rcv_space = 1000;
	start();
	handshake_passive(1000, true, 1460, -1); // the peer offers no window scale
	net_tcp_conn *c = conn();
	in(S(ACK).seq(1001).ack(c->snd_nxt).data(1000));
	run_for(40000);
	Out a = expect(ACK);
	EXPECT_EQ(a.ack(), 2001u);
	EXPECT_EQ(a.win(), 0);
	// a zero-window probe: its byte is not taken, the ACK repeats win 0
	in(S(ACK).seq(2001).ack(c->snd_nxt).data("p"));
	Out p = expect(ACK);
	EXPECT_EQ(p.ack(), 2001u);
	EXPECT_EQ(p.win(), 0);
	EXPECT_EQ(H.rcvd[c].size(), 1000u);
	EXPECT_EQ(H.ctr(NET_TCP_C_rx_zero_win_probe), 1u);
	net_tcp_set_rcv_space(&H.st, c, 500, now);
	Out wu = expect(ACK);
	EXPECT_EQ(wu.win(), 500);
	in(S(ACK).seq(2001).ack(c->snd_nxt).data("p"));
	EXPECT_EQ(H.rcvd[c].size(), 1001u);
}

TEST_F(TcpTest, OutOfOrderHeldAndSackBlocksSent)
{
	start();
	handshake_passive();
	net_tcp_conn *c = conn();
	std::string d = pattern(400);
	in(S(ACK).seq(1101).ack(c->snd_nxt).data(d.substr(100, 100)));
	Out a1 = expect(ACK);
	EXPECT_EQ(a1.ack(), 1001u);
	ASSERT_EQ(a1.h.nsack, 1);
	EXPECT_EQ(a1.h.sack[0].start, 1101u);
	EXPECT_EQ(a1.h.sack[0].end, 1201u);
	in(S(ACK).seq(1301).ack(c->snd_nxt).data(d.substr(300, 100)));
	Out a2 = expect(ACK);
	ASSERT_EQ(a2.h.nsack, 2);
	EXPECT_EQ(a2.h.sack[0].start, 1301u); // the latest arrival first (RFC 2018 4)
	EXPECT_EQ(a2.h.sack[1].start, 1101u);
	EXPECT_EQ(H.rcvd[c], "");
	EXPECT_EQ(H.ctr(NET_TCP_C_rx_out_of_order), 2u);
	// an overlapping duplicate does not duplicate bytes
	in(S(ACK).seq(1151).ack(c->snd_nxt).data(d.substr(150, 100)));
	Out a3 = expect(ACK);
	ASSERT_EQ(a3.h.nsack, 2);
	EXPECT_EQ(a3.h.sack[0].start, 1101u);
	EXPECT_EQ(a3.h.sack[0].end, 1251u);
	// fill the first hole: data delivered up to the next hole at once
	in(S(ACK).seq(1001).ack(c->snd_nxt).data(d.substr(0, 100)));
	Out a4 = expect(ACK);
	EXPECT_EQ(a4.ack(), 1251u);
	ASSERT_EQ(a4.h.nsack, 1);
	EXPECT_EQ(a4.h.sack[0].start, 1301u);
	EXPECT_EQ(H.rcvd[c], d.substr(0, 250));
	in(S(ACK).seq(1251).ack(c->snd_nxt).data(d.substr(250, 50)));
	Out a5 = expect(ACK);
	EXPECT_EQ(a5.ack(), 1401u);
	EXPECT_EQ(a5.h.nsack, 0);
	EXPECT_EQ(H.rcvd[c], d);
	EXPECT_EQ(c->ooo_bytes, 0u);
	EXPECT_EQ(H.pool.nfree, H.pool.nblocks);
}

TEST_F(TcpTest, SendSegmentsAtMss)
{
	start();
	uint32_t iss = handshake_passive();
	net_tcp_conn *c = conn();
	std::string d = pattern(5000);
	EXPECT_EQ(net_tcp_send(&H.st, c, d.data(), d.size()), 5000u);
	net_tcp_flush(&H.st, c, now);
	uint32_t lens[] = {1448, 1448, 1448, 656};
	uint32_t seq = iss + 1;
	std::string got;
	for (uint32_t l : lens) {
		Out o = pop();
		EXPECT_EQ(o.seq(), seq);
		EXPECT_EQ(o.data.size(), l);
		EXPECT_EQ(o.h.hlen, 32); // timestamps
		got += o.data;
		seq += l;
		if (l == 656) {
			EXPECT_EQ(flagstr(o.flags()), "P.");
		}
	}
	EXPECT_EQ(got, d);
	no_output();
	in(S(ACK).seq(1001).ack(seq).win(1000));
	EXPECT_EQ(c->snd_una, seq);
	EXPECT_EQ(c->snd_buffered, 0u);
	EXPECT_EQ(H.pool.nfree, H.pool.nblocks);
	EXPECT_GE(H.count_ev(NET_TCP_EV_SENDABLE), 1u);
}

TEST_F(TcpTest, SendBlocksAcrossSmallPoolBlocks)
{
	start(16, 64, 512); // segments span several blocks: iov of up to 4
	uint32_t iss = handshake_passive();
	net_tcp_conn *c = conn();
	std::string d = pattern(3000, 5);
	ASSERT_EQ(net_tcp_send(&H.st, c, d.data(), 1000), 1000u);
	ASSERT_EQ(net_tcp_send(&H.st, c, d.data() + 1000, 2000), 2000u);
	net_tcp_flush(&H.st, c, now);
	std::string got;
	while (!H.out.empty())
		got += pop().data;
	EXPECT_EQ(got, d);
	// partial ACK in the middle of a block, then retransmission from there
	in(S(ACK).seq(1001).ack(iss + 1 + 700).win(1000));
	EXPECT_EQ(c->snd_buffered, 2300u);
	run_for(200000);
	Out r = expect(ACK);
	EXPECT_EQ(r.seq(), iss + 701);
	EXPECT_EQ(r.data, d.substr(700, 1448));
}

// Jumbo frames (MTU 9000): MSS 8960 announced, full segments of the peer's
// MSS less the timestamp option, each spanning up to 6 of the 2 KB send
// blocks (NET_TCP_MAX_IOV), and the bytes arrive intact and in order.
TEST_F(TcpTest, JumboSegmentsSpanSixBlocks)
{
	cfg.mss = net_tcp_mss_for_mtu(9000);
	ASSERT_EQ(cfg.mss, 8960u);
	start(16, 64, 2048);
	uint32_t max_iov = 0;
	H.on_output = [&](const net_tcp_seg_out *so) {
		if (so->iovcnt > max_iov)
			max_iov = so->iovcnt;
	};
	EXPECT_GE(net_tcp_listen(&H.st, 0, LPORT, 8), 0);
	S syn(SYN);
	syn.seq(1000).win(65535).mss(8960).sackok().ts(100, 0).ws(7);
	in(syn);
	Out sa = expect(SYN | ACK);
	EXPECT_TRUE(sa.h.has_mss);
	EXPECT_EQ(sa.h.mss, 8960u); // what we take: our MTU less 40
	S a(ACK);
	a.seq(1001).ack(sa.seq() + 1).win(65535).ts(101, sa.h.tsval);
	in(a);
	net_tcp_conn *c = conn();
	ASSERT_NE(c, nullptr);
	ASSERT_EQ(c->state, NET_TCP_ESTABLISHED);
	EXPECT_EQ(c->mss, 8960u - 12u); // RFC 6691: room for the timestamp option
	std::string d = pattern(4 * 8948 + 100, 9);
	// in pieces that leave the blocks' edges away from the segments' edges
	ASSERT_EQ(net_tcp_send(&H.st, c, d.data(), 777), 777u);
	ASSERT_EQ(net_tcp_send(&H.st, c, d.data() + 777, d.size() - 777), d.size() - 777);
	net_tcp_flush(&H.st, c, now);
	std::string got;
	size_t full = 0;
	while (!H.out.empty()) {
		Out o = pop();
		EXPECT_LE(o.data.size(), 8948u);
		full += o.data.size() == 8948u;
		got += o.data;
	}
	EXPECT_EQ(got, d);
	EXPECT_EQ(full, 4u);
	EXPECT_GE(max_iov, 5u); // 8948 bytes over 2048-byte blocks
	EXPECT_LE(max_iov, (uint32_t)NET_TCP_MAX_IOV);
}

// An MSS whose full segment would need more iovecs than a net_tcp_seg_out
// has is refused at set-up, not cut short on the wire.
TEST(TcpStackInit, RefusesAnMssTheBlocksCannotCarry)
{
	net_tcp_cfg cfg;
	net_tcp_cfg_default(&cfg);
	cfg.mss = 8960;
	std::vector<net_tcp_conn> conns(4);
	std::vector<uint32_t> heads(64 + 1);
	net_tcp_ops ops = {nullptr, nullptr, nullptr};
	for (uint32_t bsize : {1024u, 2048u}) {
		std::vector<uint8_t> mem(net_tcp_pool_mem_size(16, bsize));
		net_tcp_pool pool;
		ASSERT_EQ(net_tcp_pool_init(&pool, mem.data(), mem.size(), bsize), 0);
		net_tcp_stack st;
		int rc = net_tcp_stack_init(&st, &cfg, &ops, nullptr, conns.data(), 4, &pool,
					    heads.data(), 64, 0);
		if (bsize == 1024)
			EXPECT_EQ(rc, -1) << "8960 bytes over 1 KB blocks: 10 iovecs";
		else
			EXPECT_EQ(rc, 0) << "8960 bytes over 2 KB blocks: 6 iovecs";
	}
	EXPECT_EQ(net_tcp_mss_for_mtu(1500), 1460u);
	EXPECT_EQ(net_tcp_mss_for_mtu(576), 536u);
}

TEST_F(TcpTest, RetransmitBackoffAndGiveUp)
{
	cfg.data_retries = 3;
	start();
	uint32_t iss = handshake_passive();
	net_tcp_conn *c = conn();
	net_tcp_send(&H.st, c, "data", 4);
	net_tcp_flush(&H.st, c, now);
	expect(ACK | PSH);
	uint64_t rto = 200000; // the minimum after a ~0 RTT sample
	for (int i = 0; i < 3; i++) {
		run_for(rto - 1000);
		no_output();
		run_for(1000);
		Out r = expect(ACK | PSH);
		EXPECT_EQ(r.seq(), iss + 1);
		EXPECT_EQ(r.data, "data");
		EXPECT_EQ(c->cwnd, c->mss); // loss window
		rto *= 2;
	}
	EXPECT_EQ(H.ctr(NET_TCP_C_rto_timeouts), 3u);
	run_for(rto);
	Out rst = expect(RST | ACK);
	EXPECT_EQ(rst.seq(), iss + 5);
	ASSERT_EQ(H.count_ev(NET_TCP_EV_CLOSED), 1u);
	EXPECT_EQ(H.evs[H.evs.size() - 2].why, NET_TCP_CLOSE_TIMEOUT);
	EXPECT_EQ(H.ctr(NET_TCP_C_conn_timeouts), 1u);
	EXPECT_EQ(H.pool.nfree, H.pool.nblocks);
}

// RFC 6298 2.2 / 2.3 with K = 4, alpha 1/8, beta 1/4; Karn's rule (3).
TEST_F(TcpTest, RttEstimationNumbers)
{
	cfg.rto_min_us = 1000;
	start();
	net_tcp_conn *c = H.connect(LADDR, LPORT, RADDR, RPORT, now);
	uint32_t iss = expect(SYN).seq();
	advance(10000);
	in(S(SYN | ACK).seq(1000).ack(iss + 1).win(65535).mss(1460));
	expect(ACK);
	EXPECT_EQ(c->srtt, 10000u);
	EXPECT_EQ(c->rttvar, 5000u);
	EXPECT_EQ(c->rto, 30000u); // 10000 + 4 * 5000
	uint32_t seq = iss + 1;
	auto round = [&](uint64_t rtt) {
		net_tcp_send(&H.st, c, "x", 1);
		net_tcp_flush(&H.st, c, now);
		expect(ACK | PSH);
		advance(rtt);
		seq += 1;
		in(S(ACK).seq(1001).ack(seq).win(65535));
	};
	round(20000);
	EXPECT_EQ(c->rttvar, 6250u); // (3 * 5000 + |10000 - 20000|) / 4
	EXPECT_EQ(c->srtt, 11250u);  // (7 * 10000 + 20000) / 8
	EXPECT_EQ(c->rto, 36250u);
	round(5000);
	EXPECT_EQ(c->rttvar, 6250u); // (3 * 6250 + 6250) / 4
	EXPECT_EQ(c->srtt, 10468u);  // (7 * 11250 + 5000) / 8
	EXPECT_EQ(c->rto, 35468u);
	EXPECT_EQ(H.ctr(NET_TCP_C_rtt_samples), 3u);
	// Karn: the ACK of a retransmitted segment gives no sample, and the
	// backed-off RTO stays until a valid one
	net_tcp_send(&H.st, c, "y", 1);
	net_tcp_flush(&H.st, c, now);
	expect(ACK | PSH);
	run_for(36000);
	expect(ACK | PSH); // retransmitted
	EXPECT_EQ(c->backoff, 1);
	advance(1000);
	seq += 1;
	in(S(ACK).seq(1001).ack(seq).win(65535));
	EXPECT_EQ(H.ctr(NET_TCP_C_rtt_samples), 3u);
	EXPECT_EQ(c->backoff, 1);
	round(8000);
	EXPECT_EQ(H.ctr(NET_TCP_C_rtt_samples), 4u);
	EXPECT_EQ(c->backoff, 0);
}

// RFC 5681 3.2 + RFC 6582: three duplicate ACKs, inflation, partial and
// full ACKs, with the exact window arithmetic.
TEST_F(TcpTest, FastRetransmitNewReno)
{
	start();
	uint32_t iss = handshake_passive(1000, true, 1460, 0);
	net_tcp_conn *c = conn();
	const uint32_t mss = 1448;
	ASSERT_EQ(c->mss, mss);
	std::string d = pattern(10 * mss);
	net_tcp_send(&H.st, c, d.data(), d.size());
	net_tcp_flush(&H.st, c, now);
	EXPECT_EQ(H.out.size(), 10u); // initial window 10 segments (RFC 6928)
	H.out.clear();
	uint32_t una = iss + 1;
	for (int i = 0; i < 2; i++)
		in(S(ACK).seq(1001).ack(una).win(65535));
	no_output();
	EXPECT_EQ(c->dupacks, 2);
	in(S(ACK).seq(1001).ack(una).win(65535));
	Out fr = expect(ACK);
	EXPECT_EQ(fr.seq(), una);
	EXPECT_EQ(fr.data, d.substr(0, mss));
	EXPECT_EQ(H.ctr(NET_TCP_C_fast_retransmits), 1u);
	EXPECT_EQ(c->ssthresh, 5 * mss);        // FlightSize / 2
	EXPECT_EQ(c->cwnd, 5 * mss + 3 * mss);  // ssthresh + 3 SMSS
	EXPECT_EQ(c->recover, iss + 1 + 10 * mss);
	in(S(ACK).seq(1001).ack(una).win(65535));
	EXPECT_EQ(c->cwnd, 9 * mss); // inflated by one SMSS per further dup ACK
	no_output();
	EXPECT_EQ(H.ctr(NET_TCP_C_rx_dup_acks), 4u);
	// partial ACK: three segments, the fourth also lost
	in(S(ACK).seq(1001).ack(una + 3 * mss).win(65535));
	Out pr = expect(ACK);
	EXPECT_EQ(pr.seq(), una + 3 * mss);
	EXPECT_EQ(pr.data, d.substr(3 * mss, mss));
	EXPECT_EQ(H.ctr(NET_TCP_C_partial_ack_rexmit), 1u);
	EXPECT_EQ(c->cwnd, 9 * mss - 3 * mss + mss); // deflate, add back one SMSS
	EXPECT_TRUE(c->flags & NET_TCP_F_RECOVERY);
	// full ACK: recovery ends with cwnd = min(ssthresh, FlightSize + SMSS)
	in(S(ACK).seq(1001).ack(una + 10 * mss).win(65535));
	EXPECT_FALSE(c->flags & NET_TCP_F_RECOVERY);
	EXPECT_EQ(c->cwnd, 2 * mss); // flight 0 -> max(0, SMSS) + SMSS
	EXPECT_EQ(H.ctr(NET_TCP_C_retransmits), 2u);
	no_output();
}

TEST_F(TcpTest, DupAcksWithWindowChangeAreNotDuplicates)
{
	start();
	uint32_t iss = handshake_passive(1000, true, 1460, 0);
	net_tcp_conn *c = conn();
	std::string d = pattern(5000);
	net_tcp_send(&H.st, c, d.data(), d.size());
	net_tcp_flush(&H.st, c, now);
	H.out.clear();
	for (int i = 0; i < 3; i++)
		in(S(ACK).seq(1001).ack(iss + 1).win((uint16_t)(60000 + i)));
	EXPECT_EQ(H.ctr(NET_TCP_C_fast_retransmits), 0u);
	EXPECT_EQ(H.ctr(NET_TCP_C_rx_dup_acks), 0u);
	(void)c;
}

TEST_F(TcpTest, SackScoreboard)
{
	start();
	uint32_t iss = handshake_passive(1000, true, 1460, 0);
	net_tcp_conn *c = conn();
	const uint32_t mss = 1448;
	std::string d = pattern(8 * mss);
	net_tcp_send(&H.st, c, d.data(), d.size());
	net_tcp_flush(&H.st, c, now);
	H.out.clear();
	uint32_t una = iss + 1;
	// stale and invalid blocks are ignored
	in(S(ACK).seq(1001).ack(una).win(65535).sack(una - 100, una - 50));
	in(S(ACK).seq(1001).ack(una).win(65535).sack(una + 100, una + 100 + 20 * mss));
	EXPECT_EQ(c->sack_n, 0);
	// adjacent blocks merge
	in(S(ACK).seq(1001).ack(una).win(65535).sack(una + 2 * mss, una + 3 * mss));
	in(S(ACK).seq(1001).ack(una).win(65535).sack(una + 3 * mss, una + 4 * mss).sack(
		una + 6 * mss, una + 7 * mss));
	ASSERT_EQ(c->sack_n, 2);
	EXPECT_EQ(c->sack_sb[0].start, una + 2 * mss);
	EXPECT_EQ(c->sack_sb[0].end, una + 4 * mss);
	EXPECT_EQ(c->sack_sb[1].start, una + 6 * mss);
	// those were dup ACKs 1-4: the third fast-retransmitted the first segment
	EXPECT_EQ(H.ctr(NET_TCP_C_fast_retransmits), 1u);
	Out fr = expect(ACK);
	EXPECT_EQ(fr.seq(), una);
	EXPECT_EQ(fr.data.size(), mss);
	H.out.clear();
	// a partial ACK inside the first hole: the retransmission stops where
	// the peer's SACKed range begins
	in(S(ACK).seq(1001).ack(una + 1000).win(65535).sack(una + 2 * mss, una + 4 * mss));
	Out pr = expect(ACK);
	EXPECT_EQ(pr.seq(), una + 1000);
	EXPECT_EQ(pr.data.size(), mss); // up to 2*mss: a full one
	in(S(ACK).seq(1001).ack(una + mss + 1000).win(65535).sack(una + 2 * mss, una + 4 * mss));
	Out pr2 = expect(ACK);
	EXPECT_EQ(pr2.seq(), una + mss + 1000);
	EXPECT_EQ(pr2.data.size(), mss - 1000u); // the hole's remainder only
	EXPECT_EQ(pr2.data, d.substr(mss + 1000, mss - 1000));
	// acked past a range: pruned
	in(S(ACK).seq(1001).ack(una + 5 * mss).win(65535));
	ASSERT_EQ(c->sack_n, 1);
	EXPECT_EQ(c->sack_sb[0].start, una + 6 * mss);
}

TEST_F(TcpTest, ZeroWindowProbes)
{
	start();
	uint32_t iss = handshake_passive(1000, true, 1460, 0);
	net_tcp_conn *c = conn();
	in(S(ACK).seq(1001).ack(iss + 1).win(0));
	EXPECT_EQ(c->snd_wnd, 0u);
	net_tcp_send(&H.st, c, "hello", 5);
	net_tcp_flush(&H.st, c, now);
	no_output();
	run_for(200000);
	Out p1 = expect(ACK);
	EXPECT_EQ(p1.seq(), iss + 1);
	EXPECT_EQ(p1.data, "h");
	EXPECT_EQ(H.ctr(NET_TCP_C_zero_win_probes), 1u);
	in(S(ACK).seq(1001).ack(iss + 1).win(0)); // still closed
	run_for(399000);
	no_output();
	run_for(1000);
	EXPECT_EQ(expect(ACK).data, "h"); // backed off to 400 ms
	// the probes never give up while answered (beyond data_retries)
	for (int i = 0; i < 20; i++) {
		in(S(ACK).seq(1001).ack(iss + 1).win(0));
		run_for(60000000);
	}
	EXPECT_EQ(H.count_ev(NET_TCP_EV_CLOSED), 0u);
	EXPECT_GE(H.ctr(NET_TCP_C_zero_win_probes), 22u);
	EXPECT_EQ(H.ctr(NET_TCP_C_conn_timeouts), 0u);
	// the interval is capped at the maximum RTO (60 s)
	uint64_t probes = H.ctr(NET_TCP_C_zero_win_probes);
	run_for(60000000);
	EXPECT_EQ(H.ctr(NET_TCP_C_zero_win_probes), probes + 1);
	H.out.clear();
	// the window opens (and the probe byte was taken)
	in(S(ACK).seq(1001).ack(iss + 2).win(1000));
	Out d = expect(ACK | PSH);
	EXPECT_EQ(d.seq(), iss + 2);
	EXPECT_EQ(d.data, "ello");
	EXPECT_FALSE(c->flags & NET_TCP_F_PERSIST);
	EXPECT_TRUE(c->flags & NET_TCP_F_REXMT);
}

TEST_F(TcpTest, Keepalive)
{
	cfg.keep_idle_us = 1000000;
	cfg.keep_intvl_us = 100000;
	cfg.keep_cnt = 2;
	start();
	uint32_t iss = handshake_passive();
	net_tcp_conn *c = conn();
	run_for(999000);
	no_output();
	run_for(1000);
	Out k = expect(ACK);
	EXPECT_EQ(k.seq(), iss); // SND.NXT - 1 (RFC 9293 3.8.4)
	EXPECT_EQ(k.data.size(), 0u);
	in(S(ACK).seq(1001).ack(iss + 1));
	run_for(999000);
	no_output(); // the answer restarted the idle time
	run_for(1000);
	expect(ACK);
	run_for(100000);
	expect(ACK);
	EXPECT_EQ(H.ctr(NET_TCP_C_keepalive_probes), 3u);
	run_for(100000);
	expect(RST | ACK);
	ASSERT_EQ(H.count_ev(NET_TCP_EV_CLOSED), 1u);
	EXPECT_EQ(H.evs[H.evs.size() - 2].why, NET_TCP_CLOSE_KEEPALIVE);
	(void)c;
}

TEST_F(TcpTest, WindowScalingBothWays)
{
	start();
	uint32_t iss = handshake_passive(1000, true, 1460, 3);
	net_tcp_conn *c = conn();
	in(S(ACK).seq(1001).ack(iss + 1).win(100)); // 100 << 3 = 800 bytes
	EXPECT_EQ(c->snd_wnd, 800u);
	std::string d = pattern(2000);
	net_tcp_send(&H.st, c, d.data(), d.size());
	net_tcp_flush(&H.st, c, now);
	Out o = pop();
	EXPECT_EQ(o.data.size(), 800u);
	EXPECT_EQ(o.win(), (256 * 1024) >> 7); // ours scaled by 7
	no_output();
	in(S(ACK).seq(1001).ack(iss + 801).win(1000));
	Out o2 = pop();
	EXPECT_EQ(o2.data.size(), 1200u);
}

TEST_F(TcpTest, SequenceWrapBothDirections)
{
	// pick the clock so that our ISS is 0xffffff00 (RFC 6528: hash + clock)
	uint32_t h0 = net_tcp_isn(cfg.isn_key, LADDR, LPORT, RADDR, RPORT, 0);
	now = (uint64_t)((0xffffff00u - h0) & 0xffffffffu) * 4 + 4ull * 0x100000000ull;
	start();
	uint32_t irs = 0xfffffff0u;
	uint32_t iss = handshake_passive(irs, true, 1460, 0);
	EXPECT_EQ(iss, 0xffffff00u);
	net_tcp_conn *c = conn();
	// receive across 2^32
	std::string rd = pattern(100, 3);
	in(S(ACK).seq(irs + 1).ack(iss + 1).data(rd.substr(0, 60)));
	in(S(ACK).seq(irs + 61).ack(iss + 1).data(rd.substr(60)));
	EXPECT_EQ(H.rcvd[c], rd);
	EXPECT_EQ(c->rcv_nxt, (uint32_t)(irs + 101));
	run_for(40000);
	EXPECT_EQ(expect(ACK).ack(), 0x55u);
	// send across 2^32, with a retransmission straddling it
	std::string sd = pattern(3000, 4);
	net_tcp_send(&H.st, c, sd.data(), sd.size());
	net_tcp_flush(&H.st, c, now);
	EXPECT_EQ(H.out.size(), 3u);
	H.out.clear();
	in(S(ACK).seq(irs + 101).ack(iss + 1 + 200));
	EXPECT_EQ(c->snd_una, 0xffffffc9u);
	run_for(200000);
	Out r = expect(ACK);
	EXPECT_EQ(r.seq(), 0xffffffc9u);
	EXPECT_EQ(r.data, sd.substr(200, 1448));
	in(S(ACK).seq(irs + 101).ack(iss + 1 + 3000));
	EXPECT_EQ(c->snd_una, (uint32_t)(iss + 3001));
	EXPECT_EQ(c->snd_buffered, 0u);
	EXPECT_LT(c->snd_una, 0x1000u);
}

TEST_F(TcpTest, CountersHaveNames)
{
	EXPECT_STREQ(net_tcp_counter_names[NET_TCP_C_rx_segments], "rx_segments");
	EXPECT_STREQ(net_tcp_counter_names[NET_TCP_C_snd_no_block], "snd_no_block");
	EXPECT_STREQ(net_tcp_state_name(NET_TCP_TIME_WAIT), "TIME_WAIT");
	EXPECT_LE(sizeof(net_tcp_conn), 384u);
}

// ---- the timer wheel on its own ----
struct TNode {
	net_timer_node n;
	int fired = 0;
};

TEST(NetTimer, InsertCancelAndRevolutions)
{
	std::vector<TNode> nodes(8);
	std::vector<uint32_t> heads(17);
	net_timer_wheel w;
	ASSERT_EQ(net_timer_init(&w, heads.data(), 16, nodes.data(), sizeof(TNode), 100), 0);
	EXPECT_NE(net_timer_init(&w, heads.data(), 12, nodes.data(), sizeof(TNode), 100), 0);
	ASSERT_EQ(net_timer_init(&w, heads.data(), 16, nodes.data(), sizeof(TNode), 100), 0);
	for (auto &t : nodes)
		net_timer_node_init(&t.n);
	std::vector<uint32_t> order;
	auto fn = [](void *ctx, uint32_t i) { ((std::vector<uint32_t> *)ctx)->push_back(i); };
	net_timer_arm(&w, 0, 105);
	net_timer_arm(&w, 1, 105 + 16);  // same slot, next revolution
	net_timer_arm(&w, 2, 105 + 100); // many revolutions
	net_timer_arm(&w, 3, 90);        // in the past: next tick
	net_timer_arm(&w, 4, 110);
	net_timer_cancel(&w, 4);
	net_timer_cancel(&w, 4); // twice is harmless
	EXPECT_EQ(w.armed, 4u);
	EXPECT_EQ(net_timer_advance(&w, 101, fn, &order), 1u);
	EXPECT_EQ(order, (std::vector<uint32_t>{3}));
	EXPECT_EQ(net_timer_advance(&w, 104, fn, &order), 0u);
	EXPECT_EQ(net_timer_advance(&w, 105, fn, &order), 1u);
	EXPECT_EQ(order.back(), 0u);
	EXPECT_EQ(net_timer_advance(&w, 120, fn, &order), 0u);
	EXPECT_EQ(net_timer_advance(&w, 121, fn, &order), 1u);
	EXPECT_EQ(order.back(), 1u);
	// a jump of many revolutions fires the far timer once, bounded work
	EXPECT_EQ(net_timer_advance(&w, 100000, fn, &order), 1u);
	EXPECT_EQ(order.back(), 2u);
	EXPECT_EQ(w.armed, 0u);
	// re-arm moves a node; wrap-around of the tick counter
	ASSERT_EQ(net_timer_init(&w, heads.data(), 16, nodes.data(), sizeof(TNode), 0xfffffffeu), 0);
	order.clear();
	net_timer_arm(&w, 5, 0xffffffffu);
	net_timer_arm(&w, 5, 3);
	EXPECT_EQ(net_timer_advance(&w, 0xffffffffu, fn, &order), 0u);
	EXPECT_EQ(net_timer_advance(&w, 3, fn, &order), 1u);
	EXPECT_EQ(order, (std::vector<uint32_t>{5}));
}

// ---- regressions found by the loopback test, and smaller rules ----

TEST_F(TcpTest, PureAckCarriesSndMaxAfterTimeout)
{
	start();
	uint32_t iss = handshake_passive(1000, true, 1460, 0);
	net_tcp_conn *c = conn();
	std::string d = pattern(3000);
	net_tcp_send(&H.st, c, d.data(), d.size());
	net_tcp_flush(&H.st, c, now);
	H.out.clear();
	run_for(200000); // RTO: back to SND.UNA, one segment (cwnd 1 MSS)
	EXPECT_EQ(expect(ACK).seq(), iss + 1);
	EXPECT_EQ(c->snd_nxt, iss + 1 + 1448);
	// data from the peer: our ACK must use SND.MAX, the peer's RCV.NXT
	in(S(ACK).seq(1001).ack(iss + 1).data(2 * 1448));
	Out a = expect(ACK);
	EXPECT_EQ(a.seq(), iss + 1 + 3000);
	EXPECT_EQ(a.data.size(), 0u);
}

TEST_F(TcpTest, FastRetransmitNeverPastSndMax)
{
	start();
	uint32_t iss = handshake_passive(1000, true, 1460, 0);
	net_tcp_conn *c = conn();
	in(S(ACK).seq(1001).ack(iss + 1).win(100));
	std::string d = pattern(1000);
	net_tcp_send(&H.st, c, d.data(), d.size());
	net_tcp_flush(&H.st, c, now);
	EXPECT_EQ(pop().data.size(), 100u); // the window allows 100
	for (int i = 0; i < 3; i++)
		in(S(ACK).seq(1001).ack(iss + 1).win(100));
	Out fr = expect(ACK);
	EXPECT_EQ(fr.seq(), iss + 1);
	EXPECT_EQ(fr.data.size(), 100u); // not a full MSS of unsent data
	EXPECT_EQ(c->snd_max, iss + 101);
}

TEST_F(TcpTest, ActiveOpenFirstAckAdvertisesRealWindow)
{
	cfg.rcv_space = 20000;
	start();
	net_tcp_conn *c = H.connect(LADDR, LPORT, RADDR, RPORT, now);
	uint32_t iss = expect(SYN).seq();
	in(S(SYN | ACK).seq(0x90000000u).ack(iss + 1).win(65535).mss(1460).ws(0));
	Out a = expect(ACK);
	EXPECT_EQ((uint32_t)a.win() << 7, 20000u & ~127u);
	EXPECT_EQ(c->rcv_adv, 0x90000001u + (20000u & ~127u));
}

TEST_F(TcpTest, RefusedBytesOfferedAgainWhenRoomIsMade)
{
	start();
	handshake_passive();
	net_tcp_conn *c = conn();
	std::string d = pattern(300);
	// out of order first, then the hole: the app takes only 150 of 300
	in(S(ACK).seq(1101).ack(c->snd_nxt).data(d.substr(100)));
	H.out.clear();
	size_t budget = 150;
	H.on_recv = [&](net_tcp_conn *cc, const uint8_t *p, size_t n) {
		n = std::min(n, budget);
		budget -= n;
		H.rcvd[cc].append((const char *)p, n);
		return n;
	};
	in(S(ACK).seq(1001).ack(c->snd_nxt).data(d.substr(0, 100)));
	EXPECT_EQ(H.rcvd[c], d.substr(0, 150));
	Out a = expect(ACK);
	EXPECT_EQ(a.ack(), 1151u);
	ASSERT_EQ(a.h.nsack, 1); // the held rest, from RCV.NXT on
	EXPECT_EQ(a.h.sack[0].start, 1151u);
	EXPECT_EQ(a.h.sack[0].end, 1301u);
	budget = SIZE_MAX;
	net_tcp_set_rcv_space(&H.st, c, 100000, now);
	EXPECT_EQ(H.rcvd[c], d);
	Out a2 = expect(ACK);
	EXPECT_EQ(a2.ack(), 1301u);
	EXPECT_EQ(a2.h.nsack, 0);
	EXPECT_EQ(H.pool.nfree, H.pool.nblocks);
}

TEST_F(TcpTest, CwndGrowsOnlyWhenItLimits)
{
	start();
	uint32_t iss = handshake_passive(1000, true, 1460, 0);
	net_tcp_conn *c = conn();
	uint32_t cw = c->cwnd;
	uint32_t seq = iss + 1;
	for (int i = 0; i < 50; i++) { // one small segment at a time: app-limited
		net_tcp_send(&H.st, c, "abc", 3);
		net_tcp_flush(&H.st, c, now);
		seq += 3;
		in(S(ACK).seq(1001).ack(seq).win(65535));
	}
	EXPECT_EQ(c->cwnd, cw);
	std::string d = pattern(20 * 1448);
	net_tcp_send(&H.st, c, d.data(), d.size());
	net_tcp_flush(&H.st, c, now);
	in(S(ACK).seq(1001).ack(seq + 1448).win(65535));
	EXPECT_EQ(c->cwnd, cw + 1448); // slow start while cwnd-limited
}

TEST_F(TcpTest, ChecksumOffloadLeavesPseudoHeaderSum)
{
	cfg.csum_offload = true;
	start();
	ASSERT_GE(net_tcp_listen(&H.st, 0, LPORT, 8), 0);
	in(S(SYN).seq(1000).mss(1460).badcsum()); // input trusted: the NIC checked
	ASSERT_EQ(H.out.size(), 1u);
	Out sa = H.out.front();
	EXPECT_EQ(H.ctr(NET_TCP_C_rx_bad_csum), 0u);
	EXPECT_FALSE(sa.csum_ok);
	uint16_t field = net_get16(sa.raw.data() + 16);
	EXPECT_EQ(field, net_csum_pseudo4_folded(LADDR, RADDR, 6, (uint16_t)sa.raw.size()));
	// what the NIC does: sum from the field on, complement
	std::vector<uint8_t> r = sa.raw;
	struct net_csum cs;
	net_csum_init(&cs);
	net_csum_add(&cs, r.data(), r.size());
	net_put16(r.data() + 16, net_csum_finish(&cs));
	net_csum_init(&cs);
	net_csum_pseudo4(&cs, LADDR, RADDR, 6, (uint16_t)r.size());
	net_csum_add(&cs, r.data(), r.size());
	EXPECT_EQ(net_csum_finish(&cs), 0);
}

TEST_F(TcpTest, DataWithTheHandshakeAck)
{
	start();
	ASSERT_GE(net_tcp_listen(&H.st, 0, LPORT, 8), 0);
	in(S(SYN).seq(1000).mss(1460));
	Out sa = expect(SYN | ACK);
	in(S(ACK | PSH).seq(1001).ack(sa.seq() + 1).data("early"));
	net_tcp_conn *c = conn();
	ASSERT_NE(c, nullptr);
	EXPECT_EQ(c->state, NET_TCP_ESTABLISHED);
	EXPECT_EQ(H.rcvd[c], "early");
	ASSERT_GE(H.evs.size(), 2u);
	EXPECT_EQ(H.evs[1].ev, NET_TCP_EV_ESTABLISHED); // before the bytes
}

TEST_F(TcpTest, KeepaliveStopsAtShutdownAndFinWait2TimesOut)
{
	cfg.keep_idle_us = 1000000;
	cfg.fin_wait_2_us = 3000000;
	start();
	uint32_t iss = handshake_passive();
	net_tcp_conn *c = conn();
	net_tcp_shutdown(&H.st, c, now);
	expect(FIN | ACK);
	in(S(ACK).seq(1001).ack(iss + 2));
	EXPECT_EQ(c->state, NET_TCP_FIN_WAIT_2);
	run_for(2999000);
	no_output(); // no keepalive probe in FIN-WAIT-2
	EXPECT_EQ(H.count_ev(NET_TCP_EV_CLOSED), 0u);
	run_for(1000);
	ASSERT_EQ(H.count_ev(NET_TCP_EV_CLOSED), 1u);
	EXPECT_EQ(H.evs[H.evs.size() - 2].why, NET_TCP_CLOSE_TIMEOUT);
	EXPECT_EQ(H.count_ev(NET_TCP_EV_FREE), 1u);
	no_output();
}

TEST_F(TcpTest, TimeoutRetransmitsIntoAShrunkWindow)
{
	start();
	uint32_t iss = handshake_passive(1000, true, 1460, 0);
	net_tcp_conn *c = conn();
	std::string d = pattern(3000);
	net_tcp_send(&H.st, c, d.data(), d.size());
	net_tcp_flush(&H.st, c, now);
	H.out.clear();
	in(S(ACK).seq(1001).ack(iss + 1 + 1000).win(0)); // the peer shrinks to zero
	run_for(200000);
	Out r = expect(ACK);
	EXPECT_EQ(r.seq(), iss + 1001);
	EXPECT_EQ(r.data, d.substr(1000, 1448));
	no_output();
	EXPECT_EQ(H.ctr(NET_TCP_C_rto_timeouts), 1u);
}

TEST_F(TcpTest, SegmentsLeaveRoomForSackBlocks)
{
	start();
	uint32_t iss = handshake_passive(1000, true, 1460, 0);
	net_tcp_conn *c = conn();
	in(S(ACK).seq(1101).ack(iss + 1).data(100)); // a hole: we hold data
	expect(ACK);
	std::string d = pattern(3000);
	net_tcp_send(&H.st, c, d.data(), d.size());
	net_tcp_flush(&H.st, c, now);
	Out o = pop();
	EXPECT_EQ(o.h.nsack, 1);
	EXPECT_EQ(o.data.size(), 1448u - 28u);
	EXPECT_LE(o.raw.size(), 1460u + 20u); // within the peer's MSS + headers
	// and at full size again once the hole is filled
	in(S(ACK).seq(1001).ack(iss + 1 + 3000).data(100));
	EXPECT_EQ(c->ooo_head, NET_TCP_NONE);
	H.out.clear();
	net_tcp_send(&H.st, c, d.data(), d.size());
	net_tcp_flush(&H.st, c, now);
	Out o2 = pop();
	EXPECT_EQ(o2.h.nsack, 0);
	EXPECT_EQ(o2.data.size(), 1448u);
}

// SENDABLE wakes the writer only once the free send space is at least half
// of what is still queued (net_tcp_in.c, as Linux's sk_stream_write_space):
// a peer acknowledging a little at a time must not look like a reader.
TEST_F(TcpTest, SendableOnlyWhenHalfOfQueuedIsFree)
{
	cfg.snd_buf = 9000;
	start();
	uint32_t iss = handshake_passive();
	net_tcp_conn *c = conn();
	std::string d = pattern(9000);
	ASSERT_EQ(net_tcp_send(&H.st, c, d.data(), d.size()), 9000u);
	EXPECT_EQ(net_tcp_send_space(&H.st, c), 0u);
	net_tcp_flush(&H.st, c, now);
	H.out.clear();
	size_t before = H.count_ev(NET_TCP_EV_SENDABLE);
	// 1448 free, 7552 queued: less than half
	in(S(ACK).seq(1001).ack(iss + 1 + 1448).win(1000));
	EXPECT_EQ(c->snd_buffered, 7552u);
	EXPECT_EQ(H.count_ev(NET_TCP_EV_SENDABLE), before);
	// 2896 free, 6104 queued: still less than half
	in(S(ACK).seq(1001).ack(iss + 1 + 2896).win(1000));
	EXPECT_EQ(H.count_ev(NET_TCP_EV_SENDABLE), before);
	// 4344 free, 4656 queued: at least half -> one wake-up
	in(S(ACK).seq(1001).ack(iss + 1 + 4344).win(1000));
	EXPECT_EQ(net_tcp_send_space(&H.st, c), 4344u);
	EXPECT_EQ(H.count_ev(NET_TCP_EV_SENDABLE), before + 1);
	// everything acknowledged: free space is the whole buffer
	in(S(ACK).seq(1001).ack(iss + 1 + 9000).win(1000));
	EXPECT_EQ(H.count_ev(NET_TCP_EV_SENDABLE), before + 2);
	EXPECT_EQ(c->snd_buffered, 0u);
}
