"""`task.kind: text_generation` in a config: the class names (or a text input) become the target strings."""

import numpy as np
import pytest

from mmzoo.datasets.avmnist_sample import CLASS_NAMES
from mmzoo.experiments.config import apply_overrides, load_config
from mmzoo.experiments.runner import build_model_from_config, load_data
from mmzoo.experiments.typecheck import ConfigError
from tests import paths

CONFIG = str(paths.ROOT / "configs" / "spoken_digit_words.yaml")


def test_spoken_digit_words_config_builds_a_captioner_of_class_names():
    config = apply_overrides(load_config(CONFIG), ["dataset.limit_batches=1", "training.batch_size=8"])
    splits = load_data(config)
    assert splits.task.kind == "text_generation" and splits.task.target == "label"
    features, words = next(iter(splits.train))
    assert sorted(features) == ["voice"] and words.dtype.name == "string"
    assert {w.decode() for w in words.numpy()} <= set(CLASS_NAMES)  # the labels' class names
    assert splits.task.vocabulary and set(splits.task.vocabulary) <= set(CLASS_NAMES)  # adapted on them
    model = build_model_from_config(config, splits)
    assert sorted(model.input) == ["label", "voice"]
    assert np.isfinite(model.evaluate(splits.train, verbose=0)[0])


@pytest.mark.parametrize(
    "overrides, message",
    [
        (["task.target=null"], "task.target: kind text_generation needs a target"),
        (["task.target=digit"], "task.target: input 'digit' is image, not text"),
        (["task.target=caption"], "task.target: unknown input 'caption'"),
        (["task.options.max_length=0"], "task.options: TextGeneration max_length must be a positive integer"),
    ],
)
def test_generation_config_errors_name_the_key(overrides, message):
    config = apply_overrides(load_config(CONFIG), ["dataset.limit_batches=1", *overrides])
    with pytest.raises(ConfigError, match=message):
        load_data(config)
