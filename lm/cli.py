"""`tingxie lm`: train, ppl, info, prune, generate — n-gram language models from the shell."""
from __future__ import annotations

import argparse
import sys
import time

from common.textio import check_output_file

SMOOTHING = ["mkn", "kn", "kn-backoff", "katz", "absolute", "absolute-backoff", "add-k",
             "laplace", "jelinek-mercer", "mle"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="lm_command", metavar="ACTION", required=True)

    train = sub.add_parser("train", help="estimate an ARPA model from text")
    train.add_argument("text", nargs="+", help="corpus files, one sentence per line (.gz ok)")
    train.add_argument("-o", "--output", required=True, metavar="FILE",
                       help="OUT.arpa or OUT.arpa.gz")
    train.add_argument("--order", type=int, required=True, metavar="N",
                       help="n-gram order (3: trigram)")
    train.add_argument("--smoothing", default="mkn", choices=SMOOTHING,
                       help="default mkn: modified Kneser-Ney exactly as KenLM lmplz")
    train.add_argument("--k", type=float,
                       help="add-k / Lidstone constant (smoothing add-k; default 1)")
    train.add_argument("--discount", type=float,
                       help="the fixed discount D of absolute discounting and kn "
                            "(default: estimated from the count-of-counts)")
    train.add_argument("--heldout", metavar="FILE",
                       help="held-out text for Jelinek-Mercer's EM (smoothing jelinek-mercer)")
    train.add_argument("--prune", type=int, nargs="+", metavar="T",
                       help="lmplz count thresholds per order (e.g. 0 1 1)")
    train.add_argument("--discount-fallback", type=float, nargs="*", metavar="D",
                       help="use these discounts (default 0.5 1 1.5) when MKN's are out of range")
    train.add_argument("--interpolate-unigrams", type=int, choices=[0, 1], default=1,
                       help="1: interpolate unigrams with the uniform distribution, as lmplz "
                            "does by default; 0: as lmplz --interpolate_unigrams 0 (default 1)")
    train.add_argument("--chars", action="store_true", help="split words into characters")
    train.add_argument("--vocab", metavar="FILE",
                       help="closed vocabulary file; other words become <unk>")
    train.add_argument("--skip-symbols", action="store_true",
                       help="drop <s>, </s>, <unk> found in the corpus instead of failing")
    train.add_argument("-S", "--memory", default="1G",
                       help="memory for counting and for estimation's sorted streams, which "
                            "spill to $TMPDIR beyond it, like lmplz -S (e.g. 500M, 2G; "
                            "default 1G)")

    ppl = sub.add_parser("ppl", help="perplexity of a text (KenLM query conventions)")
    ppl.add_argument("model", help="ARPA (.gz ok) or binary model")
    ppl.add_argument("text", help="text, one sentence per line (.gz ok)")
    ppl.add_argument("--sentences", action="store_true",
                     help="also print each sentence's log-probability and perplexity")

    binary = sub.add_parser("build-binary", help="convert an ARPA model to the memory-mapped "
                            "binary format (lm.load and every LM option read either)")
    binary.add_argument("arpa", help="IN.arpa or IN.arpa.gz")
    binary.add_argument("-o", "--output", required=True, metavar="FILE", help="OUT.bin")

    info = sub.add_parser("info", help="n-gram counts, vocabulary size, discounts")
    info.add_argument("model", help="ARPA model (.gz ok)")

    prune = sub.add_parser("prune", help="relative-entropy (Stolcke) pruning of an ARPA model")
    prune.add_argument("model", help="ARPA model (.gz ok)")
    prune.add_argument("-o", "--output", required=True, metavar="FILE",
                       help="pruned OUT.arpa or OUT.arpa.gz")
    prune.add_argument("--threshold", type=float, required=True,
                       help="drop an n-gram when removing it raises the model's relative "
                            "entropy by less than this (SRILM ngram -prune; e.g. 1e-8)")

    gen = sub.add_parser("generate", help="generate sentences from a model")
    gen.add_argument("model", help="ARPA model (.gz ok)")
    gen.add_argument("--method", default="sample", choices=["greedy", "beam", "sample"],
                     help="sample: draw words at random; greedy: the likeliest word each step; "
                          "beam: the likeliest sentences by beam search (default sample)")
    gen.add_argument("--beam", type=int, default=5, metavar="N",
                     help="beam width of --method beam (default 5)")
    gen.add_argument("--temperature", type=float, default=1.0,
                     help="--method sample: draw from p(w | h)^(1/T), renormalised (default 1)")
    gen.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    gen.add_argument("-n", type=int, default=1, metavar="N",
                     help="sentences to generate (default 1)")
    gen.add_argument("--max-words", type=int, default=50, metavar="N",
                     help="stop a sentence after this many words (default 50)")
    gen.add_argument("--prefix", default="", help="words to start from")


def run(args) -> int:
    return {"train": _train, "ppl": _ppl, "build-binary": _build_binary, "info": _info,
            "prune": _prune, "generate": _generate}[args.lm_command](args)


def _progress():
    last = [time.monotonic()]

    def report(path, sentences, tokens):
        now = time.monotonic()
        if now - last[0] > 2.0:
            last[0] = now
            print(f"counting {path}: {sentences} sentences, {tokens} tokens", file=sys.stderr)
    return report


