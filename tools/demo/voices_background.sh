#!/usr/bin/env bash
# Start, or resume, the multi-voice recipe in the background (survives the shell that started
# it): the training text, the real-speech dev set, synthesis of the voice shards and the
# fine-tuning run, all at `nice -n 10` on one thread. Rerunning it is safe: finished shards are
# skipped and training continues from exp/demo/voices/train/checkpoint.pt (or, if exp/ was
# lost, from its mirror /root/tingxie-exp/demo/voices/train).
#   bash tools/demo/voices_background.sh [train_voices.py options]
# Logs: exp/demo/voices/synth.log, exp/demo/voices/train/stdout.log, .../train/train.log;
# PIDs: exp/demo/voices/synth.pid, exp/demo/voices/train/pid.
set -euo pipefail
cd "$(dirname "$0")/../.."
V=exp/demo/voices
mkdir -p "$V/train"
export PYTHONPATH=$PWD OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 OMP_WAIT_POLICY=PASSIVE
[ -s "$V/text.txt" ] || nice -n 10 python tools/demo/voices_text.py --out "$V/text.txt"
[ -s exp/demo/real_dev/text ] || python tools/demo/real_dev.py --out exp/demo/real_dev
running() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }
if running "$V/synth.pid"; then
  echo "synthesis already running: pid $(cat "$V/synth.pid")"
else  # finished shards are skipped: a rerun only speaks what is missing (new voices too)
  setsid nohup nice -n 10 python tools/demo/voices_synth.py --text "$V/text.txt" --out "$V" \
    >> "$V/synth.log" 2>&1 < /dev/null &
  echo $! > "$V/synth.pid"
  echo "synthesis started: pid $!, log $V/synth.log"
fi
if running "$V/train/pid"; then
  echo "training already running: pid $(cat "$V/train/pid")"
  exit 0
fi
setsid nohup nice -n 10 python tools/demo/train_voices.py --shards "$V/shards" \
  --exp "$V/train" "$@" >> "$V/train/stdout.log" 2>&1 < /dev/null &
echo $! > "$V/train/pid"
echo "training started: pid $!, log $V/train/train.log"
