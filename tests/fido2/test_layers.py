"""The package's layering, checked from the import statements: nothing below the dispatcher imports it,
the device model imports no transport or adapter, command classes do not import one another (shared
code lives in the services below them)."""

from __future__ import annotations

import ast
from pathlib import Path

PKG = Path(__file__).resolve().parents[2] / "tokens" / "fido2"


def _imports(path: Path) -> set[str]:
    """Absolute module names this file imports (relative imports resolved)."""
    parts = list(path.relative_to(PKG.parent.parent).with_suffix("").parts)
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            base = parts[:-node.level] if node.level else []
            mod = ".".join(base + ([node.module] if node.module else []))
            out.add(mod)
            out.update(f"{mod}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
    return out


def test_nothing_below_the_dispatcher_imports_it() -> None:
    for path in (PKG / "authenticator").rglob("*.py"):
        if path.name != "core.py":
            assert "tokens.fido2.authenticator.core" not in _imports(path), path


def test_the_device_model_imports_no_transport_or_adapter() -> None:
    for path in (PKG / "authenticator").rglob("*.py"):
        bad = {m for m in _imports(path) if m.startswith(("tokens.fido2.transport", "tokens.fido2.adapters",
                                                           "tokens._cli"))}
        assert not bad, (path, bad)


def test_commands_do_not_import_each_other() -> None:
    commands = {p.stem for p in (PKG / "authenticator" / "commands").glob("*.py")} - {"__init__"}
    shared = {"extensions"}  # makeCredential and getAssertion both run the extensions
    for path in (PKG / "authenticator" / "commands").glob("*.py"):
        others = {m.rsplit(".", 1)[-1] for m in _imports(path)
                  if m.startswith("tokens.fido2.authenticator.commands.")} & commands
        assert others <= shared - {path.stem}, (path.name, others)
