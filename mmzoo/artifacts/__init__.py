"""Artifacts that clients load: writing them (`export`), loading them safely, and the formats.

- `export`: `export` (SavedModel, TFLite, ONNX) and `load` with its pre-load inspection (`safety`).
- `savedmodel`: `serve` (raw tensors) and `serve_bytes` (PNG/JPEG and WAV bytes) signatures.
- `core`: the trained model from token ids, pixels, waveforms and features.
- `frontend`: `DFTLogMel`, the log-mel as a convolution with a fixed DFT basis.
- `tokenizer`: the tokenizer contract written beside TFLite/ONNX files and its reference `tokenize`.
- `tflite`, `onnx`: converters and interpreters; `sidecars`: the files beside them.
- `runtime`: `predict_from_artifact` for .keras, SavedModel, .tflite and .onnx.

The package is named for what it holds rather than `export`, so that `mmzoo.export` stays the function.
"""
