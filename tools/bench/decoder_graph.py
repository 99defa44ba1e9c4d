"""A reference TLG built with kaldifst (real OpenFst), the peer pipeline of the decoder tests.

Stages, as Kaldi and WeNet build a CTC decoding graph:
  1. G   the ARPA model as a WFST (one state per history, `#0` back-off arcs, costs -ln).
  2. L   each word spelled as its letters followed by `|`, a `#0` self-loop for G's back-off.
  3. LG  = minimize(determinize(L o G)), then `#0` -> epsilon.
  4. T   the token topology: "compact" (WeNet's CTC T: blank loop, token states returning
         to the start by epsilon; not exact CTC) or "sync" (one position per token, no blank).
  5. TLG = T o LG, arc-sorted, written with words.txt, tokens.txt and graph.json: the graph
     directory contract the decoder reads.

It was the decoder's test fixture before `tingxie graph compile` existed (the tests and the
benchmark now use that); kept as an independent, kaldifst-only peer pipeline.
Labels: token column k has input label k + 1; words have ids from words.txt.

    python tools/bench/decoder_graph.py --arpa LM.arpa.gz --units units.txt --out DIR \
        [--topology compact|sync] [--keep-refs REFS --keep-vocab VOCAB --max-words N]
"""
from __future__ import annotations

import argparse
import gzip
import math
import os
import sys

LN10 = math.log(10.0)


