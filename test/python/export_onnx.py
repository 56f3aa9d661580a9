"""Exports torchvision models to ONNX with seeded random weights, for transferkit's forward-parity tests.

usage: export_onnx.py OUT_DIR NAME[:SIZE[:OPSET]] ...
For each model writes OUT_DIR/NAME.onnx, OUT_DIR/NAME.pixels.f32 (2,H,W,3 little-endian float32 in 0..255) and
OUT_DIR/NAME.features.f32 (2 rows): the input of the model's last nn.Linear (its classifier) on those pixels, after
ImageNet preprocessing (x/255 - mean) / std -- what transferkit's default feature rule picks.
"""
import sys

import numpy as np
import torch
import torchvision

MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)


def build(name):
    if name == "vit_tiny":
        # torchvision's VisionTransformer with 2 layers and a small width: the vit_b_16 architecture, shrunk.
        from torchvision.models.vision_transformer import VisionTransformer
        return VisionTransformer(image_size=64, patch_size=16, num_layers=2, num_heads=4, hidden_dim=64, mlp_dim=128, num_classes=10)
    return getattr(torchvision.models, name)(weights=None)


def main():
    out = sys.argv[1]
    for spec in sys.argv[2:]:
        parts = spec.split(":")
        name = parts[0]
        size = int(parts[1]) if len(parts) > 1 else 224
        opset = int(parts[2]) if len(parts) > 2 else 17
        torch.manual_seed(0)
        model = build(name).eval()
        # Random BatchNorm statistics, so folded normalisation is exercised, not the identity.
        g = torch.Generator().manual_seed(1)
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.copy_(torch.randn(m.num_features, generator=g) * 0.1)
                m.running_var.copy_(torch.rand(m.num_features, generator=g) * 0.5 + 0.75)
        last = [m for m in model.modules() if isinstance(m, torch.nn.Linear)][-1]
        seen = {}
        hook = last.register_forward_hook(lambda mod, inp, outp: seen.__setitem__("x", inp[0].detach()))
        rng = np.random.default_rng(2)
        pixels = rng.uniform(0, 255, size=(2, size, size, 3)).astype(np.float32)
        x = torch.from_numpy(((pixels / 255.0 - MEAN) / STD).transpose(0, 3, 1, 2).copy())
        with torch.no_grad():
            model(x)
        hook.remove()
        # Outside no_grad: PyTorch's fused attention fast path (which ONNX cannot export) stays off.
        torch.onnx.export(
            model, x[:1], f"{out}/{name}.onnx", opset_version=opset, input_names=["input"], output_names=["logits"],
            dynamic_axes={"input": {0: "N"}, "logits": {0: "N"}}, do_constant_folding=True,
        )
        pixels.astype("<f4").tofile(f"{out}/{name}.pixels.f32")
        seen["x"].reshape(2, -1).numpy().astype("<f4").tofile(f"{out}/{name}.features.f32")
        print(name, size, opset, tuple(seen["x"].shape), flush=True)


if __name__ == "__main__":
    main()
