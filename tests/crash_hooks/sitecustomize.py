"""Pause a `sourcegate` process at a chosen moment of its dlt load, so a test can kill it there.

Imported at interpreter start when this folder is on PYTHONPATH. It does nothing unless
`SOURCEGATE_TEST_PAUSE_AT` is set: to `extract` (after the first batch of rows was written),
`normalize` or `load_start` (as that dlt step starts) or `load` (after the first load job
committed its rows, before dlt recorded it).
At that moment it creates the file `SOURCEGATE_TEST_PAUSED` names and sleeps, holding whatever
the run holds (pool slot, writer lock, pending package) until the test sends a signal.
"""

import os
import time
from pathlib import Path

# Popped, so that processes the command starts (Dagster's log capture, say) run unhooked.
STAGE = os.environ.pop("SOURCEGATE_TEST_PAUSE_AT", None)


def _pause() -> None:
    Path(os.environ["SOURCEGATE_TEST_PAUSED"]).write_text(str(os.getpid()))
    time.sleep(300)


if STAGE == "extract":
    from dlt.common.storages.data_item_storage import DataItemStorage

    _write, _calls = DataItemStorage.write_data_item, []

    def _write_then_pause(self, *args, **kwargs):
        result = _write(self, *args, **kwargs)
        _calls.append(1)
        if len(_calls) == 1:
            _pause()
        return result

    DataItemStorage.write_data_item = _write_then_pause
elif STAGE in ("normalize", "load_start"):
    import importlib

    trace = importlib.import_module("dlt.pipeline.trace")  # `dlt.pipeline` is also a function

    class _PauseAtStep:
        def on_start_trace(self, *args):
            pass

        def on_start_trace_step(self, trace, step, pipeline):
            if step == STAGE.removesuffix("_start") and pipeline.pipeline_name.startswith(
                "sourcegate_"
            ):
                _pause()

        def on_end_trace_step(self, *args):
            pass

        def on_end_trace(self, *args):
            pass

    trace.TRACKING_MODULES.append(_PauseAtStep())
elif STAGE == "load":
    from dlt.destinations.impl.duckdb import duck

    _run = duck.DuckDbCopyJob.run

    def _run_then_pause(self):
        _run(self)
        _pause()

    duck.DuckDbCopyJob.run = _run_then_pause
