"""Chinese test text, generated: word-segmented sentences drawn from jieba's dictionary (the
words and their frequencies of jieba's dict.txt, shipped in the installed package), by a
seeded bigram chain so that n-grams repeat as in real text. The tests need Chinese words of
several lengths, words that are prefixes of others (中国 / 中国人) and a realistic long tail;
not any particular real text (the People's Daily corpus among the project's reference data has no stated licence
and stays out of the project)."""
from __future__ import annotations

import os
import re

import numpy as np

HAN = re.compile(r"^[\u4e00-\u9fff]+$")
ALWAYS = ("中国", "中国人", "人民", "发展", "经济", "我们")


def dictionary_words(num_words: int = 4000) -> tuple[list[str], np.ndarray]:
    """The most frequent all-Han words of jieba's dictionary and their frequencies."""
    import jieba

    path = os.path.join(os.path.dirname(jieba.__file__), "dict.txt")
    entries = []
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            fields = line.split()
            if len(fields) >= 2 and HAN.match(fields[0]):
                entries.append((int(fields[1]), fields[0]))
    entries.sort(key=lambda e: (-e[0], e[1]))
    chosen = [w for _, w in entries[:num_words]]
    chosen += [w for w in ALWAYS if w not in chosen]
    freq = {w: f for f, w in entries}
    return chosen, np.array([freq.get(w, 1) for w in chosen], dtype=np.float64)


def sentences(count: int, seed: int = 0, num_words: int = 4000) -> list[list[str]]:
    """`count` sentences of 4-20 words; each word follows the previous one by a sparse random
    successor table (5 favourite successors, else the unigram distribution)."""
    words, freq = dictionary_words(num_words)
    rng = np.random.default_rng(seed)
    unigram = freq ** 0.75
    unigram /= unigram.sum()
    successors = rng.choice(len(words), size=(len(words), 5), p=unigram)
    out = []
    for _ in range(count):
        length = int(rng.integers(4, 21))
        sentence = [int(rng.choice(len(words), p=unigram))]
        while len(sentence) < length:
            if rng.random() < 0.6:
                sentence.append(int(successors[sentence[-1], rng.integers(5)]))
            else:
                sentence.append(int(rng.choice(len(words), p=unigram)))
        out.append([words[i] for i in sentence])
    for i, word in enumerate(ALWAYS):  # every fixed word occurs
        out[i % len(out)].append(word)
    return out
