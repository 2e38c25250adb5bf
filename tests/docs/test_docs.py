"""Every ```python block in README.md and docs/*.md runs, so the docs cannot go stale.

The blocks of one file run in order in one fresh namespace, inside a temporary
working directory, with `MMZOO_DATA` from the environment. A block whose fence
reads ```python no-run is shown but not run (kept for what a test cannot do: a
multi-host cluster, a download). docs/cli.md quotes every verb's `--help`; the
quotes must match what the parser prints. Relative links must resolve.
"""

import os
import re
import subprocess
import sys

import pytest

from tests import paths
from tests.conftest import HAVE_DATA

ROOT = str(paths.ROOT)
DOCS = os.path.join(ROOT, "docs")
FILES = ["README.md"] + sorted(f"docs/{name}" for name in os.listdir(DOCS) if name.endswith(".md"))

# files whose examples train or export for longer than a few seconds (still run in CI)
SLOW = {
    "README.md",
    "docs/export.md",
    "docs/training.md",
    "docs/configs.md",
    "docs/transfer.md",
    "docs/compression.md",
    "docs/attribution.md",
    "docs/datasets.md",
    "docs/data.md",
    "docs/video.md",
}
# files whose examples read the real datasets under $MMZOO_DATA
NEEDS_DATA = {"docs/datasets.md"}

FENCE = re.compile(r"^```([^\n`]*)\n(.*?)^```[ \t]*$", re.S | re.M)


def blocks(path):
    """`(line, info, source)` of every fenced block of `path` (line: 1-based line of the first source line)."""
    text = open(os.path.join(ROOT, path), encoding="utf-8").read()
    out = []
    for match in FENCE.finditer(text):
        line = text.count("\n", 0, match.start(2)) + 1
        out.append((line, match.group(1).strip(), match.group(2)))
    return out


def python_blocks(path):
    return [
        (line, source)
        for line, info, source in blocks(path)
        if info.split()[:1] == ["python"] and "no-run" not in info.split()[1:]
    ]


def _params():
    for path in FILES:
        marks = []
        if path in SLOW:
            marks.append(pytest.mark.slow)
        if path in NEEDS_DATA:
            marks.append(pytest.mark.skipif(not HAVE_DATA, reason="real data not available: set MMZOO_DATA"))
        yield pytest.param(path, marks=marks, id=path)


@pytest.fixture
def restore_registries():
    """Entries a guide registers (extending.md's examples) are removed again, so no other test sees them."""
    from mmzoo.registry import restored_registries

    with restored_registries():
        yield


@pytest.mark.parametrize("path", list(_params()))
def test_python_blocks_run(path, tmp_path, monkeypatch, restore_registries):
    sources = python_blocks(path)
    if not sources:
        pytest.skip(f"{path} has no python blocks")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    namespace = {"__name__": "__main__"}
    for line, source in sources:
        # pad with newlines so tracebacks point at the line in the Markdown file
        code = compile("\n" * (line - 1) + source, os.path.join(ROOT, path), "exec")
        exec(code, namespace)  # noqa: S102  (our own documentation)


def test_every_fence_has_a_language():
    bare = [f"{path}:{line}" for path in FILES for line, info, _ in blocks(path) if not info]
    assert not bare, f"fenced blocks without a language (python, bash, text, yaml): {bare}"


def test_no_run_blocks_are_rare():
    no_run = [
        f"{path}:{line}"
        for path in FILES
        for line, info, _ in blocks(path)
        if info.split()[:1] == ["python"] and "no-run" in info.split()
    ]
    assert len(no_run) <= 3, f"make these blocks runnable with small sizes: {no_run}"


LINK = re.compile(r"\]\(([^)#\s]+)(#[^)]*)?\)")


@pytest.mark.parametrize("path", FILES)
def test_relative_links_resolve(path):
    text = open(os.path.join(ROOT, path), encoding="utf-8").read()
    text = FENCE.sub("", text)
    broken = []
    for target, _ in LINK.findall(text):
        if re.match(r"[a-z]+://|mailto:", target):
            continue
        resolved = os.path.normpath(os.path.join(ROOT, os.path.dirname(path), target))
        if not os.path.exists(resolved):
            broken.append(target)
    assert not broken, f"{path} links to missing files: {broken}"


def _quoted_help():
    """`{command: text}` of the `--help` outputs quoted in docs/cli.md (a ```text block after `<!-- help: CMD -->`)."""
    text = open(os.path.join(DOCS, "cli.md"), encoding="utf-8").read()
    return dict(re.findall(r"<!-- help: (.+?) -->\n```text\n(.*?)```", text, re.S))


@pytest.mark.parametrize("command", sorted(_quoted_help()))
def test_cli_help_is_quoted_exactly(command):
    env = {**os.environ, "COLUMNS": "100", "TF_CPP_MIN_LOG_LEVEL": "3"}
    result = subprocess.run(
        [sys.executable, "-m", *command.split()[2:], "--help"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert _quoted_help()[command] == result.stdout, (
        f"docs/cli.md is out of date for `{command} --help`: paste its output (COLUMNS=100)"
    )


def test_cli_md_quotes_every_verb():
    quoted = set(_quoted_help())
    for verb in ("train", "evaluate", "predict", "tune", "list"):
        assert f"python -m mmzoo {verb}" in quoted
