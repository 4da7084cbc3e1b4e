#!/usr/bin/python3
"""AMQP exchanges through rpcrouterd's dpdk driver (tests/system/dpdk/run.sh
runs this inside the test's network namespace): N pre-settled and N
unsettled messages from a sender to a receiver, each delivered once and in
order, and RPC calls answered through a dynamic reply address and the
anonymous relay. Exit status 0 when every check passed; every failure is
printed. Bounded: each phase gives up after --timeout seconds."""

import argparse
import sys
import uuid

# --pad: bytes added to every transfer's payload (jumbo frames: many MSS each)
PAD_BASE = 0

from proton import Message
from proton.handlers import MessagingHandler
from proton.reactor import AtMostOnce, Container


def same(a, b):
    """proton hands out new wrapper objects per event: compare the links"""
    return a is not None and b is not None and a.name == b.name and \
        a.connection == b.connection


class Phase(MessagingHandler):
    def __init__(self, url, timeout):
        super().__init__(prefetch=200)
        self.url = url
        self.timeout = timeout
        self.error = None
        self.done = False
        self.conns = []

    def connect(self, event):
        # no reconnect: a refused or reset connection is a result to check,
        # not something to retry (proton's default would try again, and
        # the retry's transport error would arrive after the verdict)
        c = event.container.connect(self.url, reconnect=False)
        self.conns.append(c)
        return c

    def on_start(self, event):
        self.timer = event.container.schedule(self.timeout, self)
        self.begin(event)

    def on_timer_task(self, event):
        if not self.done:
            self.fail('timed out after %ss: %s' % (self.timeout, self.progress()))

    def fail(self, why):
        if self.error is None:
            self.error = why
        self.finish()

    def finish(self):
        self.done = True
        if getattr(self, 'timer', None):
            self.timer.cancel()
        for c in self.conns:
            c.close()

    def on_transport_error(self, event):
        cond = event.transport.condition
        self.fail('transport error: %s' % (cond.description if cond else '?'))

    def on_connection_error(self, event):
        self.fail('connection error: %s' % event.connection.remote_condition)

    def on_link_error(self, event):
        self.fail('link error: %s' % event.link.remote_condition)


class Transfer(Phase):
    """n messages over one address, pre-settled or unsettled."""

    def __init__(self, url, timeout, n, presettled):
        super().__init__(url, timeout)
        self.n = n
        self.presettled = presettled
        self.addr = 'dpdk/%s/%s' % ('presettled' if presettled else 'unsettled', uuid.uuid4().hex)
        self.sent = self.received = self.accepted = 0
        self.sender = None

    def progress(self):
        return 'sent %d, received %d, accepted %d of %d' % (self.sent, self.received,
                                                            self.accepted, self.n)

    def begin(self, event):
        self.rconn = self.connect(event)
        self.receiver = event.container.create_receiver(self.rconn, self.addr)

    def on_link_opened(self, event):
        # the sender attaches once the consumer is routable
        if same(event.link, self.receiver) and self.sender is None:
            sconn = self.connect(event)
            opts = [AtMostOnce()] if self.presettled else []
            self.sender = event.container.create_sender(sconn, self.addr, options=opts)

    def on_sendable(self, event):
        while event.sender.credit and self.sent < self.n:
            event.sender.send(Message(body={'seq': self.sent,
                                            'pad': 'x' * (PAD_BASE + self.sent % 300)}))
            self.sent += 1

    def on_message(self, event):
        b = event.message.body
        if not isinstance(b, dict) or b.get('seq') != self.received:
            self.fail('message %d: got %r' % (self.received, b))
            return
        if len(b.get('pad', '')) != PAD_BASE + self.received % 300:
            self.fail('message %d: wrong payload length' % self.received)
            return
        self.received += 1
        self.check()

    def on_accepted(self, event):
        self.accepted += 1
        self.check()

    def on_rejected(self, event):
        self.fail('a delivery was rejected')

    def on_released(self, event):
        self.fail('a delivery was released')

    def check(self):
        if self.received == self.n and (self.presettled or self.accepted == self.n):
            self.finish()


class Rpc(Phase):
    """calls to a server, answered to the caller's dynamic reply address
    through the server's anonymous sender."""

    def __init__(self, url, timeout, calls):
        super().__init__(url, timeout)
        self.calls = calls
        self.addr = 'dpdk/rpc/%s' % uuid.uuid4().hex
        self.answered = 0
        self.reply_to = None
        self.started = False

    def progress(self):
        return '%d of %d calls answered' % (self.answered, self.calls)

    def begin(self, event):
        self.sconn = self.connect(event)
        self.server_rx = event.container.create_receiver(self.sconn, self.addr)
        self.server_tx = event.container.create_sender(self.sconn, None)  # anonymous relay
        self.cconn = self.connect(event)
        self.reply_rx = event.container.create_receiver(self.cconn, None, dynamic=True)

    def on_link_opened(self, event):
        if same(event.link, self.reply_rx):
            self.reply_to = self.reply_rx.remote_source.address
            if not self.reply_to:
                self.fail('no dynamic address assigned')
        if self.reply_to and self.server_rx.state & self.server_rx.REMOTE_ACTIVE and \
                not self.started:
            self.started = True
            self.client_tx = event.container.create_sender(self.cconn, self.addr)

    def on_sendable(self, event):
        if same(event.link, getattr(self, 'client_tx', None)) and self.answered == 0 and \
                not getattr(self, 'first_sent', False):
            self.first_sent = True
            self.call(0)

    def call(self, i):
        self.client_tx.send(Message(body={'call': i}, reply_to=self.reply_to,
                                    correlation_id='c%d' % i))

    def on_message(self, event):
        m = event.message
        if same(event.link, self.server_rx):
            self.server_tx.send(Message(address=m.reply_to, correlation_id=m.correlation_id,
                                        body={'answer': m.body['call'] * 2}))
            return
        if m.correlation_id != 'c%d' % self.answered or m.body != {'answer': self.answered * 2}:
            self.fail('reply %d: %r %r' % (self.answered, m.correlation_id, m.body))
            return
        self.answered += 1
        if self.answered == self.calls:
            self.finish()
        else:
            self.call(self.answered)


