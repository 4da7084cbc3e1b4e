// dataplane/net TCP: the RFC 9293 state diagram (3.3.2, Figure 5), the
// handshake and its options, RST rules (3.5.2, RFC 5961), TIME-WAIT.
#include "test_net_tcp_harness.h"

using namespace tcpt;

TEST_F(TcpTest, PassiveOpenNegotiatesOptions)
{
	start();
	ASSERT_GE(net_tcp_listen(&H.st, 0, LPORT, 8), 0);
	in(S(SYN).seq(1000).win(65535).mss(1400).sackok().ts(100, 0).ws(5));
	ASSERT_EQ(H.evs.size(), 1u);
	EXPECT_EQ(H.evs[0].ev, NET_TCP_EV_NEW);
	net_tcp_conn *c = conn();
	ASSERT_NE(c, nullptr);
	EXPECT_EQ(c->state, NET_TCP_SYN_RECEIVED);
	Out sa = expect(SYN | ACK);
	EXPECT_EQ(sa.ack(), 1001u);
	EXPECT_EQ(sa.win(), 65535); // RFC 7323 2.2: a SYN's window is never scaled
	EXPECT_TRUE(sa.h.has_mss);
	EXPECT_EQ(sa.h.mss, 1460);
	EXPECT_TRUE(sa.h.has_ws);
	EXPECT_EQ(sa.h.ws, 7);
	EXPECT_TRUE(sa.h.sack_perm);
	EXPECT_TRUE(sa.h.has_ts);
	EXPECT_EQ(sa.h.tsecr, 100u);
	EXPECT_EQ(sa.saddr, LADDR);
	EXPECT_EQ(sa.daddr, RADDR);
	EXPECT_EQ(sa.h.sport, LPORT);
	EXPECT_EQ(sa.h.dport, RPORT);
	in(S(ACK).seq(1001).ack(sa.seq() + 1).win(100).ts(101, sa.h.tsval));
	EXPECT_EQ(c->state, NET_TCP_ESTABLISHED);
	EXPECT_EQ(c->mss, 1400 - 12); // the peer's MSS less our timestamp option
	EXPECT_EQ(c->snd_wscale, 5);
	EXPECT_EQ(c->rcv_wscale, 7);
	EXPECT_EQ(c->snd_wnd, 100u << 5);
	EXPECT_EQ(c->ts_recent, 101u);
	ASSERT_EQ(H.evs.size(), 2u);
	EXPECT_EQ(H.evs[1].ev, NET_TCP_EV_ESTABLISHED);
	EXPECT_EQ(H.ctr(NET_TCP_C_passive_opens), 1u);
	no_output();
}

TEST_F(TcpTest, PassiveOpenWithoutOptions)
{
	start();
	uint32_t iss = handshake_passive(1000, false);
	net_tcp_conn *c = conn();
	ASSERT_NE(c, nullptr);
	EXPECT_EQ(c->mss, 536); // RFC 9293 3.7.1 default
	EXPECT_EQ(c->flags & (NET_TCP_F_TS | NET_TCP_F_SACK | NET_TCP_F_WS), 0u);
	// no option the peer did not offer, window capped at 65535 unscaled
	net_tcp_send(&H.st, c, "hi", 2);
	net_tcp_flush(&H.st, c, now);
	Out o = expect(ACK | PSH);
	EXPECT_EQ(o.seq(), iss + 1);
	EXPECT_EQ(o.h.hlen, 20);
	EXPECT_EQ(o.win(), 65535);
	EXPECT_EQ(o.data, "hi");
}

TEST_F(TcpTest, ActiveOpen)
{
	start();
	net_tcp_conn *c = H.connect(LADDR, LPORT, RADDR, RPORT, now);
	ASSERT_NE(c, nullptr);
	EXPECT_EQ(c->state, NET_TCP_SYN_SENT);
	Out syn = expect(SYN);
	EXPECT_EQ(syn.seq(), c->iss);
	EXPECT_TRUE(syn.h.has_mss && syn.h.has_ws && syn.h.sack_perm && syn.h.has_ts);
	EXPECT_EQ(syn.h.tsecr, 0u);
	advance(3000);
	in(S(SYN | ACK).seq(5000).ack(c->iss + 1).win(65535).mss(1460).ts(7, syn.h.tsval).ws(2));
	EXPECT_EQ(c->state, NET_TCP_ESTABLISHED);
	Out a = expect(ACK);
	EXPECT_EQ(a.seq(), c->iss + 1);
	EXPECT_EQ(a.ack(), 5001u);
	EXPECT_EQ(a.h.tsecr, 7u);
	EXPECT_EQ(c->snd_wnd, 65535u); // the SYN-ACK's window is not scaled
	EXPECT_EQ(c->flags & NET_TCP_F_SACK, 0u); // the peer did not offer it
	EXPECT_EQ(c->srtt, 3000u);   // RTT from the SYN (RFC 6298 2.2)
	EXPECT_EQ(H.count_ev(NET_TCP_EV_ESTABLISHED), 1u);
	no_output();
}

