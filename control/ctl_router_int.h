/* Internals shared by the control thread's files (ctl_router.c,
 * ctl_handshake.c, ctl_stats.c). Control thread only. */
#ifndef CTL_ROUTER_INT_H
#define CTL_ROUTER_INT_H

#include <proton/connection_driver.h>

#include "ctl_config.h"
#include "ctl_sasl.h"
#include "dp_map.h"
#include "dp_worker.h"
#include "route_table.h"

struct ctl_listener {
	int fd;
	uint16_t idx;
	const struct ctl_endpoint *ep;
	struct ctl_sasl_server sasl;
	char name[300]; /* host:port for logs: a DNS name is up to 253 bytes */
};

enum ctl_hs_phase { HS_HEADER, HS_SASL, HS_OPEN, HS_WAIT, HS_DONE };

/* One connection before its Open completes. */
struct ctl_hs {
	uint16_t worker;
	uint32_t conn, gen;
	uint16_t listener;
	pn_connection_driver_t drv;
	bool drv_live;
	uint8_t *buf; /* relayed raw input, from stream offset 0 */
	size_t len, cap;
	size_t fed;   /* bytes given to proton */
	uint8_t phase;
	bool sasl_done;
	bool auth_logged;
	char peer[64];
};

struct ctl_slots {
	uint32_t *free_idx;
	uint32_t n_free;
	uint8_t *gen;
	uint32_t live;
};

struct ctl_pending_reply {
	uint16_t worker;
	struct dp_cmd_attach cmd;
	char *addr; /* owned, dynamic address or NULL */
};

struct ctl_rt {
	const struct ctl_config *cfg;
	const char *version;
	char router_id[128];
	struct dp_shared sh;
	struct dp_worker *workers;
	unsigned n_workers;
	struct ctl_slots *slots; /* per worker */
	struct ctl_listener *listeners;
	size_t n_listeners;
	struct dp_limits *limits;
	struct route_rules *rules;
	struct route_master *master;
	bool table_dirty;
	struct dp_map hs;   /* worker << 32 | conn -> struct ctl_hs */
	struct dp_map regs; /* worker << 32 | link -> char * address (registered consumers) */
	struct ctl_pending_reply *replies;
	size_t n_replies, cap_replies;
	int ep, wake_fd, sig_fd, stats_fd;
	int sleeping;
	bool stopping;
	unsigned stopped_workers;
	uint64_t conns_live;
	uint64_t max_conns;
	uint64_t accepted, auth_failures, refused_max_conns;
	uint64_t stop_deadline_ms;
	uint64_t rand_state;
};

/* ctl_router.c */
void ctl_post(struct ctl_rt *rt, unsigned worker, uint16_t type, const void *hdr, uint32_t hlen,
	      const void *bytes, uint32_t blen);

/* ctl_handshake.c */
struct ctl_hs *ctl_hs_new(struct ctl_rt *rt, unsigned worker, uint32_t conn, uint32_t gen,
			  uint16_t listener, const char *peer);
void ctl_hs_input(struct ctl_rt *rt, struct ctl_hs *hs, uint64_t offset, const uint8_t *p,
		  size_t n);
void ctl_hs_free(struct ctl_rt *rt, struct ctl_hs *hs);

/* ctl_stats.c */
int ctl_stats_listen(struct ctl_rt *rt);
void ctl_stats_serve(struct ctl_rt *rt);
void ctl_stats_close(struct ctl_rt *rt);

#endif
