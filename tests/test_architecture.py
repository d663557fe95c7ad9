"""The house rules of the code, checked on the source: a module that registers checks imports no other module that
registers checks (shared engines live in modules that register none), helper modules register nothing, the
engine in probe/ imports no check family, and `probe init` writes the sections' own templates without naming them."""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
import re
from pathlib import Path

import probe.checks
from probe.checks import BUILTIN
from probe.config import settings_model
from probe.registry import _specs_in, load
from tests.helpers import ROOT

REGISTRY = load()
REGISTERING = {spec.module for spec in REGISTRY.specs}


def imported_modules(path: Path, package: str) -> set[str]:
    """Every module a source file imports, with `from X import y` counted as X and as X.y (y may be a module)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join([*package.split(".")[: len(package.split(".")) - node.level + 1], *([base] if base else [])])
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def check_modules() -> list[str]:
    return sorted(name for _, name, _ in pkgutil.walk_packages(probe.checks.__path__, "probe.checks."))


def test_a_module_that_registers_checks_imports_no_other() -> None:
    offences = []
    for name in sorted(REGISTERING):
        module = importlib.import_module(name)
        source = Path(inspect.getsourcefile(module) or "")
        package = name if source.name == "__init__.py" else name.rpartition(".")[0]
        for imported in imported_modules(source, package) & (REGISTERING - {name}):
            offences.append(f"{name} imports {imported}")
    assert not offences, offences


def test_helper_modules_register_no_checks() -> None:
    """Only the modules listed in BUILTIN hold checks; engines and data tables next to them hold none."""
    for name in check_modules():
        module = importlib.import_module(name)
        if name not in BUILTIN:
            assert not _specs_in(module), f"{name} registers checks but is not a family module listed in BUILTIN"


def test_the_engine_imports_no_family() -> None:
    engine = [p for p in (ROOT / "probe").rglob("*.py") if not p.is_relative_to(ROOT / "probe" / "checks")
              and not p.is_relative_to(ROOT / "probe" / "demo")]
    offences = []
    for path in engine:
        for imported in imported_modules(path, "probe"):
            if imported.startswith("probe.checks.") or (imported.startswith("probe.demo.") and path.name != "cli.py"):
                offences.append(f"{path.relative_to(ROOT)} imports {imported}")
    assert not offences, offences


# What opens a connection of its own: a check that did would bypass scope, `exclude`, the budget and the deadline.
OWN_CONNECTIONS = re.compile(r"httpx\.(?:Async)?Client\(|^\s*import socket\b|^\s*from socket import|asyncio\.open_connection",
                             re.MULTILINE)


def test_checks_reach_the_network_only_through_the_engine() -> None:
    offences = [str(path.relative_to(ROOT)) for path in (ROOT / "checks").rglob("*.py")
                if OWN_CONNECTIONS.search(path.read_text(encoding="utf-8"))]
    assert not offences, offences
    assert OWN_CONNECTIONS.search("async with httpx.AsyncClient(verify=False) as c:")  # the rule can fail


def test_the_rule_can_fail(tmp_path: Path) -> None:
    """The import scan sees both spellings of an import."""
    source = tmp_path / "m.py"
    source.write_text("from probe.checks.idor import matrix\nimport probe.checks.debug.triggers\n")
    assert {"probe.checks.idor.matrix", "probe.checks.debug.triggers"} <= imported_modules(source, "probe.checks")


def family_names_in(source: str) -> list[str]:
    """The family config sections and hosting platforms a source names in its string literals: `"cors"`, `[[webhooks]]`,
    `vercel` (what `probe init` would need to know a family by)."""
    from probe.api import sections

    engine_sections = {"accounts", "login"}
    names = [name for name in sections(REGISTRY) if name not in engine_sections]
    platforms = {m.name for model in settings_model(sections(REGISTRY)).section_names for m in model.init_hosting}
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            text = node.value
            found += [name for name in names if text == name or re.search(rf"\[{re.escape(name)}[\].]", text)]
            found += [name for name in sorted(platforms) if re.search(rf"\b{re.escape(name)}\b", text, re.IGNORECASE)]
    return found


def test_probe_init_names_no_family_section_or_platform() -> None:
    """`probe init` writes what the sections declare (`Section.init_block`, `init_hosting`): it knows none of them."""
    assert family_names_in((ROOT / "probe" / "init.py").read_text(encoding="utf-8")) == []


def test_the_init_rule_can_fail() -> None:
    source = 'if "cors" in sections:\n    x = "# [[webhooks]]"\nMARKER = ("vercel", "header:server")\n'
    assert family_names_in(source) == ["cors", "webhooks", "vercel"]