TEST_F(TcpTest, SimultaneousOpen)
{
	start();
	net_tcp_conn *c = H.connect(LADDR, LPORT, RADDR, RPORT, now);
	Out syn = expect(SYN);
	in(S(SYN).seq(7000).win(65535).mss(1460));
	EXPECT_EQ(c->state, NET_TCP_SYN_RECEIVED);
	Out sa = expect(SYN | ACK);
	EXPECT_EQ(sa.seq(), syn.seq()); // the same ISS
	EXPECT_EQ(sa.ack(), 7001u);
	in(S(SYN | ACK).seq(7000).ack(syn.seq() + 1).win(65535).mss(1460));
	// the peer's SYN-ACK (Figure 8 line 5) completes it; nothing to answer
	EXPECT_EQ(c->state, NET_TCP_ESTABLISHED);
	no_output();
	EXPECT_EQ(c->snd_una, syn.seq() + 1);
	EXPECT_EQ(H.count_ev(NET_TCP_EV_ESTABLISHED), 1u);
}

TEST_F(TcpTest, ActiveCloseFinWait2TimeWait)
{
	cfg.msl_us = 1000000;
	start();
	uint32_t iss = handshake_passive();
	net_tcp_conn *c = conn();
	net_tcp_shutdown(&H.st, c, now);
	EXPECT_EQ(c->state, NET_TCP_FIN_WAIT_1);
	Out f = expect(FIN | ACK);
	EXPECT_EQ(f.seq(), iss + 1);
	EXPECT_EQ(f.ack(), 1001u);
	in(S(ACK).seq(1001).ack(iss + 2).ts(102, f.h.tsval));
	EXPECT_EQ(c->state, NET_TCP_FIN_WAIT_2);
	no_output();
	in(S(FIN | ACK).seq(1001).ack(iss + 2).ts(103, f.h.tsval));
	EXPECT_EQ(c->state, NET_TCP_TIME_WAIT);
	Out a = expect(ACK);
	EXPECT_EQ(a.ack(), 1002u);
	EXPECT_EQ(H.count_ev(NET_TCP_EV_PEER_FIN), 1u);
	EXPECT_EQ(H.count_ev(NET_TCP_EV_CLOSED), 1u);
	EXPECT_EQ(H.evs.back().why, NET_TCP_CLOSE_NORMAL);
	EXPECT_EQ(H.count_ev(NET_TCP_EV_FREE), 0u);
	// a retransmitted FIN in TIME-WAIT is acknowledged again
	in(S(FIN | ACK).seq(1001).ack(iss + 2).ts(104, f.h.tsval));
	EXPECT_EQ(expect(ACK).ack(), 1002u);
	run_for(1999000);
	EXPECT_EQ(H.count_ev(NET_TCP_EV_FREE), 0u); // 2 MSL from the last FIN
	run_for(2000);
	EXPECT_EQ(H.count_ev(NET_TCP_EV_FREE), 1u);
	EXPECT_EQ(conn(), nullptr);
	EXPECT_EQ(H.st.nfree, 16u);
	EXPECT_EQ(H.pool.nfree, H.pool.nblocks);
}

TEST_F(TcpTest, FinWait1StraightToTimeWait)
{
	start();
	uint32_t iss = handshake_passive();
	net_tcp_conn *c = conn();
	net_tcp_shutdown(&H.st, c, now);
	expect(FIN | ACK);
	in(S(FIN | ACK).seq(1001).ack(iss + 2).ts(102, 0));
	EXPECT_EQ(c->state, NET_TCP_TIME_WAIT);
	EXPECT_EQ(expect(ACK).ack(), 1002u);
}

