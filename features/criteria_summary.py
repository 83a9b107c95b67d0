"""What a request or case summary documents: per criterion, the patterns that find a mention of the
fact in one sentence (whether it is *polar*, a finding that "negative", "normal" or "intact" deny,
is marked in features/criteria_vocabulary.py). A mention counts when its context does not negate
it, make it hypothetical or give it to a relative (features/criteria_context.py).

Patterns that carry their own negation are assertions, not denials: "no aberrant behaviour"
documents drug monitoring, "no tenderness" an examination, "without relief" a failed treatment,
"not working" a work status. A trigger inside a match does not modify it.

Written from tests/data/request_criteria_dev.json (request summaries written for this purpose in
the style of a physician's Request for Authorization) and the abbreviations such requests use:
PT, OT, HEP, NSAIDs, ROM, SLR, TTP, ESI, EMG/NCV, UDS, TTD, s/p, x6, w/o, c/w, N/T, h/o.
"""

from __future__ import annotations

import re

__all__ = ["DOCUMENTS"]


def _re(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.IGNORECASE)


_NUMBER = (
    r"(?:(?:\d+[-\u2013])?\d{1,2}\+?|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|"
    r"eighteen|twenty)"
)
_UNIT = r"(?:days?|weeks?|wks?|months?|mos?|years?|yrs?)"
_FIRST_LINE = (
    r"(?:NSAIDs?|anti-?inflammator\w*|ibuprofen|motrin|advil|naproxen|naprosyn|anaprox|aleve|meloxicam|mobic|"
    r"diclofenac|celecoxib|celebrex|etodolac|nabumetone|ketorolac|toradol|indomethacin|acetaminophen|tylenol|apap|"
    r"gabapentin|neurontin|pregabalin|lyrica|topiramate|topamax|amitriptyline|elavil|nortriptyline|duloxetine|"
    r"cymbalta|venlafaxine|effexor|milnacipran|savella|desipramine|imipramine|carbamazepine|tegretol|oxcarbazepine|"
    r"relafen|daypro|oxaprozin|piroxicam|feldene|salsalate|arthrotec|gralise|horizant|TCAs?|SNRIs?|"
    r"anticonvulsants?|antidepressants?|first[- ]line \w+)"
)
_MEDICATION = (
    rf"(?:{_FIRST_LINE}|medications?|meds|analgesics?|muscle relaxants?|cyclobenzaprine|flexeril|tizanidine|"
    r"zanaflex|methocarbamol|robaxin|baclofen|tramadol|ultram|norco|hydrocodone|oxycodone|percocet|opioids?|"
    r"lidoderm|lidocaine)"
)
# Non-operative care: therapy, medications, rest, bracing, home exercise (injections and surgery are not).
_CONSERVATIVE = (
    rf"(?:conservative (?:care|treatment|therapy|management|measures)|{_MEDICATION}|(?:physical|occupational|hand|"
    r"aquatic|pool|manual|massage) therapy|therapy|physiotherapy|PT|OT|chiro\w*|acupuncture|massage|rest|ice|heat|"
    r"brac(?:e|es|ing)|splints?|splinting|orthotics?|TENS|home exercise\w*|HEP|exercises?|stretching|"
    r"activity modification|sleep hygiene(?: measures)?)"
)
_FAILED = (
    r"(?:(?:failed|failure of|fails|fail)\b(?! back)|despite|exhausted|refractory|(?:un|non-?)responsive|(?:without|"
    r"w/o|no|not|minimal|little|limited) (?:\w+ ){0,2}?"
    r"(?:relief|improvement|benefit|response|resolution|success|progress|change|help)|did not (?:help|improve|"
    r"provide|work|resolve)|(?:not|never) respond\w*|(?:has|have) not (?:helped|improved|worked|resolved)|(?:temporary|"
    r"temporarily|partial|"
    r"short-term|transient|incomplete) (?:relief|benefit|improvement|response)|help(?:ed|s)? (?:only )?"
    r"(?:temporarily|briefly|minimally)|stopped (?:due to|because)|discontinued|(?:could|can) ?not tolerate|"
    r"unable to (?:take|tolerate)|can't (?:take|tolerate)|intoleran\w*|not tolerated|upset (?:his |her )?stomach|"
    r"caused (?:\w+ ){0,2}?(?:edema|dizziness|drowsiness|sedation|nausea|upset)|(?:drowsiness|dizziness|sedation|"
    r"somnolence) (?:with|from|on)|(?:persistent|persisting|continued|continuing|ongoing|residual) (?:\w+ ){0,2}?"
    r"(?:pain|symptoms)|(?:pain|symptoms) (?:persists?|persisted|continues?|remains?|recurred|returned)|"
    r"remains? symptomatic)"
)
_TRIED = (
    r"(?:tried|trials? of|has had|had|completed|attended|underwent|undergone|done|treated with|"
    r"(?:treatments?|tx|therapies)(?: [\w-]+){0,3}? (?:has |have )?(?:include[sd]?|including|consisted of)|"
    r"(?:treatments?|tx) to date|prior|"
    r"previous(?:ly)?):?"
)
# A sentence that reports a gain is a course that worked, not one that failed.
_GAIN = (
    r"(?!.*\b(?:improv\w*|better|good|excellent|great|success\w*|resolv\w*|decreas\w*|reduc\w*|relie\w*|help(?:s|ed)|"
    r"benefit\w*|gains?|returned to|RTW|"
    r"ambulat\w* (?:without|w/o))(?:\W|$))"
)
_STUDY = (
    r"(?:MRI|MRA|MR arthrogram|magnetic resonance imaging|CT(?: scan)?|CAT scan|x-?rays?|radiographs?|films?|"
    r"imaging|ultrasound|sonogram|EMG(?:/NC[VS])?|NC[VS]|nerve conduction (?:velocity )?stud(?:y|ies)|"
    r"electrodiagnostic(?: stud(?:y|ies))?|bone scan|DEXA|myelogram|discogram|arthrogram|stud(?:y|ies)|scan)"
)
_RESULT = (
    r"(?:show\w*|reveal\w*|demonstrat\w*|confirm\w*|document(?:ed|s)|note[sd]|found|indicat\w*|c/w|consistent with|"
    r"significant for|(?:was|were|is|are) (?:\w+ )?(?:normal|negative|positive|unremarkable|abnormal|consistent|"
    r"significant|remarkable|within normal limits|read as|interpreted))"
)
_DATE = (
    r"(?:\d{1,2}[/-]\d{1,2}[/-]\d{2,4}|\d{1,2}/\d{2,4}|\d{4}|"
    r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.? \d)"
)
_LIMB = (
    r"(?:legs?|arms?|calf|calves|foot|feet|hands?|thighs?|toes?|fingers?|extremit\w*|buttocks?|UEs?|LEs?|"
    r"upper limb|lower limb|shin|ankle|forearm|[RLB]LEs?|[RLB]UEs?)"
)
_ON_TREATMENT = (
    r"(?:on|taking|taken|takes|using|used|uses|prescribed|doing|done|tried|wearing|worn|continued|maintained|"
    r"receiving|received)(?! (?:light|modified|full|regular|restricted|temporary|total) duty| TTD| TPD| disability|"
    r" leave)"
)

