#!/usr/bin/env bash
# Benchmark one jsafe change against its peer, measured in the same run:
#   jsafe update F '.n += 1'        (lock, read, backup link, temp, fsync, rename, fsync dir, journal)
#   flock + jq + mv with syncs      (what a careful hand-made wrapper does)
# plus reads, the --no-sync variant, and a larger file. Prints ms per operation
# and the ratios. Run from the repository root:  scripts/bench-write.sh [ITERATIONS]
# Uses the release build (built if missing). Needs jq and flock for the peer.
set -euo pipefail
N=${1:-200}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cargo build --release --quiet --manifest-path "$ROOT/Cargo.toml"
JSAFE="$ROOT/target/release/jsafe"
for tool in jq flock sync; do
    command -v "$tool" >/dev/null || { echo "bench-write: $tool is needed for the peer measurement" >&2; exit 1; }
done
DIR=$(mktemp -d "${BENCH_DIR:-${TMPDIR:-/tmp}}/jsafe-bench.XXXXXX")
trap 'rm -rf "$DIR"' EXIT
echo "directory: $DIR ($(df -T "$DIR" | awk 'NR==2 {print $2}')), $N iterations each"

now() { date +%s%N; }
per_op() { # start_ns end_ns -> ms per op
    awk -v a="$1" -v b="$2" -v n="$N" 'BEGIN { printf "%.3f", (b - a) / n / 1e6 }'
}

echo '{"n": 0, "name": "bench"}' > "$DIR/j.json"
t0=$(now); for _ in $(seq "$N"); do "$JSAFE" update "$DIR/j.json" '.n += 1'; done; t1=$(now)
jsafe_write=$(per_op "$t0" "$t1")

echo '{"n": 0, "name": "bench"}' > "$DIR/p.json"
t0=$(now)
for _ in $(seq "$N"); do
    flock "$DIR/p.json.lock" sh -c 'jq ".n += 1" "$1" > "$1.tmp" && sync "$1.tmp" && mv "$1.tmp" "$1" && sync "$(dirname "$1")"' _ "$DIR/p.json"
done
t1=$(now)
peer_write=$(per_op "$t0" "$t1")

echo '{"n": 0, "name": "bench"}' > "$DIR/u.json"
t0=$(now); for _ in $(seq "$N"); do "$JSAFE" --no-sync update "$DIR/u.json" '.n += 1'; done; t1=$(now)
jsafe_nosync=$(per_op "$t0" "$t1")

t0=$(now); for _ in $(seq "$N"); do "$JSAFE" read "$DIR/j.json" .n >/dev/null; done; t1=$(now)
jsafe_read=$(per_op "$t0" "$t1")
t0=$(now); for _ in $(seq "$N"); do jq .n "$DIR/p.json" >/dev/null; done; t1=$(now)
peer_read=$(per_op "$t0" "$t1")
t0=$(now); for _ in $(seq "$N"); do /bin/true; done; t1=$(now)
floor=$(per_op "$t0" "$t1")

[ "$(jq .n "$DIR/j.json")" = "$N" ] || { echo "bench-write: jsafe count wrong" >&2; exit 1; }
[ "$(jq .n "$DIR/p.json")" = "$N" ] || { echo "bench-write: peer count wrong" >&2; exit 1; }

# A 5 MB state file: one merge of one key.
python3 - "$DIR/big.json" <<'PY'
import json, sys
json.dump({"records": [{"id": i, "name": "record %d" % i, "v": i * 1.5} for i in range(60000)], "n": 0}, open(sys.argv[1], "w"), indent=2)
PY
cp "$DIR/big.json" "$DIR/bigp.json"
M=$(( N / 10 > 5 ? N / 10 : 5 ))
t0=$(now); for i in $(seq "$M"); do "$JSAFE" merge "$DIR/big.json" "{\"n\": $i}"; done; t1=$(now)
big_jsafe=$(awk -v a="$t0" -v b="$t1" -v n="$M" 'BEGIN { printf "%.3f", (b - a) / n / 1e6 }')
t0=$(now)
for i in $(seq "$M"); do
    flock "$DIR/bigp.json.lock" sh -c 'jq --indent 2 ".n = $2" "$1" > "$1.tmp" && sync "$1.tmp" && mv "$1.tmp" "$1" && sync "$(dirname "$1")"' _ "$DIR/bigp.json" "$i"
done
t1=$(now)
big_peer=$(awk -v a="$t0" -v b="$t1" -v n="$M" 'BEGIN { printf "%.3f", (b - a) / n / 1e6 }')
size=$(stat -c %s "$DIR/big.json")

rss=""
if [ -x /usr/bin/time ]; then
    rss=$(/usr/bin/time -f %M "$JSAFE" merge "$DIR/big.json" '{"n": -1}' 2>&1 >/dev/null | tail -1)
fi

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
printf '%-44s %10s\n' "operation" "ms/op"
printf '%-44s %10s\n' "process start floor (/bin/true)" "$floor"
printf '%-44s %10s\n' "jsafe update (durable)" "$jsafe_write"
printf '%-44s %10s\n' "flock+jq+mv with syncs (peer)" "$peer_write"
printf '%-44s %10s\n' "jsafe update --no-sync" "$jsafe_nosync"
printf '%-44s %10s\n' "jsafe read FILTER" "$jsafe_read"
printf '%-44s %10s\n' "jq FILTER (peer)" "$peer_read"
printf '%-44s %10s\n' "jsafe merge, $size-byte file" "$big_jsafe"
printf '%-44s %10s\n' "flock+jq+mv, same file (peer)" "$big_peer"
echo "ratios (jsafe / peer): write $(ratio "$jsafe_write" "$peer_write"), read $(ratio "$jsafe_read" "$peer_read"), big write $(ratio "$big_jsafe" "$big_peer")"
[ -n "$rss" ] && echo "jsafe max RSS merging the $size-byte file: ${rss} KiB"
exit 0
