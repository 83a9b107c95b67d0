"""What a request or case summary documents: per criterion, the patterns that find a mention of the
fact in one sentence (whether it is *polar*, a finding that "negative", "normal" or "intact" deny,
is marked in features/criteria_vocabulary.py). A mention counts when its context does not negate
it, make it hypothetical or give it to a relative (features/criteria_context.py); a few criteria
also need the neighbouring sentence (features/criteria_reading.py) or the request itself
(features/criteria_request.py). Clinical findings are in features/criteria_findings.py, the words
they share in features/criteria_terms.py.

Patterns that carry their own negation are assertions, not denials: "no aberrant behaviour"
documents drug monitoring, "without relief" a failed treatment, "not working" a work status. A
trigger inside a match does not modify it.

Reading conventions: rule book v2 (the "about" of tests/data/request_criteria_dev.json). Written
from the development sets (tests/data/request_criteria_dev.json, request_criteria_dev2.json), probe
sentences written for each convention (tests/data/request_criteria_probes.json) and the abbreviations such
requests use: PT, OT, HEP, NSAIDs, ROM, SLR, TTP, ESI, EMG/NCV, UDS, TTD, s/p, x6, w/o, c/w, N/T, h/o.
"""

from __future__ import annotations

import re

from features.criteria_findings import EXAMINATION, IMAGING_RESULTS, NEUROLOGICAL, PRIOR_STUDY, RED_FLAGS
from features.criteria_terms import DATE, FIRST_LINE, MEDICATION, NUMBER, SIDE_EFFECT, THERAPY, UNIT, icase

__all__ = ["DOCUMENTS", "FAILED", "GAIN", "NONE_ABERRANT", "NO_FUNCTION", "PERSISTS", "TRIED", "WALKS_UNAIDED"]


# A conservative measure that failed, helped only briefly or was not tolerated.
FAILED = (
    r"(?:(?:failed|failure of|fails|fail)\b(?! back)|despite|exhausted|refractory|(?:un|non-?)responsive|"
    r"(?:without|w/o|no|not|minimal|little|limited|gave no|provided no|with no) (?!(?:\w+ ){0,2}?function)"
    r"(?:\w+ ){0,2}?(?:relief|improvement|benefit|response|resolution|success|progress|change|help|reduction|gains?)|"
    r"did not (?:help|improve|provide|work|resolve|relieve|control)|(?:does|do) not (?:help|control|work)|"
    r"no longer (?:helps?|controls?|works?|effective)|(?:not|never) respond\w*|(?:has|have) not (?:helped|improved|"
    r"worked|resolved)|not (?:enough|sufficient|adequate|effective|helpful)|insufficient|inadequate|ineffective|"
    r"(?:temporary|temporarily|brief|briefly|short-term|short-lived|transient)(?: (?:relief|benefit|improvement|"
    r"response))?|wore off|help(?:ed|s)? (?:only )?(?:temporarily|briefly|minimally|a little|slightly|marginally)|"
    r"stopped (?:due to|because)|"
    r"discontinued|d/c'?e?d|(?:he|she|they) stopped (?:it|them|taking)|made (?:him|her|them) (?:\w+ )?(?:foggy|"
    r"dizzy|drowsy|sleepy|nauseated|nauseous|sick|confused|tired|groggy)|(?:pain|symptoms) (?:\w+ ){0,2}?"
    r"(?:prevents?|limits?|interferes? with)|(?:could|can) ?not tolerate|unable to (?:take|tolerate)|can't (?:take|"
    r"tolerate)|"
    r"intoleran\w*|"
    r"not tolerated|upset (?:his |her )?stomach|caused (?:\w+ ){0,2}?"
    + SIDE_EFFECT
    + r"|"
    + SIDE_EFFECT
    + r" (?:with|after)|declin\w* despite|(?:persistent|persisting|continued|continuing|ongoing|"
    r"residual) (?:\w+ ){0,2}?"
    r"(?:pain|symptoms)|(?:pain|symptoms) (?:\w+ ){0,2}?(?:persists?|persisted|continues?|remains?|recurred|returned)|"
    r"continues? to have (?:[\w/]+ ){0,2}?(?:pain|symptoms)|remains? symptomatic|(?:pain|symptoms|BDI|PHQ-9|scores?|"
    r"VAS)\b (?:\w+ ){0,2}?(?:is |was |remains? )?unchanged)"
)
# "No functional gains", "function unchanged": a failed course, unless the sentence also reports a gain.
NO_FUNCTION = (
    r"(?:without|w/o|no|minimal|little) (?:(?!documentation|documented|evidence|record)\w+ ){0,2}?function\w* "
    r"(?:improvement|gains?|change|benefit)(?! (?:is |was |has been )?(?:documented|noted|recorded|provided))|"
    r"(?:function\w*|ADLs?) (?:is |are |was |were |remains? )?unchanged"
)
# A course of care tried before: with a failure in the next sentence, a failed course.
TRIED = (
    r"(?:tried|trials? of|has had|had|completed|attended|underwent|undergone|done|treated with|received|"
    r"(?:treatments?|tx|therapies)(?: [\w-]+){0,3}? (?:has |have )?(?:include[sd]?|including|consisted of)|"
    r"(?:treatments?|tx) to date|prior|previous(?:ly)?):?"
)
PERSISTS = (
    r"(?:(?:pain|symptoms)(?: level)? (?:\w+ ){0,2}?(?:remains?|persists?|continues?|unchanged)|"
    r"no (?:documentation of |documented )?(?:\w+ ){0,2}?(?:improvement|benefit|relief|gains)|unchanged|"
    r"still (?:has|having|with|reports) (?:\w+ )?(?:pain|symptoms)|continues? to (?:have|report) (?:\w+ )?"
    r"(?:pain|symptoms))"
)
# A sentence that reports a gain is a course that worked, not one that failed.
GAIN = (
    r"\b(?:improv\w*|better|good|excellent|great|success\w*|resolv\w*|decreas\w*|reduc\w*|relie\w*|help(?:s|ed)|"
    r"benefit\w*|gains?|returned to|RTW|ambulat\w* (?:without|w/o))(?:\W|$)"
)
# "No aberrant behaviour": a finding of monitoring only for someone on a controlled drug (criteria_request.py).
NONE_ABERRANT = icase(
    r"\b(?:no|denies|without|any) (?:(?!documentation|documented|evidence|record|mention|monitoring|history|hx)\w+ )"
    r"{0,3}?(?:aberrant|abuse|diversion|misuse)"
)
_ON_TREATMENT = (
    r"(?:on|taking|taken|takes|using|used|uses|prescribed|doing|done|tried|trialed|wearing|wore|worn|continued|"
    r"maintained|receiving|received|attend\w*|failed|had|has had|appl(?:ied|ying|ies))(?! (?:light|modified|full|"
    r"regular|restricted|"
    r"temporary|total) duty| TTD| TPD| disability| leave)"
)

