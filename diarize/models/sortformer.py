"""SortFormer blocks and the whole network (audio -> arrival-ordered speaker activities).

Each block ``l`` computes ``H_l = TransformerLayer_l(H_{l-1} + E_{l-1})``, estimates speaker
activities ``P_l = sigmoid(W_l H_l)``, sorts the K columns by arrival time (first frame above
0.5, absent speakers last) and projects them back, ``E_l = U_l sort(P_l)``: the permutation
encoding of the next block. The last block's sorted activities are the output, so column k is
the k-th speaker to speak. With ``permutation_encoding=False`` the same code is a plain
Transformer whose last head is the output, unsorted, trained with the sort loss (NeMo's design);
``sort_output=True`` sorts that last head by arrival all the same (the ablation arm that keeps
everything of the SortFormer but the encoding). ``head`` picks each block's output head.
"""

from __future__ import annotations

import torch
from torch import nn

from diarize.audio.features import CENTRE_SHIFT, FRAME_SHIFT, LogMel, lengths_mask
from diarize.losses import arrival_keys
from diarize.models.campplus import EMBEDDING_SIZE
from diarize.models.campplus_frontend import CampplusFrontEnd, window_embeddings
from diarize.models.config import NetworkConfig, to_dict
from diarize.models.frontend import ConformerEncoder, ConvSubsampling


def sort_by_arrival(
    logits: torch.Tensor, lengths: torch.Tensor | None = None, min_run: int = 1
) -> tuple[torch.Tensor, torch.Tensor]:
    """Columns reordered by arrival: first run of ``min_run`` valid frames with logit > 0.

    The rule is :func:`diarize.losses.arrival_keys` (the one the Sort loss orders targets
    by): speakers never active go last; ties keep their column order (stable sort). The order
    is an index (not differentiated); the gathered values carry the gradient.

    Shape:
        logits (B, T, K), lengths (B,) -> sorted (B, T, K), order (B, K)
    """
    batch, frames, speakers = logits.shape
    order = torch.argsort(arrival_keys(logits > 0, lengths, min_run), dim=1, stable=True)
    return logits.gather(2, order[:, None, :].expand(batch, frames, speakers)), order


class SortformerBlock(nn.Module):
    """One Transformer layer with its own sigmoid head and (optionally) permutation encoder."""

    def __init__(self, d_model: int, max_speakers: int, config) -> None:
        super().__init__()
        self.layer = nn.TransformerEncoderLayer(
            d_model,
            config.num_heads,
            config.ff_dim,
            config.dropout,
            activation="relu",
            batch_first=True,
            norm_first=config.pre_ln,
        )
        head = config.head
        if head == "auto":
            head = "linear" if config.permutation_encoding else "nemo"
        if head not in ("linear", "nemo"):
            raise ValueError(f"sortformer.head must be auto, linear or nemo, got {head!r}")
        if head == "linear":
            self.head = nn.Sequential(nn.LayerNorm(d_model), nn.Linear(d_model, max_speakers))
        else:  # NeMo's released head: ReLU-Dropout-Linear-ReLU-Dropout-Linear
            self.head = nn.Sequential(
                nn.ReLU(),
                nn.Dropout(0.5),
                nn.Linear(d_model, d_model),
                nn.ReLU(),
                nn.Dropout(0.5),
                nn.Linear(d_model, max_speakers),
            )
        self.encode = nn.Linear(max_speakers, d_model) if config.permutation_encoding else None
        self.min_run = config.arrival_min_frames

    def forward(
        self,
        x: torch.Tensor,
        valid: torch.Tensor,
        lengths: torch.Tensor,
        need_head: bool,
        sort: bool = False,
    ) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor | None]:
        """One block: hidden states, logits (sorted with permutation encoding) and the encoding.

        Without permutation encoding the head is left unsorted unless ``sort`` (NeMo's design:
        the sort loss alone teaches the arrival order) and only computed when ``need_head``.

        Shape:
            x (B, T, D), valid (B, T) -> (B, T, D), (B, T, K) or None, (B, T, D) or None
        """
        hidden = self.layer(x, src_key_padding_mask=~valid) * valid[..., None]
        if not (need_head or self.encode is not None):
            return hidden, None, None
        logits = self.head(hidden)
        encoding = None
        if self.encode is not None or sort:
            logits, _ = sort_by_arrival(logits, lengths, self.min_run)
        if self.encode is not None:
            encoding = self.encode(torch.sigmoid(logits)) * valid[..., None]
        return hidden, logits, encoding