TEST_F(TcpTest, PassiveCloseCloseWaitLastAck)
{
	start();
	uint32_t iss = handshake_passive();
	net_tcp_conn *c = conn();
	in(S(FIN | ACK).seq(1001).ack(iss + 1).ts(102, 0));
	EXPECT_EQ(c->state, NET_TCP_CLOSE_WAIT);
	EXPECT_EQ(expect(ACK).ack(), 1002u);
	EXPECT_EQ(H.count_ev(NET_TCP_EV_PEER_FIN), 1u);
	// half-closed: we may still send
	EXPECT_EQ(net_tcp_send(&H.st, c, "tail", 4), 4u);
	net_tcp_shutdown(&H.st, c, now);
	EXPECT_EQ(c->state, NET_TCP_LAST_ACK);
	Out d = expect(FIN | ACK | PSH);
	EXPECT_EQ(d.data, "tail");
	in(S(ACK).seq(1002).ack(iss + 1 + 4 + 1).ts(103, 0));
	EXPECT_EQ(H.count_ev(NET_TCP_EV_CLOSED), 1u);
	EXPECT_EQ(H.count_ev(NET_TCP_EV_FREE), 1u);
	EXPECT_EQ(conn(), nullptr);
	EXPECT_EQ(H.ctr(NET_TCP_C_conn_closed), 1u);
}

TEST_F(TcpTest, SimultaneousCloseClosing)
{
	start();
	uint32_t iss = handshake_passive();
	net_tcp_conn *c = conn();
	net_tcp_shutdown(&H.st, c, now);
	expect(FIN | ACK);
	in(S(FIN | ACK).seq(1001).ack(iss + 1).ts(102, 0)); // FIN crossing ours
	EXPECT_EQ(c->state, NET_TCP_CLOSING);
	EXPECT_EQ(expect(ACK).ack(), 1002u);
	in(S(ACK).seq(1002).ack(iss + 2).ts(103, 0));
	EXPECT_EQ(c->state, NET_TCP_TIME_WAIT);
}

TEST_F(TcpTest, FinRetransmittedUntilAcked)
{
	start();
	uint32_t iss = handshake_passive();
	net_tcp_conn *c = conn();
	net_tcp_shutdown(&H.st, c, now);
	expect(FIN | ACK);
	// the handshake's RTT sample (0) gives the 200 ms minimum RTO
	run_for(199000);
	no_output();
	run_for(1000);
	Out f = expect(FIN | ACK);
	EXPECT_EQ(f.seq(), iss + 1);
	EXPECT_EQ(H.ctr(NET_TCP_C_retransmits), 1u);
	run_for(399000); // backed off: 400 ms
	no_output();
	run_for(1000);
	EXPECT_EQ(expect(FIN | ACK).seq(), iss + 1);
	EXPECT_EQ(H.ctr(NET_TCP_C_retransmits), 2u);
	in(S(ACK).seq(1001).ack(iss + 2).ts(102, 0));
	EXPECT_EQ(c->state, NET_TCP_FIN_WAIT_2);
	run_for(5000000);
	no_output();
}

TEST_F(TcpTest, ClosedPortAnswersRst)
{
	start();
	in(S(SYN).seq(1000).mss(1460));
	Out r = expect(RST | ACK);
	EXPECT_EQ(r.seq(), 0u);
	EXPECT_EQ(r.ack(), 1001u);
	in(S(ACK).seq(1000).ack(4242));
	Out r2 = expect(RST);
	EXPECT_EQ(r2.seq(), 4242u);
	in(S(RST).seq(1000)); // never answer a RST
	no_output();
	in(S(ACK | PSH).seq(1).ack(2).data("abc").ports(RPORT, 9));
	EXPECT_EQ(expect(RST).seq(), 2u);
	EXPECT_EQ(H.ctr(NET_TCP_C_rx_no_conn), 4u);
	EXPECT_EQ(H.ctr(NET_TCP_C_tx_rst), 3u);
}

