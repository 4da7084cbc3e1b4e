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
#                               (and stale ones of earlier runs: rr_sweep_stale)
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
# created (namespace, EAL runtime directories, $TMP) is removed on exit:
# a normal one, an error's, a signal's (SIGTERM/INT/HUP: fast, within the
# 0.5 s meson gives before its SIGKILL), and a SIGKILL of the script (the
# guardian, guard.sh, does it then).
# Needs RPCROUTERD (and RPCROUTER_CTL for rr_stats) set by the script.

PY=${PY:-/usr/bin/python3}
# the scripts' inline stats checks import stats_need.py from here
export PYTHONPATH="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)${PYTHONPATH:+:$PYTHONPATH}"
fail=0
TMP=
RR_TPID=
RR_NS=
RR_PREFIXES=()

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

. "$(dirname "${BASH_SOURCE[0]}")/proc_start.sh" # rr_start_of
rr_same() { [ "$(rr_start_of "$1")" = "$2" ]; } # rr_same PID START

# The guardian (guard.sh, in a session of its own) does the clean-up below
# if this shell dies without finishing it: meson sends SIGTERM to a test's
# process group on a timeout or an interrupt and SIGKILL 0.5 s later, and
# the processes run under `timeout` are in groups of their own (timeout
# calls setpgid), so they outlive the shell, and the EAL runtime directory
# /var/run/dpdk/PREFIX stays. Everything to end or remove goes into
# $RR_GUARD_DIR first.
RR_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
RR_GUARD_DIR=
RR_GUARD_PID=
RR_GUARD_START=
RR_PROCS=()  # "PID START" of every process started (the router's timeout, rr_bg)
RR_ROUTER=   # "PID START" of the router's timeout
RR_FAST=0    # 1 when a signal ends the script: no graceful waits (meson's 0.5 s)
rr_note() { # rr_note FILE LINE: record LINE for the guardian
	if [ -z "$RR_GUARD_DIR" ]; then
		RR_GUARD_DIR=$(mktemp -d /tmp/rrguard.XXXXXX) || exit 1
		setsid bash "$RR_LIB_DIR/guard.sh" $$ "$(rr_start_of $$)" "$RR_GUARD_DIR" \
			</dev/null >/dev/null 2>&1 &
		RR_GUARD_PID=$!
		RR_GUARD_START=$(rr_start_of "$RR_GUARD_PID")
	fi
	echo "$2" >>"$RR_GUARD_DIR/$1"
}
rr_note_proc() { # rr_note_proc PID: a process started (ended on exit); sets RR_NOTED
	local st
	RR_NOTED=
	st=$(rr_start_of "$1") || return 0 # gone already
	RR_NOTED="$1 $st"
	RR_PROCS+=("$RR_NOTED")
	rr_note pids "$RR_NOTED"
}

# rr_wait_gone SECS "PID START"...: until none of them runs (SECS at most)
rr_wait_gone() {
	local n=$(($1 * 10)) e p st left
	shift
	for ((; n > 0; n--)); do
		left=0
		for e in "$@"; do
			read -r p st <<<"$e"
			rr_same "$p" "$st" && left=1
		done
		[ $left = 0 ] && return 0
		[ "$RR_FAST" = 0 ] || return 1
		sleep 0.1
	done
	return 1
}

rr_cleanup() {
	local e p st c cst kids=() bg=() router=()
	# a signal during the clean-up makes it the fast one (no exit: this is
	# the EXIT trap already, an exit would cut it short)
	trap 'RR_FAST=1' TERM INT HUP
	# what runs under each `timeout` (rpcrouterd, rpcrouter-bench), found
	# now: once its timeout is gone it is nobody's child
	for e in "${RR_PROCS[@]}"; do
		read -r p st <<<"$e"
		rr_same "$p" "$st" || continue
		for c in $(pgrep -P "$p"); do
			cst=$(rr_start_of "$c") && kids+=("$c $cst")
		done
		if [ "$e" = "$RR_ROUTER" ]; then router+=("$e"); else bg+=("$e"); fi
	done
	if [ "$RR_FAST" = 0 ]; then
		# `timeout CMD` passes the TERM on to CMD and exits once CMD has:
		# the helpers first, then the router, 3 s at most each
		for e in "${bg[@]}"; do
			read -r p st <<<"$e"
			rr_same "$p" "$st" && kill -TERM "$p" 2>/dev/null
		done
		rr_wait_gone 3 "${bg[@]}" "${kids[@]}"
		for e in "${router[@]}"; do
			read -r p st <<<"$e"
			rr_same "$p" "$st" && kill -TERM "$p" 2>/dev/null
		done
		rr_wait_gone 3 "${router[@]}" "${kids[@]}"
	fi
	# what is left gets SIGKILL, the children first (a KILLed timeout
	# leaves its child running: children forked since the look above are
	# looked for again), and is waited for: an EAL process still in
	# rte_eal_init would make its runtime directory after the removal
	for e in "${bg[@]}" "${router[@]}"; do
		read -r p st <<<"$e"
		rr_same "$p" "$st" || continue
		for c in $(pgrep -P "$p"); do
			cst=$(rr_start_of "$c") && kids+=("$c $cst")
		done
	done
	for e in "${kids[@]}" "${bg[@]}" "${router[@]}"; do
		read -r p st <<<"$e"
		rr_same "$p" "$st" && kill -KILL "$p" 2>/dev/null
	done
	# (waited for even in the fast way: a KILLed process goes at once;
	# the assignment holds for the call only)
	RR_FAST=0 rr_wait_gone 2 "${kids[@]}" "${bg[@]}" "${router[@]}"
	[ -n "$RR_NS" ] && ip netns del "$RR_NS" 2>/dev/null
	for p in "${RR_PREFIXES[@]}"; do rm -rf "/var/run/dpdk/$p"; done
	[ -n "$TMP" ] && rm -rf "$TMP"
	# all done: the guardian's record goes, then the guardian
	if [ -n "$RR_GUARD_DIR" ]; then
		rm -rf "$RR_GUARD_DIR"
		rr_same "$RR_GUARD_PID" "$RR_GUARD_START" && kill -TERM "$RR_GUARD_PID" 2>/dev/null
	fi
}
trap rr_cleanup EXIT
# a signal (meson's SIGTERM on a timeout, ^C) ends the script through the
# EXIT trap, in the fast way; the shell runs a trap only once its
# foreground command is over, so the scripts run long commands with rr_bg
# and wait
trap 'RR_FAST=1; exit 143' TERM
trap 'RR_FAST=1; exit 130' INT
trap 'RR_FAST=1; exit 129' HUP

