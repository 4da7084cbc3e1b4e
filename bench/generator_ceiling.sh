#!/bin/bash
# The load generator's own ceiling (issue 5): 100-byte pre-settled
# messages, one sender -> one receiver, no router, rpcrouter-bench --direct
# (its own AMQP engine) beside proton-C peer to peer (bench_peer recv
# --listen / send), alternating in the same run, the same pinning (sender
# CPU 0, receiver CPU 1). Prints one JSON line per run and a markdown table
# of medians with the ratio (docs/performance.md "Generator ceiling").
#
#   bench/generator_ceiling.sh [-b BUILD] [-n COUNT] [-r ROUNDS]
#
# BUILD (default build) must hold bench/rpcrouter-bench and bench/bench_peer.
# Every process it starts is bounded (--timeout) and waited for.
set -u
here=$(cd "$(dirname "$0")" && pwd)
build=$here/../build
count=2000000
rounds=5
while [ $# -gt 0 ]; do
	case $1 in
	-b) build=$(cd "$2" && pwd); shift 2 ;;
	-n) count=$2; shift 2 ;;
	-r) rounds=$2; shift 2 ;;
	*) echo "usage: $0 [-b BUILD] [-n COUNT] [-r ROUNDS]" >&2; exit 2 ;;
	esac
done
bench=$build/bench/rpcrouter-bench
peer=$build/bench/bench_peer
for x in "$bench" "$peer"; do
	[ -x "$x" ] || { echo "$0: $x not built" >&2; exit 1; }
done
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
PY=/usr/bin/python3

free_port() { $PY -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

proton_run() { # -> JSON line {"impl":"proton-C", ...}
	rm -f "$work/ready"
	taskset -c 1 "$peer" recv --listen --url amqp://127.0.0.1:0 --address ceiling --count "$count" \
		--ready-file "$work/ready" --timeout 60 >"$work/recv.json" &
	local rpid=$! i=0
	while [ ! -s "$work/ready" ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i + 1)); done
	taskset -c 0 "$peer" send --url "amqp://127.0.0.1:$(cat "$work/ready")" --address ceiling \
		--count "$count" --size 100 --timeout 60 >"$work/send.json"
	wait "$rpid"
	$PY - "$work/recv.json" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))
print(json.dumps({"impl": "proton-C", "received": r["received"], "lost": r["count"] - r["received"],
                  "msg_per_s": r["rate"], "elapsed_s": r["elapsed_s"], "error": r["error"]}))
EOF
}

bench_run() { # -> JSON line {"impl":"rpcrouter-bench", ...}
	"$bench" throughput --direct --url "amqp://127.0.0.1:$(free_port)" --count "$count" \
		--body-size 100 --presettled --senders 1 --receivers 1 --threads 2 --cpus 0,1 \
		--quiet --timeout 60 >"$work/bench.json"
	$PY - "$work/bench.json" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
r = d["results"]
print(json.dumps({"impl": "rpcrouter-bench", "received": r["received"], "lost": r["lost"],
                  "msg_per_s": r["msg_per_s"], "elapsed_s": r["elapsed_s"], "error": d["error"],
                  "git_sha": d["env"]["git_sha"]}))
EOF
}

for r in $(seq 1 "$rounds"); do
	proton_run | tee -a "$work/all.jsonl"
	bench_run | tee -a "$work/all.jsonl"
done

$PY - "$work/all.jsonl" "$count" "$rounds" <<'EOF'
import json, statistics, sys
runs = [json.loads(l) for l in open(sys.argv[1])]
by = {}
for x in runs:
    by.setdefault(x["impl"], []).append(x)
med = {k: statistics.median(r["msg_per_s"] for r in v) for k, v in by.items()}
lost = {k: sum(r["lost"] for r in v) for k, v in by.items()}
print()
print("| sender -> receiver, 100 B pre-settled, %s msgs x %s rounds | median msg/s | range | lost |" % (sys.argv[2], sys.argv[3]))
print("|---|---:|---:|---:|")
for k in ("proton-C", "rpcrouter-bench"):
    v = [r["msg_per_s"] for r in by.get(k, [])]
    if v:
        print("| %s | %s | %s - %s | %d |" % (k, f"{med[k]:,.0f}", f"{min(v):,.0f}", f"{max(v):,.0f}", lost[k]))
if "proton-C" in med and "rpcrouter-bench" in med:
    print()
    print("rpcrouter-bench --direct / proton-C: **%.2fx** per sender thread" % (med["rpcrouter-bench"] / med["proton-C"]))
EOF
