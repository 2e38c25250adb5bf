"""Graph inspection of a SavedModel before `tf.saved_model.load` runs any of it.

`tf.saved_model.load` runs resource initializers (lookup tables, ...) and
restore functions while it loads, so a SavedModel can write or delete files
the moment it is opened, whatever metadata sits beside it. `mmzoo.load` (and
`python -m mmzoo predict`) therefore parse `saved_model.pb` with the protobuf
classes, without loading anything, and refuse a graph holding an op outside
`ALLOWED_OPS`: every node of the top-level graph and of every function in the
library (serving functions, initializers, restore functions, loop bodies),
plus every function or op named in a function-valued attribute.

The checkpoint-writing ops of the saver function TensorFlow adds to every
SavedModel (`SAVER_OPS`) are admitted in that one function only, and only
while nothing but the `saver_def`'s save node calls it (loading never runs it).
"""

import os
import re

# Every op type in the SavedModels `mmzoo.export` writes (`serve` and `serve_bytes`: image and WAV
# decoding) for every registered architecture, encoder on each modality it takes, task, spec option
# (text output modes and token ids, float images, log-mel/MFCC/waveform audio, sequence features) and
# presence inputs, and the top-k class names of classifiers with class names: collected by `scripts/savedmodel_ops.py` (TF 2.21 / Keras 3.15.1). Nothing here
# writes, deletes or lists files or runs Python: no WriteFile, SaveV2, PyFunc/EagerPyFunc, PrintV2 (it
# can print to a file), ReadFile or MatchingFiles. RestoreV2 reads the variables of a checkpoint only
# (the restore function TensorFlow traces into every SavedModel uses it). Re-run the script when
# TensorFlow, Keras or an architecture changes and add the new ops here after reading what they do.
ALLOWED_OPS = (
    frozenset(
        {
            "Abs",
            "Add",
            "AddV2",
            "All",
            "Any",
            "Assert",
            "AssignVariableOp",
            "BatchMatMulV2",
            "BiasAdd",
            "BroadcastArgs",
            "BroadcastTo",
            "Cast",
            "ConcatV2",
            "Const",
            "Conv2D",
            "Conv3D",  # the C3D video encoder's 3x3x3 convolutions: pure arithmetic on its input and weights
            "Cos",
            "Cumsum",
            "DecodeImage",
            "DecodeGif",  # serve_bytes of Video inputs: decodes the GIF bytes it is given (reads no file)
            "DecodeWav",
            "DenseBincount",
            "DepthwiseConv2dNative",
            "Einsum",
            "EnsureShape",
            "Equal",
            "Erfc",
            "Exp",
            "ExpandDims",
            "Fill",
            "Floor",  # serve_bytes of Video inputs: the indices of uniformly sampled frames
            "FloorDiv",
            "FloorMod",
            "GatherV2",
            "Greater",
            "GreaterEqual",
            "HashTableV2",
            "Identity",
            "IdentityN",
            "If",
            "Imag",
            "Less",
            "Log",
            "Log1p",
            "LogicalAnd",
            "LookupTableExportV2",
            "LookupTableFindV2",
            "LookupTableImportV2",
            "MatMul",
            "Max",
            "MaxPool",
            "Maximum",
            "Mean",
            "Minimum",
            "MirrorPad",
            "Mul",
            "MutableHashTableV2",
            "Neg",
            "NoOp",
            "NotEqual",
            "OnesLike",
            "Pack",
            "Pad",
            "PartitionedCall",
            "Placeholder",
            "Pow",
            "Prod",
            "RFFT",
            "RaggedBincount",
            "RaggedTensorToTensor",
            "Range",
            "ReadVariableOp",
            "Real",
            "RealDiv",
            "Relu",
            "Reshape",
            "ResizeBilinear",  # Video(resize=...): frames resized in the graph (pure arithmetic)
            "RestoreV2",
            "ReverseV2",
            "Round",  # serve_bytes of grey Video inputs: RGB -> grey pixels rounded to uint8
            "Rsqrt",
            "SelectV2",
            "Shape",
            "Sigmoid",
            "Sign",
            "Size",
            "Slice",
            "Softmax",
            "Split",
            "SplitV",
            "Sqrt",
            "Square",
            "SquaredDifference",
            "Squeeze",
            "StatefulPartitionedCall",
            "StaticRegexReplace",
            "StopGradient",
            "StridedSlice",
            "StringLower",
            "StringSplitV2",
            "Sub",
            "Sum",
            "Tanh",
            "TopKV2",
            "TensorListFromTensor",
            "TensorListGetItem",
            "TensorListReserve",
            "TensorListSetItem",
            "TensorListStack",
            "Tile",
            "Transpose",
            "VarHandleOp",
            "VarIsInitializedOp",
            "While",
            "ZerosLike",
            # TextGeneration exports (their one signature, `generate`): the decoding loop (ArgMax of the greedy
            # sampler, with Bitcast/BitwiseAnd: Keras's `ops.argmax` reads the sign bit to tell -0.0 from 0.0;
            # XlaDynamicUpdateSlice, how Keras's `ops.slice_update` writes each token and cache row;
            # LogicalNot/LogicalOr of the stop-token test) and detokenizing (Where keeps the words before the
            # end token, UnsortedSegmentJoin joins them; with a GPT-2 decoder, UnicodeDecode/UnicodeEncode turn
            # its printable stand-ins for bytes back into UTF-8). All compute on tensors only: none reads,
            # writes or lists files or runs Python.
            "ArgMax",
            "Bitcast",
            "BitwiseAnd",
            "LogicalNot",
            "LogicalOr",
            "UnsortedSegmentJoin",
            "Where",
            "XlaDynamicUpdateSlice",
            "UnicodeDecode",
            "UnicodeEncode",
        }
    )
    | frozenset(
        # Added deliberately for pretrained encoders (`mmzoo.encoders.keras_hub`): the ops of KerasHub's
        # in-graph tokenizers (TensorFlow Text kernels: WordPiece for BERT-like presets, byte-pair for CLIP;
        # the vocabulary is a constant or an in-memory hash table of the graph, the BPE cache an in-memory
        # MutableHashTable, hence LookupTableInsertV2), the image converter's resize and CLIP's causal mask.
        # Each maps tensors to tensors in memory: none opens, writes or lists files or runs Python.
        # Collected from the SavedModels of BERT, ViT and CLIP presets (TF 2.21, TF Text 2.21, keras-hub 0.32);
        # NormalizeUTF8 (strip_accents) and WordpieceTokenizeWithOffsets (the slower WordPiece path) are the
        # same family. Loading such a SavedModel needs `import tensorflow_text` (the kernels live there).
        {
            "ArgMax",
            "ArgMin",
            "CaseFoldUTF8",
            "FastWordpieceTokenizeWithOffsets",
            "Fingerprint",
            "GatherNd",
            "LessEqual",
            "LogicalNot",
            "LookupTableInsertV2",
            "MatrixBandPart",
            "NormalizeUTF8",
            "RaggedGather",
            "RaggedRange",
            "RegexSplitWithOffsets",
            "ResizeBilinear",
            "StringJoin",
            "StringSplit",
            "StringStrip",
            "TensorScatterUpdate",
            "UnsortedSegmentJoin",
            "UnsortedSegmentMin",
            "UnsortedSegmentSum",
            "Where",
            "WordpieceTokenizeWithOffsets",
        }
    )
    | frozenset(
        # Added deliberately for SentencePiece presets (SigLIP, DeBERTa-v3, ALBERT, T5: the model proto is an
        # attribute of SentencepieceOp, held in memory; PadV2 pads SigLIP's text to its context) and Whisper's
        # log-mel (ComplexAbs: the STFT's magnitude). Tensors to tensors in memory, as above.
        {"ComplexAbs", "PadV2", "SentencepieceOp", "SentencepieceTokenizeOp"}
    )
)

