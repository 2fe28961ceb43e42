#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""fleet tier: the results index in a real PostgreSQL server, started here.

initdb into a temporary directory (as user nobody when run as root: initdb
refuses root), pg_ctl start on a Unix socket in that directory only, createdb;
then constructed result documents are stored with `xenith-fleet store` into
that database and into an SQLite file, and read back with `xenith-fleet
query` (the same code, bench/resindex.c, over either backend): both must list
the same rows, and the medians must be the documents'.  Then the exporter
over both, an index.sqlite of the first schema being extended, connection
errors, and `xenith bench --db` (when /dev/kvm is usable).  The server is
stopped and the directory removed even when a check fails.  Skips, with the
reason, when the PostgreSQL server binaries are absent.

Usage: test_fleet_pg.py XENITH_FLEET [XENITH]
"""

import glob
import os
import pwd
import grp
import sqlite3
import subprocess
import sys
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fleetlib  # noqa: E402
from fleetlib import series  # noqa: E402

FLEET = sys.argv[1]
XENITH = sys.argv[2] if len(sys.argv) > 2 else None


def pg_bindir():
    for d in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if os.access(os.path.join(d, "initdb"), os.X_OK) and os.access(os.path.join(d, "pg_ctl"), os.X_OK):
            return d
    for d in os.environ.get("PATH", "").split(":"):
        if d and os.access(os.path.join(d, "initdb"), os.X_OK) and os.access(os.path.join(d, "pg_ctl"), os.X_OK):
            return d
    return None


def run(args, timeout=120, **kw):
    return subprocess.run(args, capture_output=True, text=True, timeout=timeout, **kw)


class Server:
    """A PostgreSQL cluster of its own: data and socket under scratch, no TCP."""

    def __init__(self, scratch, bindir):
        self.scratch = scratch
        self.bin = bindir
        self.base = scratch.path("pg")
        self.data = os.path.join(self.base, "data")
        self.sock = os.path.join(self.base, "sock")
        self.started = False
        self.as_user = {}
        os.makedirs(self.sock)
        if os.geteuid() == 0:
            # initdb and postgres refuse to run as root: nobody exists on every Debian system
            nobody = pwd.getpwnam("nobody")
            os.chmod(scratch.dir, 0o711)
            for d in (self.base, self.sock):
                os.chown(d, nobody.pw_uid, nobody.pw_gid)
            self.as_user = {"user": nobody.pw_uid, "group": nobody.pw_gid, "extra_groups": []}
        self.env = dict(os.environ, HOME=self.base, LC_ALL="C", LANG="C")

    def server_cmd(self, args, timeout=180):
        return run([os.path.join(self.bin, args[0])] + args[1:], timeout=timeout, env=self.env,
                   cwd=self.base, **self.as_user)

    def start(self):
        r = self.server_cmd(["initdb", "-D", self.data, "-U", "xenith", "--auth=trust", "--no-sync",
                             "-E", "UTF8", "--locale=C"])
        if r.returncode:
            return "initdb: " + r.stdout + r.stderr
        # fsync off: a test's data; the unix socket only, in our directory
        r = self.server_cmd(["pg_ctl", "start", "-w", "-t", "180", "-D", self.data,
                             "-l", os.path.join(self.base, "log"),
                             "-o", "-k %s -c listen_addresses= -p 5432 -c fsync=off" % self.sock])
        self.started = True  # even if pg_ctl timed out, a postmaster may be up: stop() cleans
        if r.returncode:
            return "pg_ctl start: " + r.stdout + r.stderr + self.log()
        # a database whose text order is a language's (ICU, as on many real servers), not bytes:
        # the index must still list rows in byte order, as SQLite does
        createdb = [os.path.join(self.bin, "createdb"), "-h", self.sock, "-p", "5432", "-U", "xenith"]
        r = run(createdb + ["-T", "template0", "--locale-provider=icu", "--icu-locale=en-US", "fleet"],
                env=self.env)
        if r.returncode:
            print("# createdb with an ICU collation: %s; a byte-order database instead" %
                  r.stderr.strip(), flush=True)
            r = run(createdb + ["fleet"], env=self.env)
        if r.returncode:
            return "createdb: " + r.stdout + r.stderr
        return None

    def log(self):
        try:
            with open(os.path.join(self.base, "log")) as f:
                return f.read()[-2000:]
        except OSError:
            return ""

    def stop(self):
        if not self.started:
            return
        r = self.server_cmd(["pg_ctl", "stop", "-D", self.data, "-m", "fast", "-w", "-t", "60"])
        if r.returncode:
            try:  # the postmaster's pid is the first line of postmaster.pid
                with open(os.path.join(self.data, "postmaster.pid")) as f:
                    os.kill(int(f.readline()), 9)
            except (OSError, ValueError):
                pass

    def url(self, db="fleet", scheme="postgresql"):
        return "%s://xenith@/%s?host=%s&port=5432" % (scheme, db, self.sock)


def query(db, *args):
    r = run([FLEET, "query", "--db", db] + list(args))
    return r.returncode, r.stdout.splitlines(), r.stderr


def rows_by_key(lines):
    """id, suite, case, mode -> the row's fields."""
    out = {}
    for line in lines:
        f = line.split("\t")
        out[(f[0], f[11], f[12], f[13])] = f
    return out


