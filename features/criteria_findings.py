"""Summary patterns for the clinical findings a request records: examination findings,
neurological findings, imaging results, a prior study, red flags. Each pattern finds a mention in
one sentence; features/criteria_context.py judges whether the mention is asserted, and
features/criteria_request.py adds what a sentence alone cannot tell (a finding the patient only
reports, a prior study of the kind requested).

Reading conventions (rule book v2, tests/data/request_criteria_dev.json "about"): an examination
documents a finding only when it is abnormal (tenderness, spasm, ROM in degrees or limited,
graded weakness, a positive test, sensory or reflex changes, effusion, deformity, an abnormal
gait); "negative", "normal" and "intact" deny a finding.
"""

from __future__ import annotations

from features.criteria_terms import DATE, LIMB, STUDY, icase

__all__ = ["EXAMINATION", "IMAGING_RESULTS", "NEUROLOGICAL", "PRIOR_STUDY", "RED_FLAGS"]


_TESTS = (
    r"(?:crossed SLR|SLR|straight[- ]leg[- ]rais\w*|Spurling\W?s?|Tinel\W?s?|Phalen\W?s?|McMurray\W?s?|Hawkins|"
    r"Neer|(?:anterior |posterior )?drawer|Lachman|pivot shift|Gaenslen\W?s?|FABER|FADIR|Patrick\W?s?|thigh thrust|"
    r"facet loading|Finkelstein\W?s?|Apley|Kemp\W?s?|Hoffmann?\W?s?|Babinski|Romberg|O'Brien\W?s?|Yergason|"
    r"Speed\W?s?|empty can|drop arm|apprehension|relocation|impingement(?: signs?| tests?)?|Thessaly|(?:CMC )?grind|"
    r"Durkan|Froment|slump|femoral stretch|Trendelenburg|Ober|belly press|lift-off|Jobe|cross-body|Cozen|"
    r"Mill\W?s|Waddell\W?s?)"
)
_MOVEMENT = (
    r"(?:ROM|range of motion|motion|flexion|extension|rotation|abduction|adduction|elevation|dorsiflexion|"
    r"plantar ?flexion|inversion|eversion|pronation|supination|(?:lateral|side) bending)"
)
_POSITIVE = r"(?:\bpositive\b|\bpos\b|\(\+\)|\+)"

