"""The pre-launch checklist: every registered check, grouped, with an honest status, on the demo twins;
and the HTML file is self-contained and escapes everything the target said."""

from __future__ import annotations

import dataclasses
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path

import pytest

from probe import api, checklist
from probe.checklist import Checklist, ItemStatus
from probe.demo import Demo, running
from probe.model import PRECONDITION, CheckInfo, Confidence, Mode, Report, Result, Severity, Status
from probe.registry import Registry, load
from probe.reporters import checklist as checklist_text
from probe.reporters import html
from tests.helpers import ROOT

DEMO_CONFIG = ROOT / "fixtures" / "demo" / "probe.toml"


def demo_checklist(demo: Demo, registry: Registry, only: tuple[str, ...] = ()) -> Checklist:
    demo.reset_rate_limits()
    environ = {**demo.env, "DEMO_WORKDIR": str(demo.workdir)}
    overrides = {"mode": "passive", "rate": 100.0}
    report = api.scan(demo.url, config_path=DEMO_CONFIG, overrides=overrides, only=list(only), environ=environ)
    infos = [spec.info for spec in registry.specs]
    return checklist.build(report, infos)


@pytest.fixture(scope="module")
def registry() -> Registry:
    return load()


@pytest.fixture(scope="module")
def vulnerable(registry: Registry) -> Iterator[tuple[Demo, Checklist]]:
    with running("vulnerable") as demo:
        yield demo, demo_checklist(demo, registry)


@pytest.fixture(scope="module")
def hardened(registry: Registry) -> Iterator[tuple[Demo, Checklist]]:
    with running("hardened") as demo:
        # The families whose failures the vulnerable twin shows passively; the rest are "not selected".
        yield demo, demo_checklist(demo, registry, ("headers", "debug", "secrets", "cors", "input"))


def statuses(built: Checklist) -> dict[str, ItemStatus]:
    return {item.info.id: item.status for item in built.items}


def test_every_registered_check_is_listed_once_in_a_known_group(
    registry: Registry, vulnerable: tuple[Demo, Checklist]
) -> None:
    _, built = vulnerable
    listed = [item.info.id for item in built.items]
    assert sorted(listed) == sorted(spec.id for spec in registry.specs)
    known = {g.key for g in checklist.GROUPS}
    for section in built.sections:
        assert section.group.key in known, f"{[i.info.id for i in section.items]} fell into {section.group.key}"
        for item in section.items:
            assert item.info.group == section.group.key
    groups = {item.info.id: item.info.group for item in built.items}
    assert groups["headers.hsts"] == "transport" and groups["headers.csp"] == "cross-origin"


def test_vulnerable_demo_fails_with_findings_and_fixes(vulnerable: tuple[Demo, Checklist]) -> None:
    _, built = vulnerable
    found = statuses(built)
    assert found["headers.csp"] is ItemStatus.FAILED
    assert found["debug.interactive-debugger"] is ItemStatus.FAILED
    assert not built.ready
    for item in built.items:
        if item.status is ItemStatus.FAILED:
            assert item.findings and all(f.location and f.remediation for f in item.findings), item.info.id


def test_active_checks_are_not_run_with_the_flag_that_unlocks_them(vulnerable: tuple[Demo, Checklist]) -> None:
    _, built = vulnerable
    active = [item for item in built.items if item.info.active]
    assert active
    for item in active:
        assert item.status is ItemStatus.NOT_RUN
        assert any("--mode active" in reason for reason in item.reasons), item.reasons


def test_hardened_demo_has_nothing_failed(hardened: tuple[Demo, Checklist]) -> None:
    _, built = hardened
    found = statuses(built)
    assert ItemStatus.FAILED not in found.values(), [k for k, v in found.items() if v is ItemStatus.FAILED]
    assert found["headers.csp"] is ItemStatus.PASSED
    assert found["debug.interactive-debugger"] is ItemStatus.PASSED


def test_not_run_items_say_what_unlocks_them() -> None:
    """A check that never got configuration says why in its own words, or gets its family's hint; a check that ran
    and could not test gets no hint, since nothing in probe.toml would change that."""
    info = CheckInfo("idor.cross-account-read", "IDOR", Severity.HIGH, Confidence.HIGH, False, "s", "r", "f",
                     unlock="add two [accounts.NAME] (with [login]) and [[resources]]")
    skipped = Result("idor.cross-account-read", Status.SKIP, Severity.HIGH, "IDOR", "http://x/", "nothing to test",
                     kind=PRECONDITION)
    item = checklist.build(report_with([skipped], [info])).items[0]
    assert item.status is ItemStatus.NOT_RUN
    assert "two [accounts.NAME]" in item.unlock
    refused = replace(skipped, detail="the route refused every attempt for a missing CSRF token", kind="")
    assert checklist.build(report_with([refused], [info])).items[0].unlock == ""
    unselected = checklist.build(report_with([], []), [info]).items[0]
    assert unselected.reasons == (checklist.NOT_SELECTED,)


