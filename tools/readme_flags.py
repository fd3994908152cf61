#!/usr/bin/env python3
"""Renders every command's flags and environment variables into README.md
from the binary's own `--help` (CLI11, defined in src/main.cc and src/cli/),
between the markers <!-- flags:begin --> and <!-- flags:end -->, so the
reference cannot drift from the code.

    python3 tools/readme_flags.py [build/efs-local]          rewrite README.md
    python3 tools/readme_flags.py --check [build/efs-local]  exit 1 if it differs

After adding or changing a flag: build, run the first form, commit README.md.
tests/integration/test_readme_flags.py runs the second.
"""
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
BEGIN, END = "<!-- flags:begin -->", "<!-- flags:end -->"


def help_text(binary, path):
    # Defaults that read the environment (--endpoint) are shown for a clean one.
    env = {k: v for k, v in os.environ.items() if not k.startswith("EFS_LOCAL_")}
    p = subprocess.run([binary, *path, "--help"], capture_output=True, text=True, env=env, timeout=30)
    if p.returncode != 0:
        sys.exit(f"{' '.join(path)} --help failed: {p.stderr}")
    return p.stdout


def parse(text):
    """-> (description, usage, [(section, spec, meaning)], [subcommand names])"""
    lines = text.splitlines()
    desc = lines[0] if lines and not lines[0].startswith("Usage:") else ""
    usage = next((l[len("Usage: "):] for l in lines if l.startswith("Usage: ")), "")
    entries, subs, section = [], [], None
    for line in lines:
        if re.match(r"^[A-Z][a-z]+:$", line):
            section = line[:-1]
            continue
        if section is None or not line.startswith("  "):
            continue
        if line.startswith(" " * 30) and entries and section != "Subcommands":
            s, spec, meaning = entries[-1]
            entries[-1] = (s, spec, (meaning + " " + line.strip()).strip())
            continue
        m = re.match(r"^  (\S.*?)(?:\s{2,}(.*))?$", line)
        if not m:
            continue
        if section == "Subcommands":
            subs.append(m.group(1).split()[0])
        else:
            entries.append((section, m.group(1), (m.group(2) or "").strip()))
    return desc, usage, entries, subs


def row(spec, meaning):
    env = re.search(r"\(Env:(\w+)\)", spec)
    spec = re.sub(r"\s*\(Env:\w+\)", "", spec)
    required = " REQUIRED" in spec
    spec = spec.replace(" REQUIRED", "")
    parts = spec.split(" ", 1)
    names, rest = parts[0], (parts[1] if len(parts) > 1 else "")
    kind, _, default = rest.partition("=")
    names = ", ".join(f"`{n}`" for n in names.split(","))
    cell = lambda s: s.replace("|", "\\|").replace("<", "&lt;")
    return "| {} | {} | {} | {} | {} |".format(
        names, cell(kind) or "flag", f"`{cell(default)}`" if default else ("required" if required else ""),
        f"`{env.group(1)}`" if env else "", cell(meaning))


def render(binary):
    out = []

    def walk(path):
        desc, usage, entries, subs = parse(help_text(binary, path))
        name = " ".join(["efs-local", *path])
        entries = [e for e in entries if not e[1].startswith(("-h,--help", "--version"))]
        if path:
            out.append(f"#### `{name}`\n")
            out.append(f"{desc}. Usage: `{usage}`\n")
            if entries:
                out.append("| flag | type | default | env | meaning |")
                out.append("|---|---|---|---|---|")
                out.extend(row(spec, meaning) for _, spec, meaning in entries)
                out.append("")
        for s in subs:
            walk([*path, s])

    walk([])
    return "\n".join(out).rstrip() + "\n"


def main(argv):
    check = "--check" in argv
    args = [a for a in argv[1:] if a != "--check"]
    binary = args[0] if args else str(ROOT / "build" / "efs-local")
    text = README.read_text()
    if BEGIN not in text or END not in text:
        sys.exit(f"README.md has no {BEGIN} ... {END} section")
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    new = head + BEGIN + "\n" + render(binary) + END + tail
    if check:
        if new != text:
            sys.exit("README.md's flag reference differs from `efs-local --help`: "
                     "run python3 tools/readme_flags.py and commit README.md")
        print("README.md's flag reference matches --help")
        return
    README.write_text(new)


if __name__ == "__main__":
    main(sys.argv)
