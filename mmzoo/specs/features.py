"""Features input: pre-extracted vectors or sequences, normalized in the graph."""

import dataclasses

import keras
import numpy as np

from mmzoo.registry import register_spec
from mmzoo.specs.base import Spec


@dataclasses.dataclass
@register_spec("features")
class Features(Spec):
    """Pre-extracted float features: a vector `(dim,)` or a sequence `(steps, dim)`.

    A `keras.layers.Normalization` inside the model standardizes each feature
    with statistics adapted from training data (`spec.adapt(array)` or
    `mmzoo.specs.adapt`); set `normalize=False` to feed features as they are.

    Args:
        name: input name.
        shape: `(dim,)` or `(steps, dim)`.
        normalize: standardize features in the graph.

    Example:
        >>> import numpy as np
        >>> spec = Features("acoustic", shape=(5,))
        >>> spec.adapt(np.random.rand(100, 5).astype("float32"))
        >>> spec.adapted
        True
    """

    shape: tuple = (50,)
    normalize: bool = True

    modality = "features"
    default_encoder = "mlp"

    def __post_init__(self):
        super().__post_init__()
        self.shape = tuple(int(d) for d in self.shape)
        if len(self.shape) not in (1, 2):
            raise ValueError(
                f"Features input '{self.name}' expects shape=(dim,) or (steps, dim); received shape={self.shape}."
            )
        self._normalizer = None
        if self.normalize:
            self._normalizer = keras.layers.Normalization(axis=-1, name=f"{self.name}_normalize")

    @property
    def dtype(self):
        return "float32"

    @property
    def needs_adapt(self):
        return self.normalize

    @property
    def adapted(self):
        return not self.normalize or self._normalizer.built

    def adapt(self, data):
        """Learns per-feature mean and variance from `data` (array or tf.data of arrays)."""
        if not self.normalize:
            return
        if isinstance(data, np.ndarray) and data.shape[0] == 0:
            raise ValueError(f"Features input '{self.name}': cannot adapt on an empty dataset.")
        self._normalizer.adapt(data)

    def check_ready(self):
        if not self.adapted:
            raise ValueError(
                f"Features input '{self.name}' normalizes in the graph but has no statistics. "
                f"Adapt it on training data first (`mmzoo.adapt(inputs, train_ds)` or "
                f"`spec.adapt(array)`), or pass `normalize=False`."
            )

    def preprocess(self, x):
        if not self.normalize:
            return x
        self.check_ready()
        return self._normalizer(x)
