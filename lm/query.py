"""`NgramIndex`: find n-grams by their word ids in tables of every order, vectorised.

An n-gram is located by walking its words left to right: its row at order k is found from the
row of its (k-1)-word prefix at order k-1 and its last word, through the integer key
`prefix_row * vocab_size + word`. Each order keeps its keys sorted, so a batch of lookups is
one `np.searchsorted` per word position. Tables need not be sorted; they must be prefix-closed
(every prefix of an n-gram is itself an entry of the lower order), as ARPA files and counts are.

`ModelQuery` answers back-off queries on an `NgramModel` with the same index (log10 p(w | h) for
a batch of n-grams, or the whole distribution after one history): the prediction uses the
longest history suffix h' such that h'w is an entry, times the back-off weights of the longer
histories that are entries. It is the one Python implementation of those semantics:
`NgramModel.logprob / distribution / score_sentence` use it (through `model.query()`), as do
pruning and generation; corpora are scored natively (lm.perplexity).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, List, Sequence

import numpy as np

from common.errors import InputError

if TYPE_CHECKING:  # lm.model builds its queries from this module
    from lm.model import NgramModel

LOG10_ZERO = -99.0  # log10 of a zero probability, as ARPA files write it (SRILM, KenLM)
_SORT_NEEDLES_ABOVE = 1 << 16


class NgramIndex:
    def __init__(self, id_tables: Sequence[np.ndarray], vocab_size: int):
        self.vocab_size = int(vocab_size)
        self.order = len(id_tables)
        self.prefix_rows: List[np.ndarray] = []  # int32 per order k>=2: row of the prefix at k-1
        self._sorted_keys: List[np.ndarray] = []
        self._sorted_rows: List[np.ndarray] = []
        self.last_words: List[np.ndarray] = []  # per order: the predicted word of each row (view)
        self._suffix_cache = {}
        for k, ids in enumerate(id_tables, 1):
            ids = np.asarray(ids)
            if ids.ndim != 2 or ids.shape[1] != k:
                raise ValueError(f"table of order {k} must have shape [n, {k}]")
            if len(ids) and (ids.min() < 0 or ids.max() >= self.vocab_size):
                raise InputError(f"{k}-gram table holds a word id outside the vocabulary")
            last = ids[:, -1]
            self.last_words.append(last)
            if k == 1:
                keys = last.astype(np.int64)
                self.prefix_rows.append(np.zeros(len(ids), dtype=np.int32))
            else:
                prefix = self.find(ids[:, :-1])
                if (prefix < 0).any():
                    raise InputError(f"a {k}-gram whose {k - 1}-word prefix is not an entry")
                keys = prefix * self.vocab_size + last
                self.prefix_rows.append(prefix.astype(np.int32))
                del prefix
            order = np.argsort(keys, kind="stable")
            sorted_keys = keys[order]
            del keys
            if len(sorted_keys) > 1 and (sorted_keys[1:] == sorted_keys[:-1]).any():
                raise InputError(f"a {k}-gram is listed twice")
            self._sorted_keys.append(sorted_keys)
            self._sorted_rows.append(order.astype(np.int32))

    def _lookup(self, k: int, keys: np.ndarray) -> np.ndarray:
        """Rows at order k of the given keys; -1 where absent (negative keys are absent)."""
        table = self._sorted_keys[k - 1]
        if len(table) == 0:
            return np.full(len(keys), -1, dtype=np.int64)
        if len(keys) > _SORT_NEEDLES_ABOVE and not (keys[1:] >= keys[:-1]).all():
            # Sorted needles walk the table in order: several times faster than random
            # probes of a table that does not fit in cache, argsort included.
            order = np.argsort(keys, kind="stable")
            pos = np.empty(len(keys), dtype=np.int64)
            pos[order] = np.searchsorted(table, keys[order])
        else:
            pos = np.searchsorted(table, keys)
        pos = np.minimum(pos, len(table) - 1)
        found = (table[pos] == keys) & (keys >= 0)
        return np.where(found, self._sorted_rows[k - 1][pos], -1).astype(np.int64, copy=False)

    def find(self, ids: np.ndarray) -> np.ndarray:
        """Row of each n-gram (rows of `ids`, [n, m]) in the order-m table; -1 where absent."""
        ids = np.asarray(ids, dtype=np.int64)
        rows = self._lookup(1, ids[:, 0])
        for j in range(1, ids.shape[1]):
            keys = np.where(rows >= 0, rows * self.vocab_size + ids[:, j], -1)
            rows = self._lookup(j + 1, keys)
        return rows

    def suffix_rows(self, k: int) -> np.ndarray:
        """For each row at order k >= 2, the row at k-1 of its suffix (first word dropped)."""
        if k not in self._suffix_cache:
            if k == 2:
                rows = self._lookup(1, self.last_words[1])
            else:
                via = self.suffix_rows(k - 1)[self.prefix_rows[k - 1]]
                rows = self._lookup(k - 1, np.where(
                    via >= 0, via.astype(np.int64) * self.vocab_size + self.last_words[k - 1], -1))
            self._suffix_cache[k] = rows.astype(np.int32)
        return self._suffix_cache[k]


class ModelQuery:
    """Back-off queries on an NgramModel (float64 arithmetic on its float32 values)."""

    def __init__(self, model: "NgramModel"):
        self.model = model
        self.index = NgramIndex([t.ids for t in model.orders], len(model.vocab))
        # float64 views (no copy when the model already holds float64, as tests' exact models do)
        self.logprob_tables = [np.asarray(t.logprob, dtype=np.float64) for t in model.orders]
        self.backoff_tables = [np.asarray(t.backoff, dtype=np.float64) for t in model.orders]
        self.bos = model.word_id.get("<s>", -1)

    def logprob(self, ids: np.ndarray) -> np.ndarray:
        """log10 p(w | h) for each row `h... w` of ids [n, m] (history truncated to order-1)."""
        ids = np.asarray(ids, dtype=np.int64)
        if ids.ndim != 2 or ids.shape[1] < 1:
            raise ValueError("ids must have shape [n, m] with m >= 1")
        if ids.shape[1] > self.model.order:
            ids = ids[:, -self.model.order:]
        m = ids.shape[1]
        result = np.zeros(len(ids))
        resolved = np.zeros(len(ids), dtype=bool)
        for j in range(m, 0, -1):  # longest suffix first
            rows = self.index.find(ids[:, m - j:])
            hit = (rows >= 0) & ~resolved
            result[hit] += self.logprob_tables[j - 1][rows[hit]]
            resolved |= hit
            if j > 1:  # not resolved at length j: pay the back-off weight of its history
                history = self.index.find(ids[:, m - j:m - 1])
                pay = ~resolved & (history >= 0)
                result[pay] += self.backoff_tables[j - 2][history[pay]]
        if not resolved.all():
            raise InputError("a word id is not among the model's unigrams")
        return result

    def children(self, k: int, prefix_row: int):
        """(word ids, rows) of the order-k entries whose (k-1)-word prefix is `prefix_row`: one
        contiguous range of the sorted keys [prefix_row * V, (prefix_row + 1) * V)."""
        keys = self.index._sorted_keys[k - 1]
        base = int(prefix_row) * self.index.vocab_size
        lo, hi = np.searchsorted(keys, [base, base + self.index.vocab_size])
        return keys[lo:hi] - base, self.index._sorted_rows[k - 1][lo:hi]

    def log10_distribution(self, history: Sequence[int]) -> np.ndarray:
        """log10 p(w | history) for every word id w, float64; `<s>` gets -inf (never predicted:
        ARPA files list it with log-prob 0 only so that it can carry a back-off weight).
        Bit-identical to `logprob` row by row (the same additions in the same order)."""
        order = self.model.order
        history = [int(w) for w in history][-(order - 1):] if order > 1 else []
        suffix_rows = {}  # history suffix length j -> its row at order j, where it is an entry
        for j in range(1, len(history) + 1):
            row = int(self.index.find(np.asarray([history[-j:]]))[0])
            if row >= 0:
                suffix_rows[j] = row
        # A word predicted by the suffix of length j pays the back-off weights of the longer
        # suffixes that are entries, added longest first as `logprob` adds them.
        paid = [0.0] * (len(history) + 1)
        total = 0.0
        for j in range(len(history), -1, -1):
            paid[j] = total
            if j in suffix_rows:
                total += self.backoff_tables[j - 1][suffix_rows[j]]
        unigrams = self.model.orders[0]
        dist = np.full(len(self.model.vocab), -np.inf)
        dist[unigrams.ids[:, 0]] = paid[0] + self.logprob_tables[0]
        for j, row in sorted(suffix_rows.items()):  # longer suffixes overwrite shorter ones
            words, rows = self.children(j + 1, row)
            dist[words] = paid[j] + self.logprob_tables[j][rows]
        if self.bos >= 0:
            dist[self.bos] = -np.inf
        return dist

    def distribution(self, history: Sequence[int]) -> np.ndarray:
        """p(w | history) for every word id w, float64; p(<s>) = 0 (never predicted)."""
        return 10.0 ** self.log10_distribution(history)

    def history_backoff(self, history: Sequence[int]) -> float:
        """Sum of the back-off weights of every suffix of `history` that is an entry."""
        order = self.model.order
        history = [int(w) for w in history][-(order - 1):] if order > 1 else []
        total = 0.0
        for j in range(1, len(history) + 1):
            row = int(self.index.find(np.asarray([history[-j:]]))[0])  # -1: absent (or OOV)
            if row >= 0:
                total += self.backoff_tables[j - 1][row]
        return total
