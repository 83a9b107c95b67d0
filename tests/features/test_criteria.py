"""Reviewer criteria extraction (features/criteria.py): the vocabulary, what a rationale cites and
what a case summary documents on sentences written here, and precision and recall against the
hand-checked sample of real items (tests/data/criteria_sample.json: case numbers, item indexes and
the criteria read off each rationale by hand; no letter text) and against request summaries
written and labelled by hand (tests/data/request_criteria_dev.json, request_criteria_dev2.json) and
probe sentences for each reading convention (tests/data/request_criteria_probes.json)."""

from __future__ import annotations

import json
import typing

import pytest
from conftest import TESTS_DATA

from features.criteria import BY_ID, CRITERIA, Kind, cited, documented
from features.criteria_context import assertion, sentences

SAMPLE = TESTS_DATA / "criteria_sample.json"
# Measured with benchmarks/criteria_coverage.py: precision 0.971 and recall 0.939 over the 58
# items; 0.954 and 0.899 on the 22 held-out ones.
MIN_PRECISION, MIN_RECALL, MIN_HELD_OUT_PRECISION = 0.95, 0.9, 0.9
# `documented` on the sample's checked case summaries (summary alone, no treatment): 35 of the 40 still
# found are right (0.875); 44 of 49 with the round-1 extraction (434475d). The pairs were checked by
# round-1 conventions; rule book v2 reads fewer of them as documented (a course tried, not failed).
MIN_IN_REQUEST_PRECISION = 0.85
REQUEST_SETS = {
    "dev": TESTS_DATA / "request_criteria_dev.json",
    "dev2": TESTS_DATA / "request_criteria_dev2.json",
    "test2": TESTS_DATA / "request_criteria_test2.json",  # blind: only its form is tested here
}
SUMMARY_CRITERIA = [c.id for c in CRITERIA if c.documents is not None]
_KINDS = tuple(dict.fromkeys(BY_ID[c].kind for c in SUMMARY_CRITERIA))
PROBES = TESTS_DATA / "request_criteria_probes.json"
# Per criterion kind on the development sets relabelled to rule book v2 (benchmarks/criteria_in_request.py
# --set dev, --set dev2), less a margin of 0.03: (precision, recall). Measured: 1.00 precision everywhere;
# recall 0.992 for documentation on dev, 1.00 for the rest of dev and all of dev2. The patterns were tuned
# on these sets: floors, not estimates (tests/data/request_criteria_test2.json is the blind set).
_FLOOR = (0.97, 0.97)
DEV_FLOORS = {
    "dev": {**dict.fromkeys(_KINDS, _FLOOR), "documentation": (0.97, 0.96)},
    "dev2": dict.fromkeys(_KINDS, _FLOOR),
}


def test_the_vocabulary_is_fixed_and_readable():
    assert len(BY_ID) == len(CRITERIA) >= 15
    assert {c.kind for c in CRITERIA} == set(typing.get_args(Kind))
    assert all(c.label and c.label[0].isupper() for c in CRITERIA)


@pytest.mark.parametrize(
    ("rationale", "expected"),
    [
        (
            "There is no documentation of objective functional improvement with the prior sessions.",
            {
                "functional_improvement",
                "prior_sessions",
            },
        ),
        ("The guidelines recommend up to 10 visits over 8 weeks; the request exceeds the guidelines.", {"visit_limit"}),
        ("Benzodiazepines are not recommended for long-term use.", {"not_recommended", "duration_limit"}),
        (
            "The examination does not show red flags or a focal neurological deficit.",
            {
                "red_flags",
                "neurological_findings",
            },
        ),
        ("The patient has not failed conservative treatment such as physical therapy.", {"conservative_care"}),
        ("There is no evidence of a trial of first-line therapy such as gabapentin.", {"first_line_medication"}),
        (
            "As the requested surgical intervention is not medically necessary, the ancillary service is not.",
            {"primary_procedure"},
        ),
        ("The request is medically necessary.", set()),
        ("", set()),
    ],
)
def test_what_a_rationale_cites(rationale, expected):
    assert set(cited(rationale)) == expected


def test_what_a_case_summary_documents():
    summary = (
        "Treatment to date has included physical therapy and medications without relief. "
        "An MRI of the lumbar spine revealed a disc protrusion at L4-L5. "
        "There is no report of bowel or bladder dysfunction."
    )
    assert documented("conservative_care", summary) is True
    assert documented("imaging_findings", summary) is True
    assert documented("red_flags", summary) is False  # reported as absent
    assert documented("red_flags", "The x-ray showed a fracture of the wrist.") is True
    assert documented("not_recommended", summary) is None  # a guideline matter, not a summary fact
    assert documented("conservative_care", "") is False
    assert documented("conservative_care", None) is False


