"""Every notebook runs top to bottom (small settings through its `parameters` cell) and is committed clean.

Clean: no outputs, no execution counts, exactly one `parameters` cell, and the
same cells as `scripts/make_notebooks.py` writes (so editing a notebook by hand
instead of its cell list in `scripts/notebooks/` fails here).
"""

import ast
import importlib.util
import os

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from tests import paths

ROOT = str(paths.ROOT)
NOTEBOOKS = os.path.join(ROOT, "notebooks")
NAMES = sorted(f for f in os.listdir(NOTEBOOKS) if f.endswith(".ipynb"))
SMALL = {
    "quickstart.ipynb": "EPOCHS = 1\nOUT = 'saved_models/quickstart'",
    "zoo_tour.ipynb": "EPOCHS = 1\nMODELS = ['early_fusion', 'clip']",
    "own_data_csv.ipynb": "ROOT = 'my_dataset'\nTRAIN_EXAMPLES = 200\nTEST_EXAMPLES = 100\nEPOCHS = 1",
    # the portable formats run in one loop: TFLite exercises it (ONNX export: tests/artifacts/test_onnx.py)
    "deploy.ipynb": ("EPOCHS = 1\nSTEPS_PER_EPOCH = 5\nOUT = 'saved_models/deploy'\nPORTABLE_FORMATS = ['tflite']"),
    "pretrain_finetune.ipynb": (
        "UNLABELLED_PAIRS = 512\nLABELS_PER_CLASS = 4\nPRETRAIN_EPOCHS = 1\n"
        "FINETUNE_EPOCHS = 1\nAUTOENCODER_CLIPS = 64\nAUTOENCODER_EPOCHS = 1\n"
        "VOICE_LABELS = 32\nSEED = 0"
    ),
    "video.ipynb": "CLIPS = 8\nEPOCHS = 1\nOUT = 'saved_models/video'",
    "generation.ipynb": "EPOCHS = 15\nEXAMPLES = 64\nOUT = 'saved_models/captioner'",
}


def _read(name):
    return nbformat.read(os.path.join(NOTEBOOKS, name), as_version=4)


def _parameters_cell(nb, name):
    tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1, f"{name} needs exactly one cell tagged 'parameters'; it has {len(tagged)}"
    return tagged[0]


def _assigned(source):
    return {target.id for node in ast.parse(source).body if isinstance(node, ast.Assign) for target in node.targets}


def _make_notebooks():
    path = os.path.join(ROOT, "scripts", "make_notebooks.py")
    spec = importlib.util.spec_from_file_location("make_notebooks", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("name", NAMES)
def test_committed_notebook_is_stripped(name):
    nb = _read(name)
    nbformat.validate(nb)
    for number, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        where = f"{name}, cell {number}"
        fix = "regenerate it with `python scripts/make_notebooks.py` (outputs stripped)"
        assert cell.outputs == [], f"{where} has outputs; {fix}"
        assert cell.execution_count is None, f"{where} has execution_count {cell.execution_count}; {fix}"
        assert "execution" not in cell.metadata, f"{where} has execution timing metadata; {fix}"
    # the small settings set exactly the notebook's parameters: a renamed one cannot silently run at full size
    assert name in SMALL, f"add small settings for {name} to SMALL"
    small, full = _assigned(SMALL[name]), _assigned(_parameters_cell(nb, name).source)
    assert small == full, f"SMALL[{name!r}] sets {sorted(small)}; the notebook's parameters cell sets {sorted(full)}"


def test_notebooks_are_what_make_notebooks_writes():
    make_notebooks = _make_notebooks()
    assert sorted(f"{n}.ipynb" for n in make_notebooks.NAMES) == NAMES
    for name in make_notebooks.NAMES:
        built, committed = make_notebooks.build(name), _read(f"{name}.ipynb")
        assert len(built.cells) == len(committed.cells), name
        for number, (new, old) in enumerate(zip(built.cells, committed.cells)):
            assert (new.cell_type, new.source, new.metadata) == (old.cell_type, old.source, old.metadata), (
                f"notebooks/{name}.ipynb cell {number} differs from scripts/notebooks/{name}.py: "
                f"run `python scripts/make_notebooks.py`"
            )


# Run in one kernel, one after another: a kernel start and the TensorFlow import cost ~10 s per notebook.
# Each notebook still starts clean: `%reset -f` empties the namespace (a missing import fails as it would
# alone; modules already imported are only not imported again), it runs in a folder of its own, and
# Keras's session and dtype policy are reset.
_FRESH_START = """%reset -f
import os as _os
_os.makedirs({folder!r}, exist_ok=True)
_os.chdir({folder!r})
import keras as _keras
_keras.utils.clear_session()
_keras.mixed_precision.set_global_policy('float32')
del _os, _keras"""


@pytest.mark.slow
def test_every_notebook_runs(tmp_path):
    combined = nbformat.v4.new_notebook()
    owner = []
    for name in NAMES:
        nb = _read(name)
        _parameters_cell(nb, name).source = SMALL[name]
        combined.cells.append(nbformat.v4.new_code_cell(_FRESH_START.format(folder=str(tmp_path / name[:-6]))))
        combined.cells.extend(nb.cells)
        owner.extend([name] * (1 + len(nb.cells)))
    client = NotebookClient(
        combined, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    )
    try:
        client.execute()
    except CellExecutionError as error:
        failed = next(i for i, c in reversed(list(enumerate(combined.cells))) if c.get("execution_count"))
        pytest.fail(f"notebooks/{owner[failed]} failed:\n{error}")
    errors = [o for c in combined.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors
