"""The fusion base class: modality-keyed features in, one representation out."""

import keras


class Fusion(keras.layers.Layer):
    """Base class of fusion layers.

    A fusion is called as `fusion(features, presence=None)`:

    - `features` is a dict `{input_name: tensor}`: vectors `(batch, dim)`, or
      token sequences `(batch, steps, dim)` for the attention fusions. The
      layer sees modalities in sorted-name order (`self.ordered(...)`), so the
      same inputs always fuse the same way whatever order they were listed in.
    - `presence` is an optional dict `{input_name: (batch,) float}` with 1 where
      the modality is present and 0 where it is missing. Features of a
      missing modality are already zeroed by the model; fusions that weight
      modalities (attention, gates, weighted sums) use `presence` to give a
      missing modality no weight.

    Subclasses implement `build(input_shape)` (a dict of shapes), `call` and
    `compute_output_shape`, and return exactly their constructor arguments
    from `get_config`. Numerically sensitive parts (softmax, outer products,
    normalisations) compute in float32 under mixed precision.
    """

    def ordered(self, inputs):
        """The values of `inputs` sorted by modality name."""
        if not isinstance(inputs, dict) or not inputs:
            raise ValueError(
                f"Fusion layer '{self.name}' expects a non-empty dict {{input_name: features}}; "
                f"received {type(inputs).__name__}."
            )
        return [inputs[key] for key in sorted(inputs)]

    def ordered_shapes(self, input_shape):
        return [tuple(input_shape[key]) for key in sorted(input_shape)]

    def ordered_presence(self, inputs, presence):
        """Presence as a list aligned with `ordered(inputs)`; None where not given."""
        if presence is None:
            return [None] * len(inputs)
        return [presence.get(key) for key in sorted(inputs)]
