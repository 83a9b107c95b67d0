"""Int8 ONNX export of a fine-tuned classifier for fast CPU scoring."""

from __future__ import annotations

import logging
import tempfile
import warnings
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def _known_export_warnings():
    """The TorchScript exporter warns about what this model does not do: tracing turns a few shape
    checks of transformers' attention-mask code into constants (they hold for any batch and length,
    both exported as dynamic axes), advanced indexing with negative indices (the model uses none),
    and its own deprecation (dynamo=False is deliberate: the new exporter does not yet quantise
    this graph the same way). Every other warning still shows; the scores are checked against
    PyTorch after export (training.families.transformer.onnx_check)."""
    import torch

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=torch.jit.TracerWarning)
        warnings.filterwarnings("ignore", message=r"Exporting aten::index operator of advanced indexing")
        warnings.filterwarnings(
            "ignore", message=r"You are using the legacy TorchScript-based ONNX export", category=DeprecationWarning
        )
        warnings.filterwarnings("ignore", message=r"The feature will be removed", category=DeprecationWarning)
        yield


class _PreprocessingHint(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith("Please consider to run pre-processing before quantization")


@contextmanager
def _without_preprocessing_hint():
    """onnxruntime suggests its optional graph pre-processing (shape inference, fusions) on every
    quantisation, on the root logger; the int8 model's agreement with PyTorch is measured instead
    (training.families.transformer.onnx_check). Other onnxruntime messages still show."""
    root = logging.getLogger()
    hint = _PreprocessingHint()
    root.addFilter(hint)
    try:
        yield
    finally:
        root.removeFilter(hint)


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
        with torch.inference_mode(), _known_export_warnings():
            torch.onnx.export(
                LogitsOnly(model),
                inputs,
                str(fp32),
                dynamo=False,
                opset_version=17,
                input_names=["input_ids", "attention_mask"],
                output_names=["logits"],
                dynamic_axes={
                    "input_ids": {0: "batch", 1: "sequence"},
                    "attention_mask": {0: "batch", 1: "sequence"},
                    "logits": {0: "batch"},
                },
            )
        # Per-channel weight scales, 7-bit range: per-tensor scales put the int8 model up to 0.03
        # away from PyTorch's probabilities on the bundled letters, these within 0.011 at the same
        # speed. reduce_range avoids the u8 x s8 overflow of AVX2 CPUs without VNNI.
        with _without_preprocessing_hint():
            quantize_dynamic(str(fp32), str(out_file), weight_type=QuantType.QInt8, per_channel=True, reduce_range=True)
