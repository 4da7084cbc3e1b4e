// bench_dp_engine: the worker engine's own cost per message, with no I/O.
//
// The router's CPU per message is the engine (AMQP frames in, routing,
// frames out) plus the driver (sockets, or the dpdk driver's TCP/IP and
// PMD). The dpdk benchmark (bench/dpdk_vs_socket.sh) sees both, with the
// generator as its limit; this one drives the engine alone, through the
// test harness of tests/unit/dataplane (dp_harness.c: the socket driver's
// read placement, a capture for output), as fast as it goes, so a change
// to the engine shows as cycles per message without a generator in the
// way.
//
// Scenario (issue 6's throughput case): one producer and one consumer on
// one worker, 100-byte pre-settled messages (a properties section with
// message-id and a data section, like rpcrouter-bench's), 1 -> 1 on a
// address with a consumer. Each round feeds BATCH transfer frames in reads
// of whole frames, up to one input block each, and runs the engine until
// it is idle. The consumer granted credit and session window for the
// whole run up front; the output is discarded unread. At the end the
// worker's transfers_out is checked against what was sent, and both
// connections must still be open (the run fails otherwise).
//
//   bench_dp_engine [MESSAGES] [BATCH]     (defaults 5000000, 200)
//
// Prints messages, seconds, ns and TSC cycles per message, msg/s. Timing
// is reported, never asserted (docs/performance.md).
//
// Profiling without the set-up: with RR_PERF_CTL=FIFO the bench writes
// "enable" to perf's control FIFO when the run starts and "disable" when it
// ends, e.g.
//   mkfifo /tmp/pc
//   RR_PERF_CTL=/tmp/pc perf record -D -1 --control fifo:/tmp/pc
//     -o eng.data bench_dp_engine 5000000
#include <x86intrin.h>

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>

#include "dp_frames.h"
// dp_buf.h's block has a C flexible array member, which -Wpedantic
// (warning_level=3) rejects in C++
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wpedantic"
#include "dp_harness.h"
#pragma GCC diagnostic pop

namespace {

double now_s()
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

bytes bench_message(uint32_t body_size)
{
	return encode([&](struct amqp_wbuf *wb) {
		struct amqp_properties p;
		amqp_properties_init(&p);
		p.present = AMQP_PROPERTIES_HAS_MESSAGE_ID;
		p.message_id = null_value();
		p.message_id.type = AMQP_TYPE_ULONG;
		p.message_id.code = 0x80;
		p.message_id.u.u = 123456789;
		amqp_properties_encode(wb, &p);
		amqp_encode_descriptor(wb, AMQP_DESC_DATA);
		std::string body(body_size, 'x');
		struct amqp_bytes b = amqp_bytes_of(body.data(), body.size());
		amqp_encode_binary(wb, &b);
	});
}

// perf's control FIFO (RR_PERF_CTL), or -1
int perf_ctl = -1;

void perf_say(const char *cmd)
{
	if (perf_ctl >= 0 && write(perf_ctl, cmd, strlen(cmd)) < 0)
		perf_ctl = -1;
}

[[noreturn]] void fail(const char *what)
{
	fprintf(stderr, "bench_dp_engine: %s\n", what);
	exit(1);
}

} // namespace

