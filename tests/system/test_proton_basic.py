"""rpcrouterd with python3-qpid-proton clients: the Open exchange, plain
routing through BlockingConnection, dynamic reply sources, anonymous relay,
multi-frame and aborted transfers, and the stats shape."""

from proton import Message
from proton.reactor import AtMostOnce
from proton.utils import BlockingConnection

import rrtest
from rrtest import RouterTestCase, outcome, unique


class TestOpen(RouterTestCase):
    @classmethod
    def setUpClass(cls):
        cls.r = cls.class_router(listeners=[{}, {'idleTimeoutSeconds': 10}])

    def test_open_properties_and_capabilities(self):
        c = self.client().connect(self.r.url)
        self.assertTrue(c.opened, 'no Open from the router')
        props = c.remote_properties or {}
        # oslo reads `product`: missing or qpid-cpp means a broker
        # (oslo-amqp1-contract.md, "Router detection").
        self.assertEqual(props.get('product'), 'rpcrouter', props)
        self.assertTrue(props.get('version'), props)
        self.assertIn('ANONYMOUS-RELAY', [str(x) for x in c.remote_offered_capabilities])

    def test_idle_timeout_is_half_the_listeners(self):
        # qdrouterd advertises half its idleTimeoutSeconds (16 s -> 8000 ms)
        c = self.client().connect(self.r.urls[0])
        self.assertEqual(c.transport.remote_idle_timeout, 8.0)
        c2 = self.client().connect(self.r.urls[1])
        self.assertEqual(c2.transport.remote_idle_timeout, 5.0)

    def test_stats_shape(self):
        s = self.r.stats()
        self.assertTrue(s['version'])
        self.assertEqual(len(s['workers']), rrtest.workers())
        self.assertEqual(sorted(w['id'] for w in s['workers']), list(range(rrtest.workers())))
        for w in s['workers']:
            for k in ('connections', 'counters', 'drops'):
                self.assertIn(k, w)
        for k in ('conn_accepted', 'transfers_in', 'transfers_out', 'xcore_out', 'xcore_in'):
            self.assertIn(k, s['totals']['counters'])
        for k in ('proto_header', 'framing_error', 'aborted', 'expired'):
            self.assertIn(k, s['totals']['drops'])
        for k in ('connections_accepted', 'auth_failures', 'handshakes_in_progress'):
            self.assertIn(k, s['control'])


