/* IPv4 (net_ipv4.h): RFC 791, RFC 1122 3.2.1; the rx path of struct net_l3. */
#include "net_ipv4.h"

#include "net_csum.h"

#define NET_IPV4_DEF_TTL 64 /* RFC 1700 / IANA default TTL */

enum net_parse net_ipv4_parse(const uint8_t *p, size_t len, struct net_ipv4_view *v,
			      unsigned *reason)
{
	unsigned dummy;
	if (reason == NULL)
		reason = &dummy;
	*reason = NET_L3_C_ip_rx_short;
	if (len < NET_IPV4_HLEN)
		return NET_SHORT;
	/* RFC 1122 3.2.1.1: silently discard a version other than 4. */
	if ((p[0] >> 4) != 4) {
		*reason = NET_L3_C_ip_rx_bad_version;
		return NET_BAD;
	}
	size_t hlen = (size_t)(p[0] & 0x0f) * 4;
	if (hlen < NET_IPV4_HLEN) {
		*reason = NET_L3_C_ip_rx_bad_ihl;
		return NET_BAD;
	}
	if (len < hlen)
		return NET_SHORT;
	uint16_t total = net_get16(p + 2);
	if (total < hlen) {
		*reason = NET_L3_C_ip_rx_bad_ihl;
		return NET_BAD;
	}
	/* RFC 791: the frame may carry padding past total length (Ethernet's
	 * 60-byte minimum), never less than it. */
	if (total > len)
		return NET_SHORT;
	/* RFC 1122 3.2.1.2: verify the header checksum, discard on error. */
	if (net_csum_buf(p, hlen) != 0) {
		*reason = NET_L3_C_ip_rx_bad_csum;
		return NET_BAD;
	}
	v->hlen = (uint8_t)hlen;
	v->tos = p[1];
	v->total_len = total;
	v->id = net_get16(p + 4);
	v->frag = net_get16(p + 6);
	v->ttl = p[8];
	v->proto = p[9];
	v->src = net_get32(p + 12);
	v->dst = net_get32(p + 16);
	v->payload = p + hlen;
	v->payload_len = total - hlen;
	if ((v->frag & (NET_IPV4_MF | NET_IPV4_OFF_MASK)) != 0) {
		*reason = NET_L3_C_ip_rx_frag;
		return NET_UNSUPPORTED;
	}
	*reason = NET_L3_C_COUNT;
	return NET_OK;
}

void net_ipv4_build_hdr(uint8_t *ip, uint32_t src, uint32_t dst, uint8_t proto, uint16_t id,
			uint8_t ttl, uint16_t payload_len)
{
	ip[0] = 0x45; /* version 4, IHL 5 */
	ip[1] = 0;    /* TOS: routine */
	net_put16(ip + 2, (uint16_t)(NET_IPV4_HLEN + payload_len));
	net_put16(ip + 4, id);
	net_put16(ip + 6, NET_IPV4_DF);
	ip[8] = ttl;
	ip[9] = proto;
	net_put16(ip + 10, 0);
	net_put32(ip + 12, src);
	net_put32(ip + 16, dst);
	net_put16(ip + 10, net_csum_buf(ip, NET_IPV4_HLEN));
}

static uint32_t net_prefix_mask(unsigned pl)
{
	return pl == 0 ? 0 : pl >= 32 ? 0xffffffffu : ~(0xffffffffu >> pl);
}

void net_l3_init(struct net_l3 *l3, const struct net_l3_config *cfg, const struct net_l3_ops *ops)
{
	memset(l3, 0, sizeof *l3);
	l3->cfg = *cfg;
	if (l3->cfg.n_addrs > NET_L3_MAX_ADDRS)
		l3->cfg.n_addrs = NET_L3_MAX_ADDRS;
	l3->ops = *ops;
	l3->ttl = cfg->ttl ? cfg->ttl : NET_IPV4_DEF_TTL;
	l3->ip_id = cfg->ip_id_seed;
	if (l3->cfg.mtu == 0)
		l3->cfg.mtu = NET_ETH_MTU_DEFAULT;
	else if (l3->cfg.mtu < NET_ETH_MTU_MIN)
		l3->cfg.mtu = NET_ETH_MTU_MIN;
	else if (l3->cfg.mtu > NET_ETH_MTU_MAX)
		l3->cfg.mtu = NET_ETH_MTU_MAX; /* the buffers' size */
	net_arp_init(&l3->arp, &l3->cfg, &l3->c, &l3->ops);
	net_icmp_init(&l3->icmp, &l3->cfg, &l3->c);
}