# "Walks without a cane": a gain only where the sentence ties it to a treatment or a change (criteria_request.py).
WALKS_UNAIDED = icase(
    r"\b(?:walk\w*|ambulat\w*|climb\w* stairs) (?:\w+ ){0,2}(?:without|w/o) (?:an? )?(?:crutch\w*|cane|walker|"
    r"assistive|assistance)"
)
_FUNCTIONAL = (
    icase(
        r"\bfunction(?:al)? (?:improvement|gains?|benefit)|\bfunction(?:ing)? (?:has |is )?improved|"
        r"\bfunctional (?:status|capacity|level|abilit\w*|tolerance) (?:has |have |is )?(?:improved|increased)"
    ),
    icase(
        r"\bimprov\w* (?:in |of |with )?(?:his |her |the )?(?:\w+ )?(?:function\w*|ADLs?|activities|tolerance|"
        r"distance|mobility|range of motion|ROM|strength|grip|endurance|ability|transfers|balance)"
    ),
    icase(
        r"\b(?:flexion|extension|rotation|abduction|ROM|range of motion|strength|grip(?: strength)?|mobility|"
        r"tolerance|endurance|function|ADLs?|transfers|lifting|walking|sitting|standing)\b "
        r"(?:(?!not|no|never)\w+ ){0,4}?(?:has |have |is |was )?(?:improved|increased)\b"
    ),
    icase(r"\b(?:better|increased|greater) (?:ability|tolerance|function\w*|mobility|range of motion|strength)"),
    icase(
        r"\bcan now\b|\bnow (?:able|walks?|ambulat\w*|drives?|climbs?|lifts?|independent)\b|"
        r"\b(?:transfers|ambulation|walking|ADLs?|dressing|bathing) (?:are |is )?(?:now )?independent\b|"
        r"\bis (?:now )?able to\b|\bresum\w*|"
        r"\breturn(?:ed)? to (?:social |daily |normal |usual )?(?:activities|hobbies|the gym|exercis\w*|sports?|"
        r"driving)"
    ),
    icase(
        r"\b(?:can|able to) (?:now )?(?:stand|walk|sit|drive|cook|shop|lift|work|dress|bathe|climb|carry|garden|"
        r"exercise|play|perform|do|return|tolerate|attend|keep)\b(?! less| only| no more| fewer)"
    ),
    icase(
        r"\b(?:ODI|Oswestry|NDI|neck disability index|DASH|QuickDASH|LEFS|functional (?:score|index|scale))\b "
        r"(?:\w+ ){0,2}?(?:improved|decreased|reduced|better|down)|\bup from\b|"
        r"\b(?:walk\w*|sitting|standing|lifting) (?:tolerance|distance) (?:\w+ ){0,2}?(?:from|up to)\b"
    ),
    icase(
        r"\b(?:allows?|allowed|allowing|enables?|enabled|lets) (?:him|her|them|the patient)\b|"
        r"\bhelps? (?:him|her) (?:get through|do|work|perform|function|keep)\b|"
        r"\bhelp\w* (?:with|improve) (?:his |her )?(?:\w+ ){0,1}(?:ROM|range of motion|function|mobility|strength|"
        r"walking|ADLs)\b"
    ),
    WALKS_UNAIDED,
    icase(
        r"\b(?:went|returned|got|is|was) (?:back )?to (?:work|(?:full|regular|modified|light|usual) duty)|"
        r"\bRTW\b|\b(?:reduc|decreas)\w* (?:in |of )?(?:\w+ ){0,2}work restrictions\b|"
        r"\brestrictions (?:were |have been )?(?:lifted|reduced|decreased)"
    ),
)
_BENEFIT = (
    r"(?:pain|symptoms|headaches?|headache days|spasms?|spasticity|sleep|mood|anxiety|depression|heartburn|reflux|"
    r"swelling|numbness|tingling|stiffness|cravings?)"
)
_SESSIONS = (
    icase(
        r"(?<!additional )(?<!add'l )(?<!another )(?<!further )(?<!more )(?<!therapy )(?<!PT )(?<!OT )"
        r"(?<!chiropractic )(?<!acupuncture )(?<!massage )(?<!CBT )(?<!sessions )(?<!visits )"
        rf"\b{NUMBER} (?:of \d+ )?(?:(?!additional|more|add'l|further|another)[\w/'()-]+ ){{0,4}}?"
        r"(?:sessions?|visits?|treatments)\b"
    ),
    icase(
        r"(?<!additional )(?<!add'l )(?<!further )(?<!more )\b(?:PT|P/T|physical therapy|physiotherapy|OT|"
        r"occupational therapy|therapy|chiro\w*(?: care| treatments?)?|acupuncture|massage|aquatic therapy|CBT|"
        r"psychotherapy|sessions?|visits?) ?[x\u00d7] ?\d{1,2}\b(?!/)"
    ),
    icase(
        rf"\bs/p {NUMBER} (?:[\w-]+ ){{0,2}}?(?:PT|OT|chiro\w*|acupuncture|physical therapy|therapy|CBT|massage|"
        r"sessions|visits|treatments)\b|"
        rf"\b(?:completed|attended|had|underwent|received|finished)\b (?:\w+ )?{NUMBER} (?:[\w-]+ ){{0,2}}?"
        r"(?:PT|OT|chiro\w*|acupuncture|physical therapy|therapy|CBT|massage)\b|"
        rf"\b(?:completed|attended)\b {NUMBER} days? (?:\(\d+ hours\) )?of (?:FRP|functional restoration|"
        r"work (?:hardening|conditioning))"
    ),
)