EXAMINATION = (
    icase(
        r"\b(?:TTP|tender(?:ness)?|point tender\w*|spasms?|guarding|crepitus|effusion|swelling|swollen|warmth|"
        r"erythema|atrophy|deformity|allodynia|hyperesthesia|hyperalgesia|laxity|limp(?:ing)?|taut bands?|"
        r"twitch response|trigger points?|step-off|contractures?|ecchymosis|dehiscence|purulent|subluxation|"
        r"painful arc|clonus|hyperreflexi\w*|hyporeflexi\w*|areflexi\w*|spasticity|Ashworth \d|palpable (?:\w+ )?"
        r"(?:mass|bands?|nodules?|cord)|(?:varus|valgus)(?! stress))\b"
    ),
    icase(
        r"\b(?:antalgic|unsteady|abnormal|impaired|slow|guarded|wide-based|shuffling|ataxic|Trendelenburg|steppage)"
        r" (?:\w+ )?gait|\bgait (?:is |was )?(?:antalgic|unsteady|abnormal|impaired|slow|guarded|wide-based|ataxic)"
    ),
    icase(
        rf"\b{_MOVEMENT}\b(?: [\w/-]+){{0,3}}? (?:to |of |at |is |was )?(?:\d{{1,3}}(?:-\d{{1,3}})? ?(?:degrees|deg|"
        rf"\u00b0)|limited|decreased|diminished|reduced|restricted|painful|guarded)|\b(?:limited|decreased|"
        rf"diminished|reduced|restricted|painful|loss of|guarded) (?:\w+ ){{0,2}}?(?:{_MOVEMENT}|mobility)\b|"
        r"\bROM \d{1,3} ?-\d{1,3}|\b\d{1,3} ?(?:degrees?|deg)\b"
    ),
    icase(
        r"(?<![\d/])[0-4][+-]?/5(?![\d/])|\b(?:strength|motor|grip)\b (?:\w+ ){0,3}?(?:decreased|diminished|reduced|"
        r"weak)|\bgrip (?:strength )?(?:is |of )?\d+ ?(?:lbs?|pounds|kg)|\b(?:grip|EHL|dorsiflexion|plantar ?flexion|"
        r"quad\w*|hip flexors?|deltoid|biceps|triceps|APB|intrinsics?|abduction|external rotation|elevation|wrist|"
        r"toe|hand|ankle|leg|arm|foot|motor|hip)\b (?:\w+ )?weakness|\bweakness (?:of|in|with) (?:the )?(?:\w+ ){0,2}?"
        r"(?:grip|EHL|dorsiflexion|plantar ?flexion|quad\w*|hip|deltoid|biceps|triceps|abduction|(?:external |internal "
        r")?rotation|elevation|extension|flexion|hands?|ankles?|legs?|arms?|foot|feet|fingers?|toes?)\b"
    ),
    icase(
        rf"{_POSITIVE}\s?(?:[\w'-]+ ){{0,3}}?{_TESTS}|\b{_TESTS}(?: (?:tests?|signs?|maneuver))?\s?(?:[\w-]+ ){{0,2}}?"
        rf"(?:is |was |are |were )?(?:positive|\(\+\)|\+|pos\b)"
    ),
    icase(
        r"\b(?:decreased|diminished|reduced|absent|loss of|altered|impaired|abnormal)\b (?:\w+ ){0,3}?(?:sensation|"
        r"sensory|reflex\w*|two-point|pinprick|light touch|vibration|monofilament|proprioception)|\b(?:sensation|"
        r"reflex\w*|two-point discrimination|pinprick|light touch|DTRs?|monofilament(?: sensation)?)\b (?:\w+ ){0,3}?"
        r"(?:is |are |was |were )?(?:decreased|diminished|reduced|absent|impaired|abnormal|hypoactive|hyperactive|"
        r"brisk|trace)|\b(?:achilles|patellar|biceps|triceps|brachioradialis)(?: reflex\w*)? (?:is |are |was )?(?:0|"
        r"1\+|"
        r"3\+|trace|absent|diminished|decreased|hypoactive|brisk)|\b(?:0|1\+|3\+|trace) (?:at the |at )?(?:achilles|"
        r"patellar|biceps|triceps|brachioradialis)\b"
    ),
)
NEUROLOGICAL = (
    icase(rf"\bradiat\w* (?:\w+ ){{0,5}}?(?:the |his |her |both |bilateral )?(?:right |left |R |L )?{LIMB}\b"),
    icase(
        r"\bradicul\w*|\bsciatica\b|\bneuropath\w*|\bneuralgia\b|\bneuritis\b|\bmyelopath\w*|\ballodynia\b|"
        r"\bdysesthesi\w*|\bparesthesi\w*|\bhyperesthesi\w*|\bnumb\w*|\btingl\w*|\bN/T\b|\bpins and needles\b|"
        r"\bdermatom\w*|\bcarpal tunnel syndrome\b|\bCTS\b|\bcubital tunnel\b|\bfoot drop\b|\bthenar atrophy\b|"
        r"\bsaddle an\w*|\bclonus\b|\bhyperreflexi\w*|\bspastic\w*|\bparaparesis\b|\bneurogenic (?:claudication|"
        r"bladder)|\bnerve (?:root )?(?:impingement|compression|entrapment|irritation|damage)\b|"
        r"\b(?:compressing|contacting|impinging|abutting) (?:the )?(?:\w+ ){0,2}(?:nerve|root)|"
        r"\b(?:sensory|motor|neurolog\w*) (?:deficits?|loss|changes)\b|\bfocal (?:neurolog\w* )?deficits?\b"
    ),
    EXAMINATION[5],
    icase(
        r"\b(?:EHL|dorsiflexion|plantar ?flexion|tibialis anterior|toe extension|great toe|wrist extension|grip|"
        r"finger abduction|intrinsics?|deltoid|biceps|triceps|APB)\b(?: strength)? (?:\w+ ){0,2}?[0-4][+-]?/5(?![\d/])|"
        r"\bhyporeflexi\w*"
    ),
    icase(
        rf"\b(?:pain|symptoms|burning|shooting|electric\w*|shoots) (?:\w+ ){{0,2}}?(?:down|into) (?:the |his |her |"
        rf"both )?(?:right |left |R |L |bilateral )?{LIMB}\b"
    ),
    icase(
        r"\b(?:leg|arm|foot|ankle|EHL|hand|grip|hip flexor|dorsiflexion|plantarflexion|wrist|finger|toe|"
        r"extremity)\b (?:\w+ )?weakness|\bweakness (?:of|in) (?:the )?(?:\w+ ){0,2}(?:legs?|arms?|foot|feet|"
        r"ankles?|EHL|hands?|grip|dorsiflexion|plantarflexion|extremit\w*|hip flexors?)"
    ),
    icase(
        rf"{_POSITIVE}\s?(?:\w+ ){{0,2}}?(?:SLR|straight[- ]leg[- ]rais\w*|Spurling\W?s?|Tinel\W?s?|Phalen\W?s?|slump|"
        r"Hoffmann?\W?s?|Babinski|femoral stretch|Durkan)|\b(?:SLR|straight[- ]leg[- ]rais\w*|Spurling\W?s?(?: test)?|"
        r"Tinel\W?s?(?: sign)?|Phalen\W?s?(?: test| sign)?|Hoffmann?\W?s?(?: sign)?|Babinski)\b\s?(?:test |sign )?"
        r"(?:and \w+\W?s? )?(?:is |was |are |were )?(?:positive|\(\+\)|\+|pos\b)"
    ),
)
_RESULT = (
    r"(?:show\w*|reveal\w*|demonstrat\w*|confirm\w*|document(?:ed|s)|note[sd]|found|indicat\w*|c/w|consistent with|"
    r"significant for|suggest\w*|(?:was|were|is|are) (?:\w+ )?(?:normal|negative|positive|unremarkable|abnormal|"
    r"consistent|significant|remarkable|within normal limits|read as|interpreted))"
)
IMAGING_RESULTS = (
    icase(rf"\b{STUDY}\b(?: [\w/(),.-]+){{0,12}}? {_RESULT}"),
    icase(rf"\b{STUDY}\b(?: [\w/-]+){{0,4}}? ?(?:\(?{DATE}\)?)?(?::| [-\u2013\u2014])\s*\S"),
    icase(
        rf"\b{STUDY}\b(?: [\w/-]+){{0,3}}? (?:\(?{DATE}\)? )?(?:was |were |is |are )?(?:normal|negative|unremarkable|"
        r"abnormal|WNL|within normal limits)\b"
    ),
    icase(rf"\b(?:on|by|per) (?:an? |the )?(?:{DATE} )?(?:[\w-]+ ){{0,2}}?{STUDY}\b|\b{STUDY}-(?:confirmed|proven)"),
    icase(rf"\b{STUDY} (?:findings|results?|impression)\b"),
    # "no fracture on x-ray", "ruled out by a normal NCV": a normal result, stated
    icase(rf"\bruled out (?:by|on|with) (?:an? |the )?(?:\w+ ){{0,2}}?{STUDY}\b"),
    icase(rf"\b(?:no|without) (?:[\w/-]+ ){{0,4}}?(?:on|by|per) (?:an? |the )?(?:[\w/-]+ ){{0,2}}?{STUDY}\b"),
    icase(
        rf"\b{STUDY}\b(?: (?!to\b|for\b|rule|r/o|evaluat|assess|request|if\b|will\b|would\b|"
        rf"consider)[\w/(),.-]+){{0,6}}? "
        r"(?:with |of )?(?:an? )?(?:\w+ )?(?:disc )?(?:protrusion|herniation|HNP|stenosis|tear|fracture|bulge|DDD|"
        r"degenerative|spondylosis|spondylolisthesis|osteoarthritis|arthritis|narrowing|effusion|radiculopathy|"
        r"neuropathy|CTS|carpal tunnel|impingement|edema|lesion|mass|osteopenia|osteoporosis|DJD|OA|"
        r"degenerative joint disease|joint space (?:narrowing|loss)|osteophytes?)\b"
    ),
)
# A study of this patient that was done (with a date, a result, "prior"): the first half of repeat_study.
PRIOR_STUDY = (
    *IMAGING_RESULTS,
    icase(
        rf"\b(?:prior|previous|earlier|initial|last|old|post-?op(?:erative)?|baseline|original)\b (?:[\w/-]+ ){{0,2}}?"
        rf"{STUDY}\b"
    ),
    icase(rf"\b{STUDY}\b (?:[\w-]+ ){{0,4}}?(?:on|in|from|dated|of) {DATE}"),
    icase(rf"\b{STUDY}\b (?:[\w-]+ ){{0,3}}?\(?{DATE}\b|\b{DATE} {STUDY}\b|\bs/p (?:an? )?(?:[\w-]+ )?{STUDY}\b"),
    icase(
        rf"\b{STUDY}\b (?:\w+ ){{0,3}}?(?:was|were|has been|have been) (?:done|performed|obtained|completed)|"
        rf"\b(?:had|underwent|has had) (?:an? )?(?:[\w-]+ ){{0,3}}?{STUDY}\b"
    ),
)
_DEFICIT = (
    r"(?:weakness|numbness|deficits?|neurolog\w*|myelopathy|foot drop|strength|paresthesi\w*|atrophy|sensory loss|"
    r"gait|imbalance|balance|clumsiness|coordination|dexterity)"
)
RED_FLAGS = (
    icase(
        r"\bred[- ]flags?\b|\bcauda equina\b|\bfractur\w*|\bfx\b|\btumou?rs?\b|\bcancer\b|\bcarcinoma\b|"
        r"\bmalignan\w*|\bmetasta\w*|\blymphoma\b|\bmyeloma\b|\bleukemia\b|\bsarcoma\b|\binfect\w*|"
        r"\bosteomyelitis\b|\babscess\b|\bsepsis\b|\bseptic\b|\bdiscitis\b|\bfevers?\b|\bfebrile\b|\bchills\b|"
        r"\bpurulent\b|\bweight loss\b|\bnight pain\b|\binstability\b|\bunstable (?:spine|fracture|joint)|"
        r"\bdislocat\w*|\bsubluxat\w*|\bgiv(?:es|ing) way\b|\bbuckl\w*|\bsaddle (?:an\w*|numbness|paresthesi\w*)|"
        r"\bincontinen\w*|\burinary retention\b|\bneurogenic (?:bladder|bowel)|\b(?:bowel|bladder|urinary|fecal) "
        r"(?:\w+ ){0,2}?(?:incontinence|dysfunction|retention|changes|control|symptoms|complaints|problems)"
    ),
    icase(
        rf"\b(?:progressive|progressing|progressively|worsening|increasing) (?:\w+ ){{0,2}}?{_DEFICIT}|\b{_DEFICIT} "
        rf"(?:\w+ ){{0,3}}?(?:has |have )?(?:worsened|progressed|progressing|spread|progressively)|\bworsened from "
        r"[0-5][+-]?/5 to [0-5][+-]?/5|\b(?:intermittent|occasional) to constant\b|\b(?:has |have )?become constant"
    ),
)