class Connections(Phase):
    """n connections opened together, then closed: with several workers,
    flows land on every one of them (steering spreads them by hash). With
    receivers, each attaches a receiving link too, and all stay open until
    every link is attached (then --hold seconds, for the caller's checks)."""

    def __init__(self, url, timeout, n, receivers=False, hold=0.0):
        super().__init__(url, timeout)
        self.n = n
        self.receivers = receivers
        self.hold = hold
        self.opened = self.attached = 0

    def progress(self):
        return '%d of %d connections opened, %d receivers attached' % (
            self.opened, self.n, self.attached)

    def begin(self, event):
        self.container = event.container
        for _ in range(self.n):
            self.connect(event)

    def on_connection_opened(self, event):
        self.opened += 1
        if self.receivers:
            event.container.create_receiver(event.connection,
                                            'dpdk/many/%d' % self.opened)
        elif self.opened == self.n:
            self.finish()

    def on_link_opened(self, event):
        if not self.receivers:
            return
        self.attached += 1
        if self.attached == self.n:
            if self.hold:
                sys.stdout.write('all %d attached\n' % self.n)
                sys.stdout.flush()
                self.container.schedule(self.hold, _Call(self.finish))
            else:
                self.finish()


class _Call:
    def __init__(self, fn):
        self.fn = fn

    def on_timer_task(self, event):
        self.fn()


class Limit(Phase):
    """the router's maxConnections (n) connections open at once, then one
    more: it must be refused (the dpdk driver resets it) while the n stay
    open."""

    def __init__(self, url, timeout, n):
        super().__init__(url, timeout)
        self.n = n
        self.opened = 0
        self.extra = None
        self.refused = False

    def progress(self):
        return '%d of %d connections opened, one more %s' % (
            self.opened, self.n, 'refused' if self.refused else 'not refused')

    def begin(self, event):
        for _ in range(self.n):
            self.connect(event)

    def on_connection_opened(self, event):
        if self.extra is not None and event.connection == self.extra:
            self.fail('connection %d was accepted beyond maxConnections' % (self.n + 1))
            return
        self.opened += 1
        if self.opened == self.n:
            self.extra = self.connect(event)

    def on_transport_error(self, event):
        if self.extra is not None and event.connection == self.extra and \
                self.opened == self.n:
            self.refused = True
            self.finish()
            return
        if self.refused and event.connection is None:
            # the refused connection's transport, already unbound from it
            # (seen as a second error after the first one was counted)
            return
        super().on_transport_error(event)

    def on_disconnected(self, event):
        if self.extra is not None and event.connection == self.extra and \
                self.opened == self.n and not self.done:
            self.refused = True
            self.finish()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--url', required=True)
    ap.add_argument('--messages', type=int, default=1000)
    ap.add_argument('--calls', type=int, default=20)
    ap.add_argument('--timeout', type=float, default=30)
    ap.add_argument('--connections', type=int, default=0)
    ap.add_argument('--limit', type=int, default=0,
                    help="the router's maxConnections: check the one beyond is refused "
                    "(run it alone, with no other connection open: --only limit)")
    ap.add_argument('--only', default='', help='comma-separated phases to run (default: all)')
    ap.add_argument('--receivers', action='store_true',
                    help='connections phase: a receiving link on each connection')
    ap.add_argument('--hold', type=float, default=0,
                    help='connections phase: seconds to keep them open once all attached')
    ap.add_argument('--pad', type=int, default=0,
                    help='transfer phases: bytes added to every payload')
    a = ap.parse_args()
    global PAD_BASE
    PAD_BASE = a.pad
    phases = [('presettled', Transfer(a.url, a.timeout, a.messages, True)),
              ('unsettled', Transfer(a.url, a.timeout, a.messages, False)),
              ('rpc', Rpc(a.url, a.timeout, a.calls))]
    if a.connections:
        phases.append(('connections', Connections(a.url, a.timeout, a.connections,
                                                  a.receivers, a.hold)))
    if a.limit:
        phases.append(('limit', Limit(a.url, a.timeout, a.limit)))
    if a.only:
        phases = [p for p in phases if p[0] in a.only.split(',')]
    failed = 0
    for name, h in phases:
        Container(h).run()
        if h.error:
            failed += 1
            print('FAIL %s: %s' % (name, h.error))
        else:
            print('ok %s: %s' % (name, h.progress()))
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
