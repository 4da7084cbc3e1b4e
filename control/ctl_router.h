/* The running router: the control thread's side (DESIGN.md "Control
 * thread"). It owns the listeners, accepts connections and gives each to
 * the least loaded worker, runs SASL and the Open exchange through proton
 * on the bytes the worker relays (ctl_handshake.c), hands the connection
 * over, decides link attaches, keeps the master address table and
 * publishes its snapshots to the workers, serves rpcrouter-ctl, and shuts
 * everything down on SIGTERM. Control thread only. */
#ifndef CTL_ROUTER_H
#define CTL_ROUTER_H

#include "ctl_config.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Run until SIGTERM/SIGINT. Returns the process exit status (0 after a
 * clean shutdown; 1 when start-up fails, with the reason logged). */
int ctl_router_run(const struct ctl_config *cfg, const char *version);

#ifdef __cplusplus
}
#endif
#endif
