"""Letter text to `Letter`: the seed letters and bundled PDFs (real), synthetic letters with
each kind of extraction debris, and the letters the parser must refuse."""

from __future__ import annotations

import json

import pytest
from conftest import TESTS_DATA
from letters import (
    NON_MTUS_GUIDELINE,
    PAGE_BREAK,
    item,
    letter_lines,
    partial_heading,
    rationale_lines,
    render,
)

from features.parser import LetterRejected, parse_letter

# --- seed letters (text, blank line between lines, no header block) ----------------------------

# Every item of every seed letter, in letter order, as printed in the seed file.
SEED_ITEMS = {
    "000": [
        ("Medi-derm 0.035-520 percent cream", "Upheld"),
        ("Fexmid 7.5mg 1 po q8-12 prn #90", "Upheld"),
    ],
    "001": [
        ("Fexmid 7.5mg #90", "Overturned"),
    ],
    "002": [
        ("Additional Physical Therapy 2x6 to Cervical Spine and Right Upper Extremity", "Upheld"),
        ("Flexmid 7.5mg #60", "Upheld"),
        ("Topical Pain Cream- Flubiprofen/ Lidocaine", "Upheld"),
    ],
    "003": [
        ("1 Prescription of Flexeril 7.5mg #30", "Upheld"),  # "1 " is a quantity, not a list number
        ("1 Prescription of Lidopro cream 4oz #1", "Upheld"),
        ("Eight acupuncture sessions for the lumbar spine", "Upheld"),
    ],
    "004": [
        ("Retro DOS: 7.10.15 Cyclobenzaprine 2% cream", "Upheld"),  # colon inside the name
    ],
}

# (licensure, specialty, age, sex). 003 uses the older "Board Certified in X and is licensed
# to practice in California" phrasing; the others "State(s) of Licensure:" lines.
SEED_PEOPLE = {
    "000": (["California"], "Physical Medicine & Rehabn", 55, "male"),
    "001": (["Texas", "California"], "Family Practice", 54, "female"),
    "002": (["New Jersey"], "Family Practice", 63, "male"),
    "003": (["California"], "Physical Medicine and Rehabilitation", 29, "male"),
    "004": (["California"], "Emergency Medicine", 59, "male"),
}


@pytest.mark.parametrize("seed", sorted(SEED_ITEMS))
def test_seed_items_in_order(seed_letters, seed):
    letter = seed_letters[seed]
    assert [(i.treatment, i.decision) for i in letter.items] == SEED_ITEMS[seed]
    for it in letter.items:
        assert it.partial_approval is None
        assert it.claims_administrator_guideline and it.maximus_guideline and it.rationale
        assert not it.rationale.startswith("Decision rationale")


@pytest.mark.parametrize("seed", sorted(SEED_PEOPLE))
def test_seed_reviewer_and_patient(seed_letters, seed):
    letter = seed_letters[seed]
    licensure, specialty, age, sex = SEED_PEOPLE[seed]
    assert letter.reviewer_licensure == licensure
    assert letter.reviewer_specialty == specialty
    assert (letter.patient_age, letter.patient_sex) == (age, sex)
    assert letter.case_number is None and letter.decision_date is None  # seeds have no header block


def test_seed_sections_are_split_at_the_labels(seed_letters):
    fexmid = seed_letters["000"].items[1]
    assert fexmid.claims_administrator_guideline == (
        "Decision based on MTUS Chronic Pain Treatment Guidelines Cyclobenzaprine (Flexeril)."
    )
    assert fexmid.maximus_guideline == (
        "Decision based on MTUS Chronic Pain Treatment Guidelines Muscle relaxants Page(s): 63-66."
    )
    assert fexmid.rationale.startswith("The patient presents with sharp and continuous pain")
    assert fexmid.rationale.endswith("Hence, this request IS NOT medically necessary.")
    assert seed_letters["000"].case_summary.startswith("The patient is a 55 year old male")
    # Non-MTUS citations stay with the guideline they belong to.
    acupuncture = seed_letters["003"].items[2]
    assert "Non-MTUS Citation Official Disability Guidelines (ODG)" in acupuncture.claims_administrator_guideline
    assert acupuncture.maximus_guideline == "Decision based on MTUS Chronic Pain Treatment Guidelines."


# --- bundled PDFs ------------------------------------------------------------------------------

# expected_decisions.json: case number -> one letter per item in letter order (U = Upheld,
# O = Overturned). Generated once from the parser, then checked by hand against the PDF text
# of every letter with an Overturned item or a partial approval.
EXPECTED = json.loads((TESTS_DATA / "expected_decisions.json").read_text())


