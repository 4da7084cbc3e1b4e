#!/usr/bin/python3
"""Dual backends, as TripleO's om-dual-backends design deploys them: RPC
through rpcrouterd (transport_url = amqp://...) and notifications through
RabbitMQ ([oslo_messaging_notifications] transport_url = rabbit://...), in
one process, configured the way an operator writes the service's config
file (docs/oslo.md).

A private RabbitMQ is started once for the file (setUpModule) on free
loopback ports. Without RabbitMQ the tests fail, not skip: the bootstrap
installs rabbitmq-server, so its absence is a broken set-up.
"""

import os
import sys
import threading
import time
import unittest
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import oslo_messaging  # noqa: E402

from oslo_helpers import (WAIT, AddressLog, Notifications,  # noqa: E402
                          amqp_url, make_conf, notification_transport,
                          on_emergency, start_watchdog, wait_for)
from rabbitmq import RabbitMQ  # noqa: E402

RMQ = None
# RR_OSLO_BACKEND=rabbit: the RPC half goes to RabbitMQ too, to check the
# test itself before rpcrouterd routes (router-specific checks skipped).
BACKEND = os.environ.get("RR_OSLO_BACKEND", "router")
# Below meson's 300 s for this file (see test_oslo_rpc.py).
start_watchdog(240)


def setUpModule():
    global RMQ
    RMQ = RabbitMQ().start()


def tearDownModule():
    if RMQ is not None:
        RMQ.cleanup()


def uniq(prefix):
    return "%s-%s" % (prefix, uuid.uuid4().hex[:8])


class Listener:
    """A notification listener on its own transport (as a separate service,
    e.g. ceilometer's agent, would run it)."""

    def __init__(self, transport, topic, pool=None):
        self.endpoint = Notifications()
        self.transport = transport
        self.listener = oslo_messaging.get_notification_listener(
            transport, [oslo_messaging.Target(topic=topic)],
            [self.endpoint], executor="threading", pool=pool)
        self.listener.start()

    def stop(self):
        if self.listener is not None:
            self.listener.stop()
            self.listener.wait()
            self.listener = None
        if self.transport is not None:
            self.transport.cleanup()
            self.transport = None


def warm_up(notifier, listener, timeout=WAIT):
    """Notify until the listener has one: RabbitMQ drops notifications sent
    before the listener's queue is bound."""
    deadline = time.monotonic() + timeout
    while not listener.endpoint.seen():
        if time.monotonic() > deadline:
            raise AssertionError("the listener never got a notification")
        notifier.info({}, "rr.warmup", {"n": 0})
        time.sleep(0.2)


class RabbitNotificationTest(unittest.TestCase):
    """Notifications alone over rabbit:// (the half of the dual set-up
    that does not involve rpcrouterd)."""

    def test_notifications_reach_listener(self):
        topic = uniq("notifications")
        listener = Listener(notification_transport(RMQ.url), topic)
        self.addCleanup(listener.stop)
        ntrans = notification_transport(RMQ.url)
        self.addCleanup(ntrans.cleanup)
        notifier = oslo_messaging.Notifier(
            ntrans, publisher_id="compute.host1", driver="messagingv2",
            topics=[topic])
        warm_up(notifier, listener)
        for i in range(10):
            notifier.info({}, "rr.test.info", {"i": i})
        notifier.error({}, "rr.test.error", {"why": "disk"})
        wait_for(lambda: len([e for e in listener.endpoint.seen()
                              if e[2] != "rr.warmup"]) >= 11,
                 what="11 notifications")
        got = [e for e in listener.endpoint.seen() if e[2] != "rr.warmup"]
        infos = [e for e in got if e[0] == "info"]
        self.assertEqual(sorted(e[3]["i"] for e in infos), list(range(10)))
        self.assertTrue(all(e[1] == "compute.host1" for e in got))
        self.assertEqual([e[3] for e in got if e[0] == "error"],
                         [{"why": "disk"}])
        queues = RMQ.ctl("list_queues", "-q", "name").stdout.split()
        self.assertIn(topic + ".info", queues)
        self.assertIn(topic + ".error", queues)


class WorkEndpoint:
    """An RPC endpoint that, like a nova or neutron service, emits a
    notification while handling a call."""

    def __init__(self, notifier):
        self.notifier = notifier
        self.lock = threading.Lock()
        self.handled = []

    def build(self, ctxt, name):
        with self.lock:
            self.handled.append(name)
        self.notifier.info(ctxt, "instance.create.end", {"name": name})
        return "built " + name


