#!/usr/bin/env bash
# Streamed updates against their peer, measured in the same run:
#   jsafe merge F --stream < N patches     (one process; waiting patches share one durable write)
#   jsafe merge F PATCH, one call per patch (the same patches, one durable write each)
# The peer runs M of the patches (100,000 separate durable calls take many
# minutes); its time per patch is multiplied up to N for the ratio. The
# final content of M patches applied both ways must be byte-identical.
# Also: update --stream ($in) and append - (JSON Lines) over the same N, and
# one append to a 5.9 MB JSON Lines log against the same append to a JSON
# document of the same events (the whole file rewritten).
# Run from the repository root:  scripts/bench-stream.sh [N] [M]
set -euo pipefail
N=${1:-100000}
M=${2:-1000}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cargo build --release --quiet --manifest-path "$ROOT/Cargo.toml"
JSAFE="$ROOT/target/release/jsafe"
DIR=$(mktemp -d "${BENCH_DIR:-${TMPDIR:-/tmp}}/jsafe-bench-stream.XXXXXX")
trap 'rm -rf "$DIR"' EXIT
echo "directory: $DIR ($(df -T "$DIR" | awk 'NR==2 {print $2}')), $N streamed, $M separate"

now() { date +%s%N; }
ms() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", (b - a) / 1e6 }'; }

# Progress-style patches: a counter, a step name, and one of 50 keys.
awk -v n="$N" 'BEGIN { for (i = 1; i <= n; i++) printf "{\"progress\": %d, \"step\": \"s%d\", \"k%d\": %d}\n", i, i % 10, i % 50, i }' > "$DIR/patches.jsonl"
head -n "$M" "$DIR/patches.jsonl" > "$DIR/first.jsonl"
seed='{"job": "bench", "progress": 0}'

# Separate calls (the peer).
echo "$seed" > "$DIR/separate.json"
t0=$(now)
while IFS= read -r p; do "$JSAFE" merge "$DIR/separate.json" "$p"; done < "$DIR/first.jsonl"
t1=$(now)
sep_ms=$(ms "$t0" "$t1")
sep_per=$(awk -v t="$sep_ms" -v m="$M" 'BEGIN { printf "%.3f", t / m }')

# The same M patches streamed: identical content.
echo "$seed" > "$DIR/stream-m.json"
"$JSAFE" merge "$DIR/stream-m.json" --stream < "$DIR/first.jsonl"
cmp -s "$DIR/separate.json" "$DIR/stream-m.json" || { echo "bench-stream: streamed content differs from separate calls" >&2; exit 1; }

# N patches streamed.
echo "$seed" > "$DIR/stream.json"
t0=$(now)
"$JSAFE" -v merge "$DIR/stream.json" --stream < "$DIR/patches.jsonl" 2> "$DIR/merge.err"
t1=$(now)
stream_ms=$(ms "$t0" "$t1")
writes=$(grep -o 'in [0-9]* writes' "$DIR/merge.err" | awk '{print $2}')
[ "$("$JSAFE" read "$DIR/stream.json" .progress)" = "$N" ] || { echo "bench-stream: streamed result wrong" >&2; exit 1; }

# update --stream with $in, and append - to a JSON Lines log.
echo "$seed" > "$DIR/update.json"
t0=$(now)
"$JSAFE" update "$DIR/update.json" '.progress = $in.progress | .step = $in.step' --stream < "$DIR/patches.jsonl"
t1=$(now)
update_ms=$(ms "$t0" "$t1")
t0=$(now)
"$JSAFE" append "$DIR/log.jsonl" - < "$DIR/patches.jsonl"
t1=$(now)
append_ms=$(ms "$t0" "$t1")
[ "$(wc -l < "$DIR/log.jsonl")" = "$N" ] || { echo "bench-stream: append lost lines" >&2; exit 1; }

# One event appended to a 5.9 MB log of 2,151 events (the first incident's
# size): JSON Lines (O(1)) against the same events as an array in a JSON
# document (append --to: the whole file rewritten), K appends each.
K=50
python3 - "$DIR/log6.jsonl" "$DIR/log6.json" <<'PY'
import json, sys
events = [{"id": i, "event": "step", "data": "d" * 2700} for i in range(2151)]
with open(sys.argv[1], "w") as f:
    for e in events:
        f.write(json.dumps(e, separators=(",", ":")) + "\n")
json.dump({"events": events}, open(sys.argv[2], "w"), indent=2)
PY
t0=$(now); for i in $(seq "$K"); do "$JSAFE" append "$DIR/log6.jsonl" "{\"id\": $i, \"event\": \"new\"}"; done; t1=$(now)
lines_per=$(awk -v a="$t0" -v b="$t1" -v k="$K" 'BEGIN { printf "%.2f", (b - a) / k / 1e6 }')
t0=$(now); for i in $(seq "$K"); do "$JSAFE" append "$DIR/log6.json" --to .events "{\"id\": $i, \"event\": \"new\"}"; done; t1=$(now)
doc_per=$(awk -v a="$t0" -v b="$t1" -v k="$K" 'BEGIN { printf "%.2f", (b - a) / k / 1e6 }')
rss_lines="-"; rss_doc="-"
if [ -x /usr/bin/time ]; then
    rss_lines=$(/usr/bin/time -f %M "$JSAFE" append "$DIR/log6.jsonl" '{"rss": 1}' 2>&1 >/dev/null | tail -1)
    rss_doc=$(/usr/bin/time -f %M "$JSAFE" append "$DIR/log6.json" --to .events '{"rss": 1}' 2>&1 >/dev/null | tail -1)
fi

peer_total=$(awk -v p="$sep_per" -v n="$N" 'BEGIN { printf "%.0f", p * n }')
printf '%-52s %12s\n' "operation" "ms"
printf '%-52s %12s\n' "separate jsafe merge calls ($M), per patch" "$sep_per"
printf '%-52s %12s\n' "  … for $N patches (per patch × $N)" "$peer_total"
printf '%-52s %12s\n' "jsafe merge --stream, $N patches ($writes writes)" "$stream_ms"
printf '%-52s %12s\n' "jsafe update --stream, $N values" "$update_ms"
printf '%-52s %12s\n' "jsafe append - (JSON Lines), $N values" "$append_ms"
printf '%-52s %12s\n' "append to a 5.9 MB JSON Lines log, per event" "$lines_per"
printf '%-52s %12s\n' "append --to .events of a 5.9 MB document, per event" "$doc_per"
printf '%-52s %12s\n' "peak RSS KiB: JSON Lines / document" "$rss_lines / $rss_doc"
awk -v p="$peer_total" -v s="$stream_ms" 'BEGIN { printf "throughput ratio, merge --stream vs separate calls: %.0fx\n", p / s }'
echo "content of $M patches: streamed and separate are identical"
