"""rrtest: the shared fixture of rpcrouter's system tests.

Stdlib unittest + python3-qpid-proton only (Debian's /usr/bin/python3).
Used by the test_proton_*.py files and by the oslo.messaging tests; keep
this API stable (docs/testing.md, "System tests", documents it).

Environment (set by tests/system/meson.build):
  RPCROUTERD       path to rpcrouterd (required)
  RPCROUTER_CTL    path to rpcrouter-ctl (optional: without it, stats()
                   raises unittest.SkipTest)
  PROTON_C_CLIENT  path to the proton-C test client (optional)
  RR_WORKERS       "1" or "2": the default worker count of Router()
  RR_TEST_TMP      scratch directory (default: a tempfile directory)
  RR_DRIVER        "socket" (default) or "dpdk": the dataplane driver of
                   Router(). dpdk: rpcrouterd on a net_tap port of its own
                   (tap rrtN, router 10.64.N.2/24, kernel side .1), which
                   needs root inside a network namespace the caller made
                   (tests/system/dpdk_parity/netns_run.sh); url/urls/
                   hostport/host then give the router's native address

Public API
  free_port(host='127.0.0.1') -> int
  workers() -> int                           RR_WORKERS as an int (default 1)
  Router(workers=None, listeners=None, addresses=None, extra_sections="",
         sasl=None, router=None, dataplane=None, log_enable="info+")
      .url .urls .host .hostport .port .ports .pid .dir .config_path
      .ctl_socket .driver
      .start() .stop() .kill() .running()
      .stats() .counter(name) .drop(name) .worker_stats(i) .control()
      .rss_kb() .log_text() .log_tail(n=40)
      context manager: starts on enter, stop() on exit
  Sasl(users={'user': 'pass'}, mechs="PLAIN ANONYMOUS")  -> Router(sasl=...)
  Client(): one proton Container driving several connections from the
      test's thread, for credit/drain/disposition observation
      .connect(url, **kw) -> Conn   .wait(cond, timeout, what)
      .run_for(seconds, invariant=None)   .close()
  Conn: .sender(address, presettled=False, name=None) -> Sender
        .receiver(address, credit=0, dynamic=False, name=None) -> Receiver
        .close() .abort() .remote_properties .remote_offered_capabilities
        .remote_condition .transport_condition .closed
  Sender:   .credit .drain_seen .send(msg or body, **props) -> delivery
            .detach() .remote_condition .closed .link
  Receiver: .messages [(Message, Delivery)] .aborted .flow(n) .credit
            .accept(d) .reject(d, name, description) .release(d)
            .modify(d, failed, undeliverable) .detach() .address
  outcome(delivery) -> 'ACCEPTED' | 'REJECTED' | 'RELEASED' | 'MODIFIED' | None
  RawAmqp(port, host, reset_ok=False): a raw-socket AMQP peer for bad-input tests
      .sasl_anonymous() .open(**fields) .begin(...) .attach(...)
      .frame(channel, performative_bytes, payload) .send(bytes)
      .read_frame(timeout) .expect(name, timeout) .wait_eof(timeout)
  perf(name, *fields) -> bytes     an AMQP performative, encoded by proton
  frame(channel, body, ftype=0) -> bytes
  connect_located(client, router) -> (Conn, worker id that took it)
  on_exit(fn): last-resort clean-up at exit and on SIGTERM (routers are
      killed that way already)
  RouterTestCase(unittest.TestCase): prints the log tail of every router
      the test started (self.router(...)) when the test fails.
  main(): unittest.main with verbosity 2.
"""

import atexit
import ctypes
import json
import os
import re
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import uuid

from proton import (Condition, Data, Delivery, Described, Endpoint, Link,
                    Message, symbol, ubyte, uint, ulong)
from proton import Handler
from proton.reactor import Container

__all__ = [
    'free_port', 'workers', 'Router', 'Sasl', 'Client', 'Conn', 'Sender',
    'Receiver', 'outcome', 'RawAmqp', 'perf', 'frame', 'RouterTestCase',
    'main', 'DEFAULT_ADDRESSES', 'RPCROUTERD', 'RPCROUTER_CTL',
    'PROTON_C_CLIENT', 'AMQP_HEADER', 'SASL_HEADER', 'Frame', 'wait_until',
    'unique', 'message_bytes', 'source', 'target', 'connect_located',
    'on_exit', 'DRIVER', 'ParityGap',
]

RPCROUTERD = os.environ.get('RPCROUTERD', '')
RPCROUTER_CTL = os.environ.get('RPCROUTER_CTL', '')
PROTON_C_CLIENT = os.environ.get('PROTON_C_CLIENT', '')

START_TIMEOUT = 10.0   # seconds for the router to listen and answer stats
DPDK_START_TIMEOUT = 30.0  # the EAL, the tap and the first polls take longer
DRIVER = os.environ.get('RR_DRIVER', '') or 'socket'
if DRIVER not in ('socket', 'dpdk'):
    raise SystemExit('RR_DRIVER=%r: socket or dpdk' % DRIVER)
STOP_TIMEOUT = 10.0    # seconds for SIGTERM to end it

# The 9 address sections of oslo.messaging's AMQP 1.0 driver, as TripleO
# configures qdrouterd (and as rpcrouterd's embedded default has them):
# (prefix, distribution).
DEFAULT_ADDRESSES = [
    ('openstack.org/om/rpc/multicast', 'multicast'),
    ('openstack.org/om/rpc/unicast', 'closest'),
    ('openstack.org/om/rpc/anycast', 'balanced'),
    ('openstack.org/om/notify/multicast', 'multicast'),
    ('openstack.org/om/notify/unicast', 'closest'),
    ('openstack.org/om/notify/anycast', 'balanced'),
    ('unicast', 'closest'),
    ('exclusive', 'closest'),
    ('broadcast', 'multicast'),
]


def workers():
    """RR_WORKERS as an int (1 when unset)."""
    return int(os.environ.get('RR_WORKERS', '1') or '1')


_env_workers = workers


