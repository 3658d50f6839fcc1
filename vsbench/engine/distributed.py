"""Multi-process training under ``torchrun``: process group, sharding, gathering.

``torchrun --nproc_per_node N -m vsbench run ...`` starts N processes with ``RANK``,
``WORLD_SIZE`` and ``LOCAL_RANK`` set. Each trains on its share of every global batch (the
global batch size stays the run's ``batch_size``, so the budget does not change with the number
of GPUs), gradients are averaged by DistributedDataParallel, every rank predicts its share of
the test images, and rank 0 gathers the metrics and alone writes the run folder.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Iterator, Sequence, TypeVar

import torch
import torch.distributed as dist

T = TypeVar("T")


@dataclass(frozen=True)
class DistContext:
    """This process's place in the job (world size 1 when not distributed)."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def enabled(self) -> bool:
        """True when running under torchrun with more than one process."""
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        """Rank 0: the process that writes results and shows progress."""
        return self.rank == 0


def init_from_env(device_type: str) -> DistContext:
    """Join the process group torchrun describes in the environment (gloo on the CPU, nccl on
    CUDA); a plain run gets a world of one."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return DistContext()
    ctx = DistContext(int(os.environ["RANK"]), world, int(os.environ.get("LOCAL_RANK", "0")))
    if not dist.is_initialized():
        dist.init_process_group("nccl" if device_type == "cuda" else "gloo")
    return ctx


def broadcast(obj: T, ctx: DistContext) -> T:
    """Rank 0's ``obj`` on every rank."""
    if not ctx.enabled:
        return obj
    box = [obj]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def gather(obj: Any, ctx: DistContext) -> list[Any]:
    """Every rank's ``obj``, in rank order (on every rank)."""
    if not ctx.enabled:
        return [obj]
    out: list[Any] = [None] * ctx.world_size
    dist.all_gather_object(out, obj)
    return out


def shard(items: Sequence[T], ctx: DistContext) -> list[T]:
    """This rank's share of ``items`` (round robin, so shares differ by at most one)."""
    return list(items[ctx.rank::ctx.world_size])


def barrier(ctx: DistContext) -> None:
    """Wait for every rank."""
    if ctx.enabled:
        dist.barrier()


def wrap_model(model: torch.nn.Module, ctx: DistContext, device: torch.device
               ) -> torch.nn.Module:
    """``model`` in DistributedDataParallel when distributed (unused parameters allowed: a
    method may skip parts of its network, e.g. a class embedding without labels)."""
    if not ctx.enabled:
        return model
    ids = [device.index] if device.type == "cuda" else None
    return torch.nn.parallel.DistributedDataParallel(model, device_ids=ids,
                                                     find_unused_parameters=True)


def unwrap_model(model: torch.nn.Module) -> torch.nn.Module:
    """The model inside a DistributedDataParallel wrapper (``model`` itself when unwrapped)."""
    if isinstance(model, torch.nn.parallel.DistributedDataParallel):
        return model.module
    return model


@contextmanager
def unwrapped(method: Any) -> Iterator[Any]:
    """Let ``method`` see its own model (not the DDP wrapper) inside the block, e.g. for
    ``state_dict`` keys that do not depend on the number of processes."""
    wrapper = method.model
    method.model = unwrap_model(wrapper)
    try:
        yield method
    finally:
        method.model = wrapper


def shutdown(ctx: DistContext) -> None:
    """Leave the process group."""
    if ctx.enabled and dist.is_initialized():
        dist.destroy_process_group()
