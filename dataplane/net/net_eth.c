/* Ethernet II parse/build and MAC helpers (net_eth.h). */
#include "net_eth.h"

#include <stdio.h>

#include "net_csum.h"

const struct net_mac net_mac_broadcast = {{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}};
const struct net_mac net_mac_zero = {{0, 0, 0, 0, 0, 0}};

const char *const net_l3_counter_names[NET_L3_C_COUNT] = {
#define NET_L3_COUNTER(name, desc) #name,
#include "net_l3.def"
#undef NET_L3_COUNTER
};

const char *const net_l3_counter_descs[NET_L3_C_COUNT] = {
#define NET_L3_COUNTER(name, desc) desc,
#include "net_l3.def"
#undef NET_L3_COUNTER
};

void net_mac_format(const struct net_mac *m, char *buf, size_t cap)
{
	snprintf(buf, cap, "%02x:%02x:%02x:%02x:%02x:%02x", m->b[0], m->b[1], m->b[2], m->b[3],
		 m->b[4], m->b[5]);
}

static int net_hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int net_mac_parse(const char *s, struct net_mac *m)
{
	struct net_mac out;
	for (int i = 0; i < NET_ETH_ALEN; i++) {
		int hi = net_hex_digit(s[0]);
		int lo = hi < 0 ? -1 : net_hex_digit(s[1]);
		if (lo < 0)
			return -1;
		out.b[i] = (uint8_t)(hi << 4 | lo);
		s += 2;
		if (i < NET_ETH_ALEN - 1) {
			if (*s != ':' && *s != '-')
				return -1;
			s++;
		}
	}
	if (*s != '\0')
		return -1;
	*m = out;
	return 0;
}

enum net_parse net_eth_parse(const uint8_t *frame, size_t len, struct net_eth_view *v)
{
	if (len < NET_ETH_HLEN)
		return NET_SHORT;
	memcpy(v->dst.b, frame, NET_ETH_ALEN);
	memcpy(v->src.b, frame + NET_ETH_ALEN, NET_ETH_ALEN);
	uint16_t type = net_get16(frame + 12);
	size_t hlen = NET_ETH_HLEN;
	v->vlan = false;
	v->vlan_tci = 0;
	if (type == NET_ETHERTYPE_VLAN || type == NET_ETHERTYPE_QINQ) {
		/* IEEE 802.1Q 9.3: TPID, TCI, then the real EtherType. Only
		 * the outer tag is read: a double tag reports the inner TPID
		 * as type, and the frame is dropped either way. */
		if (len < NET_ETH_HLEN + NET_ETH_VLAN_HLEN)
			return NET_SHORT;
		v->vlan = true;
		v->vlan_tci = net_get16(frame + 14);
		type = net_get16(frame + 16);
		hlen += NET_ETH_VLAN_HLEN;
	}
	v->type = type;
	v->hlen = hlen;
	v->payload = frame + hlen;
	v->payload_len = len - hlen;
	if (v->vlan)
		return NET_UNSUPPORTED;
	/* IEEE 802.3 3.2.6: a value <= 1500 is a length (802.2 LLC frame),
	 * >= 1536 an EtherType; in between is undefined. */
	if (type < 0x0600)
		return NET_BAD;
	return NET_OK;
}

size_t net_eth_build(uint8_t *buf, const struct net_mac *dst, const struct net_mac *src,
		     uint16_t type)
{
	memcpy(buf, dst->b, NET_ETH_ALEN);
	memcpy(buf + NET_ETH_ALEN, src->b, NET_ETH_ALEN);
	net_put16(buf + 12, type);
	return NET_ETH_HLEN;
}

int net_eth_send(const struct net_l3_ops *ops, struct net_l3_counters *c, uint8_t *buf, size_t len)
{
	/* IEEE 802.3 4.2.3.3: pad short frames; drivers of virtual ports
	 * (tap, memif) do not, and peers may drop runts. */
	if (len < NET_ETH_MIN_FRAME) {
		memset(buf + len, 0, NET_ETH_MIN_FRAME - len);
		len = NET_ETH_MIN_FRAME;
	}
	int rc = ops->tx_frame(ops->ctx, buf, len);
	if (rc == 0)
		NET_COUNT(c->eth_tx, 1);
	else
		NET_COUNT(c->eth_tx_fail, 1);
	return rc;
}