_FUNCTIONAL = (
    _re(
        r"\bfunction(?:al)? (?:improvement|gains?|benefit)|\bfunction(?:ing)? (?:has |is )?improved|"
        r"\bfunctional (?:status|capacity|level|abilit\w*|tolerance) (?:has |have |is )?(?:improved|increased)"
    ),
    _re(
        r"\bimprov\w* (?:in |of |with )?(?:his |her |the )?(?:\w+ )?(?:function\w*|ADLs?|activities|tolerance|"
        r"distance|mobility|range of motion|ROM|strength|grip|endurance|ability)"
    ),
    _re(
        r"\b(?:flexion|extension|rotation|abduction|ROM|range of motion|strength|grip(?: strength)?|mobility|"
        r"tolerance|endurance|function|ADLs?)\b (?:has |have |is |was )?(?:improved|increased)\b"
    ),
    _re(r"\b(?:better|increased|greater) (?:ability|tolerance|function\w*|mobility|range of motion|strength)"),
    _re(r"\bcan now\b|\bnow (?:able|walks?|ambulat\w*|drives?)\b|\bis (?:now )?able to\b|\bresum\w*"),
    _re(
        r"\b(?:can|able to) (?:now )?(?:stand|walk|sit|drive|cook|shop|lift|work|dress|bathe|climb|carry|garden|"
        r"exercise|play|perform|do|reduce|return|tolerate|sleep)\b(?! less| only| no more| fewer)"
    ),
    _re(
        r"\b(?:ODI|Oswestry|NDI|neck disability index|DASH|QuickDASH|LEFS|functional (?:score|index|scale))\b "
        r"(?:\w+ ){0,2}?(?:improved|decreased|reduced|better)|\bup from\b|"
        r"\b(?:walk\w*|sitting|standing|lifting) (?:tolerance|distance) (?:\w+ ){0,2}?(?:from|up to)\b"
    ),
    _re(r"\b(?:allows?|allowing|enables?|lets) (?:him|her|them|the patient)\b"),
    _re(
        r"\b(?:walk\w*|ambulat\w*) (?:\w+ ){0,2}(?:without|w/o) (?:an? )?(?:crutch\w*|cane|walker|assistive|"
        r"assistance)"
    ),
    _re(
        r"\b(?:went|returned|return(?:ing)?|got) (?:back )?to (?:work|(?:full|regular|modified|light|usual) duty)|"
        r"\bRTW\b"
    ),
    _re(r"\b(?:reduc|decreas)\w* (?:in |of )?(?:\w+ ){0,2}(?:use|intake|dependence|need for|work restrictions)\b"),
)
_STUDY_RESULTS = (
    _re(rf"\b{_STUDY}\b(?: [\w/(),.-]+){{0,12}}? {_RESULT}"),
    _re(rf"\b{_STUDY}\b(?: [\w/-]+){{0,4}}? ?(?:\(?{_DATE}\)?)?:\s*\S"),
    _re(rf"\b(?:on|by|per) (?:an? |the )?(?:\d{{4}} )?(?:[\w-]+ ){{0,2}}?{_STUDY}\b"),
    _re(rf"\b{_STUDY} (?:findings|results?|impression)\b"),
    _re(
        rf"\b{_STUDY}\b(?: (?!to\b|for\b|rule|r/o|evaluat|assess|request|if\b|will\b|would\b|"
        rf"consider)[\w/(),.-]+){{0,6}}? "
        r"(?:with |of )?(?:an? )?(?:\w+ )?(?:disc )?(?:protrusion|herniation|HNP|stenosis|tear|fracture|bulge|DDD|"
        r"degenerative|spondylosis|spondylolisthesis|osteoarthritis|arthritis|narrowing|effusion|radiculopathy|"
        r"neuropathy|CTS|carpal tunnel|impingement|edema|lesion|mass)\b"
    ),
)
_SESSIONS = (
    _re(
        r"(?<!additional )(?<!add'l )(?<!another )(?<!further )(?<!more )(?<!for )(?<!therapy )(?<!PT )(?<!OT )"
        r"(?<!chiropractic )(?<!acupuncture )(?<!massage )(?<!CBT )(?<!sessions )(?<!visits )"
        rf"\b{_NUMBER} (?:of \d+ )?(?:(?!additional|more|add'l|further|another)[\w/'()-]+ ){{0,4}}?"
        r"(?:sessions?|visits?|treatments)\b"
    ),
    _re(
        rf"\b(?:authorized|certified|approved) for (?:an? )?(?:initial )?{_NUMBER} (?:[\w/'-]+ ){{0,3}}?(?:sessions|"
        rf"visits)\b"
    ),
    _re(
        r"(?<!additional )(?<!add'l )(?<!further )(?<!more )\b(?:PT|P/T|physical therapy|physiotherapy|OT|"
        r"occupational therapy|therapy|chiro\w*(?: care| treatments?)?|acupuncture|massage|aquatic therapy|CBT|"
        r"psychotherapy|sessions?|visits?) ?[x\u00d7] ?\d{1,2}\b(?!/)"
    ),
    _re(
        rf"\b(?:completed|attended|had|underwent|received|finished)\b (?:\w+ )?{_NUMBER} (?:[\w-]+ ){{0,2}}?"
        r"(?:PT|OT|chiro\w*|acupuncture|physical therapy|therapy|CBT|massage)\b"
    ),
)