TEST_F(TcpTest, ListenRules)
{
	start();
	ASSERT_GE(net_tcp_listen(&H.st, 0, LPORT, 2), 0);
	EXPECT_LT(net_tcp_listen(&H.st, 0, LPORT, 2), 0); // already
	in(S(ACK).seq(1).ack(99));                        // LISTEN + ACK -> RST
	EXPECT_EQ(expect(RST).seq(), 99u);
	in(S(RST).seq(1));
	no_output();
	EXPECT_EQ(H.st.nfree, 16u);
	// the SYN queue holds 2
	in(S(SYN).seq(10).ports(1, LPORT));
	in(S(SYN).seq(10).ports(2, LPORT));
	in(S(SYN).seq(10).ports(3, LPORT));
	EXPECT_EQ(H.out.size(), 2u);
	EXPECT_EQ(H.ctr(NET_TCP_C_syn_drop_queue), 1u);
	EXPECT_EQ(H.st.listeners[0].pending, 2);
	H.out.clear();
	// one completes: room for another
	net_tcp_conn *c1 = H.find(LADDR, LPORT, RADDR, 1);
	ASSERT_NE(c1, nullptr);
	in(S(ACK).seq(11).ack(c1->iss + 1).ports(1, LPORT));
	EXPECT_EQ(c1->state, NET_TCP_ESTABLISHED);
	EXPECT_EQ(H.st.listeners[0].pending, 1);
	in(S(SYN).seq(10).ports(3, LPORT));
	EXPECT_EQ(expect(SYN | ACK).h.dport, 3);
}

TEST_F(TcpTest, ConnBlocksExhausted)
{
	start(2);
	ASSERT_GE(net_tcp_listen(&H.st, 0, LPORT, 8), 0);
	in(S(SYN).seq(10).ports(1, LPORT));
	in(S(SYN).seq(10).ports(2, LPORT));
	in(S(SYN).seq(10).ports(3, LPORT));
	EXPECT_EQ(H.ctr(NET_TCP_C_syn_drop_no_tcb), 1u);
	EXPECT_EQ(net_tcp_connect(&H.st, LADDR, 9, RADDR, 9, 0, now), nullptr);
	EXPECT_EQ(H.ctr(NET_TCP_C_syn_drop_no_tcb), 2u);
}

TEST_F(TcpTest, SynReceivedRetransmitsAndGivesUp)
{
	cfg.syn_retries = 2;
	start();
	ASSERT_GE(net_tcp_listen(&H.st, 0, LPORT, 8), 0);
	in(S(SYN).seq(1000).mss(1460));
	Out sa = expect(SYN | ACK);
	// a retransmitted SYN: the same SYN-ACK again
	in(S(SYN).seq(1000).mss(1460));
	Out sa2 = expect(SYN | ACK);
	EXPECT_EQ(sa2.seq(), sa.seq());
	run_for(999000);
	no_output();
	run_for(1000);
	EXPECT_EQ(expect(SYN | ACK).seq(), sa.seq()); // 1 s
	run_for(2000000);
	EXPECT_EQ(expect(SYN | ACK).seq(), sa.seq()); // +2 s (backoff)
	run_for(4000000);                                // give up
	EXPECT_EQ(expect(RST | ACK).seq(), sa.seq() + 1);
	EXPECT_EQ(H.count_ev(NET_TCP_EV_FREE), 1u);
	EXPECT_EQ(H.count_ev(NET_TCP_EV_CLOSED), 0u); // the app never saw it
	EXPECT_EQ(H.ctr(NET_TCP_C_conn_timeouts), 1u);
	EXPECT_EQ(H.st.listeners[0].pending, 0);
}

TEST_F(TcpTest, SynSentRetransmitBackoffGiveUp)
{
	cfg.syn_retries = 3;
	start();
	net_tcp_conn *c = H.connect(LADDR, LPORT, RADDR, RPORT, now);
	uint32_t iss = expect(SYN).seq();
	uint64_t waits[] = {1000000, 2000000, 4000000};
	for (uint64_t w : waits) {
		run_for(w - 1000);
		no_output();
		run_for(1000);
		EXPECT_EQ(expect(SYN).seq(), iss);
	}
	EXPECT_EQ(c->state, NET_TCP_SYN_SENT);
	run_for(8000000);
	no_output(); // no RST for a SYN that was never answered
	ASSERT_EQ(H.count_ev(NET_TCP_EV_CLOSED), 1u);
	EXPECT_EQ(H.evs[0].why, NET_TCP_CLOSE_TIMEOUT);
	EXPECT_EQ(H.ctr(NET_TCP_C_syn_rexmit), 3u);
}

