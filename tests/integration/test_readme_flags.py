"""README's flag reference is what `efs-local --help` says (tools/readme_flags.py)."""
import subprocess
import sys

from conftest import BIN, ROOT


def test_readme_flags_match_help():
    p = subprocess.run([sys.executable, str(ROOT / "tools" / "readme_flags.py"), "--check", str(BIN)],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr + p.stdout


def test_every_command_and_env_var_is_in_readme():
    readme = (ROOT / "README.md").read_text()
    section = readme.split("<!-- flags:begin -->", 1)[1].split("<!-- flags:end -->", 1)[0]
    top = subprocess.run([str(BIN), "--help"], capture_output=True, text=True).stdout
    commands = [l.split()[0] for l in top.split("Subcommands:", 1)[1].splitlines() if l.strip()]
    assert "serve" in commands and "health" in commands
    for c in commands:
        assert f"#### `efs-local {c}" in section, c
    serve = subprocess.run([str(BIN), "serve", "--help"], capture_output=True, text=True).stdout
    import re
    envs = set(re.findall(r"\(Env:(\w+)\)", serve))
    assert len(envs) >= 20
    for e in envs:
        assert f"`{e}`" in section, e
