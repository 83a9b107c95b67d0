"""The phrases a reason may be (serving/reason_phrases.py) and the stop list that keeps bare tokens out
(serving/reason_stoplist.py). No model: the occlusion itself is tested in test_explain.py."""

from __future__ import annotations

import itertools

import pytest

from features.criteria import BY_ID, CRITERIA, documented
from serving.reason_phrases import DOCUMENTABLE, NOT_LACKING, clauses, readable, request_phrases
from serving.reason_stoplist import about_the_process, about_the_worker, bare
from serving.what_if import SENTENCES

# A sample of each forbidden kind, as the letters and requests write them.
LEVELS = ["l4", "L4-5", "L4-L5", "l5-s1", "C5/6", "c6-7", "T12", "S1", "levels"]
SIDES = ["right", "left", "bilateral", "Bilaterally", "rt", "lt", "both sides"]
ROLES = ["physician requested", "treating physician", "requesting provider", "Dr.", "the injured worker", "patient"]
UNITS = ["mg", "10mg", "#60", "7.5mg", "5/325", "2x6", "x6", "3 times a week", "weeks", "sessions", "20%", "q8-12"]
TEMPLATE = ["case summary", "category", "utilization review", "UR", "dated", "progress report", "11/30/2016", "DOS"]
FORBIDDEN = LEVELS + SIDES + ROLES + UNITS + TEMPLATE
GLUE = ["", "the", "of the", "at", "and", "for", "on the", "with"]


def test_every_mix_of_forbidden_tokens_and_stop_words_is_bare():
    checked = 0
    for n in (1, 2, 3):
        for tokens in itertools.combinations(FORBIDDEN, n):
            for glue in GLUE:
                text = f" {glue} ".join(tokens)
                assert bare(text), text
                checked += 1
    assert checked > 10_000


@pytest.mark.parametrize(
    "text",
    [
        "positive straight leg raise",
        "decreased sensation in the L5 dermatome",
        "right knee effusion",
        "Norco 10/325mg #60 (opioids)",
        "failed physical therapy",
        "no red flags",
        "MRI L4-5 disc protrusion",
    ],
)
def test_a_clinical_word_is_not_bare(text):
    assert not bare(text)


@pytest.mark.parametrize(
    "clause",
    [
        "The injured worker is a 48-year-old male machine operator",
        "who sustained an industrial injury on 10-27-2016.",
        "This case involves a now 42-year-old male with a history of an occupational claim from 10/21/2016.",
        "She works as a cashier at a grocery store.",
        "His usual and customary job as a warehouse loader requires heavy lifting.",
        "Date of injury 3/2/2015.",
    ],
)
def test_clauses_about_the_worker_are_recognised(clause):
    assert about_the_worker(clause)


@pytest.mark.parametrize(
    "clause",
    [
        "The original utilization review dated 11/21/2016 denied the request for shoulder surgery.",
        "A Request for Authorization dated 11/10/2016 was provided.",
        "The request for the MRI of the cervical spine was previously denied.",
        "A progress report dated 12/1/2016 was reviewed.",
    ],
)
def test_clauses_about_the_review_process_are_recognised(clause):
    assert about_the_process(clause)


def test_clinical_clauses_are_not_taken_for_the_worker_or_the_process():
    for clause in ("Positive straight leg raise on the left.", "MRI shows an L5-S1 disc protrusion.", "Failed PT."):
        assert not about_the_worker(clause) and not about_the_process(clause)


def test_a_negation_keeps_its_list_in_one_clause():
    assert clauses("He has not had physical therapy, chiropractic care or acupuncture.") == [
        "He has not had physical therapy, chiropractic care or acupuncture."
    ]
    assert clauses("Exam shows decreased sensation in the L5 dermatome and a positive straight leg raise.") == [
        "Exam shows decreased sensation in the L5 dermatome",
        "and a positive straight leg raise.",
    ]
    assert clauses("Clicking, popping, and instability.") == ["Clicking, popping, and instability."]