def _train(args) -> int:
    from lm.arpa import write_arpa
    from lm.estimate import train
    check_output_file(args.output)
    options = {}
    if args.k is not None:
        options["k"] = args.k
    if args.discount is not None:
        options["discount"] = args.discount
    if args.heldout:
        from common.textio import numbered_lines
        options["heldout"] = [line.split() for _, line in numbered_lines(args.heldout)]
    fallback = None
    if args.discount_fallback is not None:
        fallback = args.discount_fallback or True
    started = time.monotonic()
    if args.smoothing == "mkn":
        if options:
            from common.errors import InputError
            raise InputError(f"modified Kneser-Ney takes no option(s) {sorted(options)}")
        written = _train_mkn(args, fallback)
        counts, discounts = written.counts, written.discounts
    else:
        model = train(args.text, args.order, args.smoothing, chars=args.chars,
                      vocab=args.vocab, skip_symbols=args.skip_symbols, memory=args.memory,
                      prune=args.prune, discount_fallback=fallback,
                      interpolate_unigrams=bool(args.interpolate_unigrams), **options)
        counts, discounts = model.counts(), None
        write_arpa(model, args.output)
    for k, n in enumerate(counts, 1):
        line = f"order {k}: {n} n-grams"
        if discounts:
            d = discounts[k - 1]
            line += f"  D1={d[0]:.6g} D2={d[1]:.6g} D3+={d[2]:.6g}"
        print(line, file=sys.stderr)
    print(f"wrote {args.output} ({time.monotonic() - started:.1f} s)", file=sys.stderr)
    return 0


def _train_mkn(args, fallback):
    """Modified Kneser-Ney straight to the ARPA file, in memory bounded by -S."""
    from lm.counting import Corpus
    from lm.mkn import estimate_to_arpa
    corpus = Corpus.from_source(args.text, chars=args.chars, vocab=args.vocab,
                                skip_symbols=args.skip_symbols)
    written = estimate_to_arpa(corpus, args.order, args.output, prune=args.prune,
                               discount_fallback=fallback,
                               interpolate_unigrams=bool(args.interpolate_unigrams),
                               memory=args.memory, progress=_progress())
    print(f"estimation: {written.estimation_spilled_runs} sorted run(s) spilled to disk",
          file=sys.stderr)
    return written


def _ppl(args) -> int:
    from lm.perplexity import perplexity
    result = perplexity(args.model, args.text)
    if args.sentences:
        for i, (lp, n, ppl) in enumerate(zip(result.sentence_logprob, result.sentence_tokens,
                                             result.sentence_perplexities())):
            print(f"sentence {i + 1}\tlogprob {float(lp):.6f}\ttokens {int(n)}\tppl {ppl:.4f}")
    sys.stdout.write(result.summary())
    return 0


def _build_binary(args) -> int:
    from lm.binary import build_binary
    started = time.monotonic()
    model = build_binary(args.arpa, args.output)
    print(f"wrote {args.output}: order {model.order}, n-grams {' '.join(map(str, model.counts))}, "
          f"{model.bytes / 2**20:.1f} MiB ({time.monotonic() - started:.1f} s)", file=sys.stderr)
    return 0


def _info(args) -> int:
    from lm.arpa import read_arpa
    from lm.binary import is_binary, load
    if is_binary(args.model):
        model = load(args.model)
        print(f"order\t{model.order}")
        print(f"vocabulary\t{model.vocab_size}")
        for k, n in enumerate(model.counts, 1):
            print(f"ngram {k}\t{n}")
        print(f"binary\t{model.bytes} bytes")
        return 0
    model = read_arpa(args.model)
    print(f"order\t{model.order}")
    print(f"vocabulary\t{len(model.vocab)}")
    for k, n in enumerate(model.counts(), 1):
        print(f"ngram {k}\t{n}")
    discounts = getattr(model, "discounts", None)
    if discounts:
        for k, d in enumerate(discounts, 1):
            print(f"discounts {k}\tD1={d[0]:.6g} D2={d[1]:.6g} D3+={d[2]:.6g}")
    else:
        print("discounts\tnot stored in ARPA files (printed by `tingxie lm train`)")
    return 0


def _prune(args) -> int:
    from lm.prune import prune_relative_entropy
    from lm.arpa import read_arpa, write_arpa
    check_output_file(args.output)
    model = read_arpa(args.model)
    pruned = prune_relative_entropy(model, args.threshold)
    write_arpa(pruned, args.output)
    print(f"pruned {sum(model.counts())} -> {sum(pruned.counts())} n-grams "
          f"({' '.join(map(str, pruned.counts()))})", file=sys.stderr)
    return 0


def _generate(args) -> int:
    from lm.generate import generate
    from lm.arpa import read_arpa
    model = read_arpa(args.model)
    sentences = generate(model, method=args.method, n=args.n, beam=args.beam,
                         temperature=args.temperature, seed=args.seed,
                         max_words=args.max_words, prefix=args.prefix.split())
    for words in sentences:
        print(" ".join(words))
    return 0
