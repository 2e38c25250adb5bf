"""FLOPs per sample of the reference models, counted on the PyTorch ports (same layer sizes as mmzoo's).

`torch.utils.flop_counter.FlopCounterMode` counts the matrix products and
convolutions PyTorch dispatches (2 FLOPs per multiply-add). Two kinds of work
it cannot see are added analytically:

- `nn.LSTM`: the CPU kernel is one opaque op; per step and direction it does
  `x W_ih + h W_hh` (`2 * 4h * (in + h)` FLOPs) plus ~`10h` elementwise FLOPs;
- the STFT of the log-mel frontend: `2.5 N log2 N` FLOPs per real FFT of length N.

The model runs in training mode under `no_grad`, so attention goes through
the plain matmul path (the fused inference kernel hides its products). A
training step is counted as 3x the forward FLOPs (forward, and backward with
gradients for activations and weights), the usual convention.
"""

import math

import torch


def lstm_flops(lstm, steps, batch=1):
    directions = 2 if lstm.bidirectional else 1
    total, in_dim = 0, lstm.input_size
    for _ in range(lstm.num_layers):
        per_step = 2 * 4 * lstm.hidden_size * (in_dim + lstm.hidden_size) + 10 * lstm.hidden_size
        total += per_step * steps * directions * batch
        in_dim = lstm.hidden_size * directions
    return total


def torch_forward_flops(model, x):
    """`{"forward_flops": per sample, "train_flops": 3x, "parts": {...}}` for one batch `x` (batch 1)."""
    from torch.utils.flop_counter import FlopCounterMode

    batch = next(iter(x.values())).shape[0]
    extra = {"lstm": 0, "fft": 0}
    hooks = []
    for module in model.modules():
        if isinstance(module, torch.nn.LSTM):

            def hook(mod, inputs, _output):
                extra["lstm"] += lstm_flops(mod, inputs[0].shape[1], inputs[0].shape[0])

            hooks.append(module.register_forward_hook(hook))
        if type(module).__name__ == "LogMel":

            def fft_hook(mod, inputs, output):
                frames = output.shape[1]
                extra["fft"] += int(2.5 * mod.fft_length * math.log2(mod.fft_length)) * frames * inputs[0].shape[0]

            hooks.append(module.register_forward_hook(fft_hook))
    was_training = model.training
    model.train()
    try:
        with torch.no_grad(), FlopCounterMode(display=False) as counter:
            model(x)
    finally:
        model.train(was_training)
        for h in hooks:
            h.remove()
    counted = {str(op): int(n) for op, n in counter.get_flop_counts().get("Global", {}).items()}
    forward = (counter.get_total_flops() + extra["lstm"] + extra["fft"]) / batch
    return {
        "forward_flops": forward,
        "train_flops": 3 * forward,
        "parts": {**counted, "lstm (analytic)": extra["lstm"], "fft (analytic)": extra["fft"]},
    }
