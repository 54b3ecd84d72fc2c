#!/usr/bin/env bash
# SortFormer ablation on the default model's front end: five back ends x several seeds, the same
# data, steps and schedule; each arm's network is judged on its own output.
#
#   sortformer    permutation encoding, LayerNorm+Linear heads, 0.5 Sort + 0.5 PIL, block Sort
#                 loss 0.2 (the bundled model's design)
#   sorted_plain  the same without the permutation encoding, last head sorted by arrival: the
#                 only difference from `sortformer` is the encoding
#   nemo          NeMo's released design: plain Transformer, NeMo's head, unsorted output,
#                 0.5 Sort + 0.5 PIL, no block loss
#   pe_sort       permutation encoding, Sort loss only (+ block Sort loss 0.2)
#   plain_sort    plain Transformer, NeMo's head, Sort loss only (the paper's baseline)
#
# Every arm: the frozen pretrained CAM++ front end (features cached once, shared by all arms),
# a new adapter + Conformer layer with relative positions + 4 blocks, conf/train.yaml's
# optimiser. Judged by the network's output columns on the held-out simulated test set (tiled in
# 45-s windows, threshold 0.5, best column mapping, frame DER with overlap, no collar): the
# trainer's validation figures at the last step, read from each run's metrics.csv. Re-running
# skips finished runs. The table (mean and spread over seeds) goes to <exp-root>/ablation.md.
#
# Usage:
#   recipes/campplus/ablation.sh --work data/campplus --exp-root exp/ablation_campplus \
#       --steps 400 --seeds "1 2" [--arms "sortformer nemo"] [-- key=value ...]
set -euo pipefail

repo=$(cd "$(dirname "$0")/../.." && pwd)
cd "$repo"

work=data/campplus
exp_root=exp/ablation_campplus
steps=400
seeds="1 2"
arms="sortformer sorted_plain nemo pe_sort plain_sort"
extra=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --work) work=$2; shift 2 ;;
    --exp-root) exp_root=$2; shift 2 ;;
    --steps) steps=$2; shift 2 ;;
    --seeds) seeds=$2; shift 2 ;;
    --arms) arms=$2; shift 2 ;;
    --) shift; extra=("$@"); break ;;
    -h|--help) sed -n '2,23p' "$0"; exit 0 ;;
    *) echo "unknown option: $1 (see --help)" >&2; exit 2 ;;
  esac
done

arm_args() {
  local hybrid="model.loss.sort_weight=0.5 model.loss.pil_weight=0.5"
  local sort="model.loss.sort_weight=1 model.loss.pil_weight=0"
  case $1 in
    sortformer) echo "model.sortformer.permutation_encoding=true $hybrid model.loss.intermediate_weight=0.2" ;;
    sorted_plain) echo "model.sortformer.permutation_encoding=false model.sortformer.head=linear model.sortformer.sort_output=true $hybrid model.loss.intermediate_weight=0.2" ;;
    nemo) echo "model.sortformer.permutation_encoding=false model.sortformer.head=nemo $hybrid model.loss.intermediate_weight=0" ;;
    pe_sort) echo "model.sortformer.permutation_encoding=true $sort model.loss.intermediate_weight=0.2" ;;
    plain_sort) echo "model.sortformer.permutation_encoding=false model.sortformer.head=nemo $sort model.loss.intermediate_weight=0" ;;
    *) echo "unknown arm: $1" >&2; exit 2 ;;
  esac
}
log() { echo "$(date '+%F %T') [ablation] $*"; }

for seed in $seeds; do
  for arm in $arms; do
    exp="$exp_root/${arm}_seed$seed"
    if python -m recipes.campplus.local.ablation_table "$exp" --done "$steps"; then
      log "$arm seed $seed: done"
      continue
    fi
    log "train $arm seed $seed -> $exp ($steps steps)"
    # shellcheck disable=SC2046
    diarize train --config conf/train.yaml exp_dir="$exp" seed="$seed" $(arm_args "$arm") \
      model.train_ds.manifest_filepath="$work/sim/train/manifest.json" \
      model.train_ds.feature_cache="$work/features/train" \
      model.validation_ds.manifest_filepath="$work/sim/test/manifest.json" \
      model.validation_ds.feature_cache="$work/features/test" \
      trainer.max_steps="$steps" trainer.val_check_interval="$steps" \
      trainer.enable_progress_bar=false "${extra[@]}"
  done
done

python -m recipes.campplus.local.ablation_table "$exp_root" --arms "$arms" --seeds "$seeds" \
  | tee "$exp_root/ablation.md"
