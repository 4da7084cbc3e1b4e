"""benchlib: what the rpcrouter-bench harness tests share.

The router fixture is tests/system/rrtest.py (on PYTHONPATH from
tests/bench/meson.build); this adds running rpcrouter-bench and bench_peer
and checking their JSON lines (the format: bench_json.md, schema 1).

Environment (tests/bench/meson.build): RPCROUTERD, RPCROUTER_CTL (optional),
RPCROUTER_BENCH, BENCH_PEER, RR_TEST_TMP.
"""

import json
import os
import signal
import socket
import subprocess
import tempfile
import time
import unittest

import rrtest

BENCH = os.environ.get('RPCROUTER_BENCH', '')
PEER = os.environ.get('BENCH_PEER', '')

# Keys every result line has (bench_json.md), at every level.
TOP_KEYS = ['schema', 'tool', 'scenario', 'target', 'url', 'direct', 'params', 'results',
            'env', 'error']
PARAM_KEYS = ['body_size', 'senders', 'receivers', 'links_per_conn', 'credit', 'presettled',
              'duration_s', 'count', 'inflight', 'rate', 'connections', 'address',
              'threads', 'cpus']
RESULT_KEYS = ['elapsed_s', 'sent', 'received', 'accepted', 'rejected', 'released',
               'modified', 'lost', 'duplicates', 'out_of_order', 'bad_correlation',
               'msg_per_s', 'mb_per_s', 'latency_us', 'offered_rate', 'offered_rate_error',
               'connections_opened', 'connect_s', 'connections_per_s']
LATENCY_KEYS = ['count', 'min', 'mean', 'p50', 'p90', 'p99', 'p999', 'max', 'cdf']
ROUTER_KEYS = ['pid', 'cpu_s', 'user_s', 'system_s', 'rss_start_kb', 'rss_end_kb', 'rss_peak_kb',
               'msg_per_router_cpu_s', 'rss_per_conn_bytes']
ENV_KEYS = ['git_sha', 'command', 'cpu_model', 'cores', 'kernel', 'vm', 'hostname', 'time',
            'version']

# The extra address the fanout scenario's default ("multicast/bench") needs.
ADDRESSES = rrtest.DEFAULT_ADDRESSES + [('multicast', 'multicast')]


def require_tools():
    if not BENCH or not os.access(BENCH, os.X_OK):
        raise unittest.SkipTest('RPCROUTER_BENCH is not set')
    if not PEER or not os.access(PEER, os.X_OK):
        raise unittest.SkipTest('BENCH_PEER is not set')


def tmpdir():
    base = os.environ.get('RR_TEST_TMP') or tempfile.gettempdir()
    os.makedirs(base, exist_ok=True)
    return tempfile.mkdtemp(prefix='bench-', dir=base)


class Run:
    """One finished rpcrouter-bench process: rc, its JSON lines, stderr."""

    def __init__(self, args, rc, out, err):
        self.args = args
        self.rc = rc
        self.stdout = out
        self.stderr = err
        self.lines = [json.loads(l) for l in out.splitlines() if l.strip()]

    @property
    def line(self):
        if len(self.lines) != 1:
            raise AssertionError('expected one JSON line, got %d\nstdout: %s\nstderr: %s'
                                 % (len(self.lines), self.stdout, self.stderr))
        return self.lines[0]

    @property
    def results(self):
        return self.line['results']

    def describe(self):
        return 'rpcrouter-bench %s\nrc %s\nstdout: %s\nstderr: %s' % (
            ' '.join(self.args), self.rc, self.stdout[:3000], self.stderr[-3000:])


def bench(*args, timeout=60):
    """Runs rpcrouter-bench with args (--quiet added), bounded by timeout."""
    argv = [BENCH] + [str(a) for a in args] + ['--quiet']
    p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=timeout, stdin=subprocess.DEVNULL)
    return Run([str(a) for a in args], p.returncode, p.stdout.decode(errors='replace'),
               p.stderr.decode(errors='replace'))


def free_port():
    return rrtest.free_port()


class Peer:
    """bench_peer rpc-server connected to url, started and waited for (its
    request receiver attached), stopped by SIGTERM; .result is its JSON."""

    def __init__(self, url, address, *extra, timeout=60):
        self.dir = tmpdir()
        self.ready = os.path.join(self.dir, 'ready')
        self.out_path = os.path.join(self.dir, 'peer.json')
        self.argv = [PEER, 'rpc-server', '--url', url, '--address', address,
                     '--ready-file', self.ready, '--timeout', str(timeout)] + \
            [str(e) for e in extra]
        self.proc = None
        self.result = None

    def __enter__(self):
        self.out = open(self.out_path, 'wb')
        self.proc = subprocess.Popen(self.argv, stdout=self.out, stderr=subprocess.PIPE,
                                     stdin=subprocess.DEVNULL)
        rrtest.on_exit(self.kill)
        deadline = time.monotonic() + 10
        while not os.path.exists(self.ready):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.kill()
                raise AssertionError('bench_peer did not become ready: %s'
                                     % self.proc.stderr.read().decode(errors='replace'))
            time.sleep(0.02)
        return self

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()
        self.out.close()
        with open(self.out_path) as f:
            text = f.read().strip()
        self.result = json.loads(text) if text else None
        return self.result

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)

    def __exit__(self, *exc):
        self.stop()
        return False


def check_line(tc, line, router=False):
    """Every key bench_json.md requires, with numbers as numbers."""
    for k in TOP_KEYS:
        tc.assertIn(k, line)
    tc.assertEqual(line['schema'], 1)
    tc.assertEqual(line['tool'], 'rpcrouter-bench')
    for k in PARAM_KEYS:
        tc.assertIn(k, line['params'], 'params.%s' % k)
    for k in RESULT_KEYS:
        tc.assertIn(k, line['results'], 'results.%s' % k)
    for k in LATENCY_KEYS:
        tc.assertIn(k, line['results']['latency_us'], 'latency_us.%s' % k)
    for k in ENV_KEYS:
        tc.assertIn(k, line['env'], 'env.%s' % k)
    for k, v in line['results'].items():
        if k != 'latency_us':
            tc.assertIsInstance(v, (int, float), 'results.%s is not a number' % k)
            tc.assertNotIsInstance(v, bool, 'results.%s' % k)
    cdf = line['results']['latency_us']['cdf']
    tc.assertLessEqual(len(cdf), 200)
    fr = [p[1] for p in cdf]
    tc.assertEqual(fr, sorted(fr))
    tc.assertEqual(len(set(fr)), len(fr), 'cdf fractions strictly ascending')
    if cdf:
        tc.assertEqual(fr[-1], 1)
        vals = [p[0] for p in cdf]
        tc.assertEqual(vals, sorted(vals))
    tc.assertIsInstance(line['env']['cores'], int)
    tc.assertIsInstance(line['env']['vm'], bool)
    tc.assertRegex(line['env']['time'], r'^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$')
    tc.assertTrue(line['env']['command'].startswith('rpcrouter-bench '))
    if router:
        tc.assertIn('router', line)
        for k in ROUTER_KEYS:
            tc.assertIn(k, line['router'], 'router.%s' % k)
    else:
        tc.assertNotIn('router', line)
