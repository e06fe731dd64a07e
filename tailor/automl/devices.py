"""The devices a worker lends its trainings (TAILOR_DEVICES, `tailor worker --devices`), by name.

    all             every CUDA device of the machine (the CPU where there is none)
    cuda:0,cuda:1   these GPUs
    cpu:0,cpu:1     slots of the CPU: one trial process each, the CPU's threads shared between them
    (empty)         one device, the default: the GPU when there is one, else the CPU

A training's exploring trials run side by side on its devices (automl/search.py); on one device nothing changes.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence

log = logging.getLogger(__name__)

_NAME = re.compile(r"^(cpu|cuda)(?::(\d+))?$")


def resolve_devices(names: Sequence[str], *, cuda_devices: int | None = None) -> tuple[str, ...]:
    """Canonical device names (`cuda:0`, `cpu:1`) for `names`; () for the default one device. A name this machine
    does not have, two kinds at once or a name given twice raise ValueError, saying what is possible."""
    if cuda_devices is None:
        import torch

        cuda_devices = torch.cuda.device_count() if torch.cuda.is_available() else 0
    names = [name.strip().lower() for name in names if name.strip()]
    if not names:
        return ()
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


def torch_device_name(name: str) -> str:
    """What torch calls device `name`: a CPU slot is the CPU."""
    return "cpu" if name.startswith("cpu") else name