// conn->user is the driver's (its lookup linkage): the timer wheel's node
// is tnode, so arming, re-arming and firing timers never touch user, and a
// driver writing user never corrupts the wheel (the wheel's node base was
// once the block itself, which overlaid user).
TEST_F(TcpTest, TimersLeaveTheUserSlotAlone)
{
	cfg.syn_retries = 3;
	start();
	const uint64_t mark = 0x5a5a5a5a5a5a5a5aull;
	net_tcp_conn *c = net_tcp_connect(&H.st, LADDR, LPORT, RADDR, RPORT, mark, now);
	ASSERT_NE(c, nullptr);
	H.lookup[{LADDR, LPORT, RADDR, RPORT}] = c;
	uint32_t iss = expect(SYN).seq();
	EXPECT_EQ(c->user, mark); // the retransmission timer is armed
	c->user = ~mark;          // the driver rewrites its slot while armed
	run_for(1000000);
	EXPECT_EQ(expect(SYN).seq(), iss); // the wheel still fires on time
	EXPECT_EQ(c->user, ~mark);
	run_for(2000000);
	EXPECT_EQ(expect(SYN).seq(), iss);
	EXPECT_EQ(c->user, ~mark);
	EXPECT_EQ(H.ctr(NET_TCP_C_syn_rexmit), 2u);
}

TEST_F(TcpTest, SynSentRstAndBadAck)
{
	start();
	net_tcp_conn *c = H.connect(LADDR, LPORT, RADDR, RPORT, now);
	uint32_t iss = expect(SYN).seq();
	in(S(SYN | ACK).seq(5).ack(iss + 7)); // acknowledges what we never sent
	EXPECT_EQ(expect(RST).seq(), iss + 7);
	EXPECT_EQ(c->state, NET_TCP_SYN_SENT);
	in(S(RST).seq(5)); // RST without ACK: ignored in SYN-SENT
	EXPECT_EQ(c->state, NET_TCP_SYN_SENT);
	no_output();
	in(S(RST | ACK).seq(0).ack(iss + 1));
	ASSERT_EQ(H.count_ev(NET_TCP_EV_CLOSED), 1u);
	EXPECT_EQ(H.evs[0].why, NET_TCP_CLOSE_REFUSED);
	EXPECT_EQ(H.ctr(NET_TCP_C_conn_refused), 1u);
	no_output();
}

TEST_F(TcpTest, SynReceivedRstReturnsToListen)
{
	start();
	ASSERT_GE(net_tcp_listen(&H.st, 0, LPORT, 8), 0);
	in(S(SYN).seq(1000));
	expect(SYN | ACK);
	in(S(RST).seq(1001));
	EXPECT_EQ(conn(), nullptr);
	EXPECT_EQ(H.count_ev(NET_TCP_EV_FREE), 1u);
	EXPECT_EQ(H.count_ev(NET_TCP_EV_CLOSED), 0u);
	EXPECT_EQ(H.st.listeners[0].pending, 0);
	// the listener still takes connections
	in(S(SYN).seq(3000));
	expect(SYN | ACK);
}

TEST_F(TcpTest, SynReceivedBadAckAnswersRst)
{
	start();
	ASSERT_GE(net_tcp_listen(&H.st, 0, LPORT, 8), 0);
	in(S(SYN).seq(1000));
	Out sa = expect(SYN | ACK);
	in(S(ACK).seq(1001).ack(sa.seq() + 50));
	EXPECT_EQ(expect(RST).seq(), sa.seq() + 50);
	EXPECT_EQ(conn()->state, NET_TCP_SYN_RECEIVED);
}

// RFC 5961 3.2: RST at RCV.NXT resets; elsewhere in the window a challenge
// ACK; outside the window it is silently dropped. Every synchronized state.
class TcpRst : public TcpTest, public ::testing::WithParamInterface<int> {};

