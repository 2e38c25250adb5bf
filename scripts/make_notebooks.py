"""Writes the notebooks in notebooks/ (outputs stripped). Re-run after editing the cells here."""

import os

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "notebooks")


def parameters(source):
    cell = new_code_cell(source)
    cell.metadata["tags"] = ["parameters"]
    return cell


QUICKSTART = [
    new_markdown_cell("# mmzoo quickstart\n\nBuild a multimodal model, train it with `model.fit`, save it, "
                      "export a SavedModel that takes raw inputs, and load both back for predictions.\n\n"
                      "The data is the small real AV-MNIST sample shipped with mmzoo: an MNIST digit image "
                      "paired with a spoken digit (Free Spoken Digit Dataset, 8 kHz)."),
    parameters("EPOCHS = 5\nOUT = 'saved_models/quickstart'"),
    new_code_cell("import numpy as np\nimport tensorflow as tf\nimport mmzoo\n\n"
                  "splits = mmzoo.datasets.load_avmnist_sample(batch_size=64)\n"
                  "splits.inputs, splits.task"),
    new_markdown_cell("One branch per input (in-graph preprocessing + encoder), a fusion layer, a task head:"),
    new_code_cell("model = mmzoo.build_model('early_fusion', splits.inputs, splits.task)\nmodel.summary()"),
    new_code_cell("history = model.fit(splits.train, validation_data=splits.validation, epochs=EPOCHS, verbose=2)\n"
                  "test = model.evaluate(splits.test, return_dict=True, verbose=0)\ntest"),
    new_code_cell("fig = mmzoo.plots.plot_history(history)"),
    new_markdown_cell("Save the Keras model and export a SavedModel whose `serve` signature takes raw pixels and "
                      "waveforms:"),
    new_code_cell("import os\nos.makedirs(os.path.dirname(OUT) or '.', exist_ok=True)\n"
                  "model.save(f'{OUT}.keras')\nmmzoo.export(model, OUT)\n"
                  "reloaded = mmzoo.load(f'{OUT}.keras')\n"
                  "serve = tf.saved_model.load(OUT).signatures['serve']\nserve.structured_input_signature"),
    new_code_cell("x, y = mmzoo.datasets.load_avmnist_sample_arrays()['test']\n"
                  "x = {k: v[:8] for k, v in x.items()}\n"
                  "keras_probs = reloaded.predict(x, verbose=0)\n"
                  "served_probs = serve(**{k: tf.constant(v) for k, v in x.items()})['probabilities'].numpy()\n"
                  "print('true     ', y[:8])\nprint('predicted', served_probs.argmax(1))\n"
                  "print('max |keras - savedmodel| =', np.abs(keras_probs - served_probs).max())\n"
                  "assert np.abs(keras_probs - served_probs).max() < 1e-5"),
]

ZOO_TOUR = [
    new_markdown_cell("# A tour of the mmzoo zoo\n\nEvery registered architecture, built on the same inputs, "
                      "with its parameter count; then one summary in full and a few trained on a task no "
                      "single modality can solve."),
    parameters("EPOCHS = 10\nMODELS = None  # None = every architecture"),
    new_code_cell("import pandas as pd\nimport mmzoo\nfrom mmzoo.registry import MODELS as REGISTRY\n"
                  "from mmzoo.reference import build_reference\n\n"
                  "names = MODELS or mmzoo.list_models()\n"
                  "rows = []\nfor name in names:\n    meta = REGISTRY.meta(name)\n"
                  "    model = build_reference(name, image_size=32, seconds=0.5, vocabulary_size=2000, sequence_length=32)\n"
                  "    rows.append({'model': name, 'paper': meta.get('paper'), 'fuses': meta.get('fuses'),\n"
                  "                 'parameters': model.count_params()})\n"
                  "pd.DataFrame(rows).set_index('model')"),
    new_code_cell("build_reference('mult', image_size=32, seconds=0.5, vocabulary_size=2000, "
                  "sequence_length=32).summary()"),
    new_markdown_cell("The label below is the XOR of a bit carried by the image and a bit carried by the audio: "
                      "only a model that fuses the two can learn it."),
    new_code_cell("from mmzoo.data.synthetic import make_xor\n\n"
                  "x, y, inputs = make_xor(1000, ('image', 'audio'), seed=0)\n"
                  "train = {k: v[:800] for k, v in x.items()}; test = {k: v[800:] for k, v in x.items()}\n"
                  "scores = {}\nfor name in [n for n in names if n != 'clip'][:4]:\n"
                  "    model = mmzoo.build_model(name, inputs, mmzoo.Classification(2), learning_rate=3e-3)\n"
                  "    model.fit(train, y[:800], epochs=EPOCHS, batch_size=32, verbose=0)\n"
                  "    scores[name] = model.evaluate(test, y[800:], return_dict=True, verbose=0)['accuracy']\n"
                  "scores"),
]

if __name__ == "__main__":
    for name, cells in (("quickstart", QUICKSTART), ("zoo_tour", ZOO_TOUR)):
        nb = new_notebook(cells=cells, metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                                "language": "python"}})
        nbformat.write(nb, os.path.join(HERE, f"{name}.ipynb"))
        print(f"wrote notebooks/{name}.ipynb")
