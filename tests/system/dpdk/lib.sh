# Shared set-up and clean-up of the dpdk test scripts (sourced by
# tests/system/dpdk/*.sh and tests/bench/dpdk/run.sh; not run on its own).
#
# What a script gets:
#   rr_skip WHY                 print "SKIP: WHY", exit 77 (meson: skipped)
#   rr_check WHAT CMD...        run CMD: "ok: WHAT" or "FAIL: WHAT" (fail=1)
#   rr_need_root WHAT           skip unless root
#   rr_need_cmd CMD PACKAGE     skip unless CMD is on PATH
#   rr_need_netns               skip unless `ip netns` and /dev/net/tun work
#   rr_need_proton              skip unless python3-qpid-proton imports
#   rr_need_pmd NAME            skip unless librte_net_NAME (tap, memif, ...) is installed
#   rr_tmp NAME                 make the temporary directory $TMP (removed on exit)
#   rr_netns NS                 create namespace NS (deleted on exit); skip if it cannot
#   rr_prefix PREFIX            an EAL --file-prefix whose runtime directory goes on exit
#   rr_lcores WORKERS           print --lcores=0@0,1@C,... (control on CPU 0, workers
#                               on the other CPUs, shared when there are fewer)
#   rr_worker_cpu               print the CPU of the first worker (1, or 0 on 1 CPU)
#   rr_conf ID WORKERS PREFIX PORTS ADDRESS BACKOFF_US [LINE...]
#                               write $TMP/rr.conf: the tests' router, listener and
#                               dpdk dataplane (see the function)
#   rr_start_router SECS CONF [NS]
#                               rpcrouterd -c CONF under `timeout -k 5 SECS` (inside NS
#                               when given), log in $TMP/rr.log; sets RR_TPID
#   rr_wait_up CMD...           wait (10 s at most) until CMD succeeds and
#                               $TMP/ctl.sock exists; on failure print the log, exit 1
#   rr_router_pid               print rpcrouterd's own pid (timeout's child)
#   rr_stop_router              SIGTERM to rpcrouterd by pid, check exit 0
#   rr_stats FILE               rpcrouter-ctl stats --json > FILE
#   rr_bg CMD...                start CMD in the background, ended on exit (RR_LAST_PID)
#   rr_finish                   print the router log if something failed; exit $fail
# Every process it ends is one the script started, by pid; everything it
# created (namespace, EAL runtime directories, $TMP) is removed on exit.
# Needs RPCROUTERD (and RPCROUTER_CTL for rr_stats) set by the script.

PY=${PY:-/usr/bin/python3}
# the scripts' inline stats checks import stats_need.py from here
export PYTHONPATH="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)${PYTHONPATH:+:$PYTHONPATH}"
fail=0
TMP=
RR_TPID=
RR_NS=
RR_PREFIXES=()
RR_BG=()

rr_skip() {
	echo "SKIP: $*"
	exit 77
}

rr_check() { # rr_check WHAT CMD...
	local what=$1
	shift
	if "$@"; then echo "ok: $what"; else echo "FAIL: $what"; fail=1; fi
}

rr_need_root() { [ "$(id -u)" = 0 ] || rr_skip "needs root ($1)"; }

rr_need_cmd() { command -v "$1" >/dev/null || rr_skip "no $1 (apt-get install $2)"; }

rr_need_netns() {
	rr_need_cmd ip iproute2
	[ -c /dev/net/tun ] || rr_skip "no /dev/net/tun"
}

rr_need_proton() { "$PY" -c 'import proton' 2>/dev/null || rr_skip "no python3-qpid-proton"; }

rr_need_pmd() {
	ls /usr/lib/x86_64-linux-gnu/dpdk/pmds-*/librte_net_"$1".so* >/dev/null 2>&1 ||
		rr_skip "no net_$1 PMD (apt-get install dpdk)"
}

# a pid that is still running (not gone, not a zombie waiting to be reaped)
rr_running() { [ -r "/proc/$1/status" ] && ! grep -q '^State:[[:space:]]*Z' "/proc/$1/status"; }

rr_cleanup() {
	local p _ left
	for p in "${RR_BG[@]}"; do
		kill -0 "$p" 2>/dev/null && kill -TERM "$p" 2>/dev/null
	done
	# `timeout CMD` passes the TERM on to CMD and exits once CMD has: a KILL
	# before that would leave CMD running, orphaned (3 s at most)
	for _ in $(seq 30); do
		left=0
		for p in "${RR_BG[@]}"; do rr_running "$p" && left=1; done
		[ $left = 0 ] && break
		sleep 0.1
	done
	if [ -n "$RR_TPID" ] && kill -0 "$RR_TPID" 2>/dev/null; then
		kill -TERM "$RR_TPID" 2>/dev/null
		sleep 1
		kill -KILL "$RR_TPID" 2>/dev/null
	fi
	for p in "${RR_BG[@]}"; do
		kill -0 "$p" 2>/dev/null && kill -KILL "$p" 2>/dev/null
	done
	[ -n "$RR_NS" ] && ip netns del "$RR_NS" 2>/dev/null
	for p in "${RR_PREFIXES[@]}"; do rm -rf "/var/run/dpdk/$p"; done
	[ -n "$TMP" ] && rm -rf "$TMP"
}
trap rr_cleanup EXIT

