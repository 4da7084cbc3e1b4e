// Writes the seed corpus of tests/fuzz/fuzz_conn.c: well-formed (and a few
// deliberately wrong) sessions after Open, encoded with the codec. Run by
// hand: build/tests/unit/gen_conn_corpus tests/fuzz/corpus/conn
//
// A seed is: read-size selector byte, peer selector byte, then the stream
// (see fuzz_conn.c). The consumer of "fuzz.q" exists in every run.
#include <cstdio>
#include <string>

#include "dp_frames.h"

namespace {

void put(const std::string &dir, const std::string &name, uint8_t split, uint8_t peer,
	 const bytes &stream)
{
	std::string path = dir + "/seed-" + name;
	FILE *f = fopen(path.c_str(), "wb");
	if (f == nullptr) {
		perror(path.c_str());
		exit(1);
	}
	fputc(split, f);
	fputc(peer, f);
	fwrite(stream.data(), 1, stream.size(), f);
	fclose(f);
}

bytes producer(const std::string &addr) // Begin + sender Attach on handle 0
{
	bytes b = f_begin(0);
	append(b, f_attach_sender(0, 0, "p", addr));
	return b;
}

bytes transfers(uint32_t n, bool settled, const std::string &to = "", uint32_t first_id = 0)
{
	bytes b;
	for (uint32_t i = 0; i < n; i++) {
		xfer x;
		x.delivery_id = first_id + i;
		x.tag = "d" + std::to_string(i);
		x.settled = settled;
		append(b, f_transfer(0, x, message(to, "body " + std::to_string(i))));
	}
	return b;
}

} // namespace

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: %s DIR\n", argv[0]);
		return 2;
	}
	std::string d = argv[1];
	bytes s;

	put(d, "begin", 7, 0, f_begin(0));
	s = producer("fuzz.q");
	append(s, transfers(3, true));
	put(d, "presettled", 7, 0, s);
	s = producer("fuzz.q");
	append(s, transfers(3, false));
	append(s, f_disposition(0, false, 0, true, {}));
	put(d, "unsettled", 2, 1, s);
	s = producer("");
	append(s, transfers(2, true, "fuzz.q"));
	append(s, transfers(1, false, "nowhere", 2));
	append(s, transfers(1, false, "", 3));
	put(d, "anonymous-relay", 3, 2, s);
	{
		s = producer("fuzz.q");
		std::string body(3000, 'x');
		bytes msg = message("", body);
		size_t cuts[] = {0, 1000, 2000, msg.size()};
		for (int k = 0; k < 3; k++) {
			xfer x;
			x.first = k == 0;
			x.more = k < 2;
			append(s, f_transfer(0, x, bytes(msg.begin() + cuts[k], msg.begin() + cuts[k + 1])));
		}
		put(d, "multi-frame", 6, 0, s);
	}
	{
		s = producer("fuzz.q");
		xfer x;
		x.more = true;
		append(s, f_transfer(0, x, message("", "half")));
		xfer y;
		y.first = false;
		y.aborted = true;
		append(s, f_transfer(0, y, {}));
		append(s, transfers(1, true, "", 1));
		put(d, "aborted", 5, 0, s);
	}
	s = producer("fuzz.q");
	append(s, transfers(6, true)); // beyond the credit of 4
	put(d, "beyond-credit", 7, 0, s);
	s = producer("fuzz.q");
	append(s, transfers(12, true)); // beyond the window of 8 (credit first)
	put(d, "beyond-window", 7, 0, s);
	s = f_begin(0);
	{
		xfer x;
		x.handle = 9;
		append(s, f_transfer(0, x, message("", "m")));
	}
	put(d, "unattached-handle", 1, 0, s);
	s = f_begin(0);
	append(s, f_attach_receiver(0, 0, "r", "fuzz.q"));
	append(s, f_flow_link(0, 0, 0, 10));
	append(s, f_attach_sender(0, 1, "s", "fuzz.q"));
	append(s, transfers(0, true));
	{
		xfer x;
		x.handle = 1;
		x.settled = false;
		append(s, f_transfer(0, x, message("", "to both consumers")));
	}
	append(s, f_disposition(0, true, 0, true, st_rejected("app:x", "no")));
	append(s, f_detach(0, 0));
	append(s, f_detach(0, 1));
	append(s, f_end(0));
	append(s, f_close());
	put(d, "second-consumer-and-close", 7, 4, s);
	s = f_begin(0);
	append(s, f_attach_receiver(0, 0, "reply", "", true));
	append(s, f_flow_link(0, 0, 0, 5, 0, 100, true));
	append(s, f_begin(1));
	append(s, f_attach_sender(1, 0, "p1", ""));
	append(s, f_end(1));
	put(d, "dynamic-drain-two-sessions", 4, 7, s);
	s = producer("nobody.listens");
	append(s, transfers(1, true));
	append(s, bytes{0, 0, 0, 8, 2, 0, 0, 0}); // a heartbeat
	append(s, f_close());
	put(d, "no-consumer-heartbeat", 7, 4, s);
	s = producer("fuzz.q");
	append(s, bytes{0, 0, 0, 4, 2, 0, 0, 0}); // a frame too small
	put(d, "framing-error", 7, 0, s);
	s = f_begin(0);
	append(s, frame(0, [](struct amqp_wbuf *wb) { amqp_encode_descriptor(wb, 0x99); amqp_encode_null(wb); }));
	put(d, "unknown-performative", 7, 0, s);
	return 0;
}
