#!/usr/bin/python3
"""Two connections through two different ports of rpcrouterd's dpdk driver
(tests/system/dpdk/two_ports.sh): a receiver connected to --recv-url
(port A's address) and a sender to --send-url (port B's), N unsettled
messages, each delivered once, in order, and accepted. Exit 0 when every
check passed; every failure is printed. Bounded by --timeout seconds."""

import argparse
import sys

from proton import Message
from proton.handlers import MessagingHandler
from proton.reactor import Container


class Across(MessagingHandler):
    def __init__(self, recv_url, send_url, address, n, timeout):
        super().__init__(prefetch=200, auto_accept=True)
        self.recv_url, self.send_url = recv_url, send_url
        self.address, self.n, self.timeout = address, n, timeout
        self.error = None
        self.sent = self.accepted = 0
        self.received = []
        self.sender = None
        self.conns = []

    def on_start(self, event):
        self.timer = event.container.schedule(self.timeout, self)
        c = event.container.connect(self.recv_url, reconnect=False)
        self.conns.append(c)
        event.container.create_receiver(c, self.address)

    def on_link_opened(self, event):
        # the sender only once the receiver's link is up (the router has
        # no consumer before: it would release the first messages)
        if event.receiver and self.sender is None:
            c = event.container.connect(self.send_url, reconnect=False)
            self.conns.append(c)
            self.sender = event.container.create_sender(c, self.address)

    def on_sendable(self, event):
        while event.sender.credit and self.sent < self.n:
            event.sender.send(Message(body=self.sent, durable=False))
            self.sent += 1

    def on_message(self, event):
        self.received.append(event.message.body)
        self.check()

    def on_accepted(self, event):
        self.accepted += 1
        self.check()

    def on_rejected(self, event):
        self.fail('message rejected')

    def on_released(self, event):
        self.fail('message released')

    def on_transport_error(self, event):
        cond = event.transport.condition
        self.fail('transport error: %s' % (cond.description if cond else '?'))

    def on_timer_task(self, event):
        self.fail('timed out: sent %d, received %d, accepted %d'
                  % (self.sent, len(self.received), self.accepted))

    def check(self):
        if len(self.received) >= self.n and self.accepted >= self.n:
            if self.received != list(range(self.n)):
                self.fail('not once and in order: %d received, first wrong at %s' % (
                    len(self.received), next((i for i, v in enumerate(self.received)
                                              if v != i), len(self.received))))
            else:
                self.finish()

    def fail(self, why):
        if self.error is None:
            self.error = why
        self.finish()

    def finish(self):
        self.timer.cancel()
        for c in self.conns:
            c.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--recv-url', required=True)
    ap.add_argument('--send-url', required=True)
    ap.add_argument('--address', default='two_ports')
    ap.add_argument('--messages', type=int, default=1000)
    ap.add_argument('--timeout', type=float, default=30)
    a = ap.parse_args()
    h = Across(a.recv_url, a.send_url, a.address, a.messages, a.timeout)
    Container(h).run()
    if h.error:
        print('FAIL: %s' % h.error)
        return 1
    print('%d unsettled messages %s -> %s: each once, in order, accepted'
          % (a.messages, a.send_url, a.recv_url))
    return 0


if __name__ == '__main__':
    sys.exit(main())
