"""Synthetic dev posteriors for tuning the decoder's defaults (never tune on the test set).

Sentences are sampled from the bench LM (`lm.generate`, temperature sampling with its own
seed), spelled as letters + `|`, and turned into CTC log-posteriors shaped like the bench's
(its __meta__ parameters: 25 frames/s, 3-10 blank frames at the edges, 0-2 blank frames
between tokens, tokens 1-2 frames long, a Gaussian-logit model with a competing token,
rare deletions and insertions, a per-utterance temperature). Sync (Paraformer-style)
posteriors have one row per token and no blank frames.

Stages: sample sentences -> spell -> frame layout -> logits -> log-softmax -> .npz + refs.

    python tools/bench/decoder_synth.py --out DIR [--utts 200 --seed 11]
    python tools/bench/decoder_synth.py --out DIR --tune GRAPH_DIR   # grid over the options
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
BENCH = REPO.parent / "shared" / "bench" / "decoder"

PARAMS = dict(lead_min=3, lead_max=10, gap_probs=[0.6, 0.3, 0.1], dur_probs=[0.8, 0.2],
              noise=0.8, A_mu=7.0, A_sd=1.5, delta_mu=3.3, delta_sd=1.5, B_mu=7.0, B_sd=1.5,
              Bt_mu=2.5, Bt_sd=1.5, p_del=0.01, p_ins=0.01, ins_mu=5.0, temp_min=0.8,
              temp_max=1.2)


def sample_sentences(n, seed):
    from lm.arpa import read_arpa
    from lm.generate import generate
    model = read_arpa(str(BENCH / "lm3.arpa.gz"))
    sentences = []
    rng_seed = seed
    while len(sentences) < n:
        for words in generate(model, "sample", n=n, seed=rng_seed, max_words=30):
            if 3 <= len(words) <= 30:
                sentences.append(words)
        rng_seed += 1
    return sentences[:n]


def log_softmax(x):
    x = x - x.max(axis=1, keepdims=True)
    return x - np.log(np.exp(x).sum(axis=1, keepdims=True))


def token_logits(rng, v, target, p):
    """Logits of one frame reading `target` (0 = blank)."""
    row = rng.normal(0, p["noise"], v)
    if target == 0:
        row[0] += rng.normal(p["B_mu"], p["B_sd"])
        return row
    a = rng.normal(p["A_mu"], p["A_sd"])
    row[target] += a
    rival = rng.integers(1, v)
    if rival != target:  # a confusable token some distance below
        row[rival] += a - abs(rng.normal(p["delta_mu"], p["delta_sd"]))
    row[0] += rng.normal(p["Bt_mu"], p["Bt_sd"])
    return row


def ctc_posteriors(rng, columns, v, p):
    frames, starts, ends, word_start, word_end = [], [], [], [], []
    lead = rng.integers(p["lead_min"], p["lead_max"] + 1)
    frames += [token_logits(rng, v, 0, p) for _ in range(lead)]
    for w, word in enumerate(columns):
        word_start.append(len(frames))
        for i, c in enumerate(word):
            if rng.random() < p["p_del"]:
                continue
            if rng.random() < p["p_ins"]:
                row = token_logits(rng, v, 0, p)
                row[rng.integers(1, v)] += p["ins_mu"]
                frames.append(row)
            dur = rng.choice([1, 2], p=p["dur_probs"])
            frames += [token_logits(rng, v, c, p) for _ in range(dur)]
            last = len(frames) - 1
            gap = rng.choice([0, 1, 2], p=p["gap_probs"])
            nxt = word[i + 1] if i + 1 < len(word) else None
            if nxt == c and gap == 0:
                gap = 1  # a repeated token needs a blank between
            frames += [token_logits(rng, v, 0, p) for _ in range(gap)]
        word_end.append(last)
    frames += [token_logits(rng, v, 0, p) for _ in range(rng.integers(p["lead_min"],
                                                                      p["lead_max"] + 1))]
    temp = rng.uniform(p["temp_min"], p["temp_max"])
    return (log_softmax(np.array(frames) / temp).astype(np.float32),
            np.array(word_start), np.array(word_end))


def sync_posteriors(rng, columns, v, p):
    rows, word_start, word_end = [], [], []
    for word in columns:
        word_start.append(len(rows))
        for c in word:
            row = token_logits(rng, v, c, p)
            row[0] = -1e4  # no blank in label-synchronous output
            rows.append(row)
        word_end.append(len(rows) - 1)
    temp = rng.uniform(p["temp_min"], p["temp_max"])
    return (log_softmax(np.array(rows) / temp).astype(np.float32),
            np.array(word_start), np.array(word_end))


def make_dev(out, n, seed):
    units = [l.split()[0] for l in open(BENCH / "units.txt", encoding="utf-8") if l.strip()]
    col = {u: i for i, u in enumerate(units)}
    rng = np.random.default_rng(seed)
    sentences = sample_sentences(n, seed)
    out.mkdir(parents=True, exist_ok=True)
    for kind, make in (("", ctc_posteriors), ("_sync", sync_posteriors)):
        arrays, refs = {}, []
        for i, words in enumerate(sentences):
            key = f"dev{i:04d}"
            columns = [[col[ch] for ch in w if ch in col] + [col["|"]] for w in words]
            logp, ws, we = make(rng, columns, len(units), PARAMS)
            arrays[key], arrays[key + "__wstart"], arrays[key + "__wend"] = logp, ws, we
            refs.append(f"{key} {' '.join(words)}")
        np.savez(out / f"posteriors_dev{kind}.npz", **arrays)
        (out / f"refs_dev{kind}.txt").write_text("\n".join(refs) + "\n")


def tune(out, graph_dir, sync_graph_dir=None):
    import time
    import kaldialign
    from asr.decoder import Decoder, DecoderOptions

    def run(npz_name, refs_name, gdir, **opts):
        d = np.load(out / npz_name)
        refs = {l.split()[0]: l.split()[1:] for l in open(out / refs_name) if l.strip()}
        keys = sorted(k for k in d.files if "__" not in k)
        dec = Decoder(gdir, DecoderOptions(**opts))
        t = time.process_time()
        hyps = {k: dec.decode(d[k]).words for k in keys}
        cpu = time.process_time() - t
        err = sum(kaldialign.edit_distance(refs[k], hyps[k])["total"] for k in keys)
        return 100.0 * err / sum(len(refs[k]) for k in keys), cpu

    for scale in (1.0, 2.0, 3.0, 4.0, 5.0):
        for beam in (8.0, 10.0, 13.0, 16.0):
            w, cpu = run("posteriors_dev.npz", "refs_dev.txt", graph_dir,
                         acoustic_scale=scale, beam=beam)
            print(f"ctc scale {scale:g} beam {beam:g}: WER {w:.2f} cpu {cpu:.3f}", flush=True)
    for wip in (-1.0, 0.0, 1.0):
        w, cpu = run("posteriors_dev.npz", "refs_dev.txt", graph_dir, word_insertion_penalty=wip)
        print(f"ctc defaults, word_insertion_penalty {wip:g}: WER {w:.2f} cpu {cpu:.3f}")
    for threshold in (None, 0.95, 0.99):
        w, cpu = run("posteriors_dev.npz", "refs_dev.txt", graph_dir,
                     blank_skip_threshold=threshold)
        print(f"ctc defaults, blank skip {threshold}: WER {w:.2f} cpu {cpu:.3f}")
    if sync_graph_dir:
        for scale in (1.0, 2.0, 3.0, 5.0, 10.0):
            w, cpu = run("posteriors_dev_sync.npz", "refs_dev_sync.txt", sync_graph_dir,
                         acoustic_scale=scale, beam=10.0)
            print(f"sync scale {scale:g} beam 10: WER {w:.2f} cpu {cpu:.3f}", flush=True)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", required=True)
    p.add_argument("--utts", type=int, default=200)
    p.add_argument("--seed", type=int, default=11)
    p.add_argument("--tune", metavar="GRAPH_DIR", help="grid-search decoder options on dev")
    p.add_argument("--tune-sync", metavar="SYNC_GRAPH_DIR")
    args = p.parse_args(argv)
    out = Path(args.out)
    if not (out / "posteriors_dev.npz").exists():
        make_dev(out, args.utts, args.seed)
    if args.tune:
        tune(out, args.tune, args.tune_sync)
    return 0


if __name__ == "__main__":
    sys.exit(main())
