"""Limits, listeners and logging: the pre-Open handshake timeout, the
router's maxConnections, a listener's maxSessions and maxFrameSize, the
dataplane's maxLinksPerConnection and maxMessageSize (each refused with
its condition and counted), several listeners (IPv4 and IPv6) routing to
each other, the `log` section (file, levels, connection and
authentication lines), expiry from absolute-expiry-time versus ttl, and
anonymous relay without a `to`.

Every limit is set low in the test's own router so that it is hit with a
handful of frames; each refusal is checked on the wire and by its counter
(rpcrouter-ctl stats), and the connection or the router keeps serving
what is within the limit."""

import re
import socket
import time

from proton import Message, symbol, uint

import rrtest
from rrtest import (AMQP_HEADER, SASL_HEADER, RawAmqp, RouterTestCase, Sasl, frame,
                    message_bytes, outcome, perf, unique)


def roundtrip(tc, cl, conn_rcv, conn_snd, prefix='openstack.org/om/rpc/unicast/limits',
              body='ping', timeout=5):
    """A receiver on conn_rcv, a sender on conn_snd, one unsettled message:
    asserts it is ACCEPTED and arrives. Returns (sender, receiver)."""
    addr = unique(prefix)
    rcv = conn_rcv.receiver(addr, credit=10, auto_accept=True)
    snd = conn_snd.sender(addr)
    cl.wait(lambda: snd.credit > 0, timeout, 'credit on %s' % addr)
    d = snd.send(body=body)
    cl.wait(lambda: outcome(d), timeout, 'the outcome of %r' % body)
    tc.assertEqual(outcome(d), 'ACCEPTED')
    tc.assertEqual(rcv.bodies(), [body])
    return snd, rcv


def sync_table(r, before, timeout=2.0):
    """Wait (softly, at most timeout) until every worker adopted an address
    table newer than in `before`: a consumer that just attached on one
    worker is then visible to anonymous-relay lookups on the other."""
    def adopted():
        s = r.stats()
        for w in s['workers']:
            old = r.worker_stats(w['id'], before)['counters']['table_versions']
            if w['counters']['table_versions'] <= old:
                return False
        return True
    try:
        rrtest.wait_until(adopted, timeout, 'every worker to adopt the new address table')
    except AssertionError:
        pass


def log_file_text(r):
    """The router's log file only (not its stderr): what the log section's
    outputFile received."""
    try:
        with open(r.log_path, errors='replace') as f:
            return f.read()
    except OSError:
        return ''


def raw_wait_for_credit(raw, handle, timeout=5.0):
    """Read frames until a flow giving link credit on `handle`."""
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError('no credit on handle %d' % handle)
        f, _ = raw.expect('flow', left)
        if f.field(4) is not None and int(f.field(4)) == handle and int(f.field(6) or 0) > 0:
            return f


class TestHandshakeTimeout(RouterTestCase):
    @classmethod
    def setUpClass(cls):
        cls.r = cls.class_router(listeners=[{'initialHandshakeTimeoutSeconds': 1}])

    def test_silent_and_sasl_header_only_clients_closed(self):
        r = self.r
        cl = self.client()
        # a normal client, opened before and kept across the timeout
        cr, cs = cl.connect(r.url), cl.connect(r.url)
        self.assertTrue(cr.opened and cs.opened)
        before = r.stats()
        silent = RawAmqp(r.port, r.host)
        self.addCleanup(silent.close)
        half = RawAmqp(r.port, r.host)
        self.addCleanup(half.close)
        t0 = time.monotonic()
        half.send(SASL_HEADER)
        self.assertEqual(half.read_bytes(8), SASL_HEADER)
        half.expect('sasl-mechanisms')
        # meanwhile the normal connections route
        roundtrip(self, cl, cr, cs, body='during')
        self.assertTrue(silent.wait_eof(6), 'a silent client was not closed')
        self.assertTrue(half.wait_eof(6), 'a client that sent only the SASL header was not closed')
        elapsed = time.monotonic() - t0
        self.assertGreaterEqual(elapsed, 0.9, 'closed before initialHandshakeTimeoutSeconds (1)')
        self.assertEqual(silent.buf, b'', 'the silent client got bytes')
        rrtest.wait_until(lambda: self.delta(r, before, 'drops', 'handshake_timeout') >= 2, 5,
                          'drops.handshake_timeout')
        self.assertEqual(self.delta(r, before, 'drops', 'handshake_timeout'), 2)
        # the opened connections are not subject to the handshake timeout
        self.assertFalse(cr.closed or cs.closed or cr.transport_closed or cs.transport_closed)
        roundtrip(self, cl, cr, cs, body='after')


