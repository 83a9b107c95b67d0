"""`python -m research.signal_hypotheses` (from the repository root): the study's command line."""

from research.signal_hypotheses.study import main

main()
