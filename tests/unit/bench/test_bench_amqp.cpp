// bench_amqp: the load generator's AMQP 1.0 engine, against the real
// thing. The peer is proton-C's pn_connection_driver_t fed in memory (both
// roles), or a second engine; bytes move between them in chunks of a chosen
// size. Nothing here sleeps or reads a clock: time is a number we pass in.
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
#include <chrono>
#include <cstdio>
#include <cstring>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "amqp_frame.h"
#include "bench_amqp.h"

namespace
{

using bytes = std::vector<uint8_t>;

// ---------------------------------------------------------------------
// An engine and what its callbacks reported.

struct msg_ev {
	int link;
	uint32_t delivery;
	bool settled;
	size_t len;
	bool has_tail;
	uint64_t seq, sent_ns;
	bool has_corr;
	uint64_t corr;
	std::string to, reply_to;
	bool operator==(const msg_ev &o) const
	{
		return link == o.link && delivery == o.delivery && settled == o.settled &&
		       len == o.len && has_tail == o.has_tail && seq == o.seq &&
		       sent_ns == o.sent_ns && has_corr == o.has_corr && corr == o.corr &&
		       to == o.to && reply_to == o.reply_to;
	}
};

struct attach_ev {
	int link;
	bool sender;
	std::string address;
	bool remote;
};

struct engine {
	bench_amqp_config cfg{};
	bench_amqp_conn *c = nullptr;
	int opened = 0, credits = 0, closed = 0;
	std::string closed_cond, closed_desc;
	std::vector<attach_ev> attached;
	std::vector<msg_ev> msgs;
	std::vector<std::pair<uint64_t, bench_amqp_outcome>> settles;
	std::vector<std::pair<int, std::string>> detached;
	std::function<void(int link, uint32_t delivery, bool settled, const bench_amqp_msg *m)>
	    on_msg;
	std::function<void(int link)> on_credit;

