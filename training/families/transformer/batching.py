"""How fine-tuning batches its items: length-grouped batches, padded per batch, the same batches on
any number of processes.

transformers' own `train_sampling_strategy="group_by_length"` groups by the *per-device* batch and
reads every row once to learn its length. LengthGroupedTrainer keeps its sampler
(transformers.trainer_pt_utils.LengthGroupedSampler) and changes two things: the group is the
*global* batch (per-device batch x gradient accumulation x processes), drawn from a generator seeded
by the run, so 1 process with batch 16 and 2 processes with batch 8 each see the same 16 items per
optimizer step (accelerate hands process k every k-th slice of the sampler's order); and the lengths
come from the tokenised set's `length` column. The evaluation set is sorted by length once and read
in order. DataCollatorWithPadding pads each batch to its longest member (to a multiple of 8 on a GPU,
for its tensor cores), so a batch of short items costs what short items cost.
"""

from __future__ import annotations

import torch
from transformers import Trainer
from transformers.trainer_pt_utils import LengthGroupedSampler


def global_batch_size(args) -> int:
    """Items per optimizer step over every process."""
    return args.per_device_train_batch_size * args.gradient_accumulation_steps * args.world_size


class LengthGroupedTrainer(Trainer):
    """A Trainer whose group_by_length sampler groups the global batch with known lengths."""

    def __init__(self, *args, train_lengths: list[int], **kwargs):
        super().__init__(*args, **kwargs)
        self.train_lengths = train_lengths

    def _get_train_sampler(self, train_dataset=None):
        if self.args.train_sampling_strategy != "group_by_length":
            return super()._get_train_sampler(train_dataset)
        seed = self.args.data_seed if self.args.data_seed is not None else self.args.seed
        return LengthGroupedSampler(
            global_batch_size(self.args),
            lengths=self.train_lengths,
            generator=torch.Generator().manual_seed(seed),
        )

    def _get_eval_sampler(self, eval_dataset):
        if self.args.train_sampling_strategy != "group_by_length":
            return super()._get_eval_sampler(eval_dataset)
        # The evaluation set arrives sorted by length: read in order (each process its share).
        return torch.utils.data.SequentialSampler(eval_dataset) if self.args.world_size <= 1 else None
