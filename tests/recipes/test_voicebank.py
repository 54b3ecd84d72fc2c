"""The voice-bank recipe's pure pieces: text, naming, perturbation, voices, cutting, splits, stats.

No TTS engine is needed; the one sox test is skipped where sox is missing.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from recipes.voicebank.local import (
    common,
    engines,
    real,
    sentences,
    split,
    stats,
    synth,
    voices,
)

# --- sentences ---------------------------------------------------------------------------


def test_strip_roff_keeps_prose_and_font_request_text():
    roff = (
        '.\\" comment line\n.TH LS 1\n.SH NAME\nls \\- list directory contents\n.PP\n'
        "List information about the \\fBFILEs\\fR in the directory.\n"
        ".B Sort\nentries alphabetically if none is given.\n.nf\ncode block line.\n.fi\n"
    )
    text = sentences.strip_roff(roff)
    assert "comment" not in text and "TH" not in text and "code block" not in text
    assert "List information about the FILEs in the directory." in text
    assert "Sort\nentries alphabetically" in text


def test_split_sentences_respects_paragraphs_and_punctuation():
    text = "First one is here. Second one\ncontinues here!\n\nA new paragraph without end"
    assert sentences.split_sentences(text) == [
        "First one is here.",
        "Second one continues here!",
        "A new paragraph without end",
    ]


@pytest.mark.parametrize(
    "raw, expected",
    [
        (
            "The default is designed to be most specific.",
            "The default is designed to be most specific.",
        ),
        ("  The   file is   read twice.  ", "The file is read twice."),
        ("Too short here.", None),  # 3 words
        ("lowercase start is not a sentence here.", None),
        ("No final punctuation in this line", None),
        ("See --help or -v for the list of options.", None),
        ("Visit http://example.com/page for more details now.", None),
        ("THIS IS ALL CAPITALS AND SHOUTING.", None),
        ("Unicode quotes \u201clike this\u201d are not ASCII here.", None),
        ("An (unbalanced parenthesis is in this sentence.", None),
        (" ".join(["Word"] * 26) + ".", None),
    ],
)
def test_clean_sentence(raw, expected):
    assert sentences.clean_sentence(raw) == expected


def test_select_sentences_dedupes_case_insensitively_and_is_seeded():
    pool = [f"Sentence number {w} is quite fine." for w in "abcdefghij"]
    pool += ["Sentence Number A is quite fine.", "bad"]
    first = sentences.select_sentences(pool, seed=3, max_sentences=None)
    assert len(first) == 10  # duplicate (case) and junk dropped
    assert first == sentences.select_sentences(list(reversed(pool)), seed=3, max_sentences=None)
    assert sentences.select_sentences(pool, seed=3, max_sentences=4) == first[:4]
    assert sorted(first) == sorted(sentences.select_sentences(pool, seed=4, max_sentences=None))


def test_word_list_sentences():
    words = [f"word{chr(97 + i % 26)}{chr(97 + i // 26)}" for i in range(100)]
    words = ["".join(c for c in w if c.isalpha()) for w in words]
    made = sentences.word_list_sentences(words, seed=1, count=5)
    assert len(made) == 5 and all(5 <= len(s.split()) <= 9 and s.endswith(".") for s in made)
    assert made == sentences.word_list_sentences(words, seed=1, count=5)
    assert sentences.word_list_sentences(["few", "words"], seed=1, count=5) == []


# --- naming and perturbation -------------------------------------------------------------


def test_perturbations_are_distinct_seeded_and_start_unperturbed():
    grid = common.perturbations("espeak-ng.f3", 5)
    assert grid[0].is_identity and grid[0].suffix == ""
    pitches = [p.semitones for p in grid]
    assert len(set(pitches)) == 5
    assert all(abs(a - b) >= 3 for i, a in enumerate(pitches) for b in pitches[i + 1 :])
    assert grid == common.perturbations("espeak-ng.f3", 5)
    assert all(p.tempo in common.TEMPO_CHOICES for p in grid)
    assert common.perturbations("espeak-ng.f3", 3) == grid[:3]  # more perturbations extend
    with pytest.raises(ValueError):
        common.perturbations("x", 0)
    with pytest.raises(ValueError):
        common.perturbations("x", len(common.PITCH_STEPS) + 1)


def test_pseudo_speaker_id_naming():
    assert common.pseudo_speaker_id("flite.slt", common.Perturbation()) == "flite.slt"
    shifted = common.Perturbation(semitones=-3, tempo=0.97)
    assert common.pseudo_speaker_id("flite.slt", shifted) == "flite.slt_p-3_t097"
    assert common.pseudo_speaker_id("espeak-ng.en-us+f3", common.Perturbation(5, 1.1)) == (
        "espeak-ng.en-us+f3_p+5_t110"
    )
    assert common.safe_id("a b/c") == "a-b-c" and " " not in common.safe_id(" x  y ")


def test_stable_hash_is_stable():
    assert common.stable_hash("a", 1) == common.stable_hash("a", 1)
    assert common.stable_hash("a", 1) != common.stable_hash("a1")
    assert common.stable_hash("x") == 0x11F6AD8EC52A2984  # sha1-based, fixed across runs


def test_sox_effects_chain():
    identity = common.sox_effects(common.Perturbation(), trim=False)
    assert identity == ["rate", "-v", "16000", "gain", "-n", "-3"]
    shifted = common.sox_effects(common.Perturbation(-3, 1.06), trim=True)
    assert shifted[:3] == ["silence", "1", "0.02"] and shifted.count("reverse") == 2
    assert ["pitch", "-300"] == shifted[shifted.index("pitch") : shifted.index("pitch") + 2]
    assert "1.060" in shifted and shifted.index("rate") > shifted.index("tempo")


@pytest.mark.skipif(shutil.which("sox") is None, reason="sox not installed")
def test_postprocess_trims_resamples_and_shortens_with_tempo(tmp_path):
    import soundfile

    sr = 22050
    t = np.arange(sr) / sr
    tone = 0.5 * np.sin(2 * np.pi * 220 * t)
    audio = np.concatenate([np.zeros(sr // 2), tone, np.zeros(sr // 2)]).astype(np.float32)
    soundfile.write(tmp_path / "in.wav", audio, sr)
    out = tmp_path / "out" / "000000.wav"
    duration = common.postprocess(tmp_path / "in.wav", out, common.Perturbation(3, 1.1), trim=True)
    info = soundfile.info(out)
    assert info.samplerate == 16000 and info.channels == 1 and info.subtype == "PCM_16"
    assert 0.8 < duration < 1.0  # 1 s tone, silence gone, 10 % faster
    assert not list(out.parent.glob(".*tmp*"))


# --- engines and voices ------------------------------------------------------------------


def test_espeak_ipa_to_kokoro():
    ipa = "d^ʒˈʌd^ʒ ðə t^ʃˈɜːt^ʃɪz bˈɔ^ɪ\nhˌa^ʊ nˈa^ʊ\nɡˈo^ʊ mˈe^ɪk ɐ pˈa^ɪ\n"
    assert engines.espeak_ipa_to_kokoro(ipa) == "ʤˈʌʤ ðə ʧˈɜʧɪz bˈY, hˌW nˈW, ɡˈO mˈAk ə pˈI"
    assert "^" not in engines.espeak_ipa_to_kokoro("ə^l r x")


def test_speaker_settings_are_seeded_and_in_range():
    voice = voices.espeak_variant_voices(_VARIANTS)[0]
    settings = engines.speaker_settings(voice, "espeak-ng.f3_p+3_t097")
    assert settings == engines.speaker_settings(voice, "espeak-ng.f3_p+3_t097")
    assert (
        settings["voice"].endswith("+f3")
        and settings["voice"].split("+")[0] in voices.ESPEAK_ACCENTS
    )
    assert 130 <= settings["rate"] <= 180 and 30 <= settings["pitch"] <= 70
    mbrola = common.Voice("mbrola.mb-us1", "mbrola", "espeak-ng", "mbrola.us1", {"voice": "mb-us1"})
    assert "pitch" not in engines.speaker_settings(mbrola, "mbrola.mb-us1")
    piper = common.Voice("piper.joe", "piper", "piper", "piper.joe", {})
    noise = engines.speaker_settings(piper, "piper.joe_p-3_t100")
    assert 0.5 <= noise["noise_scale"] <= 0.8 and 0.6 <= noise["noise_w_scale"] <= 0.9


_VARIANTS = """Pty Language       Age/Gender VoiceName          File                 Other Languages
 5  variant         --/F      female3            !v/f3
 5  variant         --/M      whisper            !v/whisper
 5  variant         --/M      klatt              !v/klatt
