"""Exporters behind `mmzoo.export`: SavedModel signatures, the model core, TFLite, ONNX, runtimes.

- `savedmodel`: `serve` (raw tensors) and `serve_bytes` (PNG/JPEG and WAV bytes) signatures.
- `core`: the trained model from token ids, pixels, waveforms and features.
- `frontend`: `DFTLogMel`, the log-mel as a convolution with a fixed DFT basis.
- `tokenizer`: the tokenizer contract written beside TFLite/ONNX files and its reference `tokenize`.
- `tflite`, `onnx`: converters and interpreters; `artifacts`: the files beside them.
- `runtime`: `predict_from_artifact` for .keras, SavedModel, .tflite and .onnx.
"""