class SortformerNetwork(nn.Module):
    """Front end -> Conformer -> SortFormer blocks -> (B, T, K) activities.

    Front ends (``config.encoder.type``): ``conformer``, log-mel and conv subsampling trained
    here; ``campplus``, the pretrained CAM++ trunk pooled to 80 ms and a linear adapter.

    Args:
        config: the architecture (stored in checkpoints so the model can be rebuilt).
    """

    def __init__(self, config: NetworkConfig) -> None:
        super().__init__()
        self.config = config
        self.max_speakers = config.max_speakers
        self.permutation_encoding = config.sortformer.permutation_encoding
        feats, enc, sf = config.features, config.encoder, config.sortformer
        self.front_end_type = enc.type
        if enc.type == "campplus":
            self.campplus = CampplusFrontEnd(enc.window_sec, enc.context_sec, enc.freeze)
            self.speaker_window = round(enc.speaker_window_sec / FRAME_SHIFT) // 2 * 2 + 1
            if enc.speaker_window_sec <= 0:
                self.speaker_window = 0
            inputs = CampplusFrontEnd.output_dim + (EMBEDDING_SIZE if self.speaker_window else 0)
            self.adapter = nn.Sequential(nn.Linear(inputs, enc.d_model), nn.LayerNorm(enc.d_model))
        else:
            shift = CENTRE_SHIFT if feats.centered else 0
            self.preprocessor = LogMel(
                feats.n_mels, feats.normalize, feats.dither, feats.preemph, shift
            )
            self.subsampling = ConvSubsampling(feats.n_mels, enc.subsampling_channels, enc.d_model)
        self.encoder = ConformerEncoder(
            enc.d_model,
            enc.num_layers,
            enc.num_heads,
            enc.ff_expansion,
            enc.conv_kernel_size,
            enc.dropout,
            enc.rel_pos,
        )
        self.projection = nn.Linear(enc.d_model, sf.d_model) if enc.d_model != sf.d_model else None
        self.blocks = nn.ModuleList(
            SortformerBlock(sf.d_model, config.max_speakers, sf) for _ in range(sf.num_layers)
        )

    def config_dict(self) -> dict:
        """The architecture as a plain dict (what checkpoints and exports store)."""
        return to_dict(self.config)

    @property
    def pretrained_front_end(self) -> bool:
        """True when the frame embeddings come from a pretrained encoder (not log-mel here)."""
        return self.front_end_type != "conformer"

    def embed_audio(
        self, audio: torch.Tensor, audio_lengths: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Frame embeddings straight from audio, whatever the front end (no augmentation).

        Shape:
            audio (B, N), audio_lengths (B,) -> emb (B, T, D_front), lengths (B,)
        """
        if self.pretrained_front_end:
            return self.campplus(audio, audio_lengths)
        return self.embed(*self.features(audio, audio_lengths))

    def features(
        self, audio: torch.Tensor, audio_lengths: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Log-mel features (dither in training mode only); log-mel front end only.

        Shape:
            audio (B, N), audio_lengths (B,) -> feats (B, F, N // 160), feat_lengths (B,)
        """
        return self.preprocessor(audio, audio_lengths)

    def embed(
        self, feats: torch.Tensor, feat_lengths: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Pre-encoder embeddings, one per 80 ms frame (what the speaker cache stores).

        Shape:
            feats (B, F, T_mel), feat_lengths (B,) -> emb (B, ceil(T_mel / 8), D), lengths (B,)
        """
        return self.subsampling(feats, feat_lengths)

    def forward_logits(
        self, emb: torch.Tensor, lengths: torch.Tensor, intermediate: bool = False
    ) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """Output logits and, when asked, every earlier block's sorted logits.

        Shape:
            emb (B, T, D), lengths (B,) -> (B, T, K), [(B, T, K)] * (num_layers - 1)
        """
        valid = lengths_mask(lengths, emb.shape[1])
        if self.pretrained_front_end:
            if self.speaker_window:
                speakers = window_embeddings(
                    emb, lengths, self.campplus.campplus, self.speaker_window
                )
                emb = torch.cat([emb, speakers], dim=-1)
            emb = self.adapter(emb) * valid[..., None]
        x = self.encoder(emb, lengths)
        if self.projection is not None:
            x = self.projection(x) * valid[..., None]
        earlier: list[torch.Tensor] = []
        logits = None
        last = len(self.blocks) - 1
        for index, block in enumerate(self.blocks):
            x, logits, encoding = block(
                x,
                valid,
                lengths,
                need_head=intermediate or index == last,
                sort=index == last and self.config.sortformer.sort_output,
            )
            if index < last:
                if intermediate:
                    earlier.append(logits)
                if encoding is not None:
                    x = x + encoding
        return logits, earlier

    def forward_embeddings(self, emb: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Speaker activities from pre-encoder embeddings, columns in arrival order.

        Shape:
            emb (B, T, D), lengths (B,) -> probs (B, T, K)
        """
        logits, _ = self.forward_logits(emb, lengths)
        return torch.sigmoid(logits) * lengths_mask(lengths, emb.shape[1])[..., None]

    def forward(
        self, audio: torch.Tensor, audio_lengths: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Audio to speaker activities.

        Shape:
            audio (B, N), audio_lengths (B,) -> probs (B, T, K), frame_lengths (B,)
        """
        emb, lengths = self.embed_audio(audio, audio_lengths)
        return self.forward_embeddings(emb, lengths), lengths
