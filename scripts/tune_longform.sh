#!/usr/bin/env bash
# Choose a model's chunk length and linking threshold on a DEV set (never test): every
# combination is diarized and scored (collar 0.25), and the table printed; copy the best into
# <model stem>.longform.yaml beside the model.
#
#   scripts/tune_longform.sh MODEL DEV_MANIFEST DEV_RTTM_DIR OUT_DIR ["45 90"] ["0.4 0.5 0.6"]
set -euo pipefail
model=$1 manifest=$2 rttm=$3 out=$4
chunks=${5:-"45 90"}
thresholds=${6:-"0.4 0.5 0.6"}
mkdir -p "$out"
for chunk in $chunks; do
  for threshold in $thresholds; do
    name="chunk${chunk}_link${threshold}"
    overlap=$(python -c "print(min(15.0, $chunk / 4))")
    printf 'chunk_seconds: %s\noverlap_seconds: %s\nlink_threshold: %s\n' \
      "$chunk" "$overlap" "$threshold" > "$out/$name.yaml"
    diarize infer "$manifest" --model "$model" --longform "$out/$name.yaml" \
      --out "$out/$name" --overwrite --quiet > /dev/null
    der=$(diarize score --ref "$rttm" --hyp "$out/$name" --collar 0.25 | grep OVERALL)
    echo "$name  $der"
  done
done
