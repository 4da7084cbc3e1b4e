"""Parity of one system test file between the socket and the dpdk driver
(issue 6: "the router-core system test list runs identically against the
dpdk driver, and a script asserts the executed-test count equals the
socket driver's").

Usage: parity.py TEST_FILE [--timeout SECONDS] [--keep DIR]

Runs TEST_FILE twice with the same RR_WORKERS (and the rest of the
environment meson gives the system tests), each through run_recorded.py:
  socket: as the system suite runs it (127.0.0.1, this namespace);
  dpdk:   in a fresh network namespace (netns_run.sh), RR_DRIVER=dpdk:
          every Router on a net_tap port of its own.
Then compares the per-test outcomes. Exit 0 only if both runs pass (no
failure, error or unexpected success), the executed sets (test ids run
and not skipped) are identical and the skipped sets are identical (a declared gap, DECLARED_GAPS
below, is executed on both and must fail on dpdk with ParityGap); 77
(skipped) when netns_run.sh --check says the dpdk run cannot happen
here; 1 otherwise. Prints "socket: ran N skipped S; dpdk: ran N skipped
S" and every difference."""

import argparse
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
PY = '/usr/bin/python3'
BAD = ('fail', 'error', 'xpass')

# Tests that need what the dpdk driver does not have yet, each with the
# reason. Issue 6 itself defers it ("IPv6 is a later step; the docs say
# so"). A declared gap is held to exactly that: it must pass on the
# socket driver and, on the dpdk driver, be executed and fail with
# rrtest.ParityGap (raised before any router starts); any other outcome,
# including passing, fails the parity run (then the entry goes). It counts
# as executed on both sides: the counts stay comparable.
DECLARED_GAPS = {
    'test_proton_limits.TestListeners.test_ipv4_and_ipv6_listeners_route_to_each_other':
        'an IPv6 listener (::1): the native stack is IPv4 only, IPv6 is a later step '
        '(issue 6; docs/dpdk.md)',
}


def check_gaps(results):
    """The declared gaps present in this file: (ok, lines). Each one's
    dpdk failure is taken out of the dpdk run's failures."""
    ok, lines = True, []
    s_o, d_o = results['socket']['outcomes'], results['dpdk']['outcomes']
    for t, why in sorted(DECLARED_GAPS.items()):
        if t not in s_o and t not in d_o:
            continue
        s, d = s_o.get(t, 'not run'), d_o.get(t, 'not run')
        reason = results['dpdk']['reasons'].get(t, '')
        if s == 'pass' and d == 'fail' and reason.startswith('ParityGap:'):
            lines.append('  declared gap (executed on both, fails on dpdk as declared): '
                         '%s: %s' % (t, why))
            results['dpdk']['gap_failures'] = results['dpdk'].get('gap_failures', 0) + 1
            results['dpdk']['outcomes'][t] = 'gap'
        else:
            ok = False
            lines.append('  declared gap %s is not as declared: socket %s, dpdk %s %s '
                         '(it must pass on socket and fail with ParityGap on dpdk; '
                         'if it passes on dpdk now, remove it from DECLARED_GAPS)'
                         % (t, s, d, reason))
    return ok, lines


def run(driver, test_file, out_json, seconds, tmp):
    env = dict(os.environ)
    env['RR_TEST_TMP'] = os.path.join(tmp, driver)
    env.pop('RR_DRIVER', None)
    rec = [PY, os.path.join(HERE, 'run_recorded.py'), test_file, out_json]
    if driver == 'dpdk':
        cmd = ['bash', os.path.join(HERE, 'netns_run.sh'), str(seconds)] + rec
    else:
        env['RR_DRIVER'] = 'socket'
        cmd = ['timeout', '-k', '5', str(seconds)] + rec
    print('=== %s driver: %s' % (driver, ' '.join(cmd)), flush=True)
    rc = subprocess.call(cmd, env=env, stdin=subprocess.DEVNULL)
    print('=== %s driver: exit %d' % (driver, rc), flush=True)
    try:
        with open(out_json) as f:
            return rc, json.load(f)
    except (OSError, ValueError) as e:
        return rc, {'outcomes': {}, 'reasons': {}, 'missing': str(e)}


