#!/usr/bin/env python3
"""Start-up and small-call figures against their floors, measured in one run.

Run through `scripts/bench --startup` (or at the end of a full
`scripts/bench`). For a small file almost all of a call is fixed cost, so each
call is set beside the least a program doing the same job must spend:

- `jsafe --version` beside a minimal Rust program that prints one line
  (`scripts/bench.d/floor_print.rs`, `rustc -O`);
- `jsafe read s.json .k` and `.runs` beside `jq .runs s.json` (jq 1.6 on the
  machine that wrote BENCHMARKS.md);
- a shell loop of 50 durable merges of different values into s.json beside a
  shell loop of 50 runs of `floor_rewrite` on a file of the same size (read
  it, write a temp copy, fsync, rename, fsync the directory), and beside a
  loop of `floor_promises`, which also does the least the promises add: a
  backup hard link made durable before the rename, a journal line fsynced
  before the exit, old backups removed (what no durable merge that keeps
  them can skip; the target is set against the bare rewrite).

Pairs alternate round by round (the order flips every round), so drift of a
noisy machine hits both alike; each figure is the median of its rounds and
each ratio the median over the median of its floor. A second jsafe binary
(`--base`, e.g. main's build) is measured in the same rounds.
"""
import argparse
import datetime
import json
import os
import statistics
import sys
import time

ap = argparse.ArgumentParser()
ap.add_argument("--after", required=True)
ap.add_argument("--after-rev", required=True)
ap.add_argument("--base", help="a second jsafe binary measured beside (e.g. main's build)")
ap.add_argument("--base-rev", default="base")
ap.add_argument("--jq", required=True)
ap.add_argument("--floor-print", required=True, help="scripts/bench.d/floor_print.rs, built")
ap.add_argument("--floor-rewrite", required=True, help="scripts/bench.d/floor_rewrite.rs, built")
ap.add_argument("--floor-promises", required=True, help="scripts/bench.d/floor_promises.rs, built")
ap.add_argument("--dir", required=True)
ap.add_argument("--out", required=True, help="markdown file whose start-up section is written (replaced, or added at the end)")
ap.add_argument("--log", required=True)
ap.add_argument("--rounds", type=int, default=200, help="rounds of the single calls")
ap.add_argument("--loops", type=int, default=15, help="rounds of the 50-merge loops")
args = ap.parse_args()

ENV = {k: v for k, v in os.environ.items() if not k.startswith("JSAFE_")}
LOG = open(args.log, "ab")
MERGES = 50
HEAD = "## Start-up and small calls against the floor (issue 24)"


def say(*parts):
    print(*parts, flush=True)


def run(argv):
    """Wall time of one run, stdout and stdin /dev/null, stderr to the log."""
    actions = [
        (os.POSIX_SPAWN_OPEN, 0, "/dev/null", os.O_RDONLY, 0),
        (os.POSIX_SPAWN_OPEN, 1, "/dev/null", os.O_WRONLY, 0),
        (os.POSIX_SPAWN_DUP2, LOG.fileno(), 2),
    ]
    start = time.perf_counter()
    pid = os.posix_spawnp(argv[0], [str(a) for a in argv], ENV, file_actions=actions)
    _, status, _ = os.wait4(pid, 0)
    took = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        sys.exit(f"startup: {argv} exited {code} (see {args.log})")
    return took


def interleaved(cmds, rounds):
    """Median wall of each command over `rounds` rounds, the order flipping
    every round; one unmeasured round first."""
    times = {name: [] for name, _ in cmds}
    for r in range(rounds + 1):
        order = cmds if r % 2 == 0 else cmds[::-1]
        for name, argv in order:
            took = run(argv)
            if r > 0:
                times[name].append(took)
    return {name: statistics.median(t) for name, t in times.items()}


def ms(s):
    return f"{s * 1000:.2f} ms"


d = os.path.join(args.dir, "startup")
os.makedirs(d, exist_ok=True)
doc = json.dumps({"name": "nightly", "k": "v", "runs": 0, "ok": True,
                  "last": {"at": "2024-06-01T00:00:00Z", "host": "worker-007", "took_ms": 1234},
                  "tags": ["a", "b", "c"]}, indent=2) + "\n"
s_json = os.path.join(d, "s.json")
with open(s_json, "w") as f:
    f.write(doc)

bins = [("after", args.after, args.after_rev)]
if args.base:
    bins.append(("base", args.base, args.base_rev))
label = {"after": f"jsafe (after, `{args.after_rev}`)", "base": f"jsafe (base, `{args.base_rev}`)"}
started = time.time()
load_before = os.getloadavg()[0]
rows = []

say(f"== --version, {args.rounds} rounds")
t = interleaved([("floor", [args.floor_print])] + [(k, [b, "--version"]) for k, b, _ in bins], args.rounds)
for k, _, _ in bins:
    rows.append((f"`--version`, {label[k]}", t[k], "minimal Rust program printing a line", t["floor"], 1.3))

