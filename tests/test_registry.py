"""Every built-in check is documented and proven: it has text for `probe explain`, an entry in
docs/checks.md, and tests that see it fail on a vulnerable target and pass on a hardened twin."""

from __future__ import annotations

import re

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


def test_builtins_come_from_the_entry_point() -> None:
    from importlib.metadata import entry_points

    assert any(ep.value == "checks" for ep in entry_points(group="probe.checks"))