class DualBackendTest(unittest.TestCase):
    """RPC on rpcrouterd, notifications on RabbitMQ, in one process and one
    service config."""

    @classmethod
    def setUpClass(cls):
        cls.router = None
        if BACKEND == "rabbit":
            cls.rpc_url = RMQ.url
            return
        from rrtest import Router
        cls.router = Router()
        cls.router.__enter__()
        on_emergency(cls.router.kill)
        cls.rpc_url = amqp_url(cls.router.url)

    @classmethod
    def tearDownClass(cls):
        if cls.router is not None:
            # SIGTERM; the fixture expects exit status 0.
            cls.router.__exit__(None, None, None)

    def service_conf(self, topic):
        """The service's config file, as docs/oslo.md tells operators to
        write it."""
        return make_conf(default={
            "transport_url": self.rpc_url,
        }, notifications={
            "transport_url": RMQ.url,
            "driver": "messagingv2",
            "topics": topic,
        })

    def test_rpc_via_router_notifications_via_rabbit(self):
        rpc_topic = uniq("compute")
        ntopic = uniq("notifications")
        conf = self.service_conf(ntopic)
        with AddressLog() as alog:
            rpc = oslo_messaging.get_rpc_transport(conf)
            self.addCleanup(rpc.cleanup)
            notify = oslo_messaging.get_notification_transport(conf)
            self.addCleanup(notify.cleanup)
            # The two transports really are the two drivers.
            if self.router is not None:
                self.assertEqual(type(rpc._driver).__name__, "ProtonDriver")
            self.assertEqual(type(notify._driver).__name__, "RabbitDriver")

            # A listener elsewhere (ceilometer) on RabbitMQ.
            listener = Listener(notification_transport(RMQ.url), ntopic)
            self.addCleanup(listener.stop)
            notifier = oslo_messaging.Notifier(notify,
                                               publisher_id="compute.h1")
            warm_up(notifier, listener)

            # The service: an RPC server whose handler notifies.
            ep = WorkEndpoint(notifier)
            server = oslo_messaging.get_rpc_server(
                rpc, oslo_messaging.Target(topic=rpc_topic, server="h1"),
                [ep], executor="threading")
            server.start()
            self.addCleanup(server.wait)
            self.addCleanup(server.stop)

            # Its caller (nova-conductor) on its own RPC connection.
            ctrans = oslo_messaging.get_rpc_transport(
                self.service_conf(ntopic))
            self.addCleanup(ctrans.cleanup)
            client = oslo_messaging.get_rpc_client(
                ctrans, oslo_messaging.Target(topic=rpc_topic), timeout=10)
            wait_for(lambda: self._try_call(client), what="RPC through "
                     "rpcrouterd")
            names = ["vm%d" % i for i in range(10)]
            for n in names:
                self.assertEqual(client.call({}, "build", name=n),
                                 "built " + n)
            client.prepare(server="h1").cast({}, "build", name="cast-vm")
            wait_for(lambda: "cast-vm" in ep.handled, what="cast")
            wait_for(lambda: len(self._created(listener)) >= 11,
                     what="11 notifications through RabbitMQ")
        self.assertEqual(sorted(self._created(listener)),
                         sorted(names + ["cast-vm"]))
        # The RPC went through the router with routable addresses, and no
        # notification address ever went to the router.
        addrs = alog.addresses()
        if self.router is None:
            return
        self.assertIn("openstack.org/om/rpc/anycast/openstack/" + rpc_topic,
                      addrs)
        self.assertFalse([a for a in addrs if "notify" in a], addrs)
        # ... while RabbitMQ holds the notification queue.
        queues = RMQ.ctl("list_queues", "-q", "name").stdout.split()
        self.assertIn(ntopic + ".info", queues)
        self.assertFalse([q for q in queues if rpc_topic in q], queues)

    @staticmethod
    def _try_call(client):
        try:
            client.prepare(timeout=2).call({}, "build", name="probe")
            return True
        except oslo_messaging.MessagingTimeout:
            return False

    @staticmethod
    def _created(listener):
        return [e[3]["name"] for e in listener.endpoint.seen()
                if e[2] == "instance.create.end" and e[3]["name"] != "probe"]


if __name__ == "__main__":
    unittest.main(verbosity=2)