int main(int argc, char **argv)
{
	uint64_t total = argc > 1 ? strtoull(argv[1], nullptr, 10) : 5000000;
	uint32_t batch = argc > 2 ? (uint32_t)strtoul(argv[2], nullptr, 10) : 200;
	// the consumer grants credit and window for the whole run once: 2^30
	if (total == 0 || total >= (1u << 30) || batch == 0 || batch > 100000)
		fail("usage: bench_dp_engine [MESSAGES (< 2^30)] [BATCH (1..100000)]");

	static struct dph h;
	dph_init(&h, 1, ROUTE_BALANCED);
	// control's defaults (ctl_config.c), not the harness's small test limits
	h.limits[0].link_capacity = 250;
	h.limits[0].session_window = 5000;
	h.limits[0].max_sessions = 32;
	h.limits[0].max_links = 64;
	const std::string addr = "bench.throughput";

	uint32_t cons = dph_open(&h, 0, 0, 65536, 0);
	const uint32_t window = 1u << 30;
	bytes in = f_begin(0, 0, window);
	append(in, f_attach_receiver(0, 0, "consumer", addr));
	uint32_t granted = 1u << 30; // credit the consumer gave, in total
	append(in, f_flow_link(0, 0, 0, granted, 0, window));
	dph_feed(&h, 0, cons, in.data(), in.size(), 0);
	dph_out_clear(&h, 0, cons);
	h.discard[0] |= 1u << cons; // its transfers are counted, not read

	uint32_t prod = dph_open(&h, 0, 0, 65536, 0);
	in = f_begin(0, 0, window);
	append(in, f_attach_sender(0, 0, "producer", addr));
	dph_feed(&h, 0, prod, in.data(), in.size(), 0); // its Flow: read below

	// part 2.7.5: delivery-ids are consecutive. The input is a ring of
	// transfer frames of one size: ids from 256 up are all encoded as uint
	// (0x70 and 4 bytes, part 1.6.4), so when the ring is used up the next
	// ids are written in place (outside the timed part) and the timed loop
	// only hands bytes over.
	const bytes msg = bench_message(100);
	// small enough to stay in cache, as bytes just received are
	const uint32_t kRing = 2048;
	uint32_t next_id = 256;
	bytes tmpl(msg.size() + 64);
	struct amqp_wbuf wb;
	amqp_wbuf_init(&wb, tmpl.data(), tmpl.size());
	uint8_t *hdr = amqp_frame_begin(&wb);
	struct amqp_transfer t;
	amqp_transfer_init(&t);
	t.present = AMQP_TRANSFER_HAS_HANDLE | AMQP_TRANSFER_HAS_DELIVERY_ID |
		    AMQP_TRANSFER_HAS_DELIVERY_TAG | AMQP_TRANSFER_HAS_MESSAGE_FORMAT |
		    AMQP_TRANSFER_HAS_SETTLED;
	t.handle = 0;
	t.delivery_id = 0x01020304; // found below by its bytes
	t.delivery_tag = amqp_bytes_of("t", 1);
	t.message_format = 0;
	t.settled = true;
	amqp_transfer_encode(&wb, &t);
	amqp_write_mem(&wb, msg.data(), msg.size());
	amqp_frame_end(&wb, hdr, AMQP_FRAME_AMQP, 0);
	if (!amqp_wbuf_ok(&wb))
		fail("a transfer frame did not fit");
	const size_t frame_len = amqp_wbuf_len(&wb);
	tmpl.resize(frame_len);
	const uint8_t id_mark[5] = {0x70, 1, 2, 3, 4};
	size_t id_at = 0;
	while (id_at + 5 <= frame_len && memcmp(&tmpl[id_at], id_mark, 5) != 0)
		id_at++;
	if (id_at + 5 > frame_len)
		fail("no uint delivery-id in the transfer template");
	id_at++; // the 4 bytes after the constructor
	bytes ring(frame_len * kRing);
	for (uint32_t i = 0; i < kRing; i++)
		memcpy(&ring[i * frame_len], tmpl.data(), frame_len);
	auto build_ring = [&]() {
		for (uint32_t i = 0; i < kRing; i++)
			amqp_put_be32(&ring[i * frame_len + id_at], next_id++);
	};
	build_ring();

	// the producer's credit, as a client keeps it (part 2.6.7): the
	// router's last flow's delivery-count + link-credit - what we sent
	uint64_t credit_edge = 0;
	auto read_flows = [&]() {
		size_t n;
		const uint8_t *p = dph_out(&h, 0, prod, &n);
		bool ok;
		out_frames v = decode_output(p, n, &ok);
		if (!ok)
			fail("the router wrote bytes that are not AMQP frames");
		for (auto &f : v)
			if (f->code == AMQP_DESC_FLOW && (f->p.u.flow.present & AMQP_FLOW_HAS_HANDLE))
				credit_edge = f->p.u.flow.delivery_count + (uint64_t)f->p.u.flow.link_credit;
		dph_out_clear(&h, 0, prod);
	};
	read_flows();

	const char *ctl = getenv("RR_PERF_CTL");
	if (ctl != nullptr && (perf_ctl = open(ctl, O_WRONLY)) < 0)
		fail("RR_PERF_CTL: cannot open perf's control FIFO");
	perf_say("enable\n");
	struct dp_worker *w = dph_worker(&h, 0);
	uint64_t out0 = w->counters[DP_C_transfers_out];
	uint64_t cycles = 0, sent = 0, rounds = 0;
	double secs = 0;
	uint32_t ring_pos = 0;
	while (sent < total) {
		uint64_t credit = credit_edge > sent ? credit_edge - sent : 0;
		if (credit == 0)
			fail("the router gave the producer no credit");
		uint64_t n = batch < credit ? batch : credit;
		if (n > total - sent)
			n = total - sent;
		if (n > kRing - ring_pos)
			n = kRing - ring_pos;
		// whole frames per read, at most one input block each (a socket
		// read of DP_BLOCK_DATA bytes would split a frame: the engine
		// handles that too, at a small extra cost not measured here)
		const size_t per_read = (DP_BLOCK_DATA / frame_len) * frame_len;
		const uint8_t *b = ring.data() + (size_t)ring_pos * frame_len;
		const size_t len = (size_t)n * frame_len;
		double t0 = now_s();
		uint64_t c0 = __rdtsc();
		for (size_t off = 0; off < len; off += per_read)
			dph_read(&h, 0, prod, b + off, len - off < per_read ? len - off : per_read);
		dph_run(&h);
		cycles += __rdtsc() - c0;
		secs += now_s() - t0;
		sent += n;
		rounds++;
		ring_pos += (uint32_t)n;
		dph_out_clear(&h, 0, cons);
		read_flows();
		if (ring_pos == kRing) {
			build_ring();
			ring_pos = 0;
		}
	}

	perf_say("disable\n");
	uint64_t got = w->counters[DP_C_transfers_out] - out0;
	if (dph_conn(&h, 0, cons) == nullptr || dph_conn(&h, 0, prod) == nullptr)
		fail("a connection was closed during the run");
	if (got != sent) {
		fprintf(stderr, "bench_dp_engine: sent %llu, the consumer got %llu; drops:",
			(unsigned long long)sent, (unsigned long long)got);
		for (unsigned i = 0; i < DP_D_COUNT; i++)
			if (w->drops[i])
				fprintf(stderr, " %s %llu", dp_drop_names[i],
					(unsigned long long)w->drops[i]);
		fprintf(stderr, "\n");
		return 1;
	}
	printf("bench_dp_engine: %llu messages (100-byte pre-settled, 1 -> 1, batch %u) in %.3f s: "
	       "%.1f ns/msg, %.1f TSC cycles/msg, %.0f msg/s\n",
	       (unsigned long long)sent, batch, secs, secs * 1e9 / (double)sent,
	       (double)cycles / (double)sent, (double)sent / secs);
	dph_fini(&h);
	return 0;
}