def test_readable_drops_the_lead_and_the_dates():
    assert readable("On 11/30/2016, the patient complained of severe neck pain.") == "Severe neck pain"
    assert (
        readable("and a positive straight leg raise on the left side.")
        == "A positive straight leg raise on the left side"
    )
    assert readable("MRI dated 10/12/2016 showed a disc bulge at L4-5.") == "MRI showed a disc bulge at L4-5"


def test_every_criterion_a_request_can_lack_has_a_documenting_sentence():
    """A criterion a request lacks is scored by adding serving.what_if's sentence for it (what_if's tests
    check each documents its criterion): every documentable criterion but the red flags has one."""
    assert set(DOCUMENTABLE) - NOT_LACKING <= set(SENTENCES)
    guideline_limits = {c.id for c in CRITERIA if c.kind == "guideline_limit"}
    assert not guideline_limits & set(DOCUMENTABLE)


SUMMARY = (
    "The injured worker is a 52-year-old female warehouse worker who sustained an industrial injury on 3/2/2015. "
    "She reports low back pain radiating to the right leg. "
    "Her sleep is disturbed by the pain. "
    "She completed 12 sessions of physical therapy and tried ibuprofen without relief. "
    "Examination shows decreased sensation in the L5 dermatome and a positive straight leg raise on the right. "
    "The original utilization review dated 11/21/2016 denied the request for an MRI of the lumbar spine and of "
    "the pelvis, due to no evidence of a recent study."
)


def test_the_candidates_of_a_request():
    record = {"treatment": "Lumbar epidural steroid injection L4-L5", "case_summary": SUMMARY}
    found = request_phrases(
        record,
        {
            "functional_improvement": False,
            "conservative_care": True,
            "neurological_findings": True,
            "visit_limit": False,
        },
    )
    kinds = {(c.kind, criterion) for c in found.candidates for criterion in c.criteria or (None,)}
    assert ("treatment", None) in kinds
    assert ("documents", "conservative_care") in kinds and ("documents", "neurological_findings") in kinds
    # lacked: a criterion the request does not document and that has a statement (not a guideline limit)
    assert ("lacks", "functional_improvement") in kinds
    assert ("lacks", "conservative_care") not in kinds and ("lacks", "visit_limit") not in kinds
    texts = [c.text for c in found.candidates]
    assert texts[0] == "Lumbar epidural steroid injection L4-L5 (injections)"
    assert not any("52-year-old" in t or "utilization review" in t.lower() for t in texts)  # worker, process
    assert not any("recent study" in t for t in texts)  # the reviewer's reason, in a sentence about the review
    assert "Her sleep is disturbed by the pain" in texts  # a finding
    assert not any(bare(t) for t in texts)
    documents = next(c for c in found.candidates if "conservative_care" in c.criteria and c.kind == "documents")
    # the clause that says the care failed documents it by itself, so it alone is left out
    assert (
        documents.quote == "and tried ibuprofen without relief." and BY_ID["conservative_care"].label in documents.text
    )


def test_variants_leave_out_one_phrase_and_keep_the_rest():
    record = {"treatment": "MRI of the lumbar spine", "case_summary": SUMMARY, "patient_age": 52}
    found = request_phrases(record, {"functional_improvement": False})
    full = found.full()
    assert full["patient_age"] == 52 and full["treatment"] == record["treatment"]
    for c in found.candidates:
        variant = found.variant(c)
        if c.kind == "treatment":
            assert variant["treatment"].strip() == "" and variant["case_summary"] == full["case_summary"]
        elif c.kind == "lacks":
            assert variant["case_summary"].startswith(full["case_summary"]) and documented(
                c.criteria[0], variant["case_summary"]
            )
        else:
            assert c.quote and len(variant["case_summary"]) < len(full["case_summary"])
            assert all(found.units[i] not in variant["case_summary"] for i in c.drop)


def test_a_request_without_a_summary_has_only_its_treatment_and_lacks():
    found = request_phrases({"treatment": "Norco 10/325mg #60"}, {"drug_monitoring": False})
    assert [(c.kind, c.criteria) for c in found.candidates] == [("treatment", ()), ("lacks", ("drug_monitoring",))]
