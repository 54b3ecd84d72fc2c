#!/usr/bin/env bash
# SortFormer ablation: three networks, same data, same steps, same seed, same post-processing.
#
#   pe    SortFormer blocks with permutation encoding, Sort loss
#   sort  plain Transformer (permutation_encoding=false), Sort loss
#   pil   plain Transformer, PIL (Hungarian) loss
#   hybrid  SortFormer blocks with permutation encoding, 0.5 Sort + 0.5 PIL (the paper's best
#         loss and conf/train.yaml's default; not run unless named in --arms)
#
# Each arm trains on <work>/train (from scratch, or with --front-end CKPT on that model's trained
# conv subsampling + Conformer, the back end always new, as NeMo starts Sortformer from a
# pretrained encoder), is exported, diarizes every test set given with
# the untuned 0.5-threshold post-processing (conf/postprocess/default.yaml), and is scored at
# collar 0.25 and 0. The table goes to <exp-root>/ablation.md. Re-running resumes each arm from
# its last.ckpt; a larger --steps extends the arms (the LR schedule does not depend on it).
#
# Usage:
#   recipes/simulated/ablation.sh --work data/simulated --exp-root exp/ablation --steps 400 \
#       --test data/simulated/test --test data/simulated/test_seen [--front-end CKPT] [-- key=value ...]
set -euo pipefail

repo=$(cd "$(dirname "$0")/../.." && pwd)
cd "$repo"

work=data/simulated
exp_root=exp/ablation
steps=400
arms="pe sort pil"
tests=()
extra=()
front_end=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --work) work=$2; shift 2 ;;
    --exp-root) exp_root=$2; shift 2 ;;
    --steps) steps=$2; shift 2 ;;
    --arms) arms=$2; shift 2 ;;
    --test) tests+=("$2"); shift 2 ;;
    --front-end) front_end=("init_from=$2" "init_modules=[subsampling,encoder]"); shift 2 ;;
    --) shift; extra=("$@"); break ;;
    -h|--help) sed -n '2,19p' "$0"; exit 0 ;;
    *) echo "unknown option: $1 (see --help)" >&2; exit 2 ;;
  esac
done
[[ ${#tests[@]} -gt 0 ]] || tests=("$work/test")

arm_args() {
  case $1 in
    pe)   echo "model.sortformer.permutation_encoding=true model.loss.sort_weight=1 model.loss.pil_weight=0" ;;
    sort) echo "model.sortformer.permutation_encoding=false model.loss.sort_weight=1 model.loss.pil_weight=0" ;;
    pil)  echo "model.sortformer.permutation_encoding=false model.loss.sort_weight=0 model.loss.pil_weight=1" ;;
    hybrid) echo "model.sortformer.permutation_encoding=true model.loss.sort_weight=0.5 model.loss.pil_weight=0.5" ;;
    *) echo "unknown arm: $1" >&2; exit 2 ;;
  esac
}
# data/simulated/test -> simulated_test: two test sets named "test" must not share outputs
test_name() { echo "$(basename "$(dirname "$1")")_$(basename "$1")"; }
log() { echo "$(date '+%F %T') [ablation] $*"; }

for arm in $arms; do
  exp="$exp_root/$arm"
  log "train $arm -> $exp ($steps steps)"
  # shellcheck disable=SC2046
  diarize train --config conf/train.yaml exp_dir="$exp" $(arm_args "$arm") \
    model.train_ds.manifest_filepath="$work/train/manifest.json" \
    model.validation_ds.manifest_filepath="$work/dev/manifest.json" \
    trainer.max_steps="$steps" trainer.enable_progress_bar=false "${front_end[@]}" "${extra[@]}"
  # export and scores are redone only when older than what they come from
  if [[ ! "$exp/model.pt" -nt "$exp/checkpoints/last.ckpt" ]]; then
    python scripts/export_model.py "$exp/checkpoints/last.ckpt" "$exp/model.pt"
  fi
  for test in "${tests[@]}"; do
    name=$(test_name "$test")
    [[ "$exp/${name}_c0.json" -nt "$exp/model.pt" ]] && continue
    diarize infer "$test/manifest.json" --out "$exp/$name" --model "$exp/model.pt" --quiet \
      --postprocessing conf/postprocess/default.yaml --overwrite > /dev/null
    for collar in 0.25 0; do
      diarize score --ref "$test/rttm" --hyp "$exp/$name" --collar "$collar" \
        --json "$exp/${name}_c$collar.json" > /dev/null
    done
  done
done

names=()
for test in "${tests[@]}"; do names+=("$(test_name "$test")"); done
python -m recipes.simulated.local.ablation_table "$exp_root" "$arms" "${names[@]}" \
  | tee "$exp_root/ablation.md"
