// bench_amqp: the load generator's AMQP 1.0 engine against proton-C's
// pn_connection_driver_t fed in memory, in both roles (engine client <->
// proton server, proton client -> engine server). Nothing here sleeps or
// reads a clock: time is a number we pass in. Engine <-> engine tests are
// in test_bench_amqp_loop.cpp.
#include <gtest/gtest.h>

#include <proton/codec.h>
#include <proton/condition.h>
#include <proton/connection.h>
#include <proton/connection_driver.h>
#include <proton/delivery.h>
#include <proton/disposition.h>
#include <proton/event.h>
#include <proton/link.h>
#include <proton/message.h>
#include <proton/sasl.h>
#include <proton/session.h>
#include <proton/terminus.h>
#include <proton/transport.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "bench_amqp_test_util.h"

namespace
{

using namespace bench_test;

// ---------------------------------------------------------------------
// A proton peer: connection driver in memory, events to a handler.

struct proton_peer {
	pn_connection_driver_t d;
	std::function<void(pn_event_t *)> handler;
	std::vector<bytes> received; // whole messages, as encoded
	std::vector<pn_delivery_t *> unsettled_in;
	std::map<std::string, int> counts;
	uint64_t remote_state_accepted = 0, remote_state_rejected = 0, remote_settled = 0;
	std::string dyn_address = "proton.dynamic.1";
	int credit = 100;
	bool accept = true;    // receiver: accept (else reject) every third
	bool settle_in = true; // receiver: settle what arrives
	bytes rx;	       // partial message being read

	explicit proton_peer(bool server)
	{
		pn_connection_driver_init(&d, NULL, NULL);
		if (server)
			pn_transport_set_server(d.transport);
		pn_connection_set_container(d.connection, "proton-peer");
	}
	~proton_peer() { pn_connection_driver_destroy(&d); }

	// The default behaviour of a well-behaved server peer.
	void serve(pn_event_t *e)
	{
		counts[pn_event_type_name(pn_event_type(e))]++;
		switch (pn_event_type(e)) {
		case PN_CONNECTION_REMOTE_OPEN:
			if (pn_connection_state(d.connection) & PN_LOCAL_UNINIT)
				pn_connection_open(d.connection);
			break;
		case PN_CONNECTION_REMOTE_CLOSE:
			if (!(pn_connection_state(d.connection) & PN_LOCAL_CLOSED))
				pn_connection_close(d.connection);
			break;
		case PN_SESSION_REMOTE_OPEN: {
			pn_session_t *s = pn_event_session(e);
			if (pn_session_state(s) & PN_LOCAL_UNINIT)
				pn_session_open(s);
			break;
		}
		case PN_LINK_REMOTE_OPEN: {
			pn_link_t *l = pn_event_link(e);
			if (!(pn_link_state(l) & PN_LOCAL_UNINIT))
				break;
			pn_terminus_copy(pn_link_source(l), pn_link_remote_source(l));
			pn_terminus_copy(pn_link_target(l), pn_link_remote_target(l));
			if (pn_terminus_is_dynamic(pn_link_remote_source(l)))
				pn_terminus_set_address(pn_link_source(l), dyn_address.c_str());
			pn_link_set_snd_settle_mode(l, pn_link_remote_snd_settle_mode(l));
			pn_link_open(l);
			if (pn_link_is_receiver(l))
				pn_link_flow(l, credit);
			break;
		}
		case PN_DELIVERY: {
			pn_delivery_t *dl = pn_event_delivery(e);
			pn_link_t *l = pn_delivery_link(dl);
			if (pn_link_is_receiver(l)) {
				if (!pn_delivery_readable(dl))
					break;
				char buf[65536];
				ssize_t n;
				while ((n = pn_link_recv(l, buf, sizeof buf)) > 0)
					rx.insert(rx.end(), buf, buf + n);
				if (pn_delivery_partial(dl))
					break;
				received.push_back(rx);
				rx.clear();
				bool ok = accept || received.size() % 3 != 0;
				if (!pn_delivery_settled(dl)) {
					if (settle_in) {
						pn_delivery_update(dl,
								   ok ? PN_ACCEPTED : PN_REJECTED);
						pn_delivery_settle(dl); // advances the link too
					} else {
						pn_link_advance(l);
						unsettled_in.push_back(dl);
					}
				} else {
					pn_delivery_settle(dl);
				}
				if (pn_link_credit(l) < credit / 2)
					pn_link_flow(l, credit - pn_link_credit(l));
			} else if (pn_delivery_updated(dl) && pn_delivery_settled(dl)) {
				remote_settled++;
				uint64_t st = pn_delivery_remote_state(dl);
				if (st == PN_ACCEPTED)
					remote_state_accepted++;
				else if (st == PN_REJECTED)
					remote_state_rejected++;
				pn_delivery_settle(dl);
			}
			break;
		}
		default: break;
		}
	}

