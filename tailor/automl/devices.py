"""The devices a worker lends its trainings (TAILOR_DEVICES, `tailor worker --devices`), by name.

    all             every CUDA device of the machine (the CPU where there is none)
    cuda:0,cuda:1   these GPUs
    cpu:0,cpu:1     slots of the CPU: one trial process each, the CPU's threads shared between them
    (empty)         one device, the default: the GPU when there is one, else the CPU

A training's exploring trials run side by side on its devices (automl/search.py, automl/detection/training.py); on
one device nothing changes.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

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
