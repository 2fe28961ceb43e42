#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""fleet tier: `xenith exporter` scraped by a real Prometheus, started here.

The exporter serves an archive (a temporary directory) holding a constructed
result document, on a port the kernel picks.  Its HTTP answers are checked
directly (Content-Type, "# EOF", 404), then a Prometheus of our own (config,
storage and a free port in the temporary directory, scrape_interval 1s)
scrapes it, and the medians queried back from Prometheus's HTTP API must be
the document's, for a guest and a ratio series.  A newer document is then
added to the archive and must reach Prometheus without a restart of the
exporter.  Every wait is for an event with a generous deadline.  Both
processes are stopped and the directory removed on any outcome.  Skips,
with the reason, when prometheus is absent.

Usage: test_exporter.py XENITH_FLEET
"""

import json
import os
import shutil
import socket
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fleetlib  # noqa: E402
from fleetlib import series  # noqa: E402

FLEET = sys.argv[1]
OPENMETRICS_TYPE = "application/openmetrics-text; version=1.0.0; charset=utf-8"
DEADLINE = 180  # seconds, for each event: a loaded 2-CPU host


def get(url, timeout=30):
    """(status, content type, body); HTTP errors are answers too."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, r.headers.get("Content-Type"), r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("Content-Type"), e.read().decode()


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def start_prometheus(scratch, prometheus, target):
    """Prometheus on a free port; the port may be taken between our probe and its bind: try again."""
    conf = scratch.path("prometheus.yml")
    with open(conf, "w") as f:
        f.write("global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
                "scrape_configs:\n  - job_name: xenith\n    metrics_path: /metrics\n"
                "    static_configs:\n      - targets: ['%s']\n" % target)
    for attempt in range(3):
        port = free_port()
        log = open(scratch.path("prometheus-%d.log" % attempt), "w")
        p = scratch.start([prometheus, "--config.file=" + conf,
                           "--storage.tsdb.path=" + scratch.path("tsdb-%d" % attempt),
                           "--web.listen-address=127.0.0.1:%d" % port],
                          stdout=log, stderr=subprocess.STDOUT, cwd=scratch.dir)
        base = "http://127.0.0.1:%d" % port

        def ready():
            if p.poll() is not None:
                return "exited"
            try:
                return "ready" if get(base + "/-/ready", timeout=5)[0] == 200 else None
            except OSError:
                return None
        state = fleetlib.wait_for("prometheus to be ready", ready, DEADLINE)
        if state == "ready":
            return p, base, None
        p.terminate()
        p.wait(timeout=30)
        log.close()
        with open(log.name) as f:
            text = f.read()[-2000:]
        if state is None:
            return None, None, "not ready after %d s:\n%s" % (DEADLINE, text)
    return None, None, "exited three times:\n" + text


def query(base, promql):
    status, _, body = get(base + "/api/v1/query?" + urllib.parse.urlencode({"query": promql}))
    if status != 200:
        return None
    return json.loads(body)["data"]["result"]


