"""A private RabbitMQ for system tests: started on free loopback ports, as
root, without systemd, and stopped (with its own epmd) by the test.

    with RabbitMQ() as rmq:
        url = rmq.url        # rabbit://guest:guest@127.0.0.1:PORT/

Why not /usr/sbin/rabbitmq-server: that wrapper switches to the rabbitmq
user and uses the system node, its cookie and /var/lib/rabbitmq. Here every
path (mnesia, logs, config, enabled plugins, HOME with its .erlang.cookie)
lives in one temp dir, the node is named rr<port>@localhost, and epmd is
started by this fixture in the foreground on its own port bound to
127.0.0.1, so the node finds it and does not daemonise one of its own that
nobody would stop. Only pids started here are ever signalled.

Environment: RABBITMQ_SERVER (default /usr/lib/rabbitmq/bin/rabbitmq-server),
RABBITMQCTL (default /usr/lib/rabbitmq/bin/rabbitmqctl), EPMD (default
epmd on PATH). A missing RabbitMQ raises RabbitMQUnavailable: tests let it
fail rather than skip, since CI's bootstrap installs rabbitmq-server.
"""

import ctypes
import os
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time

RABBITMQ_SERVER = os.environ.get(
    "RABBITMQ_SERVER", "/usr/lib/rabbitmq/bin/rabbitmq-server")
RABBITMQCTL = os.environ.get(
    "RABBITMQCTL", "/usr/lib/rabbitmq/bin/rabbitmqctl")
EPMD = os.environ.get("EPMD", shutil.which("epmd") or "/usr/bin/epmd")

START_TIMEOUT = 60.0  # seconds; a cold node on 2 cores takes 5-10 s
STOP_TIMEOUT = 30.0


class RabbitMQUnavailable(RuntimeError):
    pass


# Nodes started by this process and not stopped yet, for emergency_stop().
_LIVE = []


# Loaded here, not in the child: between fork and exec only the C call runs.
_prctl = ctypes.CDLL("libc.so.6", use_errno=True).prctl
_PR_SET_PDEATHSIG = 1


def _die_with_parent():
    """preexec_fn: SIGTERM to the child when the thread that started it
    dies (prctl PR_SET_PDEATHSIG), so a test killed by meson's timeout does
    not leave an Erlang VM and epmd behind. The rabbitmq-server script
    turns SIGTERM into a clean stop of its VM."""
    _prctl(_PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0)


def emergency_stop():
    """Stop every node this process started (from a watchdog thread)."""
    for node in list(_LIVE):
        try:
            node.stop()
        except Exception:
            pass


