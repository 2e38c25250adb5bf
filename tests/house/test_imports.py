"""The house rules on imports: no side effects, no upward imports, no cycles, a light `--help`."""

import ast
import json
import subprocess
import sys

import pytest

from tests import paths

PACKAGE = paths.ROOT / "mmzoo"


def _modules():
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        yield name, path


MODULES = dict(_modules())


def _imports(name, path, top_level_only):
    """Modules of mmzoo that `name` imports (submodules resolved), with the line of each import."""
    tree = ast.parse(path.read_text())
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    is_package = path.name == "__init__.py"
    for node in nodes:
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "mmzoo":
                    yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom) and node.module:
            module = node.module
            if node.level:  # relative import
                base = name.split(".") if is_package else name.split(".")[:-1]
                module = ".".join(base[: len(base) - node.level + 1] + [node.module])
            if module.split(".")[0] != "mmzoo":
                continue
            for alias in node.names:
                sub = f"{module}.{alias.name}"
                yield (sub if sub in MODULES else module), node.lineno


def test_nothing_inside_the_package_imports_its_root():
    found = [
        f"{path.relative_to(PACKAGE.parent)}:{line}"
        for name, path in MODULES.items()
        if name != "mmzoo"
        for module, line in _imports(name, path, top_level_only=False)
        if module == "mmzoo"
    ]
    assert not found, f"modules importing the package root: {found}"


def test_no_import_cycles_between_modules():
    graph = {
        name: {m for m, _ in _imports(name, path, top_level_only=True) if m in MODULES and m != name}
        for name, path in MODULES.items()
    }
    state, cycles = {}, []

    def visit(node, stack):
        state[node] = "open"
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == "open":
                cycles.append(stack[stack.index(nxt) :] + [nxt])
            elif nxt not in state:
                visit(nxt, stack)
        stack.pop()
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            visit(node, [])
    assert not cycles, "import cycles:\n" + "\n".join(" -> ".join(c) for c in cycles)


def test_top_of_the_package_holds_only_the_core():
    loose = sorted(p.name for p in PACKAGE.glob("*.py"))
    assert loose == ["__init__.py", "__main__.py", "registry.py", "testing.py"]


def _python(code):
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_training_does_not_import_export():
    """Writing a run's artifacts belongs to the experiment runner: training alone loads no exporter or plots."""
    out = _python(
        "import json, sys\n"
        "sys.argv[:1] = ['-m']\n"  # the package root then loads nothing eagerly, as for `python -m mmzoo`
        "import mmzoo.training, mmzoo.training.trainer, mmzoo.training.callbacks\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith(('mmzoo.artifacts', 'mmzoo.plots',\n"
        "                                                                'mmzoo.experiments')))))\n"
    )
    assert out == []


def test_import_mmzoo_changes_no_global_setting():
    """Environment, matplotlib backend, Keras config and dtype policy are as TensorFlow and Keras left them."""
    out = _python(
        "import json, os, sys\n"
        "import tensorflow, keras, matplotlib\n"
        "def state():\n"
        "    return {'env': dict(os.environ), 'backend': matplotlib.rcParams._get_backend_or_none(),\n"
        "            'keras': [keras.config.floatx(), keras.config.image_data_format(), keras.config.epsilon(),\n"
        "                      keras.config.dtype_policy().name, keras.config.backend()],\n"
        "            'pyplot': 'matplotlib.pyplot' in sys.modules}\n"
        "before = state()\n"
        "import mmzoo\n"
        "mmzoo.build_model('early_fusion', [mmzoo.Features('x', shape=(2,), normalize=False)],\n"
        "                  mmzoo.Classification(2))\n"
        "fig = mmzoo.plots.plot_history({'loss': [1.0, 0.5]})\n"
        "after = state()\n"
        "print(json.dumps({'before': before, 'after': after, 'figure': type(fig).__name__,\n"
        "                  'keras_hub': 'keras_hub' in sys.modules}))\n"
    )
    assert out["after"] == out["before"]
    assert out["keras_hub"] is False  # an optional extra, imported by the keras_hub encoder only
    assert out["figure"] == "Figure"


def test_help_answers_without_importing_tensorflow():
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "mmzoo", "--help"], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0 and "train" in result.stdout
    imported = {line.split("|")[-1].strip() for line in result.stderr.splitlines() if "|" in line}
    assert "tensorflow" not in imported and "keras" not in imported and "numpy" not in imported


@pytest.mark.parametrize("name", ["export", "load", "train", "evaluate", "adapt", "tune"])
def test_public_functions_are_not_shadowed_by_modules(name):
    import mmzoo

    assert callable(getattr(mmzoo, name)) and not isinstance(getattr(mmzoo, name), type(sys))
