"""rpcrouter-bench measures correctly: counts, correlation, JSON, direct mode,
every scenario, exit codes, the report. Each test class starts its own
rpcrouterd on a free port (rrtest.Router) and stops it.

No speed is asserted anywhere: only what was counted and what was written.
"""

import os
import subprocess
import unittest
import xml.etree.ElementTree as ET

import rrtest
from benchlib import ADDRESSES, Peer, bench, check_line, free_port, require_tools, tmpdir


class ViaRouter(rrtest.RouterTestCase):
    @classmethod
    def setUpClass(cls):
        require_tools()
        cls.rr = rrtest.Router(addresses=ADDRESSES)
        cls.rr.start()

    @classmethod
    def tearDownClass(cls):
        cls.rr.stop()

    def run_ok(self, *args, **kw):
        r = bench(*args, **kw)
        self.assertEqual(r.rc, 0, r.describe())
        self.assertEqual(r.line['error'], '', r.describe())
        return r

    # -- counts ----------------------------------------------------------
    def check_counts(self, settle):
        r = self.run_ok('throughput', '--url', self.rr.url, '--count', 20000, settle,
                        '--address', 'bench/counts' + settle, '--timeout', 30)
        res = r.results
        check_line(self, r.line)
        self.assertEqual(res['sent'], 20000, r.describe())
        self.assertEqual(res['received'], 20000, r.describe())
        self.assertEqual(res['lost'], 0)
        self.assertEqual(res['duplicates'], 0)
        self.assertEqual(res['out_of_order'], 0)
        self.assertGreater(res['msg_per_s'], 0)
        self.assertGreater(res['elapsed_s'], 0)
        self.assertEqual(r.line['params']['presettled'], settle == '--presettled')
        if settle == '--unsettled':
            self.assertEqual(res['accepted'], 20000, r.describe())
        else:
            self.assertEqual(res['accepted'], 0)
        # every message's latency, from the tail's send time
        self.assertEqual(res['latency_us']['count'], 20000)

    def test_throughput_presettled_counts(self):
        self.check_counts('--presettled')

    def test_throughput_unsettled_counts(self):
        self.check_counts('--unsettled')

    def test_throughput_many_links(self):
        # 4 senders on 2 connections -> 3 receivers on 2 connections:
        # the router balances, per-sender order holds per receiver
        r = self.run_ok('throughput', '--url', self.rr.url, '--count', 12000, '--senders', 4,
                        '--receivers', 3, '--links-per-conn', 2, '--unsettled',
                        '--address', 'bench/many', '--timeout', 30)
        self.assertEqual(r.results['received'], 12000, r.describe())
        self.assertEqual(r.results['accepted'], 12000)
        self.assertEqual(r.results['lost'], 0)

    def test_rpc_correlation(self):
        r = self.run_ok('rpc', '--url', self.rr.url, '--count', 2000, '--address', 'bench/rpcc',
                        '--timeout', 30)
        res = r.results
        check_line(self, r.line)
        self.assertEqual(res['sent'], 2000, r.describe())
        self.assertEqual(res['received'], 2000)
        self.assertEqual(res['bad_correlation'], 0)
        self.assertEqual(res['lost'], 0)
        self.assertEqual(res['latency_us']['count'], 2000)
        self.assertEqual(res['server_requests'], 2000)
        self.assertEqual(res['server_replies'], 2000)

    def test_rpc_unsettled_inflight_no_anonymous_relay(self):
        r = self.run_ok('rpc', '--url', self.rr.url, '--count', 3000, '--senders', 3,
                        '--inflight', 8, '--unsettled', '--no-anonymous-relay',
                        '--address', 'bench/rpcu', '--timeout', 30)
        self.assertEqual(r.results['received'], 3000, r.describe())
        self.assertEqual(r.results['accepted'], 3000)
        self.assertEqual(r.results['bad_correlation'], 0)

    def test_rpc_fixed_reply_to(self):
        # no dynamic source: the replies come back on a named address
        r = self.run_ok('rpc', '--url', self.rr.url, '--count', 500, '--senders', 2,
                        '--reply-to', 'exclusive/bench-replies', '--address', 'bench/rpcf',
                        '--timeout', 30)
        self.assertEqual(r.results['received'], 500, r.describe())
        self.assertEqual(r.line['params']['reply_to'], 'exclusive/bench-replies')

    def test_rpc_bad_correlation_is_seen(self):
        # an independent server (proton-C) corrupting every 10th reply:
        # the check must fail, and say so in the line and the exit code
        with Peer(self.rr.url, 'bench/rpcbad', '--bad-correlation-every', 10) as peer:
            r = bench('rpc', '--url', self.rr.url, '--count', 2000, '--no-server',
                      '--address', 'bench/rpcbad', '--timeout', 30)
        self.assertEqual(peer.result['corrupted'], 200, peer.result)
        self.assertNotEqual(r.rc, 0, r.describe())
        res = r.results
        self.assertEqual(res['bad_correlation'], 200, r.describe())
        self.assertEqual(res['received'], 2000)
        self.assertIn('correlation', r.line['error'])
        # the corrupted calls are not timed
        self.assertEqual(res['latency_us']['count'], 1800)

    def test_unanswered_calls_count_as_lost(self):
        # the peer stops answering after 100 requests for longer than the
        # run may last: what never came back is lost, and the run failed
        with Peer(self.rr.url, 'bench/rpclost', '--stall-after', 100, '--stall-ms', 20000):
            r = bench('rpc', '--url', self.rr.url, '--count', 300, '--inflight', 4,
                      '--no-server', '--address', 'bench/rpclost', '--timeout', 2)
        self.assertNotEqual(r.rc, 0, r.describe())
        res = r.results
        self.assertEqual(res['received'], 99, r.describe())  # the 100th is held too
        self.assertEqual(res['lost'], res['sent'] - 99)
        self.assertGreater(res['lost'], 0)
        self.assertIn('timed out', r.line['error'])

    def test_rpc_against_proton_peer(self):
        with Peer(self.rr.url, 'bench/rpcpeer') as peer:
            r = self.run_ok('rpc', '--url', self.rr.url, '--count', 1000, '--no-server',
                            '--inflight', 4, '--address', 'bench/rpcpeer', '--timeout', 30)
        self.assertEqual(r.results['bad_correlation'], 0)
        self.assertEqual(r.results['received'], 1000)
        self.assertEqual(peer.result['requests'], 1000)

    def test_fanout_every_receiver_gets_every_message(self):
        r = self.run_ok('fanout', '--url', self.rr.url, '--count', 3000, '--receivers', 4,
                        '--links-per-conn', 2, '--timeout', 30)
        check_line(self, r.line)
        self.assertEqual(r.line['params']['address'], 'multicast/bench')
        self.assertEqual(r.results['sent'], 3000)
        self.assertEqual(r.results['received'], 12000, r.describe())
        self.assertEqual(r.results['lost'], 0)

    def test_connections_and_router_pid(self):
        r = self.run_ok('connections', '--url', self.rr.url, '--connections', 60,
                        '--links-per-conn', 3, '--hold', 0.3, '--router-pid', self.rr.pid,
                        '--timeout', 30)
        check_line(self, r.line, router=True)
        res = r.results
        self.assertEqual(res['connections_opened'], 60, r.describe())
        self.assertGreater(res['connect_s'], 0)
        self.assertGreater(res['connections_per_s'], 0)
        rt = r.line['router']
        self.assertEqual(rt['pid'], self.rr.pid)
        self.assertGreater(rt['rss_start_kb'], 0)
        self.assertGreaterEqual(rt['rss_peak_kb'], rt['rss_end_kb'])
        self.assertGreaterEqual(rt['rss_per_conn_bytes'], 0)

    def test_throughput_router_pid_duration(self):
        r = self.run_ok('throughput', '--url', self.rr.url, '--duration', 1, '--warmup', 0.2,
                        '--router-pid', self.rr.pid, '--address', 'bench/dur', '--timeout', 20)
        check_line(self, r.line, router=True)
        res = r.results
        # the measured interval is the duration, the counts the whole run
        self.assertAlmostEqual(res['elapsed_s'], 1.0, delta=0.05)
        self.assertEqual(res['lost'], 0)
        self.assertEqual(res['sent'], res['received'])
        rt = r.line['router']
        self.assertGreater(rt['cpu_s'], 0)
        self.assertGreater(rt['msg_per_router_cpu_s'], 0)
        # the user/kernel split (10 ms ticks) adds up to the exact CPU
        # time within a few ticks, and a socket router spends some of it
        # in each
        self.assertGreaterEqual(rt['user_s'], 0)
        self.assertGreaterEqual(rt['system_s'], 0)
        self.assertAlmostEqual(rt['user_s'] + rt['system_s'], rt['cpu_s'], delta=0.05)
        self.assertGreater(rt['user_s'], 0)
        self.assertGreater(rt['system_s'], 0)

    def test_handshake_cycles(self):
        r = self.run_ok('handshake', '--url', self.rr.url, '--count', 200, '--connections', 2,
                        '--timeout', 30)
        check_line(self, r.line)
        self.assertEqual(r.results['connections_opened'], 200, r.describe())
        self.assertGreater(r.results['connections_per_s'], 0)
        self.assertEqual(r.results['latency_us']['count'], 200)

    def test_rpc_serve_mode(self):
        # one rpcrouter-bench as the server, another as the client
        import time
        d = tmpdir()
        out = os.path.join(d, 'serve.jsonl')
        srv = subprocess.Popen([os.environ['RPCROUTER_BENCH'], 'rpc', '--serve', '--url',
                                self.rr.url, '--address', 'bench/served', '--duration', '20',
                                '--out', out, '--quiet'], stdin=subprocess.DEVNULL)
        rrtest.on_exit(lambda: srv.poll() is None and srv.kill())
        try:
            time.sleep(0.5)  # its receiver attaches (no ready file in serve mode)
            r = self.run_ok('rpc', '--url', self.rr.url, '--count', 1000, '--no-server',
                            '--address', 'bench/served', '--timeout', 30)
        finally:
            srv.terminate()
            rc = srv.wait(20)
        self.assertEqual(r.results['received'], 1000)
        self.assertEqual(rc, 0)
        import json
        with open(out) as f:
            line = json.loads(f.read())
        self.assertTrue(line['params']['serve'])
        self.assertEqual(line['results']['server_requests'], 1000)
        self.assertEqual(line['results']['server_replies'], 1000)

    # -- the report ------------------------------------------------------
    def test_report_renders(self):
        d = tmpdir()
        results = os.path.join(d, 'results.jsonl')
        sizes = [100, 400, 1600]
        for bs in sizes:
            r = bench('throughput', '--url', self.rr.url, '--count', 3000, '--body-size', bs,
                      '--label', 'rpcrouterd', '--out', results, '--address', 'bench/rep')
            self.assertEqual((r.rc, r.lines), (0, []), r.describe())  # to the file only
        r = bench('rpc', '--url', self.rr.url, '--count', 300, '--label', 'rpcrouterd',
                  '--out', results, '--address', 'bench/reprpc')
        self.assertEqual(r.rc, 0, r.describe())
        with open(results) as f:
            lines = [l for l in f if l.strip()]
        self.assertEqual(len(lines), 4)
        md = os.path.join(d, 'report.md')
        img = os.path.join(d, 'img')
        os.makedirs(img)
        p = subprocess.run([os.environ['RPCROUTER_BENCH'], 'report', '--md', md, '--img-dir',
                            img, results], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr.decode())
        with open(md) as f:
            text = f.read()
        # the throughput table: one row per run (body size), the first cell
        # of a row's first line
        section = text.split('### throughput', 1)[1].split('### ', 1)[0]
        rows = [l.split('|')[1].strip() for l in section.splitlines()
                if l.startswith('|') and not l.startswith('|--') and not l.startswith('|:')
                and not l.startswith('|-')]
        row_keys = [c for c in rows[1:] if c]  # skip the header line
        self.assertEqual(row_keys, [str(s) for s in sizes], section)
        self.assertIn('### rpc', text)
        svgs = [f for f in os.listdir(img) if f.endswith('.svg')]
        self.assertTrue(svgs, 'no plots')
        for s in svgs:
            root = ET.parse(os.path.join(img, s)).getroot()
            self.assertTrue(root.tag.endswith('svg'), s)


