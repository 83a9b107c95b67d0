"""Studies behind the product's choices, not part of it: each is a package with its code, its tests
under tests/research/ and its write-up (README.md), run from the repository root as
`python -m research.<study>`. They use the product (training, serving, features); product code never
imports them, and they are not installed with the package.

- signal_hypotheses: which signal generalizes across letters? (issue 9)
- transformer_recipes: which transformer recipe for a few hundred items? (issue 18)
"""