rr_tmp() { TMP=$(mktemp -d "/tmp/$1.XXXXXX") || exit 1; }

rr_netns() {
	ip netns add "$1" 2>/dev/null || rr_skip "cannot create a network namespace"
	RR_NS=$1
}

rr_prefix() { RR_PREFIXES+=("$1"); }

rr_worker_cpu() { if [ "$(nproc)" -gt 1 ]; then echo 1; else echo 0; fi; }

rr_lcores() {
	local ncpu lc i cpu
	ncpu=$(nproc)
	lc=--lcores=0@0
	for ((i = 1; i <= $1; i++)); do
		if [ "$ncpu" -gt 1 ]; then cpu=$((1 + (i - 1) % (ncpu - 1))); else cpu=0; fi
		lc="$lc,$i@$cpu"
	done
	echo "$lc"
}

# rr_conf ID WORKERS PREFIX PORTS ADDRESS BACKOFF_US [DATAPLANE_LINE...]:
# $TMP/rr.conf, a standalone router with one listener (0.0.0.0:5672,
# ANONYMOUS; $RR_LISTENER_EXTRA lines added) and the dpdk driver: WORKERS
# workers placed by rr_lcores, the test EAL flags (--no-huge -m 512, the
# unique --file-prefix PREFIX, --no-pci), dpdkPorts PORTS, dpdkAddress
# ADDRESS, dpdkIdleBackoffUs BACKOFF_US, control socket $TMP/ctl.sock, and
# each DATAPLANE_LINE ("name: value") in the dataplane section.
rr_conf() {
	local id=$1 workers=$2 prefix=$3 ports=$4 addr=$5 backoff=$6 l
	shift 6
	{
		echo "router {"
		echo "    mode: standalone"
		echo "    id: $id"
		echo "}"
		echo "listener {"
		echo "    host: 0.0.0.0"
		echo "    port: 5672"
		echo "    saslMechanisms: ANONYMOUS"
		[ -n "${RR_LISTENER_EXTRA:-}" ] && echo "    $RR_LISTENER_EXTRA"
		echo "}"
		echo "dataplane {"
		echo "    driver: dpdk"
		echo "    workers: $workers"
		echo "    dpdkEal: $(rr_lcores "$workers") --no-huge -m 512 --file-prefix $prefix --no-pci"
		echo "    dpdkPorts: $ports"
		echo "    dpdkAddress: $addr"
		echo "    dpdkIdleBackoffUs: $backoff"
		echo "    controlSocket: $TMP/ctl.sock"
		for l in "$@"; do echo "    $l"; done
		echo "}"
	} >"$TMP/rr.conf"
}

rr_start_router() { # rr_start_router SECS CONF [NS]
	if [ -n "${3:-}" ]; then
		timeout -k 5 "$1" ip netns exec "$3" "$RPCROUTERD" -c "$2" >"$TMP/rr.log" 2>&1 &
	else
		timeout -k 5 "$1" "$RPCROUTERD" -c "$2" >"$TMP/rr.log" 2>&1 &
	fi
	RR_TPID=$!
}

rr_wait_up() { # rr_wait_up CMD...
	local _
	for _ in $(seq 100); do
		if "$@" >/dev/null 2>&1 && [ -S "$TMP/ctl.sock" ]; then
			return 0
		fi
		kill -0 "$RR_TPID" 2>/dev/null || break
		sleep 0.1
	done
	echo "FAIL: rpcrouterd did not come up"
	cat "$TMP/rr.log"
	exit 1
}

# timeout runs rpcrouterd as its child (ip netns exec execs it)
rr_router_pid() { pgrep -P "$RR_TPID" -x rpcrouterd; }

rr_stop_router() {
	local rpid rc
	rpid=$(rr_router_pid)
	if [ -z "$rpid" ]; then
		# gone before the end: say how (timeout passes a signal on as 128+N)
		wait "$RR_TPID"
		rc=$?
		RR_TPID=
		if [ "$rc" -gt 128 ]; then
			echo "FAIL: rpcrouterd is not running (ended by signal $((rc - 128)): $(kill -l $((rc - 128))))"
		else
			echo "FAIL: rpcrouterd is not running (exit $rc)"
		fi
		fail=1
		return
	fi
	kill -TERM "$rpid"
	wait "$RR_TPID"
	rc=$?
	RR_TPID=
	rr_check "SIGTERM: rpcrouterd exit 0 (got $rc)" [ "$rc" = 0 ]
}

rr_stats() { "$RPCROUTER_CTL" --socket "$TMP/ctl.sock" stats --json >"$1"; }

rr_bg() {
	"$@" &
	RR_LAST_PID=$!
	RR_BG+=("$RR_LAST_PID")
}

rr_finish() {
	if [ "$fail" != 0 ] && [ -f "$TMP/rr.log" ]; then
		echo "--- rpcrouterd log (last 40 lines)"
		tail -40 "$TMP/rr.log"
	fi
	exit "$fail"
}
