"""Folder fusion on Ray Data: a pool of actors that each load the model once.

The driver (the process that calls :func:`fuse_folder`) lists and matches the pairs, leaves
existing outputs alone, and streams the rest through ``Dataset.map_batches`` on an actor pool.
Each actor (:class:`_PairWorker`) loads the model with ``textif.load(model, **load_kwargs)`` and
fuses its pairs one at a time with :meth:`Fuser.fuse_file`, which writes every output atomically
under the output folder, so outputs are the bytes single-process ``textif fuse`` writes. Actors
return one small status row per pair; the driver appends it to ``OUT/_manifest.jsonl`` and
moves the progress bar. Ray Data restarts an actor that dies and retries its batch; pairs whose
output already exists are not fused again.

Ray is imported inside functions only: importing this module does not need Ray.
"""
from __future__ import annotations

import logging
import math
import os
import socket
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Literal

from textif.core.errors import TextIFError
from textif.distributed.manifest import MANIFEST_NAME, ManifestWriter
from textif.distributed.pairs import match_pairs
from textif.inference.fuser import FolderReport

__all__ = ["fuse_folder", "DistributedReport", "RayNotInstalledError", "require_ray", "INSTALL_HINT"]

INSTALL_HINT = "pip install 'textif[ray]'"


class RayNotInstalledError(TextIFError):
    """The Ray engine was asked for but Ray (with Ray Data) is not installed."""


def require_ray() -> Any:
    """Import and return :mod:`ray` (with :mod:`ray.data`), or raise a one-line install hint."""
    try:
        import ray
        import ray.data  # noqa: F401
    except ImportError:
        raise RayNotInstalledError(f"the Ray engine needs Ray Data, which is not installed: {INSTALL_HINT}") from None
    return ray


@dataclass
class DistributedReport(FolderReport):
    """Outcome of :func:`fuse_folder`: :class:`FolderReport` plus the manifest and the pool size.

    ``seconds`` covers the whole job after listing (Ray start-up and model loading included).
    """

    manifest: Path | None = None
    workers: int = 0


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


class _PairWorker:
    """Ray actor: loads the model once, then fuses batches of pairs.

    A batch is a dict of arrays ``name, vis, ir, out`` (strings); the result has one row per pair:
    ``name, status, seconds, worker, error, fatal``. ``fatal`` is set when the model could not be
    loaded on this worker (the driver stops the job then); a bad pair only gives ``failed``.
    """

    def __init__(
        self,
        model: str | None,
        load_kwargs: dict[str, Any],
        text: str | None,
        bit_depth: int,
        resize_ir_to_vis: bool,
        overwrite: bool,
        threads: int = 1,
    ) -> None:
        import torch

        torch.set_num_threads(threads)  # as many as the worker's CPUs (Ray's OMP_NUM_THREADS too)
        self.worker = f"{socket.gethostname()}:{os.getpid()}"
        self.text = text
        self.bit_depth = bit_depth
        self.resize_ir_to_vis = resize_ir_to_vis
        self.overwrite = overwrite
        self.startup_error = ""
        try:
            import textif

            self.fuser = textif.load(model, **load_kwargs)
            self.fuser.check_trained()
            self.fuser.embed(text)  # load the text encoder now: its errors are start-up errors
        except TextIFError as e:
            self.startup_error = _one_line(str(e))
        except Exception as e:  # noqa: BLE001 - reported to the driver as one line
            self.startup_error = _one_line(f"{type(e).__name__}: {e}")

    def __call__(self, batch: dict[str, Any]) -> dict[str, list]:
        rows: dict[str, list] = {k: [] for k in ("name", "status", "seconds", "worker", "error", "fatal")}
        for name, vis, ir, out in zip(batch["name"], batch["vis"], batch["ir"], batch["out"]):
            status, error, fatal = "ok", "", False
            t0 = time.perf_counter()
            if self.startup_error:
                status, error, fatal = "failed", self.startup_error, True
            elif self.overwrite or not os.path.exists(out):  # exists: written before a retry
                try:
                    self.fuser.fuse_file(
                        str(vis), str(ir), str(out), self.text, bit_depth=self.bit_depth, resize_ir_to_vis=self.resize_ir_to_vis
                    )
                except TextIFError as e:
                    status, error = "failed", _one_line(str(e))
                except Exception as e:  # noqa: BLE001 - one bad pair must not stop the job
                    status, error = "failed", _one_line(f"{vis}: {type(e).__name__}: {e}")
            for key, value in zip(rows, (str(name), status, time.perf_counter() - t0, self.worker, error, fatal)):
                rows[key].append(value)
        return rows


