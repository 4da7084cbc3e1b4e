/* What control/ctl_config.c shares with the files that load parts of the
 * configuration for it (control/ctl_config_dpdk.c): the diagnostics
 * macros and the typed getters. Internal to ctl_config*.c. */
#ifndef CTL_CONFIG_INT_H
#define CTL_CONFIG_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "ctl_config.h"

#define warn(cfg, line, ...)                                                                       \
	ctl_diag_add(&(cfg)->diag, CTL_DIAG_WARNING, RR_OK, (cfg)->file, (line), __VA_ARGS__)
#define fail(cfg, code, line, ...)                                                                 \
	ctl_diag_add(&(cfg)->diag, CTL_DIAG_ERROR, (code), (cfg)->file, (line), __VA_ARGS__)

/* Whether attribute `attr` of e was given (not only defaulted). */
bool ctl_config_given(const struct ctl_entity *e, unsigned attr);

/* Integer attribute (given, or its schema default) in [lo, hi] into *out;
 * false on error (reported). Neither given nor defaulted: *out is kept. */
bool ctl_config_get_ranged(struct ctl_config *cfg, const struct ctl_entity *e, unsigned attr,
			   int64_t lo, int64_t hi, const char *why, uint32_t *out);

/* control/ctl_config_dpdk.c: the dataplane section's dpdk* attributes into
 * cfg->dataplane.dpdk (their syntax), and what the dpdk driver needs (run
 * on load when the file asks for it, and by ctl_config_set_driver). */
void ctl_config_load_dpdk(struct ctl_config *cfg, const struct ctl_entity *e);
void ctl_config_check_dpdk(struct ctl_config *cfg);

#endif
