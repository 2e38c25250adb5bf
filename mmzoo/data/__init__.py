"""tf.data pipelines yielding `({input_name: tensor}, label)` for mmzoo models."""

from mmzoo.data.arrays import check_arrays, from_arrays
from mmzoo.data.manifest import from_csv, from_dataframe
from mmzoo.data.order import DataOrder, data_order, keep_order
from mmzoo.data.pipeline import finalize
from mmzoo.data.report import ManifestReport, Problem
from mmzoo.data.service import LocalService, distribute, start_local_service
from mmzoo.data.tfrecords import from_tfrecords, to_tfrecords

__all__ = [
    "DataOrder",
    "LocalService",
    "ManifestReport",
    "Problem",
    "check_arrays",
    "data_order",
    "distribute",
    "finalize",
    "from_arrays",
    "from_csv",
    "from_dataframe",
    "from_tfrecords",
    "keep_order",
    "start_local_service",
    "to_tfrecords",
]