class TestRouting(RouterTestCase):
    @classmethod
    def setUpClass(cls):
        cls.r = cls.class_router()

    def test_blocking_send_receive(self):
        addr = unique('openstack.org/om/rpc/unicast/rrtest')
        rconn = BlockingConnection(self.r.url, timeout=10)
        sconn = BlockingConnection(self.r.url, timeout=10)
        try:
            rcv = rconn.create_receiver(addr, credit=10)
            # get the receiver's credit onto the wire before anything is sent
            rconn.wait(lambda: rconn.conn.transport.pending() == 0, timeout=5,
                       msg='the receiver\'s flow written')
            # presettled sends do not wait for the receiver's outcome, so one
            # thread can drive both blocking connections
            snd = sconn.create_sender(addr, options=AtMostOnce())
            for i in range(5):
                snd.send(Message(body='m%d' % i), timeout=10)
            # proton holds them until the router grants credit: drive the
            # sending connection until they are written
            sconn.wait(lambda: snd.link.queued == 0 and sconn.conn.transport.pending() == 0,
                       timeout=10, msg='presettled sends written')
            got = [rcv.receive(timeout=10).body for _ in range(5)]
            self.assertEqual(got, ['m%d' % i for i in range(5)])
        finally:
            sconn.close()
            rconn.close()

    def test_dynamic_source_routable_from_another_connection(self):
        cl = self.client()
        a = cl.connect(self.r.url)
        rcv = a.receiver(None, credit=10, dynamic=True)
        self.assertTrue(rcv.opened and not rcv.closed)
        reply = rcv.address
        self.assertIsNotNone(reply, 'no address assigned to the dynamic source')
        self.assertTrue(reply.startswith('amqp:/_topo/0/'), reply)
        # a second dynamic source gets a different address
        rcv2 = a.receiver(None, credit=1, dynamic=True)
        self.assertNotEqual(rcv2.address, reply)

        b = cl.connect(self.r.url)
        snd = b.sender(reply)
        cl.wait(lambda: snd.credit > 0, 5, 'credit on a sender to the reply address')
        d = snd.send(body='to-reply')
        cl.wait(lambda: rcv.messages, 5, 'the message at the dynamic receiver')
        rcv.accept(rcv.messages[0][1])
        cl.wait(lambda: outcome(d), 5, 'the outcome')
        self.assertEqual(outcome(d), 'ACCEPTED')
        self.assertEqual(rcv.bodies(), ['to-reply'])
        self.assertEqual(rcv2.messages, [])

    def test_anonymous_relay_routes_by_to(self):
        cl = self.client()
        a = cl.connect(self.r.url)
        addr = unique('openstack.org/om/rpc/unicast/rrtest')
        rcv = a.receiver(addr, credit=10)
        dyn = a.receiver(None, credit=10, dynamic=True)
        b = cl.connect(self.r.url)
        snd = b.sender(None)          # null target: anonymous relay
        cl.wait(lambda: snd.credit > 0, 5, 'credit on the anonymous sender')
        d1 = snd.send(body='one', address=addr)
        d2 = snd.send(body='two', address=dyn.address)
        cl.wait(lambda: rcv.messages and dyn.messages, 5, 'both messages')
        rcv.accept(rcv.messages[0][1])
        dyn.accept(dyn.messages[0][1])
        cl.wait(lambda: outcome(d1) and outcome(d2), 5, 'outcomes')
        self.assertEqual((outcome(d1), outcome(d2)), ('ACCEPTED', 'ACCEPTED'))
        self.assertEqual(rcv.bodies(), ['one'])
        self.assertEqual(dyn.bodies(), ['two'])

    def test_anonymous_relay_to_nowhere(self):
        cl = self.client()
        b = cl.connect(self.r.url)
        before = self.r.stats()
        snd = b.sender(None)
        cl.wait(lambda: snd.credit > 0, 5, 'credit on the anonymous sender')
        d = snd.send(body='lost', address=unique('openstack.org/om/rpc/unicast/nobody'))
        cl.wait(lambda: outcome(d), 5, 'an outcome for an unroutable unsettled message')
        self.assertEqual(outcome(d), 'RELEASED')
        ps = b.sender(None, presettled=True)
        cl.wait(lambda: ps.credit > 0, 5, 'credit')
        ps.send(body='lost too', address=unique('openstack.org/om/rpc/unicast/nobody'))
        # pumped by the client: the pre-settled message has to be written
        cl.wait(lambda: self.delta(self.r, before, 'drops', 'no_route_presettled') >= 1,
                5, 'drops.no_route_presettled')
        after = self.r.stats()
        self.assertEqual(self.delta(self.r, before, 'drops', 'no_route_unsettled', after), 1)
        self.assertEqual(self.delta(self.r, before, 'drops', 'no_route_presettled', after), 1)

    def test_multi_frame_message_intact(self):
        cl = self.client()
        a = cl.connect(self.r.url)
        addr = unique('openstack.org/om/rpc/unicast/rrtest')
        rcv = a.receiver(addr, credit=2, auto_accept=True)
        b = cl.connect(self.r.url)
        snd = b.sender(addr)
        cl.wait(lambda: snd.credit > 0, 5, 'credit')
        body = bytes((i * 7 + 3) & 0xff for i in range(1 << 20))   # 1 MiB >> max-frame-size
        d = snd.send(body=body, properties={'k': 'v'})
        cl.wait(lambda: outcome(d), 20, 'the outcome of a 1 MiB message')
        self.assertEqual(outcome(d), 'ACCEPTED')
        self.assertEqual(len(rcv.messages), 1)
        m = rcv.messages[0][0]
        self.assertEqual(len(m.body), len(body))
        self.assertTrue(m.body == body, 'the 1 MiB body changed on the way')
        self.assertEqual(m.properties, {'k': 'v'})

    def test_aborted_transfer_discarded(self):
        cl = self.client()
        a = cl.connect(self.r.url)
        addr = unique('openstack.org/om/rpc/unicast/rrtest')
        rcv = a.receiver(addr, credit=10, auto_accept=True)
        b = cl.connect(self.r.url)
        snd = b.sender(addr)
        cl.wait(lambda: snd.credit > 0, 5, 'credit')
        before = self.r.stats()
        enc = Message(body=b'A' * 200000).encode()
        dlv = snd.link.delivery('aborted-1')
        snd.link.stream(enc[:100000])      # several frames, more=true
        cl.run_for(0.3)
        dlv.abort()                        # transfer with aborted=true (AMQP 2.7.5)
        cl.run_for(0.2)
        d2 = snd.send(body='after')
        cl.wait(lambda: outcome(d2), 5, 'the message after the aborted one')
        self.assertEqual(outcome(d2), 'ACCEPTED')
        self.assertEqual(rcv.bodies(), ['after'])
        rrtest.wait_until(lambda: self.delta(self.r, before, 'drops', 'aborted') >= 1, 5,
                          'drops.aborted')
        self.assertEqual(self.delta(self.r, before, 'drops', 'aborted'), 1)


if __name__ == '__main__':
    rrtest.main()
