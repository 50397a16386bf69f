#!/usr/bin/env python3
"""jsafe against its peers, every row measured in the same run; writes BENCHMARKS.md.

Run through scripts/bench, which builds the binaries and installs the peers.
Each process is started with posix_spawn and reaped with wait4, which gives its
wall time and its peak resident set (ru_maxrss: the number /usr/bin/time -v
prints as "Maximum resident set size", children included).
"""
import argparse
import datetime
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import threading
import time

MIB = 1 << 20

ap = argparse.ArgumentParser()
ap.add_argument("--after", required=True)
ap.add_argument("--after-rev", required=True)
ap.add_argument("--before", required=True)
ap.add_argument("--before-rev", required=True)
ap.add_argument("--jq", required=True)
ap.add_argument("--jaq", required=True)
ap.add_argument("--floor-start", required=True)
ap.add_argument("--floor-replace", required=True)
ap.add_argument("--json-core", required=True, help="scripts/bench.d/json_core.rs, built")
ap.add_argument("--log", required=True)
ap.add_argument("--scripts", required=True, help="scripts/bench.d")
ap.add_argument("--dir", required=True, help="scratch directory (same filesystem as a user's data)")
ap.add_argument("--out", required=True)
ap.add_argument("--quick", action="store_true")
ap.add_argument("--command", default="scripts/bench")
ap.add_argument("--only", choices=["small"], help="only the before/after small durable merge (scripts/bench --small)")
args = ap.parse_args()

QUICK = args.quick
ENV = {k: v for k, v in os.environ.items() if not k.startswith("JSAFE_")}
os.makedirs(args.dir, exist_ok=True)
LOG = open(args.log, "ab")
JQ_REPLACE = os.path.join(args.scripts, "jq-replace.sh")
PYWRAP = os.path.join(args.scripts, "pywrap.py")
AFTER, BEFORE = args.after, args.before


def say(*parts):
    print(*parts, flush=True)


def run(argv, stdout=None):
    """Runs argv once: (seconds, peak RSS bytes, exit code)."""
    actions = [
        (os.POSIX_SPAWN_OPEN, 0, "/dev/null", os.O_RDONLY, 0),
        (os.POSIX_SPAWN_OPEN, 1, stdout or "/dev/null", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644),
        (os.POSIX_SPAWN_DUP2, LOG.fileno(), 2),
    ]
    start = time.perf_counter()
    pid = os.posix_spawnp(argv[0], [str(a) for a in argv], ENV, file_actions=actions)
    _, status, usage = os.wait4(pid, 0)
    took = time.perf_counter() - start
    return took, usage.ru_maxrss * 1024, os.waitstatus_to_exitcode(status)


def must(argv, stdout=None):
    took, rss, code = run(argv, stdout)
    if code != 0:
        sys.exit(f"bench: {' '.join(map(str, argv))[:300]} exited {code} (see {args.log})")
    return took, rss


def pct(values, p):
    values = sorted(values)
    if not values:
        return float("nan")
    k = min(len(values) - 1, max(0, int(round(p / 100 * (len(values) - 1)))))
    return values[k]


def ms(s):
    return f"{s * 1000:.2f} ms" if s < 1 else f"{s:.3f} s"


def mib(b):
    return f"{b / MIB:.0f} MiB"


def met(ok):
    return "**met**" if ok else "**missed**"


def jq_peer(file, jq_filter, mode, *jq_args):
    return [JQ_REPLACE, file, jq_filter, mode, *jq_args]


results = {}  # for the targets table
sections = []  # markdown parts


def section(title, lines):
    sections.append(f"## {title}\n\n" + "\n".join(lines) + "\n")