def test_every_bundled_letter_has_expected_decisions(real_letters):
    assert sorted(real_letters) == sorted(EXPECTED)
    got = {case: "".join(i.decision[0] for i in letter.items) for case, letter in real_letters.items()}
    wrong = {case: (got[case], want) for case, want in EXPECTED.items() if got[case] != want}
    assert not wrong, f"decisions differ (got, expected): {wrong}"
    assert sum(map(len, got.values())) == 326
    assert sum(s.count("O") for s in got.values()) == 35


def test_bundled_letters_case_numbers_and_items_are_clean(real_letters):
    for case, letter in real_letters.items():
        assert letter.case_number == case  # file names are the case numbers
        assert letter.decision_date and letter.case_summary
        for it in letter.items:
            assert it.treatment and not it.treatment.endswith((":", " is"))
            assert "\ufffe" not in it.rationale + letter.case_summary  # PDFium's line-end hyphen


def test_header_fields_of_one_letter(real_letters):
    letter = real_letters["CM16-0213037"]
    assert letter.date_assigned == "2016-11-09"
    assert letter.date_of_injury == "2016-10-13"
    assert letter.decision_date == "2016-12-09"
    assert letter.ur_denial_date == "2016-11-03"
    assert letter.application_received == "2016-11-03"  # "Application" / "Received:" / date on 3 lines
    assert letter.priority == "Standard"
    assert letter.reviewer_licensure == ["California", "North Carolina"]
    assert letter.reviewer_specialty == "Family Practice"
    assert (letter.patient_age, letter.patient_sex) == (48, "male")
    assert [(i.treatment, i.decision) for i in letter.items] == [
        ("MRI of the right shoulder without contrast", "Upheld"),
        ("MRI of the cervical spine without contrast", "Upheld"),
    ]


def test_partial_approvals_in_bundled_letters(real_letters):
    # "X was the original request. Y was authorized by the Claims Administrator. The remaining
    # IMR eligible portion of the original request, Z is: Upheld"
    norco = real_letters["CM16-0234202"].items[0]
    assert (norco.treatment, norco.decision) == ("Norco 10/325mg #35", "Upheld")
    assert norco.partial_approval.original_request == "Norco 10/325mg #60"
    assert norco.partial_approval.authorized == "Norco 10/325mg #25"
    assert norco.partial_approval.remaining_portion == "Norco 10/325mg #35"
    # "... The Claims Administrator authorized Y, leaving the original request IMR eligible.
    # The original request, X is: Upheld"
    commode = real_letters["CM16-0249724"].items[1]
    assert commode.treatment == "purchase of a bedside 3 in 1 commode"
    assert commode.partial_approval.original_request == "Purchase of a bedside 3 in 1 commode"
    assert commode.partial_approval.authorized == "a bedside 3 in 1 commode for 1 month"
    # The IMR decided only the remaining portion, which is what the item is named after.
    emg = real_letters["CM17-0020384"].items[0]
    assert (emg.treatment, emg.decision) == ("EMG of the right upper extremity", "Overturned")
    assert emg.partial_approval.original_request == "EMG/NCS of the right upper extremity"
    assert sum(i.partial_approval is not None for lt in real_letters.values() for i in lt.items) == 37


# --- synthetic letters: extraction debris ------------------------------------------------------


def items_of(text: str) -> list[tuple[str, str]]:
    return [(i.treatment, i.decision) for i in parse_letter(text).items]


MRI = item("MRI of the right knee without contrast")
NORCO = item("Norco 10/325mg #60", "Overturned")


def test_synthetic_letter_header_and_people():
    letter = parse_letter(render(letter_lines(MRI, NORCO)))
    assert letter.case_number == "CM16-0000001"
    assert (letter.date_assigned, letter.date_of_injury) == ("2017-01-04", "2015-03-15")
    assert (letter.decision_date, letter.ur_denial_date) == ("2017-02-01", "2016-12-20")
    assert (letter.application_received, letter.priority) == ("2016-12-28", "Standard")
    assert letter.reviewer_licensure == ["California", "Oregon"]
    assert letter.reviewer_specialty == "Orthopaedic Surgery"
    assert (letter.patient_age, letter.patient_sex) == (47, "female")
    assert [(i.treatment, i.decision) for i in letter.items] == [
        ("MRI of the right knee without contrast", "Upheld"),
        ("Norco 10/325mg #60", "Overturned"),
    ]


# A rationale spanning three pages: page breaks fall in the middle of it.
LONG_RATIONALE = (
    rationale_lines("the knee MRI")[:2]
    + [PAGE_BREAK]
    + ["The prior imaging was normal."]
    + [PAGE_BREAK]
    + rationale_lines("the knee MRI")[2:]
)