	void dispatch()
	{
		pn_event_t *e;
		while ((e = pn_connection_driver_next_event(&d)) != NULL) {
			if (handler)
				handler(e);
			else
				serve(e);
		}
	}
};

// Move bytes between an engine and proton in chunks until both are quiet.
void pump(engine &a, proton_peer &p, size_t chunk = SIZE_MAX, uint64_t now = 0, int rounds = 100000)
{
	for (int r = 0; r < rounds; r++) {
		bool moved = false;
		p.dispatch();
		size_t n;
		const uint8_t *o = bench_amqp_output(a.c, &n);
		while (n) {
			pn_rwbytes_t rb = pn_connection_driver_read_buffer(&p.d);
			if (rb.size == 0)
				break;
			size_t k = std::min({n, rb.size, chunk});
			memcpy(rb.start, o, k);
			pn_connection_driver_read_done(&p.d, k);
			bench_amqp_output_done(a.c, k);
			moved = true;
			p.dispatch();
			o = bench_amqp_output(a.c, &n);
		}
		pn_bytes_t wb = pn_connection_driver_write_buffer(&p.d);
		while (wb.size) {
			size_t k = std::min(wb.size, chunk);
			if (!bench_amqp_is_closed(a.c))
				bench_amqp_input(a.c, (const uint8_t *)wb.start, k, now);
			pn_connection_driver_write_done(&p.d, k);
			moved = true;
			wb = pn_connection_driver_write_buffer(&p.d);
		}
		p.dispatch();
		if (!moved)
			return;
	}
	ADD_FAILURE() << "pump did not settle";
}

// A message in proton's encoding: a data body whose last 24 bytes are
// the bench tail, with a ulong correlation-id and a to.
bytes proton_message(size_t body, uint64_t seq, uint64_t corr, const char *to)
{
	pn_message_t *m = pn_message();
	std::vector<char> b(body, 'x');
	if (body >= BENCH_AMQP_TAIL_LEN) {
		char *t = b.data() + body - BENCH_AMQP_TAIL_LEN;
		memcpy(t, "rrbench", 8);
		for (int k = 0; k < 8; k++) {
			t[8 + k] = (char)(seq >> (56 - 8 * k));
			t[16 + k] = (char)((seq * 10) >> (56 - 8 * k));
		}
	}
	pn_data_put_binary(pn_message_body(m), pn_bytes(b.size(), b.data()));
	pn_data_put_ulong(pn_message_correlation_id(m), corr);
	if (to)
		pn_message_set_address(m, to);
	std::vector<char> out(body + 1024);
	size_t n = out.size();
	int rc = pn_message_encode(m, out.data(), &n);
	pn_message_free(m);
	if (rc != 0)
		return {};
	return bytes(out.begin(), out.begin() + n);
}

// Decode with proton; returns false when it does not decode.
struct pmsg {
	std::string to, reply_to;
	bool corr_ulong = false;
	uint64_t corr = 0;
	uint32_t ttl = 0;
	size_t body = 0;
	bytes body_bytes;
};
bool proton_decode(const bytes &b, pmsg *out)
{
	pn_message_t *m = pn_message();
	int rc = pn_message_decode(m, (const char *)b.data(), b.size());
	if (rc == 0) {
		const char *a = pn_message_get_address(m);
		out->to = a ? a : "";
		const char *r = pn_message_get_reply_to(m);
		out->reply_to = r ? r : "";
		pn_atom_t c = pn_message_get_correlation_id(m);
		out->corr_ulong = c.type == PN_ULONG;
		out->corr = c.type == PN_ULONG ? c.u.as_ulong : 0;
		out->ttl = pn_message_get_ttl(m);
		pn_data_t *body = pn_message_body(m);
		pn_data_rewind(body);
		if (pn_data_next(body) && pn_data_type(body) == PN_BINARY) {
			pn_bytes_t bb = pn_data_get_binary(body);
			out->body = bb.size;
			out->body_bytes.assign(bb.start, bb.start + bb.size);
		}
	}
	pn_message_free(m);
	return rc == 0;
}

uint64_t tail_seq(const bytes &body)
{
	uint64_t s = 0, n = 0;
	EXPECT_TRUE(bench_amqp_tail(body.data(), body.size(), &s, &n));
	return s;
}

// Engine client + proton server, connected and with the session up.
struct client_vs_proton {
	engine e{BENCH_AMQP_CLIENT};
	proton_peer p{true};
	explicit client_vs_proton(uint32_t proton_max_frame = 0, uint32_t our_max_frame = 0)
	{
		if (proton_max_frame)
			pn_transport_set_max_frame(p.d.transport, proton_max_frame);
		e.cfg.max_frame_size = our_max_frame;
		e.create();
	}
	void start()
	{
		bench_amqp_start(e.c);
		pump(e, p);
	}
};

// Send n messages on a sender link, pumping whenever credit runs out.
std::vector<int64_t> send_n(client_vs_proton &t, int link, const bench_amqp_tpl &tpl, int n,
			    uint64_t corr0 = 0)
{
	std::vector<int64_t> tokens;
	int guard = 0;
	while ((int)tokens.size() < n && guard++ < 100000) {
		int64_t tok = bench_amqp_send(t.e.c, link, &tpl, tokens.size(),
					      1000 + tokens.size(), corr0 + tokens.size());
		if (tok < 0) {
			pump(t.e, t.p);
			continue;
		}
		tokens.push_back(tok);
	}
	pump(t.e, t.p);
	return tokens;
}

// ---------------------------------------------------------------------
// Templates and the tail.

TEST(BenchAmqpTpl, ProtonDecodesWhatWeSend)
{
	bench_amqp_tpl t;
	ASSERT_TRUE(bench_amqp_tpl_build(&t, "to.addr", "reply.addr", true, 100, 5000));
	EXPECT_NE(t.corr_off, 0u);
	EXPECT_EQ(t.body_size, 100u);
	// one message through a real connection, read back by proton
	client_vs_proton cp;
	int l = bench_amqp_attach_sender(cp.e.c, "q", true);
	cp.start();
	ASSERT_EQ(send_n(cp, l, t, 1, 0x1122334455667788ull).size(), 1u);
	ASSERT_EQ(cp.p.received.size(), 1u);
	pmsg m;
	ASSERT_TRUE(proton_decode(cp.p.received[0], &m));
	EXPECT_EQ(m.to, "to.addr");
	EXPECT_EQ(m.reply_to, "reply.addr");
	EXPECT_TRUE(m.corr_ulong);
	EXPECT_EQ(m.corr, 0x1122334455667788ull);
	EXPECT_EQ(m.ttl, 5000u);
	ASSERT_EQ(m.body, 100u);
	uint64_t seq = 99, ns = 99;
	ASSERT_TRUE(bench_amqp_tail(m.body_bytes.data(), m.body_bytes.size(), &seq, &ns));
	EXPECT_EQ(seq, 0u);
	EXPECT_EQ(ns, 1000u);
	for (size_t k = 0; k < 100 - BENCH_AMQP_TAIL_LEN; k++)
		ASSERT_EQ(m.body_bytes[k], 0) << k;
}

TEST(BenchAmqpTpl, NoPropertiesSmallBodyAndLimits)
{
	bench_amqp_tpl t;
	ASSERT_TRUE(bench_amqp_tpl_build(&t, nullptr, nullptr, false, 10, 0));
	EXPECT_EQ(t.corr_off, 0u);
	// descriptor 0x00 0x53 0x75, vbin8 of 10: the whole template
	ASSERT_EQ(t.len, 5u);
	EXPECT_EQ(t.bytes[2], 0x75);
	EXPECT_EQ(t.bytes[3], 0xa0);
	EXPECT_EQ(t.bytes[4], 10);
	std::string big(BENCH_AMQP_ADDR_MAX, 'a');
	EXPECT_FALSE(bench_amqp_tpl_build(&t, big.c_str(), nullptr, false, 10, 0));
	ASSERT_TRUE(bench_amqp_tpl_build(&t, nullptr, nullptr, false, 300, 0));
	EXPECT_EQ(t.bytes[3], 0xb0); // vbin32 above 255 bytes
	uint8_t m[40] = {0};
	uint64_t s, n;
	EXPECT_FALSE(bench_amqp_tail(m, sizeof m, &s, &n));
	memcpy(m + 16, "rrbench", 8);
	m[31] = 7;
	m[39] = 9;
	ASSERT_TRUE(bench_amqp_tail(m, sizeof m, &s, &n));
	EXPECT_EQ(s, 7u);
	EXPECT_EQ(n, 9u);
	EXPECT_FALSE(bench_amqp_tail(m, 20, &s, &n));
}

// ---------------------------------------------------------------------
// Engine client <-> proton server.

TEST(BenchAmqpProton, PresettledToProtonReceiver)
{
	client_vs_proton cp;
	int l = bench_amqp_attach_sender(cp.e.c, "q1", true);
	ASSERT_GE(l, 0);
	cp.start();
	EXPECT_TRUE(bench_amqp_is_open(cp.e.c));
	EXPECT_EQ(cp.e.opened, 1);
	ASSERT_EQ(cp.e.attached.size(), 1u);
	EXPECT_EQ(cp.e.attached[0].address, "q1");
	EXPECT_TRUE(cp.e.attached[0].sender);
	EXPECT_FALSE(cp.e.attached[0].remote);
	EXPECT_EQ(bench_amqp_credit(cp.e.c, l), 100u);
	// proton saw snd-settle-mode settled on our Attach
	pn_link_t *pl = pn_link_head(cp.p.d.connection, 0);
	ASSERT_NE(pl, nullptr);
	EXPECT_EQ(pn_link_remote_snd_settle_mode(pl), PN_SND_SETTLED);
	EXPECT_STREQ(pn_terminus_get_address(pn_link_remote_target(pl)), "q1");
	bench_amqp_tpl t;
	ASSERT_TRUE(bench_amqp_tpl_build(&t, nullptr, nullptr, false, 100, 0));
	auto tokens = send_n(cp, l, t, 1000);
	ASSERT_EQ(tokens.size(), 1000u);
	ASSERT_EQ(cp.p.received.size(), 1000u);
	for (size_t i = 0; i < 1000; i++) {
		pmsg m;
		ASSERT_TRUE(proton_decode(cp.p.received[i], &m));
		ASSERT_EQ(m.body, 100u);
		ASSERT_EQ(tail_seq(m.body_bytes), i);
	}
	EXPECT_TRUE(cp.e.settles.empty()); // presettled: nothing comes back
	EXPECT_GT(cp.e.credits, 0);	   // credit refilled after running out
}

TEST(BenchAmqpProton, UnsettledToProtonReceiverOutcomes)
{
	client_vs_proton cp;
	cp.p.accept = false; // every third message rejected
	int l = bench_amqp_attach_sender(cp.e.c, "q1", false);
	cp.start();
	pn_link_t *pl = pn_link_head(cp.p.d.connection, 0);
	EXPECT_EQ(pn_link_remote_snd_settle_mode(pl), PN_SND_UNSETTLED);
	bench_amqp_tpl t;
	ASSERT_TRUE(bench_amqp_tpl_build(&t, "x", nullptr, false, 64, 0));
	auto tokens = send_n(cp, l, t, 300);
	ASSERT_EQ(tokens.size(), 300u);
	ASSERT_EQ(cp.e.settles.size(), 300u);
	std::map<uint64_t, bench_amqp_outcome> by_token(cp.e.settles.begin(), cp.e.settles.end());
	ASSERT_EQ(by_token.size(), 300u);
	for (size_t i = 0; i < 300; i++) {
		ASSERT_TRUE(by_token.count((uint64_t)tokens[i]));
		EXPECT_EQ(by_token[(uint64_t)tokens[i]],
			  (i + 1) % 3 == 0 ? BENCH_AMQP_REJECTED : BENCH_AMQP_ACCEPTED)
		    << i;
	}
}

TEST(BenchAmqpProton, ProtonSenderToOurReceiver)
{
	for (bool presettled : {true, false}) {
		SCOPED_TRACE(presettled ? "presettled" : "unsettled");
		client_vs_proton cp;
		int l = bench_amqp_attach_receiver(cp.e.c, "q2", 50, true);
		const int N = 500;
		int sent = 0;
		cp.p.handler = [&](pn_event_t *e) {
			cp.p.serve(e);
			if (pn_event_type(e) != PN_LINK_FLOW)
				return;
			pn_link_t *pl = pn_event_link(e);
			if (!pn_link_is_sender(pl))
				return;
			while (pn_link_credit(pl) > 0 && sent < N) {
				char tag[8];
				memcpy(tag, &sent, sizeof sent);
				pn_delivery_t *dl = pn_delivery(pl, pn_dtag(tag, sizeof sent));
				bytes m = proton_message(100, sent, 7000 + sent, "q2");
				pn_link_send(pl, (const char *)m.data(), m.size());
				pn_link_advance(pl);
				if (presettled)
					pn_delivery_settle(dl);
				sent++;
			}
		};
		bench_amqp_start(cp.e.c);
		pump(cp.e, cp.p);
		ASSERT_EQ(cp.e.attached.size(), 1u);
		EXPECT_FALSE(cp.e.attached[0].sender);
		ASSERT_EQ(cp.e.msgs.size(), (size_t)N);
		for (int i = 0; i < N; i++) {
			const msg_ev &m = cp.e.msgs[i];
			ASSERT_EQ(m.link, l);
			ASSERT_TRUE(m.has_tail);
			ASSERT_EQ(m.seq, (uint64_t)i);
			ASSERT_EQ(m.sent_ns, (uint64_t)i * 10);
			ASSERT_TRUE(m.has_corr);
			ASSERT_EQ(m.corr, 7000u + i);
			ASSERT_EQ(m.to, "q2");
			ASSERT_EQ(m.settled, presettled);
		}
		if (!presettled)
			EXPECT_EQ(cp.p.remote_state_accepted, (uint64_t)N);
		else
			EXPECT_EQ(cp.p.remote_settled, 0u);
	}
}

TEST(BenchAmqpProton, MultiFrame200KBothWays)
{
	const size_t BODY = 200 * 1024;
	// proton reads at most 16 KiB frames: we split; we read at most 8 KiB
	// frames: proton splits
	client_vs_proton cp(16384, 8192);
	int s = bench_amqp_attach_sender(cp.e.c, "big", false);
	int r = bench_amqp_attach_receiver(cp.e.c, "bigback", 10, true);
	int sent = 0;
	cp.p.handler = [&](pn_event_t *e) {
		cp.p.serve(e);
		if (pn_event_type(e) != PN_LINK_FLOW)
			return;
		pn_link_t *pl = pn_event_link(e);
		if (!pn_link_is_sender(pl) || sent >= 2 || pn_link_credit(pl) <= 0)
			return;
		for (; sent < 2 && pn_link_credit(pl) > 0; sent++) {
			pn_delivery(pl, pn_dtag((const char *)&sent, sizeof sent));
			bytes m = proton_message(BODY, 40 + sent, 1, nullptr);
			pn_link_send(pl, (const char *)m.data(), m.size());
			pn_link_advance(pl);
		}
	};
	cp.start();
	bench_amqp_tpl t;
	ASSERT_TRUE(bench_amqp_tpl_build(&t, nullptr, nullptr, true, BODY, 0));
	auto tok = send_n(cp, s, t, 2, 555);
	ASSERT_EQ(tok.size(), 2u);
	ASSERT_EQ(cp.p.received.size(), 2u);
	for (int i = 0; i < 2; i++) {
		pmsg m;
		ASSERT_TRUE(proton_decode(cp.p.received[i], &m));
		ASSERT_EQ(m.body, BODY);
		EXPECT_EQ(tail_seq(m.body_bytes), (uint64_t)i);
		EXPECT_EQ(m.corr, 555u + i);
	}
	EXPECT_EQ(cp.e.settles.size(), 2u);
	// proton -> us: reassembled across 8 KiB frames
	ASSERT_EQ(cp.e.msgs.size(), 2u);
	for (int i = 0; i < 2; i++) {
		EXPECT_EQ(cp.e.msgs[i].link, r);
		EXPECT_GT(cp.e.msgs[i].len, BODY);
		EXPECT_TRUE(cp.e.msgs[i].has_tail);
		EXPECT_EQ(cp.e.msgs[i].seq, 40u + i);
	}
	EXPECT_EQ(cp.p.remote_state_accepted, 2u);
}

// Part 2.7.3: a message beyond the max-message-size our Attach announced
// detaches the link with message-size-exceeded, whether it came in several
// frames (our max-frame 4096) or in one (2048 limit, 3000-byte message).
static void expect_over_max_message_detached(uint32_t our_max_frame, size_t max_message,
					     size_t body)
{
	client_vs_proton cp(0, our_max_frame);
	cp.e.cfg.max_message = max_message;
	bench_amqp_free(cp.e.c);
	cp.e.create();
	int r = bench_amqp_attach_receiver(cp.e.c, "big", 10, true);
	bool sent = false;
	cp.p.handler = [&](pn_event_t *e) {
		cp.p.serve(e);
		if (pn_event_type(e) != PN_LINK_FLOW || sent)
			return;
		pn_link_t *pl = pn_event_link(e);
		if (!pn_link_is_sender(pl))
			return;
		sent = true;
		pn_delivery(pl, pn_dtag("t", 1));
		bytes m = proton_message(body, 1, 1, nullptr);
		pn_link_send(pl, (const char *)m.data(), m.size());
		pn_link_advance(pl);
	};
	cp.start();
	ASSERT_TRUE(sent);
	EXPECT_TRUE(cp.e.msgs.empty());
	ASSERT_EQ(cp.e.detached.size(), 1u);
	EXPECT_EQ(cp.e.detached[0].first, r);
	EXPECT_EQ(cp.e.detached[0].second, "amqp:link:message-size-exceeded");
	pn_link_t *pl = pn_link_head(cp.p.d.connection, 0);
	ASSERT_NE(pl, nullptr);
	EXPECT_STREQ(pn_condition_get_name(pn_link_remote_condition(pl)),
		     "amqp:link:message-size-exceeded");
}

TEST(BenchAmqpProton, OverMaxMessageIsDetached)
{
	expect_over_max_message_detached(4096, 10000, 20000);
}

TEST(BenchAmqpProton, OverMaxMessageInOneFrameIsDetached)
{
	expect_over_max_message_detached(0, 2048, 3000);
}

TEST(BenchAmqpProton, DynamicSourceAddressFromProton)
{
	client_vs_proton cp;
	cp.p.dyn_address = "proton.made.this.7";
	int r = bench_amqp_attach_receiver(cp.e.c, nullptr, 10, true);
	cp.start();
	pn_link_t *pl = pn_link_head(cp.p.d.connection, 0);
	ASSERT_NE(pl, nullptr);
	EXPECT_TRUE(pn_terminus_is_dynamic(pn_link_remote_source(pl)));
	EXPECT_EQ(pn_terminus_get_address(pn_link_remote_source(pl)), nullptr);
	ASSERT_EQ(cp.e.attached.size(), 1u);
	EXPECT_EQ(cp.e.attached[0].link, r);
	EXPECT_EQ(cp.e.attached[0].address, "proton.made.this.7");
}

TEST(BenchAmqpProton, AnonymousRelaySender)
{
	client_vs_proton cp;
	int l = bench_amqp_attach_sender(cp.e.c, nullptr, true);
	cp.start();
	pn_link_t *pl = pn_link_head(cp.p.d.connection, 0);
	ASSERT_NE(pl, nullptr);
	// a target with no address (what proton itself writes for anonymous)
	EXPECT_EQ(pn_terminus_get_type(pn_link_remote_target(pl)), PN_TARGET);
	EXPECT_EQ(pn_terminus_get_address(pn_link_remote_target(pl)), nullptr);
	bench_amqp_tpl t;
	ASSERT_TRUE(bench_amqp_tpl_build(&t, "some.where", nullptr, false, 30, 0));
	ASSERT_EQ(send_n(cp, l, t, 3).size(), 3u);
	ASSERT_EQ(cp.p.received.size(), 3u);
	pmsg m;
	ASSERT_TRUE(proton_decode(cp.p.received[2], &m));
	EXPECT_EQ(m.to, "some.where");
}

TEST(BenchAmqpProton, DetachAndCloseOfLinksAnswered)
{
	for (bool close : {false, true}) {
		SCOPED_TRACE(close ? "close" : "detach");
		client_vs_proton cp;
		int l = bench_amqp_attach_sender(cp.e.c, "q", true);
		cp.start();
		pn_link_t *pl = pn_link_head(cp.p.d.connection, 0);
		ASSERT_NE(pl, nullptr);
		if (close) {
			pn_condition_set_name(pn_link_condition(pl), "amqp:link:detach-forced");
			pn_link_close(pl);
		} else {
			pn_link_detach(pl); // part 2.6.6: suspended, not closed
		}
		pump(cp.e, cp.p);
		ASSERT_EQ(cp.e.detached.size(), 1u);
		EXPECT_EQ(cp.e.detached[0].first, l);
		EXPECT_EQ(cp.e.detached[0].second, close ? "amqp:link:detach-forced" : "");
		// our answer has the same closed flag
		EXPECT_EQ(cp.p.counts["PN_LINK_REMOTE_CLOSE"], close ? 1 : 0);
		EXPECT_EQ(cp.p.counts["PN_LINK_REMOTE_DETACH"], close ? 0 : 1);
		EXPECT_TRUE(bench_amqp_is_open(cp.e.c));
		EXPECT_EQ(bench_amqp_credit(cp.e.c, l), 0u);
	}
}

TEST(BenchAmqpProton, SaslAnonymousToProton)
{
	engine e(BENCH_AMQP_CLIENT, "ANONYMOUS");
	e.cfg.hostname = "localhost";
	e.create();
	proton_peer p(true);
	pn_sasl_t *sasl = pn_sasl(p.d.transport);
	pn_sasl_allowed_mechs(sasl, "ANONYMOUS");
	bench_amqp_attach_sender(e.c, "q", true);
	bench_amqp_start(e.c);
	pump(e, p);
	EXPECT_TRUE(bench_amqp_is_open(e.c));
	EXPECT_STREQ(pn_sasl_get_mech(sasl), "ANONYMOUS");
	EXPECT_EQ(pn_sasl_outcome(sasl), PN_SASL_OK);
	EXPECT_STREQ(pn_connection_remote_hostname(p.d.connection), "localhost");
	EXPECT_EQ(e.attached.size(), 1u);
}

TEST(BenchAmqpProton, SaslMechanismNotOffered)
{
	engine e(BENCH_AMQP_CLIENT, "PLAIN");
	e.create();
	proton_peer p(true);
	pn_sasl_allowed_mechs(pn_sasl(p.d.transport), "ANONYMOUS");
	bench_amqp_start(e.c);
	pump(e, p);
	EXPECT_FALSE(bench_amqp_is_open(e.c));
	EXPECT_TRUE(bench_amqp_is_closed(e.c));
	EXPECT_EQ(e.closed, 1);
	EXPECT_EQ(e.closed_cond, "amqp:unauthorized-access");
	EXPECT_NE(std::string(bench_amqp_error(e.c)).find("PLAIN"), std::string::npos);
}

// proton client -> engine server with SASL PLAIN (proton's built-in SASL
// client does PLAIN; its server side would need Cyrus).
TEST(BenchAmqpProton, ProtonClientPlainToOurServer)
{
	engine e(BENCH_AMQP_SERVER, "PLAIN", "srv");
	e.create();
	proton_peer p(false);
	pn_connection_set_user(p.d.connection, "alice");
	pn_connection_set_password(p.d.connection, "pw");
	pn_sasl_t *sasl = pn_sasl(p.d.transport);
	pn_sasl_allowed_mechs(sasl, "PLAIN");
	pn_sasl_set_allow_insecure_mechs(sasl, true);
	std::vector<std::string> got;
	p.handler = [&](pn_event_t *ev) {
		pn_connection_t *pc = p.d.connection;
		switch (pn_event_type(ev)) {
		case PN_CONNECTION_INIT: {
			pn_connection_open(pc);
			pn_session_t *s = pn_session(pc);
			pn_session_open(s);
			pn_link_t *snd = pn_sender(s, "to-srv");
			pn_terminus_set_address(pn_link_target(snd), "srv.in");
			pn_link_set_snd_settle_mode(snd, PN_SND_SETTLED);
			pn_link_open(snd);
			pn_link_t *rcv = pn_receiver(s, "from-srv");
			pn_terminus_set_dynamic(pn_link_source(rcv), true);
			pn_link_open(rcv);
			pn_link_flow(rcv, 5);
			break;
		}
		case PN_LINK_FLOW: {
			pn_link_t *l = pn_event_link(ev);
			static int n = 0;
			while (pn_link_is_sender(l) && pn_link_credit(l) > 0 && n < 3) {
				pn_delivery_t *d = pn_delivery(l, pn_dtag((const char *)&n, 4));
				bytes m = proton_message(50, n, 1, "srv.in");
				pn_link_send(l, (const char *)m.data(), m.size());
				pn_link_advance(l);
				pn_delivery_settle(d);
				n++;
			}
			break;
		}
		case PN_DELIVERY: {
			pn_delivery_t *d = pn_event_delivery(ev);
			pn_link_t *l = pn_delivery_link(d);
			if (pn_link_is_receiver(l) && !pn_delivery_partial(d)) {
				char buf[4096];
				ssize_t n = pn_link_recv(l, buf, sizeof buf);
				got.push_back(std::string(buf, n > 0 ? (size_t)n : 0));
				pn_delivery_settle(d);
				pn_link_advance(l);
			}
			break;
		}
		default: break;
		}
	};
	int srv_sender = -1;
	e.on_msg = nullptr;
	pump(e, p);
	EXPECT_STREQ(pn_sasl_get_mech(sasl), "PLAIN");
	EXPECT_EQ(pn_sasl_outcome(sasl), PN_SASL_OK);
	EXPECT_TRUE(bench_amqp_is_open(e.c));
	EXPECT_EQ(e.opened, 1);
	ASSERT_EQ(e.attached.size(), 2u);
	for (auto &a : e.attached) {
		EXPECT_TRUE(a.remote);
		if (a.sender) {
			srv_sender = a.link;
			EXPECT_EQ(a.address, "bench.dynamic.0");
		} else {
			EXPECT_EQ(a.address, "srv.in");
		}
	}
	ASSERT_GE(srv_sender, 0);
	// proton's receiver got the dynamic address in our Attach
	pn_link_t *rcv = pn_link_head(p.d.connection, 0);
	while (rcv && !pn_link_is_receiver(rcv))
		rcv = pn_link_next(rcv, 0);
	ASSERT_NE(rcv, nullptr);
	EXPECT_STREQ(pn_terminus_get_address(pn_link_remote_source(rcv)), "bench.dynamic.0");
	// proton's presettled sender: the mirrored receiver took all three
	ASSERT_EQ(e.msgs.size(), 3u);
	EXPECT_TRUE(e.msgs[2].settled);
	EXPECT_EQ(e.msgs[2].seq, 2u);
	// and our mirrored sender reaches proton
	EXPECT_EQ(bench_amqp_credit(e.c, srv_sender), 5u);
	bench_amqp_tpl t;
	ASSERT_TRUE(bench_amqp_tpl_build(&t, nullptr, nullptr, false, 40, 0));
	EXPECT_GE(bench_amqp_send(e.c, srv_sender, &t, 9, 0, 0), 0);
	pump(e, p);
	ASSERT_EQ(got.size(), 1u);
	// then proton closes: we answer and report it
	pn_connection_close(p.d.connection);
	pump(e, p);
	EXPECT_TRUE(bench_amqp_is_closed(e.c));
	EXPECT_EQ(e.closed, 1);
	EXPECT_EQ(e.closed_cond, "");
	EXPECT_TRUE(pn_connection_state(p.d.connection) & PN_REMOTE_CLOSED);
}

TEST(BenchAmqpProton, CloseWithErrorReachesUsAndProton)
{
	client_vs_proton cp;
	cp.start();
	pn_condition_t *cond = pn_connection_condition(cp.p.d.connection);
	pn_condition_set_name(cond, "amqp:connection:forced");
	pn_condition_set_description(cond, "go away");
	pn_connection_close(cp.p.d.connection);
	pump(cp.e, cp.p);
	EXPECT_EQ(cp.e.closed, 1);
	EXPECT_EQ(cp.e.closed_cond, "amqp:connection:forced");
	EXPECT_EQ(cp.e.closed_desc, "go away");
	EXPECT_TRUE(bench_amqp_is_closed(cp.e.c));

	client_vs_proton c2;
	c2.start();
	bench_amqp_close(c2.e.c, "amqp:internal-error", "bench stops");
	pump(c2.e, c2.p);
	pn_condition_t *rc = pn_connection_remote_condition(c2.p.d.connection);
	EXPECT_STREQ(pn_condition_get_name(rc), "amqp:internal-error");
	EXPECT_STREQ(pn_condition_get_description(rc), "bench stops");
	EXPECT_TRUE(bench_amqp_is_closed(c2.e.c)); // proton answered our Close
}

// ---------------------------------------------------------------------
// Heartbeats and the idle timeout, with a fake clock.

TEST(BenchAmqpIdle, HeartbeatAtHalfThePeersTimeout)
{
	engine srv(BENCH_AMQP_SERVER, nullptr, "srv");
	srv.cfg.idle_timeout_ms = 1000;
	srv.create();
	engine cli(BENCH_AMQP_CLIENT);
	cli.create();
	bench_amqp_start(cli.c);
	bench_amqp_tick(cli.c, 0);
	bench_amqp_tick(srv.c, 0);
	pump(cli, srv, SIZE_MAX, 0);
	ASSERT_TRUE(bench_amqp_is_open(cli.c));
	// the client must speak within 500 ms of its last frame
	uint64_t next = bench_amqp_tick(cli.c, 100);
	EXPECT_EQ(next, 500u);
	EXPECT_TRUE(cli.take_output().empty());
	bench_amqp_tick(cli.c, 499);
	EXPECT_TRUE(cli.take_output().empty());
	bench_amqp_tick(cli.c, 500);
	bytes hb = cli.take_output();
	EXPECT_EQ(hb, bytes({0, 0, 0, 8, 2, 0, 0, 0}));
	// fed to the server, the heartbeat keeps it alive past its timeout
	bench_amqp_input(srv.c, hb.data(), hb.size(), 900);
	EXPECT_NE(bench_amqp_tick(srv.c, 1500), UINT64_MAX);
	EXPECT_FALSE(bench_amqp_is_closed(srv.c));
	// then silence: the server closes with resource-limit-exceeded
	EXPECT_EQ(bench_amqp_tick(srv.c, 1901), UINT64_MAX);
	EXPECT_TRUE(bench_amqp_is_closed(srv.c));
	EXPECT_EQ(srv.closed_cond, "amqp:resource-limit-exceeded");
	EXPECT_EQ(close_condition(srv.take_output()), "amqp:resource-limit-exceeded");
	// the server asked the client for frames within 1000 ms: an idle
	// client keeps sending heartbeats, and never times out itself (it
	// announced no idle-time-out)
	bench_amqp_tick(cli.c, 100000);
	EXPECT_EQ(cli.take_output(), bytes({0, 0, 0, 8, 2, 0, 0, 0}));
	EXPECT_EQ(bench_amqp_tick(cli.c, 100001), 100500u);
	EXPECT_FALSE(bench_amqp_is_closed(cli.c));
}

TEST(BenchAmqpIdle, WithProtonBothWays)
{
	// proton asks for 2000 ms: we must heartbeat; we ask for 1000 ms:
	// proton must heartbeat, and when it stops we time out
	client_vs_proton cp;
	cp.e.cfg.idle_timeout_ms = 1000;
	bench_amqp_free(cp.e.c);
	cp.e.create();
	pn_transport_set_idle_timeout(cp.p.d.transport, 2000);
	bench_amqp_tick(cp.e.c, 0);
	pn_transport_tick(cp.p.d.transport, 1);
	cp.start();
	ASSERT_TRUE(bench_amqp_is_open(cp.e.c));
	for (uint64_t now = 100; now <= 10000; now += 100) {
		bench_amqp_tick(cp.e.c, now);
		pn_transport_tick(cp.p.d.transport, (int64_t)now + 1);
		pump(cp.e, cp.p, SIZE_MAX, now);
	}
	EXPECT_FALSE(bench_amqp_is_closed(cp.e.c));
	EXPECT_FALSE(pn_connection_state(cp.p.d.connection) & PN_REMOTE_CLOSED);
	EXPECT_EQ(pn_condition_get_name(pn_transport_condition(cp.p.d.transport)), nullptr);
	// proton goes silent
	uint64_t now = 10000;
	for (; now <= 12000 && !bench_amqp_is_closed(cp.e.c); now += 100)
		bench_amqp_tick(cp.e.c, now);
	EXPECT_TRUE(bench_amqp_is_closed(cp.e.c));
	EXPECT_LE(now, 11200u);
	EXPECT_EQ(cp.e.closed_cond, "amqp:resource-limit-exceeded");
}

} // namespace
