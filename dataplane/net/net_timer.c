/* Hashed timer wheel: see net_timer.h. */
#include "net_timer.h"

#include "net_seq.h"

int net_timer_init(struct net_timer_wheel *w, uint32_t *heads, uint32_t nslots, void *base,
		   size_t stride, uint32_t now)
{
	if (nslots == 0 || (nslots & (nslots - 1)) != 0)
		return -1;
	w->heads = heads;
	w->nslots = nslots;
	w->now = now;
	w->armed = 0;
	w->base = (char *)base;
	w->stride = stride;
	for (uint32_t i = 0; i <= nslots; i++)
		heads[i] = NET_TIMER_NONE;
	return 0;
}

void net_timer_node_init(struct net_timer_node *n)
{
	n->next = n->prev = NET_TIMER_NONE;
	n->expire = 0;
	n->slot = NET_TIMER_NONE;
}

static void timer_unlink(struct net_timer_wheel *w, struct net_timer_node *n)
{
	if (n->prev != NET_TIMER_NONE)
		net_timer_node_at(w, n->prev)->next = n->next;
	else
		w->heads[n->slot] = n->next;
	if (n->next != NET_TIMER_NONE)
		net_timer_node_at(w, n->next)->prev = n->prev;
	n->next = n->prev = NET_TIMER_NONE;
	n->slot = NET_TIMER_NONE;
}

static void timer_link(struct net_timer_wheel *w, uint32_t idx, struct net_timer_node *n,
		       uint32_t slot)
{
	n->slot = slot;
	n->prev = NET_TIMER_NONE;
	n->next = w->heads[slot];
	if (n->next != NET_TIMER_NONE)
		net_timer_node_at(w, n->next)->prev = idx;
	w->heads[slot] = idx;
}

void net_timer_arm(struct net_timer_wheel *w, uint32_t idx, uint32_t expire)
{
	struct net_timer_node *n = net_timer_node_at(w, idx);
	if (n->slot != NET_TIMER_NONE)
		timer_unlink(w, n);
	else
		w->armed++;
	/* A past expiry goes in the next slot to be visited. */
	if (SEQ_LEQ(expire, w->now))
		expire = w->now + 1;
	n->expire = expire;
	timer_link(w, idx, n, expire & (w->nslots - 1));
}

void net_timer_cancel(struct net_timer_wheel *w, uint32_t idx)
{
	struct net_timer_node *n = net_timer_node_at(w, idx);
	if (n->slot == NET_TIMER_NONE)
		return;
	timer_unlink(w, n);
	w->armed--;
}

unsigned net_timer_advance(struct net_timer_wheel *w, uint32_t now, net_timer_fn fn, void *ctx)
{
	unsigned fired = 0;
	if (!SEQ_GT(now, w->now))
		return 0;
	uint32_t steps = now - w->now;
	if (steps > w->nslots)
		steps = w->nslots;
	uint32_t from = w->now;
	const uint32_t pend = w->nslots;
	w->now = now; /* arms from callbacks below land after now */
	for (uint32_t k = 1; k <= steps && w->armed > 0; k++) {
		uint32_t slot = (from + k) & (w->nslots - 1);
		/* Move the slot's list aside: callbacks may arm nodes into
		 * this very slot, and they must not be visited again now. */
		w->heads[pend] = w->heads[slot];
		w->heads[slot] = NET_TIMER_NONE;
		for (uint32_t i = w->heads[pend]; i != NET_TIMER_NONE;
		     i = net_timer_node_at(w, i)->next)
			net_timer_node_at(w, i)->slot = pend;
		while (w->heads[pend] != NET_TIMER_NONE) {
			uint32_t i = w->heads[pend];
			struct net_timer_node *n = net_timer_node_at(w, i);
			timer_unlink(w, n);
			if (SEQ_LEQ(n->expire, now)) {
				w->armed--;
				fired++;
				fn(ctx, i);
			} else {
				timer_link(w, i, n, slot); /* a later revolution */
			}
		}
	}
	return fired;
}
