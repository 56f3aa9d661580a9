#!/usr/bin/env bash
# Creates (or reuses) .venv-torch: PyTorch 2.x (CPU) with timm, transformers and onnx from the machine's local
# package index, for the benchmark's peer and the export tests. Prints the venv's python on success; exits 1 with
# one line when no such index or wheel is here (callers then fall back to Debian's python3-torch or skip).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
venv="$root/.venv-torch"
py="$venv/bin/python"
if [ -x "$py" ] && "$py" -c 'import torch, timm, transformers, onnx, onnxscript, PIL' 2>/dev/null; then
  echo "$py"; exit 0
fi
if [ ! -d /opt/pypi/simple ]; then
  echo "torch2-venv: no local package index at /opt/pypi/simple: PyTorch 2.x not installed" >&2; exit 1
fi
base=$(command -v python3.11 || command -v python3)
"$base" -m venv "$venv" >&2
# Only the local index: the public one is unreachable here and pip would retry it for minutes.
"$venv/bin/pip" install -q --disable-pip-version-check --index-url file:///opt/pypi/simple \
  --extra-index-url file:///opt/pypi-more/simple torch timm transformers onnx onnxscript onnxruntime pillow numpy \
  >"$venv/pip.log" 2>&1 || { echo "torch2-venv: pip could not install torch 2.x from the local index (see $venv/pip.log)" >&2; exit 1; }
echo "$py"
