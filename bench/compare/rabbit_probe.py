#!/usr/bin/python3
"""What RabbitMQ's AMQP 1.0 plugin on this machine accepts, asked with
python3-qpid-proton against a private node (tests/system/rabbitmq.py's
fixture, with rabbitmq_amqp1_0 enabled offline into its own plugins file).

    /usr/bin/python3 bench/compare/rabbit_probe.py          # own node
    /usr/bin/python3 bench/compare/rabbit_probe.py PORT     # a running one

Prints one line per question: OK/REFUSED/... and what came back. The
findings are recorded in docs/bench.md ("RabbitMQ's AMQP 1.0 plugin").
"""

import os
import subprocess
import sys
import time
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests", "system"))

from proton import Message, symbol  # noqa: E402
from proton.reactor import (AtMostOnce, AtLeastOnce,  # noqa: E402
                            DynamicNodeProperties, LinkOption)
from proton.utils import BlockingConnection  # noqa: E402

TIMEOUT = 5


def report(name, ok, detail=""):
    print("%-48s %-8s %s" % (name, ok, detail), flush=True)


def conn(port, **kw):
    return BlockingConnection("amqp://127.0.0.1:%d" % port, timeout=TIMEOUT,
                              **kw)


PORT = [0]


def try_step(name, fn):
    """fn(c) runs on a connection of its own (PLAIN guest/guest), closed
    after: one refusal must not hide the next answer (a refused attach can
    leave the plugin's session silent)."""
    c = None
    try:
        c = conn(PORT[0], allowed_mechs="PLAIN", user="guest",
                 password="guest")
        detail = fn(c)
        report(name, "OK", detail or "")
        return True
    except Exception as e:  # the plugin's refusal is the finding
        report(name, "REFUSED", "%s: %s" % (type(e).__name__,
                                              str(e).replace("\n", " ")[:200]))
        return False
    finally:
        if c is not None:
            try:
                c.close()
            except Exception:
                pass


class RcvSettleSecond(LinkOption):
    def apply(self, link):
        link.rcv_settle_mode = 1  # second


def uniq(prefix):
    return "%s-%s" % (prefix, uuid.uuid4().hex[:8])