DOCUMENTS: dict[str, tuple[re.Pattern[str], ...]] = {
    "functional_improvement": _FUNCTIONAL,
    "treatment_response": (
        icase(r"(?<!for )(?<!for pain )(?<!provide )(?<!provide pain )\brelie(?:f|ved)\b"),
        icase(
            r"\b\d{1,3} ?(?:%|percent) (?:relief|improvement|reduction|better|decrease)|\b\d{1,2}[- ]point (?:\w+ )?"
            r"(?:reduction|decrease|improvement|drop)|\b(?:pain|symptom) (?:reduction|improvement)\b"
        ),
        icase(
            rf"\b(?:improv|reduc|decreas|lessen|alleviat|eas)\w* (?:in |of )?(?:his |her |the )?(?:\w+ ){{0,2}}?"
            rf"{_BENEFIT}\b"
        ),
        icase(
            rf"\b(?:{_BENEFIT}|PHQ-9|BDI|score|VAS|NRS|pain level)\b (?:(?!not|no|never)\w+ ){{0,2}}?(?:improved|"
            r"decreased|reduced|"
            r"better|resolved|lessened|decreasing)\b|\bsleep\w* better\b|\bdown to \d|\bno (?:relapse|recurrence)\b|"
            r"\b(?:wound|ulcer) (?:is )?(?:decreasing|healing|smaller|improving)"
        ),
        icase(
            r"\b\d{1,2}/10 (?:with|on)\b.{0,30}?\b\d{1,2}/10 without|\b\d{1,2}/10 without\b.{0,30}?\b\d{1,2}/10 with\b|"
            r"\b\d{1,2}/10 (?:versus|vs\.?) \d{1,2}/10 without|\bfrom \d{1,2}/10 to \d{1,2}/10|"
            r"\b\d{1,2}/10 ?(?:->|-->|\u2192) ?\d{1,2}/10|"
            r"\bwith (?:the )?(?:medications?|meds?|it)\b (?:versus|vs\.?|compared)|\bversus \d{1,2} without\b"
        ),
        icase(
            rf"\bhelp(?:s|ed)\b|\b(?:{THERAPY}|treatments|sessions|visits|pills|patches|they|these|both) help\b|"
            r"\bbenefit(?:s|ed|ted|ting)?\b|\bbeneficial\b|"
            r"\b(?:good|some|partial|significant|excellent) (?:effect|results?|relief|response|improvement)\b"
        ),
        icase(
            r"\b(?:good|partial|adequate|excellent|significant|positive) (?:response|results?)\b|"
            r"\bresponded (?:well )?to\b|"
            r"(?<!longer )(?<!not )(?<!n't )\bcontrols? (?:his |her |the )?(?:\w+ )?(?:pain|symptoms|heartburn|reflux)|"
            r"\bresolution of\b|"
            r"\b(?:is |was |been |remains )effective\b|\bworks? well\b|\befficacy\b"
        ),
        *_FUNCTIONAL,
    ),
    "prior_sessions": _SESSIONS,
    "physical_examination": EXAMINATION,
    "neurological_findings": NEUROLOGICAL,
    "conservative_care": (
        icase(rf"\b{FAILED}\b,?(?: [\w/,'-]+){{0,8}}? {THERAPY}\b"),
        icase(rf"\b{THERAPY}\b,?(?: [\w/,%'.()-]+){{0,12}}? {FAILED}"),
        # the weak failures (features/criteria_request.py reads these two only where no gain is reported)
        icase(rf"\b{NO_FUNCTION}\b,?(?: [\w/,'-]+){{0,8}}? {THERAPY}\b"),
        icase(rf"\b{THERAPY}\b,?(?: [\w/,%'.()-]+){{0,12}}? {NO_FUNCTION}"),
    ),
    "first_line_medication": (icase(rf"\b{FIRST_LINE}\b"),),
    "home_exercise": (
        icase(
            r"\bhome (?:exercis|stretch|program|HEP|walking)\w*|\bHEP\b|"
            r"\b(?:exercis|walk|stretch)\w* (?:[\w-]+ ){0,4}?at home\b|\bwalking program\b|"
            r"\bhome[- ]based (?:exercise|program|stretching)|\bindependent (?:home )?(?:exercise )?program|"
            r"\bstretch\w* (?:\w+ ){0,2}at home|\bexercises? (?:from|on) (?:a )?(?:handout|video)|"
            r"\bself-directed (?:exercise|program)|\bindependent (?:home )?exercise"
        ),
    ),
    "imaging_findings": IMAGING_RESULTS,
    "repeat_study": PRIOR_STUDY,
    "red_flags": RED_FLAGS,
    "visit_limit": _SESSIONS,
    "duration_limit": (
        icase(
            rf"\b{_ON_TREATMENT}\b(?: [\w/.,'-]+){{0,8}}? (?:for|x|over) (?:the )?(?:past |last |over |more than |"
            rf"about |approximately |nearly |almost |at least )?(?:{NUMBER}|several|many|a few|an?)[ -]{UNIT}\b|"
            rf"\b{_ON_TREATMENT}\b(?: [\w/.,'-]+){{0,8}}? for the (?:past|last) {UNIT}\b|"
            rf"\b{MEDICATION}\b(?: (?!requested|request|refill|supply|trial)[\w/.,'-]+){{0,4}}? for (?:the )?(?:past |"
            rf"last )?(?:(?:{NUMBER}|several|many) {UNIT}|(?:many |several )?years)\b|"
            rf"\b{_ON_TREATMENT}\b(?: [\w/.,'-]+){{0,8}}? for (?:many |several )?years\b"
        ),
        icase(rf"\b{MEDICATION}\b (?:[\w/.-]+ ){{0,4}}?\(?since (?:{DATE}|\d{{4}})"),
        icase(rf"\b(?!failed){_ON_TREATMENT}\b(?: [\w/.,'-]+){{0,7}}? since\b"),
        icase(
            rf"\bstarted (?:on )?(?:[\w/.-]+ ){{0,4}}?(?:(?:{NUMBER}|a few|several) {UNIT} ago|last {UNIT}|in {DATE}|"
            rf"on {DATE}|{DATE})|\b(?:prescribed|began|initiated) (?:[\w/.-]+ ){{0,3}}?(?:in|since) {DATE}|"
            rf"\b(?:switched|changed|transitioned) to (?:[\w/.-]+ ){{1,3}}?(?:in|on) {DATE}|"
            rf"\b{MEDICATION} (?:was )?(?:started|initiated|begun) (?:in |on )?{DATE}"
        ),
        icase(
            rf"\b{NUMBER}[ -]{UNIT} of (?:\w+ ){{0,2}}?(?:{THERAPY}|treatment|use)\b|\b{NUMBER}[ -]{UNIT} (?:course|"
            rf"trial) of \w+"
        ),
        icase(rf"\b{THERAPY} (?:[\w/.,-]+ ){{0,4}}?over the (?:past|last) (?:{NUMBER} )?{UNIT}\b"),
        icase(
            r"\b(?:long[- ]term|chronic|ongoing|prolonged|continuous) (?:use|opioid (?:use|therapy)|therapy with|"
            r"prescription)"
        ),
    ),
    "risk_factors": (
        icase(
            r"\b(?:6[5-9]|[7-9]\d)[- ](?:year|yr)s?[- ]old\b|\bage[ds]? (?:of )?(?:6[5-9]|[7-9]\d)\b|"
            r"\b(?:6[5-9]|[7-9]\d) ?(?:years|yrs|yo|y/o)\b|\belderly\b|\bover (?:the age of )?65\b|"
            r"\b(?:is|aged?) (?:6[5-9]|[7-9]\d)\b(?! ?(?:mg|%|/|lbs|pounds|degrees|minutes|percent))"
        ),
        icase(
            r"\b(?:peptic |gastric |duodenal |stomach |bleeding )?ulcers?\b|\b(?:GI|gastrointestinal|upper GI) "
            r"(?:bleed\w*|hemorrhage|history|risk|symptoms|complaints|upset|events?)\b|\bGERD\b|\breflux\b|"
            r"\bdyspepsia\b|\bheartburn\b|\bgastritis\b|\bindigestion\b|\bupsets? (?:his |her )?stomach|"
            r"\bstomach upset\b|\bepigastric pain\b|\bPUD\b|\bGIB\b"
        ),
        icase(
            r"\banticoagula\w*|\bblood thinners?\b|\bantiplatelet\w*|\b(?:warfarin|coumadin|plavix|clopidogrel|"
            r"eliquis|apixaban|xarelto|rivaroxaban|aspirin|prednisone)\b"
        ),
        icase(
            r"\bdiabet\w*|\bDM2?\b|\bT2DM\b|\bhypertensi\w*|\bHTN\b|\bhigh blood pressure\b|\bobes\w*|"
            r"\bBMI (?:of |is )?(?:3\d|4\d|5\d|6\d)|\bmorbid\w*|(?<!non-)(?<!non)\bsmok\w*|\btobacco\b|\bnicotine\b|"
            r"\bosteoporo\w*|"
            r"\bosteopenia\b|\bsleep apnea\b|\bOSA\b|\b(?:heart|cardiac|cardiovascular|coronary artery|renal|kidney|"
            r"liver|pulmonary) (?:disease|failure|insufficiency)\b|\bCAD\b|\bCHF\b|\bCKD\b|\bCOPD\b|\bcomorbid\w*|"
            r"\b(?:high|increased|elevated) risk\b|\brisk factors?\b|\b(?:Hb)?A1c\b|\bhyperlipidemia\b|"
            r"\b(?:metformin|insulin|glipizide|lisinopril|losartan|amlodipine|metoprolol|hydrochlorothiazide|HCTZ|"
            r"atorvastatin|simvastatin)\b|\b(?:cardiac|heart) (?:history|stent)\b|\bstents?\b|"
            r"\bmyocardial infarction\b|\bMI\b|\bheart attack\b|\bstroke\b|\bCVA\b|\batrial fibrillation\b|\bafib\b|"
            r"\b(?:cardiac )?arrhythmi\w*|\bQT prolongation\b|\bcoronary\b"
        ),
        icase(
            r"(?<!from a )(?<!after a )(?<!in a )\b(?:falls?|fell|falling)\b(?! at work| from| off| on the job)|"
            r"\bunsteady\b|\bpoor balance\b|\b(?:alcohol|opioid|substance|drug|"
            r"benzodiazepine|polysubstance|cocaine|heroin|methamphetamine)(?: use)? (?:abuse|use disorder|dependence|"
            r"addiction|misuse)|\b(?:alcoholism|addiction|OUD)\b|\bhistory of (?:\w+ )?(?:abuse|overdose)\b"
        ),
    ),
    "drug_monitoring": (
        icase(
            r"\bUDS\b|\bUDT\b|\butox\b|\burine (?:drug|tox\w*)(?: (?:screen\w*|test\w*|analys\w*))?|"
            r"\bdrug (?:screen\w*|test\w*)\b|"
            r"\btoxicology\b|\bCURES\b|\bPDMP\b|\bprescription (?:drug )?monitoring\b|\b(?:opioid|pain|narcotic|"
            r"medication|treatment) (?:\w+ )?(?:agreement|contract)\b|\bpill counts?\b|\b4 ?A'?s\b|\baberrant\b|"
            r"\bdrug[- ]seeking\b"
        ),
        icase(
            r"\b(?:no|denies|without|any) (?:(?!documentation|documented|evidence|record|mention|monitoring)\w+ ){0,3}?"
            r"(?:side effects|adverse effects)|\b(?:side|adverse) effects?:? (?:were |are |have been )?(?:reviewed|"
            r"discussed|monitored|assessed|"
            r"denied|none|re-?checked|checked|of|include|including|such as)|\b(?:side|adverse) effects?\s*:|"
            r"\bas a side effect\b|\bmonitor\w* (?:for )?(?:\w+ ){0,2}(?:side effects|adverse|aberrant|compliance)|"
            r"\bopioid risk tool\b|\bORT\b|\bSOAPP\b|\bno side effects\b"
        ),
        NONE_ABERRANT,
        icase(
            r"\b(?:LFTs?|liver (?:function )?(?:tests?|enzymes)|renal function|kidney function|creatinine|BUN|CMP|"
            r"QTc|EKG|ECG)\b (?:\w+ ){0,3}?(?:checked|monitored|obtained|normal|reviewed|stable|within normal limits|"
            r"done|performed|was|were)"
        ),
    ),
    "work_status": (
        icase(
            r"\bwork status\b|\bWS\s*:|\b(?:modified|mod|light|lt|full|regular|reg|restricted|usual|limited|"
            r"sedentary|transitional) (?:duty|duties|work)\b|\brestrictions\s*:|\b(?:working|works|"
            r"worked)\b(?: \w+){0,2}? (?:full|part)[- ]time\b|"
            r"\b(?:currently|not|no longer|been) working\b|\bno longer (?:works?|employed)\b|"
            r"\b(?:has|have) not worked\b|\bhasn't worked\b|"
            r"\b(?:works?|working) (?:with|without) restrictions\b|\bwith restrictions\b|\brestrictions (?:of|"
            r"include)\b|\boff (?:work|duty)\b|\bTTD\b|\bTPD\b|\btemporar\w* (?:totally|partially|total|partial) "
            r"disab\w*|\btotally disabled\b|\breturned to (?:work|(?:\w+ )?duty)\b|\bwent back to (?:work|(?:\w+ )?"
            r"duty)\b|\bback to (?:work|(?:\w+ )?duty)\b|\bRTW\b|\bretired\b|\bunemployed\b|\bon disability\b|"
            r"\bwork restrictions\b|\bemployed (?:full|part)\b|\b(?:he|she|patient|pt) (?:is|remains|continues) "
            r"(?:currently )?working\b|\bcontinu\w* to work\b|^(?:currently |is |pt |patient )?working\b"
        ),
    ),
}
