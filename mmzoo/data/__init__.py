"""tf.data pipelines yielding `({input_name: tensor}, label)` for mmzoo models."""

from mmzoo.data.arrays import check_arrays, from_arrays
from mmzoo.data.pipeline import finalize

__all__ = ["check_arrays", "finalize", "from_arrays"]
