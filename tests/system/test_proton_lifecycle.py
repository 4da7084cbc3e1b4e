"""Workers (connections spread over them, cross-core forwarding), SIGTERM
shutdown, SASL PLAIN against a Cyrus sasldb, and the control socket's handling of a silent client."""

import json
import re
import signal
import socket
import time

from proton import uint

import rrtest
from rrtest import (AMQP_HEADER, RawAmqp, RouterTestCase, Sasl, frame, outcome, perf,
                    unique)


def conns_per_worker(r):
    return {w['id']: w['connections'] for w in r.stats()['workers']}


class TestWorkers(RouterTestCase):
    def test_connections_on_both_workers_and_cross_core_pair(self):
        if rrtest.workers() < 2:
            self.skipTest('needs RR_WORKERS=2')
        r = self.router()
        cl = self.client()

        def open_and_locate():
            return rrtest.connect_located(cl, r)

        cr, wr = open_and_locate()
        cs, ws = None, None
        spare = []
        # the socket driver gives the next connection to the least loaded
        # worker; the dpdk driver's steering hash picks one by the 4-tuple
        # (each try: 1/2 on the same worker), so up to 20 tries
        for _ in range(20):
            c, w = open_and_locate()
            if w != wr:
                cs, ws = c, w
                break
            spare.append(c)
        self.assertIsNotNone(cs, 'every connection landed on worker %d' % wr)
        per = conns_per_worker(r)
        self.assertTrue(all(per[w] >= 1 for w in (0, 1)), per)

        addr = unique('openstack.org/om/rpc/unicast/xcore')
        rcv = cr.receiver(addr, credit=50, auto_accept=True)
        snd = cs.sender(addr)
        cl.wait(lambda: snd.credit > 0, 5, 'credit across workers')
        before = r.stats()
        ds = [snd.send(body=i) for i in range(20)]
        cl.wait(lambda: all(outcome(d) for d in ds), 10, 'outcomes across workers')
        self.assertEqual([outcome(d) for d in ds], ['ACCEPTED'] * 20)
        self.assertEqual(rcv.bodies(), list(range(20)))
        after = r.stats()
        out = (r.worker_stats(ws, after)['counters']['xcore_out'] -
               r.worker_stats(ws, before)['counters']['xcore_out'])
        inn = (r.worker_stats(wr, after)['counters']['xcore_in'] -
               r.worker_stats(wr, before)['counters']['xcore_in'])
        self.assertGreaterEqual(out, 20, 'xcore_out on the sender\'s worker %d' % ws)
        self.assertGreaterEqual(inn, 20, 'xcore_in on the receiver\'s worker %d' % wr)

    def test_one_worker_no_cross_core(self):
        if rrtest.workers() != 1:
            self.skipTest('RR_WORKERS=1 only')
        r = self.router()
        cl = self.client()
        addr = unique('openstack.org/om/rpc/unicast/local')
        rcv = cl.connect(r.url).receiver(addr, credit=20, auto_accept=True)
        snd = cl.connect(r.url).sender(addr)
        cl.wait(lambda: snd.credit > 0, 5, 'credit')
        before = r.stats()
        ds = [snd.send(body=i) for i in range(10)]
        cl.wait(lambda: all(outcome(d) for d in ds), 5, 'outcomes')
        self.assertEqual(len(rcv.messages), 10)
        self.assertEqual(self.delta(r, before, 'counters', 'xcore_out'), 0)
        self.assertGreaterEqual(self.delta(r, before, 'counters', 'transfers_out'), 10)


class TestShutdown(RouterTestCase):
    def shutdown_with_traffic(self):
        """A consumer holding one forwarded unsettled delivery (credit 1)
        and one more queued for it; then SIGTERM. Returns the connections
        and the two deliveries after both connections got their Close."""
        r = self.router()
        cl = self.client()
        cr, cs = cl.connect(r.url), cl.connect(r.url)
        addr = unique('openstack.org/om/rpc/unicast/shutdown')
        rcv = cr.receiver(addr, credit=1)
        snd = cs.sender(addr)
        cl.wait(lambda: snd.credit > 0, 5, 'credit')
        d1 = snd.send(body='forwarded')
        cl.wait(lambda: rcv.messages, 5, 'the first message')
        d2 = snd.send(body='queued')
        cl.run_for(0.2)
        r.proc.send_signal(signal.SIGTERM)
        cl.wait(lambda: cr.closed and cs.closed, 10, 'Close on both connections')
        self.assertEqual(r.stop(), 0)
        return cr, cs, d1, d2

    def test_sigterm_closes_with_forced_exit_0(self):
        cr, cs, _, _ = self.shutdown_with_traffic()
        for c in (cr, cs):
            self.assertIsNotNone(c.remote_condition, 'Close without a condition')
            self.assertEqual(c.remote_condition.name, 'amqp:connection:forced')

    def test_sigterm_settles_in_flight_deliveries(self):
        # forwarded -> MODIFIED delivery-failed, never forwarded -> RELEASED,
        # both settled before the producer's Close
        _, _, d1, d2 = self.shutdown_with_traffic()
        self.assertEqual((outcome(d1), bool(d1.remote.failed), outcome(d2)),
                         ('MODIFIED', True, 'RELEASED'),
                         'outcomes (forwarded, delivery-failed, queued) at shutdown')

    def test_sigterm_idle_exit_0(self):
        r = self.router()
        self.assertEqual(r.stop(), 0)


