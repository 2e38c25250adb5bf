"""`Splits`: what every `mmzoo.datasets` loader returns.

A loader reads a real dataset from local files and hands back the three
splits as `tf.data.Dataset`s of `({input_name: tensor}, label)`, together with
the input specs and the task a model for it needs, so that

    splits = load_something()
    model = mmzoo.build_model("early_fusion", splits.inputs, task=splits.task)
    model.fit(splits.train, validation_data=splits.validation)

works for any of them.
"""

from typing import Any, NamedTuple

import tensorflow as tf


class Splits(NamedTuple):
    """The splits of a dataset plus the specs and task that describe it.

    Attributes:
        train: batched `tf.data.Dataset` of `({input_name: tensor}, label)`.
        validation: the same for the validation split.
        test: the same for the test split.
        inputs: list of mmzoo specs (`mmzoo.Image`, `mmzoo.Audio`, ...), one per
            key of the feature dicts.
        task: the mmzoo task (e.g. `mmzoo.Classification`).
    """

    train: tf.data.Dataset
    validation: tf.data.Dataset
    test: tf.data.Dataset
    inputs: list
    task: Any
