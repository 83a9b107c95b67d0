"""How fine-tuning batches, weighs and places its work (training/families/transformer/batching.py and
fine_tune.py): length-grouped batches padded per batch, the same optimizer steps for any number of
processes, a loss that does not depend on how a step is split, and the device settings (mixed
precision, DataLoader workers, pinned memory) a CPU and a GPU get."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import torch
from conftest_transformer import tf_config

from training.config import ConfigError
from training.data.splits import Split
from training.families.transformer.batching import LengthGroupedTrainer, global_batch_size
from training.families.transformer.fine_tune import mixed_precision, training_arguments, weighted_loss

LENGTHS = [int(n) for n in np.random.default_rng(0).integers(5, 200, size=2001)]


def sampler_order(per_device: int, processes: int, accumulation: int = 1, seed: int = 0) -> list[int]:
    """LengthGroupedTrainer's training order for a run of `processes` processes (what each builds)."""
    args = SimpleNamespace(
        train_sampling_strategy="group_by_length",
        per_device_train_batch_size=per_device,
        gradient_accumulation_steps=accumulation,
        world_size=processes,
        data_seed=seed,
        seed=seed,
    )
    trainer = SimpleNamespace(args=args, train_lengths=LENGTHS)
    return list(LengthGroupedTrainer._get_train_sampler(trainer))


def steps(order: list[int], per_device: int, processes: int) -> list[set[int]]:
    """The items of each optimizer step when accelerate shards `order` over the processes (process k
    takes every k-th batch of per_device items; the last, incomplete round is dropped)."""
    from accelerate.data_loader import BatchSamplerShard

    batches = torch.utils.data.BatchSampler(order, per_device, drop_last=True)
    shards = [list(BatchSamplerShard(batches, processes, k, even_batches=True)) for k in range(processes)]
    return [set().union(*round_) for round_ in zip(*shards)]


def test_one_and_two_processes_take_the_same_items_in_each_step():
    one = steps(sampler_order(per_device=8, processes=1), 8, 1)
    two = steps(sampler_order(per_device=4, processes=2), 4, 2)
    assert len(one) == len(LENGTHS) // 8 and one == two
    # transformers' own group_by_length groups the per-device batch, so its steps differ
    from transformers.trainer_pt_utils import LengthGroupedSampler

    stock = list(LengthGroupedSampler(4, lengths=LENGTHS, generator=torch.Generator().manual_seed(0)))
    assert steps(stock, 4, 2) != one


def test_each_epoch_draws_a_new_grouping_and_a_rerun_the_same():
    args = SimpleNamespace(
        train_sampling_strategy="group_by_length",
        per_device_train_batch_size=8,
        gradient_accumulation_steps=1,
        world_size=1,
        data_seed=0,
        seed=0,
    )
    sampler = LengthGroupedTrainer._get_train_sampler(SimpleNamespace(args=args, train_lengths=LENGTHS))
    first, second = list(sampler), list(sampler)
    assert sorted(first) == list(range(len(LENGTHS))) and first != second
    assert first == sampler_order(8, 1)


def test_global_batch_counts_processes_and_accumulation():
    args = SimpleNamespace(per_device_train_batch_size=8, gradient_accumulation_steps=2, world_size=4)
    assert global_batch_size(args) == 64


def padded(batches: list[list[int]]) -> int:
    return sum(len(b) * max(LENGTHS[i] for i in b) for b in batches)


def test_grouped_batches_pad_far_less_than_random_ones():
    order = sampler_order(per_device=16, processes=1)
    grouped = [order[i : i + 16] for i in range(0, len(order), 16)]
    shuffled = np.random.default_rng(1).permutation(len(LENGTHS)).tolist()
    random = [shuffled[i : i + 16] for i in range(0, len(shuffled), 16)]
    real = sum(LENGTHS)
    assert padded(grouped) < 1.1 * real < 1.3 * real < padded(random)


@pytest.fixture(scope="module")
def varied_split(tf_splits) -> Split:
    """The train split with its texts cut to between 3 and 200 words, so token lengths vary."""
    split = Split.of(tf_splits["train"], "pre_decision")
    rng = np.random.default_rng(0)
    texts = [" ".join(t.split()[: int(rng.integers(3, 200))]) for t in split.frame["text"]]
    return Split(split.rows, split.frame.assign(text=texts), split.y)


