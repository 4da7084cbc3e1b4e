"""Run one system test file (unittest, verbosity 2, as `python3 FILE -v`
does) and write every test's outcome to a JSON file, for parity.py.

Usage: run_recorded.py TEST_FILE OUT_JSON

OUT_JSON: {"file": ..., "driver": RR_DRIVER, "workers": RR_WORKERS,
"tests_run": N, "outcomes": {test id: "pass" | "fail" | "error" | "skip" |
"xfail" | "xpass"}, "reasons": {test id: skip reason or first line of the
error}}. A setUpModule/setUpClass error or skip is recorded under unittest's
own id for it ("setUpClass (module.Class)"), so a class that could not
start is a difference, not a silence. Exit status: 0 when the run was
successful (unittest's wasSuccessful), else 1."""

import importlib.util
import json
import os
import sys
import unittest


class RecordingResult(unittest.TextTestResult):
    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.outcomes = {}
        self.reasons = {}

    def _put(self, test, outcome, reason=None):
        tid = test.id()
        # several subtests of one test: the worst outcome stays
        if self.outcomes.get(tid) in ('fail', 'error') and outcome == 'pass':
            return
        self.outcomes[tid] = outcome
        if reason:
            self.reasons[tid] = reason

    @staticmethod
    def _first_line(err):
        _, value, _ = err
        return ('%s: %s' % (type(value).__name__, value)).splitlines()[0][:300]

    def addSuccess(self, test):
        super().addSuccess(test)
        self._put(test, 'pass')

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self._put(test, 'fail', self._first_line(err))

    def addError(self, test, err):
        super().addError(test, err)
        self._put(test, 'error', self._first_line(err))

    def addSkip(self, test, reason):
        super().addSkip(test, reason)
        self._put(test, 'skip', reason)

    def addExpectedFailure(self, test, err):
        super().addExpectedFailure(test, err)
        self._put(test, 'xfail')

    def addUnexpectedSuccess(self, test):
        super().addUnexpectedSuccess(test)
        self._put(test, 'xpass')

    def addSubTest(self, test, subtest, err):
        super().addSubTest(test, subtest, err)
        if err is not None:
            failed = issubclass(err[0], test.failureException)
            self._put(test, 'fail' if failed else 'error', self._first_line(err))


def main():
    if len(sys.argv) != 3:
        sys.exit('usage: run_recorded.py TEST_FILE OUT_JSON')
    path, out = os.path.abspath(sys.argv[1]), sys.argv[2]
    # as `python3 FILE` would: the file's directory first on the path
    sys.path.insert(0, os.path.dirname(path))
    name = os.path.splitext(os.path.basename(path))[0]
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod      # unittest finds setUpModule through it
    spec.loader.exec_module(mod)
    suite = unittest.defaultTestLoader.loadTestsFromModule(mod)
    runner = unittest.TextTestRunner(verbosity=2, resultclass=RecordingResult)
    res = runner.run(suite)
    with open(out, 'w') as f:
        json.dump({'file': os.path.basename(path),
                   'driver': os.environ.get('RR_DRIVER') or 'socket',
                   'workers': os.environ.get('RR_WORKERS') or '1',
                   'tests_run': res.testsRun,
                   'outcomes': res.outcomes,
                   'reasons': res.reasons}, f, indent=1, sort_keys=True)
    sys.exit(0 if res.wasSuccessful() else 1)


if __name__ == '__main__':
    main()
