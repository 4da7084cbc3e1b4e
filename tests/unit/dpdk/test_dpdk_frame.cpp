// drv_dpdk_frame_tcp_csum (drivers/dpdk/drv_dpdk_frame.h): the TCP checksum
// of a frame about to leave by a port, from a stack that left the
// pseudo-header sum in the field (net_tcp csum_offload, RFC 9293 3.1):
// asked of the port, or finished in software, frame by frame. The frames
// and the reference sum are written here from the RFC layouts.
#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "dpdk_frame_shim.h"

namespace
{

using Bytes = std::vector<uint8_t>;

// RFC 1071 over a byte string, odd byte padded: the folded sum (not
// complemented).
uint32_t ref_sum(const Bytes &b, size_t off, size_t n, uint32_t s = 0)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		s += uint32_t(b[off + i] << 8 | b[off + i + 1]);
	if (n & 1)
		s += uint32_t(b[off + n - 1] << 8);
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return s;
}

constexpr uint32_t SRC = 0x0a4d0002, DST = 0x0a630001; // 10.77.0.2 -> 10.99.0.1

uint32_t pseudo_sum(uint16_t tcp_len)
{
	uint32_t s = (SRC >> 16) + (SRC & 0xffff) + (DST >> 16) + (DST & 0xffff) + 6 + tcp_len;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return s;
}

void put16(Bytes &b, size_t off, uint16_t v)
{
	b[off] = uint8_t(v >> 8);
	b[off + 1] = uint8_t(v);
}

// Ethernet + IPv4 (20) + TCP (20) + payload of n bytes (i * 7 + 3), then
// pad bytes of 0xaa up to frame_len if that is longer (a runt's padding,
// which is not the segment's); the TCP checksum field holds the folded
// pseudo-header sum, as net_tcp leaves it with csum_offload.
Bytes tcp_frame(size_t n, size_t frame_len = 0)
{
	Bytes f(14 + 20 + 20 + n, 0);
	put16(f, 12, 0x0800);
	f[14] = 0x45;
	put16(f, 14 + 2, uint16_t(40 + n));
	f[14 + 8] = 64;
	f[14 + 9] = 6;
	for (int i = 0; i < 4; i++) {
		f[14 + 12 + i] = uint8_t(SRC >> (24 - 8 * i));
		f[14 + 16 + i] = uint8_t(DST >> (24 - 8 * i));
	}
	put16(f, 34, 5672);
	put16(f, 36, 40001);
	f[34 + 12] = 0x50;
	f[34 + 13] = 0x18; // PSH ACK
	put16(f, 34 + 14, 65535);
	for (size_t i = 0; i < n; i++)
		f[54 + i] = uint8_t(i * 7 + 3);
	put16(f, 34 + 16, uint16_t(pseudo_sum(uint16_t(20 + n))));
	if (frame_len > f.size())
		f.resize(frame_len, 0xaa);
	return f;
}

// RFC 9293 3.1: pseudo-header + segment (checksum included) sums to 0xffff.
bool tcp_csum_valid(const Bytes &f, size_t n)
{
	return ref_sum(f, 34, 20 + n, pseudo_sum(uint16_t(20 + n))) == 0xffff;
}

TEST(DpdkFrameTcpCsum, SoftwareFinishesTheSumOverTheSegment)
{
	for (size_t n : {0, 1, 2, 3, 100, 1459, 1460, 8948}) {
		Bytes f = tcp_frame(n);
		Bytes before = f;
		EXPECT_FALSE(tcp_csum_valid(f, n)) << n << ": not valid before";
		dpdk_frame_shim_out o{};
		dpdk_frame_shim_tcp_csum(f.data(), uint16_t(f.size()), false, &o);
		EXPECT_TRUE(tcp_csum_valid(f, n)) << n;
		EXPECT_EQ(o.ol_flags, 0u) << n;
		before[50] = f[50];
		before[51] = f[51];
		EXPECT_EQ(f, before) << n << ": only the checksum field changes";
	}
}

TEST(DpdkFrameTcpCsum, RuntPaddingIsNotSummed)
{
	Bytes f = tcp_frame(0, 60); // 54 bytes of frame, 6 of padding
	dpdk_frame_shim_out o{};
	dpdk_frame_shim_tcp_csum(f.data(), uint16_t(f.size()), false, &o);
	EXPECT_TRUE(tcp_csum_valid(f, 0));
	Bytes g = tcp_frame(3, 60); // an odd segment, then padding
	dpdk_frame_shim_tcp_csum(g.data(), uint16_t(g.size()), false, &o);
	EXPECT_TRUE(tcp_csum_valid(g, 3));
}

TEST(DpdkFrameTcpCsum, OffloadAsksThePortAndLeavesTheField)
{
	Bytes f = tcp_frame(100);
	Bytes before = f;
	dpdk_frame_shim_out o{};
	dpdk_frame_shim_tcp_csum(f.data(), uint16_t(f.size()), true, &o);
	EXPECT_EQ(f, before);
	EXPECT_TRUE(o.tx_tcp_cksum);
	EXPECT_TRUE(o.tx_ipv4);
	EXPECT_EQ(o.l2_len, 14u);
	EXPECT_EQ(o.l3_len, 20u);
}

TEST(DpdkFrameTcpCsum, OtherFramesAreLeftAlone)
{
	for (bool offload : {false, true}) {
		Bytes icmp = tcp_frame(30);
		icmp[14 + 9] = 1;
		Bytes arp = tcp_frame(30);
		put16(arp, 12, 0x0806);
		Bytes shorter = tcp_frame(0);
		shorter.resize(53); // less than an IPv4 + TCP header
		for (Bytes *f : {&icmp, &arp, &shorter}) {
			Bytes before = *f;
			dpdk_frame_shim_out o{};
			dpdk_frame_shim_tcp_csum(f->data(), uint16_t(f->size()), offload, &o);
			EXPECT_EQ(*f, before) << offload;
			EXPECT_EQ(o.ol_flags, 0u) << offload;
		}
	}
}

} // namespace