def test_trainer_batches_are_grouped_and_padded_to_their_own_longest(
    tmp_path, tf_env, tf_letters, tiny_base, varied_split, monkeypatch
):
    from transformers import AutoTokenizer
    from transformers.trainer_pt_utils import LengthGroupedSampler

    from training.families.transformer.fine_tune import build_trainer, new_classifier

    samplers = []
    ours = LengthGroupedTrainer._get_train_sampler
    monkeypatch.setattr(
        LengthGroupedTrainer, "_get_train_sampler", lambda *a: samplers.append(ours(*a)) or samplers[-1]
    )
    cfg = tf_config(tf_letters, tiny_base, max_length=128, batch_size=4)
    tokenizer = AutoTokenizer.from_pretrained(tiny_base.path, local_files_only=True)
    trainer = build_trainer(cfg, new_classifier(cfg, tiny_base.path), tokenizer, varied_split, None, tmp_path)
    widths, real = [], []
    for batch in trainer.get_train_dataloader():
        mask = batch["attention_mask"]
        widths.append(mask.shape[1])
        real.append(mask.sum(1).tolist())
        assert mask.sum(1).max() == mask.shape[1]  # padded to its own longest item, not to max_length
    assert sum(len(r) for r in real) == len(varied_split)
    # the Trainer asked our override for its sampler (a transformers that renamed the hook would not)
    assert len(samplers) == 1 and isinstance(samplers[0], LengthGroupedSampler) and samplers[0].batch_size == 4
    # closer lengths within a batch than in random batches of the same items (46 items make groups of
    # only 8, 2 batches: test_grouped_batches_pad_far_less_than_random_ones shows it at scale)
    spread = np.mean([max(r) - min(r) for r in real])
    lengths = np.concatenate(real)
    shuffled = np.random.default_rng(0).permutation(lengths)
    random_spread = np.mean([np.ptp(shuffled[i : i + 4]) for i in range(0, len(shuffled), 4)])
    assert spread < 0.75 * random_spread


def test_loss_does_not_depend_on_how_a_step_is_split():
    """Two halves (two processes, or two accumulation steps), each divided by the step's item count,
    add up to the whole step's loss: a mean per half would count a half-step as a whole one."""
    torch.manual_seed(0)
    logits, labels = torch.randn(12, 2), torch.randint(0, 2, (12,))
    loss = weighted_loss(torch.tensor([0.6, 3.0]))
    whole = loss(SimpleNamespace(logits=logits), labels, num_items_in_batch=12)
    halves = [
        loss(SimpleNamespace(logits=logits[s]), labels[s], num_items_in_batch=12) for s in (slice(0, 5), slice(5, None))
    ]
    assert torch.allclose(whole, sum(halves))
    assert torch.allclose(loss(SimpleNamespace(logits=logits), labels), whole)  # no count given: the batch's own


@pytest.mark.parametrize(
    "precision, cuda, bf16_ok, expected",
    [
        ("auto", False, False, {"bf16": False, "fp16": False}),
        ("auto", True, True, {"bf16": True, "fp16": False}),
        ("auto", True, False, {"bf16": False, "fp16": True}),
        ("fp32", True, True, {"bf16": False, "fp16": False}),
        ("bf16", False, False, {"bf16": True, "fp16": False}),
    ],
)
def test_mixed_precision(monkeypatch, precision, cuda, bf16_ok, expected):
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: bf16_ok)
    assert mixed_precision(precision, cuda) == expected


def test_fp16_without_a_gpu_is_refused():
    with pytest.raises(ConfigError, match="model.precision fp16 needs a CUDA GPU"):
        mixed_precision("fp16", cuda=False)


def test_device_settings_for_a_cpu_and_a_gpu(tmp_path, monkeypatch, tf_letters, tiny_base):
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: True)
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    cfg = tf_config(tf_letters, tiny_base)
    cpu = training_arguments(cfg, tmp_path, select=False, cuda=False)
    gpu = training_arguments(cfg, tmp_path, select=False, cuda=True)
    assert (cpu["dataloader_num_workers"], cpu["dataloader_pin_memory"], cpu["bf16"]) == (0, False, False)
    assert (gpu["dataloader_num_workers"], gpu["dataloader_pin_memory"], gpu["bf16"]) == (2, True, True)
    assert cpu["train_sampling_strategy"] == gpu["train_sampling_strategy"] == "group_by_length"
    assert not cpu["use_cpu"]  # one process: the Trainer picks the device
    # logs every 5 steps, but at most ~100 times a training (each is an MLflow write)
    assert cpu["logging_steps"] == 5 == training_arguments(cfg, tmp_path, False, False, items=46)["logging_steps"]
    assert (
        training_arguments(cfg, tmp_path, False, False, items=2_200_000)["logging_steps"] == 2_200_000 // 8 * 2 // 100
    )
    monkeypatch.setenv("WORLD_SIZE", "2")
    assert training_arguments(cfg, tmp_path, select=False, cuda=False)["use_cpu"]  # DDP on CPU (gloo)
    assert not training_arguments(cfg, tmp_path, select=False, cuda=True)["use_cpu"]
    mine = tf_config(tf_letters, tiny_base, dataloader_workers=3, group_by_length=False, precision="fp32")
    args = training_arguments(mine, tmp_path, select=False, cuda=True)
    assert (args["dataloader_num_workers"], args["train_sampling_strategy"], args["bf16"]) == (3, "random", False)


@pytest.mark.parametrize(
    "key, instead",
    [
        ("bf16", "model.precision"),
        ("fp16", "model.precision"),
        ("train_sampling_strategy", "model.group_by_length"),
        ("dataloader_num_workers", "model.dataloader_workers"),
    ],
)
def test_trainer_section_names_the_typed_key(tf_letters, tiny_base, key, instead):
    with pytest.raises(ConfigError, match=f"trainer.{key}: set {instead} instead"):
        tf_config(tf_letters, tiny_base, trainer={key: 1})
