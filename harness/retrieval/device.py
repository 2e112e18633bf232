"""The compute device and precision of a run: parameters, never constants.

``resolve_device("auto")`` picks CUDA when torch sees a GPU, then Apple MPS, else the CPU;
an explicit ``cuda``/``cuda:N``/``mps`` that is not available is a one-line error.
``resolve_precision`` picks the training precision; bf16 on the CPU needs native bf16
instructions (``cpu_bf16_supported``) and then applies to the run's encodings too
(``encoding_precision``).
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


# ``--precision auto`` on the CPU: bf16 where the CPU supports it (``cpu_bf16_supported``),
# because the ΔnDCG@10 benchmark of issue 31 passed (SciFact ``standard`` grid, in-batch /
# random / dense x 5 seeds, fp32 vs bf16: |ΔnDCG@10| <= 0.001 for every sampler, the gate is
# 0.005; docs/performance.md, "bf16 on the CPU"). A folder that already holds runs keeps their
# precision (``negbench run``), so grids begun in fp32 finish in fp32.
AUTO_CPU_BF16 = True

# the /proc/cpuinfo flags of the CPU's native bf16 instructions, with their names in errors
CPU_BF16_FLAGS = {"avx512_bf16": "AVX-512 BF16", "amx_bf16": "AMX-BF16"}


def cpu_bf16_features() -> tuple[str, ...]:
    """The CPU's native bf16 instruction sets (``avx512_bf16``, ``amx_bf16``), which torch's
    CPU kernels (oneDNN) use for bf16 matrix products; without them bf16 is emulated and
    slower than fp32. Asked of torch's own CPU probes (``torch.cpu._is_avx512_bf16_supported``,
    ``torch.cpu._is_amx_tile_supported``) where this torch has them, else read from the
    ``flags`` line of ``/proc/cpuinfo`` (Linux); empty when neither can tell."""
    import torch

    cpu = getattr(torch, "cpu", None)
    probes = {"avx512_bf16": getattr(cpu, "_is_avx512_bf16_supported", None),
              "amx_bf16": getattr(cpu, "_is_amx_tile_supported", None)}
    if all(callable(f) for f in probes.values()):
        return tuple(flag for flag, f in probes.items() if f())
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            flags = next((line.split(":", 1)[1].split() for line in fh
                          if line.startswith("flags")), [])
    except OSError:
        return ()
    return tuple(flag for flag in CPU_BF16_FLAGS if flag in flags)


def cpu_bf16_supported() -> bool:
    """Whether bf16 autocast on this CPU runs on native bf16 instructions: AVX-512 BF16 or
    AMX-BF16 (``cpu_bf16_features``) and a torch built with oneDNN (``torch.backends.mkldnn``),
    which implements the bf16 matrix products with them."""
    import torch

    return bool(cpu_bf16_features()) and torch.backends.mkldnn.is_available()


class PrecisionUnavailable(NegbenchError):
    """A precision this machine cannot train; ``needs`` says what it lacks."""

    def __init__(self, precision: str, where: str, needs: str, hint: str = "") -> None:
        self.needs = needs
        super().__init__(f"--precision {precision}{where} needs {needs}{hint}")


def resolve_precision(precision: str, device: str) -> str:
    """Training precision: ``auto`` is bf16 autocast on CUDA (fp16 where bf16 is unsupported)
    and on a CPU with native bf16 instructions (``cpu_bf16_supported``; ``AUTO_CPU_BF16``),
    fp32 elsewhere. An explicit bf16 is accepted on a CPU with native bf16
    instructions (a one-line error naming what is missing elsewhere); fp16 needs CUDA, and MPS
    trains in fp32."""
    import torch

    precision = (precision or "auto").lower()
    if precision not in PRECISIONS:
        raise NegbenchError(f"--precision {precision!r}: expected one of {', '.join(PRECISIONS)}")
    cuda = device.startswith("cuda")
    if precision == "auto":
        if cuda:
            return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
        return "bf16" if device == "cpu" and AUTO_CPU_BF16 and cpu_bf16_supported() else "fp32"
    if precision == "bf16" and device == "cpu":
        if not cpu_bf16_features():
            raise PrecisionUnavailable("bf16", " on the CPU", "AVX-512 BF16 or AMX-BF16 (this CPU "
                                       "has neither: no avx512_bf16/amx_bf16 flag)", "; use fp32")
        if not torch.backends.mkldnn.is_available():
            raise PrecisionUnavailable("bf16", " on the CPU", "a torch built with oneDNN "
                                       f"(torch {torch.__version__} has none)", "; use fp32")
        return precision
    if precision != "fp32" and not cuda:
        raise PrecisionUnavailable(precision, "", f"a CUDA device (got {device})")
    return precision


def encoding_precision(precision: str, device: str) -> str:
    """The precision of a run's encodings (corpus, queries, mining, the zero-shot row): bf16 on
    the CPU when the run is bf16 (autocast around ``SentenceTransformer.encode``), else fp32.
    On CUDA the encodings stay fp32 whatever the training precision, as they always were
    (changing it would change every GPU record and cache)."""
    return "bf16" if device == "cpu" and precision == "bf16" else "fp32"


def autocast(device: str, precision: str):
    """``torch.autocast`` on ``device``'s type for bf16/fp16, a null context for fp32."""
    import contextlib

    import torch

    if precision not in ("bf16", "fp16"):
        return contextlib.nullcontext()
    dtype = torch.bfloat16 if precision == "bf16" else torch.float16
    return torch.autocast(device_type=torch.device(device).type, dtype=dtype)


@dataclass(frozen=True)
class DeviceInfo:
    """What a record states about where it ran."""

    device: str
    precision: str  # the training precision (a zero-shot record: its encodings')
    name: str  # e.g. "NVIDIA H100 80GB HBM3" or "cpu (2 threads)"
    encoding_precision: str = "fp32"  # the encodings' (``encoding_precision``)

    def to_dict(self) -> dict:
        return {"device": self.device, "precision": self.precision, "name": self.name,
                "encoding_precision": self.encoding_precision}


def device_info(device: str, precision: str, encoding: str = "fp32") -> DeviceInfo:
    """The resolved device and precision (training, encodings) with a human-readable hardware
    name."""
    import torch

    if device.startswith("cuda"):
        name = torch.cuda.get_device_name(torch.device(device))
    elif device == "mps":
        name = "Apple MPS"
    else:
        name = f"cpu ({torch.get_num_threads()} threads)"
    return DeviceInfo(device, precision, name, encoding)


def deterministic(seed: int, device: str = "cpu") -> None:
    """Seed python/numpy/torch; on the CPU also make torch pick deterministic kernels (CPU
    results repeat bit for bit). On a GPU only the seeds are set: deterministic CUDA kernels
    are slower and some are missing, so GPU results repeat up to kernel non-determinism."""
    from transformers import enable_full_determinism, set_seed

    if device == "cpu":
        enable_full_determinism(seed)
    else:
        set_seed(seed)
