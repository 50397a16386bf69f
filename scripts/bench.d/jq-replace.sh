#!/bin/sh
# The flock + jq + mv peer, as careful hand-made wrappers do it:
#   jq-replace.sh FILE FILTER sync|nosync [jq options...]
# Takes an exclusive flock on FILE.lock, runs jq into FILE.tmp, and renames it
# over FILE; with `sync`, fsyncs the temp file before the rename and the
# directory after it (coreutils `sync FILE`), without it nothing is durable.
f=$1 filter=$2 mode=$3
shift 3
exec 9>>"$f.lock"
flock 9 || exit 1
jq "$@" "$filter" "$f" > "$f.tmp" || exit 1
if [ "$mode" = sync ]; then sync "$f.tmp" || exit 1; fi
mv "$f.tmp" "$f" || exit 1
if [ "$mode" = sync ]; then sync "$(dirname "$f")" || exit 1; fi