void net_l3_start(struct net_l3 *l3, uint64_t now_ns)
{
	net_arp_start(&l3->arp, now_ns);
}

void net_l3_tick(struct net_l3 *l3, uint64_t now_ns)
{
	net_arp_tick(&l3->arp, now_ns);
}

bool net_l3_is_local(const struct net_l3 *l3, uint32_t ip)
{
	for (unsigned i = 0; i < l3->cfg.n_addrs; i++)
		if (l3->cfg.addrs[i].addr == ip)
			return true;
	return false;
}

/* Another interface's address (net_l3_ops.host_addr), never one of ours. */
static bool net_l3_is_host_addr(const struct net_l3 *l3, uint32_t ip)
{
	return l3->ops.host_addr != NULL && l3->ops.host_addr(l3->ops.ctx, ip);
}

bool net_l3_is_broadcast(const struct net_l3 *l3, uint32_t ip)
{
	if (ip == NET_IPV4_BROADCAST)
		return true;
	/* RFC 1122 3.2.1.3 (c): { <Network>, -1 }. Not for /31 and /32,
	 * which have no broadcast address (RFC 3021). */
	for (unsigned i = 0; i < l3->cfg.n_addrs; i++) {
		unsigned pl = l3->cfg.addrs[i].prefix_len;
		if (pl > 30)
			continue;
		uint32_t m = net_prefix_mask(pl);
		if ((l3->cfg.addrs[i].addr | ~m) == ip)
			return true;
	}
	return false;
}

/* RFC 1122 3.2.1.3: a source that is not a unicast host is discarded:
 * 0.0.0.0 (only valid while booting), limited/directed broadcast, class
 * D/E, loopback (127/8 never appears on a wire); and our own address (a
 * loop or a spoof). */
static bool net_ipv4_src_bad(const struct net_l3 *l3, uint32_t src)
{
	return src == 0 || (src >> 28) >= 0xe || (src >> 24) == 127 || net_l3_is_local(l3, src) ||
	       net_l3_is_broadcast(l3, src) || net_l3_is_host_addr(l3, src);
}

static enum net_arp_out net_ipv4_send(struct net_l3 *l3, uint64_t now_ns, uint8_t *frame,
				      size_t frame_len, uint32_t src, uint32_t dst, uint8_t proto,
				      bool via);

void net_ipv4_input(struct net_l3 *l3, uint64_t now_ns, const uint8_t *pkt, size_t len)
{
	struct net_ipv4_view v;
	unsigned reason;
	struct net_l3_counters *c = &l3->c;
	uint64_t *cnt = (uint64_t *)(void *)c;
	NET_COUNT(c->ip_rx, 1);
	if (net_ipv4_parse(pkt, len, &v, &reason) != NET_OK) {
		NET_COUNT(cnt[reason], 1);
		return;
	}
	/* RFC 1122 3.2.1.7 lets a host skip the TTL check; a TTL of 0 is
	 * still never valid on a received datagram, so it is dropped. */
	if (v.ttl == 0) {
		NET_COUNT(c->ip_rx_ttl_zero, 1);
		return;
	}
	/* RFC 1122 3.2.1.8: unknown options are ignored; none we must act
	 * on (source routes are not honoured by a host that does not
	 * forward, and we answer nothing that would reverse one). */
	if (v.hlen > NET_IPV4_HLEN)
		NET_COUNT(c->ip_rx_options, 1);
	if (net_ipv4_src_bad(l3, v.src)) {
		NET_COUNT(c->ip_rx_bad_src, 1);
		return;
	}
	bool bcast = false, host_addr = false;
	if (!net_l3_is_local(l3, v.dst)) {
		if (net_l3_is_broadcast(l3, v.dst)) {
			bcast = true;
			NET_COUNT(c->ip_rx_broadcast, 1);
		} else if (net_l3_is_host_addr(l3, v.dst)) {
			/* RFC 1122 3.3.4.2: a weak end system accepts a
			 * datagram for any of its addresses on any interface */
			host_addr = true;
			NET_COUNT(c->ip_rx_host_addr, 1);
		} else {
			NET_COUNT(c->ip_rx_not_ours, 1);
			return;
		}
	}
	switch (v.proto) {
	case NET_IPV4_PROTO_TCP:
		if (bcast) {
			NET_COUNT(c->ip_rx_tcp_broadcast, 1);
			return;
		}
		if (l3->ops.tcp_rx == NULL) {
			NET_COUNT(c->ip_rx_unknown_proto, 1);
			return;
		}
		NET_COUNT(c->ip_rx_tcp, 1);
		l3->ops.tcp_rx(l3->ops.ctx, v.src, v.dst, v.payload, v.payload_len, now_ns);
		return;
	case NET_IPV4_PROTO_ICMP: {
		uint8_t *out = l3->scratch + NET_L3_HEADROOM;
		size_t n = net_icmp_input(&l3->icmp, now_ns, bcast, v.payload, v.payload_len, out,
					  sizeof l3->scratch - NET_L3_HEADROOM);
		/* RFC 1122 3.2.2.6: the reply's source is the address the
		 * request was sent to (never a broadcast: those are not
		 * answered). */
		if (n > 0) /* to another interface's address: sent from it, by this one */
			(void)net_ipv4_send(l3, now_ns, l3->scratch, NET_L3_HEADROOM + n, v.dst,
					    v.src, NET_IPV4_PROTO_ICMP, host_addr);
		return;
	}
	default:
		/* RFC 1122 3.2.2.1 says SHOULD send protocol unreachable;
		 * counted only: nothing but TCP and ICMP is expected here and
		 * an unreachable would help only a scanner. */
		NET_COUNT(c->ip_rx_unknown_proto, 1);
		return;
	}
}

