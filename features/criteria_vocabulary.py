"""The reviewer-criteria vocabulary: each criterion's id, readable label, kind, the pattern that
finds it cited in a rationale and the patterns that find it documented in a request or case
summary (features/criteria_summary.py). What the patterns mean, and how they are used, is in
features/criteria.py. The rationale patterns were written from the bundled letters' rationales and
are measured against a hand-checked sample (tests/data/criteria_sample.json); the summary patterns
against hand-labelled request summaries (tests/data/request_criteria_dev.json and _dev2.json, and the
blind tests/data/request_criteria_test2.json; benchmarks/criteria_in_request.py). Ids are never renamed:
model packages store counts by id (serving/criteria.py)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from features.criteria_summary import DOCUMENTS
from features.criteria_terms import icase

Kind = Literal["documentation", "examination", "conservative_care", "imaging", "red_flags", "guideline_limit"]


@dataclass(frozen=True)
class Criterion:
    id: str
    label: str  # readable, for the page and the CLI
    kind: Kind
    cites: re.Pattern[str]  # matched against a rationale
    documents: tuple[re.Pattern[str], ...] | None  # matched against a summary's sentences; None: not a summary fact
    polar: bool = False  # a finding reported present or absent: "negative", "normal", "intact" deny it too


_SESSIONS = r"(?:sessions?|visits?|treatments?)"
_STUDY = (
    r"(?:mri|x-?rays?|radiographs?|ct(?: scan)?|cat scan|imaging|films?|ultrasound|emg|ncv|ncs|"
    r"electrodiagnostic\w*)"
)

CRITERIA: tuple[Criterion, ...] = (
    Criterion(
        "functional_improvement",
        "Objective functional improvement documented",
        "documentation",
        icase(
            r"function(?:al)? (?:improvement|gains?|benefit)|(?:measurable|objective) (?:\w+ )?gains|"
            r"improve(?:d|ment)? (?:in |of )?(?:function|activities of daily living|adls?)\b|"
            r"increased? (?:level of )?function|reduction in (?:work restrictions|dependency)"
        ),
        DOCUMENTS["functional_improvement"],
    ),
    Criterion(
        "treatment_response",
        "Pain relief or benefit from the treatment so far",
        "documentation",
        icase(
            r"pain relief|relief (?:of|from) (?:pain|symptoms)|(?:reduction|decrease|improvement) (?:in|of) "
            r"(?:pain|symptoms)|(?:medication|treatment|its) efficacy|efficacy of (?:the |this )?(?:medication|"
            r"treatment)|benefit(?:ing|ed|ted|s)? from (?:the |this |prior |previous |his |her )?(?:\w+ )?"
            r"(?:treatment|therapy|medication|sessions|visits|use)|"
            r"(?:response|responded) to (?:the |prior |previous )?(?:treatment|therapy|medication|sessions|injection)"
        ),
        DOCUMENTS["treatment_response"],
    ),
    Criterion(
        "prior_sessions",
        "How many sessions were already completed, and with what result",
        "documentation",
        icase(
            r"(?:prior|previous|previously|completed|already|past) (?:\w+ ){0,3}(?:sessions?|visits?)|"
            r"number of (?:prior |previous |completed )(?:sessions|visits|treatments)|(?:sessions|visits) (?:completed|"
            r"to date)|completed to date|(?:prior|previous) (?:\w+ )?(?:physical therapy|chiro\w*|acupuncture|therapy)|"
            r"(?:received|completed|attended|undergone) (?:\w+ ){0,3}(?:visits|sessions)|completed a (?:full )?course|"
            r"(?:previously|already) (?:been )?(?:approved|authorized|certified) for|authorized (?:\d+|an initial \d+) "
            r"(?:sessions|visits)"
        ),
        DOCUMENTS["prior_sessions"],
    ),
    Criterion(
        "medical_rationale",
        "The physician's reason for the request is stated",
        "documentation",
        icase(
            r"(?:no|lack of|without|not provide\w*) (?:a |any )?(?:clear |specific |clinical )*rationale|"
            r"rationale (?:for|as to)|(?:no |not )(?:\w+ ){0,3}(?:indication|reason) (?:for|why)|"
            r"explain why|why (?:\w+ ){1,6}(?:is|are|was|would be) (?:needed|necessary|required|not sufficient)|"
            r"(?:clear|specific) (?:indication|reason) for|explanation (?:why|for|as to)|"
            r"medical necessity (?:\w+ ){0,4}(?:was|were) not provided"
        ),
        None,
    ),
    Criterion(
        "request_specifics",
        "The request states quantity, frequency, duration or body part",
        "documentation",
        icase(
            r"refills? (?:is|are|was|were) (?:excessive|not)|request for (?:\d+ |a )?refills?|fail(?:ed|s)? to specify|"
            r"(?:quantity|frequency|duration|dosage|body part|location)(?: \w+){0,3} "
            r"(?:was|is|were|are|has|have) (?:not|un)|(?:is|are|was|were|been) not (?:\w+ )?specified|did not specify|"
            r"unspecified (?:number|amount|quantity|duration|frequency|rental|length|body part)|"
            r"(?:quantity|amount|number) (?:requested|of (?:the )?(?:requested|medication|tablets|patches|units))"
        ),
        None,
    ),
    Criterion(
        "physical_examination",
        "Objective examination findings support the request",
        "examination",
        icase(
            r"(?:physical|clinical|objective) (?:exam|examination)|objective (?:\w+ )?(?:findings|evidence|signs)|"
            r"(?:exam|examination|clinical|physical) findings|on (?:the )?(?:physical )?exam(?:ination)?\b|"
            r"clinical signs|neurolog\w* (?:physical )?exam\w*"
        ),
        DOCUMENTS["physical_examination"],
        polar=True,
    ),
    Criterion(
        "neurological_findings",
        "Neurological deficits or radiculopathy on examination",
        "examination",
        icase(
            r"neurolog\w* (?:deficits?|findings|exam\w*|evaluation|physical|compromise|dysfunction|signs?|symptoms|"
            r"impairment|changes?|abnormalit\w*)|"
            r"nerve (?:impairment|compromise|dysfunction|root|impingement|damage|entrapment)|radiculopathy|radicular|"
            r"dermatom\w*|(?:sensory|motor|reflex) (?:deficits?|changes?|loss)|focal (?:neurolog\w*|deficit)|"
            r"peripheral nerve"
        ),
        DOCUMENTS["neurological_findings"],
        polar=True,
    ),
    Criterion(
        "conservative_care",
        "Failed conservative care (therapy, medications, rest) before the request",
        "conservative_care",
        icase(
            r"conservative (?:care|treatment|therapy|management|measures|options|modalities)|"
            r"fail(?:ed|ure)? (?:to respond to |to improve with |to progress in |with |of )?"
            r"(?!(?:\w+ ){0,3}first[- ]line)"
            r"(?:\w+ ){0,3}(?:treatment|therapy|care|management|medications?|injections?|modalities|program)|"
            r"non-?operative|(?:despite|after) (?:\w+ ){0,3}(?:physical therapy|medications?|injections?|rest)|"
            r"(?:remains|remained|persistent(?:ly)?) symptomatic (?:with|despite)"
        ),
        DOCUMENTS["conservative_care"],
    ),
    Criterion(
        "first_line_medication",
        "First-line medications tried first, or not tolerated",
        "conservative_care",
        icase(
            r"first[- ]line|second[- ]line|trials? of (?:\w+ ){0,2}(?:antidepressants?|anticonvulsants?|tri-?cyclic|"
            r"an? (?:aed|snri))|(?:antidepressants|anticonvulsants) (?:and|or) (?:antidepressants|anticonvulsants)|"
            r"oral (?:form|formulation)|pill(?:/tablet)? form|"
            r"(?:unable|inability|not able) to (?:swallow|tolerate|utilize)|"
            r"intoleran\w*|not (?:been )?tolerated|not responded"
        ),
        DOCUMENTS["first_line_medication"],
    ),
    Criterion(
        "home_exercise",
        "A home exercise program, and why it is not enough",
        "conservative_care",
        icase(r"home (?:exercise|program|pt|physical therapy|therapy)|self-directed|independent (?:home )?exercise"),
        DOCUMENTS["home_exercise"],
    ),
    Criterion(
        "imaging_findings",
        "Imaging or electrodiagnostic findings that match the request",
        "imaging",
        icase(
            rf"imaging (?:findings|evidence|results)|{_STUDY}(?: \w+){{0,4}} (?:findings|revealed|showed|"
            rf"demonstrated|confirmed|were negative|were normal|are negative|is negative|does not (?:show|indicate|"
            rf"reveal)|did not (?:show|indicate|reveal))|corroborat\w*|"
            rf"clinical and imaging|(?:prior|previous|recent) {_STUDY}|(?:negative|normal|plain) {_STUDY}"
        ),
        DOCUMENTS["imaging_findings"],
    ),
    Criterion(
        "repeat_study",
        "A significant change since a prior study (for a repeat study)",
        "imaging",
        icase(
            rf"repeat (?:\w+ ){{0,2}}{_STUDY}|repeat (?:study|studies|scan|test\w*)|significant (?:change|progression|"
            rf"worsening) (?:in|of) (?:symptoms|findings)|"
            rf"additional (?:\w+ )?(?:study|studies|electrodiagnostic\w*|imaging|mri)"
        ),
        DOCUMENTS["repeat_study"],
    ),
    Criterion(
        "red_flags",
        "Red flags (fracture, tumor, infection, cauda equina, progressive deficit)",
        "red_flags",
        icase(
            r"red[- ]flags?|cauda equin\w*|tumou?r|infection|malignan\w*|(?:suspected|suspicion of|concern for|rule "
            r"out) (?:a |an )?(?:fracture|infection|tumou?r)|progressive (?:neurolog\w*|deficit|weakness)|"
            r"bowel (?:or|and) bladder (?:dysfunction|incontinence|symptoms|changes)|saddle an\w*|dislocation|"
            r"instability"
        ),
        DOCUMENTS["red_flags"],
        polar=True,
    ),
    Criterion(
        "visit_limit",
        "Guideline limit on the number of visits or sessions",
        "guideline_limit",
        icase(
            rf"\d+(?:-\d+| to \d+)? {_SESSIONS}(?: \w+){{0,2}} over|up to \d+ {_SESSIONS}|\d+-visit|"
            rf"\d+(?:-\d+| to \d+) {_SESSIONS}|(?:initial|set of|trial of) \d+ {_SESSIONS}|"
            rf"recommended number of {_SESSIONS}|"
            rf"six[- ]visit|(?<!duration )exceed\w*(?: \w+){{0,4}} (?:guidelines?|recommend\w*)|in excess of|"
            rf"(?:number|quantity) of {_SESSIONS}(?: \w+){{0,3}} exceeds|{_SESSIONS} exceeds|"
            rf"(?:recommend|allow|support)\w* (?:up to |for )?\d+(?:-\d+| to \d+)? {_SESSIONS}"
        ),
        DOCUMENTS["visit_limit"],
    ),
    Criterion(
        "duration_limit",
        "Guideline limit on duration (short-term use, weeks of treatment)",
        "guideline_limit",
        icase(
            r"long[- ]term (?:use|efficacy|treatment|therapy|management|basis)|short[- ]term (?:use|treatment|therapy|"
            r"relief|basis|course)|(?:beyond|longer than|exceed\w*|up to|no more than|limited to) "
            r"(?:\d+|two|three|four|six)(?:-\d+| to \d+)? (?:\w+ )?(?:weeks?|months?|days?)\b|"
            r"duration|shortest (?:possible )?(?:amount of time|period|time)|chronic use|prolonged use|"
            r"(?:\d+|one|two|three|four|six)[- ](?:weeks?|months?) (?:[\w-]+ ){0,2}trial"
        ),
        DOCUMENTS["duration_limit"],
    ),
    Criterion(
        "not_recommended",
        "Guidelines do not recommend the treatment (experimental, not approved, little evidence)",
        "guideline_limit",
        icase(
            r"not (?:\w+ )?recommended|do(?:es)? not recommend|experimental|investigational|not (?:fda[- ])?approved|"
            r"(?:is|are) not supported by (?:the )?(?:guidelines?|evidence)|(?:little|insufficient|limited) (?:to no )?"
            r"(?:research|evidence)|no (?:high[- ]quality )?(?:research|evidence) (?:to support|supports)"
        ),
        None,
    ),
    Criterion(
        "primary_procedure",
        "The request it depends on (the surgery, the medication) is certified",
        "documentation",
        icase(
            r"ancillary|associated (?:surgical )?service|(?:requested|primary|associated) (?:surgical )?"
            r"(?:intervention|procedure|surgery) (?:is|was|has been) (?:not )?(?:medically necessary|certified|"
            r"approved|supported|authorized)|(?:surgery|procedure) (?:has been|was|is) (?:\w+ )?(?:approved|certified|"
            r"authorized)|(?:approved|certified|authorized) to undergo|"
            r"(?:given|as|since) (?:that )?the (?:\w+ ){1,5}(?:was|is|has been) (?:determined to be |deemed )?"
            r"not medically necessary"
        ),
        None,
    ),
    Criterion(
        "risk_factors",
        "Risk factors that call for it (GI risk, age, comorbidities)",
        "documentation",
        icase(
            r"gastrointestinal|\bgi\b|peptic ulcer|dyspepsia|(?:at |high |increased )risk|risk factors?|"
            r"comorbid\w*|advanced age|anemia|cardiovascular|bleeding"
        ),
        DOCUMENTS["risk_factors"],
        polar=True,
    ),
    Criterion(
        "drug_monitoring",
        "Monitoring of medication use (urine drug screen, opioid agreement, side effects)",
        "documentation",
        icase(
            r"urine drug|drug (?:screen|test)\w*|aberrant|(?:opioid|pain|narcotic) (?:contract|agreement)|\bcures\b|"
            r"\b4 ?a'?s\b|misuse|"
            r"(?:monitor\w*|documentation|assessment) (?:of |for )?(?:\w+ ){0,2}(?:adverse|side) effects"
        ),
        DOCUMENTS["drug_monitoring"],
    ),
    Criterion(
        "work_status",
        "Work status or return to work",
        "documentation",
        icase(r"work (?:status|restrictions)|return(?:ed|ing)? to (?:work|duty)|(?:modified|full|regular) duty"),
        DOCUMENTS["work_status"],
    ),
)
