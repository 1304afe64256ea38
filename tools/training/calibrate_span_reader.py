"""Fit the span reader's threshold from evaluation reports: for a stated precision, or as the
highest that refuses at most a stated share of the answerable questions.

    summit eval qa /tmp/squad-validation --store /tmp/squad-val-store --json > /tmp/squad.json
    summit eval qa ../shared/data/realtimeqa_2023_24 --store /tmp/news-store --json > /tmp/news.json
    python tools/training/calibrate_span_reader.py /tmp/squad.json --max-refused 0.10 \
        --also /tmp/news.json [--write]

The evaluation answers every question at threshold 0 and keeps each answer's confidence, so
one run scores every threshold. With --precision, the threshold is the lowest confidence
from which the first report's answers reach it; with --max-refused, the highest confidence
that refuses at most that share of its answerable questions (so it refuses the most
unanswerable ones it can within that bound). The table shows each report's figures at
thresholds around it. With --write it is stored in server/answers/span_reader.json, where
the reader reads it. A figure on a report the threshold was fitted on is a development
figure.
"""

import argparse
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from server.evaluation.answer_quality import wilson  # noqa: E402

MANIFEST = ROOT / "server" / "answers" / "span_reader.json"


def outcomes(report: Path) -> list[dict[str, Any]]:
    data = json.loads(report.read_text(encoding="utf-8"))
    return [o for o in data["outcomes"] if o["kind"] != "unscored"]


def figures(scored: list[dict[str, Any]], threshold: float) -> dict[str, Any]:
    """Right, answered, precision of the answerable; refused of the unanswerable."""
    answerable = [o for o in scored if o["answerable"]]
    unanswerable = [o for o in scored if not o["answerable"]]
    answered = [o for o in answerable if _answers(o, threshold)]
    right = sum(1 for o in answered if o["right"])
    refused = sum(1 for o in unanswerable if not _answers(o, threshold))
    return {
        "threshold": round(threshold, 4),
        "right": _rate(right, len(answerable)),
        "answerable_refused": _rate(len(answerable) - len(answered), len(answerable)),
        "precision": _rate(right, len(answered)),
        "unanswerable_refused": _rate(refused, len(unanswerable)) if unanswerable else None,
    }


def _rate(count: int, total: int) -> str:
    """count / total = share (the 95 % Wilson interval)."""
    rate = wilson(count, total)
    return f"{count}/{total} = {rate.share:.1%} ({rate.low:.1%}-{rate.high:.1%})"


def _answers(outcome: dict[str, Any], threshold: float) -> bool:
    confidence = outcome["confidence"]
    return confidence is not None and round(confidence, 4) >= threshold


def fitted(scored: list[dict[str, Any]], precision: float) -> float:
    """The lowest confidence from which the answers reach the precision."""
    answerable = sorted(
        (o for o in scored if o["answerable"] and o["confidence"] is not None),
        key=lambda o: -o["confidence"],
    )
    best, right = 1.0, 0
    for count, outcome in enumerate(answerable, start=1):
        right += outcome["right"]
        if right / count >= precision:
            best = round(outcome["confidence"], 4)
    return best


def at_most_refused(scored: list[dict[str, Any]], share: float) -> float:
    """The highest confidence that refuses at most `share` of the answerable questions."""
    confidences = sorted(
        (round(o["confidence"] or 0.0, 4) for o in scored if o["answerable"]), reverse=True
    )
    allowed = int(share * len(confidences))  # refused: those below the threshold
    return confidences[len(confidences) - allowed - 1] if confidences else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("report", type=Path, help="summit eval qa --json of the fitting set")
    aim = parser.add_mutually_exclusive_group(required=True)
    aim.add_argument("--precision", type=float, help="the precision to reach")
    aim.add_argument("--max-refused", type=float, help="share of answerable refused at most")
    parser.add_argument("--also", type=Path, nargs="*", default=[], help="reports to show")
    parser.add_argument("--write", action="store_true", help="store it in the manifest")
    args = parser.parse_args()
    scored = outcomes(args.report)
    if args.precision is not None:
        threshold = fitted(scored, args.precision)
        rule = f"lowest confidence at which {args.report.name} reaches precision {args.precision}"
    else:
        threshold = at_most_refused(scored, args.max_refused)
        rule = (
            f"highest confidence at which {args.report.name} refuses at most "
            f"{args.max_refused:.0%} of its answerable questions"
        )
    print(f"{rule}: {threshold}")
    for report in [args.report, *args.also]:
        rows = [figures(outcomes(report), t) for t in (threshold / 2, threshold, 0.5, 0.7, 0.9)]
        print(report)
        for row in rows:
            print("  ", json.dumps(row))
    if args.write:
        manifest = json.loads(MANIFEST.read_text(encoding="utf-8"))
        manifest["threshold"] = threshold
        manifest["threshold_fitted"] = rule
        MANIFEST.write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
        print(f"wrote {MANIFEST}")


if __name__ == "__main__":
    main()
