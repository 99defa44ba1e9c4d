#!/usr/bin/env bash
# Start, or resume, the demo model's training in the background (survives the shell that
# started it). Rerunning it is safe: training continues from exp/demo/train/checkpoint.pt.
#   bash tools/demo/train_background.sh [train.py options]
# Progress: exp/demo/train/train.log (JSON lines, dev CER per checkpoint and epoch);
# the best model so far: exp/demo/train/model; the process id: exp/demo/train/pid.
set -euo pipefail
cd "$(dirname "$0")/../.."
mkdir -p exp/demo/train
if [ -f exp/demo/train/pid ] && kill -0 "$(cat exp/demo/train/pid)" 2>/dev/null; then
  echo "training already running: pid $(cat exp/demo/train/pid)"
  exit 0
fi
OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 OMP_WAIT_POLICY=PASSIVE \
  setsid nohup nice -n 2 python tools/demo/train.py "$@" \
  >> exp/demo/train/stdout.log 2>&1 < /dev/null &
echo $! > exp/demo/train/pid
echo "training started: pid $!, log exp/demo/train/train.log"
