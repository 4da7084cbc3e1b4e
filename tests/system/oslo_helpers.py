"""Helpers for the oslo.messaging system tests (Debian's
python3-oslo.messaging, run with /usr/bin/python3).

Configuration goes through a real oslo.config file, as an operator's would,
so the tests exercise the same option names docs/oslo.md documents.
"""

import faulthandler
import logging
import os
import sys
import tempfile
import threading
import time

import oslo_messaging
from oslo_messaging._metrics import client as metrics_client
from oslo_config import cfg

# The AMQP 1.0 driver's defaults are tuned for production (30 s timeouts,
# 10 s link retry); these keep a failing test short. Section
# [oslo_messaging_amqp], options from oslo_messaging/_drivers/amqp1_driver/
# opts.py.
FAST_AMQP = {
    "connection_retry_interval": 1,
    "connection_retry_backoff": 1,
    "connection_retry_interval_max": 2,
    "link_retry_delay": 1,
    "default_reply_timeout": 10,
    "default_send_timeout": 10,
    "default_notify_timeout": 10,
}

# Every wait in these tests is bounded by this unless a test says less.
WAIT = 20.0


def make_conf(amqp=None, rabbit=None, default=None, notifications=None):
    """A fresh ConfigOpts read from a temp config file with the given
    [DEFAULT], [oslo_messaging_amqp], [oslo_messaging_rabbit] and
    [oslo_messaging_notifications] values."""
    sections = {"DEFAULT": dict(default or {}),
                "oslo_messaging_amqp": dict(FAST_AMQP),
                "oslo_messaging_rabbit": dict(rabbit or {}),
                "oslo_messaging_notifications": dict(notifications or {})}
    sections["oslo_messaging_amqp"].update(amqp or {})
    fd, path = tempfile.mkstemp(prefix="rr-oslo-", suffix=".conf")
    with os.fdopen(fd, "w") as f:
        for name, values in sections.items():
            f.write("[%s]\n" % name)
            for k, v in values.items():
                f.write("%s = %s\n" % (k, v))
    conf = cfg.ConfigOpts()
    # oslo.messaging 14 registers [oslo_messaging_metrics] on the global
    # cfg.CONF only, yet RPCClient.call reads it from the transport's conf:
    # a private ConfigOpts must register that group itself (the drivers
    # register their own groups when loaded).
    # The group is missing from oslo_messaging.opts.list_opts() in 14.0.3.
    conf.register_opts(metrics_client.oslo_messaging_metrics,
                       group="oslo_messaging_metrics")
    try:
        # Parsed here, once: the file is not needed afterwards.
        conf(args=[], project="rr-oslo-test", default_config_files=[path])
    finally:
        os.unlink(path)
    return conf


def rpc_transport(url, amqp=None):
    return oslo_messaging.get_rpc_transport(make_conf(amqp=amqp), url=url)


def amqp_url(router_url, vhost=""):
    """oslo's amqp:// URL for a router URL amqp://127.0.0.1:PORT. A path
    of "/" means no virtual host, as TripleO writes it; "//" would be the
    virtual host "/", which pseudo_vhost (the default) puts into every
    address ("openstack.org/om/rpc/anycast///openstack/topic")."""
    return router_url.rstrip("/") + "/" + vhost


