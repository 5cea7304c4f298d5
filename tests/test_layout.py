"""The package's layout: imports flow one way (cli -> experiments -> model -> mechanisms, actors... ->
params), the report only renders, and no module imports another's private names."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SIM = Path(__file__).resolve().parents[1] / "sim"


def module_name(path: Path) -> str:
    parts = path.relative_to(SIM.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path) -> list[tuple[str, list[str]]]:
    """Every import of a module, at any depth (functions too): (absolute module, names imported)."""
    package = module_name(path) if path.name == "__init__.py" else module_name(path).rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(a.name, []) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            found.append((mod, [a.name for a in node.names]))
            found += [(f"{mod}.{a.name}", []) for a in node.names]  # `from . import x` may import a module
    return found


def sim_imports(path: Path) -> set[str]:
    return {m for m, _ in imports(path) if m == "sim" or m.startswith("sim.")}


def under(modules: set[str], prefix: str) -> set[str]:
    return {m for m in modules if m == prefix or m.startswith(prefix + ".")}


def files(folder: str) -> list[Path]:
    return sorted((SIM / folder).glob("*.py")) if folder else sorted(SIM.glob("*.py"))


def test_the_import_reader_resolves_relative_imports(tmp_path):
    assert module_name(SIM / "report" / "figures.py") == "sim.report.figures"
    mods = sim_imports(SIM / "report" / "report.py")
    assert "sim.registry" in mods and "sim.report.i18n" in mods and "sim.report.figures" in mods


@pytest.mark.parametrize("path", files("report"), ids=lambda p: p.name)
def test_the_report_only_renders(path):
    """No module of sim/report runs or analyses a model: it imports neither the model, nor the
    mechanisms, nor the experiments (sweeps, compare, claims, calibration, analysis), nor the CLI."""
    mods = sim_imports(path)
    for forbidden in ("sim.model", "sim.mechanisms", "sim.experiments", "sim.cli", "sim.app", "sim.population",
                      "sim.actors"):
        assert not under(mods, forbidden), f"{path.name} imports {sorted(under(mods, forbidden))}"


@pytest.mark.parametrize("path", files("experiments"), ids=lambda p: p.name)
def test_experiments_do_not_render_or_parse_commands(path):
    mods = sim_imports(path)
    for forbidden in ("sim.report", "sim.cli", "sim.app"):
        assert not under(mods, forbidden), f"{path.name} imports {sorted(under(mods, forbidden))}"
    assert not {m for m, _ in imports(path)} & {"matplotlib", "solara", "argparse"}


@pytest.mark.parametrize("path", [p for p in SIM.rglob("*.py") if p.parent.name != "cli"],
                         ids=lambda p: str(p.relative_to(SIM)))
def test_only_the_cli_imports_the_cli_and_the_model_side_imports_no_experiment(path):
    mods = sim_imports(path)
    assert not under(mods, "sim.cli"), f"{path.name} imports the CLI"
    if path.parent.name in ("sim", "mechanisms") and path.name != "app.py":  # the app draws with the report's figures
        assert not under(mods, "sim.experiments") and not under(mods, "sim.report"), \
            f"{path.relative_to(SIM)} imports {sorted(under(mods, 'sim.experiments') | under(mods, 'sim.report'))}"


def test_no_module_imports_another_modules_private_names():
    private = []
    for path in SIM.rglob("*.py"):
        for mod, names in imports(path):
            private += [f"{path.relative_to(SIM)}: {mod}.{n}" for n in names
                        if n.startswith("_") and not (n.startswith("__") and n.endswith("__"))]
    assert not private, private


def test_one_fail_for_every_command():
    defs = [str(p.relative_to(SIM)) for p in SIM.rglob("*.py")
            for node in ast.walk(ast.parse(p.read_text(encoding="utf-8")))
            if isinstance(node, ast.FunctionDef) and node.name in ("fail", "_fail")]
    assert defs == ["cli/common.py"]