def _free_ports(n):
    """n distinct free TCP ports on 127.0.0.1 (held open together so the
    kernel cannot hand the same one out twice)."""
    socks = []
    try:
        for _ in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def _port_open(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


class RabbitMQ:
    """One private RabbitMQ node. Start it once per test class (it takes
    seconds); stop() is idempotent and also runs from __exit__."""

    def __init__(self, user="guest", password="guest"):
        for path in (RABBITMQ_SERVER, RABBITMQCTL, EPMD):
            if not os.access(path, os.X_OK):
                raise RabbitMQUnavailable(
                    "%s not found: install rabbitmq-server" % path)
        self.user = user
        self.password = password
        self.port, self.dist_port, self.epmd_port = _free_ports(3)
        self.node = "rr%d@localhost" % self.port
        self.dir = tempfile.mkdtemp(prefix="rr-rabbitmq-")
        self.home = os.path.join(self.dir, "home")
        os.mkdir(self.home, 0o700)
        cookie = os.path.join(self.home, ".erlang.cookie")
        fd = os.open(cookie, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_hex(16).upper())
        conf = os.path.join(self.dir, "rabbitmq.conf")
        with open(conf, "w") as f:
            # guest stays loopback-only (the default); the tests run on
            # 127.0.0.1. A small disk limit so a nearly full /tmp does not
            # block publishers; no management plugin (none enabled).
            f.write("listeners.tcp.default = 127.0.0.1:%d\n" % self.port)
            f.write("disk_free_limit.absolute = 10MB\n")
            f.write("log.console = false\n")
            f.write("log.file.level = info\n")
        plugins = os.path.join(self.dir, "enabled_plugins")
        with open(plugins, "w") as f:
            f.write("[].\n")
        envconf = os.path.join(self.dir, "rabbitmq-env.conf")
        open(envconf, "w").close()
        self.log_dir = os.path.join(self.dir, "log")
        os.mkdir(self.log_dir)
        self.env = dict(os.environ)
        self.env.update({
            "HOME": self.home,
            "RABBITMQ_NODENAME": self.node,
            "RABBITMQ_USE_LONGNAME": "false",
            "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
            "RABBITMQ_NODE_PORT": str(self.port),
            "RABBITMQ_DIST_PORT": str(self.dist_port),
            "ERL_EPMD_PORT": str(self.epmd_port),
            "ERL_EPMD_ADDRESS": "127.0.0.1",
            "RABBITMQ_MNESIA_BASE": os.path.join(self.dir, "mnesia"),
            "RABBITMQ_LOG_BASE": self.log_dir,
            "RABBITMQ_CONFIG_FILE": conf,
            "RABBITMQ_ADVANCED_CONFIG_FILE":
                os.path.join(self.dir, "advanced.config"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": plugins,
            "RABBITMQ_CONF_ENV_FILE": envconf,
            "RABBITMQ_PID_FILE": os.path.join(self.dir, "rabbitmq.pid"),
        })
        # Under systemd a NOTIFY_SOCKET would make the script exec erl
        # directly and talk to systemd: not ours.
        self.env.pop("NOTIFY_SOCKET", None)
        self.epmd = None
        self.server = None
        self._stdout = None

    @property
    def url(self):
        return "rabbit://%s:%s@127.0.0.1:%d/" % (
            self.user, self.password, self.port)

    def ctl(self, *args, timeout=30.0, check=True):
        """Run rabbitmqctl against this node; returns CompletedProcess."""
        return subprocess.run(
            [RABBITMQCTL, "-n", self.node] + list(args), env=self.env,
            stdin=subprocess.DEVNULL, capture_output=True, text=True,
            timeout=timeout, check=check)

    def start(self):
        # epmd first, in the foreground, so its pid is ours to stop.
        self.epmd = subprocess.Popen(
            [EPMD, "-port", str(self.epmd_port), "-address", "127.0.0.1"],
            env=self.env, stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True, preexec_fn=_die_with_parent)
        _LIVE.append(self)
        deadline = time.monotonic() + 10.0
        while not _port_open(self.epmd_port):
            if self.epmd.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RabbitMQUnavailable(
                    "epmd did not listen on 127.0.0.1:%d" % self.epmd_port)
            time.sleep(0.05)
        self._stdout = open(os.path.join(self.dir, "server.out"), "w")
        # Own session: the Erlang VM and its port programs form one process
        # group whose id is this pid, so stop() can end exactly them.
        self.server = subprocess.Popen(
            [RABBITMQ_SERVER], env=self.env, cwd=self.dir,
            stdin=subprocess.DEVNULL, stdout=self._stdout,
            stderr=subprocess.STDOUT, start_new_session=True,
            preexec_fn=_die_with_parent)
        try:
            self._await_startup()
        except BaseException:
            self.stop()
            raise
        return self

    def _await_startup(self):
        deadline = time.monotonic() + START_TIMEOUT
        last = ""
        while time.monotonic() < deadline:
            if self.server.poll() is not None:
                raise RabbitMQUnavailable(
                    "rabbitmq-server exited %d:\n%s" %
                    (self.server.returncode, self.log_text()[-4000:]))
            left = max(1.0, deadline - time.monotonic())
            try:
                r = self.ctl("await_startup", "--timeout",
                             str(int(min(left, 20))),
                             timeout=min(left, 20) + 10, check=False)
                if r.returncode == 0 and _port_open(self.port):
                    return
                last = r.stdout + r.stderr
            except subprocess.TimeoutExpired:
                last = "rabbitmqctl await_startup timed out"
            time.sleep(0.5)
        raise RabbitMQUnavailable(
            "RabbitMQ node %s not up in %.0f s: %s\n%s" %
            (self.node, START_TIMEOUT, last, self.log_text()[-4000:]))

    def log_text(self):
        out = []
        for name in sorted(os.listdir(self.log_dir)) if os.path.isdir(
                self.log_dir) else []:
            try:
                with open(os.path.join(self.log_dir, name)) as f:
                    out.append(f.read())
            except OSError:
                pass
        try:
            with open(os.path.join(self.dir, "server.out")) as f:
                out.append(f.read())
        except OSError:
            pass
        return "\n".join(out)

    def stop(self):
        """rabbitmqctl stop, then the process group if still there, then
        epmd. Idempotent."""
        if self.server is not None and self.server.poll() is None:
            try:
                self.ctl("stop", timeout=STOP_TIMEOUT, check=False)
            except subprocess.TimeoutExpired:
                pass
            try:
                self.server.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                pass
        if self.server is not None:
            # Whatever is left of the group this fixture created (beam,
            # erl_child_setup, inet_gethost): its id is our child's pid.
            for sig in (signal.SIGTERM, signal.SIGKILL):
                try:
                    os.killpg(self.server.pid, sig)
                except ProcessLookupError:
                    break
                time.sleep(0.5)
            try:
                self.server.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
            self.server = None
        if self.epmd is not None:
            if self.epmd.poll() is None:
                self.epmd.terminate()
                try:
                    self.epmd.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    self.epmd.kill()
                    self.epmd.wait(timeout=5)
            self.epmd = None
        if self._stdout is not None:
            self._stdout.close()
            self._stdout = None
        if self in _LIVE:
            _LIVE.remove(self)

    def cleanup(self):
        self.stop()
        if os.environ.get("RR_KEEP_TMP"):
            return
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.cleanup()
        return False


if __name__ == "__main__":
    # Smoke: start, print the URL and the node's status, stop.
    with RabbitMQ() as rmq:
        print(rmq.url)
        print(rmq.ctl("status").stdout[:400])