class TestControlSocket(RouterTestCase):
    def test_silent_client_gets_no_answer_and_stats_still_work(self):
        # control waits 50 ms for a request line, then closes without an
        # answer (ctl_stats.c); rpcrouter-ctl asks again when it gets
        # nothing, so a stats reader descheduled between connect and send
        # is not killed by SIGPIPE (it used to be: exit -13)
        r = self.router()
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(5)
        s.connect(r.ctl_socket)
        t0 = time.monotonic()
        self.assertEqual(s.recv(4096), b'', 'control answered a request never sent')
        self.assertLess(time.monotonic() - t0, 4.0, 'control kept a silent client')
        s.close()
        self.assertIn('connections_live', json.dumps(r.stats()['control']))
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(5)
        s.connect(r.ctl_socket)
        s.sendall(b'bogus\n')
        self.assertIn(b'unknown request', s.recv(4096))
        s.close()


class TestHeartbeats(RouterTestCase):
    @classmethod
    def setUpClass(cls):
        cls.r = cls.class_router(listeners=[{'idleTimeoutSeconds': 2}])

    def test_router_sends_empty_frames_within_our_idle_timeout(self):
        raw = RawAmqp(self.r.port, self.r.host)
        self.addCleanup(raw.close)
        # our Open's idle-time-out 1000 ms: the router must send something
        # at least once a second (AMQP 2.4.5); we keep the router's side
        # alive with empty frames of our own
        raw.sasl_anonymous()
        raw.send(AMQP_HEADER + frame(0, perf('open', 'hb', None, None, None, uint(1000))))
        self.assertEqual(raw.read_bytes(8), AMQP_HEADER)
        raw.expect('open')
        empties = 0
        deadline = time.monotonic() + 3.2
        while time.monotonic() < deadline:
            raw.send(frame(0, b''))
            try:
                f = raw.read_frame(0.3)
            except socket.timeout:
                continue
            self.assertIsNotNone(f, 'the router closed a live connection')
            if f.name is None:
                empties += 1
        self.assertGreaterEqual(empties, 2, 'empty frames from the router in 3.2 s')

    def test_silent_peer_closed_after_idle_timeout(self):
        before = self.r.stats()
        raw = RawAmqp(self.r.port, self.r.host)
        self.addCleanup(raw.close)
        raw.open()
        # now silent: the listener's idleTimeoutSeconds is 2
        t0 = time.monotonic()
        frames = raw.frames_until_eof(10)
        elapsed = time.monotonic() - t0
        self.assertGreaterEqual(elapsed, 1.5, 'closed before the idle-timeout')
        conds = [f.condition() for f in frames if f.name == 'close']
        self.assertEqual([c[0] for c in conds if c], ['amqp:resource-limit-exceeded'], frames)
        rrtest.wait_until(lambda: self.delta(self.r, before, 'drops', 'idle_timeout') >= 1, 5,
                          'drops.idle_timeout')
        self.assertEqual(self.delta(self.r, before, 'drops', 'idle_timeout'), 1)


class TestSasl(RouterTestCase):
    @classmethod
    def setUpClass(cls):
        cls.r = cls.class_router(sasl=Sasl(users={'alice': 'secret'}))

    def test_plain_right_password_routes(self):
        cl = self.client()
        c = cl.connect(self.r.url, user='alice', password='secret', allowed_mechs='PLAIN')
        self.assertTrue(c.opened, 'PLAIN with the right password refused: %s'
                        % c.transport_condition)
        addr = unique('openstack.org/om/rpc/unicast/sasl')
        rcv = c.receiver(addr, credit=5, auto_accept=True)
        snd = c.sender(addr)
        cl.wait(lambda: snd.credit > 0, 5, 'credit')
        d = snd.send(body='authenticated')
        cl.wait(lambda: outcome(d), 5, 'the outcome')
        self.assertEqual(outcome(d), 'ACCEPTED')
        self.assertEqual(rcv.bodies(), ['authenticated'])

    def test_plain_wrong_password_refused(self):
        before = self.r.stats()
        cl = self.client()
        c = cl.connect(self.r.url, user='alice', password='wrong', allowed_mechs='PLAIN')
        cl.wait(lambda: c.transport_closed or c.transport_condition, 5, 'the refusal')
        self.assertFalse(c.opened, 'a wrong password was accepted')
        self.assertIsNotNone(c.transport_condition)
        self.assertEqual(c.transport_condition.name, 'amqp:unauthorized-access')
        rrtest.wait_until(lambda: self.r.control()['auth_failures'] >
                          before['control']['auth_failures'], 5, 'control.auth_failures')
        self.assertEqual(self.r.control()['auth_failures'] - before['control']['auth_failures'], 1)
        # "counted and logged once"
        self.assertTrue(re.search(r'auth', self.r.log_text(), re.I), 'no log of the failure')

    def test_unknown_user_refused(self):
        before = self.r.stats()
        cl = self.client()
        c = cl.connect(self.r.url, user='mallory', password='secret', allowed_mechs='PLAIN')
        cl.wait(lambda: c.transport_closed or c.transport_condition, 5, 'the refusal')
        self.assertFalse(c.opened)
        rrtest.wait_until(lambda: self.r.control()['auth_failures'] >
                          before['control']['auth_failures'], 5, 'control.auth_failures')


if __name__ == '__main__':
    rrtest.main()
