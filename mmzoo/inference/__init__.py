"""The compiled predict path (`fast_predict`) and the inference-only kernels its trace switches on
(`compiled_inference`, `fused_lstm`)."""
