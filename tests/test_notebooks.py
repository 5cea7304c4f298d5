"""The teaching notebooks (notebooks/*.ipynb): committed clean, importing only `sim`, and running top to bottom.

The fast tests read the notebook files; the slow one executes each notebook with nbclient in a fresh
``python3`` kernel whose working directory is a temporary folder (so whatever a notebook writes lands
there) and whose ``PYTHONPATH`` starts with this repository (so ``import sim`` finds this checkout even when
the package is not installed, or is installed from an older copy).

To clear a notebook's outputs before committing: ``python tests/test_notebooks.py --clear``.
"""

from __future__ import annotations

import ast
import os
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
NOTEBOOKS = REPO / "notebooks"
EXPECTED = ("01_quickstart.ipynb", "02_levers.ipynb", "03_sweeps_and_sensitivity.ipynb", "04_compare_reforms.ipynb")
#: Wall-clock budget of one notebook (kernel start included); the defaults take well under a minute.
BUDGET_SECONDS = 240
#: The only IPython magics a notebook may use.
ALLOWED_MAGICS = ("%matplotlib inline",)


def _read(name: str):
    nbformat = pytest.importorskip("nbformat")
    return nbformat.read(NOTEBOOKS / name, as_version=4)


def _code_cells(nb) -> list[str]:
    return [cell.source for cell in nb.cells if cell.cell_type == "code"]


def _python_source(source: str) -> tuple[str, list[str]]:
    """The cell's Python code with IPython magic lines blanked out, and those magic lines."""
    lines, magics = [], []
    for line in source.splitlines():
        if line.lstrip().startswith(("%", "!")):
            magics.append(line.strip())
            lines.append("")
        else:
            lines.append(line)
    return "\n".join(lines), magics


def imported_modules(source: str) -> list[str]:
    """Every module a cell imports (``import a.b`` -> ``a.b``; ``from . import x`` -> ``.``)."""
    code, _ = _python_source(source)
    found = []
    for node in ast.walk(ast.parse(code)):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            found.append("." * node.level + (node.module or ""))
        elif isinstance(node, ast.Call) and getattr(node.func, "id", None) == "__import__":
            found.append("__import__")
    return found


def test_exactly_the_four_notebooks():
    present = sorted(p.name for p in NOTEBOOKS.glob("*.ipynb"))
    assert present == sorted(EXPECTED), f"notebooks/ holds {present}; this test expects {list(EXPECTED)}"


@pytest.mark.parametrize("name", EXPECTED)
def test_notebook_is_committed_clean(name):
    nbformat = pytest.importorskip("nbformat")
    nb = _read(name)
    nbformat.validate(nb)
    assert nb.metadata.get("kernelspec", {}).get("name") == "python3"
    dirty = [i for i, cell in enumerate(nb.cells) if cell.cell_type == "code"
             and (cell.get("outputs") or cell.get("execution_count") is not None)]
    assert not dirty, (f"{name}: code cells {dirty} have outputs or an execution count; "
                       "clear them with `python tests/test_notebooks.py --clear`")


@pytest.mark.parametrize("name", EXPECTED)
def test_notebook_imports_only_sim(name):
    nb = _read(name)
    assert any(cell.cell_type == "markdown" for cell in nb.cells)
    for i, source in enumerate(_code_cells(nb)):
        _, magics = _python_source(source)
        assert all(m in ALLOWED_MAGICS for m in magics), f"{name}, code cell {i}: magics {magics}"
        for module in imported_modules(source):
            assert module == "sim" or module.startswith("sim."), \
                f"{name}, code cell {i} imports {module!r}: notebooks import only from `sim`"


def test_import_check_catches_other_imports():
    assert imported_modules("import pandas as pd\nfrom sim import x") == ["pandas", "sim"]
    assert imported_modules("%matplotlib inline\nfrom matplotlib import pyplot") == ["matplotlib"]
    assert imported_modules("def f():\n    import os\n") == ["os"]
    assert imported_modules("from . import y") == ["."]


@pytest.mark.slow
@pytest.mark.parametrize("name", EXPECTED)
def test_notebook_runs(name, tmp_path, monkeypatch, capsys, record_property):
    pytest.importorskip("ipykernel")
    nbclient = pytest.importorskip("nbclient")
    nbformat = pytest.importorskip("nbformat")
    nb = _read(name)
    # which `sim` the kernel imported (a cell added to this in-memory copy only)
    nb.cells.append(nbformat.v4.new_code_cell("import sim\nprint(sim.__file__)"))
    # the kernel inherits this environment: this checkout first on its path
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(REPO), *filter(None, [os.environ.get("PYTHONPATH")])]))
    deadline = time.monotonic() + BUDGET_SECONDS
    client = nbclient.NotebookClient(
        nb, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}},
        timeout=BUDGET_SECONDS, timeout_func=lambda cell: max(1, int(deadline - time.monotonic())))
    t0 = time.monotonic()
    client.execute()
    seconds = time.monotonic() - t0
    record_property("seconds", round(seconds, 1))
    with capsys.disabled():
        print(f"\n{name}: executed in {seconds:.1f} s")
    sim_file = "".join(o.get("text", "") for o in nb.cells[-1].outputs).strip()
    assert Path(sim_file).resolve() == REPO / "sim" / "__init__.py", f"the kernel imported sim from {sim_file}"
    figures = [o for cell in nb.cells for o in cell.get("outputs", []) if "image/png" in o.get("data", {})]
    assert figures, f"{name} drew no figure"
    # it wrote only under out/ of its working directory (never into the repository)
    assert {p.name for p in tmp_path.iterdir()} <= {"out"}, sorted(p.name for p in tmp_path.iterdir())


def clear(paths: list[Path]) -> None:
    """Remove outputs and execution counts from notebooks, in place."""
    import nbformat

    for path in paths:
        nb = nbformat.read(path, as_version=4)
        for cell in nb.cells:
            if cell.cell_type == "code":
                cell.outputs = []
                cell.execution_count = None
            cell.metadata.pop("execution", None)
        nbformat.write(nb, path)
        print(f"cleared {path}")


if __name__ == "__main__":
    if sys.argv[1:2] != ["--clear"]:
        sys.exit("usage: python tests/test_notebooks.py --clear [NOTEBOOK ...]")
    clear([Path(p) for p in sys.argv[2:]] or sorted(NOTEBOOKS.glob("*.ipynb")))
