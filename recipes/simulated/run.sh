#!/usr/bin/env bash
# Simulated-conversation recipe: voice bank -> simulate -> train -> diarize -> score.
#
# Usage:
#   recipes/simulated/run.sh                                  # full size, all stages
#   recipes/simulated/run.sh --size smoke                     # ~5-minute smoke run
#   recipes/simulated/run.sh --stage 2 --stop-stage 2         # only train
#   recipes/simulated/run.sh --size full --train-hours 40 --max-steps 20000 --exp exp/sim
#
# Stages (each writes <work>/.done.<stage> and is skipped when that exists; --force redoes):
#   0  voice bank (recipes/voicebank/run.sh): single-speaker utterances, train/dev/test speakers disjoint
#   1  simulate train / dev / test conversations (diarize simulate) from the voice bank's
#      <split>.free.json (no non-free MBROLA voices; --non-free uses <split>.json, all voices)
#   2  train (diarize train, conf/train.yaml; resumes from <exp>/checkpoints/last.ckpt)
#   3  export the best checkpoint, tune post-processing on dev (diarize tune)
#   4  diarize the test set (diarize infer) and score it (diarize score, collar 0.25 and 0)
set -euo pipefail

repo=$(cd "$(dirname "$0")/../.." && pwd)
cd "$repo"

stage=0
stop_stage=4
size=full
work=data/simulated
exp=exp/simulated
voicebank=data/voicebank
train_hours=""
max_steps=""
force=false
sources=free
extra_train_args=()

while [[ $# -gt 0 ]]; do
  case "$1" in
    --stage) stage=$2; shift 2 ;;
    --stop-stage) stop_stage=$2; shift 2 ;;
    --size) size=$2; shift 2 ;;
    --work) work=$2; shift 2 ;;
    --exp) exp=$2; shift 2 ;;
    --voicebank) voicebank=$2; shift 2 ;;
    --train-hours) train_hours=$2; shift 2 ;;
    --max-steps) max_steps=$2; shift 2 ;;
    --force) force=true; shift ;;
    --non-free) sources=all; shift ;;
    --) shift; extra_train_args=("$@"); break ;;
    -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
    *) echo "unknown option: $1 (see --help)" >&2; exit 2 ;;
  esac
done

# Sizes: sessions of session_len seconds; hours = sessions * session_len / 3600.
num_speakers="[1,2,2,3,3,4]"  # per session, drawn uniformly from the list
case "$size" in
  smoke) session_len=30; n_train=24; n_dev=6; n_test=6; steps=${max_steps:-20}; vb_size=smoke
         train_args=(--config conf/model/debug.yaml trainer.val_check_interval=10 model.train_ds.batch_size=4
                     model.train_ds.session_len_sec=30 model.validation_ds.session_len_sec=30) ;;
  full)  session_len=90; n_train=${train_hours:+$(( train_hours * 40 ))}; n_train=${n_train:-1600}
         n_dev=60; n_test=60; steps=${max_steps:-30000}; vb_size=full; train_args=() ;;
  *) echo "--size must be smoke or full" >&2; exit 2 ;;
esac

log() { echo "$(date '+%F %T') [simulated] $*"; }
done_marker() { echo "$work/.done.$1"; }
should_run() {  # should_run STAGE: in range and not done (or --force)
  [[ $1 -ge $stage && $1 -le $stop_stage ]] || return 1
  $force && return 0
  [[ ! -f $(done_marker "$1") ]]
}
mkdir -p "$work" "$exp"

if should_run 0; then
  log "stage 0: voice bank ($vb_size) -> $voicebank"
  bash recipes/voicebank/run.sh --size "$vb_size" --out "$voicebank"
  touch "$(done_marker 0)"
fi

if should_run 1; then
  for split in train dev test; do
    case $split in train) n=$n_train ;; dev) n=$n_dev ;; test) n=$n_test ;; esac
    seed=$(( $(printf '%d' "'${split:0:1}") * 1000 ))
    log "stage 1: simulate $split: $n sessions x ${session_len}s"
    manifest="$voicebank/$split.json"
    [[ $sources == free ]] && manifest="$voicebank/$split.free.json"
    # a small pool (smoke size: 2 dev speakers) cannot fill 4-speaker sessions: drop those counts
    counts=$(python -m recipes.simulated.local.pool_counts "$manifest" "$num_speakers")
    [[ $counts != "$num_speakers" ]] && log "  $split: small speaker pool, num_speakers=$counts"
    diarize simulate source_manifest="$manifest" out_dir="$work/$split" \
      num_sessions="$n" session_length="$session_len" seed="$seed" num_speakers="$counts"
  done
  touch "$(done_marker 1)"
fi

if should_run 2; then
  log "stage 2: train -> $exp (resumes from last.ckpt when present)"
  diarize train --config conf/train.yaml "${train_args[@]}" exp_dir="$exp" \
    model.train_ds.manifest_filepath="$work/train/manifest.json" \
    model.validation_ds.manifest_filepath="$work/dev/manifest.json" \
    trainer.max_steps="$steps" "${extra_train_args[@]}"
  touch "$(done_marker 2)"
fi

if should_run 3; then
  log "stage 3: export + tune post-processing on dev"
  python scripts/export_model.py "$exp/checkpoints/best.ckpt" "$exp/model.pt"
  diarize tune --manifest "$work/dev/manifest.json" --model "$exp/model.pt" \
    --out "$exp/postprocess.yaml" --n-trials "$([[ $size == smoke ]] && echo 5 || echo 200)"
  touch "$(done_marker 3)"
fi

if should_run 4; then
  log "stage 4: diarize + score the test set"
  diarize infer "$work/test/manifest.json" --out "$exp/test_rttm" --model "$exp/model.pt" \
    --postprocessing "$exp/postprocess.yaml" --overwrite
  for collar in 0.25 0; do
    diarize score --ref "$work/test/rttm" --hyp "$exp/test_rttm" --collar "$collar" \
      --json "$exp/test_der_collar$collar.json" | tail -n 3
  done
  touch "$(done_marker 4)"
fi
log "done"
