# SPDX-License-Identifier: MIT
"""Shared by the fleet tier's tests (test_fleet_pg.py, test_exporter.py):
TAP output, constructed result documents, processes that are always
stopped and directories that are always removed."""

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time


class Tap:
    """TAP version 13: one line per check; the plan at the end."""

    def __init__(self):
        self.n = 0
        self.failed = 0
        print("TAP version 13", flush=True)

    def check(self, ok, name, detail=""):
        self.n += 1
        if not ok:
            self.failed += 1
        print(("ok" if ok else "not ok") + " %d - %s" % (self.n, name), flush=True)
        if not ok and detail:
            for line in str(detail).splitlines():
                print("# " + line, flush=True)
        return ok

    def done(self):
        print("1..%d" % self.n, flush=True)
        return 1 if self.failed else 0


def skip_all(reason):
    """The whole test skipped, visibly, with the reason (meson shows SKIP)."""
    print("TAP version 13\n1..0 # SKIP " + reason, flush=True)
    sys.exit(0)


def fail_all(tap, reason):
    tap.check(False, reason)
    sys.exit(tap.done())


class Scratch:
    """A temporary directory and the processes started in it; cleanup() stops
    them (SIGTERM, then SIGKILL after a grace period) and removes the
    directory.  Also on SIGTERM/SIGINT (meson's timeout), through SystemExit."""

    def __init__(self, prefix, parent=None):
        self.dir = tempfile.mkdtemp(prefix=prefix, dir=parent)
        self.procs = []
        self.cleanups = []
        signal.signal(signal.SIGTERM, self._signal)
        signal.signal(signal.SIGINT, self._signal)

    def _signal(self, signum, frame):
        raise SystemExit(128 + signum)

    def path(self, *parts):
        return os.path.join(self.dir, *parts)

    def start(self, args, **kw):
        p = subprocess.Popen(args, **kw)
        self.procs.append(p)
        return p

    def cleanup(self):
        for fn in reversed(self.cleanups):
            try:
                fn()
            except Exception as e:  # keep cleaning: a failed step must not leak the rest
                print("# cleanup: %s" % e, flush=True)
        for p in self.procs:
            if p.poll() is None:
                p.terminate()
        for p in self.procs:
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


def median(v):
    """Of an odd number of samples: a sample, so no interpolation to agree on."""
    assert len(v) % 2 == 1
    return sorted(v)[len(v) // 2]


def series(suite, case, mode, unit, better, samples):
    return {"suite": suite, "case": case, "mode": mode, "unit": unit, "better": better,
            "n": len(samples), "samples": samples}


def document(date, revision, hostname, series_list, cpu="Test CPU"):
    """A complete result document (results/SCHEMA.md) with the given series;
    bench_run_read() computes the summaries from the samples."""
    return {
        "schema": "xenith-bench/1", "complete": True,
        "id": "%s-%s-%s" % (date, revision, hostname),
        "environment": {"cpu_model": cpu, "kernel": "Linux 6.1.0-test", "kvm_module": "kvm_pvm",
                        "xenith_revision": revision, "build_type": "debugoptimized",
                        "hostname": hostname, "date": date, "tsc_khz": 2600000},
        "config": {"quick": True, "repeat": 5, "warmup": 1, "duration_s": 12.5},
        "series": series_list,
    }


def write_document(directory, doc):
    """Named as the archive names documents: the id, ':' made '-'."""
    path = os.path.join(directory, doc["id"].replace(":", "-") + ".json")
    with open(path, "w") as f:
        json.dump(doc, f, indent=2)
    return path


def wait_for(what, fn, deadline_s, interval=0.2):
    """fn() until it returns something true, or None at the deadline."""
    end = time.monotonic() + deadline_s
    while True:
        v = fn()
        if v:
            return v
        if time.monotonic() > end:
            print("# gave up waiting for %s after %d s" % (what, deadline_s), flush=True)
            return None
        time.sleep(interval)
