#!/usr/bin/env bash
# The demo recipe, from scratch: sentences -> espeak-ng audio -> Paraformer+CTC training ->
# multi-voice augmented fine-tuning -> weight interpolation of the two -> Paraformer decoder
# retrained on the frozen encoder ->
# packaged model and test audio -> LM and TLG graphs -> WER of greedy vs TLG decoding.
#
#   bash tools/demo/run.sh             # every stage (training runs in the foreground: hours)
#   bash tools/demo/run.sh 4           # from stage 4 on (e.g. after tools/demo/train_background.sh)
#
# Work files go to exp/demo/ (ignored by git); the shipped results to resources/demo/.
# Stage 1 needs ../shared/corpora/en_train.txt.gz; its output (tools/demo/data/) is committed,
# so every later stage runs from the repository alone.
set -euo pipefail
cd "$(dirname "$0")/../.."
STAGE=${1:-1}
EXP=exp/demo
DEMO=resources/demo
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 OMP_WAIT_POLICY=PASSIVE

if [ "$STAGE" -le 1 ]; then  # 12,500 training, 200 dev, 50 test sentences
  python tools/demo/select_sentences.py --corpus ../shared/corpora/en_train.txt.gz
fi
if [ "$STAGE" -le 2 ]; then  # ~16 h of audio with features; ~20 min on 2 busy cores
  for split in dev test train; do
    src=tools/demo/data/$split.txt; [ "$split" = train ] && src=$src.gz
    nice python tools/demo/synthesize.py "$src" "$EXP/data/$split"
  done
fi
if [ "$STAGE" -le 3 ]; then  # resumable; the best model so far is in $EXP/train/model
  nice -n 2 python tools/demo/train.py --data "$EXP/data" --exp "$EXP/train" \
    --max-frames 2000 --warmup-steps 200 --lr 2e-3
  # then the multi-voice fine-tuning (tools/demo/README.md, "Many voices"): training text,
  # real-speech dev set, every offline voice in shards (background), augmented training
  # Debian voices (contrib/non-free for MBROLA, RHVoice, pico): tools/demo/install_voices.sh
  # (as root); tools/demo/voices_check.py tells whether each voice runs and speaks English.
  command -v RHVoice-test >/dev/null && command -v pico2wave >/dev/null && \
    command -v mbrola >/dev/null || { echo "run.sh: voices missing: sudo bash \
tools/demo/install_voices.sh" >&2; exit 1; }
  V=$EXP/voices
  nice -n 10 python tools/demo/voices_text.py --out "$V/text.txt"
  python tools/demo/real_dev.py --out "$EXP/real_dev"
  PYTHONPATH=$PWD nice -n 10 python tools/demo/voices_synth.py --text "$V/text.txt" --out "$V" \
    > "$V/synth.log" 2>&1 &
  PYTHONPATH=$PWD nice -n 10 python tools/demo/train_voices.py --init "$EXP/train/model" \
    --shards "$V/shards" --exp "$V/train" --max-steps "${VOICES_STEPS:-6000}" \
    --espeak-share 0.4 --espeak-light-share 0.5
  wait
fi
if [ "$STAGE" -le 4 ]; then  # interpolate, retrain the Paraformer path on the frozen encoder, ship
  # The shipped encoder and CTC head are ALPHA x a multi-voice checkpoint + (1 - ALPHA) x the
  # espeak-only model of stage 3 (interpolate.py, WiSE-FT; the shipped one: 0.7 x step 12395);
  # then the decoder is grown to 5 blocks and retrained on that frozen encoder over the espeak
  # shards (~5 min per epoch), and the result packaged. A multi-voice checkpoint goes in only
  # by tools/demo/README.md's rule (espeak test TLG WER <= 6%): check with evaluate.py.
  LAST=$(ls -d "$EXP"/voices/train/models/step_* 2>/dev/null | tail -n1)
  INIT=$EXP/train/model
  if [ -n "${VOICES_MODEL:-$LAST}" ]; then
    PYTHONPATH=$PWD python tools/demo/interpolate.py --base "$EXP/train/model" \
      --tuned "${VOICES_MODEL:-$LAST}" --alpha "${ALPHA:-0.7}" --out "$EXP/interpolated"
    INIT=$EXP/interpolated
  fi
  PYTHONPATH=$PWD nice python tools/demo/train_decoder.py --init "$INIT" \
    --shards "$EXP/voices/shards" --dev "$EXP/data/dev" --exp "$EXP/decoder" --epochs 10
  python tools/demo/package.py --model "$EXP/decoder/model" --test "$EXP/data/test" \
    --out "$DEMO" --onnx
fi
if [ "$STAGE" -le 5 ]; then  # LM on the AM's training sentences; graphs for both modes
  # A 3-gram with singleton bigrams and trigrams pruned (lmplz --prune 0 1 1): the CTC TLG is
  # 7 MB instead of 46 MB unpruned.
  mkdir -p "$EXP/lm"
  if tingxie lm train --help >/dev/null 2>&1 && tingxie graph compile --help >/dev/null 2>&1; then
    zcat tools/demo/data/train.txt.gz | cut -d' ' -f2- > "$EXP/lm/train_text.txt"
    tingxie lm train --order 3 --prune 0 1 1 -o "$EXP/lm/lm3.arpa.gz" "$EXP/lm/train_text.txt"
    tingxie graph compile --tokens "$DEMO/model/tokens.json" --lm "$EXP/lm/lm3.arpa.gz" \
      --spelling chars --word-boundary '|' --topology ctc -o "$DEMO/graph"
    tingxie graph compile --tokens "$DEMO/model/tokens.json" --lm "$EXP/lm/lm3.arpa.gz" \
      --spelling chars --word-boundary '|' --topology sync -o "$DEMO/graph_sync"
  else
    echo "run.sh: tingxie lm train / graph compile not available yet; skipping graphs" >&2
  fi
fi
if [ "$STAGE" -le 6 ]; then  # WER: greedy vs TLG, CTC and Paraformer modes (scale tuned on dev)
  python tools/demo/evaluate.py --model "$DEMO/model" --backend torch --out "$EXP/eval.json"
fi
if [ "$STAGE" -le 7 ]; then  # rescoring: a 500-sentence eval set, a big 5-gram, N-best lists
  nice python tools/demo/synthesize.py tools/demo/data/eval.txt "$EXP/data/eval"
  python tools/demo/rescoring_lm.py --out "$EXP/lm_rescore"   # needs ../shared/corpora
  python tools/bench/rescore_demo_nbest.py --dev "$EXP/data/dev" --test "$DEMO/test" \
    --eval "$EXP/data/eval" --out "$EXP/rescore"
fi
if [ "$STAGE" -le 8 ]; then  # N-best rescoring WER, weights tuned on dev (BENCHMARKS.md)
  for part in test eval; do
    python tools/bench/rescore_bench.py --dev-nbest "$EXP/rescore/dev_nbest.jsonl" \
      --dev-ref "$EXP/rescore/dev_ref.txt" --test-nbest "$EXP/rescore/${part}_nbest.jsonl" \
      --test-ref "$EXP/rescore/${part}_ref.txt" \
      --rescorer ngram5:ngram="$EXP/lm_rescore/lm5.arpa.gz" --rescorer nnlm="$DEMO/nnlm" \
      --lattices "$EXP/rescore/${part}_lat.txt" --old-lm "$EXP/lm/lm3.arpa.gz" \
      --out "$EXP/rescore/results_$part.json"
  done
fi