TEST_P(TcpRst, RstInState)
{
	start();
	uint32_t iss = handshake_passive();
	net_tcp_conn *c = conn();
	uint32_t rseq = 1001;
	int st = GetParam();
	switch (st) {
	case NET_TCP_ESTABLISHED:
		break;
	case NET_TCP_FIN_WAIT_1:
		net_tcp_shutdown(&H.st, c, now);
		break;
	case NET_TCP_FIN_WAIT_2:
		net_tcp_shutdown(&H.st, c, now);
		in(S(ACK).seq(1001).ack(iss + 2).ts(102, 0));
		break;
	case NET_TCP_CLOSE_WAIT:
		in(S(FIN | ACK).seq(1001).ack(iss + 1).ts(102, 0));
		rseq = 1002;
		break;
	case NET_TCP_LAST_ACK:
		in(S(FIN | ACK).seq(1001).ack(iss + 1).ts(102, 0));
		net_tcp_shutdown(&H.st, c, now);
		rseq = 1002;
		break;
	case NET_TCP_CLOSING:
		net_tcp_shutdown(&H.st, c, now);
		in(S(FIN | ACK).seq(1001).ack(iss + 1).ts(102, 0));
		rseq = 1002;
		break;
	}
	ASSERT_EQ(c->state, st);
	H.out.clear();
	size_t closed = H.count_ev(NET_TCP_EV_CLOSED);
	// out of the window: nothing
	in(S(RST).seq(rseq + 10000000));
	no_output();
	EXPECT_EQ(c->state, st);
	// in the window, not exact: a challenge ACK
	in(S(RST).seq(rseq + 100));
	Out ch = expect(ACK);
	EXPECT_EQ(ch.ack(), rseq);
	EXPECT_EQ(c->state, st);
	EXPECT_EQ(H.ctr(NET_TCP_C_tx_challenge_ack), 1u);
	// exact: reset
	in(S(RST).seq(rseq));
	no_output();
	EXPECT_EQ(conn(), nullptr);
	EXPECT_EQ(H.count_ev(NET_TCP_EV_FREE), 1u);
	EXPECT_EQ(H.count_ev(NET_TCP_EV_CLOSED), closed + 1);
	EXPECT_EQ(H.ctr(NET_TCP_C_rx_rst), 1u);
}

INSTANTIATE_TEST_SUITE_P(States, TcpRst,
			 ::testing::Values(NET_TCP_ESTABLISHED, NET_TCP_FIN_WAIT_1,
					   NET_TCP_FIN_WAIT_2, NET_TCP_CLOSE_WAIT,
					   NET_TCP_LAST_ACK, NET_TCP_CLOSING));

TEST_F(TcpTest, RstInTimeWaitFrees)
{
	start();
	uint32_t iss = handshake_passive();
	net_tcp_conn *c = conn();
	net_tcp_shutdown(&H.st, c, now);
	in(S(FIN | ACK).seq(1001).ack(iss + 2).ts(102, 0));
	ASSERT_EQ(c->state, NET_TCP_TIME_WAIT);
	in(S(RST).seq(1002));
	EXPECT_EQ(H.count_ev(NET_TCP_EV_FREE), 1u);
}

TEST_F(TcpTest, SynInEstablishedGetsChallengeAck)
{
	start();
	uint32_t iss = handshake_passive();
	net_tcp_conn *c = conn();
	in(S(SYN).seq(1001).mss(1460));
	Out o = expect(ACK);
	EXPECT_EQ(o.seq(), iss + 1);
	EXPECT_EQ(o.ack(), 1001u);
	EXPECT_EQ(c->state, NET_TCP_ESTABLISHED);
	EXPECT_EQ(H.ctr(NET_TCP_C_tx_challenge_ack), 1u);
}

TEST_F(TcpTest, ChallengeAckRateLimit)
{
	cfg.challenge_ack_limit = 3;
	start();
	handshake_passive();
	for (int i = 0; i < 5; i++)
		in(S(RST).seq(1001 + 10 + i));
	EXPECT_EQ(H.out.size(), 3u);
	EXPECT_EQ(H.ctr(NET_TCP_C_challenge_ack_limited), 2u);
	H.out.clear();
	advance(1000000); // next second
	in(S(RST).seq(1001 + 50));
	EXPECT_EQ(H.out.size(), 1u);
}

TEST_F(TcpTest, AckOfUnsentDataAndTooOldAck)
{
	start();
	uint32_t iss = handshake_passive();
	net_tcp_conn *c = conn();
	in(S(ACK).seq(1001).ack(iss + 1000).ts(102, 0)); // beyond SND.NXT
	EXPECT_EQ(expect(ACK).ack(), 1001u);
	EXPECT_EQ(H.ctr(NET_TCP_C_rx_future_ack), 1u);
	in(S(ACK | PSH).seq(1001).ack(iss + 1 - 0x40000000u).data("zz").ts(103, 0));
	expect(ACK); // a challenge ACK; the data is not taken
	EXPECT_EQ(H.ctr(NET_TCP_C_rx_old_ack), 1u);
	EXPECT_EQ(H.rcvd[c], "");
}