"""
_MBROLA = """Pty Language       Age/Gender VoiceName          File                 Other Languages
 9  en              --/F      en-german-1        mb/mb-de1-en
 5  en-us           --/F      us-mbrola-1        mb/mb-us1            (en 8)
 7  af              --/M      afrikaans-mbrola-1 mb/mb-af1
 9  en              --/M      en-greek           mb/mb-gr2-en
"""


def test_espeak_voice_parsing():
    assert voices.parse_espeak_voice_list(_VARIANTS)[0] == ("variant", "female3", "!v/f3")
    variant_voices = voices.espeak_variant_voices(_VARIANTS)
    assert [v.voice_id for v in variant_voices] == ["espeak-ng.f3", "espeak-ng.klatt"]
    assert all(v.group == v.voice_id and v.source == "espeak-ng" for v in variant_voices)


def test_mbrola_voices_need_english_and_an_installed_database():
    assert voices.mbrola_database("mb/mb-de1-en") == "de1"
    assert voices.mbrola_database("mb/mb-us1") == "us1"
    found = voices.mbrola_voices(_MBROLA, installed={"de1", "us1", "af1"})
    assert [(v.voice_id, v.group) for v in found] == [
        ("mbrola.mb-de1-en", "mbrola.de1"),
        ("mbrola.mb-us1", "mbrola.us1"),
    ]


def test_voices_of_one_recording_share_a_group():
    assert voices.festival_group("us1_mbrola") == "mbrola.us1"  # as espeak-ng's mb-us1
    assert voices.festival_group("kal_diphone") == voices.SHARED_TIMBRE["kal16"] == "kal"
    assert voices.festival_group("cmu_us_slt_arctic_hts") == voices.SHARED_TIMBRE["slt"]
    assert voices.festival_group("newvoice") == "newvoice"


def test_voice_json_roundtrip_and_limit_per_source():
    many = [
        common.Voice(f"s{i % 3}.v{i}", f"s{i % 3}", "e", f"g{i}", {"k": [i]}) for i in range(12)
    ]
    assert [common.Voice.from_json(v.to_json()) for v in many] == many
    limited = voices.limit_per_source(many, 2)
    assert len(limited) == 6 and {v.source for v in limited} == {"s0", "s1", "s2"}
    assert limited == voices.limit_per_source(list(reversed(many)), 2)
    assert voices.limit_per_source(many, None) == many


def test_plan_and_sentence_choice():
    bank = [common.Voice("a.x", "a", "espeak-ng", "a.x"), common.Voice("b.y", "b", "flite", "b.y")]
    plan = synth.plan_speakers(bank, 3)
    ids = [speaker_id for _, _, speaker_id in plan]
    assert len(ids) == len(set(ids)) == 6 and ids[0] == "a.x"
    chosen = synth.sentence_indices("a.x_p-3_t097", 100, 12)
    assert len(set(chosen)) == 12 and all(0 <= i < 100 for i in chosen)
    assert chosen == synth.sentence_indices("a.x_p-3_t097", 100, 12)
    assert chosen != synth.sentence_indices("a.x", 100, 12)
    assert sorted(synth.sentence_indices("z", 5, 12)) == [0, 1, 2, 3, 4]
    assert synth.sentence_indices("z", 0, 3) == []


def test_build_jobs_skips_finished_speakers(tmp_path):
    bank = [common.Voice("a.x", "a", "espeak-ng", "a.x")]
    (tmp_path / "parts").mkdir()
    (tmp_path / "parts" / "a.x.jsonl").write_text("")
    jobs = synth.build_jobs(bank, ["One two three four."] * 5, tmp_path, 2, 2)
    assert [job[2] for job in jobs] == [synth.plan_speakers(bank, 2)[1][2]]
    slow = common.Voice("kokoro.k", "kokoro", "kokoro", "kokoro.k")
    capped = synth.build_jobs([slow, bank[0]], ["One two three four."] * 20, tmp_path, 9, 1, 3)
    assert {job[2]: len(job[3]) for job in capped} == {"kokoro.k": 3}  # a.x is done already
    real_voice = common.Voice(
        "real-x.s", "real-x", "real", "real-x.s", {"segments": [{"path": "p.wav", "text": "t"}]}
    )
    job = synth.build_jobs([real_voice], [], tmp_path, 9, 1)[0]
    assert job[3] == [("t", "p.wav")]


# --- real recordings ---------------------------------------------------------------------


def _bursts(spans: list[tuple[float, float]], total: float, sr: int = 16000) -> np.ndarray:
    rng = np.random.default_rng(0)
    audio = 0.001 * rng.standard_normal(int(total * sr))
    for start, end in spans:
        n = int((end - start) * sr)
        audio[int(start * sr) : int(start * sr) + n] += 0.3 * np.sin(
            2 * np.pi * 200 * np.arange(n) / sr
        )
    return audio.astype(np.float32)


def test_speech_runs_find_bursts_and_bridge_short_pauses():
    audio = _bursts([(0.5, 1.5), (1.6, 2.0), (3.0, 4.0)], total=5.0)
    runs = real.speech_runs(audio, 16000, min_pause=0.25)
    assert len(runs) == 2
    assert runs[0][0] == pytest.approx(0.5, abs=0.04) and runs[0][1] == pytest.approx(2.0, abs=0.04)
    assert runs[1][0] == pytest.approx(3.0, abs=0.04) and runs[1][1] == pytest.approx(4.0, abs=0.04)
    assert real.speech_runs(np.zeros(16000, np.float32), 16000) == []  # silence
    assert real.speech_runs(np.zeros(10, np.float32), 16000) == []


def test_pack_runs_caps_length_and_drops_short():
    runs = [(0.0, 2.0), (2.5, 4.0), (4.5, 20.5), (30.0, 30.5)]
    packed = real.pack_runs(runs, min_len=1.0, max_len=8.0, pad=0.0)
    assert all(end - start <= 8.0 + 1e-6 for start, end in packed)
    assert packed[0] == (0.0, 4.0)  # two runs joined within max_len
    assert all(end - start >= 1.0 for start, end in packed)
    assert (30.0, 30.5) not in packed
    padded = real.pack_runs([(0.05, 2.0)], min_len=1.0, max_len=8.0, pad=0.1)
    assert padded == [(0.0, 2.1)]


def test_group_clips():
    assert real.group_clips(list("abcdefg"), 3) == [["a", "b", "c"], ["d", "e", "f"], ["g"]]


# --- splits and stats --------------------------------------------------------------------


def test_assign_splits_is_deterministic_and_roughly_80_10_10():
    groups = {f"espeak-ng.v{i}": {"espeak-ng"} for i in range(1000)}
    result = split.assign_splits(groups)
    assert result == split.assign_splits(dict(reversed(list(groups.items()))))
    counts = {name: list(result.values()).count(name) for name in split.SPLITS}
    assert 740 < counts["train"] < 860 and 60 < counts["dev"] < 140 and 60 < counts["test"] < 140


def test_assign_splits_every_source_in_train_and_real_in_dev_and_test():
    groups = {f"real-a.s{i}": {"real-a"} for i in range(6)}
    groups.update({f"tts.v{i}": {"tts"} for i in range(4)})
    groups["solo"] = {"lonely", "tts"}
    result = split.assign_splits(groups, dev_fraction=0.0, test_fraction=0.0)
    assert result["solo"] == "train"
    real_splits = {result[g] for g in groups if g.startswith("real-")}
    assert {"train", "dev", "test"} <= real_splits
    for source in {"real-a", "tts", "lonely"}:
        assert any(result[g] == "train" for g in groups if source in groups[g])
    everything_out = split.assign_splits({"only": {"x"}}, dev_fraction=0.5, test_fraction=0.5)
    assert everything_out == {"only": "train"}


def test_split_main_writes_disjoint_manifests(tmp_path):
    (tmp_path / "parts").mkdir()
    for i in range(40):
        source = ("espeak-ng", "mbrola", "festival")[i % 3]
        group = f"{source}.v{i}" + ("_mbrola" if i % 6 == 2 else "")
        rows = [
            {
                "audio_filepath": f"wav/{group}{s}/000000.wav",
                "offset": 0.0,
                "duration": 2.0,
                "speaker_id": f"{group}{s}",
                "base_voice": group,
                "group": group,
                "source": source,
                "text": "t",
            }
            for s in ("", "_p-3_t097")
        ]
        (tmp_path / "parts" / f"{group}.jsonl").write_text(
            "\n".join(json.dumps(r) for r in rows) + "\n"
        )
    assert split.main(["--out", str(tmp_path)]) == 0
    speakers = {}
    for name in split.SPLITS:
        lines = (tmp_path / f"{name}.json").read_text().splitlines()
        rows = [json.loads(line) for line in lines]
        assert all(r["split"] == name for r in rows)
        speakers[name] = {r["group"] for r in rows}
    assert not (speakers["train"] & speakers["dev"]) and not (speakers["train"] & speakers["test"])
    assert not (speakers["dev"] & speakers["test"])
    assert len((tmp_path / "all.json").read_text().splitlines()) == 80
    free = []
    for name in split.SPLITS:
        lines = (tmp_path / f"{name}.free.json").read_text().splitlines()
        free += [json.loads(line)["base_voice"] for line in lines]
    # espeak-ng and festival's own voices stay; mbrola and festival's *_mbrola voices go
    assert free and all(not v.startswith("mbrola") and not v.endswith("_mbrola") for v in free)
    assert len(free) == 2 * sum(1 for i in range(40) if i % 3 == 0 or (i % 3 == 2 and i % 6 != 2))


def test_stats_table():
    rows = [
        {
            "source": "flite",
            "base_voice": "flite.slt",
            "speaker_id": sid,
            "split": sp,
            "duration": 1800.0,
        }
        for sid, sp in [("flite.slt", "train"), ("flite.slt_p-3_t097", "train"), ("x", "dev")]
    ]
    table = stats.summarize(rows)
    assert table["flite"]["utterances"] == 3 and table["flite"]["seconds"] == 5400.0
    text = stats.markdown(table)
    assert "| flite | BSD-style" in text and "| 1 | 2 / 1 / 0 | 3 | 1.50 |" in text
    assert text.splitlines()[-1].startswith("| **total** | | 1 | 2 / 1 / 0 | 3 | 1.50 |")


# --- run.sh runs the helpers as modules ---------------------------------------------------

REPO = Path(__file__).resolve().parents[2]


def test_run_sh_names_only_helpers_that_exist():
    import importlib.util
    import re

    script = (REPO / "recipes" / "voicebank" / "run.sh").read_text()
    prefix = re.search(r"^helpers=(\S+)", script, flags=re.M).group(1)
    names = re.findall(r"py -m \$helpers\.(\w+)", script)
    assert sorted(names) == ["real", "sentences", "split", "stats", "synth", "voices"]
    for name in names:
        assert importlib.util.find_spec(f"{prefix}.{name}") is not None, name
    assert "sys.path" not in "".join(path.read_text() for path in (REPO / "recipes").rglob("*.py"))


def test_a_helper_runs_as_a_module_from_the_repo_root(tmp_path):
    import subprocess
    import sys

    for index in range(2):
        part = {"speaker_id": f"s{index}", "group": f"g{index}", "source": "flite"}
        part["audio_filepath"] = f"wav/s{index}/000000.wav"
        (tmp_path / "parts").mkdir(exist_ok=True)
        (tmp_path / "parts" / f"s{index}.jsonl").write_text(
            json.dumps({**part, "base_voice": f"flite.v{index}", "duration": 1.0}) + "\n"
        )
    command = [sys.executable, "-m", "recipes.voicebank.local.split", "--out", str(tmp_path)]
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "all.json").is_file()
