"""`tingxie graph compile`: build a TLG decoding graph directory."""
from __future__ import annotations

import argparse
import json
import sys

from graph.lexicon import SPELLINGS
from graph.topology import TOPOLOGIES


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="graph_command", metavar="ACTION", required=True)
    p = sub.add_parser("compile", help="compile T, L and G into TLG.fst",
                       description="Compile T (token topology), L (lexicon) and G (ARPA LM) "
                                   "into a TLG decoding graph directory.")
    p.add_argument("--tokens", required=True,
                   help="model tokens: FunASR tokens.json or Kaldi tokens.txt/units.txt")
    p.add_argument("--lm", required=True, help="ARPA language model (.gz allowed)")
    source = p.add_mutually_exclusive_group()
    source.add_argument("--lexicon", help="lexicon: WORD [PROB] TOKEN...")
    source.add_argument("--spelling", choices=SPELLINGS,
                        help="spell words automatically: characters, sentencepiece pieces, or "
                             "seg_dict: FunASR's tokenizer (seg_dict entries; a word missing "
                             "there per character, <unk> where a character has no entry); "
                             "default with --seg-dict: seg_dict")
    p.add_argument("--words", help="word list to spell (default: the ARPA vocabulary)")
    p.add_argument("--bpe-model", help="sentencepiece bpe.model for --spelling bpe")
    p.add_argument("--word-boundary", help="unit appended to each spelled word (e.g. '|')")
    p.add_argument("--seg-dict", help="FunASR seg_dict (WORD PIECE...): with --spelling chars|bpe "
                                      "its entries override the spelling")
    p.add_argument("--map-unspellable-to-unk", action="store_true",
                   help="spell words the tokens cannot spell as <unk> instead of dropping them")
    p.add_argument("--topology", choices=TOPOLOGIES, default="ctc",
                   help="ctc (exact CTC), compact (WeNet layout), sync (Paraformer)")
    p.add_argument("--blank", help="blank symbol (default: <blank> or <blk>)")
    p.add_argument("-o", "--output-dir", required=True, help="graph directory to write")
    p.add_argument("--const", action="store_true", help="write TLG.fst as a const FST")
    p.add_argument("--write-lg", action="store_true", help="also write LG.fst")
    p.add_argument("--json", action="store_true",
                   help="print the summary (sizes, dropped words, CPU seconds per stage) as one "
                        "JSON object on stdout instead of text on stderr")


def run(args: argparse.Namespace) -> int:
    from graph.compile import CompileOptions, compile_graph, write_graph
    from common.textio import check_output_dir

    check_output_dir(args.output_dir)

    options = CompileOptions(
        tokens=args.tokens, lm=args.lm, output_dir=args.output_dir, topology=args.topology,
        lexicon=args.lexicon, words=args.words,
        spelling=args.spelling or ("seg_dict" if args.seg_dict and not args.lexicon else None),
        bpe_model=args.bpe_model, word_boundary=args.word_boundary, seg_dict=args.seg_dict,
        map_unspellable_to_unk=args.map_unspellable_to_unk, const=args.const,
        write_lg=args.write_lg, blank=args.blank)
    graph = compile_graph(options)
    details = write_graph(graph, options).details
    summary = {"output_dir": args.output_dir, "sizes": details["sizes"],
               "lexicon_dropped": details["lexicon"]["dropped"],
               "lm_words_not_in_lexicon": details["lm"]["words_not_in_lexicon"],
               "cpu_seconds": details["cpu_seconds"]}
    for warning in details["warnings"]:
        print(f"tingxie: warning: {warning}", file=sys.stderr)
    if args.json:
        json.dump(summary, sys.stdout, indent=1)
        sys.stdout.write("\n")
        return 0
    dropped = summary["lexicon_dropped"]
    print(f"tingxie graph compile: wrote {args.output_dir}; sizes {json.dumps(summary['sizes'])}; "
          f"lexicon words dropped: {len(dropped) if isinstance(dropped, (list, dict)) else dropped}"
          f"; LM words not in the lexicon: {summary['lm_words_not_in_lexicon']}; CPU seconds "
          f"{json.dumps(summary['cpu_seconds'])}", file=sys.stderr)
    return 0
