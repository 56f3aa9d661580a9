"""Exports small Hugging Face, timm and torchvision vision models, seeded random weights, the way their users do:
with torch 2.x's TorchScript exporter (opset 17) or its dynamo exporter (opset 20), into the Transformers.js folder
layout (onnx/model.onnx, config.json, preprocessor_config.json). Needs a torch 2 venv with timm and transformers.

usage: export_hub.py OUT_DIR NAME:EXPORTER ...   (EXPORTER: ts | dynamo; NAME: see MODELS; `list` prints them)
For each writes OUT_DIR/NAME-EXPORTER/ with the folder above, pixels.f32 (2,H,W,3 little-endian float32 in
0..255) and features.f32 (2 rows): the input of the model's last nn.Linear (its classifier) on those pixels after
the folder's preprocessing (rescale, mean, std; the pixels are already the model's size), or for a model with no
classifier its pooled output (pooler_output, or the headless model's output itself).
"""
import json
import os
import sys
import warnings

import numpy as np
import torch

# The index's torchvision is a CUDA build whose C++ operators do not load beside torch+cpu; timm and
# transformers import it, and exporting needs none of them, so their schemas are declared for the import.
try:
    import torchvision  # noqa: F401
except RuntimeError:
    _lib = torch.library.Library("torchvision", "DEF")
    _lib.define("nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
    _lib.define("qnms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
    _lib.define(
        "roi_align(Tensor input, Tensor rois, float spatial_scale, SymInt pooled_height, SymInt pooled_width, "
        "int sampling_ratio, bool aligned) -> Tensor"
    )
    import torchvision  # noqa: F401

warnings.filterwarnings("ignore")
SIZE = 32


def hf(kind, **cfg):
    def make():
        import transformers as T
        config_cls, model_cls, proc_cls = kind
        config = getattr(T, config_cls)(**cfg)
        model = getattr(T, model_cls)(config)
        proc_cfg = {"size": {"height": SIZE, "width": SIZE}, "crop_size": {"height": SIZE, "width": SIZE}}
        if proc_cls == "ConvNextImageProcessor":
            proc_cfg = {"size": {"shortest_edge": SIZE}, "crop_pct": 1.0}
        elif proc_cls in ("BitImageProcessor", "CLIPImageProcessor"):
            proc_cfg = {"size": {"shortest_edge": SIZE}, "crop_size": {"height": SIZE, "width": SIZE}}
        proc = getattr(T, proc_cls)(**proc_cfg)
        return model, config, proc
    return make


def timm_model(name, **kw):
    def make():
        import timm
        model = timm.create_model(name, pretrained=False, num_classes=3, **kw)
        return model, None, None
    return make


def torchvision_vit():
    from torchvision.models.vision_transformer import VisionTransformer
    model = VisionTransformer(image_size=SIZE, patch_size=8, num_layers=2, num_heads=2, hidden_dim=32, mlp_dim=64)
    model.heads = torch.nn.Identity()
    return model, None, None


VIT = dict(image_size=SIZE, patch_size=8, hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64, num_labels=3)
# SDPA attention's reshape does not export with dynamo (a view of a non-contiguous tensor): eager, as optimum does.
SWIN = dict(attn_implementation="eager", image_size=SIZE, patch_size=2, embed_dim=16, depths=[2, 2], num_heads=[1, 2], window_size=4, num_labels=3)
CONVNEXT = dict(image_size=SIZE, num_stages=2, hidden_sizes=[8, 16], depths=[1, 1], num_labels=3)
MODELS = {
    "hf-vit": hf(("ViTConfig", "ViTForImageClassification", "ViTImageProcessor"), **VIT),
    # An MLP 576 wide: its first Linear's weight gradient takes the explicit transpose (transposed-product.ts).
    "hf-vit-wide": hf(("ViTConfig", "ViTForImageClassification", "ViTImageProcessor"), **{**VIT, "intermediate_size": 576}),
    "hf-deit": hf(("DeiTConfig", "DeiTForImageClassification", "DeiTImageProcessor"), **VIT),
    "hf-dinov2": hf(("Dinov2Config", "Dinov2ForImageClassification", "BitImageProcessor"), **VIT),
    "hf-swin": hf(("SwinConfig", "SwinForImageClassification", "ViTImageProcessor"), **SWIN),
    "hf-swinv2": hf(("Swinv2Config", "Swinv2ForImageClassification", "ViTImageProcessor"), **SWIN),
    "hf-convnext": hf(("ConvNextConfig", "ConvNextForImageClassification", "ConvNextImageProcessor"), **CONVNEXT),
    "hf-convnextv2": hf(("ConvNextV2Config", "ConvNextV2ForImageClassification", "ConvNextImageProcessor"), **CONVNEXT),
    "hf-clip": hf(
        ("CLIPVisionConfig", "CLIPVisionModel", "CLIPImageProcessor"),
        image_size=SIZE, patch_size=8, hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64,
    ),
    "timm-resnet": timm_model("test_resnet"),
    "timm-efficientnet": timm_model("test_efficientnet"),
    "timm-efficientnet-ln": timm_model("test_efficientnet_ln"),
    "timm-convnext": timm_model("test_convnext"),
    "timm-vit": timm_model("test_vit", img_size=SIZE),
    "timm-byobnet": timm_model("test_byobnet"),
    "timm-mobilevit": timm_model("mobilevit_xxs"),
    "tv-vit-headless": torchvision_vit,
}


class Outputs(torch.nn.Module):
    """A Hugging Face model's output object as plain tensors, named as Transformers.js exports name them."""

    def __init__(self, model):
        super().__init__()
        self.model = model
        self.names = ["logits"] if hasattr(model, "classifier") else ["last_hidden_state", "pooler_output"]

    def forward(self, pixel_values):
        out = self.model(pixel_values=pixel_values)
        return tuple(out[k] for k in self.names)


def randomise_norm_stats(model):
    g = torch.Generator().manual_seed(1)
    for m in model.modules():
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm) and m.running_mean is not None:
            m.running_mean.copy_(torch.randn(m.num_features, generator=g) * 0.1)
            m.running_var.copy_(torch.rand(m.num_features, generator=g) * 0.5 + 0.75)


def export(out, name, exporter):
    torch.manual_seed(0)
    model, config, proc = MODELS[name]()
    model.eval()
    randomise_norm_stats(model)
    if config is not None:
        # In eval mode like the model: the TorchScript exporter restores the wrapper's mode to every submodule after
        # exporting, which would leave Swin's drop path on for hub_grad_step.py's step.
        wrapped = Outputs(model).eval()
        names = wrapped.names
        mean, std = np.array(proc.image_mean, np.float32), np.array(proc.image_std, np.float32)
        rescale = proc.rescale_factor
    else:
        wrapped, names = model, ["output"]
        data = getattr(model, "pretrained_cfg", None) or {}
        mean = np.array(data.get("mean", (0.485, 0.456, 0.406)), np.float32)
        std = np.array(data.get("std", (0.229, 0.224, 0.225)), np.float32)
        rescale = 1 / 255
    size = SIZE
    folder = os.path.join(out, f"{name}-{exporter}")
    os.makedirs(os.path.join(folder, "onnx"), exist_ok=True)
    rng = np.random.default_rng(2)
    pixels = rng.uniform(0, 255, size=(2, size, size, 3)).astype(np.float32)
    x = torch.from_numpy(((pixels * rescale - mean) / std).transpose(0, 3, 1, 2).copy().astype(np.float32))
    linears = [m for m in model.modules() if isinstance(m, torch.nn.Linear)]
    classifier = linears[-1] if names == ["logits"] else model.get_classifier() if hasattr(model, "get_classifier") else None
    seen = {}
    if classifier is not None:
        classifier.register_forward_hook(lambda mod, inp, outp: seen.__setitem__("x", inp[0].detach()))
    with torch.no_grad():
        y = wrapped(x)
    feats = seen["x"] if classifier is not None else (y[names.index("pooler_output")] if "pooler_output" in names else y)
    path = os.path.join(folder, "onnx", "model.onnx")
    if exporter == "ts":
        torch.onnx.export(
            wrapped, (x[:1],), path, opset_version=17, dynamo=False, input_names=["pixel_values"], output_names=names,
            dynamic_axes={k: {0: "batch_size"} for k in ["pixel_values", *names]}, do_constant_folding=True,
        )
    else:
        batch = torch.export.Dim("batch_size", min=1, max=1024)
        program = torch.onnx.export(
            wrapped, (x,), None, opset_version=20, dynamo=True, input_names=["pixel_values"], output_names=names,
            dynamic_shapes={"pixel_values" if config is not None else "x": {0: batch}}, verbose=False,
        )
        program.save(path)
    if config is not None:
        config.save_pretrained(folder)
        proc.save_pretrained(folder)
    else:
        with open(os.path.join(folder, "preprocessor_config.json"), "w") as f:
            json.dump({"do_resize": True, "size": {"height": size, "width": size}, "do_rescale": True, "rescale_factor": rescale,
                       "do_normalize": True, "image_mean": mean.tolist(), "image_std": std.tolist()}, f)
        with open(os.path.join(folder, "config.json"), "w") as f:
            json.dump({"model_type": name}, f)
    pixels.astype("<f4").tofile(os.path.join(folder, "pixels.f32"))
    feats.reshape(2, -1).numpy().astype("<f4").tofile(os.path.join(folder, "features.f32"))
    print(name, exporter, tuple(feats.shape), flush=True)
    return {"model": model, "wrapped": wrapped, "classifier": classifier, "folder": folder, "mean": mean, "std": std, "rescale": rescale}


def main():
    if sys.argv[1:] == ["list"]:
        print("\n".join(MODELS))
        return
    out = sys.argv[1]
    failed = []
    for spec in sys.argv[2:]:
        name, exporter = spec.split(":")
        try:
            export(out, name, exporter)
        except Exception as err:  # an exporter that cannot export a model: reported, the others still run
            failed.append(spec)
            print(f"FAILED {spec}: {type(err).__name__}: {str(err).splitlines()[0][:300]}", flush=True)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
