#!/usr/bin/env bash
# A general-English decoding graph for the demo model: 72k words (the CMU en-us LM that
# pocketsphinx ships, as a bigram LM: tools/demo/general_lm.py), CTC and Paraformer (sync)
# topologies. ~80 MB for the CTC TLG, too big to ship in resources/ (the demo stays < 30 MB),
# so it is built on first use (tools/demo.sh --general) in a few minutes.
#   bash tools/demo/general_graph.sh [OUT_DIR]     # default exp/demo/general
# Needs PyPI pocketsphinx (pip install -e '.[demo]').
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT=${1:-exp/demo/general}
TOKENS=resources/demo/model/tokens.json
TINGXIE=(python -m asr.cli)
mkdir -p "$OUT"
[ -s "$OUT/lm2.arpa.gz" ] || python tools/demo/general_lm.py --out "$OUT/lm2.arpa.gz"
for topology in ctc sync; do
  dir=$OUT/graph; [ "$topology" = sync ] && dir=$OUT/graph_sync
  [ -f "$dir/graph.json" ] && continue
  "${TINGXIE[@]}" graph compile --tokens "$TOKENS" --lm "$OUT/lm2.arpa.gz" --spelling chars \
    --word-boundary '|' --topology "$topology" -o "$dir" > "$OUT/compile_$topology.log" 2>&1
done
echo "general graph: $OUT/graph (CTC), $OUT/graph_sync (Paraformer)"
