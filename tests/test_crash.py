"""SIGKILL the server mid-traffic; every acknowledged message is stored exactly once (3 runs here,
30 in `python scripts/crash_test.py`)."""
import importlib.util
import sys

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.slow


def test_crash_and_retry_loses_and_duplicates_nothing(capsys):
    spec = importlib.util.spec_from_file_location("crash_test", ROOT / "scripts" / "crash_test.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules["crash_test"] = mod  # dataclasses look their module up
    spec.loader.exec_module(mod)
    assert mod.main(["--runs", "3", "--clients", "4", "--messages", "20", "--seed", "7"]) == 0
    out = capsys.readouterr().out
    assert "3 passed, 0 failed" in out