class TestMaxConnections(RouterTestCase):
    def test_fourth_connection_refused_then_accepted_after_a_close(self):
        r = self.router(dataplane={'maxConnections': 3})
        raws = []
        for i in range(3):
            raw = RawAmqp(r.port, r.host)
            self.addCleanup(raw.close)
            raw.open(container_id='c%d' % i)
            raws.append(raw)
        before = r.stats()
        extra = RawAmqp(r.port, r.host, reset_ok=True)
        self.addCleanup(extra.close)
        t0 = time.monotonic()
        self.assertTrue(extra.wait_eof(3), 'a 4th connection (maxConnections 3) stayed open')
        self.assertLess(time.monotonic() - t0, 3)
        self.assertEqual(extra.buf, b'', 'the refused connection got bytes')
        rrtest.wait_until(lambda: r.control()['refused_max_connections'] >
                          before['control']['refused_max_connections'], 5,
                          'control.refused_max_connections')
        self.assertEqual(r.control()['refused_max_connections'] -
                         before['control']['refused_max_connections'], 1)
        # the three are unharmed
        for raw in raws:
            raw.begin()
        # one goes; control logs its close on the thread that admits the
        # next (info+ log): after that line, a new one is accepted
        closed_before = log_file_text(r).count('Connection closed')
        raws[0].send(frame(0, perf('close')))
        raws[0].expect('close')
        raws[0].close()
        rrtest.wait_until(lambda: log_file_text(r).count('Connection closed') > closed_before, 5,
                          'the close in the log')
        again = RawAmqp(r.port, r.host)
        self.addCleanup(again.close)
        o = again.open(container_id='again')
        self.assertEqual(o.name, 'open')
        self.assertEqual(r.control()['refused_max_connections'] -
                         before['control']['refused_max_connections'], 1)


class TestSessionsAndFrames(RouterTestCase):
    @classmethod
    def setUpClass(cls):
        cls.r = cls.class_router(listeners=[{'maxSessions': 2, 'maxFrameSize': 4096}])

    def test_channel_max_and_max_frame_announced(self):
        raw = RawAmqp(self.r.port, self.r.host)
        self.addCleanup(raw.close)
        o = raw.open()
        self.assertEqual(int(o.field(2)), 4096, 'max-frame-size in the router\'s Open')
        self.assertEqual(int(o.field(3)), 1, 'channel-max = maxSessions - 1')

    def test_third_begin_beyond_channel_max_refused(self):
        # with maxSessions 2 the router announces channel-max 1: a Begin on
        # channel 2 is outside it, so the connection closes with
        # framing-error (AMQP 1.0 part 2.7.1)
        before = self.r.stats()
        raw = RawAmqp(self.r.port, self.r.host)
        self.addCleanup(raw.close)
        raw.open()
        raw.begin(channel=0)
        raw.begin(channel=1)
        raw.send(frame(2, perf('begin', None, uint(0), uint(2048), uint(2048))))
        frames = raw.frames_until_eof(5)
        self.assertNotIn('begin', [f.name for f in frames], frames)
        closes = [f for f in frames if f.name == 'close']
        self.assertEqual(len(closes), 1, frames)
        self.assertEqual(closes[0].condition()[0], 'amqp:connection:framing-error')
        rrtest.wait_until(lambda: self.delta(self.r, before, 'drops', 'framing_error') >= 1, 5,
                          'drops.framing_error')
        self.assertEqual(self.delta(self.r, before, 'drops', 'framing_error'), 1)

    def test_two_sessions_route(self):
        # within the limit: two sessions on one connection carry traffic
        raw = RawAmqp(self.r.port, self.r.host)
        self.addCleanup(raw.close)
        raw.open()
        raw.begin(channel=0)
        raw.begin(channel=1)
        cl = self.client()
        addr = unique('openstack.org/om/rpc/unicast/sessions')
        rcv = cl.connect(self.r.url).receiver(addr, credit=5, auto_accept=True)
        raw.attach('s1', 0, False, addr, channel=1)
        raw_wait_for_credit(raw, 0)
        raw.transfer(1, 0, 0, b't', message_bytes(b'second-session', addr), settled=True)
        cl.wait(lambda: rcv.messages, 5, 'the message from the second session')
        self.assertEqual(rcv.bodies(), [b'second-session'])


