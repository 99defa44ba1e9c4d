"""Second-pass rescoring: re-rank a first pass's N-best list (or lattice) with stronger models.

    import asr.rescoring
    rescorer = asr.rescoring.load("exp/rescore.json")        # written by `tingxie tune`
    best_first = rescorer.rescore(result.nbest, audio=wave)   # decoder hypotheses in, reranked out

Modules, one idea each:
  nbest.py    N-best lists and their JSONL format
  ngram.py    n-gram LM queries (ARPA via lm/, or kenlm) and the n-gram rescorer
  lattice.py  whole-lattice n-gram rescoring (swap the first-pass LM score for a new LM's)
  nnlm.py     the neural (Transformer) LM rescorer; tools/nnlm/ trains it
  llm.py      Hugging Face causal LMs and Qwen2-Audio, with a prefix KV cache shared by N hyps
  combine.py  score combination, configs, `load`
  tune.py     `tingxie tune`: grid search of the weights by WER on a dev set
  cli.py      `tingxie rescore`
Every rescorer has `score(hypotheses, audio=None) -> list of natural-log probabilities`.
"""
from asr.hypothesis import Hypothesis

from .combine import Rescorer, Weights, load
from .nbest import NBest, read_nbest

__all__ = ["Rescorer", "Weights", "load", "Hypothesis", "NBest", "read_nbest"]
