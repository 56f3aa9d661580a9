#!/usr/bin/env bash
# Makes .venv-torch2 (repo root): torch 2 (CPU), torchvision, timm, transformers, onnx and onnxscript from the
# machine's package index, for test/python/export_hub.py. Nothing is done while the venv already imports them.
set -euo pipefail
cd "$(dirname "$0")/../.."
VENV=.venv-torch2
# export_hub.py imports them (with its torchvision workaround) and lists its models.
check() { "$VENV/bin/python" -c 'import onnx, onnxscript' && "$VENV/bin/python" test/python/export_hub.py list >/dev/null; }
if [ -x "$VENV/bin/python" ] && check 2>/dev/null; then exit 0; fi
PYTHON=$(command -v python3.11 || command -v python3)
rm -rf "$VENV"
"$PYTHON" -m venv "$VENV"
PIP=("$VENV/bin/pip" install -q --disable-pip-version-check --index-url file:///opt/pypi/simple --extra-index-url file:///opt/pypi-more/simple)
# The index's torch is a CUDA build pulling gigabytes of NVIDIA wheels; the CPU wheel where the machine has one.
CPU_TORCH=$(ls /opt/wheels/torch-2.*+cpu-*.whl 2>/dev/null | head -n 1 || true)
"${PIP[@]}" "${CPU_TORCH:-torch}" numpy
MINOR=$("$VENV/bin/python" -c 'import torch; print(torch.__version__.split(".")[1])')
# torchvision 0.(N+15) goes with torch 2.N; without its dependencies it cannot replace the CPU torch.
"${PIP[@]}" --no-deps "torchvision==0.$((MINOR + 15)).*"
"${PIP[@]}" numpy pillow timm transformers onnx onnxscript
check
