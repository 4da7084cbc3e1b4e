#!/usr/bin/env python3
"""rpcrouterd's command line: exit codes and exact output.

Configuration only: every run either stops before start-up (--check, --help,
--version, errors) or would listen, so no run here starts the daemon (the
system tests do, on 127.0.0.1).

Usage: check_rpcrouterd.py RPCROUTERD TESTS_DATA_DIR
"""
import os
import subprocess
import sys
import tempfile

V = '0.1.0'
failures = []


def run(exe, *args):
    p = subprocess.run([exe, *args], capture_output=True, text=True, timeout=30)
    return p.returncode, p.stdout, p.stderr


def check(name, got, want):
    if got != want:
        failures.append('%s:\n  want %r\n  got  %r' % (name, want, got))


def main():
    exe, data = sys.argv[1], sys.argv[2]
    P = 'rpcrouterd %s: ' % V

    rc, out, err = run(exe, '--check')
    check('default --check: exit', rc, 0)
    check('default --check: stdout', out,
          P + '<embedded default>: configuration OK (12 sections, 0 warnings)\n' +
          P + 'would listen on 127.0.0.1:5672 (amqp, socket driver, SASL ANONYMOUS)\n' +
          P + 'router (standalone): 9 address, 0 linkRoute, 0 autoLink sections\n' +
          P + 'dataplane: socket driver, 1 worker, no hugepages\n')
    check('default --check: stderr', err, '')

    rc, out, err = run(exe, '--version')
    check('--version', (rc, out, err), (0, 'rpcrouterd %s\n' % V, ''))
    rc, out, err = run(exe, '-v')
    check('-v', (rc, out), (0, 'rpcrouterd %s\n' % V))

    rc, out, err = run(exe, '--help')
    check('--help: exit', rc, 0)
    check('--help: usage line', out.splitlines()[0] if out else '',
          'Usage: rpcrouterd [-c FILE] [--check]')
    for needle in ('--config FILE', '--check', '127.0.0.1:5672', 'SASL ANONYMOUS',
                   'socket driver', 'no hugepages', 'SIGTERM'):
        check('--help mentions %r' % needle, needle in out, True)

    tripleo = os.path.join(data, 'tripleo-qdrouterd.conf')
    rc, out, err = run(exe, '-c', tripleo, '--check')
    check('tripleo: exit', rc, 0)
    check('tripleo: listeners', [l for l in out.splitlines() if 'would' in l], [
        P + 'would listen on 0.0.0.0:31459 (amqp, socket driver, SASL ANONYMOUS)',
        # No saslMechanisms, and the router has a SASL configuration: Cyrus decides.
        P + 'would listen on 0.0.0.0:31460 (inter-router, socket driver, SASL as '
        '/etc/sasl2/qdrouterd.conf allows)',
        P + 'would connect to overcloud-controller-0.internalapi.localdomain:31460 '
        '(inter-router, socket driver, SASL as /etc/sasl2/qdrouterd.conf allows)',
        P + 'would connect to overcloud-controller-1.internalapi.localdomain:31460 '
        '(inter-router, socket driver, SASL as /etc/sasl2/qdrouterd.conf allows)'])
    # 4 deprecated spellings, mode interior, the inter-router listener, the
    # connectors (one warning for both) and, on fewer than 8 CPUs, workerThreads.
    warnings = 7 + (os.sysconf('SC_NPROCESSORS_ONLN') < 8)
    check('tripleo: warnings', len(err.splitlines()), warnings)
    rc, out, err = run(exe, '--config=' + tripleo, '--check')
    check('tripleo --check', (rc, out.splitlines()[0] if out else ''),
          (0, P + tripleo + ': configuration OK (15 sections, %d warnings)' % warnings))
    rc, out, err = run(exe, '--config', tripleo, '--check')
    check('--config FILE --check', rc, 0)

    with tempfile.TemporaryDirectory() as d:
        bad = os.path.join(d, 'bad.conf')
        with open(bad, 'w') as f:
            f.write('listener {\n    port: 5671\n    sslProfile: tls\n}\n')
        for args in (('-c', bad), ('-c', bad, '--check')):
            rc, out, err = run(exe, *args)
            check('tls %s' % (args,), (rc, out, err), (1, '', (
                '%s:3: error: listener *:5671: sslProfile \'tls\' asks for TLS, which '
                'rpcrouterd cannot serve yet\n'
                'rpcrouterd: %s: 1 error (configuration requires a feature rpcrouterd does '
                'not have yet): not starting\n') % (bad, bad)))

        syntax = os.path.join(d, 'syntax.conf')
        with open(syntax, 'w') as f:
            f.write('router {\n  mode standalone\n')
        rc, out, err = run(exe, '-c', syntax)
        check('syntax', (rc, out, err), (1, '', (
            "%s:2: error: expected 'NAME {', 'KEY: VALUE' or '}', found 'mode standalone'\n"
            "%s:1: error: section 'router' is not closed: missing '}'\n"
            "rpcrouterd: %s: 2 errors (configuration syntax error): not starting\n")
            % (syntax, syntax, syntax)))

        warn = os.path.join(d, 'warn.conf')
        with open(warn, 'w') as f:
            f.write('listener {\n  port: 1\n  colour: blue\n}\n')
        rc, out, err = run(exe, '-c', warn, '--check')
        check('warning: exit', rc, 0)
        check('warning: stderr', err,
              "%s:3: warning: listener: unknown attribute 'colour' (ignored)\n" % warn)
        check('warning: listen', P + 'would listen on *:1 (amqp, socket driver, SASL ANONYMOUS)'
              in out.splitlines(), True)

    missing = '/nonexistent/x.conf'
    rc, out, err = run(exe, '-c', missing)
    check('missing', (rc, out, err), (1, '', (
        '%s: error: cannot open: No such file or directory\n'
        'rpcrouterd: %s: 1 error (input/output error): not starting\n') % (missing, missing)))

    rc, out, err = run(exe, '--bogus')
    check('bad option: exit', rc, 2)
    check('bad option: hint', err.endswith("Try 'rpcrouterd --help'.\n"), True)
    rc, out, err = run(exe, 'extra')
    check('extra argument', (rc, err), (2, "rpcrouterd: unexpected argument 'extra'\n"
                                           "Try 'rpcrouterd --help'.\n"))
    rc, out, err = run(exe, '-c')
    check('-c without file: exit', rc, 2)

    if failures:
        print('\n'.join(failures))
        print('rpcrouterd_cli: %d check(s) failed' % len(failures))
        return 1
    print('rpcrouterd_cli: all checks passed')
    return 0


if __name__ == '__main__':
    sys.exit(main())
