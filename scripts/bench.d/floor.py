#!/usr/bin/env python3
"""Big-file figures as multiples of the floor, measured in the same run.

Run through `scripts/bench --floor` (or at the end of a full `scripts/bench`).
The floor of a change is `floor_rewrite F`: one process that reads the file,
writes a temp copy, fsyncs it, renames it over the file and fsyncs the
directory. The floor of a read is `cat F > /dev/null`; jq is the peer. Every
round runs every command once, in the same order, so drift of a noisy machine
hits all alike; each figure is the median of the rounds, each ratio the
median of a command over the median of its floor.
"""
import argparse
import datetime
import json
import os
import shutil
import statistics
import subprocess
import sys
import time

MIB = 1 << 20

ap = argparse.ArgumentParser()
ap.add_argument("--after", required=True)
ap.add_argument("--after-rev", required=True)
ap.add_argument("--base", help="a second jsafe binary measured beside (e.g. main's build)")
ap.add_argument("--base-rev", default="base")
ap.add_argument("--jq", required=True)
ap.add_argument("--floor-rewrite", required=True, help="scripts/bench.d/floor_rewrite.rs, built")
ap.add_argument("--dir", required=True)
ap.add_argument("--out", required=True, help="markdown file whose floor section is written (replaced, or added at the end)")
ap.add_argument("--log", required=True)
ap.add_argument("--rounds", type=int, default=5)
ap.add_argument("--sizes", default="19MB", help="comma-separated: 19MB, 200MB")
ap.add_argument("--small", type=int, default=100, help="durable 1 KB merges per binary (0: none)")
args = ap.parse_args()

ENV = {k: v for k, v in os.environ.items() if not k.startswith("JSAFE_")}
LOG = open(args.log, "ab")
EVENTS = {"19MB": 91432, "200MB": 960000}
EVENT = '{"id": -1, "time": "2024-06-01T00:00:00Z", "type": "bench.appended", "host": "bench", "ok": true}'


def say(*parts):
    print(*parts, flush=True)


def run(argv, stdout="/dev/null"):
    actions = [
        (os.POSIX_SPAWN_OPEN, 0, "/dev/null", os.O_RDONLY, 0),
        (os.POSIX_SPAWN_OPEN, 1, stdout, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644),
        (os.POSIX_SPAWN_DUP2, LOG.fileno(), 2),
    ]
    start = time.perf_counter()
    pid = os.posix_spawnp(argv[0], [str(a) for a in argv], ENV, file_actions=actions)
    _, status, usage = os.wait4(pid, 0)
    took = time.perf_counter() - start
    return took, usage.ru_maxrss * 1024, os.waitstatus_to_exitcode(status)


def rss_of(argv):
    """Peak RSS of one run, from /usr/bin/time: wait4's figure for a child
    started with posix_spawn (a vfork) starts from this script's own."""
    done = subprocess.run(["/usr/bin/time", "-f", "%M", *map(str, argv)], stdin=subprocess.DEVNULL,
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=ENV, text=True)
    try:
        return int(done.stderr.strip().splitlines()[-1]) * 1024
    except (ValueError, IndexError):
        return float("nan")


def ms(s):
    return f"{s * 1000:.1f} ms" if s < 1 else f"{s:.3f} s"


def write_event_log(path, events):
    """The event log of scripts/bench.d/bench.py, laid out as jq does."""
    with open(path, "w") as f:
        f.write('{\n  "meta": {\n    "name": "event log",\n    "version": 1,\n    "count": 0\n  },\n  "events": [\n')
        for i in range(events):
            sep = ",\n" if i + 1 < events else "\n"
            f.write(
                "    {\n"
                f'      "id": {i},\n'
                f'      "time": "2024-05-{1 + i % 28:02d}T{i % 24:02d}:{i % 60:02d}:{(i * 7) % 60:02d}Z",\n'
                f'      "type": "job.{("started", "finished", "failed")[i % 3]}",\n'
                f'      "host": "worker-{i % 17:03d}",\n'
                f'      "duration_ms": {(i * 37) % 10000}.{i % 10},\n'
                '      "tags": [\n'
                '        "nightly-b",\n'
                f'        "shard-{i % 8}"\n'
                "      ]\n"
                "    }" + sep
            )
        f.write("  ]\n}\n")