TEST_F(TcpTest, BadChecksumDropped)
{
	start();
	ASSERT_GE(net_tcp_listen(&H.st, 0, LPORT, 8), 0);
	in(S(SYN).seq(1000).badcsum());
	no_output();
	EXPECT_EQ(H.ctr(NET_TCP_C_rx_bad_csum), 1u);
	EXPECT_EQ(H.st.nfree, 16u);
	uint8_t shortseg[12] = {0};
	net_tcp_input(&H.st, nullptr, RADDR, LADDR, shortseg, sizeof shortseg, now);
	EXPECT_EQ(H.ctr(NET_TCP_C_rx_bad_header), 1u);
}

TEST_F(TcpTest, PawsDropsOldTimestamp)
{
	start();
	handshake_passive();
	net_tcp_conn *c = conn();
	in(S(ACK | PSH).seq(1001).ack(c->snd_nxt).data("new").ts(200, 0));
	EXPECT_EQ(H.rcvd[c], "new");
	H.out.clear();
	in(S(ACK | PSH).seq(1004).ack(c->snd_nxt).data("old").ts(150, 0));
	EXPECT_EQ(H.rcvd[c], "new");
	EXPECT_EQ(H.ctr(NET_TCP_C_rx_paws_drop), 1u);
	EXPECT_EQ(expect(ACK).ack(), 1004u);
	// a TSval wrapped past 2^31 ahead is older too (modular compare)
	in(S(ACK | PSH).seq(1004).ack(c->snd_nxt).data("old").ts(200u + 0x80000001u, 0));
	EXPECT_EQ(H.ctr(NET_TCP_C_rx_paws_drop), 2u);
}

TEST_F(TcpTest, TimeWaitReusedByNewerSyn)
{
	start();
	uint32_t iss = handshake_passive();
	net_tcp_conn *c = conn();
	net_tcp_shutdown(&H.st, c, now);
	in(S(FIN | ACK).seq(1001).ack(iss + 2).ts(102, 0));
	ASSERT_EQ(c->state, NET_TCP_TIME_WAIT);
	H.out.clear();
	// an older timestamp: not a new incarnation (PAWS answers with an ACK)
	in(S(SYN).seq(50000).ts(90, 0).mss(1460));
	EXPECT_EQ(expect(ACK).ack(), 1002u);
	EXPECT_EQ(c->state, NET_TCP_TIME_WAIT);
	advance(10000);
	in(S(SYN).seq(50000).ts(500, 0).mss(1460));
	EXPECT_EQ(H.ctr(NET_TCP_C_time_wait_reuse), 1u);
	Out sa = expect(SYN | ACK);
	EXPECT_EQ(sa.ack(), 50001u);
	net_tcp_conn *c2 = conn();
	ASSERT_NE(c2, nullptr);
	EXPECT_EQ(c2->state, NET_TCP_SYN_RECEIVED);
	EXPECT_EQ(H.count_ev(NET_TCP_EV_FREE), 1u);
}

TEST_F(TcpTest, IsnIsKeyedAndClocked)
{
	uint8_t k1[16] = {1}, k2[16] = {2};
	uint32_t a = net_tcp_isn(k1, 1, 2, 3, 4, 0);
	EXPECT_NE(a, net_tcp_isn(k2, 1, 2, 3, 4, 0));
	EXPECT_NE(a, net_tcp_isn(k1, 1, 2, 3, 5, 0));
	EXPECT_EQ(net_tcp_isn(k1, 1, 2, 3, 4, 4000) - a, 1000u); // a 4 µs clock
	// SipHash-2-4 reference vector (key 00..0f, empty message)
	uint8_t key[16];
	for (int i = 0; i < 16; i++)
		key[i] = (uint8_t)i;
	EXPECT_EQ(net_siphash24(key, "", 0), 0x726fdb47dd0e0e31ULL);
	uint8_t msg[15];
	for (int i = 0; i < 15; i++)
		msg[i] = (uint8_t)i;
	EXPECT_EQ(net_siphash24(key, msg, 15), 0xa129ca6149be45e5ULL);
}

TEST_F(TcpTest, AbortSendsRst)
{
	start();
	uint32_t iss = handshake_passive();
	net_tcp_conn *c = conn();
	net_tcp_abort(&H.st, c, now);
	Out r = expect(RST | ACK);
	EXPECT_EQ(r.seq(), iss + 1);
	ASSERT_EQ(H.count_ev(NET_TCP_EV_CLOSED), 1u);
	EXPECT_EQ(H.evs[H.evs.size() - 2].why, NET_TCP_CLOSE_ABORTED);
	EXPECT_EQ(H.count_ev(NET_TCP_EV_FREE), 1u);
}