class Sasl(rrtest.RouterTestCase):
    """handshake with SASL PLAIN against a router that authenticates."""

    @classmethod
    def setUpClass(cls):
        require_tools()
        cls.rr = rrtest.Router(sasl=rrtest.Sasl(users={'bench': 'secret'}))
        cls.rr.start()

    @classmethod
    def tearDownClass(cls):
        cls.rr.stop()

    def test_plain_handshakes(self):
        r = bench('handshake', '--url', self.rr.url, '--count', 50, '--sasl-mech', 'PLAIN',
                  '--user', 'bench', '--password', 'secret', '--timeout', 30)
        self.assertEqual(r.rc, 0, r.describe())
        self.assertEqual(r.results['connections_opened'], 50)

    def test_user_in_the_url(self):
        url = self.rr.url.replace('amqp://', 'amqp://bench:secret@')
        r = bench('throughput', '--url', url, '--count', 1000, '--address', 'bench/sasl',
                  '--timeout', 30)
        self.assertEqual(r.rc, 0, r.describe())
        self.assertEqual(r.line['params']['sasl_mech'], 'PLAIN')
        self.assertEqual(r.results['received'], 1000)

    def test_wrong_password_fails(self):
        r = bench('handshake', '--url', self.rr.url, '--count', 5, '--sasl-mech', 'PLAIN',
                  '--user', 'bench', '--password', 'wrong', '--timeout', 10, timeout=40)
        self.assertNotEqual(r.rc, 0, r.describe())
        self.assertEqual(r.results['connections_opened'], 0)
        self.assertNotEqual(r.line['error'], '')


