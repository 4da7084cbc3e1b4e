#!/bin/bash
# The dpdk test scripts' guardian (lib.sh starts it; not a test, not run on
# its own). It runs in a session of its own, so the SIGKILL that meson sends
# to a test's process group 0.5 s after the SIGTERM of a timeout or an
# interrupt spares it. Once the script is gone (its pid gone, a zombie, or
# reused) with RECORD still there, the script's own clean-up did not finish:
# the guardian kills, by pid, the processes RECORD/pids names (the script's
# `timeout`s; their children, rpcrouterd and rpcrouter-bench, first) that
# are still the same processes (same start time), waits until they are gone
# (an EAL process still in rte_eal_init would make its runtime directory
# again), then removes the namespaces, EAL runtime directories and
# temporary directories RECORD names, and RECORD. When the script's
# clean-up ran to its end, RECORD is gone and this does nothing.
#
# Usage: guard.sh SCRIPT_PID SCRIPT_START RECORD
# (SCRIPT_START: field 22 of /proc/SCRIPT_PID/stat, the start time)
set -u
script=$1
start=$2
rec=$3

. "$(dirname "${BASH_SOURCE[0]}")/proc_start.sh" # rr_start_of

while [ "$(rr_start_of "$script")" = "$start" ]; do sleep 0.5; done
[ -d "$rec" ] || exit 0

procs=()
if [ -f "$rec/pids" ]; then
	while read -r p st; do
		[ "$(rr_start_of "$p")" = "$st" ] || continue
		# the children first: once `timeout` is gone, its child is no
		# longer found by parent
		for c in $(pgrep -P "$p"); do
			cst=$(rr_start_of "$c") && procs+=("$c $cst")
		done
		procs+=("$p $st")
	done <"$rec/pids"
fi
for e in "${procs[@]}"; do
	read -r p st <<<"$e"
	[ "$(rr_start_of "$p")" = "$st" ] && kill -KILL "$p" 2>/dev/null
done
for _ in $(seq 50); do
	left=0
	for e in "${procs[@]}"; do
		read -r p st <<<"$e"
		[ "$(rr_start_of "$p")" = "$st" ] && left=1
	done
	[ $left = 0 ] && break
	sleep 0.1
done
[ -f "$rec/netns" ] && while read -r ns; do ip netns del "$ns" 2>/dev/null; done <"$rec/netns"
[ -f "$rec/prefixes" ] && while read -r p; do
	case $p in *[!A-Za-z0-9_-]* | "") ;; *) rm -rf "/var/run/dpdk/$p" ;; esac
done <"$rec/prefixes"
[ -f "$rec/tmp" ] && while read -r d; do
	case $d in /tmp/?*) rm -rf "$d" ;; esac
done <"$rec/tmp"
rm -rf "$rec"
