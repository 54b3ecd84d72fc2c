import pytest
import torch

from diarize.audio.features import frame_to_time
from diarize.models import build_network, sort_by_arrival
from diarize.models.config import network_config, stored_network_config


def test_sort_by_arrival_orders_columns_and_puts_absent_last():
    logits = torch.full((1, 6, 4), -5.0)
    logits[0, 3:, 0] = 5.0  # arrives third
    logits[0, 1:, 2] = 5.0  # arrives first
    logits[0, 2, 3] = 5.0  # arrives second; column 1 is absent
    sorted_logits, order = sort_by_arrival(logits)
    assert order.tolist() == [[2, 3, 0, 1]]
    assert torch.equal(sorted_logits[0, :, 0], logits[0, :, 2])
    assert torch.all(sorted_logits[0, :, 3] < 0)


def test_sort_by_arrival_ignores_padding_and_is_stable_on_ties():
    logits = torch.full((1, 5, 3), -5.0)
    logits[0, 4, 0] = 5.0  # active only in the padding
    logits[0, 1, 1] = 5.0
    logits[0, 1, 2] = 5.0
    _, order = sort_by_arrival(logits, torch.tensor([4]))
    assert order.tolist() == [[1, 2, 0]]


def test_sorting_passes_gradient_to_the_values():
    logits = torch.randn(2, 10, 4, requires_grad=True)
    sorted_logits, _ = sort_by_arrival(logits)
    sorted_logits.sum().backward()
    assert torch.all(logits.grad == 1)


def test_network_shapes_and_api(build_debug_network):
    network = build_debug_network()
    audio = torch.randn(2, 16000 * 3)
    lengths = torch.tensor([48000, 30000])
    with torch.no_grad():
        probs, frame_lengths = network(audio, lengths)
        feats, feat_lengths = network.features(audio, lengths)
        emb, emb_lengths = network.embed(feats, feat_lengths)
        again = network.forward_embeddings(emb, emb_lengths)
    assert probs.shape == (2, 38, network.max_speakers)
    assert frame_lengths.tolist() == [38, 24]
    assert emb.shape[:2] == (2, 38)
    assert torch.equal(probs, again)
    assert torch.all((probs >= 0) & (probs <= 1))
    assert torch.all(probs[1, 24:] == 0)


def test_a_signal_alone_equals_the_same_signal_padded_in_a_batch(build_debug_network):
    network = build_debug_network()
    audio = torch.randn(2, 16000 * 4)
    with torch.no_grad():
        batch, _ = network(audio, torch.tensor([64000, 40000]))
        alone, _ = network(audio[1:, :40000], torch.tensor([40000]))
    torch.testing.assert_close(batch[1, :32], alone[0], atol=1e-5, rtol=1e-4)


def test_output_columns_are_in_arrival_order(build_debug_network):
    torch.manual_seed(0)
    network = build_debug_network(seed=3)
    with torch.no_grad():
        probs, _ = network(torch.randn(3, 16000 * 5), torch.full((3,), 80000))
    active = probs > 0.5
    frames = probs.shape[1]
    first = torch.where(active.any(1), active.int().argmax(1), frames)
    assert torch.all(first[:, 1:] >= first[:, :-1])


def _small_network(max_speakers=4, **sortformer):
    """A small log-mel network (n_mels 40, d_model 32) with these SortFormer settings."""
    config = network_config(
        {
            "model": {
                "max_speakers": max_speakers,
                "features": {"n_mels": 40},
                "encoder": {
                    "type": "conformer",
                    "subsampling_channels": 8,
                    "d_model": 32,
                    "num_layers": 1,
                    "num_heads": 2,
                },
                "sortformer": {"num_heads": 2, "ff_dim": 32, **sortformer},
            }
        }
    )
    torch.manual_seed(5)
    return build_network(config).eval()


@pytest.mark.parametrize("permutation_encoding", [True, False])
@pytest.mark.parametrize("max_speakers", [4, 8])
def test_flag_and_speaker_count(permutation_encoding, max_speakers):
    network = _small_network(
        max_speakers, d_model=24, num_layers=3, permutation_encoding=permutation_encoding
    )
    assert (network.blocks[0].encode is not None) == permutation_encoding
    emb = torch.randn(2, 20, 32)
    logits, earlier = network.forward_logits(emb, torch.tensor([20, 15]), intermediate=True)
    assert logits.shape == (2, 20, max_speakers)
    assert len(earlier) == 2 and earlier[0].shape == logits.shape


def _plain_network(**sortformer):
    return _small_network(d_model=32, num_layers=2, permutation_encoding=False, **sortformer)


def test_plain_transformer_with_sorted_output_is_the_unsorted_one_sorted():
    """``sort_output`` only reorders the last head's columns by arrival; no encoding is added."""
    unsorted = _plain_network(head="linear")
    sorted_ = _plain_network(head="linear", sort_output=True)
    assert sorted_.blocks[0].encode is None
    assert isinstance(sorted_.blocks[-1].head[0], torch.nn.LayerNorm)
    sorted_.load_state_dict(unsorted.state_dict())
    torch.manual_seed(1)
    emb, lengths = torch.randn(3, 40, 32), torch.tensor([40, 33, 25])
    with torch.no_grad():
        raw, _ = unsorted.forward_logits(emb, lengths)
        out, _ = sorted_.forward_logits(emb, lengths)
    expected, order = sort_by_arrival(raw, lengths, unsorted.config.sortformer.arrival_min_frames)
    assert torch.equal(out, expected)
    assert not torch.equal(order, torch.arange(4).expand(3, 4))  # the sort did reorder something


def test_head_choice():
    assert isinstance(_plain_network().blocks[0].head[0], torch.nn.ReLU)  # auto: NeMo's head
    with pytest.raises(ValueError, match="sortformer.head"):
        _plain_network(head="mlp")


@pytest.mark.parametrize("centered", [True, False])
def test_log_mel_front_end_centres_each_frame_on_its_target_span(centered):
    """Frame k's receptive field is centred at 80 k + 40 ms, the middle of the 80 ms its targets
    cover (``data/labels.py``); models stored before the shift keep the old alignment."""
    network = _plain_network()
    if not centered:
        stored = network.config_dict()
        del stored["features"]["centered"]  # a model stored before the key existed
        network = build_network(stored_network_config(stored))
    subsampling = network.subsampling
    for name, param in subsampling.named_parameters():
        torch.nn.init.constant_(param, 0.0 if name.endswith("bias") else 0.1)
    feats = torch.ones(1, 40, 160, requires_grad=True)
    emb, _ = network.embed(feats, torch.tensor([160]))
    emb[0, 10].sum().backward()
    weight = feats.grad[0].abs().sum(0)
    centre_mel = float((weight * torch.arange(160)).sum() / weight.sum())
    assert centre_mel == pytest.approx(80.0)  # mel frame 8 k
    # mel frame m is centred at sample 160 m + shift (tests/audio/test_features.py)
    centre_ms = (160 * centre_mel + network.preprocessor.shift) / 16
    expected = 1000 * frame_to_time(10) + (40.0 if centered else 0.0)
    assert centre_ms == pytest.approx(expected)