def free_port(host='127.0.0.1'):
    """A TCP port nobody listens on right now (the kernel's choice).

    Racy by nature (another process may take it before the router binds),
    so Router.start() retries with fresh ports when the bind fails."""
    fam = socket.AF_INET6 if ':' in host else socket.AF_INET
    with socket.socket(fam, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def _tmp_base():
    base = os.environ.get('RR_TEST_TMP')
    if base:
        os.makedirs(base, exist_ok=True)
        return base
    return tempfile.gettempdir()


def _listening(port):
    """True when some socket of this host is in LISTEN on TCP port `port`.

    Read from /proc/net/tcp{,6} rather than by connecting, so that waiting
    for the router makes no connection the tests' counters would see."""
    for path in ('/proc/net/tcp', '/proc/net/tcp6'):
        try:
            with open(path) as f:
                next(f)
                for line in f:
                    parts = line.split()
                    local, st = parts[1], parts[3]
                    if st == '0A' and int(local.rsplit(':', 1)[1], 16) == port:
                        return True
        except OSError:
            continue
    return False


def _conf_value(v):
    if isinstance(v, bool):
        return 'yes' if v else 'no'
    return str(v)


def _section(name, attrs):
    lines = ['%s {' % name]
    for k, v in attrs.items():
        if v is None:
            continue
        lines.append('    %s: %s' % (k, _conf_value(v)))
    lines.append('}')
    return '\n'.join(lines) + '\n'


class Sasl:
    """A Cyrus SASL set-up for Router(sasl=...): a sasldb made with
    saslpasswd2 in the router's directory, and <name>.conf with mech_list,
    sasldb_path, pwcheck_method auxprop, auxprop_plugin sasldb.

    users: {name: password}. Each user is created in several realms (the
    host name, its FQDN, localhost and the listener address) because the
    realm Cyrus looks a bare user name up in is the server's FQDN by
    default, and which FQDN that is depends on how the server is set up.
    listener: attributes merged into every listener (default: offer PLAIN
    and ANONYMOUS, authenticatePeer yes)."""

    def __init__(self, users=None, mechs='PLAIN ANONYMOUS', name='qdrouterd',
                 listener=None, realms=None):
        self.users = dict(users or {'user': 'pass'})
        self.mechs = mechs
        self.name = name
        self.listener = dict(listener or {'saslMechanisms': 'PLAIN ANONYMOUS',
                                          'authenticatePeer': True})
        self.realms = realms

    def make(self, directory, listener_hosts=()):
        """Write the sasldb and the Cyrus conf into directory; returns it.
        listener_hosts: the router's listener addresses (realms too)."""
        db = os.path.join(directory, self.name + '.sasldb')
        realms = self.realms
        if realms is None:
            realms = []
            for r in (socket.gethostname(), socket.getfqdn(), 'localhost',
                      '127.0.0.1') + tuple(listener_hosts):
                if r and r not in realms:
                    realms.append(r)
        for user, password in self.users.items():
            for realm in realms:
                subprocess.run(['saslpasswd2', '-c', '-p', '-f', db, '-u', realm, user],
                               input=password.encode(), check=True,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                               timeout=10)
        with open(os.path.join(directory, self.name + '.conf'), 'w') as f:
            f.write('mech_list: %s\n' % self.mechs)
            f.write('sasldb_path: %s\n' % db)
            f.write('pwcheck_method: auxprop\n')
            f.write('auxprop_plugin: sasldb\n')
        return directory


class ParityGap(AssertionError):
    """A test asks for something the dpdk driver does not have (an IPv6
    listener): the test fails with this, it is not skipped, so that the
    dpdk parity run (tests/system/dpdk_parity) reports the gap."""


def _netns_inode(pid):
    try:
        return os.stat('/proc/%s/ns/net' % pid).st_ino
    except OSError:
        return None


class _DpdkPort:
    """The dpdk dataplane of one Router (RR_DRIVER=dpdk): a net_tap port of
    its own in the caller's network namespace, a /24 of its own, a unique
    EAL file prefix, --no-huge -m 256, the idle back-off on, control on
    lcore 0 (CPU 0) and the worker lcores on the other CPUs (shared when
    there are fewer: the back-off lets them take turns), as
    tests/system/dpdk/run.sh does."""

    def __init__(self, seq, workers):
        # 10.64.0.0/10 and up: the 10.77.0.0/24 of tests/system/dpdk stays clear
        self.tap = 'rrt%d' % seq
        net = '10.%d.%d' % (64 + seq // 256, seq % 256)
        self.addr = net + '.2'
        self.kernel_addr = net + '.1'
        # RR_DPDK_PREFIX (netns_run.sh sets it): its own clean-up knows them
        self.prefix = '%s_%d' % (os.environ.get('RR_DPDK_PREFIX') or 'rrp%d' % os.getpid(), seq)
        ncpu = os.cpu_count() or 1
        lcores = ['0@0']
        for i in range(1, workers + 1):
            lcores.append('%d@%d' % (i, 1 + (i - 1) % (ncpu - 1) if ncpu > 1 else 0))
        self.dataplane = {
            'driver': 'dpdk',
            'dpdkEal': '--lcores=%s --no-huge -m 256 --no-pci --file-prefix %s'
                       % (','.join(lcores), self.prefix),
            'dpdkPorts': 'net_tap0,iface=%s' % self.tap,
            'dpdkAddress': self.addr + '/24',
            'dpdkIdleBackoffUs': 100,
        }
        self.configured = False

    @staticmethod
    def check_namespace():
        """Refuse to make taps in the host's own network namespace."""
        if os.geteuid() != 0:
            raise unittest.SkipTest('RR_DRIVER=dpdk needs root (a tap device)')
        mine, init = _netns_inode('self'), _netns_inode(1)
        if mine is None or mine == init:
            raise AssertionError('RR_DRIVER=dpdk: run inside a network namespace of the '
                                 'test\'s own (tests/system/dpdk_parity/netns_run.sh), not '
                                 'the host\'s')

    def tap_present(self):
        return os.path.exists('/sys/class/net/%s' % self.tap)

    def configure_kernel_side(self):
        """The tap's kernel side: up, the .1 address (once per start)."""
        if self.configured:
            return
        try:
            # no IPv6 chatter (router solicitations) on the router's port
            with open('/proc/sys/net/ipv6/conf/%s/disable_ipv6' % self.tap, 'w') as f:
                f.write('1')
        except OSError:
            pass
        for cmd in (['ip', 'link', 'set', self.tap, 'up'],
                    ['ip', 'addr', 'replace', self.kernel_addr + '/24', 'dev', self.tap]):
            subprocess.run(cmd, check=True, timeout=10, stdin=subprocess.DEVNULL,
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self.configured = True

    def answers_ping(self):
        """One ICMP echo to the router's address (ARP, then ICMP): no TCP,
        so no connection the tests' counters would see."""
        p = subprocess.run(['ping', '-n', '-q', '-c', '1', '-W', '1', self.addr],
                           stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, timeout=5)
        return p.returncode == 0

    def remove_runtime_dir(self):
        """The EAL leaves /var/run/dpdk/<prefix> behind, even on a clean exit."""
        d = '/var/run/dpdk/%s' % self.prefix
        if os.path.isdir(d):
            for name in os.listdir(d):
                try:
                    os.unlink(os.path.join(d, name))
                except OSError:
                    pass
            try:
                os.rmdir(d)
            except OSError:
                pass


class Router:
    """One rpcrouterd process with a generated qdrouterd.conf.

    workers: dataplane workers (default RR_WORKERS).
    listeners: list of dicts of listener attributes; each gets host
      127.0.0.1, a free port, saslMechanisms ANONYMOUS and authenticatePeer
      no unless the dict says otherwise (default: one such listener).
    addresses: list of (prefix, distribution) or dicts of address
      attributes (default: the 9 oslo prefixes, DEFAULT_ADDRESSES).
    extra_sections: text appended to the config verbatim.
    sasl: a Sasl (or True for Sasl()): router saslConfigDir/saslConfigName
      point at a sasldb made in the router's directory.
    router, dataplane: extra attributes of those sections (dicts).
    Starts in __enter__ (or start()); waits until every listener's port is
    in LISTEN and, when RPCROUTER_CTL is known, `rpcrouter-ctl stats
    --json` answers (both bounded by START_TIMEOUT).

    RR_DRIVER=dpdk (rrtest.DRIVER): the dataplane is the dpdk driver on a
    net_tap port of this router's own (_DpdkPort). A listener on 127.0.0.1
    (the default) listens on the router's native address instead, one on
    0.0.0.0 stays there (reached at the native address); an IPv6 host is a
    ParityGap (the driver is IPv4 only). Ready means: the tap is there
    (its kernel side then gets the .1 address), stats answer, every worker
    has polled (its gratuitous ARP went out) and the address answers a
    ping (bounded by DPDK_START_TIMEOUT)."""

    _seq = 0

    def __init__(self, workers=None, listeners=None, addresses=None,
                 extra_sections='', sasl=None, router=None, dataplane=None,
                 log_enable='info+', name=None):
        if not RPCROUTERD:
            raise unittest.SkipTest('RPCROUTERD is not set')
        Router._seq += 1
        self.name = name or 'rr%d-%d' % (os.getpid(), Router._seq)
        self.workers = int(workers) if workers is not None else _env_workers()
        self.listener_specs = [dict(l) for l in (listeners or [{}])]
        self.addresses = DEFAULT_ADDRESSES if addresses is None else addresses
        self.extra_sections = extra_sections
        self.sasl = Sasl() if sasl is True else sasl
        self.router_attrs = dict(router or {})
        self.dataplane_attrs = dict(dataplane or {})
        self.log_enable = log_enable
        self.dir = tempfile.mkdtemp(prefix=self.name + '-', dir=_tmp_base())
        # A unix socket path is limited to 108 bytes: keep it short.
        self._own_sockdir = None
        if len(self.dir) < 80:
            sockdir = self.dir
        else:
            sockdir = self._own_sockdir = tempfile.mkdtemp(prefix='rr')
        self.ctl_socket = os.path.join(sockdir, 'ctl.sock')
        self.log_path = os.path.join(self.dir, 'router.log')
        self.stderr_path = os.path.join(self.dir, 'router.stderr')
        self.config_path = os.path.join(self.dir, 'rpcrouterd.conf')
        self.proc = None
        self.ports = []
        self.hosts = []
        self.returncode = None
        self.driver = DRIVER
        self.dpdk = _DpdkPort(Router._seq, self.workers) if DRIVER == 'dpdk' else None

    # -- configuration -------------------------------------------------
    def config_text(self):
        """The qdrouterd.conf text this router runs with (ports chosen)."""
        out = []
        r = {'mode': 'standalone', 'id': self.name}
        if self.sasl:
            r['saslConfigDir'] = self.dir
            r['saslConfigName'] = self.sasl.name
        r.update(self.router_attrs)
        out.append(_section('router', r))
        for spec, port in zip(self.listener_specs, self.ports):
            l = {'host': '127.0.0.1', 'port': port,
                 'saslMechanisms': 'ANONYMOUS', 'authenticatePeer': False}
            if self.sasl:
                l.update(self.sasl.listener)
            l.update(spec)
            l['port'] = port
            if self.dpdk:
                l['host'] = self._dpdk_host(l['host'])
            out.append(_section('listener', l))
        for a in self.addresses:
            if isinstance(a, dict):
                out.append(_section('address', a))
            else:
                out.append(_section('address', {'prefix': a[0], 'distribution': a[1]}))
        d = {'workers': self.workers, 'controlSocket': self.ctl_socket}
        if self.dpdk:
            d.update(self.dpdk.dataplane)
        d.update(self.dataplane_attrs)
        out.append(_section('dataplane', d))
        out.append(_section('log', {'module': 'DEFAULT', 'enable': self.log_enable,
                                    'outputFile': self.log_path}))
        if self.extra_sections:
            out.append(self.extra_sections.rstrip('\n') + '\n')
        return '\n'.join(out)

    def _dpdk_host(self, host):
        """A listener host as the dpdk driver can serve it: its native
        address for loopback, any (0.0.0.0) stays; IPv6 it has not."""
        if host in ('127.0.0.1', 'localhost'):
            return self.dpdk.addr
        if host in ('', '0.0.0.0') or host == self.dpdk.addr:
            return host or '0.0.0.0'
        if ':' in host:
            raise ParityGap('the dpdk driver has no IPv6 (listener host %s): IPv6 is a later '
                            'step of the native stack (docs/dpdk.md); this test cannot run '
                            'on the dpdk driver' % host)
        raise ParityGap('listener host %s: the dpdk driver listens on its own address '
                        '(%s) or 0.0.0.0 only' % (host, self.dpdk.addr))

    def _choose_ports(self):
        self.ports, self.hosts = [], []
        for spec in self.listener_specs:
            host = spec.get('host', '127.0.0.1')
            if self.dpdk:
                self._dpdk_host(host)        # a ParityGap before anything starts
                probe = self.dpdk.addr
            elif host in ('', '0.0.0.0', '::'):
                probe = '::1' if host == '::' else '127.0.0.1'
            else:
                probe = host
            # (dpdk: the native stack owns every port of its address; a
            # kernel-free port is as good as any)
            port = spec.get('port') or free_port('127.0.0.1' if self.dpdk else probe)
            self.ports.append(int(port))
            self.hosts.append(probe)

    def write_config(self):
        self._choose_ports()
        if self.sasl:
            self.sasl.make(self.dir, [self.dpdk.addr] if self.dpdk else ())
        with open(self.config_path, 'w') as f:
            f.write(self.config_text())
        return self.config_path

    # -- addresses -----------------------------------------------------
    @property
    def port(self):
        return self.ports[0]

    @property
    def url(self):
        """amqp://HOST:PORT of the first listener."""
        return self.urls[0]

    @property
    def urls(self):
        out = []
        for h, p in zip(self.hosts, self.ports):
            out.append('amqp://[%s]:%d' % (h, p) if ':' in h else 'amqp://%s:%d' % (h, p))
        return out

    @property
    def host(self):
        """The address of the first listener (for RawAmqp and sockets)."""
        return self.hosts[0]

    @property
    def hostport(self):
        """HOST:PORT of the first listener (for proton_c_client)."""
        h = self.hosts[0]
        return ('[%s]:%d' if ':' in h else '%s:%d') % (h, self.ports[0])

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    # -- process -------------------------------------------------------
    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def start(self):
        last = None
        if self.dpdk:
            _DpdkPort.check_namespace()
        for _attempt in range(3):
            if self.dpdk:
                self.dpdk.configured = False
            self.write_config()
            try:
                if os.path.exists(self.ctl_socket):
                    os.unlink(self.ctl_socket)
            except OSError:
                pass
            with open(self.stderr_path, 'ab') as err:
                self.proc = subprocess.Popen([RPCROUTERD, '-c', self.config_path],
                                             stdin=subprocess.DEVNULL,
                                             stdout=err, stderr=err,
                                             preexec_fn=_pdeathsig_fn())
            _live_routers.add(self)
            try:
                self._wait_ready()
                return self
            except _BindRace as e:
                last = e
                continue
        raise AssertionError('rpcrouterd did not start: %s\n%s' % (last, self.log_tail()))

    def _dpdk_ready(self):
        """(ready, why not): the dpdk driver's readiness (see the class)."""
        if not self.dpdk.tap_present():
            return False, 'no tap %s yet' % self.dpdk.tap
        self.dpdk.configure_kernel_side()
        if RPCROUTER_CTL:
            try:
                s = self.stats()
            except Exception as e:  # not answering yet
                return False, 'rpcrouter-ctl stats: %s' % e
            idle = [w['id'] for w in s['workers']
                    if w.get('net_l3', {}).get('arp_tx_announce', 0) < 1]
            if len(s['workers']) != self.workers or idle:
                return False, 'workers %s not polling yet' % idle
        if not self.dpdk.answers_ping():
            return False, 'no ping answer from %s' % self.dpdk.addr
        return True, ''

    def _wait_ready(self):
        deadline = time.monotonic() + (DPDK_START_TIMEOUT if self.dpdk else START_TIMEOUT)
        why = 'ports not listening'
        while time.monotonic() < deadline:
            rc = self.proc.poll()
            if rc is not None:
                self.returncode = rc
                text = self.log_tail()
                if not self.dpdk and re.search(r'in use|EADDRINUSE', text, re.I):
                    raise _BindRace('port in use (exit %d)' % rc)
                raise AssertionError('rpcrouterd exited with %d during start-up\n%s'
                                     % (rc, text))
            if self.dpdk:
                ok, why = self._dpdk_ready()
                if ok:
                    return
            elif all(_listening(p) for p in self.ports):
                if not RPCROUTER_CTL:
                    return
                try:
                    self.stats()
                    return
                except Exception as e:  # not answering yet
                    why = 'rpcrouter-ctl stats: %s' % e
            time.sleep(0.02)
        self.kill()
        raise AssertionError('rpcrouterd not ready within %.0f s (%s)\n%s'
                             % (DPDK_START_TIMEOUT if self.dpdk else START_TIMEOUT, why,
                                self.log_tail()))

    def stop(self, timeout=STOP_TIMEOUT, expect_code=0):
        """SIGTERM, wait <= timeout; fails (after SIGKILL if needed) unless
        the exit status is expect_code (None: any). Returns the status."""
        if self.proc is None:
            return self.returncode
        pid = self.proc.pid
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
                self.returncode = self.proc.returncode
                self.proc = None
                _live_routers.discard(self)
                raise AssertionError('rpcrouterd (pid %d) did not exit within %.0f s of '
                                     'SIGTERM: killed\n%s' % (pid, timeout, self.log_tail()))
        self.returncode = self.proc.returncode
        self.proc = None
        _live_routers.discard(self)
        self._remove_sockdir()
        if expect_code is not None and self.returncode != expect_code:
            raise AssertionError('rpcrouterd (pid %d) exited with %s, expected %s\n%s'
                                 % (pid, self.returncode, expect_code, self.log_tail()))
        return self.returncode

    def kill(self):
        """SIGKILL (clean-up after a failure)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)
        if self.proc is not None:
            self.returncode = self.proc.returncode
            self.proc = None
        _live_routers.discard(self)
        self._remove_sockdir()

    def _remove_sockdir(self):
        # the short-path directory made for the control socket (not the
        # router's own directory, which stays for post-mortems); with the
        # dpdk driver the EAL's runtime directory too (the process is gone)
        if self.dpdk:
            self.dpdk.remove_runtime_dir()
        d, self._own_sockdir = self._own_sockdir, None
        if d:
            try:
                if os.path.exists(self.ctl_socket):
                    os.unlink(self.ctl_socket)
                os.rmdir(d)
            except OSError:
                pass

    def __enter__(self):
        return self.start()

    def __exit__(self, etype, evalue, tb):
        if etype is None:
            self.stop()
        else:
            sys.stderr.write('\n--- %s log tail (test failed) ---\n%s\n' % (self.name,
                                                                            self.log_tail()))
            try:
                self.stop()
            except AssertionError as e:
                sys.stderr.write('%s\n' % e)
            finally:
                self.kill()
        return False

    # -- observation ---------------------------------------------------
    def stats(self):
        """`rpcrouter-ctl --socket SOCK stats --json`, parsed."""
        if not RPCROUTER_CTL:
            raise unittest.SkipTest('RPCROUTER_CTL is not set (rpcrouter-ctl not built)')
        p = subprocess.run([RPCROUTER_CTL, '--socket', self.ctl_socket, 'stats', '--json'],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=10)
        if p.returncode != 0:
            raise RuntimeError('rpcrouter-ctl exit %d: %s' % (p.returncode,
                                                              p.stderr.decode(errors='replace')))
        return json.loads(p.stdout.decode())

    def counter(self, name, stats=None):
        """totals.counters[name] (a KeyError names a counter the router lacks)."""
        s = stats or self.stats()
        return s['totals']['counters'][name]

    def drop(self, name, stats=None):
        """totals.drops[name]."""
        s = stats or self.stats()
        return s['totals']['drops'][name]

    def worker_stats(self, i, stats=None):
        s = stats or self.stats()
        for w in s['workers']:
            if w['id'] == i:
                return w
        raise KeyError('no worker %d in %r' % (i, [w['id'] for w in s['workers']]))

    def control(self, stats=None):
        return (stats or self.stats())['control']

    def rss_kb(self):
        """VmRSS of the router process in KiB (from /proc/PID/status)."""
        with open('/proc/%d/status' % self.proc.pid) as f:
            for line in f:
                if line.startswith('VmRSS:'):
                    return int(line.split()[1])
        return 0

    def log_text(self):
        """The router's log file and its stderr, concatenated."""
        out = ''
        for p in (self.log_path, self.stderr_path):
            try:
                with open(p, errors='replace') as f:
                    out += f.read()
            except OSError:
                pass
        return out

    def log_tail(self, n=40):
        lines = self.log_text().splitlines()
        return '\n'.join(['[%s] %s' % (self.name, l) for l in lines[-n:]]) or \
            '[%s] (empty log)' % self.name


class _BindRace(Exception):
    pass


# Routers still running when the test process ends (a failed test that
# skipped clean-up, or meson's timeout sending SIGTERM) are killed: at exit,
# on SIGTERM, and, if this process dies without either, by the kernel
# (PR_SET_PDEATHSIG). Other fixtures (the RabbitMQ one) can register their
# own last-resort clean-up with on_exit(fn).
_live_routers = set()
_exit_hooks = []


def on_exit(fn):
    """Call fn() when the test process ends: normally, or by SIGTERM
    (meson's timeout). fn must be quick and must not raise."""
    _exit_hooks.append(fn)


def _kill_live_routers():
    for r in list(_live_routers):
        try:
            r.kill()
        except Exception:
            pass


def _run_exit_hooks():
    _kill_live_routers()
    while _exit_hooks:
        fn = _exit_hooks.pop()
        try:
            fn()
        except Exception:
            pass


atexit.register(_run_exit_hooks)


def _on_sigterm(signum, frame):
    # clean up, then die of SIGTERM as the sender expects (a SystemExit
    # would be caught by unittest as one test's error and the run go on)
    _run_exit_hooks()
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    os.kill(os.getpid(), signal.SIGTERM)


if signal.getsignal(signal.SIGTERM) in (signal.SIG_DFL, None):
    signal.signal(signal.SIGTERM, _on_sigterm)

_PR_SET_PDEATHSIG = 1
try:
    _libc = ctypes.CDLL(None, use_errno=True)
except OSError:
    _libc = None


def _child_dies_with_parent():
    # runs in the child between fork and exec
    if _libc is not None:
        _libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def _pdeathsig_fn():
    # the death signal follows the forking *thread*: only from the main one
    if threading.current_thread() is threading.main_thread():
        return _child_dies_with_parent
    return None


def wait_until(cond, timeout=10.0, what='condition', interval=0.02):
    """Poll cond() (no proton events) until true; AssertionError on timeout."""
    deadline = time.monotonic() + timeout
    while True:
        v = cond()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError('timed out after %.1f s waiting for %s' % (timeout, what))
        time.sleep(interval)


def connect_located(client, router, timeout=5.0):
    """client.connect(router.url) and find which worker took the
    connection (the one whose counters.conn_open went up: monotonic, so
    connections closing meanwhile do not blur it). Returns (Conn, worker
    id). Other connections must not be opened meanwhile."""
    def per_worker():
        return {w['id']: w['counters']['conn_open'] for w in router.stats()['workers']}
    before = per_worker()
    c = client.connect(router.url)
    where = []

    def moved():
        now = per_worker()
        where[:] = [w for w in now if now[w] > before.get(w, 0)]
        return len(where) == 1
    client.wait(moved, timeout, 'the new connection in the stats')
    return c, where[0]


# ----------------------------------------------------------------------
# proton clients driven from the test's thread

def outcome(delivery):
    """The remote outcome of a delivery as a string, None while unknown."""
    st = delivery.remote_state
    return {Delivery.ACCEPTED: 'ACCEPTED', Delivery.REJECTED: 'REJECTED',
            Delivery.RELEASED: 'RELEASED', Delivery.MODIFIED: 'MODIFIED'}.get(st)


class _LinkBase:
    def __init__(self, conn, link):
        self.conn = conn
        self.link = link
        self.closed = False          # the router detached it
        self.remote_condition = None

    @property
    def credit(self):
        return self.link.credit

    @property
    def opened(self):
        return not (self.link.state & Endpoint.REMOTE_UNINIT)

    def detach(self, wait=True, timeout=5.0):
        """Close (detach with closed=true) and, by default, wait for the reply."""
        self.link.close()
        if wait:
            self.conn.client.wait(lambda: self.link.state & Endpoint.REMOTE_CLOSED,
                                  timeout, 'detach of %s' % self.link.name)


class Sender(_LinkBase):
    """A sender link. deliveries: every delivery sent, in order."""

    def __init__(self, conn, link):
        super().__init__(conn, link)
        self.deliveries = []
        self.drain_seen = 0          # flows with drain=true seen
        self.auto_drained = True     # answer a drain at once (no messages queued here)
        self.flows = 0

    def send(self, msg=None, body=None, tag=None, **props):
        """Send msg (a proton Message) or a Message(body, **props); returns
        the Delivery. Pre-settled when the link was created presettled.
        Does not wait for credit: proton queues what credit does not cover."""
        if msg is None:
            msg = Message(body=body, **props)
        d = self.link.send(msg, tag)
        self.deliveries.append(d)
        return d


class Receiver(_LinkBase):
    """A receiver link; complete messages are appended to .messages as
    (Message, Delivery), aborted deliveries counted in .aborted. Nothing is
    settled unless the test calls accept/reject/release/modify (or
    auto_accept is set)."""

    def __init__(self, conn, link, auto_accept=False):
        super().__init__(conn, link)
        self.messages = []
        self.aborted = 0
        self.auto_accept = auto_accept

    @property
    def address(self):
        """The source address (for a dynamic source: the router's choice)."""
        return self.link.remote_source.address

    def bodies(self):
        return [m.body for m, _ in self.messages]

    def flow(self, n):
        self.link.flow(n)

    def drain(self, n):
        self.link.drain(n)

    def _settle(self, d, state):
        d.update(state)
        d.settle()

    def accept(self, d):
        self._settle(d, Delivery.ACCEPTED)

    def release(self, d):
        self._settle(d, Delivery.RELEASED)

    def reject(self, d, name='amqp:precondition-failed', description=None, info=None):
        d.local.condition = Condition(name, description, info)
        self._settle(d, Delivery.REJECTED)

    def modify(self, d, failed=True, undeliverable=False, annotations=None):
        d.local.failed = failed
        d.local.undeliverable = undeliverable
        if annotations:
            d.local.annotations = annotations
        self._settle(d, Delivery.MODIFIED)


class Conn:
    """A connection of a Client. Links are created on one session."""

    def __init__(self, client, connection):
        self.client = client
        self.connection = connection
        self.session = None
        self.closed = False                 # Close received from the router
        self.remote_condition = None        # the router's Close condition
        self.transport_condition = None     # proton's transport error (e.g. SASL)
        self.transport_closed = False
        self.links = {}

    @property
    def opened(self):
        return not (self.connection.state & Endpoint.REMOTE_UNINIT)

    @property
    def remote_properties(self):
        return self.connection.remote_properties

    @property
    def remote_offered_capabilities(self):
        caps = self.connection.remote_offered_capabilities
        return list(caps) if caps is not None else []

    @property
    def transport(self):
        return self.connection.transport

    def _session(self):
        if self.session is None:
            self.session = self.connection.session()
            self.session.open()
        return self.session

    def sender(self, address, presettled=False, name=None, source=None, wait=True,
               timeout=5.0):
        """Attach a sender with target `address` (None: anonymous relay).
        wait: until the router's attach arrives."""
        s = self._session()
        link = s.sender(name or 'snd-%s' % uuid.uuid4().hex[:8])
        if address is not None:
            link.target.address = address
        if source is not None:
            link.source.address = source
        elif address is not None:
            link.source.address = address   # as oslo's driver does
        link.snd_settle_mode = Link.SND_SETTLED if presettled else Link.SND_UNSETTLED
        w = Sender(self, link)
        self.links[link.name] = w
        link.rr_wrapper = w
        link.open()
        if wait:
            self.client.wait(lambda: w.opened or w.closed, timeout,
                             'attach of sender to %s' % address)
        return w

    def receiver(self, address, credit=0, dynamic=False, name=None, wait=True,
                 timeout=5.0, auto_accept=False, target=None):
        """Attach a receiver with source `address` (or a dynamic source) and
        issue `credit` at once. wait: until the router's attach arrives."""
        s = self._session()
        link = s.receiver(name or 'rcv-%s' % uuid.uuid4().hex[:8])
        if dynamic:
            link.source.dynamic = True
        elif address is not None:
            link.source.address = address
        if target is not None:
            link.target.address = target
        elif address is not None and not dynamic:
            link.target.address = address
        w = Receiver(self, link, auto_accept=auto_accept)
        self.links[link.name] = w
        link.rr_wrapper = w
        link.open()
        if credit:
            link.flow(credit)
        if wait:
            self.client.wait(lambda: w.opened or w.closed, timeout,
                             'attach of receiver from %s' % (address or 'dynamic'))
        return w

    def close(self, wait=True, timeout=5.0):
        """Close the connection (and wait for the router's Close)."""
        if self.connection.state & Endpoint.LOCAL_ACTIVE:
            self.connection.close()
        if wait:
            self.client.wait(lambda: self.closed or self.transport_closed, timeout,
                             'close of the connection')

    def abort(self):
        """Drop the TCP connection without Close (a crashing peer)."""
        t = self.connection.transport
        if t is not None:
            t.close_tail()
            t.close_head()
        self.client.run_for(0.05)


class _ConnHandler(Handler):
    def __init__(self, client):
        super().__init__()
        self.client = client

    # proton hands out a new Python wrapper for the same engine object on
    # each event, with the attributes set on any of them: find ours by
    # attribute, not by identity
    @staticmethod
    def _wrap(link):
        return getattr(link, 'rr_wrapper', None)

    @staticmethod
    def _conn(connection):
        return getattr(connection, 'rr_conn', None) if connection is not None else None

    def on_connection_remote_open(self, event):
        pass

    def on_connection_remote_close(self, event):
        c = self._conn(event.connection)
        if c:
            c.closed = True
            cond = event.connection.remote_condition
            c.remote_condition = cond
        if event.connection.state & Endpoint.LOCAL_ACTIVE:
            event.connection.close()

    def on_session_remote_close(self, event):
        if event.session.state & Endpoint.LOCAL_ACTIVE:
            event.session.close()

    def on_link_remote_close(self, event):
        w = self._wrap(event.link)
        if w:
            w.closed = True
            w.remote_condition = event.link.remote_condition
        if event.link.state & Endpoint.LOCAL_ACTIVE:
            event.link.close()

    def on_link_flow(self, event):
        w = self._wrap(event.link)
        if isinstance(w, Sender):
            w.flows += 1
            if event.link.drain_mode:
                w.drain_seen += 1
                if w.auto_drained:
                    event.link.drained()

    def on_delivery(self, event):
        d = event.delivery
        link = d.link
        w = self._wrap(link)
        if not isinstance(w, Receiver):
            return
        if d.aborted:
            w.aborted += 1
            d.settle()
            return
        if not d.readable or d.partial:
            return
        data = link.recv(d.pending)
        link.advance()
        m = Message()
        m.decode(data)
        w.messages.append((m, d))
        if w.auto_accept:
            w.accept(d)

    def on_transport_error(self, event):
        c = self._conn(event.connection)
        if c:
            c.transport_condition = event.transport.condition

    def on_transport_closed(self, event):
        c = self._conn(event.connection)
        if c:
            c.transport_closed = True


class _Idle:
    """A timer task that does nothing (Client's keep-alive)."""

    def on_timer_task(self, event):
        pass


class Client:
    """One proton Container, driven by wait()/run_for() from the test's
    thread, holding any number of connections: unlike BlockingConnection
    (one container per connection), a sender and a receiver on different
    connections make progress in the same wait."""

    def __init__(self, step=0.01):
        self.container = Container()
        self.container.container_id = 'rrtest-%s' % uuid.uuid4().hex[:8]
        self.container.timeout = step
        self.container.start()
        # A reactor with nothing left (every connection ended, no timer)
        # stops for good, and later connect()s never progress: a far
        # timer keeps it running for the Client's whole life.
        self._keepalive = self.container.schedule(10 ** 6, _Idle())
        self._conns = {}
        self.handler = _ConnHandler(self)

    def connect(self, url, wait=True, timeout=5.0, **kw):
        """Connect (no reconnect); kw go to Container.connect (user,
        password, allowed_mechs, heartbeat, properties, ...). wait: until the
        router's Open arrives (or the connection fails)."""
        kw.setdefault('reconnect', False)
        if 'user' in kw:
            kw.setdefault('allow_insecure_mechs', True)
        connection = self.container.connect(url, handler=self.handler, **kw)
        c = Conn(self, connection)
        connection.rr_conn = c
        self._conns[id(c)] = c
        if wait:
            self.wait(lambda: c.opened or c.transport_closed or c.closed, timeout,
                      'Open from %s' % url)
        return c

    def process(self):
        self.container.process()

    def wait(self, cond, timeout=10.0, what='condition'):
        """Process events until cond() is true; AssertionError on timeout."""
        deadline = time.monotonic() + timeout
        while True:
            v = cond()
            if v:
                return v
            if time.monotonic() > deadline:
                raise AssertionError('timed out after %.1f s waiting for %s' % (timeout, what))
            self.container.process()

    def run_for(self, seconds, invariant=None, what='invariant'):
        """Process events for `seconds`; if invariant is given it must hold
        after every step (AssertionError naming `what` otherwise)."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            self.container.process()
            if invariant is not None and not invariant():
                raise AssertionError('%s broke after %.3f s' % (what, seconds - (deadline - time.monotonic())))

    def close(self, timeout=3.0):
        """Close every connection still open, bounded by timeout."""
        for c in list(self._conns.values()):
            try:
                if c.connection.state & Endpoint.LOCAL_ACTIVE:
                    c.connection.close()
            except Exception:
                pass
        try:
            self.wait(lambda: all(c.closed or c.transport_closed or c.connection.transport is None
                                  for c in self._conns.values()), timeout, 'connections to close')
        except AssertionError:
            pass
        for c in list(self._conns.values()):
            t = c.connection.transport
            if t is not None:
                t.close_tail()
                t.close_head()
        try:
            self.run_for(0.05)
        except Exception:
            pass
        self._keepalive.cancel()
        self.container.stop_events()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


# ----------------------------------------------------------------------
# raw AMQP for bad-input tests

PERFORMATIVES = {
    'open': 0x10, 'begin': 0x11, 'attach': 0x12, 'flow': 0x13, 'transfer': 0x14,
    'disposition': 0x15, 'detach': 0x16, 'end': 0x17, 'close': 0x18,
    'sasl-mechanisms': 0x40, 'sasl-init': 0x41, 'sasl-challenge': 0x42,
    'sasl-response': 0x43, 'sasl-outcome': 0x44,
}
NAMES = {v: k for k, v in PERFORMATIVES.items()}
AMQP_HEADER = b'AMQP\x00\x01\x00\x00'
SASL_HEADER = b'AMQP\x03\x01\x00\x00'


def perf(name, *fields):
    """Encode a performative (by name) with its list of fields; values are
    proton types (uint, ushort, symbol, Described...) or None."""
    d = Data()
    d.put_object(Described(ulong(PERFORMATIVES[name]), list(fields)))
    return d.encode()


def source(address=None, dynamic=False):
    return Described(ulong(0x28), [address, None, None, None, dynamic or None])


def target(address=None):
    return Described(ulong(0x29), [address])


def frame(channel, body, ftype=0):
    """An AMQP frame (AMQP 2.3.1): size, doff 2, type, channel, body."""
    return struct.pack('>IBBH', 8 + len(body), 2, ftype, channel) + body


class Frame:
    def __init__(self, channel, ftype, body):
        self.channel = channel
        self.type = ftype
        self.body = body
        self.name = None
        self.fields = []
        self.payload = b''
        if body:
            d = Data()
            n = d.decode(body)
            obj = d.get_object()
            if isinstance(obj, Described):
                self.name = NAMES.get(int(obj.descriptor), obj.descriptor)
                self.fields = list(obj.value or [])
            self.payload = body[n:]

    def field(self, i):
        return self.fields[i] if i < len(self.fields) else None

    def condition(self):
        """(condition name, description) of a close/end/detach error, or None."""
        idx = {'close': 0, 'end': 0, 'detach': 2}.get(self.name)
        err = self.field(idx) if idx is not None else None
        if isinstance(err, Described) and err.value:
            v = list(err.value)
            return (str(v[0]), v[1] if len(v) > 1 else None)
        return None

    def __repr__(self):
        return '<Frame ch=%d %s %r>' % (self.channel, self.name or 'empty', self.fields)


class RawAmqp:
    """A raw TCP peer of the router that writes hand-made frames; reads
    are bounded by timeouts. After open(), .remote_open holds the router's
    Open frame, .max_frame its max-frame-size."""

    def __init__(self, port, host='127.0.0.1', timeout=5.0, reset_ok=False):
        """reset_ok: for a connection the router is expected to refuse. The
        dpdk driver resets a connection control refuses right after the
        handshake (ADR 0005), and that RST can beat connect()'s return:
        ECONNRESET (the handshake was made; a SYN answered by RST would be
        ECONNREFUSED) then gives a peer already at EOF with nothing read
        (.reset_on_connect True), as a refusal seen later would."""
        self.buf = b''
        self.eof = False
        self.reset_on_connect = False
        try:
            self.sock = socket.create_connection((host, port), timeout=timeout)
        except ConnectionResetError:
            if not reset_ok:
                raise
            self.sock = socket.socket()
            self.eof = self.reset_on_connect = True
        else:
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.remote_open = None
        self.max_frame = None
        self.timeout = timeout

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def send(self, data):
        """Write data; False when the router has already closed/reset."""
        try:
            self.sock.sendall(data)
            return True
        except (BrokenPipeError, ConnectionResetError):
            return False

    def _fill(self, n, deadline):
        while len(self.buf) < n and not self.eof:
            left = deadline - time.monotonic()
            if left <= 0:
                raise socket.timeout('no data within the timeout')
            self.sock.settimeout(left)
            try:
                chunk = self.sock.recv(65536)
            except ConnectionResetError:
                chunk = b''
            if not chunk:
                self.eof = True
                break
            self.buf += chunk
        return len(self.buf) >= n

    def read_bytes(self, n, timeout=None):
        deadline = time.monotonic() + (timeout or self.timeout)
        if not self._fill(n, deadline):
            out, self.buf = self.buf, b''
            return out
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def read_frame(self, timeout=None):
        """The next frame, or None at EOF. socket.timeout when nothing comes."""
        deadline = time.monotonic() + (timeout or self.timeout)
        if not self._fill(8, deadline):
            return None
        size, doff, ftype, channel = struct.unpack('>IBBH', self.buf[:8])
        if not self._fill(size, deadline):
            return None
        raw, self.buf = self.buf[:size], self.buf[size:]
        return Frame(channel, ftype, raw[doff * 4:])

    def expect(self, name, timeout=None):
        """Read frames until one named `name` (skipping others); AssertionError
        at EOF or timeout. Returns (frame, skipped frames)."""
        deadline = time.monotonic() + (timeout or self.timeout)
        seen = []
        while True:
            left = deadline - time.monotonic()
            try:
                f = self.read_frame(max(left, 0.001)) if left > 0 else None
            except socket.timeout:
                f = None
                left = 0
            if f is None:
                raise AssertionError('expected %s, got %s then %s' %
                                     (name, seen, 'EOF' if self.eof else 'nothing'))
            if f.name == name:
                return f, seen
            seen.append(f)

    def frames_until_eof(self, timeout=None):
        """Every frame until the router closes the socket; AssertionError if
        it does not within timeout."""
        deadline = time.monotonic() + (timeout or self.timeout)
        out = []
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError('connection not closed within the timeout; frames: %r' % out)
            try:
                f = self.read_frame(left)
            except socket.timeout:
                continue
            except struct.error:
                break
            if f is None:
                return out
            out.append(f)

    def wait_eof(self, timeout=None):
        """True when the router closes the connection within timeout."""
        deadline = time.monotonic() + (timeout or self.timeout)
        while not self.eof:
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            self.sock.settimeout(left)
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                return False
            except ConnectionResetError:
                chunk = b''
            if not chunk:
                self.eof = True
            else:
                self.buf += chunk
        return True

    def sasl_anonymous(self):
        """SASL ANONYMOUS exchange (AMQP 5.3); returns the outcome frame."""
        self.send(SASL_HEADER)
        hdr = self.read_bytes(8)
        if hdr != SASL_HEADER:
            raise AssertionError('router answered the SASL header with %r' % hdr)
        mechs, _ = self.expect('sasl-mechanisms')
        self.send(frame(0, perf('sasl-init', symbol('ANONYMOUS'), b'anonymous', None), ftype=1))
        out, _ = self.expect('sasl-outcome')
        if int(out.field(0)) != 0:
            raise AssertionError('SASL ANONYMOUS refused: %r' % out)
        return out

    def open(self, container_id='rawamqp', max_frame_size=None, sasl=True, extra=b''):
        """SASL ANONYMOUS (if sasl), the AMQP header and Open, read the
        router's header and Open; returns the router's Open frame."""
        if sasl:
            self.sasl_anonymous()
        fields = [container_id, None]
        if max_frame_size is not None:
            fields.append(uint(max_frame_size))
        self.send(AMQP_HEADER + frame(0, perf('open', *fields)) + extra)
        hdr = self.read_bytes(8)
        if hdr != AMQP_HEADER:
            raise AssertionError('router answered the AMQP header with %r' % hdr)
        o, _ = self.expect('open')
        self.remote_open = o
        mf = o.field(2)
        self.max_frame = int(mf) if mf is not None else 0xffffffff
        return o

    def begin(self, channel=0, next_outgoing_id=0, incoming_window=2048, outgoing_window=2048):
        self.send(frame(channel, perf('begin', None, uint(next_outgoing_id),
                                      uint(incoming_window), uint(outgoing_window))))
        b, _ = self.expect('begin')
        return b

    def attach(self, name, handle, role_receiver, address, channel=0, snd_settle_mode=None,
               wait=True):
        """Attach a link; role_receiver False: we send (target = address).
        Returns (router's attach, frames skipped before it)."""
        src = source(address)
        tgt = target(address)
        self.send(frame(channel, perf('attach', name, uint(handle), bool(role_receiver),
                                      None if snd_settle_mode is None else ubyte(snd_settle_mode),
                                      None, src, tgt, None, None,
                                      None if role_receiver else uint(0))))
        if wait:
            return self.expect('attach')
        return None, []

    def flow(self, channel, handle, delivery_count, link_credit, next_incoming_id=0,
             incoming_window=2048, next_outgoing_id=0, outgoing_window=2048, drain=False):
        self.send(frame(channel, perf('flow', uint(next_incoming_id), uint(incoming_window),
                                      uint(next_outgoing_id), uint(outgoing_window),
                                      uint(handle), uint(delivery_count), uint(link_credit),
                                      None, drain)))

    def transfer(self, channel, handle, delivery_id, tag, payload, settled=True, more=False):
        body = perf('transfer', uint(handle), uint(delivery_id), tag, uint(0), settled, more)
        return self.send(frame(channel, body + payload))


def message_bytes(body=b'x', to=None):
    """An encoded AMQP message (properties.to, data body) for raw transfers."""
    m = Message(body=body, address=to)
    return m.encode()


# ----------------------------------------------------------------------
# unittest glue

def _failed(tc):
    outcome = getattr(tc, '_outcome', None)
    result = getattr(outcome, 'result', None)
    if result is None:
        return False
    for lst in (getattr(result, 'failures', []), getattr(result, 'errors', [])):
        for t, _ in lst:
            if t is tc:
                return True
    return not getattr(outcome, 'success', True)


class RouterTestCase(unittest.TestCase):
    """A TestCase whose routers (made with self.router(...)) are stopped at
    the end of each test (exit 0 required) and whose logs are printed when
    the test fails. Class-wide routers: cls.class_router(...) in
    setUpClass; stopped in tearDownClass."""

    _class_routers = []

    def setUp(self):
        self._routers = []
        self._clients = []

    def router(self, **kw):
        r = Router(**kw).start()
        self._routers.append(r)
        return r

    def client(self):
        c = Client()
        self._clients.append(c)
        return c

    @classmethod
    def class_router(cls, **kw):
        r = Router(**kw).start()
        if '_class_routers' not in cls.__dict__:
            cls._class_routers = []
        cls._class_routers.append(r)
        return r

    def tearDown(self):
        for c in self._clients:
            try:
                c.close()
            except Exception as e:
                sys.stderr.write('client close: %s\n' % e)
        failed = _failed(self)
        routers = self._routers + list(self.__class__.__dict__.get('_class_routers', []))
        if failed:
            for r in routers:
                sys.stderr.write('\n--- %s log tail ---\n%s\n' % (r.name, r.log_tail()))
        errors = []
        for r in self._routers:
            try:
                r.stop()
            except AssertionError as e:
                errors.append(str(e))
            finally:
                r.kill()
        if errors and not failed:
            self.fail('\n'.join(errors))

    @classmethod
    def tearDownClass(cls):
        errors = []
        for r in cls.__dict__.get('_class_routers', []):
            try:
                r.stop()
            except AssertionError as e:
                errors.append(str(e))
            finally:
                r.kill()
        if '_class_routers' in cls.__dict__:
            cls._class_routers = []
        if errors:
            raise AssertionError('\n'.join(errors))

    # deltas of stats counters around a block
    def snapshot(self, r):
        return r.stats()

    def delta(self, r, before, kind, name, after=None):
        """after - before of totals.counters[name] (kind 'counters') or
        totals.drops[name] (kind 'drops')."""
        after = after or r.stats()
        return after['totals'][kind][name] - before['totals'][kind][name]


def unique(prefix='openstack.org/om/rpc/anycast/rrtest'):
    """A fresh address under prefix."""
    return '%s/%s' % (prefix, uuid.uuid4().hex[:12])


def main():
    unittest.main(verbosity=2)
