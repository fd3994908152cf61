"""Runs the AWS SDK for JavaScript v3 tests (tests/integration/js) against a server."""
import os
import subprocess
from pathlib import Path

import pytest

JS = Path(__file__).parent / "js"


def test_js_sdk(server):
    if not (JS / "node_modules" / "@aws-sdk" / "client-efs").exists():
        pytest.fail("npm packages missing: run tools/install-deps.sh --test")
    env = dict(os.environ, EFS_LOCAL_ENDPOINT=server.endpoint)
    # efs.test.mjs only: kms.test.mjs moves the clock and runs on a server of
    # its own (test_kms_js.py).
    p = subprocess.run(["node", "--test", "--test-reporter=spec", "efs.test.mjs"], cwd=JS, env=env,
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stdout[-6000:] + p.stderr[-3000:]
