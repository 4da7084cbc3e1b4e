"""End-to-end settlement through rpcrouterd: the consumer's outcome and its
error condition reach the producer; multicast takes the strongest outcome;
a path that dies settles what it held (RELEASED if never forwarded,
MODIFIED delivery-failed if forwarded); expiry from ttl and
absolute-expiry-time (oslo-amqp1-contract.md, "Settlement and credit")."""

import time

from proton import Message

import rrtest
from rrtest import RouterTestCase, outcome, unique


class TestSettlement(RouterTestCase):
    @classmethod
    def setUpClass(cls):
        cls.r = cls.class_router()

    def pair(self, addr, credit=10, presettled=False, auto_accept=False):
        cl = self.client()
        cr, cs = cl.connect(self.r.url), cl.connect(self.r.url)
        rcv = cr.receiver(addr, credit=credit, auto_accept=auto_accept)
        snd = cs.sender(addr, presettled=presettled)
        cl.wait(lambda: snd.credit > 0, 5, 'credit on the sender to %s' % addr)
        return cl, cr, rcv, cs, snd

    def test_consumer_outcomes_reach_the_producer(self):
        addr = unique('openstack.org/om/rpc/unicast/rrtest')
        cl, _, rcv, _, snd = self.pair(addr)
        before = self.r.stats()
        ds = [snd.send(body='m%d' % i) for i in range(4)]
        cl.wait(lambda: len(rcv.messages) == 4, 5, 'four messages')
        (_, d0), (_, d1), (_, d2), (_, d3) = rcv.messages
        rcv.accept(d0)
        rcv.reject(d1, 'amqp:precondition-failed', 'not today', {'why': 'test'})
        rcv.release(d2)
        rcv.modify(d3, failed=True, undeliverable=True)
        cl.wait(lambda: all(outcome(d) for d in ds), 5, 'the four outcomes')
        self.assertEqual([outcome(d) for d in ds],
                         ['ACCEPTED', 'REJECTED', 'RELEASED', 'MODIFIED'])
        cond = ds[1].remote.condition
        self.assertIsNotNone(cond, 'the rejection lost its error condition')
        self.assertEqual(cond.name, 'amqp:precondition-failed')
        self.assertEqual(cond.description, 'not today')
        self.assertTrue(ds[3].remote.failed)
        self.assertTrue(ds[3].remote.undeliverable)
        self.assertTrue(all(d.remote_state and d.settled for d in ds))
        after = self.r.stats()
        for name in ('outcome_accepted', 'outcome_rejected', 'outcome_released',
                     'outcome_modified'):
            self.assertEqual(self.delta(self.r, before, 'counters', name, after), 1, name)

    def test_multicast_strongest_outcome(self):
        # REJECTED > ACCEPTED > MODIFIED > RELEASED (qdrouterd)
        addr = unique('openstack.org/om/rpc/multicast/rrtest')
        cl = self.client()
        ca, cb, cs = cl.connect(self.r.url), cl.connect(self.r.url), cl.connect(self.r.url)
        a = ca.receiver(addr, credit=20)
        b = cb.receiver(addr, credit=20)
        snd = cs.sender(addr)
        cl.wait(lambda: snd.credit > 0, 5, 'credit')
        cases = [
            ('accept', 'reject', 'REJECTED'),
            ('reject', 'release', 'REJECTED'),
            ('accept', 'release', 'ACCEPTED'),
            ('modify', 'accept', 'ACCEPTED'),
            ('modify', 'release', 'MODIFIED'),
            ('release', 'release', 'RELEASED'),
        ]
        for i, (oa, ob, want) in enumerate(cases):
            d = snd.send(body=i)
            cl.wait(lambda: len(a.messages) > i and len(b.messages) > i, 5,
                    'case %d at both receivers' % i)
            for rcv, how in ((a, oa), (b, ob)):
                dl = rcv.messages[i][1]
                if how == 'modify':
                    rcv.modify(dl, failed=True)
                else:
                    getattr(rcv, how)(dl)
            cl.wait(lambda: outcome(d), 5, 'the outcome of case %d' % i)
            self.assertEqual(outcome(d), want, '%s + %s' % (oa, ob))

    def test_receiver_dies_holding_unsettled(self):
        addr = unique('openstack.org/om/rpc/unicast/rrtest')
        cl, cr, rcv, _, snd = self.pair(addr, credit=1)
        d1 = snd.send(body='forwarded')
        cl.wait(lambda: rcv.messages, 5, 'the first message')
        d2 = snd.send(body='queued')      # no credit left on the consumer
        cl.run_for(0.2)
        self.assertEqual(len(rcv.messages), 1)
        cr.abort()                        # TCP drop, no Close
        cl.wait(lambda: outcome(d1) and outcome(d2), 5, 'outcomes after the consumer died')
        # forwarded but unsettled: MODIFIED delivery-failed; never forwarded: RELEASED
        self.assertEqual(outcome(d1), 'MODIFIED')
        self.assertTrue(d1.remote.failed)
        self.assertEqual(outcome(d2), 'RELEASED')

    def test_receiver_detaches_holding_unsettled(self):
        addr = unique('openstack.org/om/rpc/unicast/rrtest')
        cl, cr, rcv, _, snd = self.pair(addr, credit=5)
        d = snd.send(body='held')
        cl.wait(lambda: rcv.messages, 5, 'the message')
        rcv.detach()
        cl.wait(lambda: outcome(d), 5, 'the outcome after the consumer detached')
        self.assertEqual(outcome(d), 'MODIFIED')
        self.assertTrue(d.remote.failed)

    def test_expired_on_arrival_not_forwarded(self):
        addr = unique('openstack.org/om/rpc/unicast/rrtest')
        cl, cr, rcv, cs, snd = self.pair(addr, auto_accept=True)
        ps = cs.sender(addr, presettled=True)
        cl.wait(lambda: ps.credit > 0, 5, 'credit')
        before = self.r.stats()
        past = time.time() - 10
        d = snd.send(Message(body='late', expiry_time=past))
        ps.send(Message(body='late too', expiry_time=past))
        cl.wait(lambda: outcome(d), 5, 'the outcome of an expired unsettled message')
        # settled so that no client resends it
        self.assertEqual(outcome(d), 'MODIFIED')
        self.assertTrue(d.remote.failed)
        self.assertTrue(d.remote.undeliverable)
        ok = snd.send(body='fresh')
        cl.wait(lambda: outcome(ok), 5, 'the outcome of a fresh message')
        self.assertEqual(outcome(ok), 'ACCEPTED')
        self.assertEqual(rcv.bodies(), ['fresh'])
        self.assertEqual(self.delta(self.r, before, 'drops', 'expired'), 2)

    def test_just_expired_after_an_idle_wait_not_forwarded(self):
        # the worker slept in its wait for input; a pre-settled message to
        # a consumer with credit (the cut-through) that expired 5 ms ago
        # is still expired, whatever clock the worker read before it slept
        addr = unique('openstack.org/om/rpc/unicast/rrtest')
        cl, cr, rcv, cs, snd = self.pair(addr, auto_accept=True)
        ps = cs.sender(addr, presettled=True)
        cl.wait(lambda: ps.credit > 0, 5, 'credit')
        before = self.r.stats()
        cl.run_for(0.5)
        ps.send(Message(body='just late', expiry_time=time.time() - 0.005))
        ps.send(Message(body='fresh'))
        cl.wait(lambda: rcv.messages, 5, 'the fresh message')
        cl.run_for(0.1)
        self.assertEqual(rcv.bodies(), ['fresh'])
        self.assertEqual(self.delta(self.r, before, 'drops', 'expired'), 1)

    def test_ttl_expires_while_queued_and_is_lowered_on_forward(self):
        addr = unique('openstack.org/om/rpc/unicast/rrtest')
        cl, cr, rcv, cs, snd = self.pair(addr, credit=0, auto_accept=True)
        ps = cs.sender(addr, presettled=True)
        cl.wait(lambda: ps.credit > 0, 5, 'credit')
        before = self.r.stats()
        d_short = snd.send(Message(body='short', ttl=0.3))
        ps.send(Message(body='short presettled', ttl=0.3))
        d_long = snd.send(Message(body='long', ttl=5.0))
        d_none = snd.send(Message(body='none'))
        cl.run_for(0.8)                  # the consumer has no credit yet
        rcv.flow(10)
        cl.wait(lambda: outcome(d_short) and outcome(d_long) and outcome(d_none), 5,
                'outcomes after credit')
        self.assertEqual(sorted(rcv.bodies()), ['long', 'none'])
        self.assertEqual(outcome(d_short), 'MODIFIED')
        self.assertTrue(d_short.remote.failed and d_short.remote.undeliverable)
        self.assertEqual((outcome(d_long), outcome(d_none)), ('ACCEPTED', 'ACCEPTED'))
        long_msg = [m for m, _ in rcv.messages if m.body == 'long'][0]
        # queued >= 0.8 s: the forwarded ttl is lowered by that (AMQP 3.2.1)
        self.assertGreater(long_msg.ttl, 0)
        self.assertLessEqual(long_msg.ttl, 5.0 - 0.5, 'ttl not lowered on forward')
        self.assertEqual(self.delta(self.r, before, 'drops', 'expired'), 2)


if __name__ == '__main__':
    rrtest.main()
