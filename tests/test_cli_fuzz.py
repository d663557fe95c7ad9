"""Bad input from the user, generated: URLs of every shape, flag values, and config files with wrong types,
unknown keys and unset `${VAR}`s. Whatever comes in, `probe` answers with exit 2 and one line naming the
flag or key, or (for input it accepts) scans; it never prints a traceback.

The command runs in-process through its real entry point (`probe.cli.main`, which turns click's usage
errors into one line) inside click's output capture. Accepted input scans a closed loopback port (exit 3),
so nothing leaves the machine.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from probe import cli
from tests.helpers import toml_value

CLOSED = "127.0.0.1:9"  # the discard port: nothing listens on it here
QUICK = ("--only", "headers", "--timeout", "1", "--max-duration", "3", "--format", "json=-")
EXAMPLES = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def run(*args: str) -> tuple[int, str]:
    """(exit code, standard error) of `probe ARGS...`."""
    argv = sys.argv
    with CliRunner().isolation() as (_, err, _output):
        sys.argv = ["probe", *args]
        try:
            cli.main()
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 0
        finally:
            sys.argv = argv
            sys.stderr.flush()
        return code, err.getvalue().decode("utf-8", errors="replace")


def assert_clean(code: int, stderr: str, accepted: tuple[int, ...] = (3,)) -> None:
    assert "Traceback" not in stderr, stderr
    assert code in (2, *accepted), f"exit {code}: {stderr}"
    if code == 2:
        errors = [line for line in stderr.splitlines() if line.strip()]
        assert len(errors) == 1 and errors[0].startswith("probe: error: "), stderr


schemes = st.sampled_from(["http", "https", "HTTP", "ftp", "file", "ws", "javascript", "data", "", "http:"])
hosts = st.sampled_from([
    "127.0.0.1", "[::1]", "::1", "[::1", "[fe80::1%25lo]", "localhost", "bücher.example", "xn--bcher-kva.example",
    "user:pa55word@127.0.0.1", "@127.0.0.1", "127.0.0.1@evil.invalid", "", " ", "999.1.1.1", "例え.テスト", "%00",
])
ports = st.sampled_from(["", ":9", ":0", ":65536", ":99999", ":-1", ":abc", ":", ":9:9"])
paths = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12)


@EXAMPLES
@given(schemes, hosts, ports, paths)
def test_any_url_is_scanned_or_refused_in_one_line(scheme: str, host: str, port: str, path: str) -> None:
    url = f"{scheme}://{host}{port}/{path}" if scheme else f"{host}{port}/{path}"
    # Only loopback and reserved names (.example, .invalid, .テスト) are generated; still, scan a closed port only.
    if host not in ("127.0.0.1", "[::1]", "localhost") or port not in ("", ":9"):
        code, stderr = run("scan", url, *QUICK)
        assert_clean(code, stderr)
    else:
        code, stderr = run("scan", url.replace(port, ":9", 1) if port else url.replace(host, host + ":9", 1), *QUICK)
        assert_clean(code, stderr)


def test_url_with_credentials_is_refused_and_the_password_not_echoed() -> None:
    code, stderr = run("scan", "http://admin:hunter2-secret@127.0.0.1:9/", *QUICK)
    assert_clean(code, stderr)
    assert code == 2 and "credentials" in stderr
    assert "hunter2-secret" not in stderr


def test_ipv6_loopback_literal_is_a_target() -> None:
    code, stderr = run("scan", "http://[::1]:9/", *QUICK)
    assert code == 3, stderr
    assert "[::1]" in stderr


numbers = st.one_of(
    st.integers(min_value=-(10**12), max_value=10**12).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(str),
    st.sampled_from(["", " ", "1e309", "-0", "0x10", "10/s", "10/m", "½", "1_000", "nan", "١٢"]),
    st.text(max_size=6),
)
number_flags = st.sampled_from(["--max-requests", "--timeout", "--max-duration", "--rate"])


@EXAMPLES
@given(number_flags, numbers)
def test_any_number_flag_is_used_or_refused_in_one_line(flag: str, value: str) -> None:
    code, stderr = run("scan", f"http://{CLOSED}", flag, value, *QUICK)
    assert_clean(code, stderr)
    if code == 2:
        # Named as the flag (click's checks) or as its settings key (`command line: max_requests: ...`).
        assert flag in stderr or flag.strip("-").replace("-", "_") in stderr, stderr


choice_flags = st.sampled_from(["--mode", "--fail-on", "--format", "--only", "--skip", "--profile"])


@EXAMPLES
@given(choice_flags, st.text(max_size=16))
def test_any_choice_flag_is_used_or_refused_in_one_line(flag: str, value: str) -> None:
    code, stderr = run("scan", f"http://{CLOSED}", "--timeout", "1", "--max-duration", "3", flag, value)
    # A value that happens to be valid scans the closed port; --format console=PATH may even write a file.
    assert_clean(code, stderr)


values = st.recursive(
    st.one_of(
        st.integers(min_value=-(2**63), max_value=2**63 - 1),
        st.floats(allow_nan=False, allow_infinity=False),
        st.booleans(),
        st.text(max_size=12),
        st.sampled_from(["${NOT_SET_ANYWHERE}", "${H_SET}", "http://", "https://[::1", "ftp://x", "POST /api", "/x"]),
    ),
    lambda inner: st.lists(inner, max_size=3),
    max_leaves=4,
)
# Every table a check module declares, and keys real ones use, plus some that exist nowhere.
tables = st.sampled_from(["", "accounts.alice", "login", "cors", "debug", "env", "auth", "tls", "dns", "nonsense"])
array_tables = st.sampled_from(["resources", "webhooks", "rate_limit"])
keys = st.sampled_from(["target", "scope", "mode", "max_requests", "rate", "timeout", "path", "provider", "secret",
                        "owner", "list", "username", "password", "bearer", "request", "token", "trusted_origins",
                        "paths", "manifest", "deployed", "resolver", "hosts", "attempts", "colour"])


@EXAMPLES
@given(tables, array_tables, st.dictionaries(keys, values, max_size=4), st.dictionaries(keys, values, max_size=3))
def test_any_config_is_loaded_or_refused_naming_the_key(
    table: str, array: str, entries: dict[str, object], item: dict[str, object]
) -> None:
    body = "".join(f"{k} = {toml_value(v)}\n" for k, v in entries.items())
    text = (f"[{table}]\n" if table else "") + body + f"[[{array}]]\n" + "".join(
        f"{k} = {toml_value(v)}\n" for k, v in item.items()
    )
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "probe.toml"
        path.write_text(text)
        code, stderr = run("scan", f"http://{CLOSED}", "--config", str(path), *QUICK)
    assert_clean(code, stderr, accepted=(1, 3))
    if code == 2:
        assert str(path) in stderr or "--" in stderr, stderr
