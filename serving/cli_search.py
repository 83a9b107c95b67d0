"""`imr search QUERY`: the decided items like a request, from a model's precedents index
(serving/precedents.py), as JSON Lines: one item per case, the query's treatment category first, then the most
similar, none under the similarity cut-off. When fewer than --k are close enough, stderr says so
("no close precedent in the 336 decided items ...") and the exit status is still 0."""

from __future__ import annotations

import argparse
import json
import sys

from features.letter import LABEL_NAMES


def add_search_command(sub) -> None:
    p = sub.add_parser("search", help="find decided items (precedents) like a treatment request")
    p.add_argument("query", help="the treatment and, optionally, its clinical context, as free text")
    p.add_argument(
        "--model",
        required=True,
        help="models:/NAME/VERSION, models:/NAME@ALIAS, runs:/ID/model or a folder (its precedents index)",
    )
    p.add_argument("--k", type=int, default=5, help="how many items (default 5)")
    p.add_argument("--decision", choices=LABEL_NAMES, help="only items with this decision")
    p.add_argument("--category", help="only items of this treatment category (e.g. opioids, imaging_diagnostics)")
    p.add_argument("--since", help="only items decided on or after this date (YYYY-MM-DD)")
    p.add_argument("--until", help="only items decided on or before this date (YYYY-MM-DD)")
    p.add_argument(
        "--min-similarity",
        type=float,
        help="show nothing less similar than this (0-1; default: the cut-off chosen on labelled queries, "
        "serving.precedents.MIN_SIMILARITY; at least serving.precedents.FLOOR)",
    )
    p.set_defaults(func=cmd_search)


def cmd_search(args: argparse.Namespace) -> int:
    from serving.model_dir import ModelIntegrityError
    from serving.precedents import Filters, PrecedentQueryError
    from serving.predictor import ModelNotFoundError, load_predictor

    if args.k < 1 or not args.query.strip():
        print("imr search: give a non-empty QUERY and --k of at least 1", file=sys.stderr)
        return 2
    try:
        predictor = load_predictor(args.model)
        if predictor.precedents is None:
            print(
                f"imr search: model {args.model!r} has no precedents index (packaged before it existed: retrain it)",
                file=sys.stderr,
            )
            return 2
        filters = Filters(args.decision, args.category, args.since, args.until)
        # The query is a request whose treatment is the free text (its category is inferred from it).
        found = predictor.precedents.close_precedents(
            {"treatment": args.query}, args.k, filters, None, args.min_similarity
        )
    except (ModelNotFoundError, ModelIntegrityError, PrecedentQueryError) as exc:
        print(f"imr search: {exc}", file=sys.stderr)
        return 2
    sys.stdout.write("".join(json.dumps(row) + "\n" for row in found.rows))
    if found.note:
        print(f"imr search: {found.note}", file=sys.stderr)
    return 0
