"""diarize: SortFormer speaker diarization toolkit."""

__version__ = "0.1.0"
