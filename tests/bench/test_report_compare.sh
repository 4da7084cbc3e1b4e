#!/bin/bash
# bench/compare.sh --quick against rpcrouterd and the --direct ceiling (no
# RabbitMQ: its node alone takes 5-10 s to start), into a copy of a
# performance.md: the runs all land in results.jsonl, the matrix's n/a
# mark too, the report renders, the "Side by side" section is replaced
# and the rest of the file is kept byte for byte, and no process the
# script started is left. A second run with --max-time 0 (no runs)
# replaces the section again: still one, its old plots gone, others'
# images kept. Timing is never asserted.
#
#   test_report_compare.sh SRC_DIR BUILD_DIR
set -u
src=$1
build=$2
PY=/usr/bin/python3
tmp=$(mktemp -d /tmp/rr-compare-test.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

mkdir -p "$tmp/docs/img"
cat >"$tmp/docs/performance.md" <<'EOF'
# Performance

## Before

kept 1

## Side by side

old text that must go

### old subsection

## After

kept 2
EOF
echo "someone else's plot" >"$tmp/docs/img/other.svg"
cp "$tmp/docs/performance.md" "$tmp/orig.md"

for round in 1 2; do
	out=$tmp/out$round
	maxt=100
	[ $round = 2 ] && maxt=0
	"$src/bench/compare.sh" --quick --targets rpcrouterd,direct -b "$build" \
		--out "$out" --docs-dir "$tmp/docs" --max-time $maxt >"$tmp/log$round" 2>&1
	rc=$?
	# a run that failed is the bench's or the router's to explain; here it
	# must still have left its line
	if [ $rc != 0 ]; then
		echo "note: compare.sh exited $rc (a run failed); its log:"
		cat "$tmp/log$round"
	fi
	$PY - "$out" "$tmp/docs/performance.md" "$round" "$tmp/docs/img" <<'EOF' || fail "round $round"
import json, os, sys
out, perf, rnd, img = sys.argv[1:5]
runs = [json.loads(l) for l in open(out + "/results.jsonl") if l.strip()]
text = open(perf).read()
def kept():
    assert text.count("## Side by side") == 1, text
    assert "old text that must go" not in text and "### old subsection" not in text
    assert text.startswith("# Performance\n\n## Before\n\nkept 1\n\n## Side by side\n"), text[:200]
    assert text.endswith("## After\n\nkept 2\n"), text[-200:]
    assert os.path.exists(os.path.join(img, "other.svg"))
if rnd == "2":
    assert runs == [], len(runs)
    kept()
    assert "### fanout" in text and "- n/a: direct" in text, text
    assert sorted(os.listdir(img)) == ["other.svg"], os.listdir(img)
    print("round 2 ok")
    sys.exit(0)
# 11 rows x 2 targets, but fanout is n/a for direct
assert len(runs) == 21, len(runs)
for r in runs:
    assert r["schema"] == 1 and r["target"] in ("rpcrouterd", "direct"), r
    assert r["target"] != "rpcrouterd" or "router" in r, "no --router-pid for rpcrouterd"
cells = {(r["scenario"], r["target"]) for r in runs}
assert ("fanout", "direct") not in cells and ("fanout", "rpcrouterd") in cells, cells
na = [json.loads(l) for l in open(out + "/na.jsonl") if l.strip()]
assert [(n["na"]["target"], n["na"]["scenario"]) for n in na] == [("direct", "fanout")], na
kept()
for s in ("### throughput", "### rpc", "### fanout", "### connections", "### handshake",
          "| metric |", "**Machine**", "- n/a: direct", "bench/compare.sh --quick"):
    assert s in text, s
for name in ("rpc-latency-cdf-1.svg", "throughput-vs-body_size.svg"):
    assert os.path.exists(os.path.join(img, name)), name
assert "](img/rpc-latency-cdf-1.svg)" in text
# the routers it started are gone
pids = {r["router"]["pid"] for r in runs if "router" in r}
assert len(pids) == 1, pids
try:
    os.kill(pids.pop(), 0)
    raise AssertionError("rpcrouterd still running")
except ProcessLookupError:
    pass
print("round 1 ok")
EOF
done
echo "ok"
