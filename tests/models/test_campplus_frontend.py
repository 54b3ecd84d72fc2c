"""The CAM++ front end: frame count and alignment, batching, and the network around it."""

import numpy as np
import pytest
import torch

from diarize.audio.features import num_model_frames
from diarize.errors import DiarizeError
from diarize.models import build_network
from diarize.models.campplus_frontend import CampplusFrontEnd, load_pretrained_campplus
from diarize.models.config import EncoderConfig, NetworkConfig, SortformerConfig


@pytest.fixture(scope="module")
def front_end() -> CampplusFrontEnd:
    torch.manual_seed(0)
    return CampplusFrontEnd(window_sec=2.0, context_sec=0.24).eval()


def signal(seconds: float, seed: int = 0) -> torch.Tensor:
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * 16000)) / 16000
    wave = np.sin(2 * np.pi * (150 + 50 * np.sin(t)) * t) + 0.1 * rng.standard_normal(len(t))
    return torch.from_numpy((0.1 * wave).astype(np.float32))


@pytest.mark.parametrize("samples", [1, 399, 1280, 16000 * 3 + 77])
def test_one_frame_per_80_ms(front_end, samples):
    with torch.no_grad():
        emb, lengths = front_end(signal(1.0)[:1].repeat(samples)[None], torch.tensor([samples]))
    assert int(lengths[0]) == num_model_frames(samples) == emb.shape[1]
    assert emb.shape[2] == 512 and torch.isfinite(emb).all()


def test_padding_inside_a_batch_changes_nothing(front_end):
    short, long = signal(2.7, 1), signal(5.1, 2)
    batch = torch.zeros(2, len(long))
    batch[0, : len(short)], batch[1] = short, long
    with torch.no_grad():
        together, lengths = front_end(batch, torch.tensor([len(short), len(long)]))
        alone, _ = front_end(short[None], torch.tensor([len(short)]))
    frames = int(lengths[0])
    torch.testing.assert_close(together[0, :frames], alone[0], atol=1e-5, rtol=0)
    assert together[0, frames:].abs().max() == 0


def test_frames_far_from_a_chunk_edge_do_not_depend_on_where_the_chunk_starts(front_end):
    audio = signal(8.0, 3)
    offset = 2 * 16000  # one 2 s window: the window grids of both calls coincide
    with torch.no_grad():
        whole, _ = front_end(audio[None], torch.tensor([len(audio)]))
        tail, _ = front_end(audio[offset:][None], torch.tensor([len(audio) - offset]))
    # windows see 0.24 s of context; frames of windows away from the cut are identical
    torch.testing.assert_close(whole[0, 50:75], tail[0, 25:50], atol=1e-4, rtol=0)


def test_network_with_campplus_front_end_runs_and_keeps_it_frozen():
    config = NetworkConfig(
        encoder=EncoderConfig(type="campplus", rel_pos=True, d_model=32, num_layers=1,
                              num_heads=2, ff_expansion=2, conv_kernel_size=7),
        sortformer=SortformerConfig(d_model=32, num_layers=2, num_heads=2, ff_dim=64,
                                    arrival_min_frames=3),
    )  # fmt: skip
    network = build_network(config).train()
    assert not any(p.requires_grad for p in network.campplus.parameters())
    assert not network.campplus.campplus.training  # BatchNorm keeps pretrained statistics
    probs, lengths = network(signal(3.0)[None], torch.tensor([48000]))
    assert probs.shape == (1, num_model_frames(48000), 4) and int(lengths[0]) == probs.shape[1]


def test_missing_or_foreign_weights_fail_in_one_line(tmp_path, front_end):
    with pytest.raises(DiarizeError, match="fetch_campplus.py"):
        load_pretrained_campplus(front_end, tmp_path / "nothing.pt")
    foreign = tmp_path / "foreign.pt"
    torch.save({"weight": torch.zeros(3)}, foreign)
    with pytest.raises(DiarizeError, match="not CAM\\+\\+ weights") as error:
        load_pretrained_campplus(front_end, foreign)
    assert "\n" not in str(error.value)


def test_window_embeddings_equal_campplus_pooling_of_each_window():
    from diarize.models.campplus import CAMPPlus, stats_pool
    from diarize.models.campplus_frontend import window_embeddings

    torch.manual_seed(0)
    campplus = CAMPPlus().eval()
    frames = torch.rand(2, 30, 512)
    lengths = torch.tensor([30, 21])
    with torch.no_grad():
        ours = window_embeddings(frames, lengths, campplus, width=5)
        for b, t in ((0, 0), (0, 12), (1, 20), (1, 10)):
            window = frames[b, max(t - 2, 0) : min(t + 3, int(lengths[b]))]
            expected = campplus.xvector.dense(stats_pool(window.T[None]))[0]
            torch.testing.assert_close(
                ours[b, t] / 192**0.5,
                torch.nn.functional.normalize(expected, dim=0),
                atol=1e-4,
                rtol=0,
            )
    assert ours[1, 21:].abs().max() == 0