def summary(res):
    o = res['outcomes']
    ran = sorted(t for t, v in o.items() if v != 'skip')  # a 'gap' was executed
    skipped = sorted(t for t, v in o.items() if v == 'skip')
    bad = sorted(t for t, v in o.items() if v in BAD)
    return ran, skipped, bad


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('test_file')
    ap.add_argument('--timeout', type=int, default=600,
                    help='seconds per run (each driver)')
    ap.add_argument('--keep', help='keep the JSON results and router directories here')
    a = ap.parse_args()
    test_file = os.path.abspath(a.test_file)

    chk = subprocess.run(['bash', os.path.join(HERE, 'netns_run.sh'), '--check'],
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    if chk.returncode == 77:
        print(chk.stdout.decode(errors='replace').strip() or 'SKIP: netns_run.sh --check')
        return 77
    if chk.returncode != 0:
        print('netns_run.sh --check: exit %d\n%s' % (chk.returncode, chk.stdout.decode()))
        return 1

    base = os.environ.get('RR_TEST_TMP')
    if base:
        os.makedirs(base, exist_ok=True)
    tmp = a.keep or tempfile.mkdtemp(prefix='rrparity-', dir=base)
    os.makedirs(tmp, exist_ok=True)
    results = {}
    for driver in ('socket', 'dpdk'):
        rc, res = run(driver, test_file, os.path.join(tmp, driver + '.json'), a.timeout, tmp)
        if rc == 77 and driver == 'dpdk' and 'missing' in res:
            print('dpdk run skipped (netns_run.sh exit 77)')
            return 77
        res['rc'] = rc
        results[driver] = res

    ok, gap_lines = check_gaps(results)
    s_ran, s_skip, s_bad = summary(results['socket'])
    d_ran, d_skip, d_bad = summary(results['dpdk'])
    name = os.path.basename(test_file)
    workers = os.environ.get('RR_WORKERS') or '1'
    print('\n%s (RR_WORKERS=%s)' % (name, workers))
    for driver, bad in (('socket', s_bad), ('dpdk', d_bad)):
        res = results[driver]
        if 'missing' in res:
            print('  %s: no results (%s), exit %d' % (driver, res['missing'], res['rc']))
            ok = False
        elif bad or (res['rc'] != 0 and not (driver == 'dpdk' and res.get('gap_failures'))):
            # (the dpdk run exits 1 when a declared gap failed as declared;
            # every other failure is in bad)
            ok = False
            print('  %s: exit %d' % (driver, res['rc']))
            for t in bad:
                print('    %s %s: %s' % (res['outcomes'][t].upper(), t,
                                        res['reasons'].get(t, '')))
    for what, s_set, d_set in (('executed', s_ran, d_ran), ('skipped', s_skip, d_skip)):
        only_s = sorted(set(s_set) - set(d_set))
        only_d = sorted(set(d_set) - set(s_set))
        if only_s or only_d:
            ok = False
            print('  %s sets differ:' % what)
            for t in only_s:
                print('    socket only: %s (dpdk: %s %s)' % (
                    t, results['dpdk']['outcomes'].get(t, 'not run'),
                    results['dpdk']['reasons'].get(t, '')))
            for t in only_d:
                print('    dpdk only: %s (socket: %s %s)' % (
                    t, results['socket']['outcomes'].get(t, 'not run'),
                    results['socket']['reasons'].get(t, '')))
    print('socket: ran %d skipped %d; dpdk: ran %d skipped %d' % (
        len(s_ran), len(s_skip), len(d_ran), len(d_skip)))
    for line in gap_lines:
        print(line)
    for t in s_skip:
        print('  skipped on both: %s (%s)' % (t, results['socket']['reasons'].get(t, '')))
    print('PARITY: %s' % ('ok' if ok else 'FAILED'))
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main())