# Ops of the `__inference__traced_save_*` function that TensorFlow traces into every SavedModel for its
# `saver_def`; they write checkpoint files, so they pass only inside that function (see `_saver_function`).
SAVER_OPS = frozenset(
    {
        "SaveV2",
        "MergeV2Checkpoints",
        "ShardedFilename",
        "StringJoin",
        "StaticRegexFullMatch",
        "Select",
        "DisableCopyOnRead",
    }
)

# saved_model.pb holds the graphs and constants (weights are in variables/): mmzoo's are a few MB.
MAX_GRAPH_BYTES = 256 * 1024 * 1024
SAVED_MODEL_PB = "saved_model.pb"


def savedmodel_problems(path, label=None):
    """Every op of the SavedModel at `path` that `mmzoo.load` must not run without `trust=True`.

    Args:
        path: a SavedModel directory (holding `saved_model.pb`).
        label: how errors name the SavedModel (default `path`; `mmzoo.load`
            scans a private copy and names the folder it was given).

    Returns:
        A list of problems, one per (op, function) pair, e.g.
        `"op 'WriteFile' in function '__inference__initializer_12'"`; empty
        when every op is one mmzoo's own exports use.

    Raises:
        UnsafeArtifactError: `saved_model.pb` is missing, larger than
            `MAX_GRAPH_BYTES` or not a valid SavedModel protocol buffer.

    Example:
        >>> import os, tempfile, mmzoo
        >>> spec = mmzoo.Features("x", shape=(3,), normalize=False)
        >>> model = mmzoo.build_model("early_fusion", [spec], mmzoo.Classification(2))
        >>> savedmodel_problems(mmzoo.export(model, os.path.join(tempfile.mkdtemp(), "m")))
        []
    """
    problems = []
    for graph in _read(path, label).meta_graphs:
        problems += [f"op {op!r} in {where}" for op, where in _disallowed(graph)]
    return sorted(set(problems), key=problems.index)


