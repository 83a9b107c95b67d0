"""Style normalisation (features/style.py) on made-up text: what the case-summary writer leaves in
a text goes, the request's content stays."""

from __future__ import annotations

import re

import pytest
from style_marks import style_marks

from features.style import BARE_NUMBER, STYLED_COLUMNS, normalise_inputs, normalise_style
from features.views import model_inputs


@pytest.mark.parametrize(
    ("writer", "expected"),
    [
        (
            "The injured worker is a 48 year old male who sustained an industrial injury on 10-13-16.",
            "is male",
        ),
        (
            "This case involves a now 52-year-old female with a history of an occupational claim from 10/23/2016.",
            "female",
        ),
        (
            "The applicant is a 48-year-old male who has filed a claim for shoulder pain reportedly associated "
            "with an industrial injury of October 14, 2016.",
            "is male shoulder pain",
        ),
        ("The patient is a 55 year old male with a date of injury on November 09, 2016.", "is male"),
    ],
)
def test_the_writer_templates_lose_their_marks(writer, expected):
    out = normalise_style(writer)
    assert out.rstrip(" .") == expected
    assert style_marks(out) == []


def test_pronouns_ages_and_the_views_labels_go():
    out = normalise_style("case summary: He is a 52-year-old; his MRI shows L5 radiculopathy. patient: 52 year old.")
    assert out == "is ; MRI shows L5 radiculopathy. ."


def test_numbers_joined_to_units_stay_whole():
    assert (
        normalise_style("rosuvastatin 20mg, Norco 10/325mg #60, 2x6 sessions")
        == "rosuvastatin 20mg, Norco /325mg # , 2x6 sessions"
    )


def test_person_terms_are_dropped_not_replaced():
    out = normalise_style("The IW's pain. The employee, the claimant and the patient's wife. Injured workers' rights.")
    assert style_marks(out) == [] and "person" not in out
    assert "pain" in out and "wife" in out and "rights" in out


@pytest.mark.parametrize(
    "date",
    [
        "10-13-16",
        "10/13/2016",
        "2016-10-13",
        "11/2016",
        "November 09, 2016",
        "Nov. 9 2016",
        "9th of December",
        "December 2016",
        "on Jan 3",
        "Sept 30, 2015",
    ],
)
def test_every_written_date_goes(date):
    out = normalise_style(f"Seen {date} for pain.")
    assert out in ("Seen for pain.", "Seen on for pain.")
    assert style_marks(out) == []


def test_bare_numbers_go_but_numbers_joined_to_a_unit_stay():
    out = normalise_style("Norco 7.5mg #90, pain 7/10, 34 sessions, PT 2x6, Lidoderm 5% patch, 12 visits")
    assert "5mg" in out and "2x6" in out
    assert not any(BARE_NUMBER.fullmatch(w) for w in re.findall(r"\w+", out))
    assert style_marks(out) == []
    assert "mg" in normalise_style("400mg", drop_numbers=True) and "400" not in normalise_style(
        "400mg", drop_numbers=True
    )


def test_clinical_words_and_verbs_that_look_like_months_stay():
    text = "A march fracture; may benefit; referral to Mayo clinic; decreased range of motion."
    assert normalise_style(text) == text
    assert normalise_style("Seen May 5, 2016 and March 2016.") == "Seen and ."


def test_template_phrases_and_citation_scaffolding_go_but_the_guideline_named_stays():
    out = normalise_style(
        "Decision based on MTUS Low Back Complaints 2004, Section(s): Special Studies. "
        "Non-MTUS Citation ODG Pain Chapter. A review of the medical records indicates that pain persists."
    )
    for gone in ("Decision based", "Section", "Citation", "Chapter", "review of the medical records"):
        assert gone not in out
    assert "MTUS Low Back Complaints" in out and "ODG Pain" in out and "pain persists" in out


def test_normalise_inputs_touches_the_tfidf_columns_only():
    inputs = model_inputs(
        {"treatment": "Physical therapy 12 visits", "case_summary": "The applicant is 40.", "patient_age": 40}
    )
    out = normalise_inputs(inputs)
    for column in STYLED_COLUMNS:
        assert out[column] == normalise_style(inputs[column])
    assert out["treatment"] == "Physical therapy visits" and "applicant" not in out["text"]
    assert {k: v for k, v in out.items() if k not in STYLED_COLUMNS} == {
        k: v for k, v in inputs.items() if k not in STYLED_COLUMNS
    }
    assert out is not inputs and inputs["treatment"] == "Physical therapy 12 visits"