say(f"== read, {args.rounds} rounds")
t = interleaved([("jq", [args.jq, ".runs", s_json])]
                + [(f"{k}.runs", [b, "read", s_json, ".runs"]) for k, b, _ in bins]
                + [(f"{k}.k", [b, "read", s_json, ".k"]) for k, b, _ in bins], args.rounds)
for k, _, _ in bins:
    rows.append((f"`read s.json .runs`, {label[k]}", t[f"{k}.runs"], "`jq .runs s.json`", t["jq"], 0.10))
    rows.append((f"`read s.json .k`, {label[k]}", t[f"{k}.k"], "`jq .runs s.json`", t["jq"], None))

# The loops: one shell per loop, so a loop's figure includes the shell's
# fork and exec of each call, as a script's would.
floor_file = os.path.join(d, "floor.json")
promises_file = os.path.join(d, "promises.json")
loop_cmds = []
for k, b, _ in bins:
    target = os.path.join(d, f"{k}.json")
    with open(target, "w") as f:
        f.write(doc)
    script = f'i=0; while [ $i -lt {MERGES} ]; do i=$((i+1)); "$1" merge "$2" "{{\\"runs\\": $(( $3 + i ))}}" || exit 1; done'
    loop_cmds.append((k, ["sh", "-c", script, "sh", b, target, "0"]))
for name in (floor_file, promises_file):
    with open(name, "w") as f:
        f.write(doc)
floor_script = f'i=0; while [ $i -lt {MERGES} ]; do i=$((i+1)); "$1" "$2" || exit 1; done'
say(f"== {MERGES}-merge loops, {args.loops} rounds")
# Each round merges values it has not merged before (the start offset moves).
times = {name: [] for name in ["floor", "promises"] + [k for k, _ in loop_cmds]}
cmds = [("floor", ["sh", "-c", floor_script, "sh", args.floor_rewrite, floor_file]),
        ("promises", ["sh", "-c", floor_script, "sh", args.floor_promises, promises_file])] + loop_cmds
for r in range(args.loops + 1):
    order = cmds if r % 2 == 0 else cmds[::-1]
    for name, argv in order:
        argv = list(argv)
        if name not in ("floor", "promises"):
            argv[-1] = str(r * MERGES)
        took = run(argv)
        if r > 0:
            times[name].append(took)
loops = {name: statistics.median(t) for name, t in times.items()}
rows.append((f"{MERGES} × `floor_promises` (the bare rewrite + a durable backup link and journal line)",
             loops["promises"], f"{MERGES} × `floor_rewrite` of the same size", loops["floor"], None))
for k, _, _ in bins:
    rows.append((f"{MERGES} × `merge s.json '{{\"runs\": N}}'` (durable), {label[k]}", loops[k],
                 f"{MERGES} × `floor_rewrite` of the same size", loops["floor"], 1.3))
for k, _, _ in bins:
    rows.append((f"{MERGES} × `merge s.json '{{\"runs\": N}}'` (durable), {label[k]}", loops[k],
                 f"{MERGES} × `floor_promises`", loops["promises"], None))

out = [
    HEAD,
    "",
    "Written by `scripts/bench --startup` (`scripts/bench.d/startup.py`). Each call beside its floor: a minimal "
    "Rust program that prints a line (`floor_print.rs`, `rustc -O`), jq, and a shell loop of bare durable "
    "rewrites of a file of the same size (`floor_rewrite.rs`: read, temp file, fsync, rename, directory fsync), "
    "and a loop of the same rewrites plus what the promises add at least (`floor_promises.rs`: a backup hard "
    "link fsynced before the rename, a journal line fsynced before the exit, old backups removed). "
    f"Pairs alternate round by round; medians of {args.rounds} rounds (single calls) and {args.loops} rounds "
    f"(the {MERGES}-call loops). s.json is {len(doc)} bytes. Decisions behind the figures: docs/decisions/startup.md.",
    f"Builds: after = `{args.after_rev}`" + (f", base = `{args.base_rev}`" if args.base else "")
    + f"; run {datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')}, "
    f"load average {load_before:.1f} at the start and {os.getloadavg()[0]:.1f} at the end "
    "(on a shared machine the loops, which wait on fsyncs, are the noisiest rows).",
    "",
    "| call | median wall | floor | floor's median | ratio | target |",
    "|---|---|---|---|---|---|",
]
for name, took, floor, floor_took, goal in rows:
    ratio = took / floor_took
    target = "" if goal is None else (f"≤ {goal:.2f}× " + ("met" if ratio <= goal else "**missed**"))
    out.append(f"| {name} | {ms(took)} | {floor} | {ms(floor_took)} | {ratio:.3f}× | {target} |")
out.append("")

# The section replaces its earlier version in the file, or is added at its end.
text = "\n".join(out)
old = open(args.out).read() if os.path.exists(args.out) else ""
at = old.find(HEAD)
if at < 0:
    new = (old.rstrip("\n") + "\n\n" if old else "") + text
else:
    nxt = old.find("\n## ", at + len(HEAD))
    new = old[:at] + text + ("\n" + old[nxt + 1:] if nxt >= 0 else "")
with open(args.out, "w") as f:
    f.write(new)
say(text)
say(f"wrote {args.out} in {(time.time() - started) / 60:.1f} minutes")
