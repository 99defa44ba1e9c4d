"""Stage 7 of the demo recipe: the rescoring LM — a 5-gram on the whole corpus, held-out
sentences removed.

The first-pass LM (stage 5) is a pruned 3-gram on the AM's 12,500 training sentences (157k
words), small enough for a 7 MB TLG. A second-pass LM can be much bigger, as in Kaldi's
tgsmall → fglarge recipes: this one is an unpruned modified-Kneser-Ney 5-gram on every line of
`../shared/corpora/en_train.txt.gz` (2.0M words) except those that equal or contain a demo
dev, test or eval sentence (the corpus quotes some verses many times), so no evaluated
sentence is in its training text. Writes:

    OUT/text.txt     the training text, one sentence per line
    OUT/lm5.arpa.gz  `tingxie lm train --order 5`
    OUT/stats.json   lines kept / dropped, and the share of held-out 5-grams seen in
                     this text vs in the first-pass text (how in-domain it is)
"""
from __future__ import annotations

import argparse
import gzip
import json
import os
import subprocess
import sys


def read_held_out(paths):
    sentences = []
    for path in paths:
        with open(path, encoding="utf-8") as handle:
            sentences += [line.split(None, 1)[1].strip() for line in handle if line.strip()]
    return sentences


def contains_any(line: str, sentences_by_first_word: dict) -> bool:
    padded = f" {line} "
    for word in set(line.split()):
        for sentence in sentences_by_first_word.get(word, ()):
            if f" {sentence} " in padded:
                return True
    return False


def ngrams(sentences, n):
    grams = set()
    for sentence in sentences:
        words = sentence.split()
        grams.update(tuple(words[i:i + n]) for i in range(len(words) - n + 1))
    return grams


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", default="../shared/corpora/en_train.txt.gz")
    parser.add_argument("--held-out", nargs="+", default=[
        "tools/demo/data/dev.txt", "tools/demo/data/test.txt", "tools/demo/data/eval.txt"])
    parser.add_argument("--first-pass-text", default="tools/demo/data/train.txt.gz")
    parser.add_argument("--order", type=int, default=5)
    parser.add_argument("--out", default="exp/demo/lm_rescore")
    args = parser.parse_args(argv)

    held_out = read_held_out(args.held_out)
    by_first_word: dict = {}
    for sentence in set(held_out):
        by_first_word.setdefault(sentence.split()[0], []).append(sentence)

    os.makedirs(args.out, exist_ok=True)
    text_path = os.path.join(args.out, "text.txt")
    kept = dropped = 0
    kept_lines = []
    with gzip.open(args.corpus, "rt", encoding="utf-8") as corpus, \
            open(text_path, "w", encoding="utf-8") as out:
        for line in corpus:
            line = " ".join(line.split())
            if not line:
                continue
            if contains_any(line, by_first_word):
                dropped += 1
                continue
            kept += 1
            kept_lines.append(line)
            out.write(line + "\n")
    print(f"{kept} lines kept, {dropped} dropped (equal to or containing a held-out sentence)",
          file=sys.stderr)

    with gzip.open(args.first_pass_text, "rt", encoding="utf-8") as handle:
        first_pass = [line.split(None, 1)[1].strip() for line in handle]
    held_grams = ngrams(held_out, args.order)
    stats = {
        "lines_kept": kept, "lines_dropped": dropped,
        "words": sum(len(line.split()) for line in kept_lines),
        f"held_out_{args.order}grams": len(held_grams),
        f"seen_in_rescoring_text": round(len(held_grams & ngrams(kept_lines, args.order))
                                         / len(held_grams), 4),
        f"seen_in_first_pass_text": round(len(held_grams & ngrams(first_pass, args.order))
                                          / len(held_grams), 4),
    }
    arpa = os.path.join(args.out, f"lm{args.order}.arpa.gz")
    subprocess.run(["tingxie", "lm", "train", "--order", str(args.order), "-o", arpa, text_path],
                   check=True)
    with open(os.path.join(args.out, "stats.json"), "w", encoding="utf-8") as out:
        json.dump(stats, out, indent=1)
    print(json.dumps(stats))


if __name__ == "__main__":
    main()
