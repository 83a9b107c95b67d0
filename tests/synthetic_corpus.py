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

from letters import header_lines, item, letter_lines, rationale_lines, render, write_pdf

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
# How the case summary opens, one per writer template (features.writer), so the writer-shift
# cross-validation (training.data.folds.writer_folds) has several writers to hold out; the k-th letter
# of the small corpus gets the (k mod 4)-th (a header-less one the first), independent of its
# planted signal and without drawing from the rng.
WRITER_OPENINGS = (
    "The patient is a {who} who was injured at work on {injured}.",
    "The injured worker is a {who} who sustained an industrial injury on {injured}.",
    "This case involves a now {who} with a history of an occupational claim from {injured}.",
    "The applicant is a {who} who has filed a claim for an injury at work on {injured}.",
)


def writer_opening(k: int, who: str, injured: str) -> str:
    return WRITER_OPENINGS[k % len(WRITER_OPENINGS)].format(who=who, injured=injured)


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
        writer_opening(int(case_number[-2:]) + 1, f"{age} year old {sex}", "03-15-2015"),
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


# --- the suite's small corpus ---------------------------------------------------------------
# conftest.small_corpus: the corpus that the training and serving tests train and serve on, so
# the suite runs without ../shared. It has the planted signal above and the variety those tests
# lean on: PDFs beside text, header-less letters like the seed texts (no case number or dates,
# names starting with "0"), decision dates over three months, several treatment categories,
# missing ages, and summaries long enough to be truncated.
SMALL_TREATMENTS = [
    "Norco 10/325mg #60",
    "Oxycodone 10mg #90",
    "Physical therapy 2x6 lumbar spine",
    "Chiropractic care x 6 visits",
    "MRI of the lumbar spine",
    "X-ray of the right knee",
    "TENS unit purchase",
    "Lidoderm 5% patch #30",
    "Acupuncture x 6 sessions",
    "Lumbar epidural steroid injection L4-L5",
    "Right knee arthroscopy with meniscectomy",
    "Gabapentin 600mg #90",
]
FILLER = [
    "She reports low back pain radiating to the left leg, rated 7/10 without medication.",
    "He reports neck pain with numbness of the right hand, worse with overhead work.",
    "Examination shows tenderness over the paraspinal muscles and a reduced range of motion.",
    "Straight leg raise is positive on the left at 40 degrees.",
    "Sensation is decreased in the L5 dermatome, and reflexes are symmetric.",
    "Prior treatment has included medications, a home exercise program and activity modification.",
    "A urine drug screen from the last visit was consistent with the prescribed medications.",
    "The treating physician requested the disputed items at the most recent progress visit.",
    "Diagnoses include lumbar radiculopathy, cervical strain and chronic pain syndrome.",
    "Electrodiagnostic studies from last year were read as normal.",
    "The patient walks with an antalgic gait and uses a cane for longer distances.",
    "Sleep is disturbed by pain, and mood is reported as low but stable.",
    "The progress notes do not describe a signed opioid agreement or a pain contract.",
    "Imaging from the prior year showed degenerative disc disease at L4-L5 and L5-S1.",
    "The current medications are listed as an anti-inflammatory, a muscle relaxant and a sleep aid.",
    "Blood pressure was recorded as normal at the last two visits.",
    "The patient completed a functional capacity evaluation in the spring.",
    "A psychological evaluation for chronic pain was recommended but not yet scheduled.",
    "Work restrictions include no lifting over fifteen pounds and no repetitive bending.",
    "Palpation reveals trigger points in the trapezius and rhomboid muscles bilaterally.",
    "Grip strength is reduced on the injured side compared with the other hand.",
    "The treating physician notes that the pain interferes with household chores.",
    "There is no report of bowel or bladder dysfunction.",
    "Motor strength is five out of five in all major muscle groups of the lower extremities.",
    "A prior orthopedic consultation recommended continued conservative management.",
    "The patient has not worked since the date of injury and receives temporary disability benefits.",
]
SMALL_LETTERS = 36
CASE_BASE = 9100000
# With this seed the hash split (features.dataset.split_of, split seed 0) gives validation and test
# overturned items, and the test split header-less letters and a long summary (found by search;
# conftest.small_corpus checks it).
SMALL_SEED = 36
MONTHS = [(12, 2016), (1, 2017), (2, 2017)]


def small_letter(k: int, rng: random.Random) -> tuple[list[str], list[str], bool]:
    """One letter's lines, its items' decisions, and whether it has no header block."""
    headerless = k % 6 == 5
    helped = rng.random() < 0.25  # about a fifth of items overturned: more than real letters, so splits get some
    treatments = rng.sample(SMALL_TREATMENTS, rng.randint(1, 3))
    decisions = ["Overturned" if rng.random() < P_OVERTURNED[helped] else "Upheld" for _ in treatments]
    sex = rng.choice(["male", "female"])
    injured = f"{rng.randint(1, 12):02d}/{rng.randint(1, 28):02d}/{rng.randint(2005, 2016)}"
    who = f"{rng.randint(25, 64)} year old {sex}" if k % 5 != 3 else f"{sex} warehouse worker"
    long_summary = headerless or k % 3 == 0
    # a long summary has about 330 words: more than three times the tiny transformer's 101 tokens;
    # no sentence twice, as the explain tests find a sentence by its text
    filler = rng.sample(FILLER, 24 if long_summary else rng.randint(2, 5))
    summary = [
        "CLINICAL CASE SUMMARY",
        "The expert reviewer developed the following clinical case summary based on a review of the",
        "case file, including all medical records:",
        # a header-less letter's id is a hash of its text: its opening stays the first, so its split does too
        writer_opening(0 if headerless else k, who, injured),
        *filler[: len(filler) // 2],
        (HELPED if helped else NOT_HELPED).format(t=treatments[0].split()[0].lower()),
        *filler[len(filler) // 2 :],
        "Utilization review non-certified the requests.",
    ]
    # every letter's rationales differ (as real ones do): precedent tests tell items apart by them
    pages = f"The {k + 12} pages of progress notes were read against the guidelines."
    verdict = {"Overturned": "is medically necessary", "Upheld": "is not medically necessary"}
    items = [item(t, d, rationale=[pages, *rationale_lines(t, verdict[d])]) for t, d in zip(treatments, decisions)]
    month, year = MONTHS[k % 3]
    case_number = f"CM{year % 100}-{CASE_BASE + k:07d}"
    header = [] if headerless else header_lines(case_number, injured, f"{month:02d}/{rng.randint(1, 28):02d}/{year}")
    return letter_lines(*items, case_number=None, summary=summary, header=header), decisions, headerless


def write_small_corpus(folder: Path, n_letters: int = SMALL_LETTERS, seed: int = SMALL_SEED) -> dict[str, list[str]]:
    """Write the small corpus into folder (created): every third letter with a header as a PDF,
    the rest as text. Returns each file name's decisions."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    written = {}
    for k in range(n_letters):
        lines, decisions, headerless = small_letter(k, rng)
        if headerless:
            name = f"{k:03d}_synthetic.txt"
            (folder / name).write_text(render(lines, blank_lines=True))
        elif k % 3 == 1:
            name = f"{lines[0].removeprefix('Case Number: ')}.pdf"
            write_pdf(folder / name, lines)
        else:
            name = f"{lines[0].removeprefix('Case Number: ')}.txt"
            (folder / name).write_text(render(lines, page_numbers="page_of"))
        written[name] = decisions
    return written
