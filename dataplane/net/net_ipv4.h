/* IPv4 (RFC 791, host rules of RFC 1122 3.2.1) and the interface that
 * ties the native L2/L3 together (struct net_l3: Ethernet in, ARP, IPv4,
 * ICMP; TCP segments out to a callback).
 *
 * Receive: every check of RFC 791/1122 a host needs (version, IHL, total
 * length against the frame, header checksum, TTL), options skipped and
 * counted, fragments dropped and counted (no reassembly: our peers use
 * DF and PMTU discovery, RFC 1191; a router fed fragments sees them in
 * ip_rx_frag), our-address filter with limited and directed broadcast.
 * Send: DF always set, never fragmented, IP-ID from a per-interface
 * counter (RFC 6864 4.1: the ID of an atomic datagram has no meaning).
 *
 * Protocol code only (DESIGN.md): frames + now in, frames + events out
 * through struct net_l3_ops. IPv6 is a later step. */
#ifndef NET_IPV4_H
#define NET_IPV4_H

#include "net_arp.h"
#include "net_eth.h"
#include "net_icmp.h"

#ifdef __cplusplus
extern "C" {
#endif

#define NET_IPV4_HLEN	    20 /* without options */
#define NET_IPV4_PROTO_ICMP 1
#define NET_IPV4_PROTO_TCP  6
#define NET_IPV4_DF	    0x4000
#define NET_IPV4_MF	    0x2000
#define NET_IPV4_OFF_MASK   0x1fff
#define NET_IPV4_BROADCAST  0xffffffffu
/* Ethernet + IPv4 without options: where the L4 header starts in a frame
 * we build. */
#define NET_L3_HEADROOM (NET_ETH_HLEN + NET_IPV4_HLEN)

/* a.b.c.d as a host-order address */
#define NET_IPV4(a, b, c, d)                                                                       \
	((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (uint32_t)(d))

struct net_ipv4_view {
	uint8_t hlen; /* header bytes (IHL x 4) */
	uint8_t tos, ttl, proto;
	uint16_t total_len, id, frag; /* frag: flags + offset, as on the wire */
	uint32_t src, dst;	      /* host order */
	const uint8_t *payload;	      /* after the header (options skipped) */
	size_t payload_len;	      /* total_len - hlen: Ethernet padding excluded */
};

/* Parse and validate an IPv4 packet of len bytes (Ethernet payload, maybe
 * padded). Returns NET_SHORT for len < 20, len < IHL x 4 or total length >
 * len (every strict prefix of a valid packet); NET_BAD for a bad version,
 * IHL < 5, total length < header or a bad checksum; NET_UNSUPPORTED for a
 * fragment. *reason (may be NULL) is set to the net_l3_counter_id that
 * counts the failure. Pure. */
enum net_parse net_ipv4_parse(const uint8_t *p, size_t len, struct net_ipv4_view *v,
			      unsigned *reason);

/* Write a 20-byte IPv4 header (no options, DF, checksum filled) at ip for
 * payload_len bytes of payload. */
void net_ipv4_build_hdr(uint8_t *ip, uint32_t src, uint32_t dst, uint8_t proto, uint16_t id,
			uint8_t ttl, uint16_t payload_len);

/* One interface of one worker. Fixed size, no allocation; the owner must
 * not move it after net_l3_init (the ARP and ICMP parts keep pointers to
 * cfg, c and ops inside it). */
struct net_l3 {
	struct net_l3_config cfg; /* copy of the caller's */
	struct net_l3_ops ops;	  /* copy of the caller's */
	struct net_l3_counters c; /* read back by the owner/control */
	struct net_arp arp;
	struct net_icmp icmp;
	uint16_t ip_id;
	uint8_t ttl;
	uint8_t scratch[NET_ETH_MAX_FRAME]; /* frames we build (replies, copies) */
};

/* Copy cfg and ops, set everything up. cfg->n_addrs is capped at
 * NET_L3_MAX_ADDRS. */
void net_l3_init(struct net_l3 *l3, const struct net_l3_config *cfg, const struct net_l3_ops *ops);

/* Port up (gratuitous ARP, RFC 5227 2.3). */
void net_l3_start(struct net_l3 *l3, uint64_t now_ns);

/* Timers (ARP retries, aging, announcements): call every 10-100 ms. */
void net_l3_tick(struct net_l3 *l3, uint64_t now_ns);

/* One received frame (no FCS), contiguous: the whole rx path. The frame is
 * only read, and only during the call (TCP sees views into it). */
void net_l3_rx(struct net_l3 *l3, uint64_t now_ns, const uint8_t *frame, size_t len);

/* The IPv4 part of net_l3_rx: pkt is the Ethernet payload. */
void net_ipv4_input(struct net_l3 *l3, uint64_t now_ns, const uint8_t *pkt, size_t len);

/* true if ip is one of our addresses / a broadcast address for us
 * (255.255.255.255 or a directed broadcast of one of our subnets). */
bool net_l3_is_local(const struct net_l3 *l3, uint32_t ip);
bool net_l3_is_broadcast(const struct net_l3 *l3, uint32_t ip);
/* true if ip is on one of our subnets (sent to directly, not by a gateway) */
bool net_l3_on_link(const struct net_l3 *l3, uint32_t ip);

/* Send a frame we built in place: frame[0..NET_L3_HEADROOM) is ours to
 * fill (Ethernet + IPv4 header), the L4 header and data follow, frame_len
 * in all, and the buffer has room for NET_ETH_MIN_FRAME bytes. src 0:
 * our address on dst's subnet (else our first). Resolves the next hop (on
 * link: dst; else cfg.gateway) and sends, or queues behind ARP (copied).
 * The L4 checksum is the caller's (net_csum_pseudo4 with the same src:
 * pass a non-zero src when it matters). */
enum net_arp_out net_ipv4_send_frame(struct net_l3 *l3, uint64_t now_ns, uint8_t *frame,
				     size_t frame_len, uint32_t src, uint32_t dst, uint8_t proto);

/* The same for a datagram from src, an address of another interface of
 * this host (net_l3_ops.host_addr; else ip_tx_bad_src), that the other
 * interface routes by this one (net_l3_ops.tx_off_link): sent on this
 * one's subnet or by its gateway, and never handed on again (else
 * ip_tx_no_route). No broadcasts: those belong to their own interface. */
enum net_arp_out net_ipv4_send_frame_via(struct net_l3 *l3, uint64_t now_ns, uint8_t *frame,
					 size_t frame_len, uint32_t src, uint32_t dst,
					 uint8_t proto);

/* The same, copying the L4 bytes (l4, l4_len) into the scratch frame. */
enum net_arp_out net_ipv4_output(struct net_l3 *l3, uint64_t now_ns, uint32_t src, uint32_t dst,
				 uint8_t proto, const uint8_t *l4, size_t l4_len);

/* Destination unreachable (code: NET_ICMP_UNREACH_*) about the received
 * IPv4 datagram orig (for TCP: a segment to a closed port may be answered
 * so instead of a RST). Not sent for a datagram to a broadcast, from a
 * non-unicast source, a non-first fragment, or an ICMP error, or when the
 * bucket is empty (RFC 1122 3.2.2). true if sent or queued. */
bool net_l3_send_unreach(struct net_l3 *l3, uint64_t now_ns, uint8_t code, const uint8_t *orig,
			 size_t orig_len);

#ifdef __cplusplus
}
#endif

#endif /* NET_IPV4_H */
