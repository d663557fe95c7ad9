"""Every built-in check is documented and proven: it has text for `probe explain`, an entry in
docs/checks.md, and tests that see it fail on a vulnerable target and pass on a hardened twin."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from probe.docs import checks_markdown
from probe.registry import load
from tests.helpers import ROOT

REGISTRY = load()
EXPECT = re.compile(r"""expect\(\s*[\w.\[\]"']+\s*,\s*["']([a-z]+\.[a-z0-9-]+)["']\s*,\s*["'](fail|pass)["']""")


def proven() -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for path in (ROOT / "tests").rglob("test_*.py"):
        for check_id, status in EXPECT.findall(path.read_text(encoding="utf-8")):
            found.setdefault(check_id, set()).add(status)
    return found


@pytest.mark.parametrize("check_id", [s.id for s in REGISTRY.specs])
def test_check_is_proven_both_ways(check_id: str) -> None:
    assert proven().get(check_id, set()) == {"fail", "pass"}, (
        f"{check_id} needs a test with expect(report, {check_id!r}, 'fail') on a vulnerable target "
        f"and expect(report, {check_id!r}, 'pass') on its hardened twin"
    )


@pytest.mark.parametrize("check_id", [s.id for s in REGISTRY.specs])
def test_check_is_explained(check_id: str) -> None:
    info = REGISTRY.get(check_id).info  # type: ignore[union-attr]
    assert info.summary and info.risk and info.fix and info.title


def test_docs_are_current() -> None:
    assert (ROOT / "docs" / "checks.md").read_text(encoding="utf-8") == checks_markdown(REGISTRY), (
        "docs/checks.md is stale: run `make docs`"
    )


def test_builtins_load_by_package_identity(tmp_path: Path) -> None:
    """A `checks` package in the working directory (or on PYTHONPATH) cannot stand in for the built-in checks."""
    fake = tmp_path / "checks"
    fake.mkdir()
    (fake / "__init__.py").write_text("BUILTIN = ()\n")
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    listed = subprocess.run([sys.executable, "-m", "probe", "checks"], cwd=tmp_path, env=env, capture_output=True,
                            text=True, timeout=60, check=False)
    assert listed.returncode == 0, listed.stderr
    assert f"{len(REGISTRY.specs)} checks" in listed.stdout
    assert all(spec.module.startswith("probe.checks.") for spec in REGISTRY.specs)


def test_a_run_with_no_checks_is_a_usage_error(tmp_path: Path) -> None:
    """A registry that loads nothing must not let a release gate pass: exit 2 and one line, not PASSED."""
    (tmp_path / "noplugins.py").write_text(
        "import probe.registry\n"
        "probe.registry.BUILTIN_PACKAGE = 'emptychecks'\n"
        "import sys\nfrom probe.__main__ import main\nsys.argv = ['probe', *sys.argv[1:]]\nmain()\n")
    (tmp_path / "emptychecks.py").write_text("BUILTIN = ()\n")
    ran = subprocess.run([sys.executable, "noplugins.py", "scan", "http://127.0.0.1:9"], cwd=tmp_path, capture_output=True,
                         text=True, timeout=60, check=False, env={**os.environ, "PYTHONPATH": str(tmp_path)})
    assert ran.returncode == 2, ran.stdout + ran.stderr
    assert ran.stderr.strip().splitlines() == [
        "probe: error: no checks to run: none are installed or the selection (--only, --skip, --profile) left none; "
        "see `probe checks`"]