def documents():
    a = fleetlib.document("2026-11-01T10:00:00Z", "aaa1111", "host-a", [
        series("compute", "crc32", "native", "us", "lower", [18337.4, 18310.0, 18377.0, 18340.25, 18335.9]),
        series("compute", "crc32", "guest", "us", "lower", [18401.5, 18390.0, 18420.0, 18399.75, 18405.1]),
        series("exit", "hypercall", "guest", "ns", "lower", [25012.0, 24990.0, 25100.5]),
        # "Zero" before "hypercall" in byte order, after it in English
        series("exit", "Zero", "guest", "ns", "lower", [1.0, 2.0, 3.0]),
        # ratio series (mode "ratio"): carried like any other
        series("compute", "crc32", "ratio", "ratio", "higher", [0.9931, 0.9952, 0.9968]),
        # near DBL_MAX: the mean overflows and cv is not a number, stored as NULL in both
        series("density", "n1-boot", "bare", "us", "lower", [1.5e308, 1.6e308, 1.7e308]),
    ], cpu="Test CPU \u00ae 2.6GHz")
    # the same moment and revision on another host of the fleet
    b = fleetlib.document("2026-11-01T10:00:00Z", "aaa1111", "host-b", [
        series("compute", "crc32", "native", "us", "lower", [20001.0, 20002.5, 19999.0]),
        series("compute", "crc32", "guest", "us", "lower", [20500.0, 20510.0, 20490.5]),
    ])
    c = fleetlib.document("2026-11-02T09:30:00Z", "bbb2222", "host-a", [
        series("compute", "crc32", "native", "us", "lower", [18000.0, 18010.0, 17990.0]),
        series("compute", "crc32", "guest", "us", "lower", [18100.0, 18090.0, 18111.5]),
        series("compute", "crc32", "ratio", "ratio", "higher", [0.9945, 0.9950, 0.9940]),
    ])
    return [a, b, c]


