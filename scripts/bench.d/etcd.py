#!/usr/bin/env python3
"""The etcd section of the benchmarks: jsafe on an etcd key against the
pattern scripts use today, on one local etcd member (started here on free
loopback ports, stopped by pid at the end).

  scripts/bench.d/etcd.py JSAFE [--ops N] [--writers W] [--per-writer M]

Prints a Markdown section on stdout. Measured, each as whole processes the
way a shell loop runs them:
  - sequential durable merges per second: `jsafe merge` vs
    `etcdctl lock` + `etcdctl get` + `jq` + `etcdctl put`, and bare
    `etcdctl put` (the floor: one process, one write);
  - W contending writers doing `jsafe update '.n += 1'`: changes per second,
    p50 and p99 latency, and that the count is exact.
"""
import argparse, os, shutil, socket, subprocess, sys, tempfile, threading, time

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("jsafe")
    ap.add_argument("--ops", type=int, default=200)
    ap.add_argument("--writers", type=int, default=8)
    ap.add_argument("--per-writer", type=int, default=50)
    a = ap.parse_args()
    for tool in ("etcd", "etcdctl", "jq"):
        if not shutil.which(tool):
            sys.exit(f"etcd bench: `{tool}` not found (scripts/ci-etcd.sh installs etcd; apt-get install jq)")
    tmp = tempfile.mkdtemp(prefix="jsafe-etcd-bench-")
    cport, pport = free_port(), free_port()
    ep = f"127.0.0.1:{cport}"
    member = subprocess.Popen(
        ["etcd", "--name", "b", "--data-dir", f"{tmp}/data",
         "--listen-client-urls", f"http://{ep}", "--advertise-client-urls", f"http://{ep}",
         "--listen-peer-urls", f"http://127.0.0.1:{pport}",
         "--initial-advertise-peer-urls", f"http://127.0.0.1:{pport}",
         "--initial-cluster", f"b=http://127.0.0.1:{pport}"],
        stdout=subprocess.DEVNULL, stderr=open(f"{tmp}/etcd.log", "w"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("JSAFE_")}
    env["ETCDCTL_API"] = "3"
    ctl = ["etcdctl", "--endpoints", ep]
    try:
        for _ in range(100):
            if subprocess.run(ctl + ["endpoint", "health"], capture_output=True, env=env).returncode == 0:
                break
            time.sleep(0.2)
        else:
            sys.exit("etcd bench: the member did not start")
        url = f"etcd://{ep}/bench/doc.json"
        run = lambda cmd, **kw: subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL, **kw)

        def rate(f):
            t = time.perf_counter()
            for i in range(a.ops):
                f(i)
            return a.ops / (time.perf_counter() - t)

        run([a.jsafe, "write", url, '{"k":0,"n":0}'])
        js = rate(lambda i: run([a.jsafe, "merge", url, f'{{"k":{i}}}']))
        run(ctl + ["put", "/bench/plain.json", '{"k":0}'])
        script = ("etcdctl --endpoints %s get /bench/plain.json --print-value-only | jq -c '.k = %d' "
                  "| etcdctl --endpoints %s put /bench/plain.json")
        pattern = rate(lambda i: run(ctl + ["lock", "/bench/lock", "--", "sh", "-c", script % (ep, i, ep)]))
        bare = rate(lambda i: run(ctl + ["put", "/bench/bare.json", f'{{"k":{i}}}']))

        run([a.jsafe, "write", url, '{"n":0}'])
        lat, codes, lock = [], [], threading.Lock()
        def writer():
            for _ in range(a.per_writer):
                t = time.perf_counter()
                rc = subprocess.run([a.jsafe, "update", url, ".n += 1"], env=env).returncode
                d = time.perf_counter() - t
                with lock:
                    lat.append(d); codes.append(rc)
        t = time.perf_counter()
        ws = [threading.Thread(target=writer) for _ in range(a.writers)]
        for w in ws: w.start()
        for w in ws: w.join()
        wall = time.perf_counter() - t
        n = int(subprocess.run([a.jsafe, "read", url, ".n"], env=env, capture_output=True, text=True).stdout)
        lat.sort()
        pct = lambda p: lat[min(len(lat) - 1, int(p * len(lat)))] * 1000
        ok = sum(1 for c in codes if c == 0)
        ver = subprocess.run(["etcd", "--version"], capture_output=True, text=True).stdout.split("\n")[0]
        print("## etcd (one local member)\n")
        print(f"{ver}, loopback, default fsync; {a.ops} sequential changes each; "
              f"every figure is whole processes as a shell loop runs them; "
              f"load average at the start {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs.\n")
        print("| sequential durable changes | per second | jsafe's rate / this one |")
        print("|---|---:|---:|")
        print(f"| `jsafe merge etcd://…` (backup + journal in the same txn) | {js:.1f} | 1.00 |")
        print(f"| `etcdctl lock` + `etcdctl get` + `jq` + `etcdctl put` | {pattern:.1f} | {js / pattern:.2f} |")
        print(f"| bare `etcdctl put` (the floor: one write, no read, no backup) | {bare:.1f} | {js / bare:.2f} |")
        print()
        print(f"{a.writers} contending writers x {a.per_writer} `jsafe update '.n += 1'`: "
              f"{len(lat) / wall:.0f} changes/s, p50 {pct(0.50):.1f} ms, p99 {pct(0.99):.1f} ms; "
              f"final count {n}, exit 0 for {ok} of {len(codes)} ({'exact' if n == ok else 'NOT EXACT'}).")
    finally:
        member.terminate()
        member.wait()
        shutil.rmtree(tmp, ignore_errors=True)

main()