# (name, kind, goal ratio, goal RSS / file, argv maker); kind: "write" rows are
# multiples of the rewrite floor, "read" rows of `jq -c .`.
def commands(binary, path, counter):
    def patch():
        counter[0] += 1
        return json.dumps({"meta": {"x": counter[0]}})

    def patch_n():
        counter[0] += 1
        return counter[0]

    return [
        ("merge F '{\"meta\":{\"x\":N}}'", "write", 2.0, 2.0, lambda: [binary, "merge", path, patch()]),
        ("update F '.events += [$e]'", "write", 3.0, 2.5, lambda: [binary, "update", path, ".events += [$e]", "--argjson", "e", EVENT]),
        # A new count each time: with the same one, every run after the first
        # changes nothing and writes nothing.
        ("update F '.meta.count = N'", "write", 2.5, 2.5, lambda: [binary, "update", path, f".meta.count = {patch_n()}"]),
        ("read F", "read", 0.04, None, lambda: [binary, "read", path]),
        ("read F '.events | length'", "read", 0.25, 3.0, lambda: [binary, "read", path, ".events | length"]),
        # A general filter (no goal in the issue): what the item-by-item read
        # of an array keeps in memory, beside jq's row of the same filter.
        ("read F '.events | map(.id) | length'", "read", None, None, lambda: [binary, "read", path, ".events | map(.id) | length"]),
    ]


def big(label, events, rounds):
    d = os.path.join(args.dir, "floor", label)
    os.makedirs(d, exist_ok=True)
    bins = [("after", args.after, args.after_rev)]
    if args.base:
        bins.append(("base", args.base, args.base_rev))
    paths = {k: os.path.join(d, f"{k}.json") for k, _, _ in bins}
    floor_path = os.path.join(d, "floor.json")
    write_event_log(floor_path, events)
    for p in paths.values():
        shutil.copyfile(floor_path, p)
    size = os.path.getsize(floor_path)
    say(f"== floor table, {label}: {size / MIB:.1f} MiB, {rounds} rounds")
    rows = [
        ("floor: read + temp + fsync + rename + dir fsync", "floor", lambda: [args.floor_rewrite, floor_path]),
        ("cat F > /dev/null", "cat", lambda: ["cat", floor_path]),
        ("jq -c . F > /dev/null (jq 1.6)", "jq", lambda: [args.jq, "-c", ".", floor_path]),
        ("jq '.events | length' F", "jql", lambda: [args.jq, ".events | length", floor_path]),
        ("jq '.events | map(.id) | length' F", "jqm", lambda: [args.jq, ".events | map(.id) | length", floor_path]),
    ]
    meta = {}
    counter = [0]
    for k, binary, rev in bins:
        for name, kind, goal, rss_goal, make in commands(binary, paths[k], counter):
            key = f"{name} ({k})"
            rows.append((key, key, make))
            meta[key] = (name, k, kind, goal, rss_goal)
    samples = {key: [] for _, key, _ in rows}
    for _ in range(rounds):
        for _, key, make in rows:
            samples[key].append(run(make()))
    # Peak RSS: one more run of each, through /usr/bin/time.
    rss = {key: rss_of(make()) for _, key, make in rows}
    med = {
        key: dict(
            time=statistics.median(t for t, _, _ in v),
            rss=rss[key],
            ok=all(c == 0 for _, _, c in v),
        )
        for key, v in samples.items()
    }
    floor, jq = med["floor"]["time"], med["jq"]["time"]
    lines = [
        f"### {label}: {size / MIB:.1f} MiB event log, {events} events, 2-space indent; median of {rounds} interleaved rounds",
        "",
        "| command | wall | × floor | × jq -c . | peak RSS (× file) | goal | exit 0 |",
        "|---|---|---|---|---|---|---|",
    ]
    for title, key, _ in rows:
        m = med[key]
        rss = f"{m['rss'] / MIB:.0f} MiB ({m['rss'] / size:.2f}×)"
        goal = ""
        if key in meta and meta[key][3] is not None:
            name, k, kind, g, rss_goal = meta[key]
            ratio = m["time"] / (floor if kind == "write" else jq)
            ok = ratio <= g and (rss_goal is None or m["rss"] <= rss_goal * size) and m["ok"]
            what = "floor" if kind == "write" else "jq"
            goal = f"≤ {g}× {what}" + (f", RSS ≤ {rss_goal}× file" if rss_goal else "") + (" **met**" if ok else " **missed**")
        lines.append(
            f"| {title.replace('|', chr(92) + '|')} | {ms(m['time'])} | {m['time'] / floor:.2f}× | {m['time'] / jq:.3f}× | {rss} | {goal} | {'yes' if m['ok'] else '**no**'} |"
        )
    lines.append("")
    return lines


