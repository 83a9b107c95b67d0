"""A synthetic corpus of Final Determination Letters with a planted signal, so the whole chain
(ingest, cross-validated training, calibration, registration, prediction, the HTTP service) is
tested without the real letters in ../shared.

Letters are text files in the bundled letters' layout (tests/letters.py). Each has 1-3 items drawn
from a few treatments; the case summary says either that the treatment already gave "documented
functional improvement" (overturned 70% of the time) or that it gave "no objective functional
improvement" (overturned 5%), so a working text model ranks the first kind higher on letters it
has never seen, and a broken one does not."""

from __future__ import annotations

import random
from pathlib import Path

from letters import item, letter_lines, rationale_lines, render

TREATMENTS = [
    "Norco 10/325mg #60",
    "Physical therapy 2x6 lumbar spine",
    "MRI of the lumbar spine",
    "TENS unit purchase",
    "Acupuncture x 6 sessions",
    "Lidoderm 5% patch #30",
]
HELPED = (
    "Records show documented functional improvement with prior {t}: she returned to modified duty "
    "and walks longer distances."
)
NOT_HELPED = (
    "Records show no objective functional improvement with prior {t}; pain is unchanged and "
    "work status is temporarily totally disabled."
)
P_OVERTURNED = {True: 0.7, False: 0.05}


def synthetic_letter(case_number: str, rng: random.Random) -> tuple[str, list[str]]:
    """One letter's text and its items' decisions."""
    helped = rng.random() < 0.35
    treatments = rng.sample(TREATMENTS, rng.randint(1, 3))
    decisions = ["Overturned" if rng.random() < P_OVERTURNED[helped] else "Upheld" for _ in treatments]
    age, sex = rng.randint(25, 64), rng.choice(["male", "female"])
    summary = [
        "CLINICAL CASE SUMMARY",
        "The expert reviewer developed the following clinical case summary based on a review of the",
        "case file, including all medical records:",
        f"The injured worker is a {age} year old {sex} who sustained an industrial injury on 03-15-2015.",
        (HELPED if helped else NOT_HELPED).format(t=treatments[0].split()[0].lower()),
        "Utilization review non-certified the requests.",
    ]
    items = [
        item(
            t,
            d,
            rationale=rationale_lines(
                t, "is medically necessary" if d == "Overturned" else "is not medically necessary"
            ),
        )
        for t, d in zip(treatments, decisions, strict=True)
    ]
    return render(letter_lines(*items, case_number=case_number, summary=summary)), decisions


def write_corpus(folder: Path, n_letters: int = 60, seed: int = 0) -> dict[str, list[str]]:
    """Write n_letters letters into folder (created); returns each case number's decisions."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    written = {}
    for k in range(n_letters):
        case_number = f"CM16-{9000000 + k:07d}"
        text, decisions = synthetic_letter(case_number, rng)
        (folder / f"{case_number}.txt").write_text(text)
        written[case_number] = decisions
    return written
