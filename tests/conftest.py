"""Shared fixtures: the bundled demo app, one server per mode for the whole session (per xdist worker)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from probe.demo import Demo, running


def pytest_configure(config: pytest.Config) -> None:
    # PyJWT warns whenever the vulnerable demo signs with its deliberately short key, from a server thread,
    # so the warning would land on whichever test is running.
    config.addinivalue_line("filterwarnings", "ignore::jwt.InsecureKeyLengthWarning")


@pytest.fixture(scope="session")
def demo_vulnerable() -> Iterator[Demo]:
    with running("vulnerable") as demo:
        yield demo


@pytest.fixture(scope="session")
def demo_hardened() -> Iterator[Demo]:
    with running("hardened") as demo:
        yield demo


@pytest.fixture(autouse=True)
def _fresh_login_limit(request: pytest.FixtureRequest) -> None:
    """The hardened demo allows 5 logins a minute from 127.0.0.1, shared by every test in the session:
    each test that uses it starts with none counted, whatever ran before."""
    if "demo_hardened" in request.fixturenames:
        request.getfixturevalue("demo_hardened").reset_rate_limits()
