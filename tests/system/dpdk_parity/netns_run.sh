#!/bin/bash
# Run one command (a system test file) inside a fresh network namespace
# with RR_DRIVER=dpdk, so that rrtest.Router puts rpcrouterd on a net_tap
# port of its own in that namespace: the tap, the router's address, every
# client and (for test_oslo_dual) RabbitMQ on the namespace's own
# 127.0.0.1 live there; nothing touches the host's interfaces.
#
# Usage: netns_run.sh --check             exit 0 when it can run, else 77
#        netns_run.sh SECONDS CMD ARGS...  CMD under `timeout -k 5 SECONDS`
# Skips (exit 77, "SKIP: why") unless root, `ip netns`, /dev/net/tun, ping
# and the net_tap PMD are there (the meson file registers it only in a
# DPDK build). On exit the namespace is deleted, after any process still in
# it (ours: the namespace is) is killed by pid, and the EAL runtime
# directories of the run's prefix are removed.
set -u

skip() { echo "SKIP: $*"; exit 77; }
[ "$(id -u)" = 0 ] || skip "needs root (network namespaces, tap devices)"
command -v ip >/dev/null || skip "no ip command (iproute2)"
command -v ping >/dev/null || skip "no ping (iputils-ping)"
command -v timeout >/dev/null || skip "no timeout (coreutils)"
[ -c /dev/net/tun ] || skip "no /dev/net/tun"
ls /usr/lib/*-linux-gnu/dpdk/pmds-*/librte_net_tap.so* >/dev/null 2>&1 ||
	skip "no net_tap PMD (apt-get install dpdk)"
NS=rrpar-$$
ip netns add "$NS" 2>/dev/null || skip "cannot create a network namespace"
PREFIX=rrp$$
cleanup() {
	local p
	for p in $(ip netns pids "$NS" 2>/dev/null); do
		kill -KILL "$p" 2>/dev/null
	done
	ip netns del "$NS" 2>/dev/null
	rm -rf /var/run/dpdk/"$PREFIX"_*
}
trap cleanup EXIT
if [ "${1:-}" = --check ]; then
	exit 0
fi
SECS=${1:?seconds}
shift
ip netns exec "$NS" ip link set lo up || exit 1
# RR_DPDK_PREFIX: rrtest's EAL file prefixes are $PREFIX_<n>, removed
# above should a router be killed before rrtest could do it
timeout -k 5 "$SECS" ip netns exec "$NS" env RR_DRIVER=dpdk RR_DPDK_PREFIX="$PREFIX" "$@"
