"""The checks the dpdk test scripts run on `rpcrouter-ctl stats --json`
(inline Python in run.sh, faults.sh, two_ports.sh) share this: need()
prints each check that does not hold, failed() says whether any did not.
The scripts run their checks with PYTHONPATH set to this directory."""

_failed = []


def need(cond, what):
    if not cond:
        print('  stats: ' + what)
        _failed.append(what)
    return bool(cond)


def failed():
    return bool(_failed)
