"""The model families. Each is a module (baseline, ensemble, transformer/) with its `model:` config
section, its `fit` and what it says about itself (describe, card_section), plus one entry in
registry.FAMILIES; family.py is the record an entry fills, packaging.py fits a family into the
packaged folder serving loads."""