def exporter_body(scratch, db, query=""):
    """Starts `xenith-fleet exporter --db DB` on a free port, GETs /metrics[QUERY] once, stops it."""
    p = scratch.start([FLEET, "exporter", "--listen", "127.0.0.1:0", "--db", db],
                      stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = p.stdout.readline()  # "xenith exporter: serving http://127.0.0.1:PORT/metrics, ..."
        if "http://" not in line:
            return None, "no address line: %r %s" % (line, p.stderr.read() if p.poll() is not None else "")
        url = line.split("serving ")[1].split(",")[0]
        try:
            with urllib.request.urlopen(url + query, timeout=60) as resp:
                return resp.read().decode(), None
        except urllib.error.HTTPError as e:
            return None, "%d %s" % (e.code, e.read().decode())
    finally:
        p.terminate()
        p.wait(timeout=30)


def main():
    bindir = pg_bindir()
    if not bindir:
        fleetlib.skip_all("PostgreSQL server binaries (initdb, pg_ctl) not found: install Debian's "
                          "postgresql (ci/setup.sh does)")
    tap = fleetlib.Tap()
    # as root the server runs as nobody, who must reach its directory: /tmp, whatever $TMPDIR is
    scratch = fleetlib.Scratch("xenith-fleet-pg-", "/tmp" if os.geteuid() == 0 else None)
    try:
        server = Server(scratch, bindir)
        scratch.cleanups.append(server.stop)
        err = server.start()
        if err:
            fleetlib.fail_all(tap, "PostgreSQL server started in a temporary directory\n" + err)
        tap.check(True, "PostgreSQL server started in a temporary directory (%s)" % bindir)
        pg = server.url()
        lite = scratch.path("index.sqlite")
        docs = documents()
        docdir = scratch.path("docs")
        os.makedirs(docdir)
        paths = [fleetlib.write_document(docdir, d) for d in docs]

        for name, db in (("PostgreSQL", pg), ("SQLite", lite)):
            r = run([FLEET, "store", "--db", db] + paths)
            tap.check(r.returncode == 0 and r.stdout.count("stored: ") == 3,
                      "store: three documents into %s" % name, r.stdout + r.stderr)

        rc1, pg_rows, e1 = query(pg)
        rc2, lite_rows, e2 = query(lite)
        nseries = sum(len(d["series"]) for d in docs)
        tap.check(rc1 == 0 and len(pg_rows) == nseries,
                  "query: PostgreSQL has one row per series (%d)" % nseries, "%d rows %s" % (len(pg_rows), e1))
        diff = [(i, a, b) for i, (a, b) in enumerate(zip(pg_rows, lite_rows)) if a != b]
        tap.check(rc2 == 0 and len(pg_rows) == len(lite_rows) and not diff,
                  "query: PostgreSQL and SQLite list the same rows, row by row",
                  "first difference: %r" % (diff[:1],) if diff else "%d vs %d rows %s" %
                  (len(pg_rows), len(lite_rows), e2))

        got = rows_by_key(pg_rows)
        bad = []
        for d in docs:
            for s in d["series"]:
                row = got.get((d["id"], s["suite"], s["case"], s["mode"]))
                if not row:
                    bad.append("missing %s %s/%s/%s" % (d["id"], s["suite"], s["case"], s["mode"]))
                    continue
                if float(row[17]) != fleetlib.median(s["samples"]) or row[4] != d["environment"]["hostname"] \
                        or int(row[16]) != len(s["samples"]):
                    bad.append("%s: median %s hostname %s n %s" % (row[0], row[17], row[4], row[16]))
        tap.check(not bad, "query: each row has its document's median, sample count and host name",
                  "\n".join(bad))
        nullcv = got.get((docs[0]["id"], "density", "n1-boot", "bare"))
        sql = "SELECT count(*) FROM series WHERE cv IS NULL AND name = 'n1-boot'"
        r = run([os.path.join(bindir, "psql"), "-h", server.sock, "-p", "5432", "-U", "xenith", "-At",
                 "-c", sql, "fleet"], env=server.env)
        con = sqlite3.connect(lite)
        lite_nulls = con.execute(sql).fetchone()[0]
        con.close()
        tap.check(nullcv is not None and nullcv[18] == "NULL" and r.stdout.strip() == "1" and lite_nulls == 1,
                  "store: a cv that is not a number (the mean overflows) is stored as NULL in both",
                  "%s psql: %s %s sqlite: %d" % (nullcv, r.stdout, r.stderr, lite_nulls))
        r = run([os.path.join(bindir, "psql"), "-h", server.sock, "-p", "5432", "-U", "xenith", "-At", "-c",
                 "SELECT indexname FROM pg_indexes WHERE indexname LIKE '%\\_by\\_%' ORDER BY 1", "fleet"],
                env=server.env)
        con = sqlite3.connect(lite)
        lite_idx = [n for (n,) in con.execute("SELECT name FROM sqlite_master WHERE type = 'index' AND "
                                             "name LIKE '%by%' ORDER BY 1")]
        con.close()
        tap.check(r.stdout.split() == ["runs_by_date", "series_by_case"] == lite_idx,
                  "store: both backends have the indexes that history and latest-run queries use",
                  "%s %s %s" % (r.stdout, r.stderr, lite_idx))
        order = [l.split("\t")[0] for l in pg_rows]
        tap.check(order == sorted(order), "query: rows come oldest run first", order)

        # a fleet: the same date and revision on two hosts are two runs
        rc, rows, e = query(pg, "--host", "host-b")
        tap.check(rc == 0 and len(rows) == 2 and all(l.split("\t")[4] == "host-b" for l in rows),
                  "query --host: the two rows of host-b only", "\n".join(rows) + e)
        rc, rows, e = query(pg, "compute/crc32/ratio")
        rc2, rows2, e2 = query(lite, "compute/crc32/ratio")
        tap.check(rc == 0 and len(rows) == 2 and rows == rows2 and
                  all(l.split("\t")[13] == "ratio" for l in rows),
                  "query SUITE/CASE/MODE: the two ratio rows, alike in both", "\n".join(rows + rows2) + e + e2)

        # history: a series' medians over a host's runs, the change from the previous one
        h_pg = run([FLEET, "history", "--db", pg, "compute/crc32/guest"])
        h_lite = run([FLEET, "history", "--db", lite, "compute/crc32/guest"])
        m_a, m_c = (fleetlib.median(d["series"][1]["samples"]) for d in (docs[0], docs[2]))
        host_a = h_pg.stdout.split("\n\n")[0].splitlines()
        tap.check(h_pg.returncode == 0 and h_pg.stdout == h_lite.stdout and
                  host_a[0].startswith("compute/crc32/guest on host-a") and len(host_a) == 4 and
                  host_a[2].split()[:4] == [docs[0]["environment"]["date"], "aaa1111", "5", "%.6g" % m_a] and
                  host_a[3].split()[:4] == [docs[2]["environment"]["date"], "bbb2222", "3", "%.6g" % m_c] and
                  host_a[3].split()[-1] == "%+.2f%%" % (100 * (m_c / m_a - 1)) and
                  "on host-b" in h_pg.stdout,
                  "history: host-a's guest medians in date order with the change, alike from both backends",
                  h_pg.stdout + h_pg.stderr + "---\n" + h_lite.stdout + h_lite.stderr)

        # stored again: replaced, not doubled; through the postgres:// spelling too
        r = run([FLEET, "store", "--db", server.url(scheme="postgres"), paths[0]])
        rc, rows, e = query(pg)
        tap.check(r.returncode == 0 and len(rows) == nseries,
                  "store: a run stored again (postgres:// URL) replaces its rows", r.stderr + e)

        # the exporter reads the newest run through the same code over either backend
        body_pg, err_pg = exporter_body(scratch, pg)
        body_lite, err_lite = exporter_body(scratch, lite)
        tap.check(body_pg is not None and body_pg == body_lite and 'revision="bbb2222"' in body_pg and
                  'revision="aaa1111"' not in body_pg and body_pg.endswith("# EOF\n"),
                  "exporter --db: the newest run, the same exposition from PostgreSQL and SQLite",
                  "%s %s\n%s\n---\n%s" % (err_pg, err_lite, body_pg, body_lite))

        body, err = exporter_body(scratch, pg, "?host=host-b")
        want = 'xenith_bench{suite="compute",case="crc32",mode="native",unit="us",stat="median",' \
               'revision="aaa1111"} %.9g\n' % fleetlib.median(docs[1]["series"][0]["samples"])
        tap.check(body is not None and want in body and body.count("stat=\"median\"") == 2,
                  "exporter --db: /metrics?host=host-b serves host-b's newest run", "%s\n%s" % (err, body))

        # an index.sqlite of the first schema (before hostname, kernel, build_type)
        old = scratch.path("old.sqlite")
        con = sqlite3.connect(old)
        con.executescript(
            "CREATE TABLE runs(id TEXT PRIMARY KEY, file TEXT NOT NULL, date TEXT, revision TEXT,"
            " kvm_module TEXT, cpu_model TEXT, quick INTEGER, duration_s REAL);"
            "CREATE TABLE series(run_id TEXT NOT NULL, suite TEXT, name TEXT, mode TEXT, unit TEXT,"
            " better TEXT, n INTEGER, median REAL, cv REAL, p5 REAL, p95 REAL,"
            " PRIMARY KEY(run_id, suite, name, mode));"
            "INSERT INTO runs VALUES('2026-10-01T00:00:00Z-old', '2026-10-01T00-00-00Z-old',"
            " '2026-10-01T00:00:00Z', 'old', 'kvm_pvm', 'Old CPU', 1, 3.5);"
            "INSERT INTO series VALUES('2026-10-01T00:00:00Z-old', 'compute', 'crc32', 'guest', 'us',"
            " 'lower', 5, 19000.5, 0.01, 18990, 19010);")
        con.commit()
        con.close()
        r = run([FLEET, "store", "--db", "sqlite:" + old, paths[2]])
        rc, rows, e = query(old)
        oldrow = rows[0].split("\t") if rows else []
        tap.check(r.returncode == 0 and rc == 0 and len(rows) == 1 + len(docs[2]["series"]) and
                  oldrow[0] == "2026-10-01T00:00:00Z-old" and oldrow[4] == "" and oldrow[17] == "19000.5" and
                  rows[-1].split("\t")[4] == "host-a",
                  "store: an index.sqlite of the first schema gets the new columns and keeps its rows",
                  r.stderr + e + "\n".join(rows))

        body, err = exporter_body(scratch, server.url(db="nosuchdb"))
        tap.check(body is None and err and err.startswith("503 ") and '"nosuchdb"' in err and
                  "does not exist" in err,
                  "exporter --db: a database it cannot reach: 503 with what went wrong", "%s %s" % (body, err))

        # a fleet's hosts upload at once into a database that has no tables yet
        r = run([os.path.join(bindir, "createdb"), "-h", server.sock, "-p", "5432", "-U", "xenith",
                 "fleet2"], env=server.env)
        procs = [subprocess.Popen([FLEET, "store", "--db", server.url(db="fleet2"), p],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for p in paths * 3]
        outs = [p.communicate(timeout=300) + (p.returncode,) for p in procs]
        rc, rows, e = query(server.url(db="fleet2"))
        tap.check(r.returncode == 0 and all(o[2] == 0 for o in outs) and rc == 0 and len(rows) == nseries,
                  "store: nine concurrent uploads into an empty database all succeed, one set of rows",
                  r.stderr + "".join(o[1] for o in outs if o[2]) + e + " %d rows" % len(rows))

        # connection errors say what went wrong and what to do
        r = run([FLEET, "store", "--db", server.url(db="nosuchdb"), paths[0]])
        tap.check(r.returncode == 1 and '"nosuchdb"' in r.stderr and "does not exist" in r.stderr and
                  "createdb" in r.stderr,
                  "store: a database that does not exist is named, with libpq's message and the fix",
                  r.stderr)
        r = run([FLEET, "store", "--db", "postgresql://xenith:secret@127.0.0.1:1/fleet", paths[0]])
        tap.check(r.returncode == 1 and "127.0.0.1:1" in r.stderr and "refused" in r.stderr and
                  "pg_hba.conf" in r.stderr and "secret" not in r.stderr,
                  "store: a server that is not there: host, port, libpq's message, what to check, no password",
                  r.stderr)

        bench_db(tap, scratch, server)
    except SystemExit:
        raise
    except Exception as e:  # a broken test is a failure, with the reason
        tap.check(False, "the test ran to its end", repr(e))
    finally:
        scratch.cleanup()
    return tap.done()


def kvm_usable():
    try:
        os.close(os.open("/dev/kvm", os.O_RDWR))
        return True
    except OSError:
        return False


def bench_db(tap, scratch, server):
    """`xenith bench --db`: the run's rows reach the database; a failed upload keeps the run."""
    if not XENITH or not kvm_usable():
        print("ok %d - xenith bench --db # SKIP %s" % (tap.n + 1, "no xenith binary given" if not XENITH
              else "/dev/kvm is not usable here"), flush=True)
        tap.n += 1
        return
    out = scratch.path("archive")
    host = os.uname().nodename
    args = [XENITH, "bench", "compute/crc32", "--repeat", "1", "--warmup", "0", "--out", out, "--db"]
    # first the failed upload (two runs in one second would share an id)
    r = run(args + [server.url(db="nosuchdb")], timeout=600)
    docs = glob.glob(os.path.join(out, "2*.json"))
    rc, rows, e = query(os.path.join(out, "index.sqlite"), "compute/crc32")
    rc2, pgrows, e2 = query(server.url(), "--host", host)
    tap.check(r.returncode == 1 and "kept in" in r.stderr and '"nosuchdb"' in r.stderr and len(docs) == 1
              and rc == 0 and sorted(l.split("\t")[13] for l in rows) == ["guest", "native", "ratio"]
              and rc2 == 0 and not pgrows,
              "xenith bench --db: a failed upload says so and keeps the document and the SQLite rows",
              r.stderr[-1500:] + " docs %d rows in index.sqlite %d in PostgreSQL %d" %
              (len(docs), len(rows), len(pgrows)))
    r = run(args + [server.url()], timeout=600)
    rc, rows, e = query(server.url(), "--host", host, "compute/crc32")
    # two hosts of a fleet may run one revision in the same second: the run's id has the host name
    tap.check(r.returncode == 0 and rc == 0 and sorted(l.split("\t")[13] for l in rows) == ["guest", "native", "ratio"]
              and "stored: " in r.stdout and
              all(l.split("\t")[0].endswith("-" + host) for l in rows),
              "xenith bench --db: the run's compute/crc32 rows are in PostgreSQL under this host's name, "
              "in a run id that has it too",
              r.stdout[-1500:] + r.stderr[-1500:] + e)


if __name__ == "__main__":
    sys.exit(main())
