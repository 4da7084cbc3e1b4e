#!/bin/sh
# bench-smoke: bench_peer direct (client to client, no router) so the
# benchmark tools keep working. Usage: bench_peer_smoke.sh BENCH_PEER MODE
# MODE: presettled | unsettled | rpc. Asserts completion and no loss,
# never timing. Every process it starts is bounded by --timeout and waited for.
set -eu
peer=$1
mode=$2
dir=$(mktemp -d)
srv=
cleanup() {
	if [ -n "$srv" ]; then kill "$srv" 2>/dev/null || true; wait "$srv" 2>/dev/null || true; fi
	rm -rf "$dir"
}
trap cleanup EXIT

wait_ready() {
	i=0
	while [ ! -s "$dir/ready" ]; do
		i=$((i + 1))
		if [ $i -gt 200 ]; then echo "peer never became ready" >&2; exit 1; fi
		sleep 0.05
	done
	cat "$dir/ready"
}

n=5000
case $mode in
presettled | unsettled)
	flag=
	[ "$mode" = unsettled ] && flag=--unsettled
	"$peer" recv --listen --url amqp://127.0.0.1:0 --address smoke --count $n \
		--ready-file "$dir/ready" --timeout 30 >"$dir/recv.json" &
	srv=$!
	port=$(wait_ready)
	"$peer" send --url "amqp://127.0.0.1:$port" --address smoke --count $n $flag \
		--timeout 30 >"$dir/send.json"
	wait "$srv"; rc=$?; srv=
	cat "$dir/send.json" "$dir/recv.json"
	[ $rc -eq 0 ] || { echo "receiver failed" >&2; exit 1; }
	grep -q "\"received\":$n,\"gaps\":0,\"reordered\":0,\"bad\":0," "$dir/recv.json"
	grep -q "\"sent\":$n," "$dir/send.json"
	if [ "$mode" = unsettled ]; then grep -q "\"accepted\":$n," "$dir/send.json"; fi
	;;
rpc)
	n=2000
	"$peer" rpc-server --listen --url amqp://127.0.0.1:0 --address smoke.rpc \
		--ready-file "$dir/ready" --timeout 30 >"$dir/server.json" &
	srv=$!
	port=$(wait_ready)
	"$peer" rpc-client --url "amqp://127.0.0.1:$port" --address smoke.rpc \
		--reply-to smoke.reply --count $n --unsettled --timeout 30 >"$dir/client.json"
	wait "$srv"; rc=$?; srv=
	cat "$dir/client.json" "$dir/server.json"
	[ $rc -eq 0 ] || { echo "rpc server failed" >&2; exit 1; }
	grep -q "\"calls\":$n,\"replies\":$n,\"accepted\":$n,\"bad\":0" "$dir/client.json"
	grep -q "\"requests\":$n,\"replies\":$n,\"unroutable\":0" "$dir/server.json"
	;;
*)
	echo "unknown mode $mode" >&2
	exit 2
	;;
esac
