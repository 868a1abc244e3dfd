"""The layering the package promises (docs/architecture.md), checked on every module's imports.

- `sanitize.hw` is the way to the machine and imports nothing of the tool but `sanitize.errors`;
- nothing imports `sanitize.cli` but the entry points that start it (`sanitize.entry`, the
  executable, and `python -m sanitize`);
- `sanitize.erase` never names `sanitize.purge`: purge plugs into erase's interfaces, and the
  two meet only in `sanitize.methods`;
- the product imports nothing from `tests` (fakes and test helpers live there);
- each layer of the picture in docs/architecture.md imports only from its own layer and the
  layers below it, and every module sits in a layer.

Imports are read from the source (including those inside functions), so a lazy import
cannot slip past.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "sanitize"


def module_name(path: Path) -> str:
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported(path: Path) -> set[str]:
    """Every module `path` imports, with relative imports resolved."""
    tree = ast.parse(path.read_text(), str(path))
    package = module_name(path) if path.name == "__init__.py" else module_name(path).rpartition(".")[0]
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            out.add(base)
            out.update(f"{base}.{alias.name}" for alias in node.names)
    return out


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}
IMPORTS = {name: imported(path) for name, path in MODULES.items()}


def _within(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


def _tool_modules(names: set[str]) -> set[str]:
    """The modules of this package among `names` (an `from x import y` adds x.y, which may be a name)."""
    return {n for n in names if _within(n, "sanitize") and (n in MODULES or n.rpartition(".")[0] not in MODULES)}


@pytest.mark.parametrize("module", sorted(m for m in MODULES if _within(m, "sanitize.hw")))
def test_hw_imports_only_errors(module: str) -> None:
    foreign = {
        n for n in _tool_modules(IMPORTS[module]) if not (_within(n, "sanitize.hw") or _within(n, "sanitize.errors"))
    }
    assert not foreign, f"{module} imports {sorted(foreign)}"


def test_nothing_imports_the_cli() -> None:
    offenders = {
        m: sorted(n for n in IMPORTS[m] if _within(n, "sanitize.cli"))
        for m in MODULES
        if not _within(m, "sanitize.cli") and m not in ENTRY_POINTS
    }
    assert not {m: n for m, n in offenders.items() if n}


def test_erase_never_names_purge() -> None:
    for module, path in MODULES.items():
        if not _within(module, "sanitize.erase"):
            continue
        assert not {n for n in IMPORTS[module] if _within(n, "sanitize.purge")}, module
        assert "sanitize.purge" not in path.read_text(), f"{module} names sanitize.purge"


ENTRY_POINTS = {"sanitize.__main__", "sanitize.entry"}


def test_the_product_imports_no_test_code() -> None:
    assert not {m for m, names in IMPORTS.items() if any(_within(n, "tests") for n in names)}


# docs/architecture.md, top to bottom. A package or module here stands for everything under it.
LAYERS: list[set[str]] = [
    ENTRY_POINTS,
    {"sanitize.cli"},
    {"sanitize.image"},  # the live image: its build and the job it boots for (below the CLI, above the rest)
    {"sanitize.report", "sanitize.server_report"},
    {"sanitize.decommission", "sanitize.lab", "sanitize.methods"},
    {"sanitize.purge", "sanitize.certify"},
    {"sanitize.erase"},
    {"sanitize.inventory"},
    {"sanitize.scan", "sanitize.readahead", "sanitize.carve"},
    {"sanitize.detect"},
    {"sanitize.hw"},
    {
        "sanitize",
        "sanitize.errors",
        "sanitize.enums",
        "sanitize.state",
        "sanitize.outputs",
        "sanitize.inputs",
        "sanitize.textsafe",
        "sanitize.image.recipe",  # what the image is made of, its labels too (inventory.protect knows the stick)
    },
]


def layer_of(name: str) -> int | None:
    """The layer of a module (its longest listed prefix), None for a name of no layer."""
    best: tuple[int, int] | None = None
    for depth, members in enumerate(LAYERS):
        for member in members:
            if _within(name, member) and (best is None or len(member) > best[1]):
                best = (depth, len(member))
    return None if best is None else best[0]


def test_every_module_sits_in_a_layer() -> None:
    assert not {m for m in MODULES if layer_of(m) is None}


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_go_down_the_layers(module: str) -> None:
    own = layer_of(module)
    assert own is not None
    upward = {n for n in _tool_modules(IMPORTS[module]) if (layer_of(n) or 0) < own}
    assert not upward, f"{module} (layer {own}) imports {sorted(upward)} from above"


def test_the_contracts_see_real_imports() -> None:
    """A guard for the checks above: the parser does find imports where they are."""
    assert "sanitize.hw.host" in IMPORTS["sanitize.inventory.probe"]
    assert "sanitize.purge" in IMPORTS["sanitize.methods"]
    assert "sanitize.errors" in IMPORTS["sanitize.hw.blockio"]
    assert layer_of("sanitize.report.base") == 3 and layer_of("sanitize.textsafe") == len(LAYERS) - 1
    assert layer_of("sanitize.image.live") == 2 and layer_of("sanitize.image.recipe") == len(LAYERS) - 1
