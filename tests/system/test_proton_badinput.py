"""Bad input from raw sockets: each fault gets the condition DESIGN.md
gives it ("Errors"), moves its drop counter by exactly one (read with
rpcrouter-ctl), and another connection's traffic keeps flowing during and
after it."""

import socket
import subprocess
import time

from proton import uint

import rrtest
from rrtest import (AMQP_HEADER, SASL_HEADER, Frame, RawAmqp, RouterTestCase, frame, message_bytes,
                    outcome, perf, unique)


class TestBadInput(RouterTestCase):
    @classmethod
    def setUpClass(cls):
        cls.r = cls.class_router(
            listeners=[{}, {'maxSessionFrames': 4}],
            dataplane={'maxConnectionBufferBytes': 1048576})

    def setUp(self):
        super().setUp()
        # the healthy pair: must keep working through every fault
        self.cl = self.client()
        self.addr = unique('openstack.org/om/rpc/unicast/healthy')
        self.hr = self.cl.connect(self.r.url).receiver(self.addr, credit=100, auto_accept=True)
        self.hs = self.cl.connect(self.r.url).sender(self.addr)
        self.cl.wait(lambda: self.hs.credit > 0, 5, 'credit on the healthy sender')
        self.n = 0
        self.roundtrip()
        self.before = self.r.stats()

    def roundtrip(self):
        self.n += 1
        d = self.hs.send(body='healthy-%d' % self.n)
        self.cl.wait(lambda: outcome(d), 5, 'a round trip on the healthy pair')
        self.assertEqual(outcome(d), 'ACCEPTED')
        self.assertEqual(self.hr.bodies()[-1], 'healthy-%d' % self.n)

    def assert_drop(self, name):
        rrtest.wait_until(lambda: self.delta(self.r, self.before, 'drops', name) >= 1, 5,
                          'drops.%s to move' % name)
        self.assertEqual(self.delta(self.r, self.before, 'drops', name), 1, name)
        self.roundtrip()

    def raw(self, port=None):
        raw = RawAmqp(port or self.r.port, self.r.host)
        self.addCleanup(raw.close)
        return raw

    def closing_condition(self, raw, name):
        """Read until EOF; the last close/end/detach must carry `name`."""
        frames = raw.frames_until_eof(5)
        conds = [f.condition() for f in frames if f.name in ('close', 'end', 'detach')]
        conds = [c for c in conds if c]
        self.assertTrue(conds, 'no error condition before the close: %r' % frames)
        self.assertEqual(conds[-1][0], name, frames)
        return frames

    def test_garbage_instead_of_protocol_header(self):
        raw = self.raw()
        raw.send(b'GET / HTTP/1.1\r\nHost: x\r\n\r\n')
        hdr = raw.read_bytes(8)
        # AMQP 2.2: answer with a header we support, then close. On a
        # listener with a SASL layer that is the SASL header (AMQP 5.1), as
        # proton (and so qdrouterd) sends it; else the AMQP one.
        self.assertIn(hdr, (AMQP_HEADER, SASL_HEADER))
        self.assertTrue(raw.wait_eof(5), 'not closed after the header')
        self.assert_drop('proto_header')

    def test_frame_over_max_frame_size(self):
        raw = self.raw()
        raw.open(max_frame_size=65536)
        raw.begin()
        self.assertLess(raw.max_frame, 1 << 20, 'max-frame-size %d' % raw.max_frame)
        big = raw.max_frame + 1
        raw.send(frame(0, b'\x00' * (big - 8)))
        self.closing_condition(raw, 'amqp:connection:framing-error')
        self.assert_drop('framing_error')

    def test_undecodable_performative(self):
        raw = self.raw()
        raw.open()
        raw.begin()
        # a described list32 whose size runs past the frame
        raw.send(frame(0, b'\x00\x53\x13\xd0\x00\x00\x01\x00\x00\x00\x00\x05\x43\x43'))
        self.closing_condition(raw, 'amqp:decode-error')
        self.assert_drop('decode_error')

    def test_transfer_on_unattached_handle(self):
        raw = self.raw()
        raw.open()
        raw.begin()
        raw.transfer(0, 7, 0, b't', message_bytes(b'x', self.addr))
        end, _ = raw.expect('end')
        self.assertEqual(end.condition()[0], 'amqp:session:unattached-handle')
        self.assert_drop('unattached_handle')

    def test_transfer_beyond_credit(self):
        raw = self.raw()
        raw.open()
        raw.begin()
        nobody = unique('openstack.org/om/rpc/unicast/nobody')
        raw.attach('over-credit', 0, False, nobody)
        time.sleep(0.2)     # no consumer: the router gives no credit
        raw.transfer(0, 0, 0, b't', message_bytes(b'x', nobody), settled=True)
        det, skipped = raw.expect('detach')
        flows = [f for f in skipped if f.name == 'flow' and f.field(6)]
        self.assertEqual(flows, [], 'the router gave credit to a sender with no consumer')
        self.assertEqual(det.condition()[0], 'amqp:link:transfer-limit-exceeded')
        self.assert_drop('transfer_limit_exceeded')

    def test_transfer_beyond_session_window(self):
        # a consumer without credit: the sender gets link credit but the
        # router can forward nothing, so its session window stays used up
        addr = unique('openstack.org/om/rpc/unicast/window')
        self.cl.connect(self.r.url).receiver(addr, credit=0)
        raw = self.raw(self.r.ports[1])        # listener maxSessionFrames: 4
        raw.open(max_frame_size=512)
        b = raw.begin()
        window = int(b.field(2))
        self.assertLessEqual(window, 4, 'incoming-window %d with maxSessionFrames 4' % window)
        raw.attach('over-window', 0, False, addr)
        raw.expect('flow')      # link credit: a consumer exists
        payload = message_bytes(b'w' * 4000, addr)
        chunk = 200
        parts = [payload[i:i + chunk] for i in range(0, len(payload), chunk)]
        self.assertGreater(len(parts), window + 2)
        for i, p in enumerate(parts[:window + 3]):
            body = perf('transfer', uint(0), uint(0) if i == 0 else None,
                        b'w' if i == 0 else None, uint(0) if i == 0 else None, False, True)
            raw.send(frame(0, body + p))
        end, _ = raw.expect('end')
        self.assertEqual(end.condition()[0], 'amqp:session:window-violation')
        self.assert_drop('window_violation')

    def test_frames_before_open_over_512_bytes(self):
        raw = self.raw()
        raw.sasl_anonymous()
        raw.send(AMQP_HEADER + frame(0, perf('open', 'c' * 600, None)))
        data = b''
        deadline = time.monotonic() + 5
        while not raw.eof and time.monotonic() < deadline:
            raw.wait_eof(deadline - time.monotonic())
        self.assertTrue(raw.eof, 'a 600-byte Open was not refused')
        data = raw.buf
        if data.startswith(AMQP_HEADER):
            data = data[8:]
        # whatever came before the close, it is no Open accepting us
        while len(data) >= 8:
            size = int.from_bytes(data[:4], 'big')
            f = Frame(0, 0, data[data[4] * 4:size])
            data = data[size:]
            self.assertNotEqual(f.name, 'begin', f)
            if f.name == 'close' and f.condition():
                self.assertEqual(f.condition()[0], 'amqp:connection:framing-error')
        self.assert_drop('pre_open_too_large')

    def test_client_that_stops_reading(self):
        if not rrtest.PROTON_C_CLIENT:
            self.skipTest('PROTON_C_CLIENT not set')
        addr = unique('openstack.org/om/rpc/unicast/stuck')
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.connect((self.r.host, self.r.port))
        raw = RawAmqp.__new__(RawAmqp)
        raw.sock, raw.buf, raw.eof, raw.timeout = s, b'', False, 5.0
        self.addCleanup(raw.close)
        raw.open()
        raw.begin(incoming_window=1 << 30)
        att, _ = raw.attach('stuck', 0, True, addr)
        dc = int(att.field(10) or 0)   # the router's initial-delivery-count
        raw.flow(0, 0, dc, 1000000, incoming_window=1 << 30)
        # from now on the raw peer reads nothing
        sender = subprocess.Popen([rrtest.PROTON_C_CLIENT, 'send', self.r.hostport, addr,
                                   '200000', '1024', '--presettled', '--timeout', '60'],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            deadline = time.monotonic() + 40
            while time.monotonic() < deadline:
                self.roundtrip()          # during: the healthy pair still works
                if self.delta(self.r, self.before, 'drops', 'peer_stopped_reading') >= 1:
                    break
                self.cl.run_for(0.2)
        finally:
            sender.kill()
            sender.communicate(timeout=5)
        self.assertEqual(self.delta(self.r, self.before, 'drops', 'peer_stopped_reading'), 1,
                         'the stuck reader was not closed at its buffer limit')
        self.assertTrue(raw.wait_eof(10), 'the stuck connection is still open')
        self.roundtrip()


if __name__ == '__main__':
    rrtest.main()