def read_arpa_ngrams(path):
    """Yield (order, words tuple, logprob10, backoff10 or None) from an ARPA file."""
    opener = gzip.open if path.endswith(".gz") else open
    order = 0
    with opener(path, "rt", encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            if line.startswith("\\") and line.endswith("-grams:"):
                order = int(line[1:line.index("-")])
                continue
            if line.startswith("\\") or order == 0:
                continue
            parts = line.split()
            if len(parts) == order + 1:
                yield order, tuple(parts[1:]), float(parts[0]), None
            else:
                yield order, tuple(parts[1:order + 1]), float(parts[0]), float(parts[order + 1])


def load_ngrams(arpa, keep=None):
    """{order: {words: (logprob10, backoff10)}} restricted to n-grams whose words are in keep."""
    ngrams = {}
    for order, words, logprob, backoff in read_arpa_ngrams(arpa):
        if keep is not None and any(w not in keep and w not in ("<s>", "</s>") for w in words):
            continue
        ngrams.setdefault(order, {})[words] = (logprob, backoff or 0.0)
    return ngrams


def grammar_text(ngrams, word_ids, disambig_id):
    """G in OpenFst text format: (text, number of states)."""
    max_order = max(ngrams)
    state_of = {(): 0}
    for order in range(1, max_order):
        for words in ngrams[order]:
            if words[-1] != "</s>":
                state_of.setdefault(words, len(state_of))

    def destination(history):
        history = history[-(max_order - 1):]
        while history not in state_of:
            history = history[1:]
        return state_of[history]

    lines = []
    start = state_of[("<s>",)]
    finals = {}
    for order in range(1, max_order + 1):
        for words, (logprob, backoff) in ngrams[order].items():
            history, word = words[:-1], words[-1]
            if word == "<s>" or history not in state_of:
                continue
            cost = -logprob * LN10
            if word == "</s>":
                finals[state_of[history]] = cost
                continue
            wid = word_ids[word]
            lines.append(f"{state_of[history]} {destination(words)} {wid} {wid} {cost:.6f}")
    for history, state in state_of.items():
        if history:
            backoff = ngrams[len(history)][history][1]
            lines.append(f"{state} {destination(history[1:])} {disambig_id} 0 {-backoff * LN10:.6f}")
    for state, cost in finals.items():
        lines.append(f"{state} {cost:.6f}")
    # OpenFst text: the first line's source is the start state.
    first = next(i for i, l in enumerate(lines) if l.split()[0] == str(start) and len(l.split()) > 2)
    lines[0], lines[first] = lines[first], lines[0]
    return "\n".join(lines) + "\n"


def lexicon_text(words, word_ids, token_ids, disambig_token, disambig_word):
    """L: word spelled as letters + `|`, word output on the first arc; state 0 start and final."""
    lines = []
    next_state = 1
    for word in words:
        spelling = list(word) + ["|"]
        if any(ch not in token_ids for ch in spelling):
            continue
        src = 0
        for i, ch in enumerate(spelling):
            dst = 0 if i == len(spelling) - 1 else next_state
            if dst:
                next_state += 1
            out = word_ids[word] if i == 0 else 0
            lines.append(f"{src} {dst} {token_ids[ch]} {out}")
            src = dst
    lines.append(f"0 0 {disambig_token} {disambig_word}")
    lines.append("0")
    return "\n".join(lines) + "\n"


def token_topology_text(num_tokens, topology):
    """T over input labels 1..num_tokens (label 1 = blank for ctc); outputs token labels."""
    lines = []
    if topology == "sync":
        for label in range(2, num_tokens + 1):
            lines.append(f"0 0 {label} {label}")
        lines.append("0")
        return "\n".join(lines) + "\n"
    lines.append("0 0 1 0")  # blank
    for label in range(2, num_tokens + 1):
        lines.append(f"0 {label} {label} {label}")
        lines.append(f"{label} {label} {label} 0")
        lines.append(f"{label} 0 0 0")
    lines.append("0")
    return "\n".join(lines) + "\n"


def relabel_input(fst, old, new, tmp_dir):
    """A copy of `fst` with input label `old` replaced by `new` (pynini: kaldifst cannot)."""
    import kaldifst
    import pynini

    path = os.path.join(tmp_dir, "relabel.fst")
    fst.write(path)
    pynini.Fst.read(path).relabel_pairs(ipairs=[(old, new)]).write(path)
    relabelled = kaldifst.StdVectorFst.read(path)
    os.remove(path)
    return relabelled


def build_tlg(arpa, units_path, out_dir, topology="compact", keep=None, const=False, log=print):
    import kaldifst

    units = [line.split()[0] for line in open(units_path, encoding="utf-8") if line.strip()]
    token_ids = {u: i + 1 for i, u in enumerate(units)}
    ngrams = load_ngrams(arpa, keep)
    vocab = sorted(w for (w,) in ngrams[1] if w not in ("<s>", "</s>"))
    words = ["<eps>"] + vocab + ["<s>", "</s>"]
    word_ids = {w: i for i, w in enumerate(words)}
    disambig_word = len(words)
    disambig_token = len(units) + 1
    log(f"G: {sum(len(v) for v in ngrams.values())} n-grams, {len(vocab)} words")

    G = kaldifst.compile(grammar_text(ngrams, word_ids, disambig_word))
    kaldifst.arcsort(G, sort_type="ilabel")
    L = kaldifst.compile(lexicon_text(vocab, word_ids, token_ids, disambig_token, disambig_word))
    kaldifst.arcsort(L, sort_type="olabel")
    LG = kaldifst.determinize(kaldifst.compose(L, G))
    kaldifst.minimize_encoded(LG)
    os.makedirs(out_dir, exist_ok=True)
    LG = relabel_input(LG, disambig_token, 0, out_dir)
    kaldifst.arcsort(LG, sort_type="ilabel")
    T = kaldifst.compile(token_topology_text(len(units), topology))
    kaldifst.arcsort(T, sort_type="olabel")
    TLG = kaldifst.compose(T, LG)
    kaldifst.arcsort(TLG, sort_type="ilabel")
    log(f"TLG: {TLG.num_states} states")

    os.makedirs(out_dir, exist_ok=True)
    if const:
        kaldifst.StdConstFst(TLG).write(os.path.join(out_dir, "TLG.fst"))
    else:
        TLG.write(os.path.join(out_dir, "TLG.fst"))
    with open(os.path.join(out_dir, "words.txt"), "w", encoding="utf-8") as f:
        for i, w in enumerate(words):
            f.write(f"{w} {i}\n")
        f.write(f"#0 {disambig_word}\n")
    with open(os.path.join(out_dir, "tokens.txt"), "w", encoding="utf-8") as f:
        for i, u in enumerate(units):
            f.write(f"{u} {i}\n")
    from graph.directory import GraphInfo, seal
    seal(out_dir, GraphInfo(topology=topology,
                            blank=None if topology == "sync" else "<blank>",
                            word_boundary="|" if "|" in units else None,
                            spelling={"rule": "chars", "bpe_model": None, "seg_dict": None},
                            lm_order=max(ngrams), details={
                                "built_by": "tools/bench/decoder_graph.py"}))
    return TLG


def small_vocabulary(refs_path, vocab_path, num_utts, max_words):
    """Words of the first num_utts references plus the first max_words of the vocabulary."""
    keep = set()
    with open(refs_path, encoding="utf-8") as f:
        for i, line in enumerate(f):
            if i >= num_utts:
                break
            keep.update(line.split()[1:])
    with open(vocab_path, encoding="utf-8") as f:
        for i, line in enumerate(f):
            if i >= max_words:
                break
            keep.add(line.strip())
    return keep


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--arpa", required=True)
    p.add_argument("--units", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--topology", choices=["compact", "sync"], default="compact")
    p.add_argument("--const", action="store_true", help="write a const FST")
    p.add_argument("--keep-refs", help="restrict the vocabulary to these refs' words ...")
    p.add_argument("--keep-vocab", help="... plus the first --max-words of this vocabulary")
    p.add_argument("--num-utts", type=int, default=20)
    p.add_argument("--max-words", type=int, default=2000)
    args = p.parse_args(argv)
    keep = None
    if args.keep_refs:
        keep = small_vocabulary(args.keep_refs, args.keep_vocab, args.num_utts, args.max_words)
    build_tlg(args.arpa, args.units, args.out, args.topology, keep, args.const,
              log=lambda m: print(m, file=sys.stderr))
    return 0


if __name__ == "__main__":
    sys.exit(main())