class Direct(unittest.TestCase):
    """--direct: no router; this process listens on the URL's port."""

    @classmethod
    def setUpClass(cls):
        require_tools()

    def url(self):
        return 'amqp://127.0.0.1:%d' % free_port()

    def test_direct_throughput(self):
        for settle in ('--presettled', '--unsettled'):
            r = bench('throughput', '--direct', '--url', self.url(), '--count', 20000, settle,
                      '--senders', 2, '--timeout', 30)
            self.assertEqual(r.rc, 0, r.describe())
            check_line(self, r.line)
            self.assertTrue(r.line['direct'])
            self.assertEqual(r.line['target'], 'direct')
            self.assertEqual(r.results['received'], 20000)
            self.assertEqual(r.results['lost'], 0)
            if settle == '--unsettled':
                self.assertEqual(r.results['accepted'], 20000)

    def test_direct_rpc(self):
        r = bench('rpc', '--direct', '--url', self.url(), '--count', 1000, '--inflight', 2,
                  '--timeout', 30)
        self.assertEqual(r.rc, 0, r.describe())
        self.assertEqual(r.results['received'], 1000)
        self.assertEqual(r.results['bad_correlation'], 0)

    def test_direct_handshake_plain(self):
        r = bench('handshake', '--direct', '--url', self.url(), '--count', 100,
                  '--sasl-mech', 'PLAIN', '--user', 'u', '--password', 'p', '--timeout', 30)
        self.assertEqual(r.rc, 0, r.describe())
        self.assertEqual(r.results['connections_opened'], 100)
        self.assertEqual(r.line['params']['sasl_mech'], 'PLAIN')

    def test_direct_fanout_is_refused(self):
        r = bench('fanout', '--direct', '--url', self.url(), '--count', 10, '--timeout', 10)
        self.assertNotEqual(r.rc, 0)
        self.assertIn('multicast', r.line['error'])