void net_l3_rx(struct net_l3 *l3, uint64_t now_ns, const uint8_t *frame, size_t len)
{
	struct net_eth_view eth;
	struct net_l3_counters *c = &l3->c;
	NET_COUNT(c->eth_rx, 1);
	switch (net_eth_parse(frame, len, &eth)) {
	case NET_OK: break;
	case NET_SHORT: NET_COUNT(c->eth_rx_short, 1); return;
	case NET_UNSUPPORTED: NET_COUNT(c->eth_rx_vlan, 1); return;
	default: NET_COUNT(c->eth_rx_unknown_type, 1); return; /* 802.3 length field (LLC) */
	}
	if (!net_mac_eq(&eth.dst, &l3->cfg.mac) && !net_mac_is_broadcast(&eth.dst)) {
		NET_COUNT(c->eth_rx_not_ours, 1);
		return;
	}
	if (net_mac_is_group(&eth.src) || net_mac_eq(&eth.src, &l3->cfg.mac)) {
		NET_COUNT(c->eth_rx_bad_src, 1);
		return;
	}
	switch (eth.type) {
	case NET_ETHERTYPE_ARP: net_arp_input(&l3->arp, now_ns, &eth); return;
	case NET_ETHERTYPE_IPV4: net_ipv4_input(l3, now_ns, eth.payload, eth.payload_len); return;
	default: NET_COUNT(c->eth_rx_unknown_type, 1); return;
	}
}

/* Our address to send from towards dst: the first on dst's subnet. */
static uint32_t net_l3_pick_src(const struct net_l3 *l3, uint32_t dst)
{
	for (unsigned i = 0; i < l3->cfg.n_addrs; i++) {
		uint32_t m = net_prefix_mask(l3->cfg.addrs[i].prefix_len);
		if ((l3->cfg.addrs[i].addr & m) == (dst & m))
			return l3->cfg.addrs[i].addr;
	}
	return l3->cfg.n_addrs ? l3->cfg.addrs[0].addr : 0;
}

bool net_l3_on_link(const struct net_l3 *l3, uint32_t dst)
{
	for (unsigned i = 0; i < l3->cfg.n_addrs; i++) {
		uint32_t m = net_prefix_mask(l3->cfg.addrs[i].prefix_len);
		if ((l3->cfg.addrs[i].addr & m) == (dst & m))
			return true;
	}
	return false;
}

/* via: src is another interface's address (net_ipv4_send_frame_via), and
 * an off-link dst without a gateway here is not handed on again. */
