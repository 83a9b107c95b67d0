"""What `imr train` prints: a bar with an ETA for each long step (cross-validation folds, domain
adaptation, fine-tuning; training.families.transformer.trainer_progress), and none for the trivial ones that libraries
would otherwise draw by the dozen (loading and writing a checkpoint, mapping a small dataset,
copying artifacts inside a local store)."""

from __future__ import annotations

from serving.store import quiet_local_artifact_bars


def quiet_training_output() -> None:
    """Process-wide, for the training command: these bars each cover well under a second here."""
    import datasets
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # "Loading weights", "Writing model shards"
    datasets.disable_progress_bars()  # "Map" over a few hundred texts
    quiet_local_artifact_bars()