def wait_for(pred, timeout=WAIT, interval=0.05, what="condition"):
    """Poll pred() until true or timeout; returns its last value."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v or time.monotonic() > deadline:
            if not v:
                raise AssertionError("timed out after %.0f s waiting for %s"
                                     % (timeout, what))
            return v
        time.sleep(interval)


_EMERGENCY = []


def on_emergency(fn):
    """Register fn to run if the watchdog fires (e.g. a router's kill)."""
    _EMERGENCY.append(fn)


def start_watchdog(seconds):
    """A test file's last line of defence, set below meson's timeout: an
    oslo call can block for ever if the driver's event loop thread dies or
    blocks (its timeouts run on that thread). When it fires: every
    thread's traceback to stderr, then the routers and RabbitMQ nodes this
    process started are stopped, then exit 1. RR_OSLO_WATCHDOG overrides
    seconds (0: off)."""
    seconds = float(os.environ.get("RR_OSLO_WATCHDOG", seconds))
    if seconds <= 0:
        return

    def fire():
        if done.wait(seconds):
            return
        sys.stderr.write("\nwatchdog: %.0f s elapsed, the test file is "
                         "stuck; tracebacks:\n" % seconds)
        faulthandler.dump_traceback(all_threads=True)
        for fn in reversed(_EMERGENCY):
            try:
                fn()
            except Exception as e:
                sys.stderr.write("watchdog clean-up: %r\n" % e)
        try:
            import rabbitmq
            rabbitmq.emergency_stop()
        except Exception as e:
            sys.stderr.write("watchdog clean-up: %r\n" % e)
        sys.stderr.flush()
        os._exit(1)

    done = threading.Event()
    threading.Thread(target=fire, name="rr-watchdog", daemon=True).start()
    return done


class Failure(Exception):
    """Raised by the test endpoint; its module is not in
    allowed_remote_exmods, so callers see oslo_messaging.RemoteError."""


class Endpoint:
    """RPC endpoint recording what it received. Methods take (ctxt, **kw)
    as oslo dispatches them."""

    def __init__(self, name):
        self.name = name
        self.lock = threading.Lock()
        self.casts = []
        self.fanouts = []
        self.calls = 0

    def echo(self, ctxt, value):
        with self.lock:
            self.calls += 1
        return {"server": self.name, "value": value}

    def add(self, ctxt, a, b):
        with self.lock:
            self.calls += 1
        return a + b

    def record(self, ctxt, value):
        with self.lock:
            self.casts.append(value)

    def record_fanout(self, ctxt, value):
        with self.lock:
            self.fanouts.append(value)

    def fail_value(self, ctxt, text):
        # builtins are always allowed: the caller gets a ValueError
        # (a subclass made by oslo's deserialiser).
        raise ValueError(text)

    def fail_custom(self, ctxt, text):
        raise Failure(text)

    def seen(self, kind):
        with self.lock:
            return list(getattr(self, kind))


class Server:
    """One RPC server on its own transport, as a separate service process
    would have: its own AMQP connection."""

    def __init__(self, url, topic, server, exchange=None, amqp=None):
        self.endpoint = Endpoint(server)
        self.transport = rpc_transport(url, amqp)
        target = oslo_messaging.Target(topic=topic, server=server,
                                       exchange=exchange)
        self.rpc = oslo_messaging.get_rpc_server(
            self.transport, target, [self.endpoint], executor="threading")

    def start(self):
        self.rpc.start()
        return self

    def stop(self):
        if self.rpc is not None:
            self.rpc.stop()
            self.rpc.wait()
            self.rpc = None
        if self.transport is not None:
            self.transport.cleanup()
            self.transport = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False


class Client:
    def __init__(self, url, topic, exchange=None, amqp=None, timeout=10):
        self.transport = rpc_transport(url, amqp)
        self.target = oslo_messaging.Target(topic=topic, exchange=exchange)
        self.rpc = oslo_messaging.get_rpc_client(
            self.transport, self.target, timeout=timeout)

    def prepare(self, **kw):
        return self.rpc.prepare(**kw)

    def stop(self):
        if self.transport is not None:
            self.transport.cleanup()
            self.transport = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
        return False


def call_until_up(client, server=None, timeout=WAIT, per_call=2):
    """Call echo until a server answers (its links attached on the router
    and the address propagated); returns the reply."""
    deadline = time.monotonic() + timeout
    kw = {"timeout": per_call}
    if server:
        kw["server"] = server
    c = client.prepare(**kw)
    while True:
        try:
            return c.call({}, "echo", value="ping")
        except oslo_messaging.MessagingTimeout:
            if time.monotonic() > deadline:
                raise


class AddressLog(logging.Handler):
    """Collects the AMQP addresses the oslo driver reports in its debug
    log ("Sender <address> attached"), to check the addressing mode from
    the client's side."""

    LOGGER = "oslo_messaging._drivers.amqp1_driver.controller"

    def __init__(self):
        super().__init__(logging.DEBUG)
        # Not self.lock: logging.Handler holds that one around emit().
        self._mu = threading.Lock()
        self.senders = []

    def emit(self, record):
        msg = record.msg
        if isinstance(msg, str) and msg.startswith("Sender %s attached"):
            with self._mu:
                self.senders.append(str(record.args[0]))

    def addresses(self):
        with self._mu:
            return list(self.senders)

    def __enter__(self):
        log = logging.getLogger(self.LOGGER)
        self._level = log.level
        log.setLevel(logging.DEBUG)
        log.addHandler(self)
        return self

    def __exit__(self, *exc):
        log = logging.getLogger(self.LOGGER)
        log.removeHandler(self)
        log.setLevel(self._level)
        return False


def addresser_of(transport):
    """The driver's addresser (LegacyAddresser or RoutableAddresser), set
    once the connection is up and the router's Open properties read.
    Reaches into the driver: there is no public API for it."""
    ctrl = getattr(transport._driver, "_ctrl", None)
    return getattr(ctrl, "addresser", None) if ctrl else None


class Notifications:
    """A notification endpoint recording (priority, event_type, payload)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.events = []

    def _rec(self, priority, ctxt, publisher_id, event_type, payload,
             metadata):
        with self.lock:
            self.events.append((priority, publisher_id, event_type, payload))

    def info(self, ctxt, publisher_id, event_type, payload, metadata):
        self._rec("info", ctxt, publisher_id, event_type, payload, metadata)

    def error(self, ctxt, publisher_id, event_type, payload, metadata):
        self._rec("error", ctxt, publisher_id, event_type, payload, metadata)

    def seen(self):
        with self.lock:
            return list(self.events)


def notification_transport(url, rabbit=None):
    return oslo_messaging.get_notification_transport(
        make_conf(rabbit=rabbit), url=url)