class Refusals(unittest.TestCase):
    """What the harness must not do, and failures it must report."""

    @classmethod
    def setUpClass(cls):
        require_tools()

    def test_non_loopback_refused(self):
        r = bench('throughput', '--url', 'amqp://192.0.2.1:5672', '--count', 10, timeout=10)
        self.assertNotEqual(r.rc, 0)
        check_line(self, r.line)
        self.assertIn('loopback', r.line['error'])
        self.assertEqual(r.results['sent'], 0)

    def test_nobody_listening_is_an_error(self):
        r = bench('throughput', '--url', 'amqp://127.0.0.1:%d' % free_port(), '--count', 10,
                  '--timeout', 5, timeout=30)
        self.assertNotEqual(r.rc, 0)
        self.assertNotEqual(r.line['error'], '')

    def test_timeout_bounds_the_run(self):
        # a listener that never answers: the hard cap ends the run
        import socket
        import time
        s = socket.socket()
        s.bind(('127.0.0.1', 0))
        s.listen(8)
        try:
            t = time.monotonic()
            r = bench('throughput', '--url', 'amqp://127.0.0.1:%d' % s.getsockname()[1],
                      '--count', 10, '--timeout', 1.5, timeout=30)
            took = time.monotonic() - t
        finally:
            s.close()
        self.assertNotEqual(r.rc, 0)
        self.assertIn('timed out', r.line['error'])
        self.assertLess(took, 10)

    def test_usage_errors(self):
        for args in (['nosuch', '--url', 'amqp://127.0.0.1:1'],
                     ['throughput'],
                     ['throughput', '--url', 'amqp://127.0.0.1:1', '--body-size', 'x'],
                     ['throughput', '--url', 'amqp://127.0.0.1:1', '--rate', '10']):
            r = bench(*args, timeout=10)
            self.assertEqual(r.rc, 2, args)
            self.assertEqual(r.lines, [], args)


if __name__ == '__main__':
    rrtest.main()
