"""Progress bars that say what they count, and the libraries' expected chatter kept quiet.

A Hugging Face trainer (the cross-encoder teacher, the full track) draws a tqdm bar without a
name and prints its loss dicts to stdout; ``label_trainer`` puts a bar named after what trains
on stderr instead and hands the loss dicts to logging as library chatter (shown with ``-vv``
only, ``harness.logs``). ``counting_bar`` names a cross-encoder's scoring bar.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator

LOG = logging.getLogger("negbench.progress")


def library_messages_wanted() -> bool:
    """Whether library INFO messages are wanted (``-vv``: the CLI then lowers the root logger
    to DEBUG; it stays at WARNING otherwise, as it is by default)."""
    return logging.getLogger().isEnabledFor(logging.INFO)


@contextlib.contextmanager
def expected_warnings(*loggers: str) -> Iterator[None]:
    """Raise ``loggers`` to ERROR for the block, unless ``-vv``: for warnings negbench expects
    (e.g. sentence-transformers' "Converting SentenceTransformer model ... to CrossEncoder"
    when the teacher is built from a bi-encoder and gets a new classification head)."""
    saved = {} if library_messages_wanted() else {n: logging.getLogger(n).level for n in loggers}
    for name in saved:
        logging.getLogger(name).setLevel(logging.ERROR)
    try:
        yield
    finally:
        for name, level in saved.items():
            logging.getLogger(name).setLevel(level)


def label_trainer(trainer, label: str, enabled: bool) -> None:
    """Replace ``trainer``'s own progress bar and its loss-dict printer (stdout) by a bar named
    ``label`` on stderr (``enabled``) and ``chatter`` log records of the loss dicts."""
    from tqdm.auto import tqdm
    from transformers import TrainerCallback
    from transformers.trainer_callback import PrinterCallback, ProgressCallback

    class LabelledProgress(TrainerCallback):
        bar = None

        def on_train_begin(self, args, state, control, **kwargs):
            self.bar = tqdm(total=state.max_steps, desc=label, unit="step",
                            disable=not enabled)

        def on_step_end(self, args, state, control, **kwargs):
            if self.bar is not None:
                self.bar.update(state.global_step - self.bar.n)

        def on_log(self, args, state, control, logs=None, **kwargs):
            LOG.info("%s: step %d: %s", label, state.global_step, logs,
                     extra={"chatter": True})

        def on_train_end(self, args, state, control, **kwargs):
            if self.bar is not None:
                self.bar.close()
                self.bar = None

    for callback in (PrinterCallback, ProgressCallback):
        trainer.remove_callback(callback)
    trainer.add_callback(LabelledProgress())


@contextlib.contextmanager
def counting_bar(model, total: int, batch_size: int, label: str, enabled: bool,
                 unit: str = "pair") -> Iterator[None]:
    """A bar named ``label`` over ``total`` inputs that ``model`` (a torch module) scores in
    batches of ``batch_size``: advanced by a forward hook, so the library's own batching (and
    its scores) stay exactly as without the bar."""
    from tqdm.auto import tqdm

    bar = tqdm(total=total, desc=label, unit=unit, disable=not enabled or total == 0)

    def advance(*_) -> None:  # None: the module's output stays its own
        bar.update(min(batch_size, bar.total - bar.n))

    handle = model.register_forward_hook(advance)
    try:
        yield
    finally:
        handle.remove()
        bar.close()