TEST_F(TcpTest, AbortFromCallbackIsDeferred)
{
	start();
	H.on_event = [&](net_tcp_conn *c, net_tcp_event ev) {
		if (ev == NET_TCP_EV_ESTABLISHED)
			net_tcp_abort(&H.st, c, now);
	};
	ASSERT_GE(net_tcp_listen(&H.st, 0, LPORT, 8), 0);
	in(S(SYN).seq(1000));
	Out sa = expect(SYN | ACK);
	in(S(ACK | PSH).seq(1001).ack(sa.seq() + 1).data("hello"));
	expect(RST | ACK);
	EXPECT_EQ(H.count_ev(NET_TCP_EV_FREE), 1u);
	EXPECT_EQ(H.ctr(NET_TCP_C_conn_aborted), 1u);
}

// RFC 9293 Figure 5's remaining arcs: SYN-SENT --close--> CLOSED,
// SYN-RECEIVED --close--> FIN-WAIT-1, LISTEN --close--> CLOSED.
TEST_F(TcpTest, CloseInSynSentDeletesTheBlock)
{
	start();
	net_tcp_conn *c = H.connect(LADDR, LPORT, RADDR, RPORT, now);
	expect(SYN);
	net_tcp_send(&H.st, c, "queued", 6);
	net_tcp_shutdown(&H.st, c, now);
	no_output(); // nothing to tell the peer: RFC 9293 3.10.4
	ASSERT_EQ(H.count_ev(NET_TCP_EV_CLOSED), 1u);
	EXPECT_EQ(H.count_ev(NET_TCP_EV_FREE), 1u);
	EXPECT_EQ(H.pool.nfree, H.pool.nblocks);
	run_for(5000000);
	no_output(); // and no SYN retransmission afterwards
}

TEST_F(TcpTest, CloseInSynReceivedSendsFinAfterTheAck)
{
	start();
	net_tcp_conn *c = H.connect(LADDR, LPORT, RADDR, RPORT, now);
	Out syn = expect(SYN);
	in(S(SYN).seq(7000).mss(1460));
	expect(SYN | ACK);
	ASSERT_EQ(c->state, NET_TCP_SYN_RECEIVED);
	net_tcp_shutdown(&H.st, c, now);
	no_output(); // queued until ESTABLISHED (RFC 9293 3.10.4)
	in(S(ACK).seq(7001).ack(syn.seq() + 1));
	EXPECT_EQ(c->state, NET_TCP_FIN_WAIT_1);
	Out f = expect(FIN | ACK);
	EXPECT_EQ(f.seq(), syn.seq() + 1);
	in(S(ACK).seq(7001).ack(syn.seq() + 2));
	EXPECT_EQ(c->state, NET_TCP_FIN_WAIT_2);
}

TEST_F(TcpTest, UnlistenClosesTheListener)
{
	start();
	ASSERT_GE(net_tcp_listen(&H.st, 0, LPORT, 8), 0);
	net_tcp_unlisten(&H.st, LPORT);
	in(S(SYN).seq(1000));
	EXPECT_EQ(expect(RST | ACK).ack(), 1001u);
	EXPECT_EQ(H.st.nfree, 16u);
	// an address-bound listener takes only its address
	ASSERT_GE(net_tcp_listen(&H.st, LADDR + 1, LPORT, 8), 0);
	in(S(SYN).seq(1000));
	expect(RST | ACK);
	ASSERT_GE(net_tcp_listen(&H.st, LADDR, LPORT + 1, 8), 0);
	in(S(SYN).seq(1000).ports(RPORT, LPORT + 1));
	expect(SYN | ACK);
}

TEST_F(TcpTest, AbortInTimeWaitFreesSilently)
{
	start();
	uint32_t iss = handshake_passive();
	net_tcp_conn *c = conn();
	net_tcp_shutdown(&H.st, c, now);
	in(S(FIN | ACK).seq(1001).ack(iss + 2).ts(102, 0));
	ASSERT_EQ(c->state, NET_TCP_TIME_WAIT);
	H.out.clear();
	net_tcp_abort(&H.st, c, now); // e.g. the driver reuses the 4-tuple
	no_output();
	EXPECT_EQ(H.count_ev(NET_TCP_EV_CLOSED), 1u); // only the one from TIME-WAIT entry
	EXPECT_EQ(H.count_ev(NET_TCP_EV_FREE), 1u);
	EXPECT_EQ(H.st.wheel.armed, 0u);
}
