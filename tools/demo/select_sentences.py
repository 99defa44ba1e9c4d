"""Stage 1 of the demo recipe: choose the demo's sentences from the English corpus.

Writes tools/demo/data/{train.txt.gz,dev.txt,test.txt,eval.txt}, one `<uttid> <words>` per
line. eval.txt (500 sentences chosen by the same rule as dev and test, after them, so adding it
changed neither) is a larger held-out set for the rescoring benchmark, where 50 test
utterances cannot resolve a gain.
Only sentences of 5-20 words made of a-z and apostrophes are used (no digits: espeak would read
them out as words the transcript does not contain). Training sentences are the AM's audio and
also the demo LM's text; dev and test sentences are disjoint from them and use only words seen in
training, so the demo's closed-vocabulary graph can spell every reference word.

The output is committed; this stage only needs rerunning to change the selection.
"""
from __future__ import annotations

import argparse
import gzip
import random
import re

SENTENCE = re.compile(r"^[a-z']+( [a-z']+)*$")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", default="../shared/corpora/en_train.txt.gz")
    parser.add_argument("--out-dir", default="tools/demo/data")
    parser.add_argument("--num-train", type=int, default=12500)
    parser.add_argument("--num-dev", type=int, default=200)
    parser.add_argument("--num-test", type=int, default=50)
    parser.add_argument("--num-eval", type=int, default=500)
    parser.add_argument("--min-words", type=int, default=5)
    parser.add_argument("--max-words", type=int, default=20)
    parser.add_argument("--seed", type=int, default=20261121)
    args = parser.parse_args()

    seen: set[str] = set()
    candidates: list[str] = []
    with gzip.open(args.corpus, "rt", encoding="utf-8") as corpus:
        for line in corpus:
            sentence = " ".join(line.split())
            n_words = sentence.count(" ") + 1
            if not SENTENCE.match(sentence) or not args.min_words <= n_words <= args.max_words:
                continue
            if sentence not in seen:
                seen.add(sentence)
                candidates.append(sentence)
    random.Random(args.seed).shuffle(candidates)

    train = candidates[: args.num_train]
    train_vocab = {word for sentence in train for word in sentence.split()}
    held_out = [s for s in candidates[args.num_train :] if set(s.split()) <= train_vocab]
    dev = held_out[: args.num_dev]
    test = held_out[args.num_dev : args.num_dev + args.num_test]
    eval_start = args.num_dev + args.num_test
    evaluation = held_out[eval_start : eval_start + args.num_eval]
    if len(test) < args.num_test or len(evaluation) < args.num_eval:
        raise SystemExit(f"only {len(held_out)} in-vocabulary held-out sentences")

    def write(path, prefix, sentences, opener=open):
        with opener(path, "wt", encoding="utf-8") as out:
            for index, sentence in enumerate(sentences):
                out.write(f"{prefix}{index:05d} {sentence}\n")

    write(f"{args.out_dir}/train.txt.gz", "train_", train, gzip.open)
    write(f"{args.out_dir}/dev.txt", "dev_", dev)
    write(f"{args.out_dir}/test.txt", "test_", test)
    write(f"{args.out_dir}/eval.txt", "eval_", evaluation)
    print(f"{len(candidates)} candidates; train {len(train)} ({len(train_vocab)} words), "
          f"dev {len(dev)}, test {len(test)}, eval {len(evaluation)}")


if __name__ == "__main__":
    main()
