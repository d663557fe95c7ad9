"""Config loading: typed, validated, `${VAR}` interpolation, one-line errors naming file and key."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from probe import api
from probe.config import ConfigError, load
from probe.registry import load as load_registry
from tests.helpers import toml_value

SECTIONS = api.sections(load_registry())


def write(tmp_path: Path, text: str, name: str = "probe.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_defaults_without_a_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    loaded = load(None, SECTIONS, environ={})
    assert loaded.path is None
    assert loaded.settings.mode.value == "passive"
    assert loaded.settings.max_requests == 400


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("bogus = 1\n", "probe.toml: bogus: unknown key"),
        ('max_requests = "lots"\n', "probe.toml: max_requests:"),
        ('mode = "aggressive"\n', "probe.toml: mode:"),
        ('target = "ftp://example.com"\n', "probe.toml: target: expected an http:// or https:// URL"),
        ('[accounts.alice]\nbearer = "${MISSING_TOKEN}"\n', "probe.toml: accounts.alice.bearer: ${MISSING_TOKEN} is not set"),
        ('[accounts.alice]\nbearer = "x"\ncolour = "red"\n', "probe.toml: accounts.alice.colour: unknown key"),
        ("[accounts.alice]\n", "probe.toml: accounts.alice:"),
        ('target = "https://x.example\n', "probe.toml: not valid TOML"),
    ],
)
def test_errors_name_the_file_and_key(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load(path, SECTIONS, environ={})
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_interpolation_from_environment_and_dotenv(tmp_path: Path) -> None:
    path = write(
        tmp_path, 'target = "${BASE}"\n[accounts.alice]\nbearer = "${ALICE_TOKEN}"\n[accounts.bob]\nbearer = "${BOB_TOKEN}"\n'
    )
    (tmp_path / ".env").write_text("BOB_TOKEN=from-dotenv-123\nALICE_TOKEN=overridden\n")
    loaded = load(path, SECTIONS, environ={"BASE": "https://staging.example.com", "ALICE_TOKEN": "from-env-456"})
    assert loaded.settings.target == "https://staging.example.com"
    assert loaded.settings.accounts["alice"].bearer == "from-env-456"
    assert loaded.settings.accounts["bob"].bearer == "from-dotenv-123"
    # Tokens are secrets the redactor must mask; the target URL is not.
    assert set(loaded.secrets) == {"from-env-456", "from-dotenv-123"}


def test_pyproject_tool_table(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path, '[project]\nname = "x"\n[tool.probe]\nmode = "active"\nmax_requests = 99\n', "pyproject.toml")
    monkeypatch.chdir(tmp_path)
    loaded = load(None, SECTIONS, environ={})
    assert loaded.settings.max_requests == 99
    assert loaded.path == tmp_path / "pyproject.toml"


def test_flags_override_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, 'mode = "active"\nmax_requests = 10\n')
    loaded = load(path, SECTIONS, {"mode": "passive", "max_requests": None}, environ={})
    assert loaded.settings.mode.value == "passive"
    assert loaded.settings.max_requests == 10


def test_settings_are_frozen(tmp_path: Path) -> None:
    loaded = load(write(tmp_path, "max_requests = 10\n"), SECTIONS, environ={})
    with pytest.raises(Exception):  # noqa: B017 - pydantic's frozen error type is an implementation detail
        loaded.settings.max_requests = 11  # type: ignore[misc]


toml_scalars = st.one_of(
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.text(max_size=20),
    st.booleans(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.lists(st.integers(min_value=-1000, max_value=1000), max_size=3),
)


@settings(max_examples=80, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(["target", "mode", "max_requests", "rate", "scope", "timeout", "nonsense", "accounts"]),
        toml_scalars,
        max_size=4,
    )
)
def test_any_table_either_loads_or_fails_with_one_line(data: dict[str, object]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "probe.toml"
        path.write_text("".join(f"{k} = {toml_value(v)}\n" for k, v in data.items()))
        try:
            load(path, SECTIONS, environ={})
        except ConfigError as exc:
            assert "\n" not in str(exc)
            assert str(exc).startswith(str(path))