class TestLinksAndMessageSize(RouterTestCase):
    @classmethod
    def setUpClass(cls):
        cls.r = cls.class_router(dataplane={'maxLinksPerConnection': 3,
                                            'maxMessageSize': 10000})

    def test_fourth_attach_refused_connection_keeps_working(self):
        # maxLinksPerConnection counts the links of the whole connection:
        # two on session 0 and the 3rd and 4th on session 1, every handle
        # within the handle-max the router announced
        r = self.r
        cl = self.client()
        addr = unique('openstack.org/om/rpc/unicast/links')
        rcv = cl.connect(r.url).receiver(addr, credit=10, auto_accept=True)
        raw = RawAmqp(r.port, r.host)
        self.addCleanup(raw.close)
        raw.open()
        raw.begin(channel=0)
        raw.begin(channel=1)
        att, _ = raw.attach('l0', 0, False, addr, channel=0)
        self.assertIsNotNone(att.field(6), 'a link within the limit got a null target')
        raw_wait_for_credit(raw, 0)
        for ch, h in ((0, 1), (1, 0)):
            a, _ = raw.attach('l%d.%d' % (ch, h), h, True,
                              unique('openstack.org/om/rpc/unicast/links'), channel=ch)
            self.assertIsNotNone(a.field(5), 'link %d.%d within the limit refused' % (ch, h))
        att4, _ = raw.attach('l1.1', 1, True, unique('openstack.org/om/rpc/unicast/links'),
                             channel=1)
        # part 2.6.3: a refused link is answered with a null terminus, then detached
        self.assertEqual(int(att4.field(1)), 1)
        self.assertIsNone(att4.field(5), 'the refused attach carries a source')
        self.assertIsNone(att4.field(6), 'the refused attach carries a target')
        det, _ = raw.expect('detach')
        self.assertEqual(int(det.field(0)), 1)
        self.assertTrue(det.field(1), 'the refusing detach is not closed=true')
        self.assertEqual(det.condition()[0], 'amqp:resource-limit-exceeded')
        raw.send(frame(1, perf('detach', uint(1), True)))
        # the connection keeps working: a transfer on link 0 is routed
        raw.transfer(0, 0, 0, b't', message_bytes(b'after-refusal', addr), settled=True)
        cl.wait(lambda: rcv.messages, 5, 'the message sent after the refusal')
        self.assertEqual(rcv.bodies(), [b'after-refusal'])
        # and a link freed makes room for a new one
        raw.send(frame(0, perf('detach', uint(1), True)))
        raw.expect('detach')
        a, _ = raw.attach('l1.1b', 1, True, unique('openstack.org/om/rpc/unicast/links'),
                          channel=1)
        self.assertIsNotNone(a.field(5), 'a link attached after a detach was refused')
        self.assertFalse(raw.eof)

    def test_handle_max_announced_and_enforced(self):
        # Begin's handle-max = maxLinksPerConnection - 1; a handle above it
        # closes the connection with framing-error (AMQP 2.7.2, handle-max)
        raw = RawAmqp(self.r.port, self.r.host)
        self.addCleanup(raw.close)
        raw.open()
        b = raw.begin()
        self.assertEqual(int(b.field(4)), 2, 'handle-max with maxLinksPerConnection 3')
        raw.attach('over', 3, True, unique('openstack.org/om/rpc/unicast/links'), wait=False)
        frames = raw.frames_until_eof(5)
        self.assertNotIn('attach', [f.name for f in frames], frames)
        conds = [f.condition() for f in frames if f.name == 'close']
        self.assertEqual([c[0] for c in conds if c], ['amqp:connection:framing-error'], frames)

    def test_message_over_max_message_size_refused(self):
        r = self.r
        cl = self.client()
        addr = unique('openstack.org/om/rpc/unicast/size')
        rcv = cl.connect(r.url).receiver(addr, credit=10, auto_accept=True)
        raw = RawAmqp(r.port, r.host)
        self.addCleanup(raw.close)
        raw.open()
        raw.begin()
        att, _ = raw.attach('big', 0, False, addr)
        self.assertIsNotNone(att.field(10), 'no max-message-size in the router\'s Attach')
        self.assertEqual(int(att.field(10)), 10000, 'max-message-size in the router\'s Attach')
        raw_wait_for_credit(raw, 0)
        before = r.stats()
        payload = message_bytes(b'b' * 19950, addr)
        self.assertGreaterEqual(len(payload), 20000)
        half = 10000   # the first frame alone is within the limit, both are not
        first = perf('transfer', uint(0), uint(0), b'big', uint(0), False, True)
        raw.send(frame(0, first + payload[:half]))
        rest = perf('transfer', uint(0), None, None, None, False, False)
        raw.send(frame(0, rest + payload[half:]))
        det, _ = raw.expect('detach')
        self.assertEqual(int(det.field(0)), 0)
        self.assertEqual(det.condition()[0], 'amqp:link:message-size-exceeded')
        rrtest.wait_until(lambda: self.delta(r, before, 'drops', 'resource_limit') >= 1, 5,
                          'drops.resource_limit')
        self.assertEqual(self.delta(r, before, 'drops', 'resource_limit'), 1)
        cl.run_for(0.2)
        self.assertEqual(rcv.messages, [], 'part of the refused message was forwarded')
        # a 5000-byte message passes (proton client; it sees the limit too)
        snd = cl.connect(r.url).sender(addr)
        cl.wait(lambda: snd.credit > 0, 5, 'credit')
        self.assertEqual(snd.link.remote_max_message_size, 10000)
        d = snd.send(body=b'f' * 5000)
        cl.wait(lambda: outcome(d), 5, 'the outcome of the 5000-byte message')
        self.assertEqual(outcome(d), 'ACCEPTED')
        self.assertEqual(rcv.bodies(), [b'f' * 5000])


