"""`tingxie wer REF HYP`: word (or, with --cer, character) error rate between Kaldi text files.

Prints Kaldi compute-wer's summary lines (%WER with ins/del/sub, %SER, scored/missing/extra
counts); --per-utt writes each utterance's alignment in Kaldi's per_utt layout, --confusions N
the N commonest substitution pairs, --json everything as one JSON object instead.
"""
from __future__ import annotations

import json
import sys

from asr.scoring.align import COSTS
from common.errors import InputError
from common.textio import check_output_file
from asr.scoring.report import KEY_RULES, score_files
from asr.scoring.text import NORMALIZERS


def add_arguments(parser) -> None:
    parser.add_argument("ref", help="reference Kaldi text file (key word...); .gz is fine")
    parser.add_argument("hyp", help="hypothesis Kaldi text file")
    parser.add_argument("--cer", action="store_true",
                        help="character error rate: every non-space character is a token")
    parser.add_argument("--normalize", choices=NORMALIZERS, default="none",
                        help="'aishell': NFKC (full-width to ASCII), lower-case, punctuation "
                             "to spaces, collapse spaces (default: none)")
    parser.add_argument("--keys", choices=KEY_RULES, default="strict",
                        help="as Kaldi compute-wer: strict = every REF key must be in HYP; "
                             "present = score keys in both; all = a missing HYP is empty "
                             "(default: strict)")
    parser.add_argument("--costs", choices=COSTS, default="sclite",
                        help="whose S/D/I split to reproduce: sclite (ins/del 3, sub 4, its "
                             "tie-breaking) or kaldi (compute-wer, unit costs) (default: sclite)")
    parser.add_argument("--per-utt", metavar="FILE",
                        help="write per-utterance alignments (Kaldi per_utt layout; - = stdout)")
    parser.add_argument("--confusions", type=int, default=0, metavar="N",
                        help="print the N commonest substitution pairs")
    parser.add_argument("--json", action="store_true",
                        help="print one JSON object (totals, utterances, confusions, keys)")


def run(args) -> int:
    if args.confusions < 0:
        raise InputError(f"--confusions must be 0 or more, got {args.confusions}")
    if args.per_utt:
        check_output_file(args.per_utt)
    report = score_files(args.ref, args.hyp, unit="char" if args.cer else "word",
                         key_rule=args.keys, costs=args.costs, normalize=args.normalize)
    if args.json:
        json.dump(report.to_json(), sys.stdout, ensure_ascii=False, indent=1)
        sys.stdout.write("\n")
    else:
        for line in report.summary_lines():
            print(line)
        for (ref, hyp), count in report.confusions().most_common(args.confusions or 0):
            print(f"{count:6d}  {ref} -> {hyp}")
    if report.extra_keys:
        print(f"tingxie wer: warning: {len(report.extra_keys)} keys in {args.hyp} are not in "
              f"{args.ref} and were not scored", file=sys.stderr)
    if args.per_utt:
        text = "\n".join(report.per_utterance_lines()) + "\n"
        if args.per_utt == "-":
            sys.stdout.write(text)
        else:
            with open(args.per_utt, "w", encoding="utf-8") as handle:
                handle.write(text)
    return 0