	explicit engine(bench_amqp_role role, const char *mech = nullptr, const char *cid = "eng")
	{
		cfg.role = role;
		cfg.container_id = cid;
		cfg.sasl_mech = mech;
		cfg.user = "bench";
		cfg.password = "secret";
		cfg.want_properties = true;
		cfg.ctx = this;
		cfg.h.opened = [](void *x, bench_amqp_conn *) {
			static_cast<engine *>(x)->opened++;
		};
		cfg.h.attached = [](void *x, bench_amqp_conn *, int link, bool sender,
				    const char *a, bool remote) {
			static_cast<engine *>(x)->attached.push_back({link, sender, a, remote});
		};
		cfg.h.credit = [](void *x, bench_amqp_conn *, int link) {
			engine *e = static_cast<engine *>(x);
			e->credits++;
			if (e->on_credit)
				e->on_credit(link);
		};
		cfg.h.message = [](void *x, bench_amqp_conn *, int link, uint32_t delivery,
				   bool settled, const bench_amqp_msg *m) {
			engine *e = static_cast<engine *>(x);
			e->msgs.push_back({link, delivery, settled, m->len, m->has_tail, m->seq,
					   m->sent_ns, m->has_correlation, m->correlation, m->to,
					   m->reply_to});
			if (e->on_msg)
				e->on_msg(link, delivery, settled, m);
		};
		cfg.h.settled = [](void *x, bench_amqp_conn *, int, uint64_t token,
				   bench_amqp_outcome o) {
			static_cast<engine *>(x)->settles.push_back({token, o});
		};
		cfg.h.detached = [](void *x, bench_amqp_conn *, int link, const char *cond,
				    const char *) {
			static_cast<engine *>(x)->detached.push_back({link, cond});
		};
		cfg.h.closed = [](void *x, bench_amqp_conn *, const char *cond, const char *desc) {
			engine *e = static_cast<engine *>(x);
			e->closed++;
			e->closed_cond = cond;
			e->closed_desc = desc;
		};
	}
	void create() { c = bench_amqp_new(&cfg); }
	~engine() { bench_amqp_free(c); }
	bytes take_output()
	{
		size_t n;
		const uint8_t *p = bench_amqp_output(c, &n);
		bytes b(p, p + n);
		bench_amqp_output_done(c, n);
		return b;
	}
};

// ---------------------------------------------------------------------
// Frames on the wire, decoded with the project's codec (to look at what
// the engine wrote).

struct wire_frame {
	uint64_t code = 0; // performative or SASL descriptor; 0: heartbeat
	amqp_performative p{};
	bytes raw; // the frame, for views into it
};

// Split the output after skip bytes (protocol headers) into frames.
std::vector<std::pair<uint64_t, bytes>> frames_of(const bytes &b, size_t skip)
{
	std::vector<std::pair<uint64_t, bytes>> v;
	size_t at = skip;
	while (at + 8 <= b.size()) {
		uint32_t size = (uint32_t)b[at] << 24 | (uint32_t)b[at + 1] << 16 |
				(uint32_t)b[at + 2] << 8 | b[at + 3];
		if (size < 8 || at + size > b.size())
			break;
		bytes f(b.begin() + at, b.begin() + at + size);
		uint64_t code = 0;
		size_t doff = f[4] * 4u;
		if (size > doff + 3 && f[doff] == 0 && f[doff + 1] == 0x53)
			code = f[doff + 2];
		v.push_back({code, f});
		at += size;
	}
	return v;
}

// Decode one AMQP frame's performative (the frame bytes must outlive p).
bool decode_perf(const bytes &f, amqp_performative *p)
{
	amqp_seg seg;
	amqp_cursor cur;
	amqp_cur_init_flat(&cur, &seg, f.data(), f.size());
	amqp_frame fr;
	amqp_diag d{};
	if (amqp_frame_parse(&cur, 1u << 30, &fr, &d) != RR_OK)
		return false;
	return amqp_performative_decode(&fr.body, p, &d) == RR_OK;
}

std::string str_of(const amqp_bytes &b)
{
	std::string s(b.len, '\0');
	amqp_bytes_copy(&b, &s[0], b.len);
	return s;
}

// The condition of the Close in an engine's output, "" when there is none
// (and "<none>" for a Close without error).
std::string close_condition(const bytes &out, size_t skip = 0)
{
	for (auto &f : frames_of(out, skip)) {
		if (f.first != AMQP_DESC_CLOSE)
			continue;
		amqp_performative p;
		if (!decode_perf(f.second, &p))
			return "<undecodable>";
		if (!(p.u.close.present & AMQP_CLOSE_HAS_ERROR))
			return "<none>";
		return str_of(p.u.close.error.condition);
	}
	return "";
}

// ---------------------------------------------------------------------
// Two engines in memory.

// Move bytes both ways in chunks until neither side has anything to say.
void pump(engine &a, engine &b, size_t chunk = SIZE_MAX, uint64_t now = 0, int rounds = 100000)
{
	for (int r = 0; r < rounds; r++) {
		bool moved = false;
		for (int dir = 0; dir < 2; dir++) {
			engine &from = dir ? b : a;
			engine &to = dir ? a : b;
			size_t n;
			const uint8_t *p = bench_amqp_output(from.c, &n);
			if (n == 0)
				continue;
			bytes copy(p, p + n); // the receiver's callbacks may write more
			bench_amqp_output_done(from.c, n);
			moved = true;
			if (bench_amqp_is_closed(to.c))
				continue;
			for (size_t at = 0; at < copy.size(); at += chunk) {
				size_t k = std::min(chunk, copy.size() - at);
				bench_amqp_input(to.c, copy.data() + at, k, now);
			}
		}
		if (!moved)
			return;
	}
	ADD_FAILURE() << "pump did not settle";
}

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

TEST(BenchAmqpProton, OverMaxMessageIsDetached)
{
	client_vs_proton cp(0, 4096);
	cp.e.cfg.max_message = 10000;
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
		bytes m = proton_message(20000, 1, 1, nullptr);
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

// ---------------------------------------------------------------------
// Engine <-> engine.

// A fixed scenario between a client and a server engine; returns what both
// saw. Every byte moves in chunks of the given size.
struct transcript {
	std::vector<msg_ev> srv_msgs, cli_msgs;
	std::vector<std::pair<uint64_t, bench_amqp_outcome>> cli_settles;
	std::vector<std::string> attached;
	std::string srv_closed, cli_closed;
};

transcript loopback(size_t chunk)
{
	transcript tr;
	engine srv(BENCH_AMQP_SERVER, "PLAIN", "srv");
	srv.cfg.max_frame_size = 4096;
	srv.cfg.peer_link_credit = 20;
	srv.create();
	engine cli(BENCH_AMQP_CLIENT, "PLAIN", "cli");
	cli.cfg.max_frame_size = 2048;
	cli.cfg.incoming_window = 16;
	cli.create();
	// the server answers every request on the link the client receives on
	int srv_reply = -1;
	srv.cfg.h.attached = nullptr;
	srv.on_msg = [&](int, uint32_t, bool, const bench_amqp_msg *m) {
		if (srv_reply < 0 || !m->has_correlation)
			return;
		bench_amqp_tpl t;
		bench_amqp_tpl_build(&t, m->reply_to, nullptr, true, 50, 0);
		bench_amqp_send(srv.c, srv_reply, &t, m->seq, m->sent_ns, m->correlation);
	};
	int ps = bench_amqp_attach_sender(cli.c, "pre", true);
	int us = bench_amqp_attach_sender(cli.c, "uns", false);
	int rr = bench_amqp_attach_receiver(cli.c, nullptr, 8, true);
	bench_amqp_start(cli.c);
	pump(cli, srv, chunk);
	for (auto &a : srv.attached)
		if (a.sender)
			srv_reply = a.link;
	for (auto &a : cli.attached)
		tr.attached.push_back(a.address + (a.sender ? ">" : "<"));
	for (auto &a : srv.attached)
		tr.attached.push_back(a.address + (a.sender ? ">" : "<") + (a.remote ? "r" : ""));
	std::string reply_addr;
	for (auto &a : cli.attached)
		if (a.link == rr)
			reply_addr = a.address;
	bench_amqp_tpl small, rpc, big;
	bench_amqp_tpl_build(&small, nullptr, nullptr, false, 100, 0);
	bench_amqp_tpl_build(&rpc, "uns", reply_addr.c_str(), true, 100, 0);
	bench_amqp_tpl_build(&big, nullptr, nullptr, false, 10000, 0); // 5+ frames
	uint64_t seq = 0;
	for (int round = 0; round < 40; round++) {
		for (int k = 0; k < 5; k++)
			if (bench_amqp_send(cli.c, ps, &small, seq, seq * 3, 0) >= 0)
				seq++;
		if (bench_amqp_send(cli.c, us, &rpc, seq, seq * 3, 100000 + seq) >= 0)
			seq++;
		if (round % 10 == 0 && bench_amqp_send(cli.c, ps, &big, seq, 0, 0) >= 0)
			seq++;
		pump(cli, srv, chunk);
	}
	bench_amqp_close(cli.c, nullptr, nullptr);
	pump(cli, srv, chunk);
	tr.srv_msgs = srv.msgs;
	tr.cli_msgs = cli.msgs;
	tr.cli_settles = cli.settles;
	tr.srv_closed = std::to_string(srv.closed) + srv.closed_cond;
	tr.cli_closed = std::to_string(cli.closed) + cli.closed_cond +
			(bench_amqp_is_closed(cli.c) ? "done" : "open");
	return tr;
}

TEST(BenchAmqpLoopback, ChunkingChangesNothing)
{
	transcript whole = loopback(SIZE_MAX);
	// what the scenario must have done at all
	ASSERT_EQ(whole.attached.size(), 6u);
	EXPECT_EQ(whole.attached[2], "bench.dynamic.0<");
	EXPECT_EQ(whole.srv_msgs.size(), 40u * 6 + 4);
	EXPECT_EQ(whole.cli_msgs.size(), 40u);
	EXPECT_EQ(whole.cli_settles.size(), 40u);
	for (auto &s : whole.cli_settles)
		EXPECT_EQ(s.second, BENCH_AMQP_ACCEPTED);
	for (auto &m : whole.cli_msgs) {
		EXPECT_TRUE(m.has_corr);
		EXPECT_EQ(m.corr, 100000 + m.seq);
		EXPECT_EQ(m.to, "bench.dynamic.0");
	}
	size_t big = 0;
	for (auto &m : whole.srv_msgs)
		big += m.len > 10000;
	EXPECT_EQ(big, 4u);
	EXPECT_EQ(whole.srv_closed, "1");
	EXPECT_EQ(whole.cli_closed, "1done");
	for (size_t chunk : {(size_t)1, (size_t)7, (size_t)1460}) {
		SCOPED_TRACE(chunk);
		transcript t = loopback(chunk);
		EXPECT_EQ(t.attached, whole.attached);
		EXPECT_TRUE(t.srv_msgs == whole.srv_msgs);
		EXPECT_TRUE(t.cli_msgs == whole.cli_msgs);
		EXPECT_EQ(t.cli_settles, whole.cli_settles);
		EXPECT_EQ(t.srv_closed, whole.srv_closed);
		EXPECT_EQ(t.cli_closed, whole.cli_closed);
	}
}

// A connected client/server pair with one client sender to "q" and the
// server's mirrored receiver.
struct pair_up {
	engine srv{BENCH_AMQP_SERVER, nullptr, "srv"};
	engine cli{BENCH_AMQP_CLIENT};
	int snd = -1;
	pair_up(bool presettled, bool manual, uint32_t credit = 1000)
	{
		srv.cfg.peer_link_credit = credit;
		srv.cfg.peer_link_manual_settle = manual;
		srv.create();
		cli.create();
		snd = bench_amqp_attach_sender(cli.c, "q", presettled);
		bench_amqp_start(cli.c);
		pump(cli, srv);
	}
};

TEST(BenchAmqpLinks, DetachBeforeThePeersAttach)
{
	engine srv(BENCH_AMQP_SERVER, nullptr, "srv");
	srv.create();
	engine cli(BENCH_AMQP_CLIENT);
	cli.create();
	int l = bench_amqp_attach_sender(cli.c, "q", true);
	bench_amqp_start(cli.c);
	bench_amqp_detach(cli.c, l); // Attach and Detach go out together
	pump(cli, srv);
	EXPECT_TRUE(cli.attached.empty());
	ASSERT_EQ(cli.detached.size(), 1u);
	EXPECT_EQ(cli.detached[0], std::make_pair(l, std::string("")));
	ASSERT_EQ(srv.attached.size(), 1u);
	ASSERT_EQ(srv.detached.size(), 1u);
	// both ends freed it: the same index again, and it works
	EXPECT_EQ(bench_amqp_attach_sender(cli.c, "q2", true), l);
	pump(cli, srv);
	ASSERT_EQ(cli.attached.size(), 1u);
	EXPECT_EQ(cli.attached[0].address, "q2");
	EXPECT_GT(bench_amqp_credit(cli.c, l), 0u);
	EXPECT_TRUE(bench_amqp_is_open(cli.c));
}

TEST(BenchAmqpLinks, NothingDeliveredAfterOurClose)
{
	pair_up pu(true, false);
	bench_amqp_tpl t;
	bench_amqp_tpl_build(&t, nullptr, nullptr, false, 30, 0);
	for (int i = 0; i < 10; i++)
		ASSERT_GE(bench_amqp_send(pu.cli.c, pu.snd, &t, i, 0, 0), 0);
	// the server's handler closes at the third message of one input call
	pu.srv.on_msg = [&](int, uint32_t, bool, const bench_amqp_msg *m) {
		if (m->seq == 2)
			bench_amqp_close(pu.srv.c, nullptr, nullptr);
	};
	pump(pu.cli, pu.srv);
	EXPECT_EQ(pu.srv.msgs.size(), 3u);
	EXPECT_TRUE(bench_amqp_is_closed(pu.srv.c));
	EXPECT_TRUE(bench_amqp_is_closed(pu.cli.c));
	EXPECT_EQ(pu.cli.closed, 1);
}

// Dispositions in an output: (first, last, settled, state descriptor).
std::vector<std::tuple<uint32_t, uint32_t, bool, uint64_t>> dispositions(const bytes &out)
{
	std::vector<std::tuple<uint32_t, uint32_t, bool, uint64_t>> v;
	for (auto &f : frames_of(out, 0)) {
		if (f.first != AMQP_DESC_DISPOSITION)
			continue;
		amqp_performative p;
		EXPECT_TRUE(decode_perf(f.second, &p));
		const amqp_disposition &d = p.u.disposition;
		uint32_t last = (d.present & AMQP_DISPOSITION_HAS_LAST) ? d.last : d.first;
		v.push_back({d.first, last, d.settled, d.state.descriptor});
	}
	return v;
}

TEST(BenchAmqpSettle, OneRangePerInputCall)
{
	pair_up pu(false, false);
	bench_amqp_tpl t;
	bench_amqp_tpl_build(&t, nullptr, nullptr, false, 100, 0);
	std::vector<int64_t> tok;
	for (int i = 0; i < 50; i++)
		tok.push_back(bench_amqp_send(pu.cli.c, pu.snd, &t, i, 0, 0));
	ASSERT_EQ(tok.back(), tok.front() + 49);
	bytes out = pu.cli.take_output();
	ASSERT_TRUE(bench_amqp_input(pu.srv.c, out.data(), out.size(), 0));
	EXPECT_EQ(pu.srv.msgs.size(), 50u);
	bytes back = pu.srv.take_output();
	auto d = dispositions(back);
	ASSERT_EQ(d.size(), 1u);
	EXPECT_EQ(std::get<0>(d[0]), (uint32_t)tok.front());
	EXPECT_EQ(std::get<1>(d[0]), (uint32_t)tok.back());
	EXPECT_TRUE(std::get<2>(d[0]));
	EXPECT_EQ(std::get<3>(d[0]), AMQP_DESC_ACCEPTED);
	// the sender reports each token of the range
	bench_amqp_input(pu.cli.c, back.data(), back.size(), 0);
	ASSERT_EQ(pu.cli.settles.size(), 50u);
	for (int i = 0; i < 50; i++)
		EXPECT_EQ(pu.cli.settles[i].first, (uint64_t)tok[i]);
}

TEST(BenchAmqpSettle, ManualSettleRangesSplitOnOutcome)
{
	pair_up pu(false, true);
	bench_amqp_tpl t;
	bench_amqp_tpl_build(&t, nullptr, nullptr, false, 30, 0);
	for (int i = 0; i < 10; i++)
		ASSERT_GE(bench_amqp_send(pu.cli.c, pu.snd, &t, i, 0, 0), 0);
	pump(pu.cli, pu.srv);
	ASSERT_EQ(pu.srv.msgs.size(), 10u);
	EXPECT_TRUE(pu.cli.settles.empty()); // nothing settled yet
	for (int i = 0; i < 10; i++) {
		const msg_ev &m = pu.srv.msgs[i];
		EXPECT_FALSE(m.settled);
		bench_amqp_settle(pu.srv.c, m.link, m.delivery,
				  i == 4 ? BENCH_AMQP_REJECTED : BENCH_AMQP_ACCEPTED);
	}
	bytes back = pu.srv.take_output();
	auto d = dispositions(back);
	ASSERT_EQ(d.size(), 3u);
	uint32_t f = pu.srv.msgs[0].delivery;
	EXPECT_EQ(d[0], std::make_tuple(f, f + 3, true, AMQP_DESC_ACCEPTED));
	EXPECT_EQ(d[1], std::make_tuple(f + 4, f + 4, true, AMQP_DESC_REJECTED));
	EXPECT_EQ(d[2], std::make_tuple(f + 5, f + 9, true, AMQP_DESC_ACCEPTED));
	bench_amqp_input(pu.cli.c, back.data(), back.size(), 0);
	ASSERT_EQ(pu.cli.settles.size(), 10u);
	EXPECT_EQ(pu.cli.settles[4].second, BENCH_AMQP_REJECTED);
	EXPECT_EQ(pu.cli.settles[5].second, BENCH_AMQP_ACCEPTED);
}

TEST(BenchAmqpFlow, CreditRefilledAtHalfAndWindowNeverStalls)
{
	// 10 credit, incoming window 16 frames: 1000 messages go through
	// with flows only, and the sender is never refused for the window
	engine srv(BENCH_AMQP_SERVER, nullptr, "srv");
	srv.cfg.peer_link_credit = 10;
	srv.cfg.incoming_window = 16;
	srv.create();
	engine cli(BENCH_AMQP_CLIENT);
	cli.create();
	int s = bench_amqp_attach_sender(cli.c, "q", true);
	bench_amqp_start(cli.c);
	pump(cli, srv);
	bench_amqp_tpl t;
	bench_amqp_tpl_build(&t, nullptr, nullptr, false, 100, 0);
	int sent = 0, refused = 0;
	for (int guard = 0; sent < 1000 && guard < 10000; guard++) {
		// at most 5 before the peer answers: half the credit
		for (int k = 0; k < 5; k++) {
			if (bench_amqp_send(cli.c, s, &t, sent, 0, 0) >= 0)
				sent++;
			else
				refused++;
		}
		pump(cli, srv);
	}
	EXPECT_EQ(sent, 1000);
	EXPECT_EQ(refused, 0);
	EXPECT_EQ(srv.msgs.size(), 1000u);
	EXPECT_EQ(bench_amqp_credit(cli.c, s), 10u);
}

TEST(BenchAmqpFlow, OutputRoomBoundsTheSender)
{
	engine srv(BENCH_AMQP_SERVER, nullptr, "srv");
	srv.cfg.peer_link_credit = 100000;
	srv.create();
	engine cli(BENCH_AMQP_CLIENT);
	cli.cfg.out_buf = 256 * 1024;
	cli.create();
	int s = bench_amqp_attach_sender(cli.c, "q", true);
	bench_amqp_start(cli.c);
	pump(cli, srv);
	bench_amqp_tpl t;
	bench_amqp_tpl_build(&t, nullptr, nullptr, false, 1000, 0);
	int sent = 0;
	while (sent < 100000 && bench_amqp_send(cli.c, s, &t, sent, 0, 0) >= 0)
		sent++;
	EXPECT_GT(sent, 100);
	EXPECT_LT(sent, 300); // stopped by the buffer, not by credit
	size_t n;
	bench_amqp_output(cli.c, &n);
	EXPECT_LE(n, 256u * 1024);
	pump(cli, srv);
	EXPECT_EQ(srv.msgs.size(), (size_t)sent);
	EXPECT_GE(bench_amqp_send(cli.c, s, &t, sent, 0, 0), 0); // room again
}

// ---------------------------------------------------------------------
// Hostile peers.

// A server engine after the client's header and Open; returns its output
// after feeding it extra.
struct open_server {
	engine srv{BENCH_AMQP_SERVER, nullptr, "srv"};
	open_server()
	{
		srv.create();
		engine cli(BENCH_AMQP_CLIENT);
		cli.create();
		bench_amqp_start(cli.c);
		pump(cli, srv);
		srv.take_output();
	}
};

TEST(BenchAmqpHostile, GarbageFrameGetsFramingError)
{
	open_server os;
	const uint8_t garbage[] = {0, 0, 0, 3, 2, 0, 0, 0, 'x', 'y'}; // size 3 < 8
	EXPECT_FALSE(bench_amqp_input(os.srv.c, garbage, sizeof garbage, 0));
	EXPECT_EQ(close_condition(os.srv.take_output()), "amqp:connection:framing-error");
	EXPECT_EQ(os.srv.closed_cond, "amqp:connection:framing-error");
	EXPECT_TRUE(bench_amqp_is_closed(os.srv.c));
	// and nothing more is read or written
	EXPECT_FALSE(bench_amqp_input(os.srv.c, garbage, sizeof garbage, 0));
	EXPECT_TRUE(os.srv.take_output().empty());
	EXPECT_EQ(os.srv.closed, 1);
}

TEST(BenchAmqpHostile, OversizedFrameAndBadDoff)
{
	{
		open_server os;
		// 1 MiB frame announced, above our 64 KiB max-frame-size
		const uint8_t f[] = {0, 0x10, 0, 0, 2, 0, 0, 0};
		EXPECT_FALSE(bench_amqp_input(os.srv.c, f, sizeof f, 0));
		EXPECT_EQ(close_condition(os.srv.take_output()), "amqp:connection:framing-error");
	}
	{
		open_server os;
		const uint8_t f[] = {0, 0, 0, 8, 1, 0, 0, 0}; // doff 1
		for (uint8_t b : f) // byte by byte: the partial-frame path
			bench_amqp_input(os.srv.c, &b, 1, 0);
		EXPECT_EQ(close_condition(os.srv.take_output()), "amqp:connection:framing-error");
	}
}

TEST(BenchAmqpHostile, UndecodablePerformativeGetsDecodeError)
{
	open_server os;
	// a frame whose body is a described list with a lying size
	const uint8_t f[] = {0, 0, 0, 14, 2, 0, 0, 0, 0x00, 0x53, 0x13, 0xc0, 0x50, 0x01};
	EXPECT_FALSE(bench_amqp_input(os.srv.c, f, sizeof f, 0));
	EXPECT_EQ(close_condition(os.srv.take_output()), "amqp:decode-error");
	EXPECT_EQ(os.srv.closed_cond, "amqp:decode-error");
}

TEST(BenchAmqpHostile, NotAnAmqpHeader)
{
	engine srv(BENCH_AMQP_SERVER, "ANONYMOUS", "srv");
	srv.create();
	const char req[] = "GET / HTTP/1.1\r\n";
	EXPECT_FALSE(bench_amqp_input(srv.c, (const uint8_t *)req, sizeof req - 1, 0));
	// part 2.2: our header (SASL: we offer a SASL layer), then nothing
	bytes out = srv.take_output();
	EXPECT_EQ(out, bytes({'A', 'M', 'Q', 'P', 3, 1, 0, 0}));
	EXPECT_EQ(srv.closed_cond, "amqp:connection:framing-error");

	engine bare(BENCH_AMQP_SERVER, nullptr, "srv");
	bare.create();
	const uint8_t sasl_hdr[] = {'A', 'M', 'Q', 'P', 3, 1, 0, 0};
	EXPECT_FALSE(bench_amqp_input(bare.c, sasl_hdr, 8, 0));
	EXPECT_EQ(bare.take_output(), bytes({'A', 'M', 'Q', 'P', 0, 1, 0, 0}));
}

// (A receiver that refills at half its window never reaches zero credit,
// so transfer-limit-exceeded cannot be provoked through a peer that only
// ever sees our flows; what a peer can do is send on the wrong link.)
TEST(BenchAmqpHostile, TransferOnOurSenderIsRefused)
{
	pair_up pu(true, false);
	bench_amqp_tpl t;
	bench_amqp_tpl_build(&t, nullptr, nullptr, false, 30, 0);
	ASSERT_GE(bench_amqp_send(pu.cli.c, pu.snd, &t, 0, 0, 0), 0);
	bytes one = pu.cli.take_output();
	// the server's handle 0 is its receiver; the client's is its sender:
	// the client's own transfer, fed back to it, arrives on its sender
	EXPECT_FALSE(bench_amqp_input(pu.cli.c, one.data(), one.size(), 0));
	bytes out = pu.cli.take_output();
	EXPECT_EQ(close_condition(out), "amqp:not-allowed");
	EXPECT_EQ(pu.cli.closed_cond, "amqp:not-allowed");
	bool end = false;
	for (auto &x : frames_of(out, 0))
		end |= x.first == AMQP_DESC_END;
	EXPECT_TRUE(end);
}

TEST(BenchAmqpHostile, UnattachedHandleEndsTheSession)
{
	pair_up pu(true, false);
	bench_amqp_tpl t;
	bench_amqp_tpl_build(&t, nullptr, nullptr, false, 30, 0);
	ASSERT_GE(bench_amqp_send(pu.cli.c, pu.snd, &t, 0, 0, 0), 0);
	bytes one = pu.cli.take_output();
	// handle 0 -> 5 in the transfer (0x43 uint0 -> 0x52 0x05 changes sizes:
	// rewrite the whole frame instead)
	auto fr = frames_of(one, 0);
	ASSERT_EQ(fr.size(), 1u);
	bytes f = fr[0].second;
	ASSERT_EQ(f[8 + 6], 0x43); // handle: uint0, after descriptor + list8 head
	f[8 + 6] = 0x52;
	f.insert(f.begin() + 8 + 7, 5);
	f[8 + 4]++; // list8 size
	uint32_t size = (uint32_t)f.size();
	f[0] = (uint8_t)(size >> 24);
	f[1] = (uint8_t)(size >> 16);
	f[2] = (uint8_t)(size >> 8);
	f[3] = (uint8_t)size;
	EXPECT_FALSE(bench_amqp_input(pu.srv.c, f.data(), f.size(), 0));
	bytes out = pu.srv.take_output();
	bool end = false;
	for (auto &x : frames_of(out, 0))
		if (x.first == AMQP_DESC_END) {
			amqp_performative p;
			ASSERT_TRUE(decode_perf(x.second, &p));
			EXPECT_EQ(str_of(p.u.end.error.condition),
				  "amqp:session:unattached-handle");
			end = true;
		}
	EXPECT_TRUE(end);
	EXPECT_EQ(pu.srv.closed_cond, "amqp:session:unattached-handle");
}

TEST(BenchAmqpHostile, RandomBytesNeverCrash)
{
	// after a valid handshake, pseudo-random frames: the engine closes
	// with a condition or keeps going, and its output stays bounded
	uint32_t x = 12345;
	for (int run = 0; run < 200; run++) {
		open_server os;
		bytes junk(64 + run);
		for (auto &b : junk) {
			x = x * 1103515245u + 12345u;
			b = (uint8_t)(x >> 16);
		}
		// a plausible frame header so the body gets decoded
		uint32_t size = (uint32_t)junk.size();
		junk[0] = 0;
		junk[1] = 0;
		junk[2] = (uint8_t)(size >> 8);
		junk[3] = (uint8_t)size;
		junk[4] = 2;
		junk[5] = 0;
		junk[6] = 0;
		junk[7] = 0;
		junk[8] = 0x00;
		junk[9] = 0x53;
		junk[10] = (uint8_t)(0x10 + run % 9);
		bench_amqp_input(os.srv.c, junk.data(), junk.size(), 0);
		size_t n;
		bench_amqp_output(os.srv.c, &n);
		EXPECT_LT(n, 4096u);
		if (bench_amqp_is_closed(os.srv.c)) {
			EXPECT_NE(std::string(bench_amqp_error(os.srv.c)), "");
		}
	}
}

TEST(BenchAmqpHostile, MutatedClientStreams)
{
	// a real client stream (SASL PLAIN, Open, Begin, Attaches, Flow,
	// single- and multi-frame transfers), recorded once
	bytes stream;
	{
		engine srv(BENCH_AMQP_SERVER, "PLAIN", "srv");
		srv.create();
		engine cli(BENCH_AMQP_CLIENT, "PLAIN");
		cli.cfg.max_frame_size = 1024;
		cli.create();
		int s = bench_amqp_attach_sender(cli.c, "q", false);
		bench_amqp_attach_receiver(cli.c, nullptr, 5, true);
		bench_amqp_start(cli.c);
		for (int r = 0; r < 50; r++) {
			bytes o = cli.take_output();
			stream.insert(stream.end(), o.begin(), o.end());
			bench_amqp_input(srv.c, o.data(), o.size(), 0);
			bytes b = srv.take_output();
			bench_amqp_input(cli.c, b.data(), b.size(), 0);
			bench_amqp_tpl t;
			bench_amqp_tpl_build(&t, "to", "rt", true, r % 5 ? 60 : 3000, 0);
			bench_amqp_send(cli.c, s, &t, r, r, r);
		}
		ASSERT_GT(srv.msgs.size(), 40u);
	}
	uint32_t x = 777;
	auto rnd = [&]() {
		x = x * 1103515245u + 12345u;
		return x >> 8;
	};
	int closed = 0;
	for (int run = 0; run < 300; run++) {
		bytes m = stream;
		int flips = 1 + run % 4;
		for (int k = 0; k < flips; k++)
			m[rnd() % m.size()] ^= (uint8_t)(1u << (rnd() % 8));
		engine srv(BENCH_AMQP_SERVER, "PLAIN", "srv");
		srv.cfg.max_message = 8192;
		srv.cfg.out_buf = 65536;
		srv.create();
		size_t chunk = 1 + rnd() % 600;
		for (size_t at = 0; at < m.size() && !bench_amqp_is_closed(srv.c); at += chunk) {
			bench_amqp_input(srv.c, m.data() + at, std::min(chunk, m.size() - at), 0);
			bytes o = srv.take_output(); // a reader that keeps up
			EXPECT_LT(o.size(), 65536u);
		}
		if (bench_amqp_is_closed(srv.c)) {
			closed++;
			EXPECT_EQ(srv.closed, 1);
			EXPECT_NE(std::string(bench_amqp_error(srv.c)), "");
		}
	}
	EXPECT_GT(closed, 20); // flips in headers and performatives are caught (most land in bodies)
}

// ---------------------------------------------------------------------
// The figure the brief asks for: encode and decode of 100-byte presettled
// messages between two engines in memory. Reported, never asserted; run
// with --gtest_also_run_disabled_tests.

void rate_run(uint64_t batch)
{
	engine srv(BENCH_AMQP_SERVER, nullptr, "srv");
	srv.cfg.peer_link_credit = 100000;
	srv.cfg.want_properties = false;
	srv.cfg.h.message = [](void *x, bench_amqp_conn *, int, uint32_t, bool,
			       const bench_amqp_msg *m) {
		static_cast<engine *>(x)->credits += m->has_tail && m->len == 105; // count only
	};
	srv.create();
	engine cli(BENCH_AMQP_CLIENT);
	cli.create();
	int s = bench_amqp_attach_sender(cli.c, "q", true);
	bench_amqp_start(cli.c);
	pump(cli, srv);
	bench_amqp_tpl t;
	bench_amqp_tpl_build(&t, nullptr, nullptr, false, 100, 0);
	const uint64_t N = 20000000;
	double enc_s = 0, dec_s = 0;
	uint64_t sent = 0, wire = 0;
	using clk = std::chrono::steady_clock;
	auto t_end = clk::now() + std::chrono::seconds(30);
	while (sent < N && clk::now() < t_end) {
		auto a = clk::now();
		uint64_t before = sent;
		while (sent - before < batch && bench_amqp_send(cli.c, s, &t, sent, 0, 0) >= 0)
			sent++;
		auto b = clk::now();
		size_t n;
		const uint8_t *o = bench_amqp_output(cli.c, &n);
		wire += n;
		bench_amqp_input(srv.c, o, n, 0);
		bench_amqp_output_done(cli.c, n);
		auto c2 = clk::now();
		o = bench_amqp_output(srv.c, &n);
		bench_amqp_input(cli.c, o, n, 0);
		bench_amqp_output_done(srv.c, n);
		enc_s += std::chrono::duration<double>(b - a).count();
		dec_s += std::chrono::duration<double>(c2 - b).count();
	}
	EXPECT_EQ((uint64_t)srv.credits, sent);
	printf("bench_amqp loopback, batches of %llu: %llu msgs (%.1f wire bytes each), "
	       "encode %.2f M msg/s, decode %.2f M msg/s, both on one core %.2f M msg/s\n",
	       (unsigned long long)batch, (unsigned long long)sent, (double)wire / sent,
	       sent / enc_s / 1e6, sent / dec_s / 1e6, sent / (enc_s + dec_s) / 1e6);
}

TEST(BenchAmqpRate, DISABLED_LoopbackPresettled100)
{
	rate_run(20000);
	rate_run(64);
}

} // namespace