def main():
    prometheus = shutil.which("prometheus")
    if not prometheus:
        fleetlib.skip_all("prometheus not found: install Debian's prometheus (ci/setup.sh does)")
    tap = fleetlib.Tap()
    scratch = fleetlib.Scratch("xenith-exporter-")
    try:
        archive = scratch.path("archive")
        os.makedirs(archive)
        guest1 = [18401.5, 18390.0, 18420.0, 18399.75, 18405.1]
        ratio1 = [0.9931, 0.9952, 0.9968]
        fleetlib.write_document(archive, fleetlib.document("2026-11-01T10:00:00Z", "aaa1111", "host-a", [
            series("compute", "crc32", "native", "us", "lower", [18337.4, 18310.0, 18377.0]),
            series("compute", "crc32", "guest", "us", "lower", guest1),
            series("compute", "crc32", "ratio", "ratio", "higher", ratio1),
        ]))

        errlog = open(scratch.path("exporter.log"), "w")
        exporter = scratch.start([FLEET, "exporter", "--listen", "127.0.0.1:0", "--out", archive],
                                 stdout=subprocess.PIPE, stderr=errlog, text=True)
        line = exporter.stdout.readline()  # blocks until the exporter listens (or exits)
        if "serving http://" not in line:
            exporter.wait(timeout=30)
            with open(errlog.name) as f:
                fleetlib.fail_all(tap, "exporter started: %r %s" % (line, f.read()))
        url = line.split("serving ")[1].split(",")[0]
        target = urllib.parse.urlparse(url).netloc
        tap.check(True, "exporter listens on %s" % url)

        status, ctype, body = get(url)
        want = 'xenith_bench{suite="compute",case="crc32",mode="guest",unit="us",stat="median",' \
               'revision="aaa1111"} %.9g\n' % fleetlib.median(guest1)
        tap.check(status == 200 and ctype == OPENMETRICS_TYPE,
                  "GET /metrics: 200, Content-Type " + OPENMETRICS_TYPE, "%s %s" % (status, ctype))
        tap.check(body.endswith("\n# EOF\n") and body.count("# EOF") == 1 and want in body,
                  "GET /metrics: the document's guest median, ending in '# EOF'", body)
        status, _, _ = get(url.replace("/metrics", "/"))
        status2, _, _ = get(url.replace("/metrics", "/metricsx"))
        tap.check(status == 404 and status2 == 404, "GET / and /metricsx: 404", "%s %s" % (status, status2))

        prom, base, err = start_prometheus(scratch, prometheus, target)
        if not prom:
            fleetlib.fail_all(tap, "Prometheus started with its own config and storage: " + err)
        tap.check(True, "Prometheus started on %s with its own config and storage" % base)

        def value(promql, revision):
            r = query(base, promql)
            if r and len(r) == 1 and r[0]["metric"].get("revision") == revision:
                return float(r[0]["value"][1])
            return None

        guest_q = 'xenith_bench{suite="compute",case="crc32",mode="guest",stat="median"}'
        ratio_q = 'xenith_bench{suite="compute",case="crc32",mode="ratio",stat="median"}'
        got = fleetlib.wait_for("Prometheus to scrape the exporter", lambda: value(guest_q, "aaa1111"), DEADLINE)
        if got is None:
            print("# targets: " + get(base + "/api/v1/targets")[2][:2000], flush=True)
        tap.check(got == fleetlib.median(guest1),
                  "Prometheus: the guest median queried back is the document's (%r)" % fleetlib.median(guest1),
                  "got %r" % got)
        got = value(ratio_q, "aaa1111")
        tap.check(got == fleetlib.median(ratio1),
                  "Prometheus: the ratio series' median is the document's (%r)" % fleetlib.median(ratio1),
                  "got %r" % got)
        up = query(base, 'up{job="xenith"}')
        tap.check(up and up[0]["value"][1] == "1", "Prometheus: the target is up", up)

        # a new run in the archive: served at the next scrape, without restarting the exporter
        guest2 = [17001.0, 17010.5, 16990.0]
        fleetlib.write_document(archive, fleetlib.document("2026-11-02T09:30:00Z", "bbb2222", "host-a", [
            series("compute", "crc32", "guest", "us", "lower", guest2),
        ]))
        got = fleetlib.wait_for("Prometheus to scrape the new run", lambda: value(guest_q, "bbb2222"), DEADLINE)
        tap.check(got == fleetlib.median(guest2) and exporter.poll() is None,
                  "Prometheus: a newer run in the archive is served without a restart (median %r)" %
                  fleetlib.median(guest2), "got %r" % got)
    except SystemExit:
        raise
    except Exception as e:
        tap.check(False, "the test ran to its end", repr(e))
    finally:
        scratch.cleanup()
    return tap.done()


if __name__ == "__main__":
    sys.exit(main())
