"""Treatment category of a disputed item, from its name alone (known before IMR decides).

Ordered keyword rules: the first match wins, so more specific rules come first (a
"lidocaine injection" is an injection, not a topical). Names are matched case-insensitively.
"""

from __future__ import annotations

import re

_RULES: list[tuple[str, str]] = [
    (
        "behavioral_health",
        r"psych|cognitive behavio|\bcbt\b|biofeedback|counsel|hypnother|depress(ion|ive) (treat|therapy)",
    ),
    (
        "programs",
        r"functional restoration|\bfrp\b|work harden|work condition|rehabilitation unit|inpatient rehab|"
        r"skilled nursing|home (health|aide|care)|\bhha\b|nursing|partial hospital|detox|"
        r"weight loss program|gym|pool|aquatic",
    ),
    (
        "injections",
        r"inject|epidural|\besi\b|nerve block|facet|radiofrequency|ablation|trigger point|botox|"
        r"\bprp\b|platelet|synvisc|hyaluron|viscosupp|cortisone|steroid shot|medial branch",
    ),
    (
        "physical_medicine",
        r"physical therap|\bpt\b|occupational therap|\bot\b|chiro|manipulat|acupunct|massage|"
        r"physiother|therapeutic exercise|traction|spinolator|shockwave|\beswt\b|myofascial|"
        r"electrical (muscle )?stim|e-?stim|infrared|manual therap|exercise|hand therap|rehab",
    ),
    (
        "surgery",
        r"surg|arthroscop|-?ectomy\b|otomy\b|plasty|fusion|repair|decompression|"
        r"(tunnel|finger|tendon) release|orif|fixation|"
        r"replacement|arthrodesis|debridement|tenodesis|implant|assist\b|pre-?op|post-?op|anesthe",
    ),
    (
        "imaging_diagnostics",
        r"\bmri\b|magnetic resonance|\bct\b|cat scan|x-?ray|radiograph|ultrasound|sonogra|"
        r"\bemg\b|\bncv\b|\bncs\b|nerve conduction|electromyo|bone scan|\blabs?\b|laboratory|blood|"
        r"urine|drug screen|toxicology|\bekg\b|\becg\b|sleep study|polysom|diagnostic|scan|test",
    ),
    (
        "dme",
        r"\bdme\b|tens\b|\bunit\b|brace|splint|orthotic|orthosis|wheelchair|walker|cane\b|crutch|commode|"
        r"shower chair|bath|cushion|pillow|mattress|\bbed\b|cold therapy|hot/?cold|cryo|\bice\b|\bheat\b|"
        r"compression|"
        r"garment|sleeve|stocking|interferential|h-?wave|\bcpm\b|continuous passive|supplies|electrode|kit\b",
    ),
    (
        "evaluation_management",
        r"consult|referral|evaluat|follow[- ]?up|office visit|visit|exam\b|examination|"
        r"specialist|second opinion|transport|interpreter|report",
    ),
    (
        "topical_analgesics",
        r"topical|cream|gel\b|ointment|patch|lidoderm|lidopro|terocin|medi-?derm|compound|"
        r"capsaicin|flurbiprofen|ketoprofen|menthol|salicylate|lotion|spray|solution",
    ),
    (
        "opioids",
        r"norco|hydrocodone|oxycodone|percocet|oxycontin|tramadol|ultram|ultracet|nucynta|tapentadol|"
        r"morphine|ms contin|fentanyl|duragesic|hydromorphone|dilaudid|methadone|buprenorph|suboxone|"
        r"butrans|codeine|tylenol #|opioid|trezix|oxymorphone|opana|hysingla|zohydro",
    ),
    (
        "muscle_relaxants",
        r"flexeril|fexmid|flexmid|cyclobenzaprine|tizanidine|zanaflex|baclofen|methocarbamol|"
        r"robaxin|carisoprodol|soma\b|metaxalone|skelaxin|orphenadrine|norflex|muscle relax",
    ),
    (
        "nsaids",
        r"nsaid|naproxen|anaprox|ibuprofen|motrin|diclofenac|voltaren|meloxicam|mobic|celebrex|celecoxib|"
        r"etodolac|nabumetone|relafen|ketorolac|toradol|indomethacin|duexis|vimovo",
    ),
    (
        "neuropathic_agents",
        r"gabapentin|neurontin|lyrica|pregabalin|topiramate|topamax|carbamazepine|"
        r"anticonvuls|anti-?epilep",
    ),
    (
        "antidepressants_sleep",
        r"amitriptyline|nortriptyline|duloxetine|cymbalta|venlafaxine|effexor|trazodone|"
        r"sertraline|zoloft|fluoxetine|prozac|bupropion|wellbutrin|ambien|zolpidem|lunesta|"
        r"sonata|restoril|temazepam|xanax|alprazolam|ativan|lorazepam|klonopin|valium|"
        r"diazepam|benzodiazep|sleep|melatonin|antidepress",
    ),
    (
        "other_medications",
        r"\d\s*mg\b|mcg|tablet|capsule|\btab\b|#\s*\d|refill|prescription|medication|drug|"
        r"omeprazole|prilosec|pantoprazole|protonix|ranitidine|pepcid|famotidine|ondansetron|"
        r"zofran|viagra|sildenafil|cialis|laxative|senna|colace|docusate|supplement|vitamin",
    ),
]
_COMPILED = [(name, re.compile(pattern, re.IGNORECASE)) for name, pattern in _RULES]

_INJECTION = dict(_COMPILED)["injections"]
CATEGORIES: tuple[str, ...] = tuple(name for name, _ in _RULES) + ("other",)


def treatment_category(treatment: str) -> str:
    # Drug names are more specific than generic words like "unit" or "patch", so medication rules
    # get a first look when the name carries a dose.
    if re.search(r"\d\s*(mg|mcg|%)", treatment, re.IGNORECASE) and not _INJECTION.search(treatment):
        for name, pattern in _COMPILED:
            if name in _MEDICATION_CATEGORIES and pattern.search(treatment):
                return name
    for name, pattern in _COMPILED:
        if pattern.search(treatment):
            return name
    return "other"


_MEDICATION_CATEGORIES = {
    "opioids",
    "muscle_relaxants",
    "topical_analgesics",
    "nsaids",
    "neuropathic_agents",
    "antidepressants_sleep",
    "other_medications",
}