rr_tmp() {
	TMP=$(mktemp -d "/tmp/$1.XXXXXX") || exit 1
	rr_note tmp "$TMP"
}

rr_netns() {
	ip netns add "$1" 2>/dev/null || rr_skip "cannot create a network namespace"
	RR_NS=$1
	rr_note netns "$1"
}

rr_prefix() {
	rr_sweep_stale "$1"
	RR_PREFIXES+=("$1")
	rr_note prefixes "$1"
}

# rr_port KIND N TAP QPAIRS: one router port in $RR_NS, of KIND tap (the
# PMD's net_tapN creates TAP when the router starts) or af_packet
# (net_af_packet0 on veth-d of a veth pair made here, qpairs QPAIRS; the
# kernel's side veth-k). Sets RR_PORT_SPEC (the dpdkPorts entry) and
# RR_PORT_KIF (the kernel's side, for rr_port_kernel_side once it exists).
rr_port() {
	case $1 in
	tap)
		RR_PORT_KIF=$3
		RR_PORT_SPEC=net_tap$2,iface=$3
		;;
	af_packet)
		RR_PORT_KIF=veth-k
		RR_PORT_SPEC=net_af_packet0,iface=veth-d,qpairs=$4
		ip netns exec "$RR_NS" ip link add veth-k type veth peer name veth-d || exit 1
		ip netns exec "$RR_NS" ip link set veth-d up
		;;
	*)
		echo "FAIL: port $1: tap or af_packet"
		exit 1
		;;
	esac
}

# rr_port_kernel_side KIND KIF ADDR/LEN: the kernel's side of a port up with
# its address; for af_packet with tx checksum offload off (a veth hands
# AF_PACKET partial checksums otherwise: tx_csum_off.py).
rr_port_kernel_side() {
	ip netns exec "$RR_NS" ip link set "$2" up
	ip netns exec "$RR_NS" ip addr add "$3" dev "$2"
	if [ "$1" = af_packet ]; then
		ip netns exec "$RR_NS" "$PY" "$HERE/tx_csum_off.py" "$2" || exit 1
	fi
}

# What no clean-up inside the run can cover: every process of a run killed
# at once (a session ended with SIGKILL: /var/run/dpdk/rrdst9752 with its
# namespace and $TMP, the router's log cut mid-load, no shutdown). The next
# run of the same kind removes such a directory: the same stem (PREFIX up
# to its first digit) followed by digits, older than 10 minutes (an EAL
# process still in rte_eal_init is younger), and no process maps or holds
# open a file in it (a live EAL process maps its config and fbarray files).
rr_sweep_stale() { # rr_sweep_stale PREFIX
	local stem=${1%%[0-9]*} d name p used
	[ "${#stem}" -ge 3 ] && [ "${stem#rr}" != "$stem" ] || return 0
	for d in /var/run/dpdk/"$stem"[0-9]*; do
		[ -d "$d" ] || continue
		name=${d##*/}
		[ -n "$(find "$d" -maxdepth 0 -mmin +10 2>/dev/null)" ] || continue
		used=0
		for p in /proc/[0-9]*; do
			if grep -qsF "/dpdk/$name/" "$p/maps" ||
				[ -n "$(find "$p/fd" -maxdepth 1 -lname "*/dpdk/$name/*" -print -quit 2>/dev/null)" ]; then
				used=1
				break
			fi
		done
		[ $used = 0 ] || continue
		echo "note: removed stale EAL runtime directory $d (no process uses it)"
		rm -rf "$d"
	done
}

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
	rr_note_proc "$RR_TPID"
	RR_ROUTER=$RR_NOTED
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
	rr_note_proc "$RR_LAST_PID"
}

rr_finish() {
	if [ "$fail" != 0 ] && [ -f "$TMP/rr.log" ]; then
		echo "--- rpcrouterd log (last 40 lines)"
		tail -40 "$TMP/rr.log"
	fi
	exit "$fail"
}
