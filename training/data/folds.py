"""Cross-validation folds by letter: every item of a letter lands in the same fold.

A letter's fold is a hash of its key (case number) with the seed and the repeat, taken within
its stratum (whether it has an overturned item): stratified in expectation, and stable, so
adding letters to the corpus never moves an old letter to another fold.

Writer-shift folds (`writer_folds`) hold out one case-summary writer template
(features.writer) at a time instead: each item is scored by a model that never saw its writer.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from features.dataset import letter_unit

# A writer template with fewer letters than this, or without an overturned item, is no fold of its own.
MIN_WRITER_LETTERS = 5


class FoldError(ValueError):
    """Folds on which the metrics would be undefined (too few letters, a fold with no overturn)."""


@dataclass(frozen=True)
class Fold:
    repeat: int
    index: int
    train: np.ndarray  # item positions
    test: np.ndarray


def letter_fold_ids(letter_keys: Sequence[str], has_overturn: Sequence[bool], folds: int, salt: str) -> np.ndarray:
    """The fold (0..folds-1) of each letter."""
    strata = {True: "overturned", False: "upheld"}
    return np.array(
        [
            min(int(letter_unit(key, f"{salt}:{strata[bool(pos)]}") * folds), folds - 1)
            for key, pos in zip(letter_keys, has_overturn)
        ],
        dtype=int,
    )


def item_folds(letter_keys: Sequence[str], labels: Sequence[int], folds: int, repeats: int, seed: int) -> list[Fold]:
    """Repeated K-fold over items grouped by letter key. Raises FoldError when a fold would have
    no letters or no overturned item, where AUROC and calibration are undefined."""
    keys = np.asarray(letter_keys, dtype=object)
    y = np.asarray(labels, dtype=int)
    letters, inverse = np.unique(keys, return_inverse=True)
    if len(letters) < folds:
        raise FoldError(
            f"{len(letters)} letters cannot fill {folds} folds (evaluation.folds); "
            f"add letters or lower evaluation.folds"
        )
    positive = np.zeros(len(letters), dtype=bool)
    np.logical_or.at(positive, inverse, y == 1)
    out = []
    for repeat in range(repeats):
        letter_fold = letter_fold_ids(list(letters), list(positive), folds, f"{seed}:{repeat}")
        item_fold = letter_fold[inverse]
        for k in range(folds):
            test = np.flatnonzero(item_fold == k)
            train = np.flatnonzero(item_fold != k)
            if len(test) == 0 or y[test].sum() == 0 or y[train].sum() == 0:
                raise FoldError(
                    f"fold {k} of repeat {repeat} has {len(test)} items and {int(y[test].sum())} overturned: "
                    f"metrics would be undefined; the corpus has {int(positive.sum())} letters with an "
                    f"overturned item for {folds} folds (evaluation.folds)"
                )
            out.append(Fold(repeat, k, train, test))
    return out


def writer_groups(
    templates: Sequence[str], letter_keys: Sequence[str], labels: Sequence[int], min_letters: int = MIN_WRITER_LETTERS
) -> dict[str, str]:
    """Each template's fold: its own, or, for a template with fewer than `min_letters` letters or
    no overturned item, the largest template's (the most varied fold absorbs the odd writers).
    Raises FoldError when fewer than two templates can be folds."""
    letters: dict[str, set] = {}
    overturned: dict[str, int] = {}
    for template, key, label in zip(templates, letter_keys, labels, strict=True):
        letters.setdefault(template, set()).add(key)
        overturned[template] = overturned.get(template, 0) + int(label)
    size = {t: len(keys) for t, keys in letters.items()}
    usable = sorted((t for t in size if size[t] >= min_letters and overturned[t] > 0), key=lambda t: (-size[t], t))
    if len(usable) < 2:
        found = ", ".join(f"{t}: {size[t]} letters, {overturned[t]} overturned" for t in sorted(size))
        raise FoldError(
            f"writer-shift folds need two case-summary writer templates with at least {min_letters} letters "
            f"and an overturned item each; these letters have {found or 'none'}; add letters of another "
            f"writer or set evaluation.writer_shift: false"
        )
    return {t: t if t in usable else usable[0] for t in size}


def writer_folds(
    templates: Sequence[str], letter_keys: Sequence[str], labels: Sequence[int], min_letters: int = MIN_WRITER_LETTERS
) -> list[Fold]:
    """Leave-one-writer-template-out folds over items (one repeat; fold k holds the k-th fold name
    in sorted order). `templates` are the items' features.writer templates; a letter's items
    share its case summary, so they share a template and a fold."""
    y = np.asarray(labels, dtype=int)
    group = writer_groups(templates, letter_keys, y, min_letters)
    item_group = np.array([group[t] for t in templates], dtype=object)
    return [
        Fold(0, k, np.flatnonzero(item_group != name), np.flatnonzero(item_group == name))
        for k, name in enumerate(sorted(set(group.values())))
    ]
