"""The devices a worker lends its trainings (TAILOR_DEVICES, `tailor worker --devices`), by name.

    all             every CUDA device of the machine (the CPU where there is none)
    cuda:0,cuda:1   these GPUs
    cpu:0,cpu:1     slots of the CPU: one trial process each, the CPU's threads shared between them
    (empty)         one device, the default: the GPU when there is one, else the CPU

A training's exploring trials run side by side on its devices (automl/search.py, automl/detection/training.py); on
one device nothing changes. The first device named is also where the process runs trained models (analyze, the
prediction API, evaluations): `cuda:1` puts a worker, or an API process, on the second GPU of a machine.

On a GPU every network runs under bfloat16 autocast (`autocast`): features, fine-tuning, detection, serving. One
precision everywhere, so that what is served computes as what was validated; bfloat16 rather than float16 because a
fine-tuning's gradients need its range (float16 needs loss scaling). On the CPU everything stays float32.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

log = logging.getLogger(__name__)

_NAME = re.compile(r"^(cpu|cuda)(?::(\d+))?$")


def resolve_devices(names: Sequence[str], *, cuda_devices: int | None = None) -> tuple[str, ...]:
    """Canonical device names (`cuda:0`, `cpu:1`) for `names`; () for the default one device. A name this machine
    does not have, two kinds at once or a name given twice raise ValueError, saying what is possible."""
    names = [name.strip().lower() for name in names if name.strip()]
    if not names:
        return ()
    if cuda_devices is None:
        import torch

        cuda_devices = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if names == ["all"]:
        if cuda_devices == 0:
            log.warning("devices `all`: this machine has no CUDA device; trainings use the CPU")
            return ("cpu:0",)
        return tuple(f"cuda:{k}" for k in range(cuda_devices))
    resolved = []
    for name in names:
        match = _NAME.match(name)
        if match is None:
            raise ValueError(f"unknown device {name!r}: name `all`, `cuda:N` or `cpu:N` devices, comma-separated")
        kind, index = match.group(1), int(match.group(2) or 0)
        if kind == "cuda" and index >= cuda_devices:
            have = f"cuda:0 to cuda:{cuda_devices - 1}" if cuda_devices else "no CUDA device"
            raise ValueError(f"device {name!r}: this machine has {have}")
        resolved.append(f"{kind}:{index}")
    if len({name.split(":")[0] for name in resolved}) > 1:
        raise ValueError(f"devices {','.join(names)}: name devices of one kind, GPUs or CPU slots")
    if len(set(resolved)) < len(resolved):
        raise ValueError(f"devices {','.join(names)}: a device is named twice")
    return tuple(resolved)


class DevicePool:
    """A worker's devices, lent to the trainings it runs at once (`trainings` of them at most): each takes its share
    of the devices, `len(devices) // trainings` and at least one, from those no other training holds, or shares the
    least used device when none is free. A `lane` (the in-process runner's job slot, whose trainings run in
    processes of their own that cannot see each other's loans) takes that lane's share instead."""

    def __init__(self, devices: Sequence[str], trainings: int = 1):
        self.devices = tuple(devices)
        self._share = max(1, len(self.devices) // max(1, trainings))
        self._lent = dict.fromkeys(self.devices, 0)
        self._lock = threading.Lock()

    @contextmanager
    def lend(self, lane: int | None = None) -> Iterator[tuple[str, ...]]:
        """The devices of one training, until the block ends; () when the pool names none (the default device)."""
        if not self.devices:
            yield ()
            return
        with self._lock:
            if lane is not None:
                start = lane * self._share % len(self.devices)
                taken = list(self.devices[start : start + self._share])
            else:
                taken = [d for d in self.devices if not self._lent[d]][: self._share]
                taken = taken or [min(self.devices, key=self._lent.__getitem__)]
            for device in taken:
                self._lent[device] += 1
        try:
            yield tuple(taken)
        finally:
            with self._lock:
                for device in taken:
                    self._lent[device] -= 1


def torch_device_name(name: str) -> str:
    """What torch calls device `name`: a CPU slot is the CPU."""
    return "cpu" if name.startswith("cpu") else name


def serving_device(names: Sequence[str] = ()) -> str:
    """Where this process runs trained models: the first of `names` (TAILOR_DEVICES; a CPU slot is the CPU), else
    the GPU when there is one, else the CPU."""
    resolved = resolve_devices(names)
    return torch_device_name(resolved[0]) if resolved else default_device()


def default_device() -> str:
    """The device where nothing names one: the GPU when there is one, else the CPU."""
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def autocast(device: torch.device) -> torch.autocast:
    """The precision networks run at on `device`: bfloat16 autocast on a GPU, float32 (autocast off) elsewhere."""
    import torch

    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda")


@contextmanager
def fixed_sizes(device: torch.device) -> Iterator[None]:
    """cuDNN's autotuner, for loops whose every batch has one size (features, fine-tuning): it picks the fastest
    kernels once per size. Not for detection, whose images differ in size. Put back as it was afterwards."""
    import torch

    if device.type != "cuda":
        yield
        return
    before = torch.backends.cudnn.benchmark
    torch.backends.cudnn.benchmark = True
    try:
        yield
    finally:
        torch.backends.cudnn.benchmark = before


def onto(batch: torch.Tensor, device: torch.device, *, channels_last: bool = True) -> torch.Tensor:
    """A batch made on the CPU, on `device`: through pinned memory and without waiting for the copy on a GPU (the
    next batch is prepared meanwhile), channels-last (faster on GPUs, and with oneDNN on CPUs too)."""
    import torch

    layout = torch.channels_last if channels_last and batch.dim() == 4 else torch.preserve_format
    if device.type == "cuda":
        return batch.pin_memory().to(device, memory_format=layout, non_blocking=True)
    return batch.to(device, memory_format=layout)
