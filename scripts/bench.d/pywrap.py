#!/usr/bin/env python3
"""The Python wrapper pattern, as hand-made "safe json" helpers do it, one
python3 process per operation: fcntl.flock on a sidecar lock file, json.load,
the change, shutil.copy2 backup, tempfile.mkstemp in the same directory,
json.dump, fsync, os.replace, fsync of the directory.

Usage: pywrap.py merge FILE PATCH_JSON | pywrap.py incr FILE   (n += 1)
"""
import fcntl
import json
import os
import shutil
import sys
import tempfile


def merge(target, patch):
    if not isinstance(patch, dict):
        return patch
    if not isinstance(target, dict):
        target = {}
    for key, value in patch.items():
        if value is None:
            target.pop(key, None)
        else:
            target[key] = merge(target.get(key), value)
    return target


def main():
    op, path = sys.argv[1], sys.argv[2]
    directory = os.path.dirname(os.path.abspath(path))
    with open(path + ".lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        with open(path) as f:
            data = json.load(f)
        if op == "merge":
            data = merge(data, json.loads(sys.argv[3]))
        elif op == "incr":
            data["n"] = data.get("n", 0) + 1
        else:
            sys.exit("unknown operation " + op)
        shutil.copy2(path, path + ".bak")
        fd, temp = tempfile.mkstemp(dir=directory, prefix=".tmp-")
        try:
            with os.fdopen(fd, "w") as f:
                json.dump(data, f, indent=2)
                f.write("\n")
                f.flush()
                os.fsync(f.fileno())
            os.replace(temp, path)
        except BaseException:
            os.unlink(temp)
            raise
        dfd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)


main()
