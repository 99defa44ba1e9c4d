"""Tingxie n-gram language-model toolkit: counting, smoothing, ARPA, perplexity, pruning, generation.

One idea per module:
- `lm.counting`  native bounded-memory counting of text files or token lists -> `lm.counts.NgramCounts`
- `lm.mkn`       modified Kneser–Ney exactly as KenLM lmplz (native, lm/csrc/kneser_ney.cc)
- `lm.smoothing` the classic methods, by name (`ESTIMATORS`)
- `lm.estimate`  `train(source, order, smoothing="mkn", ...)`, one entry point for all of them
- `lm.model`     `NgramModel` (ARPA back-off form) and its queries: logprob, distribution, score_sentence
- `lm.arpa`      validated `read_arpa` and `write_arpa` in KenLM's format (.gz both ways)
- `lm.binary`   `load(path)`: the query model of an ARPA or memory-mapped binary file;
                 `build_binary` (`tingxie lm build-binary`)
- `lm.perplexity` KenLM `query`-compatible scoring (native)
- `lm.prune`, `lm.generate`  relative-entropy pruning and sentence generation
- `lm.cli`       `tingxie lm train|ppl|build-binary|info|prune|generate`
"""


def load(path, populate: bool = True):
    """The query model (`lm.binary.LanguageModel`) of an ARPA or binary file."""
    from lm.binary import load as _load
    return _load(path, populate)
