/* A small open-addressing hash map from uint64_t keys to pointers, for a
 * worker's unsettled deliveries (keyed by session and delivery-id). Linear
 * probing with backward-shift deletion (no tombstones), power-of-two
 * capacity, grows at 1/2 load. Growth allocates (amortised, rare: the map
 * keeps its capacity); lookups and inserts below the load never do.
 * Single thread. */
#ifndef DP_MAP_H
#define DP_MAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct dp_map_slot {
	uint64_t key;
	void *val; /* NULL: empty slot */
};

struct dp_map {
	struct dp_map_slot *slots;
	uint64_t mask;
	uint64_t n;
};

int dp_map_init(struct dp_map *m, uint64_t cap);
void dp_map_fini(struct dp_map *m);
/* Insert or replace; val must not be NULL. -1 when out of memory. */
int dp_map_put(struct dp_map *m, uint64_t key, void *val);
void *dp_map_get(const struct dp_map *m, uint64_t key);
/* Remove and return the value, or NULL. */
void *dp_map_del(struct dp_map *m, uint64_t key);

#ifdef __cplusplus
}
#endif
#endif