def small(n):
    """Durable merges into a 1 KB file, the binaries alternating op by op."""
    bins = [("after", args.after, args.after_rev)] + ([("base", args.base, args.base_rev)] if args.base else [])
    d = os.path.join(args.dir, "floor", "small")
    os.makedirs(d, exist_ok=True)
    doc = json.dumps({"name": "bench", "n": 0, "items": [{"id": i, "label": f"item number {i}", "ok": True} for i in range(14)]}, indent=2) + "\n"
    times = {k: [] for k, _, _ in bins}
    for k, _, _ in bins:
        with open(os.path.join(d, f"{k}.json"), "w") as f:
            f.write(doc)
    say(f"== small durable merge, {n} per binary")
    for i in range(n):
        order = bins if i % 2 == 0 else bins[::-1]
        for k, binary, _ in order:
            took, _, code = run([binary, "merge", os.path.join(d, f"{k}.json"), json.dumps({"n": i})])
            if code != 0:
                sys.exit(f"floor: small merge exited {code} (see {args.log})")
            times[k].append(took)
    lines = [f"### Small durable merge: {n} merges of a top-level key into a {len(doc)}-byte file per binary, alternating; median", ""]
    lines += ["| binary | median |", "|---|---|"]
    for k, _, rev in bins:
        lines.append(f"| jsafe merge ({k}, `{rev}`) | {statistics.median(times[k]) * 1000:.2f} ms |")
    if args.base:
        lines += ["", f"after / base: {statistics.median(times['after']) / statistics.median(times['base']):.3f}×."]
    return lines + [""]


started = time.time()
out = [
    "## Big files against the floor (issue 21)",
    "",
    "Written by `scripts/bench` (`scripts/bench.d/floor.py`). The floor of a change is "
    "`floor_rewrite F` (`scripts/bench.d/floor_rewrite.rs`): one process that reads the file, writes a temp copy, "
    "fsyncs it, renames it over the file and fsyncs the directory, i.e. a bare durable rewrite of the same bytes. "
    "`cat F` is the read floor and jq the peer. Changes are measured as multiples of the floor, reads of `jq -c .`, "
    "all in the same interleaved rounds. Peak RSS from `/usr/bin/time` (one more run of each).",
    f"Builds: after = `{args.after_rev}`" + (f", base = `{args.base_rev}`" if args.base else "") + f"; run {datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')}.",
    "",
]
for label in args.sizes.split(","):
    out += big(label, EVENTS[label], args.rounds if label == "19MB" else max(1, min(args.rounds, 5)))
if args.small:
    out += small(args.small)
# The section replaces its earlier version in the file, or is added at its end.
text = "\n".join(out)
old = open(args.out).read() if os.path.exists(args.out) else ""
head = "## Big files against the floor"
at = old.find(head)
if at < 0:
    new = (old.rstrip("\n") + "\n\n" if old else "") + text
else:
    nxt = old.find("\n## ", at + len(head))
    new = old[:at] + text + ("\n" + old[nxt + 1:] if nxt >= 0 else "")
with open(args.out, "w") as f:
    f.write(new)
say(f"wrote {args.out} in {(time.time() - started) / 60:.1f} minutes")
