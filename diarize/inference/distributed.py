"""Batch diarization on N processes per machine and M machines, through Lightning Fabric (DDP).

The one place inference imports Lightning (and only when more than one process is asked for,
so a plain ``diarize infer`` starts as fast as before). Fabric starts the workers (``popen``:
re-run the command line, as ``diarize infer --devices N`` does; ``spawn``: run one function,
for the Python API) or joins the processes that ``torchrun`` or SLURM's ``srun`` started, and
sets up ``torch.distributed`` (gloo on CPU, NCCL on GPU).

Each worker:

1. decides which recordings are already done, then waits at a barrier, so that no rank sees
   another rank's fresh outputs and the shards agree;
2. takes its shard of the rest, balanced by audio duration (:func:`shard_by_duration`, the
   same on every rank: no communication needed);
3. diarizes it with ``cores // N`` threads on CPU, writing each recording's files atomically;
4. all-gathers the per-file outcomes, so every rank knows the whole run (the exit status is
   the same everywhere); rank 0 then writes the combined RTTM, the summary and the DER.
"""

from __future__ import annotations

import heapq
import os
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path

from diarize.audio.io import audio_duration
from diarize.data.manifest import ManifestEntry
from diarize.errors import DiarizeError
from diarize.inference.batch import BatchOptions, FileOutcome, diarize_items, pending_items
from diarize.inference.diarizer import Diarizer
from diarize.io_utils import remove_stale_temp_files

# Ranks wait for each other at the end; balanced shards end within about one recording of each
# other, but one long recording on a CPU can take hours.
COLLECTIVE_TIMEOUT = timedelta(hours=24)


def resolve_world(devices: int, num_nodes: int) -> tuple[int, int]:
    """``(devices, num_nodes)``; under ``torchrun`` left at 1 x 1 they come from its variables.

    Raises:
        DiarizeError: values that contradict the processes ``torchrun`` started.
    """
    local = os.environ.get("LOCAL_WORLD_SIZE")
    world = os.environ.get("WORLD_SIZE")
    if "TORCHELASTIC_RUN_ID" not in os.environ or not local or not world:
        return devices, num_nodes
    local_size, world_size = int(local), int(world)
    if (devices, num_nodes) == (1, 1):
        return local_size, max(1, world_size // local_size)
    if devices * num_nodes != world_size:
        raise DiarizeError(
            f"--devices {devices} --num-nodes {num_nodes} make {devices * num_nodes} processes, "
            f"but torchrun started {world_size}"
        )
    return devices, num_nodes


def launched_externally() -> bool:
    """True inside a process that torchrun, srun or a ``popen`` launch started as a rank."""
    slurm_tasks = int(os.environ.get("SLURM_NTASKS", "1") or 1)
    return any(key in os.environ for key in ("LOCAL_RANK", "TORCHELASTIC_RUN_ID")) or (
        slurm_tasks > 1 and "SLURM_PROCID" in os.environ
    )


def shard_by_duration(durations: Sequence[float], num_shards: int) -> list[list[int]]:
    """Indexes of ``durations`` split into ``num_shards`` shards of near-equal total duration.

    Longest first, each to the least-loaded shard (ties: the lower shard); each shard in input
    order. Deterministic, so every rank computes the same split on its own.
    """
    order = sorted(range(len(durations)), key=lambda i: (-durations[i], i))
    loads = [(0.0, shard) for shard in range(num_shards)]
    shards: list[list[int]] = [[] for _ in range(num_shards)]
    for index in order:
        load, shard = heapq.heappop(loads)
        shards[shard].append(index)
        heapq.heappush(loads, (load + durations[index], shard))
    return [sorted(shard) for shard in shards]


def item_duration(item: ManifestEntry) -> float:
    """Seconds to diarize (from the manifest or the header); 0 for an unreadable file."""
    if item.duration is not None:
        return item.duration
    try:
        return max(0.0, audio_duration(item.audio_filepath) - item.offset)
    except DiarizeError:
        return 0.0


def run(
    diarizer: Diarizer,
    items: list[ManifestEntry],
    out_dir: Path,
    options: BatchOptions,
    devices: int,
    num_nodes: int,
    start_method: str = "spawn",
) -> tuple[list[FileOutcome], bool]:
    """Diarize ``items`` on ``devices`` x ``num_nodes`` processes.

    Returns:
        Every recording's outcome (all ranks), and whether this process is rank 0. With
        ``spawn`` the calling process is not a worker: it gets rank 0's result.
    """
    import logging

    from lightning.fabric import Fabric
    from lightning.fabric.strategies import DDPStrategy

    # Fabric's start-up banners would bury the one-line outcome of a batch run
    for name in ("lightning.fabric", "lightning.pytorch"):  # both carry rank-zero messages
        logging.getLogger(name).setLevel(logging.WARNING)
    cuda = diarizer.device.type == "cuda"
    strategy = DDPStrategy(
        start_method=start_method,
        process_group_backend="nccl" if cuda else "gloo",
        timeout=COLLECTIVE_TIMEOUT,
    )
    fabric = Fabric(
        accelerator="cuda" if cuda else "cpu",
        devices=devices,
        num_nodes=num_nodes,
        strategy=strategy,
    )
    return fabric.launch(_worker, diarizer, items, out_dir, options)


def _worker(
    fabric, diarizer: Diarizer, items: list[ManifestEntry], out_dir: Path, options: BatchOptions
) -> tuple[list[FileOutcome], bool]:
    import torch
    import torch.distributed as dist

    rank, world = fabric.global_rank, fabric.world_size
    if diarizer.device.type == "cuda":
        diarizer.device = fabric.device
        diarizer.network.to(fabric.device)
    else:
        # the processes of one machine share its cores
        torch.set_num_threads(max(1, _cores() // max(1, fabric.strategy.num_processes)))
    if rank == 0:
        remove_stale_temp_files(out_dir)
    todo, skipped = pending_items(items, out_dir, options)
    # object collectives go through gloo also when the tensors use NCCL
    group = dist.new_group(backend="gloo") if dist.get_backend() != "gloo" else None
    dist.barrier(group=group)  # everyone has decided what is done before anyone writes
    shard = shard_by_duration([item_duration(item) for item in todo], world)[rank]
    label = f"rank {rank}/{world}" if world > 1 else None
    outcomes = diarize_items(
        diarizer,
        [todo[i] for i in shard],
        out_dir,
        options if rank == 0 else _quiet(options),
        progress_label=label,
    )
    gathered: list[list[FileOutcome] | None] = [None] * world
    dist.all_gather_object(gathered, outcomes, group=group)
    # gloo's threads left running at interpreter exit can abort a rank ("terminate called
    # without an active exception", exit -6) after its work is done
    dist.destroy_process_group()
    return skipped + [outcome for part in gathered for outcome in part or []], rank == 0


def _quiet(options: BatchOptions) -> BatchOptions:
    from dataclasses import replace

    return replace(options, progress=False)


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1
