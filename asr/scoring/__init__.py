"""WER / CER scoring: Kaldi text files in; S/D/I counts identical to sclite's (default) or to
Kaldi compute-wer's; per-utterance alignments, confusion pairs, sentence error rate.

    from asr.scoring import score_files
    report = score_files("ref.txt", "hyp.txt", unit="char", key_rule="all")
    print(report.summary_lines()[0])
"""
from asr.scoring.align import Alignment, align, align_many, count_edits, error_rate
from asr.scoring.report import ErrorTotals, WerReport, score_files, score_texts
from asr.scoring.text import normalize_text, tokenize

__all__ = [
    "Alignment", "align", "align_many", "count_edits", "error_rate", "ErrorTotals",
    "WerReport", "score_files", "score_texts", "normalize_text", "tokenize",
]
