"""The request / guideline / letter-context extractors on made-up requests (no real letter text)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError
from sklearn.compose import ColumnTransformer

from features.views import model_inputs
from research.signal_hypotheses.request_features import (
    GuidelineTimingFeatures,
    LetterContextFeatures,
    RequestFeatures,
    RequestFeaturesConfig,
    TextComposer,
    add_letter_context,
    feature_blocks,
    normalise_style,
    quantity_requested,
    request_flags,
    sessions_requested,
)


@pytest.mark.parametrize(
    ("treatment", "sessions"),
    [
        ("Physical therapy 3 times a week for 4 weeks", 12),
        ("Additional aquatic therapy 2x6 for the knee", 12),
        ("Six massage sessions", 6),
        ("Ten (10) acupuncture visits", 10),
        ("Initial acupuncture, 1 to 2 times per week for 3 weeks", 6),
        ("Electrical stimulation times 4", 4),
        ("Knee brace", None),
    ],
)
def test_sessions_requested(treatment, sessions):
    assert sessions_requested(treatment) == sessions


@pytest.mark.parametrize(
    ("treatment", "quantity"), [("Imaginary-profen 400mg #90", 90), ("Test strips QTY: 3", 3), ("Heating pad", None)]
)
def test_quantity_requested(treatment, quantity):
    assert quantity_requested(treatment) == quantity


def test_request_flags():
    retro = request_flags("Retrospective widget cream 5% (DOS 01/02/2020)")
    assert retro["retrospective"] == retro["compound_or_topical"] == 1.0
    assert request_flags("Associated surgical service: cold therapy unit")["associated_surgical"] == 1.0
    assert request_flags("Post-op anti-nausea tablets")["perioperative"] == 1.0
    assert request_flags("Pre-operative blood panel")["perioperative"] == 1.0
    assert request_flags("Continued chiropractic care")["additional"] == 1.0
    plain = request_flags("Cervical pillow")
    assert sum(plain.values()) == 0.0
    many = request_flags("Therapy 3 times a week for 6 weeks")
    assert many["many_sessions"] == 1.0 and math.isclose(many["log_sessions"], math.log1p(18))


def test_normalise_style_maps_writers_to_one_form():
    a = normalise_style(
        "The injured worker reported pain on 01/02/2020. Decision based on MTUS Low Back 2004, "
        "Section(s): Special Studies."
    )
    b = normalise_style("The applicant reported pain on January 2, 2020. Decision based on MTUS Low Back 2004.")
    assert a.startswith("reported pain on") and b.startswith("reported pain on")
    for gone in ("2020", "2004", "injured worker", "applicant", "Section", "Decision based"):
        assert gone not in a and gone not in b
    assert "7" not in normalise_style("pain 7 out of 10", drop_numbers=True)


def _frame(rows):
    return pd.DataFrame([model_inputs(r) for r in rows])


ROWS = [
    {
        "treatment": "Shoulder arthroscopy with repair",
        "claims_administrator_guideline": "Decision based on MTUS Shoulder Complaints 2004.",
        "days_since_injury": 20,
    },
    {
        "treatment": "Associated surgical service: sling",
        "claims_administrator_guideline": (
            "The Claims Administrator did not cite any medical evidence for its decision."
        ),
        "days_since_injury": 120,
    },
    {
        "treatment": "Lumbar support",
        "claims_administrator_guideline": "Decision based on Non-MTUS Citation "
        "Official Disability Guidelines (ODG), Low Back chapter.",
        "partial_approval": True,
    },
]


def test_model_inputs_exposes_parts_of_text_additively():
    inputs = model_inputs(ROWS[0])
    assert inputs["claims_administrator_guideline"] == ROWS[0]["claims_administrator_guideline"]
    assert inputs["case_summary"] == "" and inputs["text"].startswith(ROWS[0]["treatment"])
    assert not {"rationale", "decision", "maximus_guideline", "decision_date", "label"} & set(inputs)


def test_guideline_timing_features():
    out = pd.DataFrame(
        GuidelineTimingFeatures().fit_transform(_frame(ROWS)), columns=GuidelineTimingFeatures().get_feature_names_out()
    )
    assert out.loc[0, ["mtus_shoulder", "mtus_acoem_2004", "days_le_30"]].tolist() == [1, 1, 1]
    assert out.loc[1, ["did_not_cite", "days_gt_90"]].tolist() == [1, 1]
    assert out.loc[2, ["odg", "days_missing"]].tolist() == [1, 1] and out.loc[2, "mtus_low_back"] == 0


def test_request_features_block_and_letter_context():
    frame = add_letter_context(_frame(ROWS), ["A", "A", "B"])
    assert frame["letter_items"].tolist() == [2, 2, 1]
    assert frame["letter_has_procedure"].tolist() == [True, True, False]
    context = LetterContextFeatures().fit_transform(frame)
    assert context[:, 2].tolist() == [0, 1, 0]  # only the associated item of the letter with a surgery
    # Without the letter columns (a single JSON request) the block still works: one item, no surgery.
    assert LetterContextFeatures().fit_transform(_frame(ROWS)[["treatment"]])[:, 1].sum() == 0
    request = RequestFeatures().fit_transform(frame)
    assert request.shape == (3, len(RequestFeatures().get_feature_names_out()))
    assert request[:, -1].tolist() == [0, 0, 1]  # partial approval


def test_config_builds_column_transformer_blocks():
    with pytest.raises(ValidationError):
        RequestFeaturesConfig(requests=True)  # typo: extra keys are forbidden
    blocks, weights = feature_blocks(
        RequestFeaturesConfig(request=True, guideline_timing=True, guideline_timing_weight=0.3)
    )
    assert [b[0] for b in blocks] == ["request", "guideline_timing"] and weights["guideline_timing"] == 0.3
    matrix = ColumnTransformer(blocks, transformer_weights=weights).fit_transform(_frame(ROWS))
    assert matrix.shape[0] == 3 and np.isfinite(matrix).all()
    assert TextComposer(["treatment"]).fit_transform(_frame(ROWS))[2] == "Lumbar support"