class TestListeners(RouterTestCase):
    def test_ipv4_and_ipv6_listeners_route_to_each_other(self):
        try:
            rrtest.free_port('::1')
        except OSError:
            self.skipTest('no IPv6 loopback here')
        r = self.router(listeners=[{}, {'host': '::1'}])
        self.assertEqual(r.hosts, ['127.0.0.1', '::1'])
        # the router itself listens on ::1 (a socket, not a proxy guess)
        with socket.create_connection(('::1', r.ports[1]), timeout=5) as s6:
            self.assertEqual(s6.family, socket.AF_INET6)
        cl = self.client()
        c4, c6 = cl.connect(r.urls[0]), cl.connect(r.urls[1])
        self.assertTrue(c4.opened, 'no Open on the IPv4 listener')
        self.assertTrue(c6.opened, 'no Open on the IPv6 listener')
        roundtrip(self, cl, c6, c4, body='v4-to-v6')
        roundtrip(self, cl, c4, c6, body='v6-to-v4')
        self.assertTrue(re.search(r'Connection from \[?::1', log_file_text(r)),
                        'no connection from ::1 in the log')


class TestLog(RouterTestCase):
    def test_info_logs_connection_open_and_close_to_the_file(self):
        r = self.router(log_enable='info+')
        cl = self.client()
        c = cl.connect(r.url)
        self.assertTrue(c.opened)
        rrtest.wait_until(lambda: re.search(r'Connection from \S+ .*opened', log_file_text(r)), 5,
                          'the "opened" line in the log file')
        c.close()
        rrtest.wait_until(lambda: 'Connection closed' in log_file_text(r), 5,
                          'the "Connection closed" line in the log file')
        text = log_file_text(r)
        self.assertEqual(len(re.findall(r'Connection from \S+ .*opened', text)), 1, text)
        self.assertEqual(text.count('Connection closed'), 1, text)

    def test_warning_hides_connection_lines(self):
        # maxConnections 1: a refused connection is a warning (shown), and a
        # second client is admitted only once the first one's close has
        # gone through the control thread, where its info line would have
        # been written
        r = self.router(log_enable='warning+', dataplane={'maxConnections': 1})
        cl = self.client()
        a = cl.connect(r.url)
        self.assertTrue(a.opened)
        refused = RawAmqp(r.port, r.host, reset_ok=True)
        self.addCleanup(refused.close)
        self.assertTrue(refused.wait_eof(3))
        rrtest.wait_until(lambda: 'refused' in log_file_text(r), 5,
                          'the refusal (a warning) in the log file')
        a.close()
        # (a fresh Client each time: rrtest's Client makes no progress on
        # a new connection once all of its connections have ended)
        b = None
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            b = self.client().connect(r.url)
            if b.opened:
                break
            time.sleep(0.05)
        self.assertTrue(b is not None and b.opened, 'no connection admitted after the close')
        b.close()
        text = log_file_text(r)
        self.assertNotRegex(text, r'opened', 'info lines under enable: warning+')
        self.assertNotIn('Connection closed', text)

    def test_authentication_failure_logged_once(self):
        r = self.router(sasl=Sasl(users={'alice': 'secret'}))
        before = r.stats()
        cl = self.client()
        c = cl.connect(r.url, user='alice', password='wrong', allowed_mechs='PLAIN')
        cl.wait(lambda: c.transport_closed or c.transport_condition, 5, 'the refusal')
        self.assertFalse(c.opened, 'a wrong password was accepted')
        rrtest.wait_until(lambda: r.control()['auth_failures'] >
                          before['control']['auth_failures'], 5, 'control.auth_failures')
        rrtest.wait_until(lambda: re.search(r'[Aa]uthentication failed', log_file_text(r)), 5,
                          'the failure in the log file')
        # a good client afterwards: the failed one is fully gone by then
        # (a fresh Client: rrtest's Client makes no progress on a new
        # connection once all of its connections have ended)
        good = self.client().connect(r.url, user='alice', password='secret', allowed_mechs='PLAIN')
        self.assertTrue(good.opened, 'the right password refused: %s' % good.transport_condition)
        good.close()
        text = log_file_text(r)
        lines = [l for l in text.splitlines() if re.search(r'authentication fail', l, re.I)]
        self.assertEqual(len(lines), 1, text)
        self.assertIn('PLAIN', lines[0])
        self.assertEqual(r.control()['auth_failures'] - before['control']['auth_failures'], 1)