@pytest.mark.parametrize(
    "debris",
    [
        {},
        {"page_numbers": "page_of"},
        {"page_numbers": "bare"},
        {"page_numbers": "page_of", "repeat_case_number": True},
        {"page_numbers": "bare", "repeat_case_number": True, "blank_lines": True},
    ],
    ids=["plain", "page_of", "bare_numbers", "page_of+case_number", "everything+blank_lines"],
)
def test_page_furniture_is_removed(debris):
    lines = letter_lines(item("MRI of the right knee", rationale=LONG_RATIONALE), NORCO)
    letter = parse_letter(render(lines, **debris))
    assert [(i.treatment, i.decision) for i in letter.items] == [
        ("MRI of the right knee", "Upheld"),
        ("Norco 10/325mg #60", "Overturned"),
    ]
    assert letter.items[0].rationale == " ".join(
        [
            "The guidelines address the knee MRI for the injured worker with persistent symptoms.",
            "The records document examination findings and prior conservative care.",
            "The prior imaging was normal.",
            "Therefore, the request for the knee MRI is not medically necessary.",
        ]
    )
    assert letter.case_number == "CM16-0000001"


def test_wrapped_item_name_and_decision_alone_on_next_line():
    lines = letter_lines(
        MRI,
        item(
            ["Physical therapy three times a week for two weeks for the cervical,", "thoracic, and lumbar"],
            "Overturned",
            decision_alone=True,
        ),
        item(["Home health aide 4 hours per day for 6 weeks to assist with", "bathing and dressing"]),
    )
    assert items_of(render(lines, blank_lines=True)) == [
        ("MRI of the right knee without contrast", "Upheld"),
        ("Physical therapy three times a week for two weeks for the cervical, thoracic, and lumbar", "Overturned"),
        ("Home health aide 4 hours per day for 6 weeks to assist with bathing and dressing", "Upheld"),
    ]


def test_decision_alone_after_a_page_break():
    lines = letter_lines(MRI, item(["Norco 10/325mg #60", PAGE_BREAK, "for breakthrough pain"], decision_alone=True))
    text = render(lines, page_numbers="page_of", repeat_case_number=True)
    assert items_of(text) == [
        ("MRI of the right knee without contrast", "Upheld"),
        ("Norco 10/325mg #60 for breakthrough pain", "Upheld"),
    ]


def test_list_numbers_are_stripped_but_quantities_kept():
    lines = letter_lines(
        item("1. MRI of the knee"), item("2) Norco 10/325mg #60"), item("1 Prescription of Flexeril 7.5mg #30")
    )
    assert items_of(render(lines)) == [
        ("MRI of the knee", "Upheld"),
        ("Norco 10/325mg #60", "Upheld"),
        ("1 Prescription of Flexeril 7.5mg #30", "Upheld"),
    ]


def test_colons_inside_item_names():
    lines = letter_lines(
        item("Associated surgical service: Cold therapy unit: 7 day rental", "Overturned"),
        item("Retro DOS: 7.10.15 Cyclobenzaprine 2% cream"),
        item("NCV bilateral lower extremities QTY: 2"),
    )
    assert items_of(render(lines)) == [
        ("Associated surgical service: Cold therapy unit: 7 day rental", "Overturned"),
        ("Retro DOS: 7.10.15 Cyclobenzaprine 2% cream", "Upheld"),
        ("NCV bilateral lower extremities QTY: 2", "Upheld"),
    ]


def test_non_mtus_guideline_is_kept_whole():
    letter = parse_letter(render(letter_lines(item("Knee brace", maximus=NON_MTUS_GUIDELINE))))
    guideline = letter.items[0].maximus_guideline
    assert guideline.startswith("The Expert Reviewer based their decision on recommendation(s) outside of the MTUS")
    assert (
        "Decision based on Non-MTUS Citation Official Disability Guidelines (ODG), Knee and Leg Chapter." in guideline
    )
    assert letter.items[0].rationale.startswith("The guidelines address this request")


def test_partial_approval_remaining_portion_phrasing():
    heading = partial_heading(
        "Physical therapy 12 sessions", "Physical therapy 6 sessions", "Physical therapy 6 sessions"
    )
    letter = parse_letter(render(letter_lines(MRI, item(heading, "Upheld"), NORCO)))
    pt = letter.items[1]
    assert (pt.treatment, pt.decision) == ("Physical therapy 6 sessions", "Upheld")
    assert pt.partial_approval.original_request == "Physical therapy 12 sessions"
    assert pt.partial_approval.authorized == "Physical therapy 6 sessions"
    assert pt.partial_approval.remaining_portion == "Physical therapy 6 sessions"
    assert [i.partial_approval is None for i in letter.items] == [True, False, True]


