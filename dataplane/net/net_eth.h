/* Ethernet II framing (IEEE 802.3 with an EtherType, RFC 894), MAC helpers,
 * and what every layer of the native L2/L3 shares: the per-reason counters
 * (net_l3.def), the configuration of an interface and the output
 * callbacks through which frames and events leave the protocol code.
 *
 * Protocol code only (DESIGN.md): no I/O, no clock. Frames are contiguous
 * byte arrays without the FCS (what a single-segment DPDK rx mbuf holds);
 * time is passed in as now_ns (nanoseconds, any monotonic origin).
 * Addresses (IPv4) are uint32_t in host order everywhere, as in net_csum.h.
 *
 * 802.1Q/802.1ad tags are recognised and counted but not supported: a
 * tagged frame is dropped (the ports here are untagged). */
#ifndef NET_ETH_H
#define NET_ETH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "net_count.h"

#ifdef __cplusplus
extern "C" {
#endif

#define NET_ETH_ALEN	  6
#define NET_ETH_HLEN	  14   /* dst, src, EtherType */
#define NET_ETH_VLAN_HLEN 4    /* TPID + TCI, after the source MAC */
#define NET_ETH_MIN_FRAME 60   /* 64 on the wire less the FCS: we pad to this */
/* The IP MTU of an interface (net_l3_config.mtu): Ethernet's 1500 (RFC
 * 894) by default, jumbo frames up to 9000, the size NICs and switches
 * commonly agree on; never below the 576-byte datagram every host must
 * take (RFC 791, RFC 1122 3.3.3). Buffers are sized for the largest. */
#define NET_ETH_MTU_DEFAULT 1500
#define NET_ETH_MTU_MIN	    576
#define NET_ETH_MTU_MAX	    9000
#define NET_ETH_MAX_FRAME   (NET_ETH_HLEN + NET_ETH_MTU_MAX)

#define NET_ETHERTYPE_IPV4 0x0800
#define NET_ETHERTYPE_ARP  0x0806
#define NET_ETHERTYPE_VLAN 0x8100 /* IEEE 802.1Q */
#define NET_ETHERTYPE_QINQ 0x88a8 /* IEEE 802.1ad service tag */
#define NET_ETHERTYPE_IPV6 0x86dd

/* What a parser says about its input. A strict prefix of a valid frame is
 * always NET_SHORT ("need more"; for datagrams: truncated). */
enum net_parse {
	NET_OK = 0,
	NET_SHORT,	 /* too short for what the headers announce */
	NET_BAD,	 /* malformed: drop */
	NET_UNSUPPORTED, /* well formed but not handled here (VLAN tag, fragment) */
};

struct net_mac {
	uint8_t b[NET_ETH_ALEN];
};

static inline bool net_mac_eq(const struct net_mac *a, const struct net_mac *b)
{
	return memcmp(a->b, b->b, NET_ETH_ALEN) == 0;
}

/* The group bit (I/G, bit 0 of the first octet): multicast and broadcast. */
static inline bool net_mac_is_group(const struct net_mac *m)
{
	return (m->b[0] & 1) != 0;
}

static inline bool net_mac_is_broadcast(const struct net_mac *m)
{
	static const uint8_t ff[NET_ETH_ALEN] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
	return memcmp(m->b, ff, NET_ETH_ALEN) == 0;
}

static inline bool net_mac_is_zero(const struct net_mac *m)
{
	static const uint8_t z[NET_ETH_ALEN] = {0};
	return memcmp(m->b, z, NET_ETH_ALEN) == 0;
}

extern const struct net_mac net_mac_broadcast;
extern const struct net_mac net_mac_zero;

/* "aa:bb:cc:dd:ee:ff" (lower case) into buf (at least 18 bytes). */
void net_mac_format(const struct net_mac *m, char *buf, size_t cap);
/* Parse "aa:bb:cc:dd:ee:ff" ('-' also accepted). 0 on success, -1 if bad. */
int net_mac_parse(const char *s, struct net_mac *m);

/* A parsed Ethernet II header: views into the caller's frame. */
struct net_eth_view {
	struct net_mac dst, src;
	uint16_t type;		/* EtherType of the payload (after any tag) */
	bool vlan;		/* an 802.1Q/802.1ad tag was present */
	uint16_t vlan_tci;	/* its TCI (PCP, DEI, VID) when vlan */
	size_t hlen;		/* 14, or 18 with one tag */
	const uint8_t *payload; /* frame + hlen */
	size_t payload_len;	/* len - hlen (may include Ethernet padding) */
};

/* Parse the header of a frame of len bytes (no FCS). NET_SHORT below the
 * header's length; NET_UNSUPPORTED for a tagged frame (v filled, with the
 * inner EtherType); a length field instead of a type (<= 1500, IEEE 802.3
 * with LLC) is NET_BAD. Pure: no side effect. */
enum net_parse net_eth_parse(const uint8_t *frame, size_t len, struct net_eth_view *v);

/* Write a 14-byte Ethernet II header at buf (cap >= 14). Returns 14. */
size_t net_eth_build(uint8_t *buf, const struct net_mac *dst, const struct net_mac *src,
		     uint16_t type);

/* --- shared by every layer --------------------------------------------- */

struct net_l3_counters {
#define NET_L3_COUNTER(name, desc) uint64_t name;
#include "net_l3.def"
#undef NET_L3_COUNTER
};

enum net_l3_counter_id {
#define NET_L3_COUNTER(name, desc) NET_L3_C_##name,
#include "net_l3.def"
#undef NET_L3_COUNTER
	NET_L3_C_COUNT
};

extern const char *const net_l3_counter_names[NET_L3_C_COUNT];
extern const char *const net_l3_counter_descs[NET_L3_C_COUNT];

/* Counter i of c (i < NET_L3_C_COUNT), in the .def order. */
static inline uint64_t net_l3_counter_get(const struct net_l3_counters *c, unsigned i)
{
	return ((const uint64_t *)(const void *)c)[i];
}

#define NET_L3_MAX_ADDRS 4

struct net_l3_addr {
	uint32_t addr;	    /* host order */
	uint8_t prefix_len; /* 0..32: the on-link subnet (next hop = destination) */
};

/* One interface (port) of one worker. Owned by the caller, read-only to the
 * protocol code after net_l3_init (net_ipv4.h). */
struct net_l3_config {
	struct net_mac mac;
	struct net_l3_addr addrs[NET_L3_MAX_ADDRS];
	unsigned n_addrs;
	uint32_t gateway;    /* next hop off-link; 0 = none (off-link dropped) */
	uint8_t ttl;	     /* of the packets we send; 0 = 64 (RFC 1700 default) */
	uint16_t mtu;	     /* IP MTU: largest datagram we send; 0 = NET_ETH_MTU_DEFAULT,
			      * else NET_ETH_MTU_MIN..NET_ETH_MTU_MAX (net_l3_init clamps) */
	uint16_t ip_id_seed; /* first IP-ID (any value; see net_ipv4.c) */
	/* ARP (net_arp.c); 0 = the default in brackets */
	uint64_t arp_reachable_ns; /* entry lifetime after a confirmation [60 s] */
	uint64_t arp_retry_ns;	   /* between requests for one address [1 s, RFC 1122 2.3.2.1] */
	unsigned arp_retries;	   /* requests before the resolution fails [3] */
	unsigned arp_pending_max;  /* packets queued per unresolved next hop [4] */
	unsigned arp_announce;	   /* announcements at start [2, RFC 5227 ANNOUNCE_NUM] */
	/* ICMP token bucket (net_icmp.c); 0 = default */
	uint32_t icmp_rate;  /* tokens per second [1000] */
	uint32_t icmp_burst; /* bucket depth [50] */
};

enum net_l3_event_type {
	NET_L3_EV_ARP_RESOLVED,	 /* ip, mac: a next hop answered (first time or changed) */
	NET_L3_EV_ARP_FAILED,	 /* ip, dropped: no answer after every retry */
	NET_L3_EV_ADDR_CONFLICT, /* ip (ours), mac (theirs): RFC 5227 2.4 */
};

struct net_l3_event {
	enum net_l3_event_type type;
	uint32_t ip;
	struct net_mac mac;
	unsigned dropped; /* packets dropped with a failed resolution */
};

/* Where frames, segments and events leave. Called synchronously from
 * net_l3_rx/net_l3_tick/net_ipv4_output on the owning worker; every
 * pointer passed is valid during the call only. tcp_rx and event may
 * call net_ipv4_output/net_ipv4_send_frame (a TCP reply, a retry), never
 * net_l3_rx or net_l3_tick; tx_frame must not call back at all. */
struct net_l3_ops {
	void *ctx; /* passed back to every callback; owned by the caller */
	/* One complete frame (>= NET_ETH_MIN_FRAME bytes, no FCS): copy it
	 * into a tx buffer. 0 if taken, -1 if the tx queue is full (counted
	 * as eth_tx_fail; the frame is lost, as on a wire). Required. */
	int (*tx_frame)(void *ctx, const uint8_t *frame, size_t len);
	/* A TCP segment (protocol 6) for one of our addresses: src/dst host
	 * order, seg = the IP payload (TCP header + data), a view into the
	 * rx frame. Optional (NULL: counted, dropped). */
	void (*tcp_rx)(void *ctx, uint32_t src, uint32_t dst, const uint8_t *seg, size_t len,
		       uint64_t now_ns);
	/* An event (net_l3_event_type). Optional. */
	void (*event)(void *ctx, const struct net_l3_event *ev);
	/* A host with several interfaces (RFC 1122 3.3.4.2, the weak end
	 * system model, as Linux by default): both optional, NULL for an
	 * interface that is the host's only one.
	 * host_addr: true if ip is an address of another interface of this
	 * host. A datagram to it is received here as to one of our own, and
	 * one from it is dropped as a loop or a spoof (ip_rx_bad_src).
	 * tx_off_link: a datagram to a dst on none of our subnets (the host's
	 * routing decides: dst on another interface's subnet goes by that
	 * one; else by our gateway if have_gateway; else by another's). To
	 * take it, send it with net_ipv4_send_frame_via on the other's net_l3
	 * (frame, len, src, dst and proto as given to net_ipv4_send_frame;
	 * the Ethernet and IPv4 headers are not written yet) and return that
	 * call's enum net_arp_out (counted here as ip_tx_other_port; a drop is
	 * counted there too). -1: not taken, we send it by our gateway, or
	 * count ip_tx_no_route without one. Must not call
	 * net_ipv4_send_frame on this interface. */
	bool (*host_addr)(void *ctx, uint32_t ip);
	int (*tx_off_link)(void *ctx, uint64_t now_ns, uint8_t *frame, size_t len, uint32_t src,
			   uint32_t dst, uint8_t proto, bool have_gateway);
};

/* Hand a frame to ops->tx_frame and count it (eth_tx / eth_tx_fail). A
 * frame shorter than 60 bytes is padded with zeros in place: buf must have
 * room for NET_ETH_MIN_FRAME bytes. Returns the callback's result. */
int net_eth_send(const struct net_l3_ops *ops, struct net_l3_counters *c, uint8_t *buf, size_t len);

#ifdef __cplusplus
}
#endif

#endif /* NET_ETH_H */
