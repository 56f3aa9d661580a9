"""Exports the ConvNeXt models of the pool-push tests (test/pool-push-exports.test.ts) as export_hub.py does (seeded
random weights, TorchScript or dynamo exporter) at 64 px (timm's test ConvNeXt ends in 2×2 positions, not 1×1),
with layer scales drawn from 0.5..1.5 — a trained model's
rather than a fresh one's 1e-6, under which the last pointwise layer's update would be below its weights' float
spacing — plus torchvision's ConvNeXt (convnext_tiny's code, two small stages).

usage: export_pool_push.py OUT_DIR NAME:EXPORTER ...   (NAME: tv-convnext, or one of export_hub.py's ConvNeXts)
"""
import sys

import torch

import export_hub


def scaled(make):
    def made():
        model, config, proc = make()
        g = torch.Generator().manual_seed(3)
        with torch.no_grad():
            for name, p in model.named_parameters():
                if name.endswith(("layer_scale", "gamma", "layer_scale_parameter")):
                    p.copy_(torch.rand(p.shape, generator=g) + 0.5)
        return model, config, proc
    return made


def torchvision_convnext():
    from torchvision.models.convnext import CNBlockConfig, ConvNeXt
    return ConvNeXt([CNBlockConfig(8, 16, 1), CNBlockConfig(16, None, 2)], num_classes=3), None, None


export_hub.SIZE = 64
export_hub.MODELS["tv-convnext"] = torchvision_convnext
for name in ["tv-convnext", "timm-convnext", "hf-convnext", "hf-convnextv2"]:
    export_hub.MODELS[name] = scaled(export_hub.MODELS[name])

if __name__ == "__main__":
    export_hub.main()
