"""The fusion base class: modality-keyed features in, one representation out."""

import keras


class Fusion(keras.layers.Layer):
    """Base class of fusion layers.

    A fusion is called on a dict `{input_name: features}` and sees the
    modalities in sorted-name order, so the same inputs always fuse the same
    way whatever order the user listed them in.
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
        return [input_shape[key] for key in sorted(input_shape)]