def test_partial_approval_leaving_phrasing_with_decision_alone():
    heading = partial_heading(
        "Knee brace (purchase)", "a knee brace rental for 1 month", "Knee brace (purchase)", leaving=True
    )
    letter = parse_letter(render(letter_lines(item(heading, "Overturned", decision_alone=True), MRI), blank_lines=True))
    brace = letter.items[0]
    assert (brace.treatment, brace.decision) == ("Knee brace (purchase)", "Overturned")
    assert brace.partial_approval.original_request == "Knee brace (purchase)"
    assert brace.partial_approval.authorized == "a knee brace rental for 1 month"
    assert brace.partial_approval.remaining_portion == "Knee brace (purchase)"
    second = items_of(render(letter_lines(item(heading, "Overturned"), MRI)))[1]
    assert second == ("MRI of the right knee without contrast", "Upheld")


# --- rejections --------------------------------------------------------------------------------

OLD_2013_LETTER = """Notice of Independent Medical Review Determination
Dated: 11/14/2013
IMR Case Number: CM13-0012345 Date of Injury: 06/01/2012
Dear Mr. Doe:
MAXIMUS Federal Services has completed the Independent Medical Review (IMR) of the above case.
1. Physical therapy 2x6 for the lumbar spine is not medically necessary and appropriate.
"""


def rejection(text: str) -> str:
    with pytest.raises(LetterRejected) as exc:
        parse_letter(text)
    return str(exc.value)


def test_rejects_2013_layout():
    assert "unsupported layout: 2013 'Notice of Independent Medical Review Determination'" in rejection(OLD_2013_LETTER)


def test_rejects_text_that_is_not_a_letter():
    reason = rejection("Minutes of the March meeting.\nAttendees: A, B and C.\nNext meeting in April.\n")
    assert reason == "not an IMR Final Determination Letter: no 'HOW THE IMR FINAL DETERMINATION WAS MADE' section"
    assert rejection("") == "no text"
    assert rejection("\n\n  \n\f\n") == "no text"


def test_rejects_letter_without_items():
    assert "no disputed items" in rejection(render(letter_lines()))


def test_rejects_sections_out_of_order():
    lines = letter_lines(MRI)
    reviewer_start = lines.index("HOW THE IMR FINAL DETERMINATION WAS MADE")
    summary_start = lines.index("CLINICAL CASE SUMMARY")
    swapped = (
        lines[:reviewer_start]
        + lines[summary_start : summary_start + 5]
        + lines[reviewer_start:summary_start]
        + lines[summary_start + 5 :]
    )
    assert "sections out of order" in rejection(render(swapped))


def test_rejects_item_without_decision_rationale():
    norco_no_rationale = [ln for ln in NORCO if not ln.startswith("Decision rationale:")]
    reason = rejection(render(letter_lines(MRI, norco_no_rationale)))
    assert reason == (
        "items do not reconcile: 2 'Claims Administrator guideline:', 2 'MAXIMUS guideline:', 1 'Decision rationale:'"
    )


def test_rejects_item_without_decision_line():
    norco_no_decision = ["Norco 10/325mg #60"] + NORCO[1:]
    reason = rejection(render(letter_lines(MRI, norco_no_decision)))
    assert reason.startswith("item 2: no Upheld/Overturned decision on line")
    assert "before 'Claims Administrator guideline:'" in reason


def test_rejects_stray_decision_line():
    # A decision that belongs to no item means the labels and decisions do not line up.
    stray = MRI[:-1] + ["Acupuncture 6 sessions: Upheld", MRI[-1]]
    assert rejection(render(letter_lines(stray, NORCO))) == "items do not reconcile: 3 decision lines but 2 rationales"


def test_rejects_labels_out_of_order():
    ca, mx = NORCO[1], NORCO[2]
    swapped = [NORCO[0], mx, ca] + NORCO[3:]
    assert "item 2: guideline and rationale labels out of order" in rejection(render(letter_lines(MRI, swapped)))


def test_rejects_name_that_runs_into_the_previous_rationale():
    # The previous rationale does not end with a sentence, so where the name starts is a guess.
    mri_unfinished = item("MRI of the knee", rationale=["The request is not medically necessary as"])
    reason = rejection(render(letter_lines(mri_unfinished, NORCO)))
    assert reason.startswith("item 2: cannot tell the item name from the previous rationale")
