"""rpcrouterd with proton-C clients (tests/system/proton_c_client.c): a plain
unsettled exchange, and a fast pre-settled sender to a slow receiver that
must lose nothing while the router's memory stays bounded."""

import subprocess
import sys
import time

import rrtest
from rrtest import RouterTestCase, unique

# 200k x 1 KiB = 200 MiB go through. The receiver reads at most ~65k
# messages/s (15 ms sleep per 1000), the proton-C sender writes several
# times that, so a router that buffered instead of pushing back would hold
# well over 64 MiB within the first second; one that pushes back holds a
# few credit windows (measured: 7 MiB with 1 worker, 17 MiB with 2).
RSS_LIMIT_KB = 64 * 1024


class TestProtonC(RouterTestCase):
    @classmethod
    def setUpClass(cls):
        if not rrtest.PROTON_C_CLIENT:
            raise rrtest.unittest.SkipTest('PROTON_C_CLIENT not set')
        cls.r = cls.class_router()

    def run_pair(self, addr, n, size, send_opts=(), recv_opts=(), timeout=120, sample=None):
        rcv = subprocess.Popen([rrtest.PROTON_C_CLIENT, 'recv', self.r.hostport, addr, str(n)]
                               + list(recv_opts) + ['--timeout', str(timeout)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        snd = subprocess.Popen([rrtest.PROTON_C_CLIENT, 'send', self.r.hostport, addr, str(n),
                                str(size)] + list(send_opts) + ['--timeout', str(timeout)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        procs = (rcv, snd)
        try:
            deadline = time.monotonic() + timeout + 10
            while any(p.poll() is None for p in procs) and time.monotonic() < deadline:
                if sample:
                    sample()
                time.sleep(0.05)
        finally:
            for p in procs:
                if p.poll() is None:
                    p.kill()
        outs = []
        for p in procs:
            out, err = p.communicate(timeout=10)
            outs.append((p.returncode, out.decode().strip(), err.decode().strip()))
        return outs

    def test_unsettled_exchange(self):
        addr = unique('openstack.org/om/rpc/anycast/pc')
        before = self.r.stats()
        (rc_r, out_r, err_r), (rc_s, out_s, err_s) = self.run_pair(addr, 2000, 100, timeout=60)
        self.assertEqual(rc_s, 0, 'sender: %s %s' % (out_s, err_s))
        self.assertEqual(rc_r, 0, 'receiver: %s %s' % (out_r, err_r))
        self.assertEqual(out_s, 'sent=2000 accepted=2000 rejected=0 released=0 modified=0')
        self.assertEqual(out_r, 'received=2000 in_order=2000 bad=0')
        self.assertGreaterEqual(self.delta(self.r, before, 'counters', 'unsettled_in'), 2000)

    def test_presettled_fast_sender_slow_receiver_bounded(self):
        # a router that dropped would leave the receiver short; one that
        # buffered would pass RSS_LIMIT_KB
        n = 200000
        addr = unique('openstack.org/om/rpc/unicast/pc-slow')
        before = self.r.stats()
        start_kb = self.r.rss_kb()
        peak = [start_kb]

        def sample():
            peak[0] = max(peak[0], self.r.rss_kb())
        (rc_r, out_r, err_r), (rc_s, out_s, err_s) = self.run_pair(
            addr, n, 1024, send_opts=['--presettled'],
            recv_opts=['--credit', '100', '--slow-every', '1000', '--slow-us', '15000'],
            timeout=120, sample=sample)
        self.assertEqual(rc_r, 0, 'receiver: %s %s' % (out_r, err_r))
        self.assertEqual(out_r, 'received=%d in_order=%d bad=0' % (n, n))
        self.assertEqual(rc_s, 0, 'sender: %s %s' % (out_s, err_s))
        sys.stderr.write('router VmRSS: %d KiB at start, %d KiB peak\n' % (start_kb, peak[0]))
        # the dpdk driver's EAL memory (-m 256: mempools, rings) is
        # resident from the start (430 MB here): there the bound is on what
        # the router grew by (the socket driver starts at a few MB)
        base = start_kb if self.r.driver == 'dpdk' else 0
        self.assertLess(peak[0] - base, RSS_LIMIT_KB, 'router VmRSS peaked at %d KiB (%d KiB '
                        'at start, %s driver)' % (peak[0], start_kb, self.r.driver))
        after = self.r.stats()
        for name in ('no_route_presettled', 'resource_limit', 'peer_stopped_reading'):
            self.assertEqual(self.delta(self.r, before, 'drops', name, after), 0, name)
        self.assertGreaterEqual(self.delta(self.r, before, 'counters', 'presettled_in', after), n)
        # both paths ran, and the receiver saw every message in order: some
        # cut through to the receiver while it had credit (on its own
        # worker, whichever worker the sender is on), the rest waited in
        # its queue when it had none (docs/adr/0007-cut-through.md)
        cut = self.delta(self.r, before, 'counters', 'cut_through', after)
        self.assertGreater(cut, 0, 'no message cut through')
        self.assertLess(cut, n, 'no message was queued for the slow receiver')


if __name__ == '__main__':
    rrtest.main()
