"""Readings of a summary that one sentence's patterns cannot make alone: they need the request (the
treatment asked for) or the sentence after a mention.

- repeat_study: the request is itself a study, the summary records a prior study of the same
  modality and body region, and it says what is new or worse since ("MRI lumbar 2015 showed a
  bulge ... now new foot drop"). Without a treatment (a caller that has only the summary) the
  modality and region cannot be compared: a prior study and a change suffice.
- risk_factors: a risk counts only where it bears on the request (GI history for an NSAID or a PPI,
  diabetes for an EMG, falls for a walker, substance use for an opioid; rule book v2). A GI risk
  the summary ties to NSAIDs ("NSAIDs stopped because of an ulcer") bears on any medication or
  injection chosen instead. Without a treatment every risk counts.
- conservative_care: a course of care in one sentence and its failure in the next ("Completed PT.
  Pain remains 7/10.").
- physical_examination: a finding the patient only reports ("reports swelling") is a symptom.
- treatment_response: a pain score that rose ("from 4/10 to 8/10") is not relief.
- drug_monitoring: a side effect of a medication taken now, recorded or checked ("nausea on
  Norco", "opioid-induced constipation", "denies dizziness"); an intolerance that ended a past
  trial is not monitoring.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from features.categories import treatment_category
from features.criteria_context import assertion
from features.criteria_summary import (
    DOCUMENTS,
    FAILED,
    GAIN,
    NO_FUNCTION,
    NONE_ABERRANT,
    PERSISTS,
    TRIED,
    WALKS_UNAIDED,
)
from features.criteria_terms import MEDICATION, OPIOID, REGIONS, SIDE_EFFECT, STUDIES, THERAPY

__all__ = ["READINGS", "Mention"]

Mention = tuple[int, re.Match[str]]  # the sentence's index and the match in it
Reading = Callable[[Sequence[str], list[Mention], "str | None"], bool]


def _re(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.IGNORECASE)


def _asserted(sentence: str, pattern: re.Pattern[str], polar: bool = False) -> bool:
    return any(assertion(sentence, m.start(), m.end(), polar) is None for m in pattern.finditer(sentence))


# --- repeat_study ------------------------------------------------------------------------------
_MODALITIES = {name: _re(words) for name, words in STUDIES.items()}
_REGIONS = {name: _re(words) for name, words in REGIONS.items()}
# A limb study covers the regions along the limb (an EMG of the legs and an L5 radiculopathy).
_WITHIN = {
    "upper_limbs": {"upper_limbs", "cervical", "shoulder", "elbow", "hand_wrist"},
    "lower_limbs": {"lower_limbs", "lumbar", "hip", "knee", "foot_ankle"},
}
_SIDES = {"left": _re(r"\bleft\b|\blt\b"), "right": _re(r"\bright\b|\brt\b")}
_BOTH = _re(r"\bbilateral\w*|\bbilat\b|\bboth\b")
_CHANGE = _re(
    r"\bnew\b(?! (?:MRI|study|studies|scan|x-?rays?|imaging|films?|EMG|CT|prescription|request|patient|physician|"
    r"provider|doctor|report|brace|medications?|meds|job|employer|claim|trial|referral|treatment|program|"
    r"appointment|visit|one|image|images))|\bnewly\b|\bworse\w*|\bworsen\w*|"
    r"\bincreas\w* (?:\w+ ){0,2}?(?:pain|numbness|weakness|"
    r"swelling|symptoms|deformity|instability)|\bprogress\w*|\brecurren\w*|\brecurred\b|\bdeveloped\b|"
    r"\bnow (?:has|with|extends|radiates|constant|reports|complains|needs)\b|\bhas become\b|\bbecame\b|\bspread\w*|"
    r"\bextends? (?:to|into)\b|\b(?:has|have) since\b|\bdeteriorat\w*|\bre-?injur\w*|\b(?:second|another) (?:fall|"
    r"injury)|"
    r"\bsince (?:yesterday|last (?:week|month)|the (?:fall|injury|accident))"
)
_UNNAMED_STUDY = _re(r"\bstud(?:y|ies)\b|\bscan\b")
_NO_CHANGE = _re(r"\bunchanged\b|\bstable\b|\bthe same\b|\bno (?:new|change|interval)\b|\bnot changed\b")


def _regions(text: str) -> set[str]:
    return {name for name, pattern in _REGIONS.items() if pattern.search(text)}


def _covers(requested: set[str], named: set[str]) -> bool:
    wide = set().union(*(_WITHIN.get(r, {r}) for r in requested)) if requested else set()
    return (
        not requested or not named or bool(named & wide) or any(n in _WITHIN and _WITHIN[n] & requested for n in named)
    )


def _side(text: str) -> str | None:
    if _BOTH.search(text):
        return "both"
    sides = [name for name, pattern in _SIDES.items() if pattern.search(text)]
    return sides[0] if len(sides) == 1 else None


_RECENT = _re(r"\bsince (?:yesterday|last \w+)|\bnow\b|\bnew\b|\bnewly\b|\brecent\w*|\bacute\w*|\btoday\b")


def _changed(sentences: Sequence[str]) -> bool:
    return any(not _NO_CHANGE.search(s) and _asserted(s, _CHANGE) for s in sentences)


def _changed_since(sentences: Sequence[str], index: int) -> bool:
    """What changed since the study in sentence `index`: told after it, or before it as recent ("since
    yesterday he has urinary retention ... stenosis on a 2023 MRI")."""
    earlier = [s for s in sentences[:index] if _RECENT.search(s)]
    return _changed(sentences[index:]) or _changed(earlier)


def _repeat_study(sentences: Sequence[str], found: list[Mention], treatment: str | None) -> bool:
    if treatment is None:
        return any(_changed_since(sentences, index) for index, _ in found)
    modality = next((name for name, pattern in _MODALITIES.items() if pattern.search(treatment)), None)
    if modality is None:
        return False
    regions, side = _regions(treatment), _side(treatment)
    for index, match in found:
        sentence = sentences[index]
        # "a prior study" in a request for an EMG is an EMG
        kind = _MODALITIES[modality].search(match.group(0)) or _UNNAMED_STUDY.search(match.group(0))
        if not kind or not _covers(regions, _regions(sentence)):
            continue
        named = _side(sentence)
        if side in _SIDES and named in _SIDES and named != side:
            continue
        if _changed_since(sentences, index):
            return True
    return False


# --- risk_factors -------------------------------------------------------------------------------
_NSAID = (
    r"NSAIDs?|anti-?inflammator\w*|ibuprofen|motrin|advil|naproxen|naprosyn|anaprox|aleve|meloxicam|mobic|"
    r"celecoxib|celebrex|diclofenac|voltaren|flector|pennsaid|etodolac|nabumetone|relafen|ketorolac|toradol|"
    r"indomethacin|ketoprofen|flurbiprofen|duexis|vimovo|arthrotec|oral medications?"
)
_REQUESTS: dict[str, re.Pattern[str]] = {
    "nsaid": _re(rf"\b(?:{_NSAID})"),
    "gi_protect": _re(
        r"\b(?:omeprazole|prilosec|pantoprazole|protonix|esomeprazole|nexium|lansoprazole|prevacid|ranitidine|zantac|"
        r"famotidine|pepcid|PPI|H2 blocker|sucralfate|misoprostol|duexis|vimovo)"
    ),
    "opioid": _re(rf"\b{OPIOID}"),
    "sedating": _re(
        r"\b(?:soma|carisoprodol|flexeril|fexmid|cyclobenzaprine|tizanidine|zanaflex|baclofen|methocarbamol|robaxin|"
        r"metaxalone|skelaxin|orphenadrine|xanax|alprazolam|ativan|lorazepam|klonopin|clonazepam|valium|diazepam|"
        r"temazepam|restoril|ambien|zolpidem|lunesta|eszopiclone|sonata|trazodone|belsomra|hypnotic|benzodiazepine)"
    ),
    "tca": _re(r"\b(?:amitriptyline|nortriptyline|elavil|pamelor|desipramine|imipramine|doxepin|tricyclic)"),
    "snri": _re(r"\b(?:duloxetine|cymbalta|venlafaxine|effexor|savella|milnacipran)"),
    "gabapentinoid": _re(r"\b(?:gabapentin|neurontin|lyrica|pregabalin|gralise|horizant)"),
    "ed_drug": _re(r"\b(?:viagra|sildenafil|cialis|tadalafil|levitra|vardenafil)"),
    "methadone": _re(r"\bmethadone"),
    "addiction": _re(r"\b(?:buprenorphine|suboxone|butrans|detox\w*|addiction|naltrexone|substance)"),
    "electrodiagnostic": _MODALITIES["electrodiagnostic"],
    "dexa": _MODALITIES["dexa"],
    "labs": _re(r"\b(?:labs?|CMP|CBC|panel|A1c|hemoglobin|lipid|LFTs?|renal function|blood (?:work|tests?))\b"),
    "uds": _re(r"\b(?:urine drug|UDS|drug screen|toxicology)"),
    "fall_aid": _re(
        r"\b(?:cane|walker|rollator|wheelchair|scooter|shower chair|bath\w*|tub|commode|grab bars?|raised toilet|"
        r"hospital bed|lift chair|reacher|home health|home care|aide|caregiver|nursing)\b"
    ),
    "wound": _re(r"\b(?:wound|dressing|home health|nursing)"),
    "weight": _re(r"\b(?:aquatic|pool|gym|weight loss|weight management|nutrition\w*|diet\w*)"),
    "sleep_study": _re(r"\b(?:polysomnogra\w*|sleep study|CPAP)"),
    "bone_healing": _re(r"\bbone (?:growth )?stimulat\w*"),
}
_RISKS: dict[str, re.Pattern[str]] = {
    "gi": _re(r"ulcer|GI|gastro|GERD|reflux|dyspepsia|heartburn|gastritis|indigestion|stomach|epigastric|PUD|GIB"),
    "antithrombotic": _re(
        r"anticoag|thinner|antiplatelet|warfarin|coumadin|plavix|clopidogrel|eliquis|apixaban|"
        r"xarelto|rivaroxaban|aspirin|prednisone"
    ),
    "age": _re(r"year|yr|\byo\b|y/o|\bage|elderly|over|\bis\b"),
    "cardiac": _re(r"heart|cardi|coronary|CAD|CHF|\bMI\b|infarction|stent|stroke|CVA|fibrillation|afib|arrhythmi|QT"),
    "hypertension": _re(
        r"hypertensi|HTN|blood pressure|lisinopril|losartan|amlodipine|metoprolol|HCTZ|"
        r"hydrochlorothiazide"
    ),
    "renal": _re(r"renal|kidney|CKD|liver"),
    "diabetes": _re(r"diabet|DM|A1c|metformin|insulin|glipizide"),
    "obesity": _re(r"obes|BMI|morbid"),
    "smoking": _re(r"smok|tobacco|nicotine"),
    "bone": _re(r"osteop"),
    "breathing": _re(r"apnea|OSA|COPD|pulmonary"),
    "falls": _re(r"fall|fell|unsteady|balance"),
    "substance": _re(r"abuse|use disorder|dependence|addiction|misuse|alcohol|OUD|overdose"),
}
_GI_RISKS = {"gi", "antithrombotic", "age", "cardiac", "hypertension", "renal"}
_BEARS_ON: dict[str, set[str]] = {
    "nsaid": _GI_RISKS,
    "gi_protect": {"gi", "antithrombotic", "age"},
    "topical": _GI_RISKS,
    "opioid": {"substance", "breathing"},
    "sedating": {"substance", "falls", "breathing"},
    "tca": {"cardiac"},
    "snri": {"hypertension", "renal"},
    "gabapentinoid": {"diabetes", "renal", "falls"},
    "ed_drug": {"cardiac", "hypertension", "diabetes"},
    "methadone": {"cardiac", "substance", "breathing"},
    "addiction": {"substance"},
    "uds": {"substance"},
    "surgery": {"diabetes", "smoking", "cardiac", "breathing", "antithrombotic", "obesity"},
    "electrodiagnostic": {"diabetes"},
    "dexa": {"bone", "age"},
    "labs": {"diabetes", "hypertension", "renal", "cardiac", "obesity"},
    "fall_aid": {"falls"},
    "wound": {"diabetes"},
    "weight": {"obesity", "diabetes"},
    "sleep_study": {"obesity", "hypertension", "breathing", "cardiac"},
    "bone_healing": {"smoking", "diabetes", "bone"},
}
_TIED_TO_NSAIDS = _re(rf"\b(?:{_NSAID})|\bcontraindicat\w*|\bavoid\w*")
_CHOSEN_INSTEAD = {"medication", "injections", "topical", "opioid", "sedating", "gabapentinoid", "snri", "tca"}


def _requested(treatment: str) -> set[str]:
    kinds = {name for name, pattern in _REQUESTS.items() if pattern.search(treatment)}
    category = treatment_category(treatment)
    if category == "topical_analgesics" and "opioid" not in kinds:
        kinds.add("topical")
    if category in ("surgery", "injections"):
        kinds.add(category)
    if category in (
        "opioids",
        "muscle_relaxants",
        "nsaids",
        "neuropathic_agents",
        "antidepressants_sleep",
        "other_medications",
        "topical_analgesics",
    ):
        kinds.add("medication")
    return kinds


def _risk(text: str) -> str | None:
    return next((name for name, pattern in _RISKS.items() if pattern.search(text)), None)


def _risk_factors(sentences: Sequence[str], found: list[Mention], treatment: str | None) -> bool:
    if treatment is None:
        return bool(found)
    requested = _requested(treatment)
    for index, match in found:
        risk = _risk(match.group(0))
        if any(risk in _BEARS_ON.get(kind, ()) for kind in requested):
            return True
        if risk in _GI_RISKS and requested & _CHOSEN_INSTEAD and _TIED_TO_NSAIDS.search(sentences[index]):
            return True
    return False


# --- conservative_care, physical_examination, drug_monitoring -----------------------------------
_COURSE = _re(rf"\b{TRIED}(?: (?!post-?op)[\w/,:'()-]+){{0,6}}? {THERAPY}\b")
_PERSISTS, _GAIN = _re(PERSISTS), _re(GAIN)


_WEAK, _FAILED = _re(NO_FUNCTION), _re(FAILED)


def _outside(sentence: str, match: re.Match[str]) -> str:
    return f"{sentence[: match.start()]} {sentence[match.end() :]}"


def _conservative_care(sentences: Sequence[str], found: list[Mention], treatment: str | None) -> bool:
    for index, match in found:
        weak = _WEAK.search(match.group(0)) and not _FAILED.search(match.group(0))
        if not weak or not _GAIN.search(_outside(sentences[index], match)):
            return True
    # a course in one sentence, its failure in one of the next two
    return any(
        _asserted(course, _COURSE) and not _GAIN.search(course) and any(_persists(after) for after in later)
        for course, later in ((s, sentences[i + 1 : i + 3]) for i, s in enumerate(sentences))
    )


def _persists(sentence: str) -> bool:
    """The sentence says the problem persists ("pain remains 7/10", "no functional improvement") and
    reports no gain besides."""
    for match in _PERSISTS.finditer(sentence):
        if assertion(sentence, match.start(), match.end()) is None:
            return not _GAIN.search(_outside(sentence, match))
    return False


_REPORTED = _re(
    r"\b(?:reports?|reported|reporting|complains? of|complaining of|c/o|states?|describes?|feels?|notices?|"
    r"per (?:the )?(?:patient|spouse|wife|husband|family))\b"
)
_OBSERVED = _re(r"\bexam\w*|\bon (?:palpation|inspection)|\bO:|\bobjective\w*|\bobserved\b|\bnoted\b")


_REPORTED_AFTER = _re(
    r"^\W*(?:\w+\W+){0,4}?(?:(?:as )?(?:reported|described|noted) by|per) (?:the |his |her )?(?:patient|pt|spouse|"
    r"wife|husband|family)\b"
)


def _examination(sentences: Sequence[str], found: list[Mention], treatment: str | None) -> bool:
    def reported(sentence: str, match: re.Match[str]) -> bool:
        if _REPORTED_AFTER.search(sentence[match.end() :]):
            return True
        said = list(_REPORTED.finditer(sentence[: match.start()]))
        return (
            bool(said) and len(sentence[said[-1].end() : match.start()].split()) <= 8 and not _OBSERVED.search(sentence)
        )

    return any(not reported(sentences[i], m) for i, m in found)


_TAKEN_BEFORE = _re(
    r"\b(?:stopped|discontinued|switched|changed|failed|not tolerated|could not tolerate|intoleran\w*|previously|"
    r"prior|earlier|tried|trial|after)\b"
)
_SIDE_EFFECT_NOW = (
    _re(rf"\b{SIDE_EFFECT} (?:\w+ ){{0,3}}?on (?:the |his |her )?(?:\w+ )?(?:{MEDICATION}|it)\b"),
    _re(rf"\b{MEDICATION}[- ]induced\b|\bOIC\b"),
    _re(
        rf"(?=.*\b(?:reports?|has|have|is|are|managed|continues?|controlled|treated|monitored|currently|takes|"
        rf"taking)\b)"
        rf".*\b{SIDE_EFFECT} (?:from|due to|caused by|related to|with) (?:the |his |her )?{MEDICATION}\b"
    ),
    _re(
        r"\b(?:denies|reports no|no|without)\b (?:\w+ ){0,2}?(?:nausea|constipation|drowsiness|sedation|somnolence|"
        r"dizziness|(?:GI|stomach) upset|weight gain|dry mouth)"
    ),
)
_HISTORY = _re(r"\bhistory\b|\bh/o\b|\bGERD\b|\bulcers?\b|\bbleed\w*")
_ON_MEDICATION = _re(rf"\b(?:{MEDICATION}|regimen|doses?|dosing)\b")

_CONTROLLED = _re(
    rf"\b{OPIOID}|\b(?:soma|carisoprodol|benzodiazepines?|xanax|alprazolam|ativan|lorazepam|klonopin|clonazepam|"
    r"valium|diazepam|ambien|zolpidem|controlled substances?)\b"
)


def _drug_monitoring(sentences: Sequence[str], found: list[Mention], treatment: str | None) -> bool:
    controlled = any(_asserted(s, _CONTROLLED) for s in sentences)
    # "no aberrant behaviour" is a finding of monitoring only for someone on a controlled drug
    if any(controlled or m.re is not NONE_ABERRANT for _, m in found):
        return True
    on_medication = any(_asserted(s, _ON_MEDICATION) for s in sentences)
    for sentence in sentences:
        if _TAKEN_BEFORE.search(sentence):
            continue
        if any(_asserted(sentence, pattern) for pattern in _SIDE_EFFECT_NOW[:3]):
            return True
        # "denies dizziness" checks a medication's side effects; "denies GERD or ulcers" screens a history
        on_medication_here = on_medication or bool(_ON_MEDICATION.search(sentence))
        if on_medication_here and not _HISTORY.search(sentence) and _SIDE_EFFECT_NOW[3].search(sentence):
            return True
    return False


_SCORES = _re(r"(\d{1,2})/10")


_TIED_TO_CARE = _re(rf"\b(?:now|no longer|since|after|improv\w*|allow\w*)\b|\b{THERAPY}\b")


def _gains(sentences: Sequence[str], found: list[Mention]) -> list[Mention]:
    """The mentions of a gain, less "walks without a cane" where nothing ties it to care or a change."""
    return [(i, m) for i, m in found if m.re is not WALKS_UNAIDED or _TIED_TO_CARE.search(_outside(sentences[i], m))]


def _functional_improvement(sentences: Sequence[str], found: list[Mention], treatment: str | None) -> bool:
    return bool(_gains(sentences, found))


def _treatment_response(sentences: Sequence[str], found: list[Mention], treatment: str | None) -> bool:
    def relief(match: re.Match[str]) -> bool:
        # "from 4/10 to 8/10" is worse, not relief; "7/10 with, 9/10 without" is compared below
        scores = [int(n) for n in _SCORES.findall(match.group(0))]
        return len(scores) != 2 or bool(re.search(r"with|versus|vs", match.group(0))) or scores[0] > scores[1]

    return any(relief(match) for _, match in _gains(sentences, found))


READINGS: dict[str, Reading] = {
    "functional_improvement": _functional_improvement,
    "treatment_response": _treatment_response,
    "repeat_study": _repeat_study,
    "risk_factors": _risk_factors,
    "conservative_care": _conservative_care,
    "physical_examination": _examination,
    "drug_monitoring": _drug_monitoring,
}
assert set(READINGS) <= set(DOCUMENTS)
