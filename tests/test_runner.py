"""The runner contains misbehaving checks: a crash is an `error` for that check alone, a greedy check
stops at the budget, active checks wait for active mode, results stay honest and secrets masked."""

from __future__ import annotations

import pytest

from probe import api, registry
from probe.model import Report, Status
from tests.helpers import expect
from tests.hostile.servers import raw_server, static


@pytest.fixture(scope="module")
def sample_registry() -> registry.Registry:
    return registry.build(["tests.sample_checks"])


def run(url: str, reg: registry.Registry, **overrides: object) -> Report:
    return api.execute(api.plan(target=url, registry=reg, overrides={"rate": 500, **overrides}, environ={}))


def test_a_crashing_check_is_an_error_and_the_others_finish(sample_registry: registry.Registry) -> None:
    with raw_server(static(200, b"<html>hi</html>", {"Content-Type": "text/html"})) as target:
        report = run(target.url, sample_registry, max_requests=20)
    crashed = expect(report, "input.sample-raises", "error")[0]
    assert "ValueError" in crashed.detail
    expect(report, "input.sample-ok", "pass")
    assert "request budget" in expect(report, "input.sample-greedy", "error")[0].detail
    assert report.requests_sent == 20
    skipped = expect(report, "input.sample-active", "skip")[0]
    assert "--mode active" in skipped.detail
    assert "another id" in expect(report, "input.sample-foreign", "error")[0].detail
    assert "nothing applicable" in expect(report, "input.sample-silent", "skip")[0].detail


def test_active_checks_run_in_active_mode(sample_registry: registry.Registry) -> None:
    with raw_server(static(200, b"ok")) as target:
        report = run(target.url, sample_registry, mode="active", max_requests=5)
    expect(report, "input.sample-active", "fail")


def test_errors_fail_the_gate_unless_allowed(sample_registry: registry.Registry) -> None:
    from probe.model import Severity

    with raw_server(static(200, b"ok")) as target:
        report = run(target.url, sample_registry, max_requests=5)
    assert report.gate_failures(Severity.CRITICAL)
    assert not report.gate_failures(Severity.CRITICAL, allow_errors=True)


def test_secrets_from_config_are_masked_in_every_result(sample_registry: registry.Registry, tmp_path) -> None:  # type: ignore[no-untyped-def]
    config = tmp_path / "probe.toml"
    config.write_text('[accounts.alice]\nbearer = "${ALICE_TOKEN}"\n')
    with raw_server(static(200, b"ok")) as target:
        plan = api.plan(
            target=target.url,
            config_path=config,
            registry=sample_registry,
            overrides={"max_requests": 5},
            environ={"ALICE_TOKEN": "s3cr3t-value-123"},
        )
        report = api.execute(plan)
    crashed = expect(report, "input.sample-raises", "error")[0]
    assert "s3cr3t-value-123" not in crashed.detail
    assert "[masked 16 chars" in crashed.detail


def test_duplicate_ids_are_refused() -> None:
    with pytest.raises(registry.RegistryError, match=r"input\.sample-ok"):
        registry.build(["tests.sample_checks", "tests.sample_duplicate"])


def test_bad_ids_are_refused() -> None:
    with pytest.raises(registry.RegistryError):
        registry.check(id="nonsense.thing", title="t", severity=registry.Severity.LOW, summary="s", risk="r", fix="f")


def test_only_and_skip_select_by_id_or_family(sample_registry: registry.Registry) -> None:
    from probe.runner import select

    assert [s.id for s in select(sample_registry, ["input.sample-ok"], [])] == ["input.sample-ok"]
    assert "input.sample-ok" not in [s.id for s in select(sample_registry, ["input"], ["input.sample-ok"])]
    assert all(s.info.family == "input" for s in select(sample_registry, ["input"], []))
    assert Status.PASS.value == "pass"


def test_redaction_masks_nested_evidence_and_copies_only_what_it_masks() -> None:
    from probe.redact import Redactor

    redactor = Redactor(["s3cr3t-value-123"])
    clean = {"request": {"headers": {"accept": "*/*"}}, "ids": ["1", "2"], "pair": ("a", 3)}
    assert redactor.redact_value(clean) is clean  # a large report is not copied when there is nothing to mask
    leaky = {"request": {"headers": {"authorization": "Bearer s3cr3t-value-123"}}, "ids": ("x", "s3cr3t-value-123"),
             "s3cr3t-value-123": 1, "untouched": clean}
    masked = redactor.redact_value(leaky)
    assert "s3cr3t-value-123" not in repr(masked) and "s3cr3t-value-123" in repr(leaky)
    assert isinstance(masked["ids"], tuple) and masked["untouched"] is clean