static enum net_arp_out net_ipv4_send(struct net_l3 *l3, uint64_t now_ns, uint8_t *frame,
				      size_t frame_len, uint32_t src, uint32_t dst, uint8_t proto,
				      bool via)
{
	struct net_l3_counters *c = &l3->c;
	if (frame_len < NET_L3_HEADROOM || frame_len - NET_ETH_HLEN > l3->cfg.mtu) {
		NET_COUNT(c->ip_tx_too_big, 1);
		return NET_ARP_DROPPED;
	}
	if (src == 0)
		src = net_l3_pick_src(l3, dst);
	if (via ? !net_l3_is_host_addr(l3, src) : !net_l3_is_local(l3, src)) {
		NET_COUNT(c->ip_tx_bad_src, 1);
		return NET_ARP_DROPPED;
	}
	bool bcast = net_l3_is_broadcast(l3, dst);
	if (via && bcast) { /* a broadcast of this subnet is its own host's */
		NET_COUNT(c->ip_tx_no_route, 1);
		return NET_ARP_DROPPED;
	}
	uint32_t next_hop = dst;
	if (!bcast && !net_l3_on_link(l3, dst)) {
		/* RFC 1122 3.3.4.2: a weak end system may send a datagram
		 * from this interface's address by another (the host's
		 * routing: on another's subnet, or its gateway) */
		int r = !via && l3->ops.tx_off_link != NULL
			    ? l3->ops.tx_off_link(l3->ops.ctx, now_ns, frame, frame_len, src, dst,
						  proto, l3->cfg.gateway != 0)
			    : -1;
		if (r >= 0) { /* a drop there is counted there */
			NET_COUNT(c->ip_tx_other_port, 1);
			return (enum net_arp_out)r;
		}
		if (l3->cfg.gateway == 0) {
			NET_COUNT(c->ip_tx_no_route, 1);
			return NET_ARP_DROPPED;
		}
		next_hop = l3->cfg.gateway;
	}
	(void)net_eth_build(frame, &net_mac_broadcast, &l3->cfg.mac, NET_ETHERTYPE_IPV4);
	net_ipv4_build_hdr(frame + NET_ETH_HLEN, src, dst, proto, l3->ip_id++, l3->ttl,
			   (uint16_t)(frame_len - NET_L3_HEADROOM));
	enum net_arp_out r;
	if (bcast)
		r = net_eth_send(&l3->ops, c, frame, frame_len) == 0 ? NET_ARP_SENT
								     : NET_ARP_DROPPED;
	else
		r = net_arp_output(&l3->arp, now_ns, next_hop, frame, frame_len);
	if (r != NET_ARP_DROPPED)
		NET_COUNT(c->ip_tx, 1);
	return r;
}

enum net_arp_out net_ipv4_send_frame(struct net_l3 *l3, uint64_t now_ns, uint8_t *frame,
				     size_t frame_len, uint32_t src, uint32_t dst, uint8_t proto)
{
	return net_ipv4_send(l3, now_ns, frame, frame_len, src, dst, proto, false);
}

enum net_arp_out net_ipv4_send_frame_via(struct net_l3 *l3, uint64_t now_ns, uint8_t *frame,
					 size_t frame_len, uint32_t src, uint32_t dst,
					 uint8_t proto)
{
	return net_ipv4_send(l3, now_ns, frame, frame_len, src, dst, proto, true);
}

enum net_arp_out net_ipv4_output(struct net_l3 *l3, uint64_t now_ns, uint32_t src, uint32_t dst,
				 uint8_t proto, const uint8_t *l4, size_t l4_len)
{
	if (l4_len > sizeof l3->scratch - NET_L3_HEADROOM) {
		NET_COUNT(l3->c.ip_tx_too_big, 1);
		return NET_ARP_DROPPED;
	}
	memmove(l3->scratch + NET_L3_HEADROOM, l4, l4_len);
	return net_ipv4_send_frame(l3, now_ns, l3->scratch, NET_L3_HEADROOM + l4_len, src, dst,
				   proto);
}

bool net_l3_send_unreach(struct net_l3 *l3, uint64_t now_ns, uint8_t code, const uint8_t *orig,
			 size_t orig_len)
{
	struct net_ipv4_view v;
	/* the offending datagram must at least parse as one (total length
	 * trims any padding off the quote) */
	if (net_ipv4_parse(orig, orig_len, &v, NULL) != NET_OK)
		return false;
	if (!net_l3_is_local(l3, v.dst) || net_ipv4_src_bad(l3, v.src))
		return false;
	uint8_t *out = l3->scratch + NET_L3_HEADROOM;
	size_t n = net_icmp_build_unreach(&l3->icmp, now_ns, code, orig, v.total_len, out,
					  sizeof l3->scratch - NET_L3_HEADROOM);
	if (n == 0)
		return false;
	return net_ipv4_send_frame(l3, now_ns, l3->scratch, NET_L3_HEADROOM + n, v.dst, v.src,
				   NET_IPV4_PROTO_ICMP) != NET_ARP_DROPPED;
}
