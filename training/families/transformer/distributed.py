"""Fine-tuning on several GPUs or processes: every process of a `torchrun` / `accelerate launch` runs
the same `imr train` (the same folds, in the same order, from the same seed), and each fine-tuning is
one DistributedDataParallel training across them, set up by the Trainer (accelerate) from the
launcher's environment. The rest of a run (scoring, metrics, packaging) is repeated by every process;
only the first tracks it (serving.store gives the others a throwaway store). This module holds what
the family itself must do about it: refuse what it cannot run distributed, give every process the
first process's checkpoint folder, and the files the first process saves (transformers' save_pretrained
writes on rank 0 only)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

from training.config import ConfigError, TrainConfig


def launched_processes() -> int:
    """How many processes the launcher started (torchrun and accelerate launch set WORLD_SIZE)."""
    return int(os.environ.get("WORLD_SIZE", "1"))


def check_launch(cfg: TrainConfig) -> None:
    """Refuse, before any run starts, a recipe that would not train across processes."""
    processes = launched_processes()
    if processes > 1 and cfg.model.recipe != "fine_tune":
        raise ConfigError(
            f"model.recipe {cfg.model.recipe}: only fine_tune trains across processes, and this is process "
            f"{os.environ.get('RANK', '?')} of {processes}; run it as one process (imr train --config ...)"
        )


def share_checkpoint_folder(args) -> None:
    """Point every process at the first process's checkpoint folder. Only the first writes checkpoints,
    and at the end every process loads the best one from there; each had made a temporary folder of
    its own. (One machine, or a folder every machine sees.)"""
    if args.world_size <= 1:
        return
    import torch.distributed as dist

    folder = [args.output_dir]
    dist.broadcast_object_list(folder, src=0)
    args.output_dir = folder[0]


def save_on_first_process(save: Callable[[Path], None], folder: Path) -> None:
    """`save(folder)` on the first process; every other process then gets a copy of what it wrote in
    its own `folder` (the weights are the same everywhere: DDP keeps them in step), so each goes on
    scoring and packaging exactly as the first does. (One machine, or a folder every machine sees.)"""
    from accelerate import PartialState

    state = PartialState()
    if state.num_processes <= 1:
        save(folder)
        return
    import torch.distributed as dist

    first = [str(folder)]
    dist.broadcast_object_list(first, src=0)
    if state.is_main_process:
        save(folder)
    state.wait_for_everyone()
    if not state.is_main_process:
        shutil.copytree(first[0], folder, dirs_exist_ok=True)
    state.wait_for_everyone()  # the first process writes on into its folder only once every copy is made
