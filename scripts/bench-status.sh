#!/usr/bin/env bash
# Benchmark of `jsafe status` on a tree of many managed files (a measurement,
# not a test: it asserts nothing about time).
#
# Builds the release binary, makes a tree of N managed files (default 5000: 50
# directories of 100) with their .jsafe state written directly — a lock file
# with a holder record of a dead process, two backups, a journal line — then
# times `jsafe status TREE` beside a peer that must also open and read every
# data file once: `find TREE -name '*.json' -type f | xargs cat > /dev/null`
# (data files and backups: as many files as status opens and reads).
# Uses hyperfine when installed, else bash's `time` (best of RUNS).
#
# Usage: scripts/bench-status.sh [N] [RUNS]
# Environment: CARGO_TARGET_DIR (default ./target), KEEP_TREE=1 keeps the tree.
set -euo pipefail

files=${1:-5000}
runs=${2:-5}
per_dir=100
root=$(cd "$(dirname "$0")/.." && pwd)
target=${CARGO_TARGET_DIR:-$root/target}

(cd "$root" && cargo build --release --quiet)
jsafe=$target/release/jsafe

tree=$(mktemp -d "${TMPDIR:-/tmp}/jsafe-bench.XXXXXX")
if [ "${KEEP_TREE:-}" != 1 ]; then
    trap 'rm -rf "$tree"' EXIT
fi

# A PID past the kernel's maximum: the recorded holders are certainly dead.
dead_pid=$(($(cat /proc/sys/kernel/pid_max 2>/dev/null || echo 4194304) + 1))
host=$(uname -n)
echo "making $files managed files in $tree"
dirs=$(((files + per_dir - 1) / per_dir))
made=0
for ((d = 0; d < dirs; d++)); do
    dir=$tree/d$((d / 10))/d$d
    mkdir -p "$dir/.jsafe/locks" "$dir/.jsafe/backups"
    backup_dirs=()
    for ((i = 0; i < per_dir && made < files; i++)); do
        backup_dirs+=("$dir/.jsafe/backups/f$i.json")
        made=$((made + 1))
    done
    mkdir "${backup_dirs[@]}"
    journal=""
    for ((i = 0; i < ${#backup_dirs[@]}; i++)); do
        name=f$i.json
        printf '{\n  "id": %d,\n  "name": "file %d",\n  "tags": ["a", "b"],\n  "counter": %d\n}\n' \
            "$i" "$i" "$((i * 7))" >"$dir/$name"
        printf '{"pid":%d,"host":"%s","start_time":1700000000,"command":"jsafe update %s .counter+=1","acquired":1700000000.5,"acquired_at":"2023-11-14T22:13:20.500Z"}\n' \
            "$dead_pid" "$host" "$name" >"$dir/.jsafe/locks/$name.lock"
        printf '{"id": %d, "counter": 1}\n' "$i" >"$dir/.jsafe/backups/$name/20231114T221320.000000000Z.json"
        printf '{"id": %d, "counter": 2}\n' "$i" >"$dir/.jsafe/backups/$name/20231114T221321.000000000Z.json"
        journal+=$(printf '{"time":"2023-11-14T22:13:21.000Z","op":"update","file":"%s","file_name":"%s","pid":%d,"uid":0,"user":"bench","host":"%s","bytes_before":30,"bytes_after":70,"sha256_before":null,"sha256_after":null,"backup":null,"quarantined":null,"recovered_from":null,"duration_ms":1.0,"result":"ok"}' \
            "$name" "$name" "$dead_pid" "$host")$'\n'
    done
    printf '%s' "$journal" >"$dir/.jsafe/journal.jsonl"
done

# One run first: it must see every file, healthy (and it warms the page cache).
summary=$("$jsafe" status "$tree" | tail -n 1) || true
echo "jsafe status: $summary"
case $summary in
"$files files: $files ok"*) ;;
*)
    echo "unexpected status summary" >&2
    exit 1
    ;;
esac

status_cmd="$jsafe status $tree > /dev/null"
peer_cmd="find $tree -name '*.json' -type f -print0 | xargs -0 cat > /dev/null"

if command -v hyperfine >/dev/null 2>&1; then
    export_json=$tree.hyperfine.json
    hyperfine --style basic --warmup 1 --runs "$runs" --export-json "$export_json" \
        -n "jsafe status" "$status_cmd" -n "find | xargs cat" "$peer_cmd"
    status_s=$("$jsafe" read "$export_json" '.results[0].median')
    peer_s=$("$jsafe" read "$export_json" '.results[1].median')
    rm -f "$export_json"
    label="median of $runs"
else
    best() {
        local cmd=$1 best_s="" t
        for ((r = 0; r < runs; r++)); do
            t=$({ TIMEFORMAT=%R; time bash -c "$cmd"; } 2>&1)
            if [ -z "$best_s" ] || awk -v a="$t" -v b="$best_s" 'BEGIN{exit !(a < b)}'; then
                best_s=$t
            fi
        done
        echo "$best_s"
    }
    bash -c "$peer_cmd" # warm-up
    status_s=$(best "$status_cmd")
    peer_s=$(best "$peer_cmd")
    label="best of $runs, bash time"
fi

awk -v n="$files" -v s="$status_s" -v p="$peer_s" -v label="$label" 'BEGIN {
    printf "%d managed files (%s):\n", n, label
    printf "  jsafe status            %.3f s\n", s
    printf "  find | xargs cat        %.3f s\n", p
    if (p > 0) printf "  ratio status / peer    %.1fx\n", s / p
}'