def _worker_runtime_env() -> dict[str, Any] | None:
    """Make Ray workers import the same textif as the driver when it runs from a source folder.

    An installed textif (site-packages) needs nothing; a checkout or editable install puts its
    folder first on the workers' ``PYTHONPATH`` (on a cluster that folder must exist on every node).
    """
    import textif

    root = Path(textif.__file__).resolve().parents[1]
    if any(part in ("site-packages", "dist-packages") for part in root.parts):
        return None
    rest = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p and Path(p).resolve() != root]
    return {"env_vars": {"PYTHONPATH": os.pathsep.join([str(root), *rest])}}


def _absolute_paths(model: Any, load_kwargs: dict[str, Any]) -> tuple[str | None, dict[str, Any]]:
    """Workers run in another folder: give them absolute paths for local files and folders."""

    def fix(value: Any, is_path: bool) -> Any:
        if isinstance(value, os.PathLike) or (is_path and isinstance(value, str) and os.path.exists(value)):
            return str(Path(value).resolve())
        return value

    model = fix(model, True) if model is not None else None
    return model, {k: fix(v, k.endswith("_path")) for k, v in load_kwargs.items()}


def _connect(ray: Any, address: str | None, quiet: bool) -> bool:
    """Use the running Ray session, or connect to ``address`` / start a local one. True if started here."""
    if ray.is_initialized():
        return False
    try:
        ray.init(
            address=address,
            logging_level=logging.WARNING if quiet else logging.INFO,
            log_to_driver=not quiet,
            include_dashboard=False if address is None else None,
        )
    except ConnectionError as e:
        raise TextIFError(f"--address {address}: cannot reach a Ray cluster ({_one_line(str(e))})") from None
    return True