def _sample_rows(real_letters) -> list[tuple[dict, str]]:
    entries = json.loads(SAMPLE.read_text())["items"]
    rows = []
    for entry in entries:
        letter = real_letters.get(entry["case_number"])
        assert letter is not None, f"{SAMPLE}: {entry['case_number']} is not among the bundled letters"
        rows.append((entry, letter.items[entry["item_index"]].rationale))
    return rows


def _scores(pairs) -> tuple[float, float]:
    tp = fp = fn = 0
    for entry, rationale in pairs:
        got, want = set(cited(rationale)), set(entry["criteria"])
        tp, fp, fn = tp + len(got & want), fp + len(got - want), fn + len(want - got)
    return tp / (tp + fp), tp / (tp + fn)


def test_the_sample_names_only_known_criteria_and_real_items():
    entries = json.loads(SAMPLE.read_text())["items"]
    assert len(entries) >= 30 and {e["set"] for e in entries} == {"development", "held_out"}
    assert len({(e["case_number"], e["item_index"]) for e in entries}) == len(entries)
    assert all(set(e["criteria"]) <= set(BY_ID) for e in entries)


def test_extraction_precision_on_the_hand_checked_sample(real_letters):
    pairs = _sample_rows(real_letters)
    precision, recall = _scores(pairs)
    assert precision >= MIN_PRECISION and recall >= MIN_RECALL, (precision, recall)
    held_out, _ = _scores([(e, r) for e, r in pairs if e["set"] == "held_out"])
    assert held_out >= MIN_HELD_OUT_PRECISION, held_out


def test_in_request_precision_on_the_checked_summaries(real_letters):
    found = right = 0
    for pair in json.loads(SAMPLE.read_text())["in_request"]:
        letter = real_letters.get(pair["case_number"])
        assert letter is not None, f"{SAMPLE}: {pair['case_number']} is not among the bundled letters"
        if documented(pair["criterion"], letter.case_summary):
            found, right = found + 1, right + pair["documented"]
    assert found >= 40 and right / found >= MIN_IN_REQUEST_PRECISION, (right, found)


@pytest.mark.parametrize("name", sorted(REQUEST_SETS))
def test_the_request_sets_label_every_summary_criterion(name):
    path = REQUEST_SETS[name]
    data = json.loads(path.read_text())
    assert data["about"] and len(data["requests"]) >= 60, path
    assert len({r["id"] for r in data["requests"]}) == len(data["requests"]), f"{path}: repeated id"
    for request in data["requests"]:
        assert request["treatment"] and request["case_summary"], f"{path}: {request['id']}"
        assert sorted(request["documents"]) == sorted(SUMMARY_CRITERIA), f"{path}: {request['id']} labels"
        assert all(isinstance(v, bool) for v in request["documents"].values()), f"{path}: {request['id']}"


@pytest.mark.parametrize("name", sorted(DEV_FLOORS))
def test_documented_keeps_its_per_kind_precision_and_recall_on_the_development_sets(name):
    pooled = {kind: {"tp": 0, "fp": 0, "fn": 0} for kind in DEV_FLOORS[name]}
    for request in json.loads(REQUEST_SETS[name].read_text())["requests"]:
        for criterion, want in request["documents"].items():
            got = documented(criterion, request["case_summary"], request["treatment"])
            if got or want:
                pooled[BY_ID[criterion].kind]["tp" if got and want else "fp" if got else "fn"] += 1
    for kind, n in pooled.items():
        precision, recall = n["tp"] / (n["tp"] + n["fp"]), n["tp"] / (n["tp"] + n["fn"])
        min_precision, min_recall = DEV_FLOORS[name][kind]
        assert precision >= min_precision and recall >= min_recall, (name, kind, precision, recall)


