"""`python -m research.transformer_recipes` (from the repository root): the study's command line."""

from research.transformer_recipes.study import main

main()
