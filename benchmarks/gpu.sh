#!/usr/bin/env bash
# One prepared GPU run, under 8 minutes on one H200: the tests that need CUDA, the speed table
# (benchmarks/gpu_speed.py) and a 1-GPU torchrun with NCCL. Writes everything under OUT (default out/gpu).
#
#   bash benchmarks/gpu.sh                       # on the GPU machine (python3 there has torch)
#   PYTHON=.venv/bin/python bash benchmarks/gpu.sh --device cpu --tiny   # the rehearsal here, in minutes
#
# The GPU machine has no network and lacks some of our dependencies: wheels for them go in .whl/
# (git-ignored; `bash benchmarks/gpu.sh --fetch-wheels` fills it here) and are installed from there.
set -euo pipefail
cd "$(dirname "$0")/.."
DEVICE=cuda
TINY=()
PYTHON=${PYTHON:-python3}
MISSING=(pycocotools==2.0.11 shapely==2.2.0 orjson==3.13.0 imagesize==2.0.1)
while [ $# -gt 0 ]; do
  case "$1" in
    --device) DEVICE=$2; shift 2 ;;
    --tiny) TINY=(--tiny); shift ;;
    --fetch-wheels)
      python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
        --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
        -d .whl "${MISSING[@]}"
      ls .whl; exit 0 ;;
    *) echo "gpu.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
OUT=${OUT:-out/gpu}
mkdir -p "$OUT"
if [ -d .whl ] && ! "$PYTHON" -c "import pycocotools, shapely, orjson, imagesize" 2>/dev/null; then
  "$PYTHON" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl
  export PYTHONPATH=/tmp/site
fi
export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1
"$PYTHON" -c "import torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available())" | tee "$OUT/env.txt"
status=0

echo "== the tests that need CUDA"
CUDA_TESTS_ON=$DEVICE "$PYTHON" -m pytest -q -p no:cacheprovider tests/test_cuda.py 2>&1 | tee "$OUT/tests.txt" || status=1

echo "== speed"
"$PYTHON" benchmarks/gpu_speed.py --device "$DEVICE" "${TINY[@]}" --out "$OUT/speed.md" || status=1

echo "== torchrun, 1 process ($([ "$DEVICE" = cuda ] && echo NCCL || echo gloo))"
rm -rf /tmp/gpu-torchrun
"$PYTHON" -m torch.distributed.run --standalone --nproc-per-node 1 -m annotator train --arch sapd \
  --data assets/sample/labels.json --images assets/sample/images --out /tmp/gpu-torchrun --epochs 2 --batch 2 --img-size 256 \
  --device "$DEVICE" 2>&1 | tee "$OUT/torchrun.txt" || status=1
grep -q '"epoch": 2' /tmp/gpu-torchrun/metrics.json && echo "torchrun: 2 epochs written" | tee -a "$OUT/torchrun.txt" \
  || { echo "torchrun: no second epoch in metrics.json" | tee -a "$OUT/torchrun.txt"; status=1; }
exit $status