@pytest.mark.parametrize(
    ("criterion", "summary", "expected"),
    [
        # negation: before the mention, after it, and over a list; a negation inside a finding is the finding
        ("red_flags", "No red flags.", False),
        ("red_flags", "He denies bowel or bladder changes, fever or weight loss.", False),
        ("red_flags", "Red flags: none.", False),
        ("red_flags", "X-rays were negative for fracture.", False),
        ("neurological_findings", "Neurologically intact with negative SLR bilaterally.", False),
        ("neurological_findings", "SLR negative bilaterally.", False),
        ("neurological_findings", "No numbness, tingling or weakness.", False),
        ("neurological_findings", "He has radiating pain down the left leg but no weakness.", True),
        ("conservative_care", "He has not had PT.", False),
        ("conservative_care", "He completed 12 sessions of physical therapy and NSAIDs without lasting relief.", True),
        (
            "treatment_response",
            "He completed 12 sessions of physical therapy and NSAIDs without lasting relief.",
            False,
        ),
        ("drug_monitoring", "No aberrant behaviors or side effects.", True),
        ("drug_monitoring", "There is no urine drug screen on file.", False),
        ("drug_monitoring", "UDS 12/2024 was negative for illicit substances.", True),
        # an examination recorded as entirely normal documents no finding (rule book v2)
        ("physical_examination", "No midline tenderness, full strength and normal reflexes.", False),
        ("imaging_findings", "X-rays were unremarkable.", True),
        ("work_status", "He is P&S and not working.", True),
        ("work_status", "He no longer works as a mechanic.", True),
        # hypothetical: planned, requested, conditional, suspected
        ("conservative_care", "Will consider PT if no improvement.", False),
        (
            "red_flags",
            "If symptoms progress or he develops bowel or bladder incontinence, he will go to the ER.",
            False,
        ),
        ("red_flags", "Lumbar x-rays to rule out fracture.", False),
        ("home_exercise", "Post-operatively she will start PT and a home exercise program.", False),
        ("home_exercise", "He will continue his home exercise program.", True),
        ("prior_sessions", "Request for 6 additional PT visits.", False),
        ("prior_sessions", "Physical therapy 8 visits for the right shoulder.", False),
        ("drug_monitoring", "A urine drug screen will be obtained at the next visit.", False),
        ("first_line_medication", "Ibuprofen prescribed today.", False),
        ("work_status", "He is motivated to return to work.", False),
        # historical mentions count
        ("red_flags", "History of prostate cancer treated in 2020.", True),
        ("risk_factors", "H/o GI bleed in 2019.", True),
        ("treatment_response", "S/p L5-S1 ESI on 6/10/2024 with 60% relief lasting 4 months.", True),
        ("repeat_study", "Prior MRI on 2/14/2023 showed a small L4-5 disc bulge. Now with new foot drop.", True),
        ("first_line_medication", "He is no longer taking gabapentin because of dizziness.", True),
        # someone else's history does not
        ("red_flags", "Family history of multiple myeloma.", False),
        ("risk_factors", "His father had a bleeding ulcer.", False),
        ("risk_factors", "Diabetes runs in the family.", False),
        # paraphrases
        ("conservative_care", "Tried ibuprofen and rest.", False),  # tried, not failed (rule book v2)
        ("conservative_care", "Tried ibuprofen and rest without relief.", True),
        ("functional_improvement", "He went back to modified duty and now walks without crutches.", True),
        ("functional_improvement", "There is no documentation of objective functional improvement.", False),
        ("duration_limit", "He has been on Norco 10/325 mg three times daily since 2019.", True),
        ("duration_limit", "Low back pain for 6 months.", False),
        ("risk_factors", "She is 67 years old.", True),
        # abbreviations
        ("prior_sessions", "PT x6 w/o relief.", True),
        ("conservative_care", "PT x6 w/o relief.", True),
        ("home_exercise", "Cont HEP.", True),
        ("first_line_medication", "Failed NSAIDs.", True),
        ("physical_examination", "TTP L4-S1, ROM limited.", True),
        ("neurological_findings", "SLR (+) R at 50 degrees.", True),
        ("imaging_findings", "EMG/NCV: mild bilateral CTS.", True),
        ("drug_monitoring", "UDS 1/2025 c/w meds.", True),
        ("work_status", "TTD.", True),
        ("repeat_study", "S/p EMG/NCV 2023, normal. Numbness now constant.", True),
    ],
)
def test_what_a_request_documents(criterion, summary, expected):
    assert documented(criterion, summary) is expected


