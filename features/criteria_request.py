"""Readings of a summary that depend on the request (the treatment asked for); features/criteria.py
applies them to the asserted mentions of a criterion's patterns.

- repeat_study: the request is itself a study, the summary records a prior study of the same
  modality and body region, and it says what is new or worse since ("MRI lumbar 2015 showed a
  bulge ... now new foot drop"). Without a treatment (a caller that has only the summary) the
  modality and region cannot be compared: a prior study and a change suffice.
- risk_factors: a risk counts only where it bears on the request (GI history for an NSAID or a PPI,
  diabetes for an EMG, falls for a walker, substance use for an opioid; rule book v2). A GI risk
  the summary ties to NSAIDs ("NSAIDs stopped because of an ulcer") bears on any medication or
  injection chosen instead. Without a treatment every risk counts.

The readings that need only the summary's sentences are in features/criteria_reading.py.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from features.categories import treatment_category
from features.criteria_reading import SENTENCE_READINGS, Mention, Reading, asserted
from features.criteria_summary import DOCUMENTS
from features.criteria_terms import OPIOID, REGIONS, STUDIES, icase

__all__ = ["READINGS"]


# --- repeat_study ------------------------------------------------------------------------------
_MODALITIES = {name: icase(words) for name, words in STUDIES.items()}
_REGIONS = {name: icase(words) for name, words in REGIONS.items()}
# A limb study covers the regions along the limb (an EMG of the legs and an L5 radiculopathy).
_WITHIN = {
    "upper_limbs": {"upper_limbs", "cervical", "shoulder", "elbow", "hand_wrist"},
    "lower_limbs": {"lower_limbs", "lumbar", "hip", "knee", "foot_ankle"},
}
_SIDES = {"left": icase(r"\bleft\b|\blt\b"), "right": icase(r"\bright\b|\brt\b")}
_BOTH = icase(r"\bbilateral\w*|\bbilat\b|\bboth\b")
_CHANGE = icase(
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
_UNNAMED_STUDY = icase(r"\bstud(?:y|ies)\b|\bscan\b")
_NO_CHANGE = icase(r"\bunchanged\b|\bstable\b|\bthe same\b|\bno (?:new|change|interval)\b|\bnot changed\b")


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


_RECENT = icase(r"\bsince (?:yesterday|last \w+)|\bnow\b|\bnew\b|\bnewly\b|\brecent\w*|\bacute\w*|\btoday\b")


def _changed(sentences: Sequence[str]) -> bool:
    return any(not _NO_CHANGE.search(s) and asserted(s, _CHANGE) for s in sentences)


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
    "nsaid": icase(rf"\b(?:{_NSAID})"),
    "gi_protect": icase(
        r"\b(?:omeprazole|prilosec|pantoprazole|protonix|esomeprazole|nexium|lansoprazole|prevacid|ranitidine|zantac|"
        r"famotidine|pepcid|PPI|H2 blocker|sucralfate|misoprostol|duexis|vimovo)"
    ),
    "opioid": icase(rf"\b{OPIOID}"),
    "sedating": icase(
        r"\b(?:soma|carisoprodol|flexeril|fexmid|cyclobenzaprine|tizanidine|zanaflex|baclofen|methocarbamol|robaxin|"
        r"metaxalone|skelaxin|orphenadrine|xanax|alprazolam|ativan|lorazepam|klonopin|clonazepam|valium|diazepam|"
        r"temazepam|restoril|ambien|zolpidem|lunesta|eszopiclone|sonata|trazodone|belsomra|hypnotic|benzodiazepine)"
    ),
    "tca": icase(r"\b(?:amitriptyline|nortriptyline|elavil|pamelor|desipramine|imipramine|doxepin|tricyclic)"),
    "snri": icase(r"\b(?:duloxetine|cymbalta|venlafaxine|effexor|savella|milnacipran)"),
    "gabapentinoid": icase(r"\b(?:gabapentin|neurontin|lyrica|pregabalin|gralise|horizant)"),
    "ed_drug": icase(r"\b(?:viagra|sildenafil|cialis|tadalafil|levitra|vardenafil)"),
    "methadone": icase(r"\bmethadone"),
    "addiction": icase(r"\b(?:buprenorphine|suboxone|butrans|detox\w*|addiction|naltrexone|substance)"),
    "electrodiagnostic": _MODALITIES["electrodiagnostic"],
    "dexa": _MODALITIES["dexa"],
    "labs": icase(r"\b(?:labs?|CMP|CBC|panel|A1c|hemoglobin|lipid|LFTs?|renal function|blood (?:work|tests?))\b"),
    "uds": icase(r"\b(?:urine drug|UDS|drug screen|toxicology)"),
    "fall_aid": icase(
        r"\b(?:cane|walker|rollator|wheelchair|scooter|shower chair|bath\w*|tub|commode|grab bars?|raised toilet|"
        r"hospital bed|lift chair|reacher|home health|home care|aide|caregiver|nursing)\b"
    ),
    "wound": icase(r"\b(?:wound|dressing|home health|nursing)"),
    "weight": icase(r"\b(?:aquatic|pool|gym|weight loss|weight management|nutrition\w*|diet\w*)"),
    "sleep_study": icase(r"\b(?:polysomnogra\w*|sleep study|CPAP)"),
    "bone_healing": icase(r"\bbone (?:growth )?stimulat\w*"),
}
_RISKS: dict[str, re.Pattern[str]] = {
    "gi": icase(
        r"ulcer|\bGI\b|gastro|GERD|reflux|dyspepsia|heartburn|gastritis|indigestion|stomach|epigastric|PUD|GIB"
    ),
    "antithrombotic": icase(
        r"anticoag|thinner|antiplatelet|warfarin|coumadin|plavix|clopidogrel|eliquis|apixaban|"
        r"xarelto|rivaroxaban|aspirin|prednisone"
    ),
    "cardiac": icase(r"heart|cardi|coronary|CAD|CHF|\bMI\b|infarction|stent|stroke|CVA|fibrillation|afib|arrhythmi|QT"),
    "hypertension": icase(
        r"hypertensi|HTN|blood pressure|lisinopril|losartan|amlodipine|metoprolol|HCTZ|"
        r"hydrochlorothiazide"
    ),
    "renal": icase(r"renal|kidney|CKD|liver"),
    "diabetes": icase(r"diabet|DM|A1c|metformin|insulin|glipizide"),
    "obesity": icase(r"obes|BMI|morbid"),
    "smoking": icase(r"smok|tobacco|nicotine"),
    "bone": icase(r"osteop"),
    "breathing": icase(r"apnea|OSA|COPD|pulmonary"),
    "falls": icase(r"fall|fell|unsteady|balance"),
    "substance": icase(r"abuse|use disorder|dependence|addiction|misuse|alcohol|OUD|overdose"),
    "age": icase(r"year|yr|\byo\b|y/o|\bage|elderly|over|\bis\b"),  # last: the others name their risk
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
_TIED_TO_NSAIDS = icase(rf"\b(?:{_NSAID})|\bcontraindicat\w*|\bavoid\w*")
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


READINGS: dict[str, Reading] = {**SENTENCE_READINGS, "repeat_study": _repeat_study, "risk_factors": _risk_factors}
assert set(READINGS) <= set(DOCUMENTS)
