/*
 * bench_io_dpdk: rpcrouter-bench's DPDK backend (--dpdk). The same
 * connections, scenarios and bench_amqp engines as the socket loop
 * (bench_io.c), but the bytes go through the project's native TCP/IP
 * (dataplane/net: net_l3 for Ethernet/ARP/IPv4, net_tcp for TCP) on a DPDK
 * port of the generator's own (a net_memif client, net_tap, net_af_packet
 * or a NIC): EAL, one rx/tx queue pair, one mempool, bursts, no kernel
 * sockets and no system call in the loop (unless --dpdk-idle-us).
 *
 * One I/O thread (every connection on it), registered with the EAL as a
 * non-EAL lcore (rte_thread_register) so the mempool cache works; the
 * coordinator stays on the main thread, as with sockets. bench_io.c
 * dispatches here when run->o.dpdk.eal is set; only built with DPDK.
 */
#ifndef BENCH_IO_DPDK_H
#define BENCH_IO_DPDK_H

#include "bench_out.h"
#include "bench_run.h"

#ifdef __cplusplus
extern "C" {
#endif

int bench_io_dpdk_init(struct bench_run *r); /* EAL, port, stack; 0 or -1 (run error set) */
int bench_io_dpdk_start(struct bench_run *r);
void bench_io_dpdk_free(struct bench_run *r); /* connections, port, EAL */
void bench_io_dpdk_flush(struct bench_conn *c);
void bench_io_dpdk_restart(struct bench_conn *c);
/* The result line's "dpdk" object: port, addresses, the generator's own
 * packet and TCP counters (after the thread has been joined). */
void bench_io_dpdk_report(const struct bench_run *r, struct bench_out *j);

#ifdef __cplusplus
}
#endif
#endif