@pytest.mark.parametrize(
    ("criterion", "summary", "treatment", "expected"),
    [
        # repeat_study: the request is a study, a prior one of the same modality and region, and a change since
        (
            "repeat_study",
            "Lumbar MRI 2015 showed a bulge. Since then new left foot drop.",
            "Repeat MRI lumbar spine",
            True,
        ),
        ("repeat_study", "Lumbar MRI 2015 showed a bulge. Since then new left foot drop.", "Lumbar ESI L4-5", False),
        ("repeat_study", "Lumbar x-rays 2016 were normal. Now new leg weakness.", "MRI lumbar spine", False),
        ("repeat_study", "MRI right knee 2016: meniscal tear. New swelling of the left knee.", "MRI left knee", False),
        (
            "repeat_study",
            "EMG 2017 showed mild CTS; symptoms unchanged.",
            "Repeat EMG/NCV right upper extremity",
            False,
        ),
        ("repeat_study", "Since yesterday urinary retention. Stenosis on a 2023 MRI.", "MRI lumbar spine", True),
        # risk_factors: a risk that bears on the request
        ("risk_factors", "History of a bleeding ulcer.", "Naproxen 550 mg #60", True),
        ("risk_factors", "History of a bleeding ulcer.", "MRI lumbar spine", False),
        ("risk_factors", "NSAIDs are avoided because of a prior GI bleed.", "Tramadol 50 mg #60", True),
        ("risk_factors", "Type 2 diabetes.", "EMG/NCV bilateral lower extremities", True),
        ("risk_factors", "Type 2 diabetes.", "Physical therapy 8 visits right shoulder", False),
        ("risk_factors", "T10 injury from a fall at work in 2012.", "Baclofen 10 mg #90", False),
        # without the request, any risk and any prior study with a change count
        ("risk_factors", "History of a bleeding ulcer.", None, True),
        ("repeat_study", "Lumbar MRI 2015 showed a bulge. Since then new left foot drop.", None, True),
        # conservative_care across sentences; partial relief that goes on is not a failure
        ("conservative_care", "Completed 12 chiropractic visits. Pain remains 7/10.", None, True),
        ("conservative_care", "Completed 12 chiropractic visits. Pain down from 7/10 to 3/10.", None, False),
        ("conservative_care", "Takes naproxen with partial relief.", None, False),
        # drug_monitoring: a side effect of a medication taken now, not an intolerance that ended a trial
        ("drug_monitoring", "She takes naproxen and developed dyspepsia on it.", None, True),
        ("drug_monitoring", "Gabapentin caused dizziness and was stopped.", None, False),
        ("drug_monitoring", "Not on any opioids; no aberrant behavior.", None, False),
        # first_line_medication: a topical NSAID is not first-line
        ("first_line_medication", "Uses Voltaren 1% gel on the knee.", None, False),
        ("first_line_medication", "Uses diclofenac 75 mg twice daily.", None, True),
        # work_status: an occupation alone, or P&S without a status, is not a work status
        ("work_status", "Works as a delivery driver.", None, False),
        ("work_status", "Declared P&S in 2016.", None, False),
    ],
)
def test_what_a_request_documents_depends_on_the_request(criterion, summary, treatment, expected):
    assert documented(criterion, summary, treatment) is expected


def _probes() -> list:
    return [
        pytest.param(p["criterion"], p["summary"], p["treatment"], p["documents"], id=f"{p['batch']}-{i}")
        for i, p in enumerate(json.loads(PROBES.read_text())["probes"])
    ]


def test_the_probe_sentences_are_well_formed():
    data = json.loads(PROBES.read_text())
    assert data["about"] and len(data["probes"]) >= 300
    assert {p["criterion"] for p in data["probes"]} == set(SUMMARY_CRITERIA)
    for criterion in SUMMARY_CRITERIA:  # every criterion has probes that document it and probes that do not
        assert {p["documents"] for p in data["probes"] if p["criterion"] == criterion} == {True, False}, criterion


@pytest.mark.parametrize(("criterion", "summary", "treatment", "expected"), _probes())
def test_the_probe_sentences_read_as_labelled(criterion, summary, treatment, expected):
    assert documented(criterion, summary, treatment) is expected


def test_sentences_split_at_ends_semicolons_and_lines_but_not_after_titles():
    text = 'Mr. R has pain; he "was not able to fill." Prior PT helped.\nNext line 2016.In a note'
    assert sentences(text) == (
        "Mr. R has pain",
        'he "was not able to fill."',
        "Prior PT helped.",
        "Next line 2016.",
        "In a note",
    )
    assert sentences(None) == () and sentences("  ") == ()


def test_polarity_words_deny_a_finding_but_not_a_reported_result():
    sentence = "UDS was negative."
    assert assertion(sentence, 0, 3, polar=False) is None
    assert assertion(sentence, 0, 3, polar=True) == "negated"
    sentence = "No UDS on file."
    assert assertion(sentence, 3, 6) == "negated"
