#!/usr/bin/env bash
# The demo, and the last step of README's first set-up command: transcribe the demo test audio
# with `tingxie transcribe` and score it with `tingxie wer` (prints the %WER line).
#
#   bash tools/demo.sh              # the shipped graph (the 11k words of the training text)
#   bash tools/demo.sh --general    # a 72k-word general-English graph, built on first use
#                                   # (tools/demo/general_graph.sh, a few minutes, ~120 MB in
#                                   # exp/demo/general; too big to ship in resources/)
#
# What it uses, first found wins:
#   model  resources/demo/model (the shipped demo model), else a small randomly initialised
#          model made by tools/make_test_model.py (its WER is near 100%: until the trained
#          model ships, the demo shows the machinery, not accuracy);
#   graph  resources/demo/graph (TLG; its graph.json topology picks --mode), else --no-lm;
#   audio  resources/demo/test/{wav.scp,text}, else the first 10 sentences of
#          tools/demo/data/test.txt spoken by espeak-ng (tools/demo/synthesize.py's voices;
#          Debian package espeak-ng).
# Outputs go to exp/demo_run/out/ (results.jsonl, text, errors.tsv, srt/); a rerun resumes.
set -euo pipefail
cd "$(dirname "$0")/.."
DEMO=resources/demo
WORK=exp/demo_run
mkdir -p "$WORK"

MODEL=$DEMO/model
OUT=$WORK/out
if [ ! -d "$MODEL" ]; then
  MODEL=$WORK/test_model
  OUT=$WORK/out_test_model
  if [ ! -f "$MODEL/model.pt" ]; then
    echo "demo: $DEMO/model is not shipped yet; making a small random test model in $MODEL" >&2
    python tools/make_test_model.py "$MODEL" >/dev/null
  fi
fi

DECODING=(--no-lm)
if [ "${1:-}" = --general ]; then
  if [ ! -f exp/demo/general/graph/graph.json ]; then
    echo "demo: building the general-English graph in exp/demo/general (first use only," \
         "a few minutes): tools/demo/general_graph.sh" >&2
    bash tools/demo/general_graph.sh exp/demo/general >&2
  fi
  DECODING=(--graph exp/demo/general/graph)
  OUT=$OUT-general
elif [ -f "$DEMO/graph/graph.json" ]; then
  DECODING=(--graph "$DEMO/graph")  # its topology picks --mode
fi

AUDIO=$DEMO/test/wav.scp
REF=$DEMO/test/text
if [ ! -f "$AUDIO" ]; then
  AUDIO=$WORK/test/wav.scp
  REF=$WORK/test/text
  if [ ! -f "$REF" ]; then
    if ! command -v espeak-ng >/dev/null; then
      echo "demo: $DEMO/test is not shipped yet and espeak-ng is not installed to speak" \
           "the test sentences (apt-get install espeak-ng)" >&2
      exit 1
    fi
    echo "demo: $DEMO/test is not shipped yet; speaking 10 test sentences with espeak-ng" >&2
    python - "$WORK/test" <<'PY'
import importlib.util, os, sys
import soundfile
spec = importlib.util.spec_from_file_location("synthesize", "tools/demo/synthesize.py")
synthesize = importlib.util.module_from_spec(spec)
spec.loader.exec_module(synthesize)
out = sys.argv[1]
os.makedirs(os.path.join(out, "wav"), exist_ok=True)
sentences = synthesize.read_sentences("tools/demo/data/test.txt")[:10]
with open(os.path.join(out, "wav.scp"), "w") as scp, open(os.path.join(out, "text.tmp"), "w") as text:
    for uttid, sentence in sentences:
        path = os.path.abspath(os.path.join(out, "wav", uttid + ".wav"))
        soundfile.write(path, synthesize.speak(uttid, sentence), synthesize.SAMPLE_RATE)
        scp.write(f"{uttid} {path}\n")
        text.write(f"{uttid} {sentence}\n")
os.replace(os.path.join(out, "text.tmp"), os.path.join(out, "text"))
PY
  fi
fi

tingxie transcribe "$AUDIO" --model "$MODEL" "${DECODING[@]}" -o "$OUT" --srt
tingxie wer "$REF" "$OUT/text" --keys all
