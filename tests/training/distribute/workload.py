"""A tiny deterministic workload shared by the distribution tests and their worker processes.

Everything is built on call, never at import: a multi-worker process must
create its strategy before TensorFlow runs anything.
"""

import keras
import numpy as np

import mmzoo
from mmzoo.data import from_arrays

N, BATCH, SEED = 64, 16, 3


def arrays():
    rng = np.random.default_rng(0)
    x = {"a": rng.standard_normal((N, 4)).astype("float32"), "b": rng.standard_normal((N, 3)).astype("float32")}
    y = ((x["a"][:, 0] > 0) ^ (x["b"][:, 0] > 0)).astype("int64")
    return x, y


def data():
    """`(train, validation, inputs)`: 64 shuffled (seeded, epoch-seeded) examples in global batches of 16."""
    x, y = arrays()
    inputs = [mmzoo.Features("a", shape=(4,)), mmzoo.Features("b", shape=(3,), normalize=False)]
    inputs[0].adapt(x["a"])
    train = from_arrays(x, y, inputs=inputs, batch_size=BATCH, shuffle=True, seed=SEED)
    validation = from_arrays({k: v[:32] for k, v in x.items()}, y[:32], inputs=inputs, batch_size=BATCH)
    return train, validation, inputs


def ids():
    """The example indices in the same global batches and order as `data()`'s train split."""
    return from_arrays({"id": np.arange(N)}, np.zeros(N), batch_size=BATCH, shuffle=True, seed=SEED)


def build(inputs):
    """An early-fusion model without dropout (dropout masks differ per replica), from seed 0."""
    keras.utils.set_random_seed(0)
    encoders = {"a": ("mlp", {"units": (8,), "dropout": 0.0}), "b": ("mlp", {"units": (8,), "dropout": 0.0})}
    return mmzoo.build_model(
        "early_fusion", inputs, mmzoo.Classification(2), encoders=encoders, dropout=0.0, learning_rate=1e-2
    )


def weights(model):
    return [keras.ops.convert_to_numpy(w) for w in model.weights]
