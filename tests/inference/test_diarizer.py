import numpy as np
import pytest
import soundfile as sf
import torch
from pyannote.core import Annotation

from diarize.data.manifest import ManifestEntry
from diarize.errors import DiarizeError
from diarize.inference import resolve as resolve_module
from diarize.inference.diarizer import Diarizer, resolve_device
from diarize.inference.longform import LongformConfig
from diarize.inference.postprocess import PostProcessingParams, save_postprocessing


def _noise(seconds, sr=16000, seed=0):
    return (0.1 * np.random.default_rng(seed).standard_normal(int(seconds * sr))).astype(np.float32)


def test_call_on_file_array_and_list(model_path, tmp_path):
    diarizer = Diarizer.from_pretrained(model_path, device="cpu")
    path = tmp_path / "my file.wav"
    sf.write(path, _noise(3.0, 22050), 22050)
    from_file = diarizer(path)
    assert isinstance(from_file, Annotation) and from_file.uri == "my_file"
    from_array = diarizer(_noise(3.0, 22050), sample_rate=22050, max_speakers=1)
    assert isinstance(from_array, Annotation) and len(from_array.labels()) <= 1
    many = diarizer([path, str(path)])
    assert len(many) == 2 and all(isinstance(a, Annotation) for a in many)
    with pytest.raises(DiarizeError, match="sample_rate"):
        diarizer(_noise(1.0))


def test_postprocessing_yaml_beside_the_model_is_used(model_path, tmp_path):
    tuned = PostProcessingParams(onset=0.7, offset=0.6)
    copy = tmp_path / "m.pt"
    copy.write_bytes(model_path.read_bytes())
    save_postprocessing(tmp_path / "m.postprocess.yaml", tuned)
    assert Diarizer.from_pretrained(copy, device="cpu").postprocessing == tuned
    explicit = Diarizer.from_pretrained(copy, postprocessing=PostProcessingParams(), device="cpu")
    assert explicit.postprocessing == PostProcessingParams()


def test_longform_settings_from_yaml(model_path, tmp_path):
    path = tmp_path / "longform.yaml"
    path.write_text("longform:\n  chunk_seconds: 30\n  cache_frames: 100\n")
    diarizer = Diarizer.from_pretrained(model_path, longform=path, device="cpu")
    assert diarizer.longform == LongformConfig(chunk_seconds=30.0, cache_frames=100)
    path.write_text("chunk_size: 3\n")
    with pytest.raises(DiarizeError, match="longform.yaml: unknown config key 'chunk_size'"):
        LongformConfig.from_yaml(path)


def test_missing_default_model_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setattr(resolve_module, "DEFAULT_MODEL", tmp_path / "default.pt")
    with pytest.raises(DiarizeError, match="bundled default model is not installed"):
        Diarizer.from_pretrained()
    with pytest.raises(DiarizeError, match="no such model file"):
        Diarizer.from_pretrained(tmp_path / "nope.pt")


def test_diarize_items_batches_and_reports_broken_files(model_path, tmp_path):
    diarizer = Diarizer.from_pretrained(model_path, device="cpu")
    items = []
    for index, seconds in enumerate([2.0, 3.0, 1.5]):
        path = tmp_path / f"f{index}.wav"
        sf.write(path, _noise(seconds, seed=index), 16000)
        items.append(ManifestEntry(path, uniq_id=f"f{index}"))
    broken = tmp_path / "broken.wav"
    broken.write_text("nope")
    items.insert(1, ManifestEntry(broken, uniq_id="broken"))
    batched = list(diarizer.diarize_items(items, batch_size=3))
    alone = list(diarizer.diarize_items(items, batch_size=1))
    assert [item.uri for item, _ in batched] == ["f0", "broken", "f1", "f2"]
    assert isinstance(batched[1][1], DiarizeError) and "broken.wav" in str(batched[1][1])
    for (_, a), (_, b) in zip(batched, alone, strict=True):
        if not isinstance(a, DiarizeError):
            np.testing.assert_allclose(a.probs, b.probs, atol=1e-4)


@pytest.mark.parametrize("batch_size", [1, 3])
def test_oracle_num_speakers_takes_each_manifest_lines_count(model_path, tmp_path, batch_size):
    diarizer = Diarizer.from_pretrained(model_path, device="cpu")
    seen = {}

    def result(uri, source, probs, **hints):
        seen[uri] = hints
        return uri

    diarizer.result = result
    items = []
    for index, count in enumerate([2, None, 3]):
        path = tmp_path / f"f{index}.wav"
        sf.write(path, _noise(2.0, seed=index), 16000)
        items.append(ManifestEntry(path, num_speakers=count, uniq_id=f"f{index}"))
    assert len(list(diarizer.diarize_items(items, batch_size, True, max_speakers=1))) == 3
    assert seen["f0"] == dict(num_speakers=2, min_speakers=None, max_speakers=None)
    assert seen["f1"] == dict(max_speakers=1)  # no count in its line: the other hints
    assert seen["f2"]["num_speakers"] == 3
    seen.clear()  # without the flag the manifest's counts are not used
    list(diarizer.diarize_items(items, batch_size, max_speakers=1))
    assert all(hints == dict(max_speakers=1) for hints in seen.values())
    too_many = [ManifestEntry(items[0].audio_filepath, num_speakers=1000, uniq_id="x")]
    ((_, error),) = diarizer.diarize_items(too_many, oracle_num_speakers=True)
    assert isinstance(error, DiarizeError) and "f0.wav: manifest num_speakers" in str(error)


def test_resolve_device():
    assert resolve_device("cpu").type == "cpu"
    assert resolve_device("auto").type in ("cpu", "cuda")
    with pytest.raises(DiarizeError):
        resolve_device("tpu")


def test_resolve_bf16(monkeypatch):
    cpu, cuda = torch.device("cpu"), torch.device("cuda")
    assert resolve_module.resolve_bf16(cpu, "bf16") and not resolve_module.resolve_bf16(
        cuda, "fp32"
    )
    assert resolve_module.resolve_bf16(cpu, True) and not resolve_module.resolve_bf16(cpu, False)
    assert resolve_module.resolve_bf16(cuda, "auto") and resolve_module.resolve_bf16(cuda, None)
    for native in (True, False):  # auto on a CPU: bfloat16 only where the CPU has it natively
        monkeypatch.setattr(resolve_module, "cpu_has_native_bf16", lambda native=native: native)
        assert resolve_module.resolve_bf16(cpu, "auto") is native
        assert Diarizer(torch.nn.Linear(1, 1), device="cpu").bf16 is native
    with pytest.raises(DiarizeError, match="precision"):
        resolve_module.resolve_bf16(cpu, "fp16")


def test_cpu_has_native_bf16_reads_the_cpu_flags(monkeypatch, tmp_path):
    import builtins

    cpuinfo = tmp_path / "cpuinfo"
    real_open = builtins.open

    def fake_open(path, *args, **kwargs):
        return real_open(cpuinfo if path == "/proc/cpuinfo" else path, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", fake_open)
    cpuinfo.write_text("processor\t: 0\nflags\t\t: fpu avx2 avx512f amx_bf16 amx_tile\n")
    assert resolve_module.cpu_has_native_bf16()
    cpuinfo.write_text("processor\t: 0\nflags\t\t: fpu avx2 avx512f avx512bw\n")
    assert not resolve_module.cpu_has_native_bf16()
    cpuinfo.unlink()
    assert not resolve_module.cpu_has_native_bf16()