def table(header, rows):
    out = ["| " + " | ".join(h.replace("|", "\\|") for h in header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(str(c).replace("|", "\\|") for c in r) + " |" for r in rows]
    return out


# ---------------------------------------------------------------- small file
def small_doc():
    return json.dumps(
        {"name": "bench", "n": 0, "items": [{"id": i, "label": f"item number {i}", "ok": True} for i in range(14)]},
        indent=2,
    ) + "\n"


def sequential(name, make_argv, n, setup=None):
    path = os.path.join(args.dir, "small", name.replace(" ", "_").replace("/", "_") + ".json")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(setup() if setup else small_doc())
    times = []
    for i in range(n):
        took, _ = must(make_argv(path, i + 1))
        times.append(took)
    return times


def small_merges():
    n = 60 if QUICK else 300
    say(f"== sequential merges on a 1 KB file ({n} each)")
    patch = lambda i: json.dumps({"n": i})
    rows = {
        "jsafe merge (after)": lambda f, i: [AFTER, "merge", f, patch(i)],
        "jsafe merge (before)": lambda f, i: [BEFORE, "merge", f, patch(i)],
        "flock + jq + mv, with syncs": lambda f, i: jq_peer(f, ". * $p", "sync", "--argjson", "p", patch(i)),
        "flock + jq + mv, no sync (not durable)": lambda f, i: jq_peer(f, ". * $p", "nosync", "--argjson", "p", patch(i)),
        "Python wrapper (one python3 per op)": lambda f, i: ["python3", PYWRAP, "merge", f, patch(i)],
        "jaq --in-place (no lock, no fsync)": lambda f, i: [args.jaq, "--in-place", ". * $p", "--argjson", "p", patch(i), f],
        "floor: minimal Rust binary start": lambda f, i: [args.floor_start],
        "floor: write+fsync+rename+fsync(dir)": lambda f, i: [args.floor_replace, f, small_doc()],
    }
    # Interleaved in blocks so that drift of a noisy machine hits all alike.
    times = {k: [] for k in rows}
    block = 20
    for start in range(0, n, block):
        for name, make in rows.items():
            times[name] += sequential(name, lambda f, i, make=make: make(f, start + i), min(block, n - start))
    med = {k: statistics.median(v) for k, v in times.items()}
    floor = med["floor: minimal Rust binary start"] + med["floor: write+fsync+rename+fsync(dir)"]
    peer = med["flock + jq + mv, with syncs"]
    lines = [f"{n} merges of a top-level key into a {len(small_doc())}-byte file, one process per merge, run one after the other; median of one operation.", ""]
    lines += table(
        ["command", "median per op", "ops/s", "vs flock+jq+mv with syncs"],
        [[k, ms(v), f"{1 / v:.0f}", f"{v / peer:.2f}×"] for k, v in med.items()],
    )
    own = med["jsafe merge (after)"] - floor
    own_before = med["jsafe merge (before)"] - floor
    lines += ["", f"jsafe's own work per call (median minus both floors): after {own * 1000:.2f} ms, before {own_before * 1000:.2f} ms."]
    results["small"] = dict(after=med["jsafe merge (after)"], before=med["jsafe merge (before)"], floor=floor, own=own, own_before=own_before)
    section("Sequential durable merges, 1 KB file", lines)


# ---------------------------------------------------------------- contention
def read_n(path):
    with open(path) as f:
        return json.load(f).get("n")


def contended(name, argv_for, workers, per_worker):
    path = os.path.join(args.dir, "contend", name.replace(" ", "_").replace("/", "_") + ".json")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write('{\n  "n": 0,\n  "name": "counter"\n}\n')
    argv = argv_for(path)
    times = []
    failures = [0]
    lock = threading.Lock()

    def worker():
        mine = []
        for _ in range(per_worker):
            took, _, code = run(argv)
            mine.append(took)
            if code != 0:
                with lock:
                    failures[0] += 1
        with lock:
            times.extend(mine)

    start = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - start
    total = workers * per_worker
    try:
        final = read_n(path)
    except (ValueError, OSError):
        final = None
    lost = total - failures[0] - (final if isinstance(final, int) else 0)
    return dict(rate=total / wall, lost=lost, failures=failures[0], p50=pct(times, 50), p99=pct(times, 99), final=final)


def contention():
    workers, per = (8, 40) if QUICK else (8, 200)
    say(f"== {workers} x {per} contending updates '.n += 1'")
    rows = {
        "jsafe update (after)": lambda f: [AFTER, "update", f, ".n += 1"],
        "jsafe update (before)": lambda f: [BEFORE, "update", f, ".n += 1"],
        "flock + jq + mv, with syncs": lambda f: jq_peer(f, ".n += 1", "sync"),
        "Python wrapper": lambda f: ["python3", PYWRAP, "incr", f],
        "jaq --in-place (no lock)": lambda f: [args.jaq, "--in-place", ".n += 1", f],
    }
    seq_n = 60 if QUICK else 200
    seq = {}
    for label, binary in (("after", AFTER), ("before", BEFORE)):
        t = sequential(f"seq-update-{label}", lambda f, i, b=binary: [b, "update", f, ".n += 1"], seq_n)
        seq[label] = seq_n / sum(t)
    out = {k: contended(k, v, workers, per) for k, v in rows.items()}
    lines = [f"{workers} writers at once, each running {per} `update '.n += 1'` (one process per operation) on the same file; sequential rate: {seq_n} updates one after the other in the same run.", ""]
    lines += table(
        ["command", "ops/s", "lost updates", "failed", "p50 of one op", "p99 of one op", "p99/p50"],
        [[k, f"{v['rate']:.0f}", v["lost"], v["failures"], ms(v["p50"]), ms(v["p99"]), f"{v['p99'] / v['p50']:.1f}"] for k, v in out.items()],
    )
    lines += ["", f"jsafe sequential `update`: after {seq['after']:.0f}/s, before {seq['before']:.0f}/s."]
    a = out["jsafe update (after)"]
    results["contention"] = dict(after=a, before=out["jsafe update (before)"], seq=seq, peer=out["flock + jq + mv, with syncs"])
    section("Contending writers", lines)


# ---------------------------------------------------------------- reads under writes
def reads_under_writes():
    n = 200 if QUICK else 1000
    say(f"== {n} reads while a writer loops")
    lines = [f"{n} reads, one after the other, while another thread rewrites the file in a loop; a read that fails or prints something other than the counter counts as failed.", ""]
    rows = []
    out = {}
    for name, reader, writer in (
        ("jsafe read F .n (after)", lambda f: [AFTER, "read", f, ".n"], lambda f: [AFTER, "update", f, ".n += 1"]),
        ("jsafe read F .n (before)", lambda f: [BEFORE, "read", f, ".n"], lambda f: [BEFORE, "update", f, ".n += 1"]),
        ("jq .n F (writer: flock + jq + mv, with syncs)", lambda f: [args.jq, ".n", f], lambda f: jq_peer(f, ".n += 1", "sync")),
    ):
        path = os.path.join(args.dir, "reads", name.split(" (")[0].replace(" ", "_").replace(".", "") + name[-7:-1].replace(" ", "") + ".json")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write('{\n  "n": 0,\n  "payload": ' + json.dumps(["x" * 50] * 20) + "\n}\n")
        stop = threading.Event()
        writes = [0]

        def loop():
            while not stop.is_set():
                run(writer(path))
                writes[0] += 1

        t = threading.Thread(target=loop)
        t.start()
        times, bad = [], 0
        sink = os.path.join(args.dir, "reads", "out.txt")
        try:
            for _ in range(n):
                took, _, code = run(reader(path), stdout=sink)
                times.append(took)
                with open(sink) as f:
                    text = f.read().strip()
                if code != 0 or not text.isdigit():
                    bad += 1
        finally:
            stop.set()
            t.join()
        out[name] = dict(p50=pct(times, 50), p99=pct(times, 99), bad=bad, writes=writes[0])
        rows.append([name, ms(out[name]["p50"]), ms(out[name]["p99"]), bad, writes[0]])
    lines += table(["reader", "p50", "p99", "failed reads", "writes meanwhile"], rows)
    results["reads"] = out
    section("Reads while a writer loops", lines)


# ---------------------------------------------------------------- big files
EVENT = '{"id": -1, "time": "2024-06-01T00:00:00Z", "type": "bench.appended", "host": "bench", "ok": true}'


def write_event_log(path, events):
    """{"meta": {...}, "events": [...]} laid out as jq and json.dumps(indent=2) do."""
    with open(path, "w") as f:
        f.write('{\n  "meta": {\n    "name": "event log",\n    "version": 1\n  },\n  "events": [\n')
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


def big_file(label, events, rounds, before_rounds):
    path = os.path.join(args.dir, "big", f"{label}.json")
    peer_path = os.path.join(args.dir, "big", f"{label}-peer.json")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    write_event_log(path, events)
    shutil.copyfile(path, peer_path)
    size = os.path.getsize(path)
    say(f"== {label}: {size / MIB:.1f} MiB, {events} events, {rounds} rounds")
    counter = [0]

    def patch():
        counter[0] += 1
        return json.dumps({"meta": {"x": counter[0]}})

    cmds = {
        "jq -c . F > /dev/null": lambda: [args.jq, "-c", ".", path],
        "read (after)": lambda: [AFTER, "read", path],
        "read (before)": lambda: [BEFORE, "read", path],
        "read '.events | length' (after)": lambda: [AFTER, "read", path, ".events | length"],
        "read '.events | length' (before)": lambda: [BEFORE, "read", path, ".events | length"],
        "jq '.events | length' F": lambda: [args.jq, ".events | length", path],
        "merge top-level key (after)": lambda: [AFTER, "merge", path, patch()],
        "merge top-level key (before)": lambda: [BEFORE, "merge", path, patch()],
        "merge, --no-backup (after)": lambda: [AFTER, "--no-backup", "merge", path, patch()],
        "merge: flock + jq + mv, with syncs": lambda: jq_peer(peer_path, ". * $p", "sync", "--argjson", "p", patch()),
        "update '.events += [$e]' (after)": lambda: [AFTER, "update", path, ".events += [$e]", "--argjson", "e", EVENT],
        "update '.events += [$e]' (before)": lambda: [BEFORE, "update", path, ".events += [$e]", "--argjson", "e", EVENT],
        "update: flock + jq + mv, with syncs": lambda: jq_peer(peer_path, ".events += [$e]", "sync", "--argjson", "e", EVENT),
    }
    if label != "19MB":
        cmds.pop("merge, --no-backup (after)")
    out_path = os.path.join(args.dir, "big", "core-out.json")
    core = args.json_core
    cmds["JSON core: validate (one scan)"] = lambda: [core, "validate", path]
    cmds["JSON core: parse into a tree"] = lambda: [core, "parse", path]
    cmds["JSON core: validate + spliced merge + write"] = lambda: [core, "splice", path, patch(), out_path]
    cmds["JSON core: parse + merge_patch + render + write"] = lambda: [core, "tree", path, patch(), out_path]
    samples = {k: [] for k in cmds}
    for r in range(rounds):
        for name, make in cmds.items():
            if "(before)" in name and r >= before_rounds:
                continue
            took, rss, code = run(make())
            samples[name].append((took, rss, code))
    med = {}
    for k, v in samples.items():
        if not v:
            continue
        med[k] = dict(
            time=statistics.median(t for t, _, _ in v),
            rss=statistics.median(r for _, r, _ in v),
            ok=all(c == 0 for _, _, c in v),
            runs=len(v),
        )
    jq = med["jq -c . F > /dev/null"]["time"]
    lines = [
        f"`{{\"meta\": {{...}}, \"events\": [...]}}`, {events} events, 2-space indent, {size / MIB:.1f} MiB. Median of {rounds} runs ({before_rounds} for the before build); peak RSS from wait4 (as `/usr/bin/time -v`).",
        "The `JSON core` rows are the library's functions alone in a minimal program (`scripts/bench.d/json_core.rs`: read the file, run the function, write the result without fsync): what `read` and `merge` cost once the store hands them the bytes without parsing a tree first.",
        "",
    ]
    lines += table(
        ["command", "wall", "× jq -c .", "peak RSS", "RSS / file size", "exit 0", "runs"],
        [[k, ms(v["time"]), f"{v['time'] / jq:.3f}", mib(v["rss"]), f"{v['rss'] / size:.2f}", "yes" if v["ok"] else "**no**", v["runs"]] for k, v in med.items()],
    )
    results[label] = dict(size=size, med=med, jq=jq)
    section(f"Event log, {label}", lines)


# ---------------------------------------------------------------- status
def status_tree():
    files = 5000
    say(f"== status over {files} files")
    tree = os.path.join(args.dir, "status")
    shutil.rmtree(tree, ignore_errors=True)
    for i in range(files):
        d = os.path.join(tree, f"d{i // 100:02d}")
        os.makedirs(d, exist_ok=True)
        must([AFTER, "--no-sync", "write", os.path.join(d, f"f{i:04d}.json"), json.dumps({"i": i, "name": f"file {i}"})])
    rounds = 3 if QUICK else 7
    cmds = {
        "jsafe status (after)": [AFTER, "status", tree],
        "jsafe status (before)": [BEFORE, "status", tree],
        "find TREE -name '*.json' | xargs cat": ["/bin/sh", "-c", 'find "$1" -name "*.json" -type f -print0 | xargs -0 cat > /dev/null', "sh", tree],
    }
    samples = {k: [] for k in cmds}
    for _ in range(rounds):
        for k, argv in cmds.items():
            took, _, code = run(argv)
            # status exits 9 when it finds problems; a fresh tree has none.
            samples[k].append((took, code))
    med = {k: statistics.median(t for t, _ in v) for k, v in samples.items()}
    codes = {k: sorted({c for _, c in v}) for k, v in samples.items()}
    peer = med["find TREE -name '*.json' | xargs cat"]
    lines = [f"{files} managed files in 50 directories (each written once by jsafe, so each has a lock file, a journal line). Median of {rounds} runs.", ""]
    lines += table(["command", "wall", "vs find | xargs cat", "exit codes"], [[k, ms(v), f"{v / peer:.2f}×", codes[k]] for k, v in med.items()])
    results["status"] = dict(after=med["jsafe status (after)"], before=med["jsafe status (before)"], peer=peer)
    section("status over 5,000 files", lines)

# ---------------------------------------------------------------- streams (issue 12)
def run_stdin(argv, stdin_path):
    """As run(), with stdin read from a file."""
    actions = [
        (os.POSIX_SPAWN_OPEN, 0, stdin_path, os.O_RDONLY, 0),
        (os.POSIX_SPAWN_OPEN, 1, "/dev/null", os.O_WRONLY, 0),
        (os.POSIX_SPAWN_DUP2, LOG.fileno(), 2),
    ]
    start = time.perf_counter()
    pid = os.posix_spawnp(argv[0], [str(a) for a in argv], ENV, file_actions=actions)
    _, status, usage = os.wait4(pid, 0)
    took = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        sys.exit(f"bench: {' '.join(map(str, argv))[:300]} exited {code} (see {args.log})")
    return took, usage.ru_maxrss * 1024


def rss_of(argv, stdin_path=None):
    """Peak RSS of one run, from /usr/bin/time (wait4's figure for a child
    started with posix_spawn includes this script's own memory)."""
    with open(stdin_path or "/dev/null", "rb") as stdin:
        done = subprocess.run(["/usr/bin/time", "-f", "%M", *map(str, argv)], stdin=stdin,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=ENV, text=True)
    try:
        return int(done.stderr.strip().splitlines()[-1]) * 1024
    except (ValueError, IndexError):
        return float("nan")


def streams():
    n = 20000 if QUICK else 100000
    m = 200 if QUICK else 1000
    say(f"== streamed updates: {n} patches through one merge --stream, {m} separate merges")
    d = os.path.join(args.dir, "stream")
    os.makedirs(d, exist_ok=True)
    patches = [json.dumps({"progress": i, "step": f"s{i % 10}", f"k{i % 50}": i}) for i in range(1, n + 1)]
    seed = json.dumps({"job": "bench", "progress": 0}) + "\n"
    every, first = os.path.join(d, "patches.jsonl"), os.path.join(d, "first.jsonl")
    with open(every, "w") as f:
        f.write("\n".join(patches) + "\n")
    with open(first, "w") as f:
        f.write("\n".join(patches[:m]) + "\n")

    def fresh(name):
        path = os.path.join(d, name)
        with open(path, "w") as f:
            f.write(seed)
        return path

    separate = fresh("separate.json")
    times = [must([AFTER, "merge", separate, p])[0] for p in patches[:m]]
    per_patch = sum(times) / m
    streamed_m = fresh("streamed-m.json")
    run_stdin([AFTER, "merge", streamed_m, "--stream"], first)
    with open(separate, "rb") as a, open(streamed_m, "rb") as b:
        identical = a.read() == b.read()
    streamed = fresh("streamed.json")
    took, _ = run_stdin([AFTER, "merge", streamed, "--stream"], every)
    rss = rss_of([AFTER, "merge", fresh("rss.json"), "--stream"], every)
    with open(os.path.join(d, ".jsafe", "journal.jsonl")) as f:
        writes = sum(1 for line in f if json.loads(line).get("file_name") == "streamed.json")
    upd_took, _ = run_stdin([AFTER, "update", fresh("update.json"), ".progress = $in.progress | .step = $in.step", "--stream"], every)
    app_took, _ = run_stdin([AFTER, "append", os.path.join(d, "log.jsonl"), "-"], every)

    # One event appended to a 5.9 MB log of 2,151 events (the first incident):
    # JSON Lines against the same events as an array in a JSON document.
    events = [{"id": i, "event": "step", "data": "d" * 2700} for i in range(2151)]
    log_lines, log_doc = os.path.join(d, "log6.jsonl"), os.path.join(d, "log6.json")
    with open(log_lines, "w") as f:
        f.write("".join(json.dumps(e, separators=(",", ":")) + "\n" for e in events))
    with open(log_doc, "w") as f:
        json.dump({"events": events}, f, indent=2)
    k = 20 if QUICK else 50
    ev = lambda i: json.dumps({"id": i, "event": "new"})
    app_lines = [must([AFTER, "append", log_lines, ev(i)]) for i in range(k)]
    app_doc = [must([AFTER, "append", log_doc, "--to", ".events", ev(i)]) for i in range(k)]
    lines_med = statistics.median(t for t, _ in app_lines)
    doc_med = statistics.median(t for t, _ in app_doc)
    lines_rss = rss_of([AFTER, "append", log_lines, ev(k)])
    doc_rss = rss_of([AFTER, "append", log_doc, "--to", ".events", ev(k)])

    ratio = per_patch * n / took
    results["streams"] = dict(ratio=ratio, identical=identical)
    lines = [
        f"{n} progress patches piped into one durable `jsafe merge F --stream`, against separate durable `jsafe merge F PATCH` calls ({m} timed; their mean time per patch multiplied up to {n}). The content after the same {m} patches applied both ways: {'byte-identical' if identical else '**different**'}.",
        "",
    ]
    lines += table(
        ["operation", "time", "peak RSS", "vs separate merges"],
        [
            [f"separate `jsafe merge` calls, per patch (× {n})", f"{ms(per_patch)} ({ms(per_patch * n)})", "", "1×"],
            [f"`jsafe merge --stream`, {n} patches ({writes} durable writes)", ms(took), mib(rss), f"{ratio:.0f}×"],
            [f"`jsafe update F '…$in…' --stream`, {n} values", ms(upd_took), "", f"{per_patch * n / upd_took:.0f}×"],
            [f"`jsafe append LOG -`, {n} lines", ms(app_took), "", f"{per_patch * n / app_took:.0f}×"],
        ],
    )
    lines += ["", f"One event appended to a {os.path.getsize(log_lines) / MIB:.1f} MiB log of 2,151 events, {k} times, median:", ""]
    lines += table(
        ["operation", "median per append", "peak RSS", "ratio"],
        [
            ["`jsafe append log.jsonl EVENT` (JSON Lines, O(1))", ms(lines_med), mib(lines_rss), f"{lines_med / doc_med:.2f}×"],
            ["`jsafe append log.json --to .events EVENT` (the document rewritten)", ms(doc_med), mib(doc_rss), "1×"],
        ],
    )
    section("Streamed updates and appends (issue 12)", lines)



def machine_lines():
    cpu = "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((l.split(":", 1)[1].strip() for l in f if l.startswith("model name")), cpu)
    except OSError:
        pass
    fs = subprocess.run(["df", "-T", args.dir], capture_output=True, text=True).stdout.splitlines()[-1].split()[1]
    return [
        f"- Machine: {cpu}, {os.cpu_count()} cores, Linux {platform.release()}; scratch directory on {fs}. Shared and noisy: read the ratio, not absolute times.",
        f"- Builds: after = `{args.after_rev}`, before = `{args.before_rev}` (release profile).",
        f"- Run: {datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')}.",
    ]


def small_ab():
    """Before and after only: durable merges into a 1 KB file, the two
    binaries alternating op by op (so that drift hits both alike)."""
    n = 100 if QUICK else 400
    say(f"== durable merges on a 1 KB file, before and after alternating ({n} each)")
    times = {"after": [], "before": []}
    paths = {}
    for k in times:
        paths[k] = os.path.join(args.dir, "small-ab", k + ".json")
        os.makedirs(os.path.dirname(paths[k]), exist_ok=True)
        with open(paths[k], "w") as f:
            f.write(small_doc())
    for i in range(n):
        order = ["after", "before"] if i % 2 == 0 else ["before", "after"]
        for k in order:
            binary = AFTER if k == "after" else BEFORE
            took, _ = must([binary, "merge", paths[k], json.dumps({"n": i})])
            times[k].append(took)
    med = {k: statistics.median(v) for k, v in times.items()}
    ratio = med["after"] / med["before"]
    lines = [
        f"{n} durable merges of a top-level key into a {len(small_doc())}-byte file per binary, one process per merge, the two binaries alternating; median (p10–p90) of one operation.",
        "",
    ]
    lines += table(
        ["binary", "median", "p10", "p90"],
        [[f"jsafe merge ({k}, {args.after_rev if k == 'after' else args.before_rev})", ms(med[k]), ms(pct(times[k], 10)), ms(pct(times[k], 90))] for k in ["before", "after"]],
    )
    lines += ["", f"after / before: {ratio:.3f}×."]
    section("Durable small merge, before and after", lines)
    say(f"median before {ms(med['before'])}, after {ms(med['after'])}: {ratio:.3f}x")


if args.only == "small":
    started = time.time()
    small_ab()
    with open(args.out, "w") as f:
        f.write("\n".join(["# Benchmarks (small durable merge only)", "", *machine_lines(), "", *sections]))
    say(f"wrote {args.out}")
    sys.exit(0)


# ---------------------------------------------------------------- main
started = time.time()
small_merges()
contention()
reads_under_writes()
big_file("19MB", 91432, 3 if QUICK else 7, 2 if QUICK else 5)
big_file("200MB", 960000, 1 if QUICK else 3, 1)
status_tree()
streams()


def targets():
    rows = []
    b19 = results["19MB"]
    size, m, jq = b19["size"], b19["med"], b19["jq"]

    def big(name, ratio, rss_limit, rss_text):
        a = m[f"{name} (after)"]
        b = m[f"{name} (before)"]
        r_after, r_before = a["time"] / jq, b["time"] / jq
        rss_ok = a["rss"] <= rss_limit
        return [
            f"19 MB `{name}`",
            f"≤ {ratio}× jq, RSS ≤ {rss_text}",
            f"{r_before:.3f}×, {mib(b['rss'])}",
            f"{r_after:.3f}×, {mib(a['rss'])} ({a['rss'] / size:.2f}× file)",
            met(r_after <= ratio and rss_ok),
        ]

    rows.append(big("read", 0.05, 1.2 * size + 16 * MIB, "1.2× file + 16 MiB"))
    rows.append(big("merge top-level key", 0.12, 2.5 * size, "2.5× file"))
    rows.append(big("update '.events += [$e]'", 0.4, 5 * size, "5× file"))
    rows.append(big("read '.events | length'", 0.5, 5 * size, "5× file"))
    b200 = results["200MB"]
    works = all(v["ok"] for k, v in b200["med"].items() if "(after)" in k)
    limits = {"read": 1.2 * b200["size"] + 16 * MIB, "merge top-level key": 2.5 * b200["size"], "update '.events += [$e]'": 5 * b200["size"], "read '.events | length'": 5 * b200["size"]}
    within = all(b200["med"][f"{k} (after)"]["rss"] <= v for k, v in limits.items())
    worst = max(b200["med"][f"{k} (after)"]["rss"] / b200["size"] for k in limits)
    rows.append(["200 MB: every command works", "exit 0, same memory ratios", "", f"{'all exit 0' if works else 'a command failed'}; largest RSS {worst:.2f}× file", met(works and within)])
    on = m["merge top-level key (after)"]["time"]
    off = m["merge, --no-backup (after)"]["time"]
    rows.append(["19 MB merge, backup on vs --no-backup", "≤ 1.1×", "", f"{on / off:.2f}×", met(on / off <= 1.1)])
    s = results["small"]
    rows.append([
        "small file, sequential durable merge",
        "≤ start floor + replace floor + 0.6 ms",
        f"{ms(s['before'])} (own work {s['own_before'] * 1000:.2f} ms)",
        f"{ms(s['after'])} vs {ms(s['floor'] + 0.0006)} (own work {s['own'] * 1000:.2f} ms)",
        met(s["after"] <= s["floor"] + 0.0006),
    ])
    c = results["contention"]
    a, b = c["after"], c["before"]
    ok = a["rate"] >= 0.8 * c["seq"]["after"] and a["lost"] == 0 and a["failures"] == 0 and a["p99"] <= 10 * a["p50"]
    rows.append([
        "8 contending writers",
        "≥ 0.8× sequential rate, 0 lost, p99 ≤ 10× p50",
        f"{b['rate'] / c['seq']['before']:.2f}× seq, {b['lost']} lost, p99/p50 {b['p99'] / b['p50']:.1f}",
        f"{a['rate'] / c['seq']['after']:.2f}× seq, {a['lost']} lost, p99/p50 {a['p99'] / a['p50']:.1f}",
        met(ok),
    ])
    st = results["status"]
    rows.append(["status over 5,000 files", "< 1 s", ms(st["before"]), ms(st["after"]), met(st["after"] < 1)])
    sr = results["streams"]
    rows.append([
        "streamed updates (issue 12): `merge --stream` vs separate merges, same content",
        "≥ 50×",
        "",
        f"{sr['ratio']:.0f}×, {'identical' if sr['identical'] else 'content differs'}",
        met(sr["ratio"] >= 50 and sr["identical"]),
    ])
    return table(["target (issue 10)", "goal", "before", "after", ""], rows)


def machine():
    cpu = "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / (1 << 30)
    fs = subprocess.run(["df", "-T", args.dir], capture_output=True, text=True).stdout.splitlines()[-1].split()[1]
    version = lambda argv: subprocess.run(argv, capture_output=True, text=True).stdout.strip().splitlines()[0]
    return [
        f"- Machine: {cpu}, {os.cpu_count()} cores, {mem:.0f} GiB memory, Linux {platform.release()}; scratch directory on {fs}. Shared and noisy: read ratios, not absolute times.",
        f"- Builds: after = `{args.after_rev}`, before = `{args.before_rev}` (release profile); peers: {version([args.jq, '--version'])}, {version([args.jaq, '--version'])}, Python {platform.python_version()}.",
        f"- Run: {datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')}, {'quick run' if QUICK else 'full run'}, {(time.time() - started) / 60:.0f} minutes.",
    ]


doc = [
    "# Benchmarks",
    "",
    f"Generated by `{args.command}` (a full run; `scripts/bench --quick` for a short one). Every figure below was measured in one run, jsafe before and after beside its peers, so compare ratios. Medians throughout.",
    "",
    *machine(),
    "",
    "## Targets",
    "",
    *targets(),
    "",
    *sections,
]
notes = os.path.join(args.scripts, "notes.md")
if os.path.exists(notes):
    with open(notes) as f:
        doc += ["", f.read()]
with open(args.out, "w") as f:
    f.write("\n".join(doc))
say(f"wrote {args.out}")
