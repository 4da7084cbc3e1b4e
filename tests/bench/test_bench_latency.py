"""rpcrouter-bench's latency figures are right where the truth is known:
an independent peer (bench_peer, proton-C) that answers each request 2 ms
after it arrived, and one that stalls for 1 s in the middle of an open-loop
run. Both through rpcrouterd. Registered not parallel (tests/bench/
meson.build): the 2 ms window is about time, not speed.
"""

import rrtest
from benchlib import ADDRESSES, Peer, bench, check_line, require_tools


class Latency(rrtest.RouterTestCase):
    @classmethod
    def setUpClass(cls):
        require_tools()
        cls.rr = rrtest.Router(addresses=ADDRESSES)
        cls.rr.start()

    @classmethod
    def tearDownClass(cls):
        cls.rr.stop()

    def test_two_ms_peer_p50(self):
        with Peer(self.rr.url, 'bench/slow', '--delay-us', 2000) as peer:
            r = bench('rpc', '--url', self.rr.url, '--count', 500, '--inflight', 1,
                      '--no-server', '--address', 'bench/slow', '--timeout', 30)
        self.assertEqual(r.rc, 0, r.describe())
        lat = r.results['latency_us']
        self.assertEqual(lat['count'], 500)
        self.assertEqual(peer.result['replies'], 500)
        # each call takes the peer's 2 ms plus two router hops and the
        # peer's own timer: never less than 2 ms, and the median within
        # 300 us of the run's fastest call (no inflation of the figure).
        # The hops' cost is the build's: a fixed 2300 us bound failed by
        # 4 us in the ASan+UBSan build (fastest call 2089 us) on a slow
        # host; the cap keeps a slow fastest call from hiding one
        self.assertGreaterEqual(lat['min'], 2000.0, lat)
        self.assertGreaterEqual(lat['p50'], lat['min'], lat)
        self.assertLessEqual(lat['p50'], lat['min'] + 300.0, lat)
        self.assertLessEqual(lat['p50'], 2600.0, lat)

    def test_open_loop_keeps_its_rate_through_a_stall(self):
        with Peer(self.rr.url, 'bench/stall', '--stall-after', 2000, '--stall-ms', 1000) as peer:
            r = bench('rpc', '--url', self.rr.url, '--rate', 2000, '--duration', 4,
                      '--no-server', '--address', 'bench/stall', '--timeout', 30)
        self.assertEqual(r.rc, 0, r.describe())
        check_line(self, r.line)
        res = r.results
        # the scheduler kept sending while no reply came back ...
        self.assertLessEqual(abs(res['offered_rate'] - 2000) / 2000, 0.01, res)
        self.assertLessEqual(res['offered_rate_error'], 0.01)
        # ... so the calls caught in the stall waited about a second, timed
        # from when they were due
        self.assertGreaterEqual(res['latency_us']['max'], 1e6, res['latency_us'])
        self.assertLess(res['latency_us']['p50'], 1e6)
        self.assertEqual(res['lost'], 0)
        self.assertEqual(res['sent'], 8000)
        self.assertEqual(res['received'], 8000)
        self.assertEqual(peer.result['requests'], 8000)

    def test_closed_loop_stall_is_coordinated_omission(self):
        # the same stall in closed loop: requests stop while it lasts
        # (inflight 1), so only one call sees it; what the open loop is for
        with Peer(self.rr.url, 'bench/stall2', '--stall-after', 200, '--stall-ms', 300):
            r = bench('rpc', '--url', self.rr.url, '--count', 400, '--inflight', 1,
                      '--no-server', '--address', 'bench/stall2', '--timeout', 30)
        self.assertEqual(r.rc, 0, r.describe())
        lat = r.results['latency_us']
        self.assertGreaterEqual(lat['max'], 3e5)
        self.assertLess(lat['p99'], 3e5)


if __name__ == '__main__':
    rrtest.main()
