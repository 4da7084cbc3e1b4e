/* See dp_map.h. */
#include "dp_map.h"

#include <stdlib.h>

static inline uint64_t mix(uint64_t k)
{
	/* splitmix64 finaliser: session/delivery-id keys are sequential */
	k ^= k >> 30;
	k *= 0xbf58476d1ce4e5b9ull;
	k ^= k >> 27;
	k *= 0x94d049bb133111ebull;
	return k ^ (k >> 31);
}

int dp_map_init(struct dp_map *m, uint64_t cap)
{
	uint64_t c = 16;
	while (c < cap)
		c <<= 1;
	m->slots = (struct dp_map_slot *)calloc(c, sizeof(*m->slots));
	m->mask = c - 1;
	m->n = 0;
	return m->slots ? 0 : -1;
}

void dp_map_fini(struct dp_map *m)
{
	free(m->slots);
	m->slots = NULL;
	m->n = 0;
}

static void put_nogrow(struct dp_map *m, uint64_t key, void *val)
{
	uint64_t i = mix(key) & m->mask;
	while (m->slots[i].val && m->slots[i].key != key)
		i = (i + 1) & m->mask;
	if (m->slots[i].val == NULL)
		m->n++;
	m->slots[i].key = key;
	m->slots[i].val = val;
}

int dp_map_put(struct dp_map *m, uint64_t key, void *val)
{
	if ((m->n + 1) * 2 > m->mask + 1) {
		struct dp_map big;
		if (dp_map_init(&big, (m->mask + 1) * 2) != 0)
			return -1;
		for (uint64_t i = 0; i <= m->mask; i++)
			if (m->slots[i].val)
				put_nogrow(&big, m->slots[i].key, m->slots[i].val);
		free(m->slots);
		*m = big;
	}
	put_nogrow(m, key, val);
	return 0;
}

void *dp_map_get(const struct dp_map *m, uint64_t key)
{
	uint64_t i = mix(key) & m->mask;
	while (m->slots[i].val) {
		if (m->slots[i].key == key)
			return m->slots[i].val;
		i = (i + 1) & m->mask;
	}
	return NULL;
}

void *dp_map_del(struct dp_map *m, uint64_t key)
{
	uint64_t i = mix(key) & m->mask;
	while (m->slots[i].val && m->slots[i].key != key)
		i = (i + 1) & m->mask;
	void *val = m->slots[i].val;
	if (val == NULL)
		return NULL;
	m->n--;
	/* backward-shift: move later entries of the probe run into the hole */
	uint64_t hole = i;
	for (uint64_t j = (i + 1) & m->mask; m->slots[j].val; j = (j + 1) & m->mask) {
		uint64_t home = mix(m->slots[j].key) & m->mask;
		/* j may move to hole unless home lies cyclically in (hole, j] */
		bool stays = hole <= j ? (home > hole && home <= j) : (home > hole || home <= j);
		if (!stays) {
			m->slots[hole] = m->slots[j];
			hole = j;
		}
	}
	m->slots[hole].val = NULL;
	return val;
}
