"""The compute device and precision of a run: parameters, never constants.

``resolve_device("auto")`` picks CUDA when torch sees a GPU, then Apple MPS, else the CPU;
an explicit ``cuda``/``cuda:N``/``mps`` that is not available is a one-line error.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from negbench.harness.errors import NegbenchError

DEVICE_CHOICES = "auto, cpu, cuda, cuda:N or mps"
PRECISIONS = ("auto", "fp32", "bf16", "fp16")


def resolve_device(name: str = "auto") -> str:
    """A torch device string for ``name`` (auto|cpu|cuda|cuda:N|mps), checked against torch."""
    import torch

    name = (name or "auto").strip().lower()
    if name == "auto":
        if torch.cuda.is_available():
            return "cuda"
        mps = getattr(torch.backends, "mps", None)
        return "mps" if mps is not None and mps.is_available() else "cpu"
    if name == "cpu":
        return "cpu"
    m = re.fullmatch(r"cuda(?::(\d+))?", name)
    if m:
        if not torch.cuda.is_available():
            raise NegbenchError(f"--device {name}: torch sees no CUDA GPU (torch "
                                f"{torch.__version__}; a CPU-only build?)")
        if m.group(1) is not None and int(m.group(1)) >= torch.cuda.device_count():
            raise NegbenchError(f"--device {name}: only {torch.cuda.device_count()} CUDA "
                                "device(s) visible")
        return name
    if name == "mps":
        mps = getattr(torch.backends, "mps", None)
        if mps is None or not mps.is_available():
            raise NegbenchError("--device mps: MPS is not available on this machine")
        return "mps"
    raise NegbenchError(f"--device {name!r}: expected {DEVICE_CHOICES}")


def resolve_precision(precision: str, device: str) -> str:
    """Training precision: ``auto`` is bf16 autocast on CUDA (fp16 where bf16 is unsupported),
    fp32 elsewhere; bf16/fp16 on the CPU are refused (no speed-up there, only noise)."""
    import torch

    precision = (precision or "auto").lower()
    if precision not in PRECISIONS:
        raise NegbenchError(f"--precision {precision!r}: expected one of {', '.join(PRECISIONS)}")
    cuda = device.startswith("cuda")
    if precision == "auto":
        if not cuda:
            return "fp32"
        return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
    if precision != "fp32" and not cuda:
        raise NegbenchError(f"--precision {precision} needs a CUDA device (got {device})")
    return precision


@dataclass(frozen=True)
class DeviceInfo:
    """What a record states about where it ran."""

    device: str
    precision: str
    name: str  # e.g. "NVIDIA H100 80GB HBM3" or "cpu (2 threads)"

    def to_dict(self) -> dict:
        return {"device": self.device, "precision": self.precision, "name": self.name}


def device_info(device: str, precision: str) -> DeviceInfo:
    """The resolved device and precision with a human-readable hardware name."""
    import torch

    if device.startswith("cuda"):
        name = torch.cuda.get_device_name(torch.device(device))
    elif device == "mps":
        name = "Apple MPS"
    else:
        name = f"cpu ({torch.get_num_threads()} threads)"
    return DeviceInfo(device, precision, name)


def deterministic(seed: int, device: str = "cpu") -> None:
    """Seed python/numpy/torch; on the CPU also make torch pick deterministic kernels (CPU
    results repeat bit for bit). On a GPU only the seeds are set: deterministic CUDA kernels
    are slower and some are missing, so GPU results repeat up to kernel non-determinism."""
    from transformers import enable_full_determinism, set_seed

    if device == "cpu":
        enable_full_determinism(seed)
    else:
        set_seed(seed)
