// Test helpers: feed bytes to a decoder as chains of N-byte segments.
#pragma once

#include <cstdint>
#include <vector>

#include "amqp_buf.h"

// N = 1, 2, 3, 5, 7, an Ethernet MSS, and "one segment".
inline std::vector<size_t> test_split_sizes() { return {1, 2, 3, 5, 7, 1460, SIZE_MAX}; }

// Owns a copy of the bytes cut into segments of n bytes (each segment its
// own heap block, so ASan catches any read past a segment end).
class test_chain {
public:
	test_chain(const std::vector<uint8_t> &data, size_t n) : test_chain(data.data(), data.size(), n) {}
	test_chain(const uint8_t *data, size_t len, size_t n)
	{
		if (n == 0)
			n = 1;
		for (size_t off = 0; off < len || (len == 0 && off == 0); off += n) {
			size_t k = len - off < n ? len - off : n;
			blocks_.emplace_back(data + off, data + off + k);
			if (len == 0)
				break;
		}
		for (auto &b : blocks_)
			segs_.push_back({b.data(), (uint32_t)b.size()});
	}
	test_chain(const test_chain &) = delete;
	test_chain &operator=(const test_chain &) = delete;
	const struct amqp_seg *segs() const { return segs_.data(); }
	size_t nsegs() const { return segs_.size(); }
	void cursor(struct amqp_cursor *c) const { amqp_cur_init(c, segs(), nsegs()); }

private:
	std::vector<std::vector<uint8_t>> blocks_;
	std::vector<struct amqp_seg> segs_;
};
