"""ONNX export of the model core (float32 policy) through tf2onnx, checked with onnxruntime."""

import os

import numpy as np
import tensorflow as tf

from mmzoo.artifacts.core import build_core, conversion_error, float32_core


def _require(module):
    try:
        return __import__(module)
    except ImportError as error:
        raise ImportError(
            f"ONNX export needs '{module}': pip install 'mmzoo[export]' (tf2onnx, onnx, onnxruntime)."
        ) from error


def _register_erfc():
    """Teaches tf2onnx TensorFlow's `Erfc` as `1 - Erf` (ONNX has Erf, not Erfc), once.

    TensorFlow's exact GELU (`approximate=False`: BERT-style, ViT and RoBERTa
    feed-forward blocks) is `0.5 x erfc(-x / sqrt(2))`; without a handler
    tf2onnx refuses every model holding it. In float32, `1 - erf(x)` loses the
    relative precision of erfc's far tail but keeps its absolute error at
    float32 rounding, which is what GELU's product with `x` needs.
    """
    from tf2onnx import utils
    from tf2onnx.handler import tf_op

    if getattr(_register_erfc, "done", False):
        return

    class Erfc:
        @classmethod
        def version_9(cls, ctx, node, **kwargs):
            dtype = utils.map_onnx_to_numpy_type(ctx.get_dtype(node.input[0]))
            one = ctx.make_const(utils.make_name(f"{node.name}_one"), np.array(1, dtype))
            node.type = "Erf"
            ctx.insert_new_node_on_output(
                "Sub", node.output[0], inputs=[one.output[0], node.output[0]], name=utils.make_name(node.name)
            )

    tf_op("Erfc")(Erfc)
    _register_erfc.done = True


def convert(core, output_name, opset=17, path=None):
    """Converts a `Core` to an ONNX `ModelProto` (inputs named after the model inputs, output `output_name`).

    Uses tf2onnx's freezing and conversion directly rather than
    `tf2onnx.convert.from_function`, which turns constants the graph captures
    (a `Normalization` layer's adapted mean and variance) into extra graph
    inputs.
    """
    _require("tf2onnx")
    _register_erfc()
    from tf2onnx import tf_loader
    from tf2onnx.convert import _convert_common, tensor_names_from_structed

    signature = [
        tf.TensorSpec((None,) + tuple(t.shape[1:]), t.dtype, name=t.name.split(":")[0]) for t in core.model.inputs
    ]
    names = [s.name for s in signature]
    function = tf.function(
        lambda *args: {output_name: core.model(dict(zip(names, args)), training=False)}, input_signature=signature
    )
    try:
        concrete = function.get_concrete_function()
        input_names = [t.name for t in concrete.inputs[: len(signature)]]
        output_names = [t.name for t in concrete.outputs]
        with tf.device("/cpu:0"):
            frozen = tf_loader.from_function(concrete, input_names, output_names)
            proto, _ = _convert_common(
                frozen,
                name=core.model.name,
                continue_on_error=False,
                opset=opset,
                input_names=input_names,
                output_names=output_names,
                tensors_to_rename=tensor_names_from_structed(concrete, input_names, output_names),
                output_path=path,
            )
    except Exception as error:  # tf2onnx raises ValueError/RuntimeError with op names
        raise conversion_error(core.model, "onnx", error) from error
    return proto


def export_onnx(model, path, output_name, opset=17):
    """Writes the float32 model core as an `.onnx` file; returns `(core, extra metadata)`."""
    core = float32_core(build_core(model, "onnx"))
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    convert(core, output_name, opset=opset, path=os.fspath(path))
    return core, {"opset": opset, "dtype_policy": "float32"}


def run(path, inputs):
    """Runs an `.onnx` file with onnxruntime on `{name: array}`; returns `{output_name: array}`."""
    onnxruntime = _require("onnxruntime")
    session = onnxruntime.InferenceSession(os.fspath(path), providers=["CPUExecutionProvider"])
    types = {
        "tensor(float)": "float32",
        "tensor(int32)": "int32",
        "tensor(int64)": "int64",
        "tensor(uint8)": "uint8",
        "tensor(bool)": "bool",
        "tensor(double)": "float64",
    }
    feed = {
        i.name: np.asarray(inputs[i.name]).astype(types.get(i.type, "float32"))
        for i in session.get_inputs()
        if i.name in inputs
    }
    missing = [i.name for i in session.get_inputs() if i.name not in inputs]
    if missing:
        raise ValueError(f"ONNX model '{path}' is missing input(s) {missing}; received keys {sorted(inputs)}.")
    outputs = session.run(None, feed)
    return {o.name: value for o, value in zip(session.get_outputs(), outputs)}
