"""Words a request summary uses for the things the criteria are about: drugs by class, therapies,
studies, body regions, numbers and dates. Regular-expression fragments (strings, no groups that
capture), shared by the summary patterns (features/criteria_summary.py) and the readings that
need the request itself (features/criteria_request.py). `icase` compiles a pattern the way every
criteria module does: case-insensitive, since letters and requests capitalise at random."""

from __future__ import annotations

import re

__all__ = [
    "icase",
    "DATE",
    "FIRST_LINE",
    "LIMB",
    "MEDICATION",
    "NUMBER",
    "OPIOID",
    "REGIONS",
    "SIDE_EFFECT",
    "STUDIES",
    "STUDY",
    "THERAPY",
    "TOPICAL_AFTER",
    "UNIT",
]


def icase(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.IGNORECASE)


NUMBER = (
    r"(?:(?:\d+[-\u2013])?\d{1,3}\+?|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|"
    r"sixteen|eighteen|twenty|twenty-four|thirty)"
)
UNIT = r"(?:days?|weeks?|wks?|months?|mos?|years?|yrs?)"
DATE = (
    r"(?:\d{1,2}[/-]\d{1,2}[/-]\d{2,4}|\d{1,2}/\d{2,4}|(?:19|20)\d\d|"
    r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.? \d)"
)
# A topical form after a drug name: diclofenac gel is not a first-line (oral) drug.
TOPICAL_AFTER = (
    r"(?! (?:sodium |epolamine )?(?:\d+(?:\.\d+)? ?%? ?)?(?:gel|cream|patch\w*|solution|topical|ointment|lotion|"
    r"spray|drops))"
)
FIRST_LINE = (
    r"(?:(?<!topical )(?:NSAIDs?|anti-?inflammator\w*|diclofenac|ketoprofen)" + TOPICAL_AFTER + r"|ibuprofen|motrin|"
    r"advil|naproxen|naprosyn|anaprox|aleve|meloxicam|mobic|celecoxib|celebrex|etodolac|nabumetone|ketorolac|"
    r"toradol|indomethacin|acetaminophen|tylenol(?! #| with codeine| no\.? ?3)|apap|gabapentin|neurontin|"
    r"pregabalin|lyrica|topiramate|topamax|amitriptyline|elavil|nortriptyline|pamelor|duloxetine|cymbalta|"
    r"venlafaxine|effexor|milnacipran|savella|desipramine|imipramine|carbamazepine|tegretol|oxcarbazepine|relafen|"
    r"daypro|oxaprozin|piroxicam|feldene|salsalate|arthrotec|gralise|horizant|TCAs?|tricyclics?|SNRIs?|"
    r"anticonvulsants?|antidepressants?|first[- ]line (?:agents?|medications?|drugs?|oral \w+))"
)
OPIOID = (
    r"(?:norco|hydrocodone|vicodin|oxycodone|percocet|oxycontin|tramadol|ultram|ultracet|nucynta|tapentadol|"
    r"morphine|ms contin|fentanyl|duragesic|hydromorphone|dilaudid|methadone|buprenorphine|butrans|suboxone|"
    r"codeine|tylenol #\d|opioids?|opiates?|narcotics?)"
)
MEDICATION = (
    rf"(?:{FIRST_LINE}|{OPIOID}|medications?|meds|analgesics?|pain pills|muscle relaxants?|cyclobenzaprine|"
    r"flexeril|fexmid|tizanidine|zanaflex|methocarbamol|robaxin|baclofen|carisoprodol|soma|lidoderm|lidocaine|"
    r"melatonin|trazodone|zolpidem|ambien|sertraline|zoloft|omeprazole|famotidine|sleep aids?|"
    r"(?:migraine )?preventives?)"
)
# Non-operative care: therapy, medications, rest, bracing, home exercise, injections (not surgery).
THERAPY = (
    rf"(?:conservative (?:care|treatment|therapy|management|measures)|{MEDICATION}|(?:physical|occupational|hand|"
    r"aquatic|pool|manual|massage|land-based) therapy|therapy|physiotherapy|PT|OT|chiro\w*|acupuncture|massage|"
    r"rest|ice|heat|brac(?:e|es|ing)|splints?|splinting|orthotics?|TENS|traction|home (?:exercise|stretching)\w*|"
    r"HEP|home program|exercises?|stretching|activity modification|sleep hygiene(?: measures| counseling)?|"
    r"CBT|psychotherapy|fiber|relaxation|injections?|ESIs?|epidurals?|cortisone|steroid injection|"
    r"(?:trigger point|facet|joint) injections?|synvisc|viscosupplementation|hyaluronic acid|counterforce brace)"
)
STUDY = (
    r"(?:MRI|MRA|MR arthrogram|magnetic resonance imaging|CT(?: scan)?|CAT scan|x-?rays?|XRs?|radiographs?|films?|"
    r"imaging|ultrasound|sonogram|EMG(?:/NC[VS])?|NC[VS]|nerve conduction (?:velocity )?stud(?:y|ies)|"
    r"electrodiagnostic(?: stud(?:y|ies)| testing)?|bone scan|DEXA|DXA|myelogram|discogram|arthrogram|scan|"
    r"(?<!sleep )(?<!drug )stud(?:y|ies))"
)
# Modalities, for "a prior study of the same kind": the name a request or summary gives it -> the modality.
STUDIES: dict[str, str] = {
    "mri": r"\bMR(?:I|A)\b|\bMR arthrogram|\bmagnetic resonance",
    "ct": r"\bCT\b|\bCAT scan|\bcomputed tomograph",
    "xray": r"\bx-?rays?\b|\bXRs?\b|\bradiograph\w*|\bfilms?\b|\bplain films?",
    "electrodiagnostic": r"\bEMG\b|\bNC[VS]\b|\bnerve conduction|\belectrodiagnostic|\belectromyogra",
    "ultrasound": r"\bultrasound|\bsonogra\w*|\bUS\b",
    "bone_scan": r"\bbone scan",
    "dexa": r"\bDE?XA\b|\bbone density",
    "myelogram": r"\bmyelogra\w*",
    "discogram": r"\bdiscogra\w*",
}
# Body regions, for "the same region": region -> words that name it.
REGIONS: dict[str, str] = {
    "lumbar": r"\blumbar|\bL-?spine\b|\blumbosacral|\blow back|\bLS spine|\bL[1-5]\b|\bL\d-S1|\bS1\b|\blower back",
    "cervical": r"\bcervical|\bC-?spine\b|\bneck\b|\bC[2-8]\b",
    "thoracic": r"\bthoracic|\bT-?spine\b|\bthoracolumbar|\bT\d{1,2}\b",
    "shoulder": r"\bshoulders?\b|\brotator cuff|\bsupraspinatus|\blabr\w+",
    "knee": r"\bknees?\b|\bmenisc\w+|\bpatell\w+|\bACL\b",
    "hip": r"\bhips?\b|\bacetabul\w+",
    "hand_wrist": r"\bwrists?\b|\bhands?\b|\bfingers?\b|\bthumbs?\b|\bdistal radius|\bcarpal",
    "elbow": r"\belbows?\b|\bepicondyl\w+|\bcubital",
    "foot_ankle": r"\bankles?\b|\bfeet\b|\bfoot\b|\bcalcane\w+|\bplantar\b",
    "upper_limbs": r"\bupper (?:extremit\w+|limbs?)|\bUEs?\b|\barms?\b",
    "lower_limbs": r"\blower (?:extremit\w+|limbs?)|\bLEs?\b|\blegs?\b",
    "head": r"\bbrain\b|\bhead (?:CT|MRI|injury|trauma)|\bskull\b|\bintracranial",
}
LIMB = (
    r"(?:legs?|arms?|calf|calves|foot|feet|hands?|thighs?|toes?|fingers?|extremit\w*|buttocks?|UEs?|LEs?|"
    r"upper limb|lower limb|shin|ankle|forearms?|[RLB]LEs?|[RLB]UEs?)"
)
SIDE_EFFECT = (
    r"(?:nausea|vomiting|constipation|drowsiness|drowsy|sedation|sedated|somnolence|dizziness|dizzy|dyspepsia|"
    r"heartburn|(?:GI|gastric|stomach) upset|upset stomach|epigastric pain|weight gain|gained weight|edema|"
    r"swelling|dry mouth|itching|pruritus|rash|fatigue|confusion|cognitive (?:slowing|side effects)|headaches?|"
    r"insomnia|sweating|sexual dysfunction|word-finding difficult\w*)"
)
