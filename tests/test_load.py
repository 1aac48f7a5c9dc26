"""One short run of bench/load.py: the production server under wrk while the store changes.

wrk is a Debian package; where it is not installed this test is skipped, except in CI, where
.ci/run installs it. FEEDSVC_LOAD_SECONDS sets the length of the load (default 20 s).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
WRK = shutil.which("wrk")
if WRK is None and os.environ.get("CI"):
    pytest.fail("wrk is not installed: .ci/run installs it", pytrace=False)
pytestmark = pytest.mark.skipif(WRK is None, reason="wrk is not installed")


def test_load_and_change_together_loses_nothing_and_lets_nothing_broken_out() -> None:
    seconds = os.environ.get("FEEDSVC_LOAD_SECONDS", "20")
    done = subprocess.run(
        [sys.executable, "bench/load.py", "--seconds", seconds],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=int(seconds) + 300,
        check=False,
    )
    print(done.stdout)  # the table, for the CI log (pytest -rA or -s shows it)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "| answers not 2xx/304 (wrk + sampler) | 0 |" in done.stdout
    assert "| ETag/body mismatches | 0 |" in done.stdout