def test_suppressed_failures_are_accepted_not_failed() -> None:
    info = CheckInfo("headers.csp", "CSP", Severity.MEDIUM, Confidence.HIGH, False, "s", "r", "fix it")
    fail = Result("headers.csp", Status.FAIL, Severity.MEDIUM, "CSP", "http://x/", "no CSP", suppressed=True,
                  suppression="new front end (until 2030-01-01)")
    item = checklist.build(report_with([fail], [info])).items[0]
    assert item.status is ItemStatus.ACCEPTED
    assert item.findings[0].suppression.startswith("new front end")


HOSTILE = '<script>alert(1)</script><img src=x onerror=alert(2)>"\'\x1b[31m'


def report_with(results: list[Result], infos: list[CheckInfo]) -> Report:
    return Report(
        tool_version="0.0.0",
        target="http://127.0.0.1:1",
        mode=Mode.PASSIVE,
        started=datetime(2026, 1, 1, tzinfo=UTC),
        duration_s=1.0,
        requests_sent=3,
        results=tuple(results),
        checks=tuple(infos),
    )


def hostile_report() -> Report:
    info = CheckInfo("debug.error-page", "Error page", Severity.HIGH, Confidence.HIGH, False, "s", "r", "turn DEBUG off")
    fail = Result("debug.error-page", Status.FAIL, Severity.HIGH, "Error page", f"http://127.0.0.1:1/{HOSTILE}",
                  f"the page said {HOSTILE}", remediation=f"fix {HOSTILE}")
    report = report_with([fail], [info])
    return dataclasses.replace(report, target=f"http://127.0.0.1:1/{HOSTILE}", notes=(f"note {HOSTILE}",))


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def test_html_is_self_contained_and_escapes_the_target(vulnerable: tuple[Demo, Checklist]) -> None:
    _, built = vulnerable
    for text in (html.render_checklist(built), html.render(hostile_report())):
        parser = _Tags()
        parser.feed(text)
        names = {tag for tag, _ in parser.tags}
        assert not names & {"script", "img", "link", "iframe", "object", "embed", "form", "base"}
        assert all(not any(k.startswith("on") or k == "src" for k in attrs) for _, attrs in parser.tags)
        assert "@import" not in text and "url(" not in text
        assert "\x1b" not in text
        csp = next(a["content"] for t, a in parser.tags if t == "meta" and a.get("http-equiv") == "Content-Security-Policy")
        assert csp is not None and "default-src 'none'" in csp
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html.render(hostile_report())


def test_text_and_markdown_neutralise_the_target() -> None:
    built = checklist.build(hostile_report())
    text = checklist_text.render_text(built)
    assert "\x1b" not in text
    markdown = checklist_text.render_markdown(built)
    assert "<script>" not in markdown and "<img" not in markdown
    assert "\x1b" not in markdown


def test_cli_checklist_writes_markdown_and_html(vulnerable: tuple[Demo, Checklist], tmp_path: Path) -> None:
    demo, _ = vulnerable
    demo.reset_rate_limits()
    env = {**os.environ, **demo.env, "DEMO_WORKDIR": str(demo.workdir), "NO_COLOR": "1"}
    md, page = tmp_path / "checklist.md", tmp_path / "checklist.html"
    done = subprocess.run(
        [sys.executable, "-m", "probe", "checklist", demo.url, "-c", str(DEMO_CONFIG), "--only", "headers,secrets",
         "--format", "console", "--format", f"markdown={md}", "--format", f"html={page}"],
        capture_output=True, text=True, env=env, timeout=90, check=False,
    )
    assert done.returncode == 1, done.stderr
    assert "NOT READY" in done.stdout
    assert re.search(r"✗ failed\s+headers\.csp", done.stdout)
    markdown = md.read_text()
    assert "## Configuration and secrets" in markdown
    assert "not selected for this run" in markdown  # idor, cors ... were left out by --only
    assert page.read_text().startswith("<!DOCTYPE html>")


def test_cli_checklist_refuses_a_scan_only_format() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "probe", "checklist", "http://127.0.0.1:9", "--format", "sarif"],
        capture_output=True, text=True, timeout=60, check=False,
    )
    assert done.returncode == 2
    assert "the checklist is console, markdown, html" in done.stderr
