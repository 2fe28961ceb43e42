#!/usr/bin/env python3
"""Unit-tier check: on a host without KVM (many CI runners) every test of the
tiers that need /dev/kvm is a visible skip, not an error.

Hides /dev/kvm (a private mount namespace with /dev/null bound over it, so
opening it works and KVM_GET_API_VERSION fails) and runs each test of the
given suites exactly as meson would: its command line, environment and
working directory from the build's introspection data
(meson-info/intro-tests.json).  Each must exit 0 with the TAP plan
"1..0 # SKIP <reason>" and run no test: meson 1.0 reports any non-zero exit
under the TAP protocol as an ERROR.  The programs run directly, not through
`meson test` (no meson inside meson).  Output: TAP.  Without the right to
unshare a mount namespace (not root) this check is itself a skip.

Usage: kvm_hidden.py BUILD_DIR SUITE...   (meson.build: kvm soak)
"""
import json
import os
import re
import subprocess
import sys

# Seconds per program: a program that skips returns at once; one that does
# not gets this long to show what it does instead.
LIMIT = 120
HIDE = ['unshare', '-m', '--', 'sh', '-c',
        'mount --bind /dev/null /dev/kvm && exec "$@"', 'hide-kvm']
PLAN_SKIP = re.compile(r'^1\.\.0 # SKIP (\S.*)$')
TEST_LINE = re.compile(r'^(not )?ok\b')


def comment(text):
    for line in text.splitlines():
        print('#   ' + line)


def hide_kvm_prefix():
    """The command prefix that hides /dev/kvm, or a skip reason."""
    if not os.path.exists('/dev/kvm'):
        print('# /dev/kvm does not exist here: the programs run as they are')
        return [], None
    null = os.stat('/dev/null').st_rdev
    try:
        probe = subprocess.run(HIDE + ['stat', '-Lc', '%t:%T', '/dev/kvm'],
                               capture_output=True, text=True, timeout=LIMIT)
    except (OSError, subprocess.TimeoutExpired) as e:
        return None, f'cannot hide /dev/kvm: {e}'
    if probe.returncode != 0:
        return None, ('cannot hide /dev/kvm (unshare -m and mount --bind need root): '
                      + ' '.join(probe.stderr.split()))
    want = f'{os.major(null):x}:{os.minor(null):x}'
    if probe.stdout.strip() != want:
        return None, (f'/dev/kvm is still device {probe.stdout.strip()} after binding '
                      f'/dev/null ({want}) over it')
    return HIDE, None


def check(n, test, prefix, build):
    """Runs one test with /dev/kvm hidden; prints its TAP line; True when it skipped."""
    name = test['name']
    env = dict(os.environ)
    env.update(test.get('env') or {})
    try:
        r = subprocess.run(prefix + test['cmd'], cwd=test.get('workdir') or build, env=env,
                           stdin=subprocess.DEVNULL, capture_output=True, text=True,
                           timeout=LIMIT)
    except FileNotFoundError as e:
        print(f'not ok {n} - {name}: {e} (build it: meson compile -C {build})')
        return False
    except subprocess.TimeoutExpired as e:
        print(f'not ok {n} - {name} still ran after {LIMIT} s without KVM')
        comment(e.stdout.decode(errors='replace') if e.stdout else '')
        return False
    lines = r.stdout.splitlines()
    plans = [line for line in lines if line.startswith('1..')]
    tests = [line for line in lines if TEST_LINE.match(line)]
    skip = PLAN_SKIP.match(plans[0]) if plans else None
    problems = []
    if r.returncode != 0:
        problems.append(f'exit status {r.returncode} (meson counts a non-zero exit '
                        'under TAP as an ERROR)')
    if not skip:
        problems.append('plan ' + (repr(plans[0]) if plans else 'missing')
                        + ', not "1..0 # SKIP <reason>"')
    if tests:
        problems.append(f'{len(tests)} test line(s), the first {tests[0]!r}')
    if problems:
        print(f'not ok {n} - {name} without KVM: ' + '; '.join(problems))
        comment(r.stdout)
        comment(r.stderr)
        return False
    print(f'ok {n} - {name} without KVM: exit 0, skipped: {skip.group(1)}')
    return True


def main():
    if len(sys.argv) < 3:
        sys.exit('usage: kvm_hidden.py BUILD_DIR SUITE...')
    build, suites = sys.argv[1], set(sys.argv[2:])
    with open(os.path.join(build, 'meson-info', 'intro-tests.json')) as f:
        tests = [t for t in json.load(f)
                 if any(s.split(':')[-1] in suites for s in t['suite'])]
    if not tests:
        print(f'Bail out! no test in suites {" ".join(sorted(suites))} '
              f'({build}/meson-info/intro-tests.json)')
        return 1
    prefix, why = hide_kvm_prefix()
    if why:
        print('1..0 # SKIP ' + why)
        return 0
    print(f'1..{len(tests)}')
    failed = sum(not check(n, t, prefix, build) for n, t in enumerate(tests, 1))
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
