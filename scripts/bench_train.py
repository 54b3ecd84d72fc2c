"""Training throughput (audio seconds per second) and forward-pass real-time factor.

Usage:
    python scripts/bench_train.py [--config conf/train.yaml ...] [--steps 6] [--device cpu|cuda]
        [--threads 2] [key=value ...]

Trains the configured network on random 90-s windows of noise with random targets (speed does
not depend on the content) and prints measured figures: audio seconds processed per second of
training (forward + loss + backward + optimiser step, batch of ``train_ds.batch_size``), and the
real-time factor of one inference forward pass on a chunk of ``--chunk`` seconds plus a speaker
cache of ``--cache`` frames, as long-audio inference runs it.
"""

from __future__ import annotations

import argparse
import time

import torch
from omegaconf import OmegaConf

from diarize.audio.features import SAMPLE_RATE, num_model_frames
from diarize.models.system import SortformerSystem
from diarize.training.config import load_train_config


def fake_batch(batch_size: int, seconds: float, max_speakers: int, device: str) -> dict:
    samples = int(seconds * SAMPLE_RATE)
    frames = num_model_frames(samples)
    targets = (torch.rand(batch_size, frames, max_speakers) > 0.7).float()
    return {
        "audio": 0.1 * torch.randn(batch_size, samples, device=device),
        "audio_lengths": torch.full((batch_size,), samples, device=device),
        "targets": targets.to(device),
        "target_lengths": torch.full((batch_size,), frames, device=device),
    }


def bench_training(
    system: SortformerSystem, batch: dict, steps: int, device: str, bf16: bool
) -> float:
    optimizer = torch.optim.AdamW(system.parameters(), lr=1e-4)
    system.train()
    timings = []
    for step in range(steps + 1):
        start = time.perf_counter()
        with torch.autocast(device_type=device, dtype=torch.bfloat16, enabled=bf16):
            logits, earlier, targets, lengths = system._logits(batch, training=True)
        loss = system._loss(logits, earlier, targets, lengths).loss
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if device == "cuda":
            torch.cuda.synchronize()
        if step > 0:  # the first step pays for allocation and kernel selection
            timings.append(time.perf_counter() - start)
    seconds = float(batch["audio_lengths"].sum()) / SAMPLE_RATE
    return seconds / (sum(timings) / len(timings))


def bench_forward(
    network, chunk_seconds: float, cache_frames: int, device: str, repeats: int
) -> float:
    network.eval()
    audio = 0.1 * torch.randn(1, int(chunk_seconds * SAMPLE_RATE), device=device)
    lengths = torch.tensor([audio.shape[1]], device=device)
    timings = []
    with torch.inference_mode():
        for index in range(repeats + 1):
            start = time.perf_counter()
            feats, feat_lengths = network.features(audio, lengths)
            emb, emb_lengths = network.embed(feats, feat_lengths)
            joined = torch.cat([emb[:, :cache_frames], emb], 1)
            network.forward_embeddings(joined, emb_lengths + cache_frames)
            if device == "cuda":
                torch.cuda.synchronize()
            if index > 0:
                timings.append(time.perf_counter() - start)
    return (sum(timings) / len(timings)) / chunk_seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", action="append", default=[], help="YAML (repeatable)")
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
    parser.add_argument("--threads", type=int, default=2, help="CPU threads (torch)")
    parser.add_argument("--bf16", action="store_true", help="bf16 autocast (GPU)")
    parser.add_argument("--chunk", type=float, default=120.0, help="inference chunk seconds")
    parser.add_argument("--cache", type=int, default=188, help="speaker cache frames")
    parser.add_argument("overrides", nargs="*", help="key=value config overrides")
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    config = load_train_config(args.config, args.overrides)
    system = SortformerSystem(OmegaConf.to_container(config, resolve=True)).to(args.device)
    model = config.model
    params = sum(p.numel() for p in system.network.parameters())
    batch = fake_batch(
        model.train_ds.batch_size, model.train_ds.session_len_sec, model.max_speakers, args.device
    )
    print(f"network: {params / 1e6:.2f}M parameters, max_speakers={model.max_speakers}")
    print(f"device: {args.device}, threads: {torch.get_num_threads()}, bf16: {args.bf16}")
    rate = bench_training(system, batch, args.steps, args.device, args.bf16)
    print(
        f"training: {rate:.1f} audio seconds per second "
        f"(batch {model.train_ds.batch_size} x {model.train_ds.session_len_sec:.0f} s, "
        f"{args.steps} timed steps), i.e. {rate:.1f} h of audio per hour"
    )
    rtf = bench_forward(system.network, args.chunk, args.cache, args.device, repeats=3)
    print(
        f"inference forward: RTF {rtf:.4f} ({args.chunk:.0f} s chunk + {args.cache} cache "
        f"frames; {rtf * 3600:.0f} s per hour of audio)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
