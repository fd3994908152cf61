"""Runs tests/integration/js/kms.test.mjs (@aws-sdk/client-kms) against a
server of its own: the test moves the emulator clock by a week."""
import os
import subprocess
from pathlib import Path

import pytest

JS = Path(__file__).parent / "js"


def test_kms_js_sdk(fresh_server):
    if not (JS / "node_modules" / "@aws-sdk" / "client-kms").exists():
        pytest.fail("npm packages missing: run tools/install-deps.sh --test")
    env = dict(os.environ, EFS_LOCAL_ENDPOINT=fresh_server.endpoint)
    p = subprocess.run(["node", "--test", "--test-reporter=spec", "kms.test.mjs"], cwd=JS, env=env,
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stdout[-6000:] + p.stderr[-3000:]
    assert "# fail 0" in p.stdout or "ℹ fail 0" in p.stdout, p.stdout[-3000:]
