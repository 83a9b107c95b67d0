"""Console output of a transformers Trainer: one tqdm bar with an ETA per training, and its logs as
numbers. The Trainer's own printer (used with `disable_tqdm=True`) prints every log as a dict of
strings ({'loss': '0.6931'}); its own bar would add an evaluation bar per epoch."""

from __future__ import annotations

import math
import sys

from tqdm.auto import tqdm
from transformers import PrinterCallback, ProgressCallback, TrainerCallback

# Per-step bookkeeping the Trainer logs that says nothing about the model.
_SKIPPED = {
    "total_flos",
    "train_runtime",
    "train_samples_per_second",
    "train_steps_per_second",
    "eval_runtime",
    "eval_samples_per_second",
    "eval_steps_per_second",
    "eval_model_preparation_time",
}


def format_log(logs: dict) -> str:
    """`loss 0.6931  grad_norm 4.485  learning_rate 4e-04  epoch 1.67`: numbers, never quoted."""
    parts = []
    for key, value in logs.items():
        if key in _SKIPPED or isinstance(value, str) or not isinstance(value, (int, float)):
            continue
        if isinstance(value, float) and math.isfinite(value) and value != 0 and abs(value) < 1e-3:
            parts.append(f"{key} {value:.1e}")
        elif isinstance(value, float):
            parts.append(f"{key} {value:.4g}")
        else:
            parts.append(f"{key} {value}")
    return "  ".join(parts)


class TrainerProgress(TrainerCallback):
    """A bar over the optimizer steps (`desc`, with elapsed time, ETA and rate); each evaluation and the
    final summary as a line of numbers above it; the latest loss on the bar itself."""

    def __init__(self, desc: str, file=None):
        self.desc = desc
        self.file = file or sys.stderr
        self.bar = None

    def on_train_begin(self, args, state, control, **kwargs):
        if state.is_world_process_zero:
            # leave=False: inside the cross-validation bar, each fold's bar goes when the fold ends.
            self.bar = tqdm(
                total=state.max_steps, desc=self.desc, unit="step", leave=False, file=self.file, dynamic_ncols=True
            )

    def on_step_end(self, args, state, control, **kwargs):
        if self.bar is not None:
            self.bar.update(state.global_step - self.bar.n)

    def on_log(self, args, state, control, logs=None, **kwargs):
        if not state.is_world_process_zero or not logs:
            return
        if "loss" in logs and self.bar is not None:  # a training step: keep it on the bar
            self.bar.set_postfix(loss=f"{logs['loss']:.4f}", refresh=False)
            return
        line = format_log(logs)
        if line:
            tqdm.write(f"{self.desc}: {line}", file=self.file)

    def on_train_end(self, args, state, control, **kwargs):
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def use_progress(trainer, desc: str) -> None:
    """Replace the Trainer's printer and bar with TrainerProgress."""
    trainer.remove_callback(PrinterCallback)
    trainer.remove_callback(ProgressCallback)
    trainer.add_callback(TrainerProgress(desc))