class TestExpiryAndRelay(RouterTestCase):
    @classmethod
    def setUpClass(cls):
        cls.r = cls.class_router()

    def pair(self, prefix='openstack.org/om/rpc/unicast/expiry'):
        cl = self.client()
        addr = unique(prefix)
        rcv = cl.connect(self.r.url).receiver(addr, credit=10, auto_accept=True)
        snd = cl.connect(self.r.url).sender(addr)
        cl.wait(lambda: snd.credit > 0, 5, 'credit')
        return cl, addr, snd, rcv

    def test_absolute_expiry_in_the_past_without_ttl_not_delivered(self):
        cl, addr, snd, rcv = self.pair()
        before = self.r.stats()
        past = time.time() - 60
        m = Message(body='stale', expiry_time=past)
        self.assertEqual(m.ttl, 0)
        d = snd.send(m)
        cl.wait(lambda: outcome(d), 5, 'the outcome of the expired message')
        self.assertEqual(outcome(d), 'MODIFIED')
        self.assertTrue(d.remote.failed, 'expired: not delivery-failed')
        self.assertTrue(d.remote.undeliverable, 'expired: not undeliverable-here')
        self.assertEqual(self.delta(self.r, before, 'drops', 'expired'), 1)
        # the same link then delivers a fresh message (and only that)
        d2 = snd.send(body='fresh', expiry_time=time.time() + 60)
        cl.wait(lambda: outcome(d2), 5, 'the outcome of the fresh message')
        self.assertEqual(outcome(d2), 'ACCEPTED')
        self.assertEqual(rcv.bodies(), ['fresh'])

    def test_ttl_governs_over_monotonic_absolute_expiry(self):
        # oslo.messaging 14 writes absolute-expiry-time from
        # time.monotonic(): seconds since boot, far in the past as wall time
        cl, addr, snd, rcv = self.pair()
        before = self.r.stats()
        d = snd.send(body='call', ttl=30, expiry_time=1000)
        cl.wait(lambda: outcome(d), 5, 'the outcome')
        self.assertEqual(outcome(d), 'ACCEPTED')
        self.assertEqual(rcv.bodies(), ['call'])
        ttl = rcv.messages[0][0].ttl
        self.assertTrue(0 < ttl <= 30, 'ttl forwarded as %r' % ttl)
        self.assertEqual(self.delta(self.r, before, 'drops', 'expired'), 0)

    def test_anonymous_relay_without_to_rejected(self):
        cl = self.client()
        addr = unique('openstack.org/om/rpc/unicast/relay')
        rcv = cl.connect(self.r.url).receiver(addr, credit=10, auto_accept=True)
        conn = cl.connect(self.r.url)
        self.assertIn(symbol('ANONYMOUS-RELAY'), conn.remote_offered_capabilities or [])
        before = self.r.stats()
        snd = conn.sender(None)
        cl.wait(lambda: snd.credit > 0, 5, 'credit on the anonymous-relay link')
        sync_table(self.r, before)
        d = snd.send(body='nowhere')
        cl.wait(lambda: outcome(d), 5, 'the outcome of a message without to')
        self.assertEqual(outcome(d), 'REJECTED')
        cond = d.remote.condition
        self.assertIsNotNone(cond, 'REJECTED without an error')
        self.assertEqual(cond.name, 'amqp:precondition-failed')
        self.assertEqual(self.delta(self.r, before, 'drops', 'no_route_unsettled'), 1)
        # with a `to` the same link routes
        d2 = snd.send(body='somewhere', address=addr)
        cl.wait(lambda: outcome(d2), 5, 'the outcome of a message with to')
        self.assertEqual(outcome(d2), 'ACCEPTED')
        self.assertEqual(rcv.bodies(), ['somewhere'])


if __name__ == '__main__':
    rrtest.main()
