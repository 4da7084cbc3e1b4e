/* NET_COUNT: one event on a per-reason counter of the native stack
 * (net_l3.def, net_tcp_counters.def). Control reads the counters from
 * another thread (rpcrouter-ctl stats, with relaxed atomic loads); each
 * has one writer, its worker, so a relaxed store of the sum is enough: on
 * x86 the same plain add it replaces (no lock prefix), and no data race
 * in C11's terms. */
#ifndef NET_COUNT_H
#define NET_COUNT_H

#define NET_COUNT(ctr, n) __atomic_store_n(&(ctr), (ctr) + (n), __ATOMIC_RELAXED)

#endif
