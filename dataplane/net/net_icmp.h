/* ICMP for IPv4 (RFC 792, RFC 1122 3.2.2): echo reply, destination
 * unreachable generation, a token bucket over everything we send.
 *
 * The ICMP layer sees ICMP messages (the IPv4 payload) and writes the ICMP
 * message to send into a caller buffer; IPv4 (net_ipv4.c) wraps and sends
 * it. Protocol code only: time comes in as now_ns. */
#ifndef NET_ICMP_H
#define NET_ICMP_H

#include "net_eth.h"

#ifdef __cplusplus
extern "C" {
#endif

#define NET_ICMP_HLEN	       8
#define NET_ICMP_ECHO_REPLY    0
#define NET_ICMP_UNREACH       3
#define NET_ICMP_ECHO	       8
#define NET_ICMP_UNREACH_PROTO 2
#define NET_ICMP_UNREACH_PORT  3
/* RFC 1812 4.3.2.3: an error quotes as much of the offending datagram as
 * fits in 576 bytes: 576 - 20 (IP) - 8 (ICMP). */
#define NET_ICMP_QUOTE_MAX 548

struct net_icmp_view {
	uint8_t type, code;
	uint16_t csum;
	uint16_t id, seq;    /* echo: identifier, sequence number */
	const uint8_t *data; /* after the 8-byte header */
	size_t data_len;
};

/* Parse an ICMP message of len bytes (the length IPv4 gave). NET_SHORT
 * below 8 bytes. The checksum is not verified here (net_icmp_csum_ok). */
enum net_parse net_icmp_parse(const uint8_t *p, size_t len, struct net_icmp_view *v);

/* RFC 792: the one's complement sum over the whole message is 0xffff. */
bool net_icmp_csum_ok(const uint8_t *p, size_t len);

struct net_icmp {
	struct net_l3_counters *c; /* caller's */
	uint64_t rate, burst;	   /* tokens per second, bucket depth */
	uint64_t tokens;	   /* in 1e-9 tokens (token x 1e9) */
	uint64_t last_ns;
	bool started;
};

void net_icmp_init(struct net_icmp *icmp, const struct net_l3_config *cfg,
		   struct net_l3_counters *c);

/* Take one token at now_ns (refilled at rate, at most burst). false:
 * rate limited (counted). */
bool net_icmp_take_token(struct net_icmp *icmp, uint64_t now_ns);

/* An ICMP message for us. bcast: the IPv4 destination was a broadcast.
 * Writes the reply (echo reply: same id, seq and data, RFC 792) into out
 * (cap >= len) and returns its length, or 0 when nothing is to be sent. */
size_t net_icmp_input(struct net_icmp *icmp, uint64_t now_ns, bool bcast, const uint8_t *msg,
		      size_t len, uint8_t *out, size_t cap);

/* A destination unreachable message (type 3, code) quoting the offending
 * IPv4 datagram orig (header + as much data as NET_ICMP_QUOTE_MAX allows),
 * into out. 0 if not to be sent: the quoted datagram is itself an ICMP
 * error (RFC 1122 3.2.2), out is too small, or the bucket is empty.
 * IPv4-level rules (broadcast, fragments, source) are net_l3_send_unreach's. */
size_t net_icmp_build_unreach(struct net_icmp *icmp, uint64_t now_ns, uint8_t code,
			      const uint8_t *orig, size_t orig_len, uint8_t *out, size_t cap);

#ifdef __cplusplus
}
#endif

#endif /* NET_ICMP_H */
