"""Int8 ONNX export of a fine-tuned classifier for fast CPU scoring."""

from __future__ import annotations

import tempfile
from pathlib import Path


def export_int8(model, tokenizer, out_file: Path) -> None:
    """Export with dynamic batch and sequence axes, then quantise weights to int8 (dynamic
    quantisation: activations are quantised on the fly, so no calibration data is needed)."""
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic

    out_file.parent.mkdir(parents=True, exist_ok=True)
    class LogitsOnly(torch.nn.Module):  # export sees (input_ids, attention_mask) -> logits
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, input_ids, attention_mask):
            return self.inner(input_ids=input_ids, attention_mask=attention_mask).logits

    model = model.eval().to("cpu")
    sample = tokenizer(["treatment example"], return_tensors="pt")
    inputs = (sample["input_ids"], sample["attention_mask"])
    with tempfile.TemporaryDirectory() as tmp:
        fp32 = Path(tmp) / "model.onnx"
        with torch.inference_mode():
            torch.onnx.export(
                LogitsOnly(model), inputs, str(fp32), dynamo=False, opset_version=17,
                input_names=["input_ids", "attention_mask"], output_names=["logits"],
                dynamic_axes={"input_ids": {0: "batch", 1: "sequence"}, "attention_mask": {0: "batch", 1: "sequence"},
                              "logits": {0: "batch"}},
            )
        # Per-channel weight scales, 7-bit range: per-tensor scales put the int8 model up to 0.03
        # away from PyTorch's probabilities on the bundled letters, these within 0.011 at the same
        # speed. reduce_range avoids the u8 x s8 overflow of AVX2 CPUs without VNNI.
        quantize_dynamic(str(fp32), str(out_file), weight_type=QuantType.QInt8, per_channel=True, reduce_range=True)