def op_types(path):
    """`{op type: set of places}` of every op in the SavedModel at `path` (to re-derive `ALLOWED_OPS`)."""
    found = {}
    for graph in _read(path).meta_graphs:
        for op, where in _ops(graph):
            found.setdefault(op, set()).add(where)
    return found


def _read(path, label=None):
    from google.protobuf.message import DecodeError
    from tensorflow.core.protobuf import saved_model_pb2

    from mmzoo.artifacts.safety import UnsafeArtifactError

    pb = os.path.join(os.fspath(path), SAVED_MODEL_PB)
    path = path if label is None else label
    try:
        with open(pb, "rb") as f:
            data = f.read(MAX_GRAPH_BYTES + 1)
    except OSError as error:
        raise UnsafeArtifactError(
            f"Refusing to load '{path}': cannot read its {SAVED_MODEL_PB} ({error.strerror or error})."
        ) from None
    if len(data) > MAX_GRAPH_BYTES:
        raise UnsafeArtifactError(
            f"Refusing to load '{path}': its {SAVED_MODEL_PB} is over {MAX_GRAPH_BYTES / 2**20:g} MiB "
            f"(mmzoo's exports keep weights in variables/ and their graphs are a few MB). If you "
            f"trust its source, load it with mmzoo.load(path, trust=True)."
        )
    saved_model = saved_model_pb2.SavedModel()
    try:
        saved_model.ParseFromString(data)
    except (DecodeError, RecursionError) as error:
        raise UnsafeArtifactError(
            f"Refusing to load '{path}': its {SAVED_MODEL_PB} is not a valid "
            f"SavedModel ({type(error).__name__}: {error})."
        ) from None
    return saved_model


def _disallowed(graph):
    """`(op, where)` pairs of `graph` (a MetaGraphDef) outside the allowlist."""
    saver = _saver_function(graph)
    for op, where in _ops(graph):
        if op in ALLOWED_OPS or (op in SAVER_OPS and where == f"function {saver!r}"):
            continue
        yield op, where


def _ops(graph):
    """`(op type, where)` for every node of `graph` and every op or function its attributes name.

    A node whose op is a library function is a call of that function (scanned
    on its own); a function attribute naming something outside the library
    names a primitive op, which TensorFlow would run as a one-op function.
    """
    library = graph.graph_def.library
    functions = {f.signature.name for f in library.function}
    bodies = [("the top-level graph", graph.graph_def.node)]
    bodies += [(f"function {f.signature.name!r}", f.node_def) for f in library.function]
    for where, nodes in bodies:
        for node in nodes:
            if node.op not in functions:
                yield node.op, where
            for name in _called(node.attr):
                if name not in functions:
                    yield name, where


def _called(attrs):
    """Names in the function-valued attributes of `attrs` (nested ones included)."""
    stack = list(attrs.values())
    while stack:
        value = stack.pop()
        kind = value.WhichOneof("value")
        if kind == "func":
            yield value.func.name
            stack += list(value.func.attr.values())
        elif kind == "list":
            for func in value.list.func:
                yield func.name
                stack += list(func.attr.values())


def _saver_function(graph):
    """The function the `saver_def`'s save node calls, if nothing else can run it; else None.

    TensorFlow's loaders never run the save node. Its function is admitted with
    `SAVER_OPS` only when it calls no function itself, no other node or
    attribute and no object-graph entry names it, and no input, signature,
    collection or restore op names the save node.
    """
    node_name = graph.saver_def.save_tensor_name.split(":")[0]
    save = next((node for node in graph.graph_def.node if node.name == node_name), None)
    if save is None or save.op not in ("StatefulPartitionedCall", "PartitionedCall"):
        return None
    name = save.attr["f"].func.name
    library = {f.signature.name: f for f in graph.graph_def.library.function}
    if name not in library or any(node.op in library or any(_called(node.attr)) for node in library[name].node_def):
        return None
    others = [node for node in graph.graph_def.node if node is not save]
    others += [node for f in library.values() for node in f.node_def]
    if any(node.op == name or name in _called(node.attr) for node in others):
        return None
    if name in _object_graph_functions(graph.object_graph_def):
        return None
    mention = re.compile(rf"(?<![\w./-]){re.escape(node_name)}(?![\w./-])")
    texts = [inp.lstrip("^") for node in others for inp in node.input]
    texts += [str(graph.signature_def), str(graph.collection_def), graph.saver_def.restore_op_name]
    if any(mention.search(text) for text in texts):
        return None
    return name


def _object_graph_functions(object_graph):
    """Function names the object graph refers to (those `tf.saved_model.load` may call)."""
    names = set(object_graph.concrete_functions)
    for node in object_graph.nodes:
        names.update(node.function.concrete_functions)
        names.add(node.bare_concrete_function.concrete_function_name)
    return names
