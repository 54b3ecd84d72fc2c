"""The Python API: ``Diarizer.from_pretrained(...)`` and ``diarizer(audio) -> Annotation``.

    >>> from diarize.inference import Diarizer
    >>> diarizer = Diarizer.from_pretrained()                 # the bundled default model
    >>> annotation = diarizer("meeting.wav", num_speakers=3)  # pyannote.core.Annotation
    >>> annotations = diarizer(["a.wav", "b.flac"])           # one per file

Inference never imports Lightning (start-up time counts in the real-time factor).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from diarize.audio.io import SAMPLE_RATE
from diarize.data.manifest import ManifestEntry
from diarize.data.rttm import speaker_name
from diarize.errors import DiarizeError
from diarize.inference.inputs import safe_uri
from diarize.inference.longform import (
    MAX_FILE_SPEAKERS,
    LongformConfig,
    batch_posteriors,
    chunk_windows,
    longform_posteriors,
)
from diarize.inference.postprocess import (
    PostProcessingParams,
    Segment,
    check_speaker_hints,
    load_postprocessing,
    select_speakers,
)
from diarize.inference.resolve import (
    DEFAULT_LONGFORM,
    DEFAULT_MODEL,
    DEFAULT_POSTPROCESSING,
    resolve_bf16,
    resolve_device,
    resolve_model,
)
from diarize.inference.sources import ArraySource, AudioSource, FileSource
from diarize.inference.window_model import clusters_by_voice

__all__ = ["Diarization", "Diarizer", "resolve_device", "resolve_model"]


@dataclass(frozen=True)
class Diarization:
    """The result for one recording.

    Attributes:
        uri: recording name.
        duration: seconds of audio diarized.
        offset: where that audio starts in its file (segment times below are relative to it;
            :meth:`turns` adds it back).
        probs: posteriors, one row per 80 ms frame, one column per global speaker.
        speakers: ``(name, column, segments)`` per speaker, in order of first appearance.
    """

    uri: str
    duration: float
    offset: float
    probs: np.ndarray
    speakers: tuple[tuple[str, int, tuple[Segment, ...]], ...]

    @property
    def num_speakers(self) -> int:
        return len(self.speakers)

    def turns(self) -> list:
        """Speaker turns in file time (``offset`` added), as ``diarize.data.rttm.Turn``."""
        from diarize.data.rttm import Turn

        return [
            Turn(uri=self.uri, start=self.offset + s, end=self.offset + e, speaker=name)
            for name, _, segments in self.speakers
            for s, e in segments
        ]

    def annotation(self):
        """The turns as a ``pyannote.core.Annotation``."""
        from diarize.data.rttm import turns_to_annotation

        return turns_to_annotation(self.turns(), uri=self.uri)


class Diarizer:
    """A SortFormer network plus long-audio settings and post-processing parameters.

    Args:
        network: a SortFormer network (see ``diarize.models.load_model``), moved to ``device``.
        postprocessing: parameters or a YAML path; default neutral (0.5 threshold).
        longform: chunking and speaker-cache settings, or a YAML file of them.
        device: ``"cpu"``, ``"cuda"`` or ``"auto"`` (CUDA when available).
        bf16: bfloat16 autocast of CAM++ and segmentation-3.0, on CUDA of the SortFormer
            blocks too: True/False, ``"bf16"``/``"fp32"``, or None/``"auto"``: on CUDA, and
            on a CPU with native bfloat16 (AVX512-BF16 or AMX; 1.7-1.8x faster).
        model_path: where the network came from (recorded in outputs).
    """

    def __init__(
        self,
        network: torch.nn.Module,
        postprocessing: PostProcessingParams | str | Path | None = None,
        longform: LongformConfig | str | Path | None = None,
        device: str = "auto",
        bf16: bool | str | None = None,
        model_path: Path | None = None,
    ) -> None:
        self.device = resolve_device(device)
        self.bf16 = resolve_bf16(self.device, bf16)
        self.network = network.to(self.device).eval()
        if isinstance(postprocessing, (str, Path)):
            postprocessing = load_postprocessing(postprocessing)
        self.postprocessing = postprocessing or PostProcessingParams()
        if isinstance(longform, (str, Path)):
            longform = LongformConfig.from_yaml(longform)
        self.longform = longform or LongformConfig()
        self.model_path = model_path

    @property
    def max_speakers(self) -> int:
        return int(self.network.max_speakers)

    @classmethod
    def from_pretrained(
        cls,
        path_or_name: str | Path | None = None,
        postprocessing: PostProcessingParams | str | Path | None = None,
        longform: LongformConfig | str | Path | None = None,
        device: str = "auto",
        bf16: bool | str | None = None,
    ) -> Diarizer:
        """Load a model file (``.pt`` export or Lightning ``.ckpt``) or a bundled model by name.

        With no argument (or ``"default"``) the bundled default model is used, together with
        its tuned post-processing (``diarize/pretrained/postprocess.yaml``) unless
        ``postprocessing`` is given. A model file may also have a tuned YAML beside it named
        ``<model stem>.postprocess.yaml``, used the same way; likewise its chunking and
        linking settings (``longform.yaml`` / ``<model stem>.longform.yaml``) unless
        ``longform`` is given. CAM++ is prepared for inference (BatchNorms folded, channels-last
        2-D convolutions: the same function, faster).

        Raises:
            DiarizeError: the model is missing or cannot be loaded.
        """
        from diarize.models import load_model
        from diarize.models.campplus import prepare_for_inference

        path = resolve_model(path_or_name)
        if postprocessing is None:
            postprocessing = _settings_beside(path, "postprocess", DEFAULT_POSTPROCESSING)
        if longform is None:
            longform = _settings_beside(path, "longform", DEFAULT_LONGFORM)
        network = load_model(path)
        front_end = getattr(network, "campplus", None)
        if front_end is not None:  # a fresh copy, used for inference only
            prepare_for_inference(front_end.campplus)
        return cls(network, postprocessing, longform, device, bf16, model_path=path)

    def __call__(
        self,
        audio: str | Path | np.ndarray | list,
        sample_rate: int | None = None,
        num_speakers: int | None = None,
        min_speakers: int | None = None,
        max_speakers: int | None = None,
    ):
        """Diarize a file, an array, or a list of them.

        Args:
            audio: a path, a numpy array or torch tensor of shape ``(num_samples,)``,
                ``(num_samples, channels)`` or ``(channels, num_samples)`` (the shorter axis is
                taken as channels, which are averaged), or a list of these.
            sample_rate: the arrays' sample rate (required for arrays; files carry their own).
            num_speakers: exact number of speakers (>= 1), if known.
            min_speakers: at least this many (best effort, see ``postprocess.select_speakers``).
            max_speakers: at most this many.

        Returns:
            A ``pyannote.core.Annotation`` (a list of them for a list input).
        """
        hints = self.check_hints(num_speakers, min_speakers, max_speakers)
        if isinstance(audio, (list, tuple)):
            return [self.diarize(a, sample_rate, **hints).annotation() for a in audio]
        return self.diarize(audio, sample_rate, **hints).annotation()

    def diarize(
        self,
        audio: str | Path | np.ndarray | AudioSource,
        sample_rate: int | None = None,
        uri: str | None = None,
        num_speakers: int | None = None,
        min_speakers: int | None = None,
        max_speakers: int | None = None,
    ) -> Diarization:
        """Diarize one recording and keep the posteriors with the segments.

        Raises:
            DiarizeError: invalid speaker-count hints (checked before any work), or audio
                that cannot be read.
        """
        hints = self.check_hints(num_speakers, min_speakers, max_speakers)
        source, uri = self._source(audio, sample_rate, uri)
        probs = self.posteriors(source, **hints)
        return self.result(uri, source, probs, **hints)

    def check_hints(
        self,
        num_speakers: int | None = None,
        min_speakers: int | None = None,
        max_speakers: int | None = None,
    ) -> dict[str, int | None]:
        """The speaker-count hints as keyword arguments, checked against this model.

        Raises:
            DiarizeError: see :func:`~diarize.inference.postprocess.check_speaker_hints`.
        """
        # long files link chunk speakers, so a file may hold more speakers than K columns
        limit = max(self.max_speakers, MAX_FILE_SPEAKERS)
        check_speaker_hints(num_speakers, min_speakers, max_speakers, limit)
        return dict(num_speakers=num_speakers, min_speakers=min_speakers, max_speakers=max_speakers)

    def diarize_folder(
        self,
        inputs: str | Path | list[str | Path],
        out_dir: str | Path,
        **options: object,
    ):
        """Diarize files, folders and manifests into ``out_dir`` like ``diarize infer``.

        One RTTM per recording (atomic; finished recordings are skipped unless
        ``overwrite=True``), ``diarization.rttm`` with all of them, and the DER when the
        manifest gives references. A broken file fails alone. ``devices=N`` (and
        ``num_nodes=M``) runs N worker processes per machine through Lightning Fabric. See
        :func:`diarize.inference.batch.diarize_folder` for every option.

        Returns:
            A :class:`~diarize.inference.batch.BatchSummary` (``.ok``, ``.failed``, ...).
        """
        from diarize.inference.batch import diarize_folder

        return diarize_folder(self, inputs, out_dir, **options)

    @property
    def clusters(self) -> bool:
        """Whether speakers come from clustering CAM++ windows (then files run one by one)."""
        return clusters_by_voice(self.network, self.longform)

    def posteriors(self, source: AudioSource, **hints: int | None) -> np.ndarray:
        """Speaker posteriors of one recording (chunks with linked speakers when long; the
        speaker-count hints bound the linking).

        Shape:
            (num_samples,) -> (T, S) with S >= max_speakers
        """
        return longform_posteriors(
            self.network, source, self.longform, self.device, self.bf16, **hints
        )

    def result(
        self,
        uri: str,
        source: AudioSource,
        probs: np.ndarray,
        params: PostProcessingParams | None = None,
        **hints: int | None,
    ) -> Diarization:
        """Post-process posteriors into a :class:`Diarization`."""
        duration = source.num_samples / SAMPLE_RATE
        # a short file has K columns: ask no more of them (min_speakers is a best effort)
        hints = {
            name: value if value is None or name == "max_speakers" else min(value, probs.shape[1])
            for name, value in hints.items()
        }
        chosen = select_speakers(probs, params or self.postprocessing, duration, **hints)
        speakers = tuple(
            (speaker_name(i), column, tuple(segments))
            for i, (column, segments) in enumerate(chosen)
        )
        offset = float(getattr(source, "offset", 0.0))
        return Diarization(uri, duration, offset, probs, speakers)

    def diarize_items(
        self,
        items: Iterable[ManifestEntry],
        batch_size: int = 1,
        oracle_num_speakers: bool = False,
        **hints: int | None,
    ) -> Iterator[tuple[ManifestEntry, Diarization | DiarizeError]]:
        """Diarize many recordings; a broken one yields its error and the rest carry on.

        Recordings no longer than one chunk are run ``batch_size`` at a time in one padded
        batch (worth it on a GPU) unless speakers come from clustering; longer ones run alone
        through the chunked engine. Results come back in input order. With
        ``oracle_num_speakers`` (NeMo's setting of that name), a recording whose manifest line
        gives ``num_speakers`` is diarized with exactly that many; the others with ``hints``.
        """
        pending: list[tuple[ManifestEntry, FileSource, dict]] = []
        for item in items:
            try:
                own = hints
                if oracle_num_speakers and item.num_speakers is not None:
                    own = self._manifest_hints(item)
                source = FileSource(item.audio_filepath, item.offset, item.duration)
            except DiarizeError as error:
                yield from self._flush(pending)
                pending = []
                yield item, error
                continue
            if (
                batch_size > 1
                and not self.clusters
                and len(chunk_windows(source.num_samples, self.longform)) <= 1
            ):
                pending.append((item, source, own))
                if len(pending) >= batch_size:
                    yield from self._flush(pending)
                    pending = []
                continue
            yield from self._flush(pending)
            pending = []
            yield item, self._one(item, source, own)
        yield from self._flush(pending)

    def _manifest_hints(self, item: ManifestEntry) -> dict[str, int | None]:
        """Exactly the manifest line's ``num_speakers`` (an error names the file)."""
        try:
            return self.check_hints(num_speakers=item.num_speakers)
        except DiarizeError as error:
            raise DiarizeError(f"{item.audio_filepath}: manifest num_speakers: {error}") from None

    def _one(
        self, item: ManifestEntry, source: FileSource, hints: dict
    ) -> Diarization | DiarizeError:
        try:
            return self.result(item.uri, source, self.posteriors(source, **hints), **hints)
        except DiarizeError as error:
            return error
        except (RuntimeError, ValueError, OSError) as error:
            # a decoder or the network choking on one odd file must not end a batch run
            return DiarizeError(f"{item.audio_filepath}: {type(error).__name__}: {error}")

    def _flush(
        self, pending: list[tuple[ManifestEntry, FileSource, dict]]
    ) -> Iterator[tuple[ManifestEntry, Diarization | DiarizeError]]:
        if len(pending) <= 1:
            for item, source, hints in pending:
                yield item, self._one(item, source, hints)
            return
        audios: dict[int, np.ndarray | DiarizeError] = {}
        for index, (_, source, _) in enumerate(pending):
            try:
                audios[index] = source.read(0, source.num_samples)
            except DiarizeError as error:
                audios[index] = error
        good = [i for i, a in audios.items() if isinstance(a, np.ndarray)]
        probs = batch_posteriors(
            self.network, [audios[i] for i in good], self.longform, self.device, self.bf16
        )
        by_index = dict(zip(good, probs, strict=True))
        for index, (item, source, hints) in enumerate(pending):
            if index in by_index:
                yield item, self.result(item.uri, source, by_index[index], **hints)
            else:
                yield item, audios[index]

    def _source(
        self, audio: str | Path | np.ndarray | AudioSource, sample_rate: int | None, uri: str | None
    ) -> tuple[AudioSource, str]:
        if isinstance(audio, (str, Path)):
            return FileSource(audio), uri or safe_uri(Path(audio).stem)
        if isinstance(audio, (np.ndarray, torch.Tensor)):
            if sample_rate is None:
                raise DiarizeError("sample_rate is required when diarizing an array")
            if isinstance(audio, torch.Tensor):
                audio = audio.detach().cpu().float().numpy()
            return ArraySource(audio, sample_rate), uri or "array"
        if hasattr(audio, "read") and hasattr(audio, "num_samples"):
            return audio, uri or "audio"
        raise DiarizeError(f"cannot diarize a {type(audio).__name__}; give a path or an array")


def _settings_beside(model: Path, kind: str, bundled: Path) -> Path | None:
    """``<model stem>.<kind>.yaml`` beside the model, else the bundled file for the bundled
    model, else None."""
    for candidate in (
        model.with_name(f"{model.stem}.{kind}.yaml"),
        bundled if model == DEFAULT_MODEL else None,
    ):
        if candidate is not None and candidate.is_file():
            return candidate
    return None