DOCUMENTS: dict[str, tuple[re.Pattern[str], ...]] = {
    "functional_improvement": _FUNCTIONAL,
    "treatment_response": (
        _re(r"(?<!for )(?<!for pain )(?<!provide )(?<!provide pain )\brelie(?:f|ved)\b"),
        _re(r"\b\d{1,3} ?(?:%|percent) (?:relief|improvement|reduction|better|decrease)"),
        _re(
            r"\b(?:improv|reduc|decreas|lessen|alleviat|eas)\w* (?:in |of )?(?:his |her |the )?(?:\w+ ){0,2}?"
            r"(?:pain|symptoms|headaches?|spasms?|sleep|anxiety|depression|heartburn|reflux)\b"
        ),
        _re(
            r"\b(?:pain|symptoms|headaches?|headache days|spasms?|sleep|PHQ-9|score|VAS|NRS|pain level)\b "
            r"(?:\w+ ){0,2}?(?:improved|decreased|reduced|better|resolved|lessened)\b|\bsleep\w* better\b|\bdown to \d"
        ),
        _re(
            r"\b\d{1,2}/10 (?:with|on)\b.{0,30}?\b\d{1,2}/10 without|\b\d{1,2}/10 without\b.{0,30}?\b\d{1,2}/10 with\b|"
            r"\b\d{1,2}/10 (?:versus|vs\.?) \d{1,2}/10 without|\bfrom \d{1,2}/10 to \d{1,2}/10|"
            r"\bwith (?:the )?(?:medications?|meds?|it)\b (?:versus|vs\.?|compared)"
        ),
        _re(
            r"\bhelp(?:s|ed)\b|\bbenefit(?:s|ed|ted|ting)?\b|\bbeneficial\b|"
            r"\b(?:good|some|partial|significant|excellent) (?:effect|results?|relief|response)\b"
        ),
        _re(
            r"\b(?:good|partial|adequate|excellent|significant|positive) (?:response|results?)\b|"
            r"\bresponded (?:well )?to\b|"
            r"\bcontrols? (?:his |her |the )?(?:\w+ )?(?:pain|symptoms|heartburn|reflux)|\bresolution of\b|"
            r"\b(?:is |was |been |remains )effective\b|\bworks? well\b|\befficacy\b"
        ),
        *_FUNCTIONAL,
    ),
    "prior_sessions": _SESSIONS,
    "physical_examination": (
        _re(
            r"\b(?:physical |objective |clinical )?exam(?:ination)?s?\b(?:\s*:|\s+(?:shows?|showed|reveal\w*|notes?|"
            r"noted|demonstrat\w*|documents?|documented|remains?|findings|is significant|was significant|positive|"
            r"notable))|\bon (?:physical )?exam(?:ination)?\b|\bneuro(?:logical|logic)? exam\w*|"
            r"\bexam (?:is |was )?(?:normal|unremarkable|stable|unchanged)|\b(?:objective|physical|clinical|exam|"
            r"examination) findings\b|\b(?:PE|objective(?: findings)?|O)\s*:\s"
        ),
        _re(
            r"\b(?:TTP|tender(?:ness)?|spasms?|guarding|crepitus|effusion|swelling|warmth|erythema|atrophy|deformity|"
            r"allodynia|painful arc|laxity|antalgic|palpation|palpable|percussion)\b|"
            r"\b(?:no|without|negative|neg) (?:\w+ ){0,2}(?:tenderness|spasms?|effusion|swelling|deformity|atrophy)"
        ),
        _re(
            r"\b(?:ROM|range of motion)\b|\b(?:flexion|extension|rotation|abduction|adduction|dorsiflexion|"
            r"plantarflexion)\b(?: \w+){0,3} (?:\d+|limited|decreased|restricted|full|improved)|\b\d{1,3} degrees\b"
        ),
        _re(
            r"(?<![\d/])[0-5][+-]?/5(?![\d/])|\b(?:strength|motor|grip)\b (?:\w+ ){0,3}?(?:\d|intact|normal|full|"
            r"decreased|diminished|reduced|weak)|\bfull strength\b|\bgrip strength\b"
        ),
        _re(
            r"\b(?:SLR|straight[- ]leg[- ]rais\w*|Spurling\W?s?|Tinel\W?s?|Phalen\W?s?|McMurray|Hawkins|Neer|drawer|"
            r"Lachman|Gaenslen|FABER|FADIR|thigh thrust|facet loading|Finkelstein|Apley|Kemp\W?s?|Hoffmann?|Babinski|"
            r"Romberg|O'Brien|Yergason|empty can|impingement signs?|Waddell)\b"
        ),
        _re(
            r"\b(?:DTRs?|deep tendon reflexes|reflex(?:es)?|sensation|two-point discrimination|monofilament|gait)\b|"
            r"\bneurologically intact\b|\bincision (?:is )?(?:healing|clean|well[- ]healed)|\bwell[- ]healed incision"
        ),
    ),
    "neurological_findings": (
        _re(rf"\bradiat\w* (?:\w+ ){{0,5}}?(?:the |his |her |both |bilateral )?(?:right |left |R |L )?{_LIMB}\b"),
        _re(
            r"\bradicul\w*|\bsciatica\b|\bneuropath\w*|\bneuralgia\b|\bneuritis\b|\bmyelopathy\b|\ballodynia\b|"
            r"\bdysesthesi\w*|\bparesthesi\w*|\bnumb\w*|\btingl\w*|\bN/T\b|\bpins and needles\b|\bdermatom\w*|"
            r"\bcarpal tunnel syndrome\b|\bCTS\b|\bcubital tunnel\b|\bfoot drop\b|\bthenar atrophy\b|\bsaddle an\w*|"
            r"\bnerve (?:root )?(?:impingement|compression|entrapment|irritation|damage)\b|"
            r"\b(?:compressing|contacting|impinging|abutting) (?:the )?(?:\w+ ){0,2}(?:nerve|root)|"
            r"\b(?:sensory|motor|neurolog\w*) (?:deficits?|loss|changes)\b|\bfocal (?:neurolog\w* )?deficits?\b"
        ),
        _re(
            r"\b(?:decreased|diminished|reduced|absent|loss of|altered|impaired|abnormal)\b (?:\w+ ){0,3}?(?:sensation|"
            r"sensory|reflex\w*|two-point|pinprick|light touch|vibration)|\b(?:sensation|reflex\w*|two-point "
            r"discrimination)\b (?:\w+ ){0,3}?(?:is |are |was |were )?(?:decreased|diminished|reduced|absent|impaired|"
            r"abnormal)"
        ),
        _re(
            r"\b(?:EHL|dorsiflexion|plantar ?flexion|tibialis anterior|toe extension|great toe|wrist extension|grip|"
            r"finger abduction|intrinsics?)\b(?: strength)? (?:\w+ ){0,2}?[0-4][+-]?/5(?![\d/])|"
            r"\b(?:achilles|patellar|biceps|triceps|brachioradialis)(?: reflex\w*)? (?:is |are |was )?(?:0|1\+|trace|"
            r"absent|diminished|decreased|hypoactive)|\b(?:0|1\+|trace) (?:at the |at )?(?:achilles|patellar|biceps|"
            r"triceps|brachioradialis)\b|\bhyporeflexi\w*"
        ),
        _re(
            rf"\b(?:pain|symptoms|burning|shooting|electric\w*) (?:\w+ ){{0,2}}?(?:down|into) (?:the |his |her |both )?"
            rf"(?:right |left |R |L |bilateral )?{_LIMB}\b"
        ),
        _re(
            r"\b(?:leg|arm|foot|ankle|EHL|hand|grip|quad\w*|hip flexor|dorsiflexion|plantarflexion|wrist|finger|toe|"
            r"extremity)\b (?:\w+ )?weakness|\bweakness (?:of|in) (?:the )?(?:\w+ ){0,2}(?:legs?|arms?|foot|feet|"
            r"ankles?|EHL|hands?|grip|dorsiflexion|plantarflexion|quad\w*|extremit\w*|hip flexors?)"
        ),
        _re(
            r"(?:\bpositive\b|\bpos\b|\(\+\)|\+)\s?(?:\w+ ){0,2}?(?:SLR|straight[- ]leg[- ]rais\w*|Spurling\W?s?|"
            r"Tinel\W?s?|Phalen\W?s?|slump|Hoffmann?|Babinski|femoral stretch)|\b(?:SLR|straight[- ]leg[- ]rais\w*|"
            r"Spurling\W?s?(?: test)?|Tinel\W?s?(?: sign)?|Phalen\W?s?(?: test| sign)?)\b\s?(?:test )?(?:is |was )?"
            r"(?:positive|\(\+\)|\+|pos\b)"
        ),
    ),
    "conservative_care": (
        _re(rf"\b{_FAILED}\b(?: [\w/,'-]+){{0,8}}? {_CONSERVATIVE}\b"),
        _re(rf"\b{_CONSERVATIVE}\b(?: [\w/,%'.-]+){{0,12}}? {_FAILED}"),
        _re(rf"\b{_GAIN}{_TRIED}(?: (?!post-?op)[\w/,:'()-]+){{0,6}}? {_CONSERVATIVE}\b"),
    ),
    "first_line_medication": (
        _re(rf"\b{_FIRST_LINE}\b"),
        _re(
            rf"\b(?:intoleran\w*|not tolerated|upset (?:his |her )?stomach|(?:GI|gastric|stomach) upset)\b|"
            rf"\b(?:(?:could|can) ?not|can't|unable to) (?:take|tolerate) (?:oral )?(?:\w+ )?"
            rf"(?:{_FIRST_LINE}|medications?|pills|it|them)\b"
        ),
    ),
    "home_exercise": (
        _re(
            r"\bhome (?:exercise|stretching|program|exercises|HEP|PT|therapy)\w*|\bHEP\b|"
            r"\bexercis\w* (?:\w+ ){0,2}at home|"
            r"\bhome[- ]based (?:exercise|program|stretching)|\bindependent (?:home )?(?:exercise )?program|"
            r"\bstretch\w* (?:\w+ ){0,2}at home|\bexercises? (?:from|on) (?:a )?(?:handout|video)|"
            r"\bself-directed (?:exercise|program)|\bindependent (?:home )?exercise"
        ),
    ),
    "imaging_findings": _STUDY_RESULTS,
    "repeat_study": (
        *_STUDY_RESULTS,
        _re(
            rf"\b(?:prior|previous|earlier|initial|last|old|recent|baseline|"
            rf"original)\b (?:[\w/-]+ ){{0,2}}?{_STUDY}\b"
        ),
        _re(rf"\b{_STUDY}\b (?:[\w-]+ ){{0,4}}?(?:on|in|from|dated|of) {_DATE}"),
        _re(
            rf"\b{_STUDY}\b (?:[\w-]+ ){{0,3}}?\(?(?:\d{{1,2}}/\d{{2,4}}|(?:19|20)\d\d)\b|\b\d{{4}} {_STUDY}\b|"
            rf"\bs/p (?:an? )?(?:[\w-]+ )?{_STUDY}\b"
        ),
        _re(
            rf"\b{_STUDY}\b (?:\w+ ){{0,3}}?(?:was|were|has been|have been) (?:done|performed|obtained|completed)|"
            rf"\b{_STUDY}\b (?:[\w-]+ ){{0,6}}?(?:done|performed|obtained) on\b|"
            rf"\b(?:had|underwent|has had) (?:an? )?(?:[\w-]+ ){{0,3}}?{_STUDY}\b"
        ),
    ),
    "red_flags": (
        _re(
            r"\bred[- ]flags?\b|\bcauda equina\b|\bfractur\w*|\bfx\b|\btumou?rs?\b|\bcancer\b|\bcarcinoma\b|"
            r"\bmalignan\w*|\bmetasta\w*|\blymphoma\b|\bmyeloma\b|\bleukemia\b|\bsarcoma\b|\binfect\w*|"
            r"\bosteomyelitis\b|\babscess\b|\bsepsis\b|\bseptic\b|\bdiscitis\b|\bfevers?\b|\bfebrile\b|\bchills\b|"
            r"\bweight loss\b|\bnight pain\b|\b(?:spinal|segmental|lumbar|cervical) instability\b|"
            r"\binstability (?:on|at|of) (?:flexion|the (?:lumbar|cervical|spine)|[LCT]\d)|\bdislocat\w*|"
            r"\bsaddle (?:an\w*|numbness|"
            r"paresthesi\w*)|\bincontinen\w*|\burinary retention\b|\b(?:bowel|bladder|urinary|fecal) (?:\w+ ){0,2}?"
            r"(?:incontinence|dysfunction|retention|changes|control|symptoms|complaints|problems)|"
            r"\b(?:progressive|progressing|worsening|increasing) (?:\w+ ){0,2}?(?:weakness|numbness|"
            r"deficits?|neurolog\w*|myelopathy)"
        ),
    ),
    "visit_limit": _SESSIONS,
    "duration_limit": (
        _re(
            rf"\b{_ON_TREATMENT}\b(?: [\w/.,'-]+){{0,8}}? (?:for|x|over) (?:the )?(?:past |last |over |more than |"
            rf"about |approximately |nearly |almost |at least )?(?:{_NUMBER}|several|many|a few|an?)[ -]{_UNIT}\b|"
            rf"\b{_ON_TREATMENT}\b(?: [\w/.,'-]+){{0,8}}? for (?:many |several )?years\b"
        ),
        _re(rf"\b{_MEDICATION}\b (?:[\w/.-]+ ){{0,4}}?\(?since (?:{_DATE}|\d{{4}})"),
        _re(rf"\b{_ON_TREATMENT}\b(?: [\w/.,'-]+){{0,7}}? since\b"),
        _re(rf"\bstarted (?:on )?(?:[\w/.-]+ ){{0,4}}?(?:{_NUMBER}|a few|several) {_UNIT} ago"),
        _re(rf"\b{_NUMBER}[ -]{_UNIT} of (?:\w+ ){{0,2}}?(?:{_CONSERVATIVE}|treatment|use)\b"),
        _re(
            r"\b(?:long[- ]term|chronic|ongoing|prolonged|continuous) (?:use|opioid (?:use|therapy)|therapy with|"
            r"prescription)"
        ),
    ),
    "risk_factors": (
        _re(
            r"\b(?:6[5-9]|[7-9]\d)[- ](?:year|yr)s?[- ]old\b|\bage[ds]? (?:of )?(?:6[5-9]|[7-9]\d)\b|"
            r"\b(?:6[5-9]|[7-9]\d) ?(?:years|yrs|yo|y/o)\b|\belderly\b|\bover (?:the age of )?65\b|"
            r"\b(?:is|aged?) (?:6[5-9]|[7-9]\d)\b(?! ?(?:mg|%|/|lbs|pounds|degrees|minutes|percent))"
        ),
        _re(
            r"\b(?:peptic |gastric |duodenal |stomach |bleeding )?ulcers?\b|\b(?:GI|gastrointestinal|upper GI) "
            r"(?:bleed\w*|hemorrhage|history|risk|symptoms|complaints|upset|events?)\b|\bGERD\b|\breflux\b|"
            r"\bdyspepsia\b|\bheartburn\b|\bgastritis\b|\bindigestion\b|\bupsets? (?:his |her )?stomach|"
            r"\bstomach upset\b|\bPUD\b|\bGIB\b"
        ),
        _re(
            r"\banticoagula\w*|\bblood thinners?\b|\b(?:warfarin|coumadin|plavix|clopidogrel|eliquis|apixaban|xarelto|"
            r"rivaroxaban|aspirin|prednisone)\b"
        ),
        _re(
            r"\bdiabet\w*|\bDM2?\b|\bT2DM\b|\bhypertensi\w*|\bHTN\b|\bhigh blood pressure\b|\bobes\w*|"
            r"\bBMI (?:of |is )?(?:3\d|4\d|5\d|6\d)|\bmorbid\w*|\bsmok\w*|\btobacco\b|\bnicotine\b|\bosteoporo\w*|"
            r"\bosteopenia\b|\bsleep apnea\b|\bOSA\b|\b(?:heart|cardiac|cardiovascular|coronary artery|renal|kidney|"
            r"liver|pulmonary) (?:disease|failure|insufficiency)\b|\bCAD\b|\bCHF\b|\bCKD\b|\bCOPD\b|\bcomorbid\w*|"
            r"\b(?:high|increased|elevated) risk\b|\brisk factors?\b|\b(?:Hb)?A1c\b|\bhyperlipidemia\b|"
            r"\b(?:metformin|insulin|glipizide|lisinopril|losartan|amlodipine|metoprolol|hydrochlorothiazide|HCTZ|"
            r"atorvastatin|simvastatin)\b|\b(?:cardiac|heart) history\b|\bmyocardial infarction\b|\bheart attack\b|"
            r"\bstroke\b|\bCVA\b|\batrial fibrillation\b|\bafib\b"
        ),
    ),
    "drug_monitoring": (
        _re(
            r"\bUDS\b|\bUDT\b|\butox\b|\burine (?:drug|tox\w*)(?: (?:screen\w*|test\w*|analys\w*))?|"
            r"\bdrug (?:screen\w*|test\w*)\b|"
            r"\btoxicology\b|\bCURES\b|\bPDMP\b|\bprescription (?:drug )?monitoring\b|\b(?:opioid|pain|narcotic|"
            r"medication|treatment) (?:\w+ )?(?:agreement|contract)\b|\bpill counts?\b|\b4 ?A'?s\b|\baberrant\b|"
            r"\bdrug[- ]seeking\b"
        ),
        _re(
            r"\b(?:no|denies|without|any) (?:\w+ ){0,3}?(?:side effects|adverse effects|aberrant|abuse|diversion|"
            r"misuse)|\b(?:side|adverse) effects?:? (?:were |are |have been )?(?:reviewed|discussed|monitored|assessed|"
            r"denied|none|"
            r"of|include|including|such as)|\b(?:side|adverse) effects?\s*:|\bas a side effect\b|"
            r"\bmonitor\w* (?:for )?(?:\w+ ){0,2}(?:side effects|"
            r"adverse|aberrant|compliance)|\bopioid risk tool\b|\bORT\b|\bSOAPP\b"
        ),
    ),
    "work_status": (
        _re(
            r"\bwork status\b|\b(?:modified|light|full|regular|restricted|usual|limited|sedentary|transitional) "
            r"(?:duty|duties|work)\b|\b(?:working|works|worked)\b(?: \w+){0,2}? (?:full|part)[- ]time\b|"
            r"\b(?:currently|not|no longer|been) working\b|\bno longer (?:works?|employed)\b|"
            r"\b(?:works?|working) (?:with|without) restrictions\b|\bwith restrictions\b|\brestrictions (?:of|"
            r"include)\b|"
            r"\boff (?:work|duty)\b|\bTTD\b|\bTPD\b|\btemporar\w* (?:totally|partially|total|partial) disab\w*|"
            r"\btotally disabled\b|\breturn(?:ed)? to work\b|\bwent back to (?:work|(?:\w+ )?duty)\b|\bRTW\b|"
            r"\bretired\b|"
            r"\bunemployed\b|\bP&S\b|\bpermanent and stationary\b|\bMMI\b|\bmaximum medical improvement\b|"
            r"\bon disability\b|\bworking as\b|\bworks as\b|\bwork restrictions\b|\bemployed (?:as|full|part)\b|"
            r"\b(?:he|she|patient|pt) (?:is|remains|continues) (?:currently )?working\b|\bcontinu\w* to work\b"
        ),
    ),
}
