"""The layout is the data flow: every import of the package points to its own layer or one below, never up,
and no two packages import each other (docs/development.md draws the layers)."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# corpus -> tokens and audio -> search -> CTC posteriors and acoustic scores -> extraction and training ->
# evaluation and review -> the commands
LAYERS = [
    {"text", "corpus", "audio", "durations", "processes", "tokens", "words", "mels", "matcha_fork"},
    {"search"},
    {"ctc", "acoustic", "asrcnn"},
    {"extract", "training", "train"},
    {"evaluate", "review", "demo"},
    {"cli", "matcha"},
]
LAYER = {unit: level for level, units in enumerate(LAYERS) for unit in units}


def unit_of(module: str) -> str:
    """The package or top-level module of ``aligner`` a module belongs to ("matcha" for the Matcha files)."""
    parts = module.split(".")
    return "matcha" if parts[0] == "matcha" else parts[1]


def imports(path: Path, module: str) -> set[str]:
    """The aligner modules ``path`` (module ``module``) imports."""
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1]) if node.level else ""
            found.add(".".join(part for part in (base, node.module or "") if part))
    return {name for name in found if name.startswith("aligner.")}


def unit_imports() -> set[tuple[str, str]]:
    edges = set()
    for path in [*(ROOT / "aligner").rglob("*.py"), *(ROOT / "matcha").rglob("*.py")]:
        module = ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        if module == "aligner":
            continue
        edges |= {(unit_of(module), unit_of(target)) for target in imports(path, module)}
    return {(a, b) for a, b in edges if a != b}


def test_every_package_has_a_layer():
    units = {
        path.stem for path in (ROOT / "aligner").iterdir() if path.suffix == ".py" or (path / "__init__.py").exists()
    }
    assert units - {"__init__"} <= set(LAYER), "a new package needs its place in LAYERS"


def test_no_import_climbs_to_a_higher_layer():
    upward = sorted((a, b) for a, b in unit_imports() if LAYER[b] > LAYER[a])
    assert upward == []


def test_no_two_packages_import_each_other():
    edges = unit_imports()
    graph: dict[str, set[str]] = {}
    for a, b in edges:
        graph.setdefault(a, set()).add(b)
    state: dict[str, int] = {}

    def visit(unit: str, trail: list[str]) -> None:
        state[unit] = 1
        for target in sorted(graph.get(unit, ())):
            if state.get(target) == 1:
                pytest.fail(f"import cycle: {' -> '.join([*trail, unit, target])}")
            if not state.get(target):
                visit(target, [*trail, unit])
        state[unit] = 2

    for unit in sorted(graph):
        if not state.get(unit):
            visit(unit, [])
