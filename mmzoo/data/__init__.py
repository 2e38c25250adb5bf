"""tf.data pipelines yielding `({input_name: tensor}, label)` for mmzoo models."""

from mmzoo.data.arrays import check_arrays, from_arrays
from mmzoo.data.manifest import from_csv, from_dataframe
from mmzoo.data.report import ManifestReport, Problem
from mmzoo.data.pipeline import finalize

__all__ = ["ManifestReport", "Problem", "check_arrays", "finalize", "from_arrays", "from_csv",
           "from_dataframe"]
