"""Feature views: the pre_decision view must not see anything written when or after IMR
decides; with_rationale masks the verdict. And treatment categories from the name alone."""

from __future__ import annotations

import pytest

from features.categories import CATEGORIES, treatment_category
from features.dataset import item_rows
from features.views import MASK, mask_verdict, model_inputs


@pytest.fixture
def seed_rows(seed_letters) -> list[dict]:
    """Dataset rows of seed 002 (three items) and seed 001 (one Overturned item)."""
    return item_rows(seed_letters["002"], "seed-002", "002.txt") + item_rows(seed_letters["001"], "seed-001", "001.txt")


def flipped(row: dict) -> dict:
    """The same row as if IMR had decided the other way, for other reasons."""
    overturned = row["decision"] == "Upheld"
    return {
        **row,
        "decision": "Overturned" if overturned else "Upheld",
        "label": int(overturned),
        "rationale": "An entirely different rationale. The request is medically necessary.",
        "maximus_guideline": "Decision based on Non-MTUS Citation Official Disability Guidelines (ODG).",
        "decision_date": "2030-01-01",
    }


def test_pre_decision_ignores_decision_rationale_and_maximus_guideline(seed_rows):
    assert {r["decision"] for r in seed_rows} == {"Upheld", "Overturned"}
    for row in seed_rows:
        assert model_inputs(flipped(row)) == model_inputs(row)
        assert model_inputs(flipped(row), "pre_decision") == model_inputs(row, "pre_decision")
        # the research view does see the change, so the comparison above is not vacuous
        assert model_inputs(flipped(row), "with_rationale") != model_inputs(row, "with_rationale")


def test_pre_decision_text_never_contains_the_rationale(seed_rows, real_letters):
    rows = seed_rows + [r for case, lt in real_letters.items() for r in item_rows(lt, case, case)]
    assert len(rows) == 4 + 326
    for row in rows:
        text = model_inputs(row)["text"]
        assert row["rationale"] not in text
    marked = {**seed_rows[0], "rationale": "Zebra sentinel sentence. The request is not medically necessary."}
    assert "Zebra" not in model_inputs(marked)["text"]
    assert "Zebra sentinel sentence." in model_inputs(marked, "with_rationale")["text"]


def test_with_rationale_masks_the_verdict(seed_rows):
    for row in seed_rows:
        text = model_inputs(row, "with_rationale")["text"]
        masked = mask_verdict(row["rationale"])
        assert text.endswith(f"rationale: {masked}")
        assert MASK in masked
        assert "medically necessary" not in masked.lower()
        assert "medically unnecessary" not in masked.lower()
    first = seed_rows[1]["rationale"]  # "The MTUS Guidelines state that using muscle relaxants ..."
    assert mask_verdict(first).startswith("The MTUS Guidelines state that using muscle relaxants for muscle strain")


def test_mask_verdict_sentences():
    rationale = (
        "The worker has chronic pain. Guidelines allow 10 visits. "
        "Therefore, the request is not medically necessary. The decision is upheld."
    )
    assert mask_verdict(rationale) == f"The worker has chronic pain. Guidelines allow 10 visits. {MASK} {MASK}"


def test_treatment_comes_first_and_metadata(seed_letters):
    [row] = item_rows(seed_letters["001"], "seed-001", "001.txt")
    inputs = model_inputs(row)
    assert inputs["text"].startswith("Fexmid 7.5mg #90 category: muscle relaxants.")
    assert "patient: 54 year old female." in inputs["text"]
    assert inputs["treatment"] == "Fexmid 7.5mg #90"
    assert inputs["treatment_category"] == "muscle_relaxants"
    assert (inputs["patient_age"], inputs["patient_sex"], inputs["partial_approval"]) == (54, "female", False)
    for view in ("pre_decision", "with_rationale"):
        assert model_inputs(row, view)["text"].startswith(row["treatment"])


def test_request_with_only_a_treatment():
    inputs = model_inputs({"treatment": "TENS unit"})
    assert inputs["text"] == "TENS unit category: dme."
    assert inputs["patient_age"] is None and inputs["days_since_injury"] is None


def test_partial_approval_is_described():
    inputs = model_inputs(
        {
            "treatment": "Norco 10/325mg #35",
            "partial_approval": True,
            "original_request": "Norco 10/325mg #60",
            "authorized_portion": "Norco 10/325mg #25",
        }
    )
    assert "partial approval: original request Norco 10/325mg #60; authorized Norco 10/325mg #25." in inputs["text"]


def test_unknown_view_is_named():
    with pytest.raises(ValueError, match="unknown feature view 'post_decision'"):
        model_inputs({"treatment": "MRI"}, "post_decision")


def test_invalid_record_is_refused():
    with pytest.raises(ValueError):
        model_inputs({"treatment": ""})
    with pytest.raises(ValueError):
        model_inputs({"treatment": "MRI", "patient_age": 400})


# --- treatment categories ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, category",
    [
        ("MRI of the lumbar spine without contrast", "imaging_diagnostics"),
        ("EMG/NCS of the bilateral upper extremities", "imaging_diagnostics"),
        ("Urine drug screen", "imaging_diagnostics"),
        ("Norco 10/325mg #60", "opioids"),
        ("Post-op Percocet 5/325mg", "opioids"),  # a dose makes the drug name win over "post-op"
        ("Fexmid 7.5mg #90", "muscle_relaxants"),
        ("Cyclobenzaprine 2% cream", "topical_analgesics"),  # a cream, though the drug is a muscle relaxant
        ("Lidoderm 5% patch #30", "topical_analgesics"),
        ("Naproxen 550mg #60", "nsaids"),
        ("Gabapentin 600mg #90", "neuropathic_agents"),
        ("Trazodone 50mg #30", "antidepressants_sleep"),
        ("Omeprazole 20mg #60", "other_medications"),
        ("Physical therapy 2 times a week for 6 weeks", "physical_medicine"),
        ("Acupuncture 12 sessions", "physical_medicine"),
        ("Lumbar epidural steroid injection at L4-5", "injections"),
        ("Right shoulder arthroscopy with subacromial decompression", "surgery"),
        ("TENS unit purchase", "dme"),
        ("H-wave unit rental", "dme"),
        ("Functional restoration program", "programs"),
        ("Cognitive behavioral therapy 6 sessions", "behavioral_health"),
        ("Functional capacity evaluation (FCE)", "evaluation_management"),
        ("Hearing aids", "other"),
    ],
)
def test_treatment_category(name, category):
    assert treatment_category(name) == category
    assert treatment_category(name.upper()) == category  # case-insensitive


def test_every_category_is_listed(real_letters):
    seen = {treatment_category(i.treatment) for lt in real_letters.values() for i in lt.items}
    assert seen <= set(CATEGORIES)
    assert len(seen) >= 10