def _pool_size(ray: Any, workers: int | None, cpus_per_worker: float, gpus_per_worker: float, n_batches: int) -> int:
    res = ray.cluster_resources()
    if gpus_per_worker > 0:
        gpus = res.get("GPU", 0.0)
        if gpus < gpus_per_worker:
            raise TextIFError(f"--gpus-per-worker {gpus_per_worker:g}: the Ray cluster has {gpus:g} GPUs")
        fit = int(gpus // gpus_per_worker)
    else:
        fit = max(1, int(res.get("CPU", 1.0) // max(cpus_per_worker, 1e-9)))
    n = workers if workers is not None else fit
    return max(1, min(n, n_batches))


def fuse_folder(
    vis_dir: str | os.PathLike,
    ir_dir: str | os.PathLike,
    out_dir: str | os.PathLike,
    text: str | None = None,
    *,
    model: str | os.PathLike | None = None,
    overwrite: bool = False,
    bit_depth: Literal[8, 16] = 8,
    resize_ir_to_vis: bool = False,
    progress: bool = True,
    suffix: str = ".png",
    address: str | None = None,
    workers: int | None = None,
    cpus_per_worker: float = 1.0,
    gpus_per_worker: float = 0.0,
    batch_size: int = 1,
    on_record: Callable[[dict[str, Any]], None] | None = None,
    **load_kwargs: Any,
) -> DistributedReport:
    """Fuse every pair of two folders on a Ray cluster; the distributed twin of :meth:`Fuser.fuse_folder`.

    Pairs are matched by file stem as in single-process mode; existing outputs are skipped unless
    ``overwrite``; each finished pair is appended to ``out_dir/_manifest.jsonl``; a bad pair is
    recorded and the job goes on.

    Args:
        vis_dir, ir_dir, out_dir, text, overwrite, bit_depth, resize_ir_to_vis, progress, suffix:
            as in :meth:`Fuser.fuse_folder`. ``out_dir`` must be reachable by every node.
        model: preset name or checkpoint folder, as for :func:`textif.load`.
        address: Ray cluster to join (``"auto"``, ``"HOST:PORT"``, ``"ray://HOST:10001"``); ``None``
            uses the running Ray session, ``RAY_ADDRESS``, or starts a local one.
        workers: actors in the pool (each loads the model once); default: as many as the
            cluster's CPUs (or GPUs / ``gpus_per_worker``) allow, at most one per batch.
        cpus_per_worker, gpus_per_worker: Ray resources of one actor (fractions share a GPU).
        batch_size: pairs handed to an actor at a time (the unit of scheduling and retry; each
            pair is still one forward pass, so outputs do not depend on it).
        on_record: called with each manifest record as it is written (driver side).
        **load_kwargs: passed on to ``textif.load`` in every worker (``device``, ``precision``,
            ``tile``, ``tile_overlap``, ``text_encoder_path``, ``allow_untrained``, ...).

    Raises:
        RayNotInstalledError: Ray Data is not installed.
        TextIFError: bad folders or options, an unreachable cluster, or a model that a worker
            cannot load (one line, naming the worker).
    """
    ray = require_ray()
    model, load_kwargs = _absolute_paths(model, load_kwargs)
    if batch_size < 1:
        raise TextIFError(f"--batch-size must be at least 1, got {batch_size}")
    if workers is not None and workers < 1:
        raise TextIFError(f"--workers must be at least 1, got {workers}")
    if gpus_per_worker < 0 or cpus_per_worker <= 0:
        raise TextIFError("--gpus-per-worker must be >= 0 and cpus per worker > 0")
    plan = match_pairs(vis_dir, ir_dir, out_dir, overwrite=overwrite, suffix=suffix)
    out = Path(out_dir)
    report = DistributedReport(skipped=list(plan.skipped), manifest=out / MANIFEST_NAME)
    t0 = time.perf_counter()
    started = _connect(ray, address, quiet=not progress) if plan.todo else False
    try:
        with ManifestWriter(report.manifest) as manifest:

            def record(**fields: Any) -> None:
                rec = manifest.append(**fields)
                if on_record is not None:
                    on_record(rec)

            for name, msg in plan.unmatched:
                report.failed.append((name, msg))
                record(name=name, status="failed", error=msg)
            if plan.todo:
                _run(ray, plan.todo, report, record, model=model, text=text, overwrite=overwrite, bit_depth=bit_depth,
                     resize_ir_to_vis=resize_ir_to_vis, progress=progress, workers=workers,
                     cpus_per_worker=cpus_per_worker, gpus_per_worker=gpus_per_worker, batch_size=batch_size,
                     load_kwargs=load_kwargs)
    finally:
        if started:
            ray.shutdown()
    report.seconds = time.perf_counter() - t0
    return report


def _run(ray: Any, todo: list, report: DistributedReport, record: Callable[..., None], *, model: Any, text: str | None,
         overwrite: bool, bit_depth: int, resize_ir_to_vis: bool, progress: bool, workers: int | None,
         cpus_per_worker: float, gpus_per_worker: float, batch_size: int, load_kwargs: dict[str, Any]) -> None:
    from ray.data import ActorPoolStrategy, DataContext
    from tqdm.auto import tqdm

    n = _pool_size(ray, workers, cpus_per_worker, gpus_per_worker, math.ceil(len(todo) / batch_size))
    report.workers = n
    items = [{"name": stem, "vis": str(v), "ir": str(i), "out": str(o)} for stem, v, i, o in todo]
    remote_args: dict[str, Any] = {"num_cpus": cpus_per_worker}
    if gpus_per_worker > 0:
        remote_args["num_gpus"] = gpus_per_worker
    env = _worker_runtime_env()
    if env is not None:
        remote_args["runtime_env"] = env
    ctx = DataContext.get_current()
    saved = (ctx.enable_progress_bars, ctx.print_on_execution_start)
    ctx.enable_progress_bars, ctx.print_on_execution_start = False, False  # the job has its own bar
    data_log = logging.getLogger("ray.data")
    saved_level = data_log.level
    data_log.setLevel(logging.WARNING)
    try:
        ds = ray.data.from_items(items).map_batches(
            _PairWorker,
            batch_size=batch_size,
            batch_format="numpy",
            compute=ActorPoolStrategy(size=n),
            fn_constructor_kwargs={
                "model": model,
                "load_kwargs": dict(load_kwargs),
                "text": text,
                "bit_depth": int(bit_depth),
                "resize_ir_to_vis": bool(resize_ir_to_vis),
                "overwrite": bool(overwrite),
                "threads": max(1, int(cpus_per_worker)),
            },
            **remote_args,
        )
        outputs = {stem: Path(o) for stem, _, _, o in todo}
        pair_failed: list[tuple[str, str]] = []
        desc = f"fusing on {n} Ray worker{'s' if n != 1 else ''}"
        with tqdm(total=len(todo), desc=desc, unit="pair", disable=not progress, dynamic_ncols=True) as bar:
            for row in ds.iter_rows():
                if row["fatal"]:
                    raise TextIFError(f"Ray worker {row['worker']} could not load the model: {row['error']}")
                name = str(row["name"])
                record(name=name, status=str(row["status"]), seconds=float(row["seconds"]), worker=str(row["worker"]),
                       error=str(row["error"]))
                if row["status"] == "ok":
                    report.written.append(outputs[name])
                else:
                    pair_failed.append((name, str(row["error"])))
                    bar.set_postfix(failed=len(pair_failed), refresh=False)
                bar.update(1)
        report.written.sort()
        report.failed.extend(sorted(pair_failed))
    finally:
        ctx.enable_progress_bars, ctx.print_on_execution_start = saved
        data_log.setLevel(saved_level)
