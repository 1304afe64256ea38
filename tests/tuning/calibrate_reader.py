"""Fit the reader's answer threshold on the SQuAD validation articles, as answers are served.

    python tests/tuning/train_reader.py --squad ../shared/data/squad_v2_train_split \
        --validation-folder /tmp/squad-validation --split-only
    python tests/tuning/calibrate_reader.py /tmp/squad-validation \
        [--store /tmp/squad-val-store] [--precision 0.6] [--write]

Every validation question (articles the reader was not trained on) is asked over a store of
all the validation paragraphs, through the whole answerer (retrieval, preselection, reader),
and its best sentence's probability kept. The threshold is the lowest at which the answers
given are right for at least --precision of them, answerable and unanswerable questions
pooled (an answer to an unanswerable question is wrong). Printed: that table, strictly
scored, with 95 % intervals; --write puts the threshold in server/answers/reader.json.
"""

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from server.components.evaluation import evaluate_answers  # noqa: E402
from server.evaluation import QAOutcome, wilson  # noqa: E402
from server.settings import Settings  # noqa: E402

MANIFEST = ROOT / "server" / "answers" / "reader.json"


def at_threshold(outcomes: list[QAOutcome], threshold: float) -> dict[str, object]:
    """Strict figures of the answers given from `threshold` on."""

    def given(o: QAOutcome) -> bool:
        return o.confidence is not None and o.confidence >= threshold

    answerable = [o for o in outcomes if o.answerable]
    unanswerable = [o for o in outcomes if not o.answerable]
    right = sum(1 for o in answerable if given(o) and o.right)
    answered = sum(1 for o in outcomes if given(o))
    return {
        "threshold": round(threshold, 4),
        "right": wilson(right, len(answerable)).model_dump(),
        "answerable_refused": wilson(
            sum(1 for o in answerable if not given(o)), len(answerable)
        ).model_dump(),
        "unanswerable_refused": wilson(
            sum(1 for o in unanswerable if not given(o)), len(unanswerable)
        ).model_dump(),
        "precision": wilson(right, answered).model_dump(),
    }


def fitted(outcomes: list[QAOutcome], precision: float) -> dict[str, object]:
    """The lowest threshold whose pooled precision reaches `precision`."""
    for threshold in sorted({o.confidence for o in outcomes if o.confidence is not None}):
        row = at_threshold(outcomes, threshold)
        if row["precision"]["share"] >= precision:  # type: ignore[index]
            return row
    return at_threshold(outcomes, 1.0)


def show(row: dict[str, object]) -> str:
    def rate(name: str) -> str:
        r = row[name]
        low, high = r["low"], r["high"]  # type: ignore[index]
        return f"{r['count']}/{r['total']} = {r['share']:.1%} ({low:.1%} to {high:.1%})"  # type: ignore[index]

    return (
        f"threshold {row['threshold']}: right {rate('right')}; answerable refused "
        f"{rate('answerable_refused')}; unanswerable refused {rate('unanswerable_refused')}; "
        f"precision {rate('precision')}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("validation", type=Path, help="a SQuAD folder of validation articles")
    parser.add_argument("--store", type=Path, default=Path("/tmp/squad-val-store"))
    parser.add_argument("--precision", type=float, default=0.6)
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args()
    settings = Settings(store=args.store)
    report = evaluate_answers(settings, args.validation)
    outcomes = report.outcomes
    for threshold in (0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9):
        print(show(at_threshold(outcomes, threshold)))
    chosen = fitted(outcomes, args.precision)
    print(f"fitted for precision ≥ {args.precision:.0%}: {show(chosen)}")
    if args.write:
        manifest = json.loads(MANIFEST.read_text())
        manifest["threshold"] = chosen["threshold"]
        manifest["calibration"] = {
            "rule": f"lowest threshold with pooled precision >= {args.precision}",
            "set": f"SQuAD 2.0 validation articles {args.validation.name}",
            **chosen,
        }
        MANIFEST.write_text(json.dumps(manifest, indent=1) + "\n")
        print(f"wrote the threshold into {MANIFEST}")


if __name__ == "__main__":
    main()