def probe(port):
    PORT[0] = port

    def q():
        return "/queue/probe-" + uuid.uuid4().hex[:8]

    # SASL, each on its own connection
    def sasl(**kw):
        return lambda c: conn(port, **kw).close()
    try_step("sasl ANONYMOUS", sasl(allowed_mechs="ANONYMOUS"))
    try_step("sasl PLAIN guest/guest", sasl(
        allowed_mechs="PLAIN", user="guest", password="guest"))
    try_step("sasl PLAIN guest/wrong", sasl(
        allowed_mechs="PLAIN", user="guest", password="wrong"))
    try_step("no SASL layer (bare AMQP header)", sasl(sasl_enabled=False))

    def info(c):
        return "container=%s max_frame=%s offered=%r props=%s" % (
            c.conn.remote_container, c.conn.transport.remote_max_frame_size,
            c.conn.remote_offered_capabilities,
            sorted(str(k) for k in (c.conn.remote_properties or {})))
    try_step("connection open (remote side)", info)

    def same_name(c):
        a = q()
        c.create_sender(a, name="dup")
        c.create_receiver(a, name="dup")
        return "a sender and a receiver may share a link name"
    try_step("same link name, sender + receiver", same_name)

    def same_name_role(c):
        a = q()
        c.create_sender(a, name="dup")
        c.create_sender(q(), name="dup")
        return "two senders may share a link name"
    try_step("same link name, two senders", same_name_role)

    def snd_new(c):
        a = q()
        s = c.create_sender(a, name=uniq("s"))
        s.send(Message(body="one"))
        r = c.create_receiver(a, credit=10, name=uniq("r"))
        m = r.receive(timeout=3)
        r.accept()
        return "sender's attach declared it: receiver got %r; target=%r" % (
            m.body, s.link.remote_target.address)
    try_step("sender to /queue/NEW then receiver", snd_new)

    def fields(c):
        a = q()
        s = c.create_sender(a, name=uniq("s"))
        s.send(Message(body="two", reply_to="/queue/reply-x",
                       correlation_id="c-1", subject="sub",
                       properties={"k": 1}))
        r = c.create_receiver(a, credit=10, name=uniq("r"))
        m = r.receive(timeout=3)
        r.accept()
        return "reply_to=%r corr=%r to=%r subject=%r props=%r" % (
            m.reply_to, m.correlation_id, m.address, m.subject, m.properties)
    try_step("message fields through /queue/X", fields)

    def presettled(c):
        a = q()
        s = c.create_sender(a, options=AtMostOnce(), name=uniq("s"))
        for i in range(1000):
            s.send(Message(body="ps%d" % i))
        r = c.create_receiver(a, credit=2000, name=uniq("r"))
        n = 0
        try:
            while n < 1000:
                r.receive(timeout=3)
                r.accept()
                n += 1
        except Exception:
            pass
        return "snd_settle_mode asked=%d granted=%d; received %d/1000" % (
            s.link.snd_settle_mode, s.link.remote_snd_settle_mode, n)
    try_step("presettled sender (at-most-once), 1000 msgs", presettled)

    def rcv_presettled(c):
        a = q()
        s = c.create_sender(a, name=uniq("s"))
        s.send(Message(body="x"))
        r = c.create_receiver(a, credit=10, options=AtMostOnce(),
                              name=uniq("r"))
        r.receive(timeout=3)
        return "receiver asked settled, granted snd_settle_mode=%d" % (
            r.link.remote_snd_settle_mode)
    try_step("receiver asks for presettled deliveries", rcv_presettled)

    def unsettled_out(c):
        a = q()
        s = c.create_sender(a, options=AtLeastOnce(), name=uniq("s"))
        d = s.send(Message(body="y"))
        return "outcome=%r" % d.remote_state
    try_step("unsettled send: outcome", unsettled_out)

    def second(c):
        s = c.create_sender(q(), options=RcvSettleSecond(), name=uniq("s"))
        return "granted rcv_settle_mode=%d" % s.link.remote_rcv_settle_mode
    try_step("sender asks rcv_settle_mode=second", second)

    def anon(c):
        a = q()
        r = c.create_receiver(a, credit=10, name=uniq("r"))
        s = c.create_sender(None, name=uniq("s"))
        s.send(Message(body="anon", address=a))
        m = r.receive(timeout=3)
        r.accept()
        return "got %r" % m.body
    try_step("anonymous relay (null target + to)", anon)

    def dyn(c):
        r = c.create_receiver(None, dynamic=True, name=uniq("r"))
        return "remote source %r" % r.link.remote_source.address
    try_step("dynamic source receiver", dyn)

    def plain_snd(c):
        c.create_sender("bench/throughput", name=uniq("s"))
        return "attached"
    try_step("sender to plain address bench/throughput", plain_snd)

    def plain_rcv(c):
        c.create_receiver("bench/throughput", name=uniq("r"))
        return "attached"
    try_step("receiver from plain address bench/throughput", plain_rcv)

    def fanout(c):
        r1 = c.create_receiver("/exchange/amq.fanout/k", credit=10,
                               name=uniq("r"))
        r2 = c.create_receiver("/exchange/amq.fanout/k", credit=10,
                               name=uniq("r"))
        s = c.create_sender("/exchange/amq.fanout/k", name=uniq("s"))
        s.send(Message(body="fan"))
        a = r1.receive(timeout=3).body
        r1.accept()
        b = r2.receive(timeout=3).body
        r2.accept()
        return "both got %r %r; src=%r" % (a, b, r1.link.remote_source.address)
    try_step("fanout /exchange/amq.fanout/k, 2 receivers", fanout)

    def fanout_nokey(c):
        r1 = c.create_receiver("/exchange/amq.fanout", credit=10,
                               name=uniq("r"))
        s = c.create_sender("/exchange/amq.fanout", name=uniq("s"))
        s.send(Message(body="fan2"))
        return "got %r" % r1.receive(timeout=3).body
    try_step("fanout /exchange/amq.fanout (no key)", fanout_nokey)

    def topic(c):
        r1 = c.create_receiver("/topic/bench", credit=10, name=uniq("r"))
        s = c.create_sender("/topic/bench", name=uniq("s"))
        s.send(Message(body="t"))
        return "got %r" % r1.receive(timeout=3).body
    try_step("/topic/bench sender+receiver", topic)

    def rpc(c):
        req = q()
        rep = q()
        srv_r = c.create_receiver(req, credit=10, name=uniq("r"))
        srv_s = c.create_sender(None, name=uniq("s"))
        cli_r = c.create_receiver(rep, credit=10, name=uniq("r"))
        cli_s = c.create_sender(req, name=uniq("s"))
        t0 = time.monotonic()
        n = 0
        for i in range(200):
            cli_s.send(Message(body="req", reply_to=rep,
                               correlation_id="id-%d" % i))
            m = srv_r.receive(timeout=3)
            srv_r.accept()
            srv_s.send(Message(body="rep", address=m.reply_to,
                               correlation_id=m.correlation_id))
            r = cli_r.receive(timeout=3)
            cli_r.accept()
            if r.correlation_id == "id-%d" % i:
                n += 1
        dt = time.monotonic() - t0
        return "200 calls, %d correlated, %.0f us/call (python, sync)" % (
            n, dt / 200 * 1e6)
    try_step("rpc: named reply queue + anon relay reply", rpc)

    def big_credit(c):
        r = c.create_receiver(q(), credit=100000, name=uniq("r"))
        return "credit %d" % r.link.credit
    try_step("receiver credit 100000", big_credit)


def main():
    if len(sys.argv) > 1:
        probe(int(sys.argv[1]))
        return
    import rabbitmq
    node = rabbitmq.RabbitMQ()
    plugins = "/usr/lib/rabbitmq/bin/rabbitmq-plugins"
    r = subprocess.run([plugins, "--offline", "enable", "rabbitmq_amqp1_0"],
                       env=node.env, capture_output=True, text=True,
                       timeout=60)
    report("rabbitmq-plugins --offline enable", "rc=%d" % r.returncode,
           (r.stdout + r.stderr).strip().replace("\n", " | ")[:200])
    with open(node.env["RABBITMQ_ENABLED_PLUGINS_FILE"]) as f:
        report("enabled_plugins file", "INFO", f.read().strip())
    with node:
        report("node", "UP", "port %d" % node.port)
        probe(node.port)
        r = node.ctl("list_queues", "name", "durable", "auto_delete",
                     "exclusive", "messages", check=False)
        report("queues after probe", "INFO",
               r.stdout.replace("\n", " | ")[:400])


if __name__ == "__main__":
    main()
