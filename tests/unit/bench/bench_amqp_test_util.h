// Shared by the bench_amqp tests: an engine with its callbacks recorded,
// frames of an engine's output decoded with the project's codec, and two
// engines pumped in memory.
#ifndef BENCH_AMQP_TEST_UTIL_H
#define BENCH_AMQP_TEST_UTIL_H

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "amqp_frame.h"
#include "bench_amqp.h"

namespace bench_test
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
inline std::vector<std::pair<uint64_t, bytes>> frames_of(const bytes &b, size_t skip)
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
inline bool decode_perf(const bytes &f, amqp_performative *p)
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

inline std::string str_of(const amqp_bytes &b)
{
	std::string s(b.len, '\0');
	amqp_bytes_copy(&b, &s[0], b.len);
	return s;
}

// The condition of the Close in an engine's output, "" when there is none
// (and "<none>" for a Close without error).
inline std::string close_condition(const bytes &out, size_t skip = 0)
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
inline void pump(engine &a, engine &b, size_t chunk = SIZE_MAX, uint64_t now = 0,
		 int rounds = 100000)
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

} // namespace bench_test
#endif
