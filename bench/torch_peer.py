"""The PyTorch side of `npm run bench`: the same workloads, 2 threads, timed the same way.

Reads one JSON workload per line on stdin and answers each with a line {name, msPerStep, format} (or {name,
seconds} for the seed workflow). Run by bench/run.ts with the newest PyTorch on the machine (the project's
.venv-torch2, else Debian's python3-torch); never imported by the product.

Run as a performance-minded user would: eager in the faster of the two memory formats (contiguous, channels_last),
and with `"compile": true` the same step through torch.compile (PyTorch 2.x).
"""
import contextlib
import json
import os
import resource
import sys
import time

import numpy as np
import torch
import torch.nn as nn

torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "2")))  # bench/peer.ts's BENCH_THREADS, as ORT's
try:
    torch.set_num_interop_threads(1)
except RuntimeError:  # already set
    pass
torch.manual_seed(0)


def import_torchvision():
    """torchvision; where its C++ ops do not load beside this torch (a CUDA build beside torch 2.x+cpu), its two
    operator schemas that the Python side registers fakes for are defined first, which is all the models need."""
    try:
        import torchvision
    except RuntimeError:
        for name in [m for m in sys.modules if m.startswith("torchvision")]:
            del sys.modules[name]
        lib = torch.library.Library("torchvision", "DEF")
        lib.define("nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
        lib.define("qnms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
        globals()["_torchvision_lib"] = lib  # kept alive: the schemas go with the object
        import torchvision
    return torchvision

CFG = [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"]


def vgg16_features():
    layers, c = [], 3
    for v in CFG:
        if v == "M":
            layers.append(nn.MaxPool2d(2, 2))
        else:
            layers += [nn.Conv2d(c, v, 3, padding=1), nn.ReLU(inplace=True)]
            c = v
    return nn.Sequential(*layers)


def head(features):
    return nn.Sequential(nn.Flatten(), nn.Linear(features, 256), nn.ReLU(inplace=True), nn.Linear(256, 1))


def mobilenet_v2():
    """MobileNetV2 (alpha 1.0) as Keras builds it: stem, 17 inverted residual blocks, the 1280-channel head conv."""

    def block(cin, cout, stride, expand):
        mid = cin * expand
        layers = [] if expand == 1 else [nn.Conv2d(cin, mid, 1, bias=False), nn.BatchNorm2d(mid, eps=1e-3), nn.ReLU6()]
        layers += [nn.Conv2d(mid, mid, 3, stride, 1, groups=mid, bias=False), nn.BatchNorm2d(mid, eps=1e-3), nn.ReLU6(),
                   nn.Conv2d(mid, cout, 1, bias=False), nn.BatchNorm2d(cout, eps=1e-3)]
        return nn.Sequential(*layers), cin == cout and stride == 1

    class Residual(nn.Module):
        def __init__(self, body, skip):
            super().__init__()
            self.body, self.skip = body, skip

        def forward(self, x):
            y = self.body(x)
            return x + y if self.skip else y

    cfg = [(16, 1, 1), (24, 2, 6), (24, 1, 6), (32, 2, 6), (32, 1, 6), (32, 1, 6), (64, 2, 6), (64, 1, 6), (64, 1, 6), (64, 1, 6),
           (96, 1, 6), (96, 1, 6), (96, 1, 6), (160, 2, 6), (160, 1, 6), (160, 1, 6), (320, 1, 6)]
    mods, c = [nn.Sequential(nn.Conv2d(3, 32, 3, 2, 1, bias=False), nn.BatchNorm2d(32, eps=1e-3), nn.ReLU6())], 32
    for cout, stride, expand in cfg:
        mods.append(Residual(*block(c, cout, stride, expand)))
        c = cout
    mods.append(nn.Sequential(nn.Conv2d(320, 1280, 1, bias=False), nn.BatchNorm2d(1280, eps=1e-3), nn.ReLU6()))
    return nn.Sequential(*mods)


def timed(fn, reps, warmup=2):
    """Median milliseconds of `reps` calls after `warmup` untimed ones."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    return float(np.median(times))


def torchvision_features(name):
    """ConvNeXtTiny and EfficientNetV2S from Debian's torchvision (random weights): the backbone, no classifier."""
    return getattr(import_torchvision().models, name)().features


# Models of the zoo rows: builder, the features index the fine-tuned part starts at (transferkit's cut point), and
# the width of the pooled features.
ZOO = {
    "mobilenet_v2": (lambda: mobilenet_v2(), 17, 1280),
    # features[6] is the last downsampling (LayerNorm + 2×2 conv): transferkit's convnext_tiny_downsampling_layernorm_2.
    "convnext_tiny": (lambda: torchvision_features("convnext_tiny"), 6, 768),
    # features[6] is the last stage: transferkit's block6a_expand_conv.
    "efficientnet_v2_s": (lambda: torchvision_features("efficientnet_v2_s"), 6, 1280),
}


FORMATS = {"contiguous": torch.contiguous_format, "channels_last": torch.channels_last}


def best_of_formats(w, make_step, has_maps=True):
    """Times `make_step(memory_format)` in each memory format (one for token models) and keeps the faster, answering
    both formats' times; given w["format"] (picked by the workload's first round) only that one is timed. With
    w["compile"] the step is compiled once in the format that won eagerly and its answer carries any error."""
    formats = list(FORMATS) if has_maps else ["contiguous"]
    if w.get("compile"):
        fmt = w.get("format", "contiguous")
        # Every round compiles a fresh model in this one process: without a reset dynamo's cache of the same
        # forward code fills up, and past its recompile limit (8) the "compiled" step silently runs eagerly.
        torch._dynamo.reset()
        try:
            return {"msPerStep": timed(make_step(FORMATS[fmt], compiled=True), w["reps"], warmup=3), "format": fmt}
        except Exception as e:  # noqa: BLE001 - the row records why the compiler could not run here
            return {"msPerStep": None, "error": f"{type(e).__name__}: {str(e).splitlines()[0][:200]}"}
    if w.get("format") in formats:  # a later round of the workload: the format its first round picked
        return {"msPerStep": timed(make_step(FORMATS[w["format"]]), w["reps"]), "format": w["format"]}
    times = {f: timed(make_step(FORMATS[f]), max(2, w["reps"] // 2)) for f in formats}
    fmt = min(times, key=times.get)
    return {"msPerStep": timed(make_step(FORMATS[fmt]), w["reps"]), "format": fmt, "formats": times}


def forward(w):
    model = w.get("model")
    net = (ZOO[model][0]() if model in ZOO else vit_b_16() if model == "vit_b_16" else vgg16_features()).eval()

    def make_step(fmt, compiled=False):
        m = net.to(memory_format=fmt) if model != "vit_b_16" else net
        m = torch.compile(m) if compiled else m
        x = torch.rand(w["batch"], 3, w["size"], w["size"]).contiguous(memory_format=fmt)

        def step():
            with torch.no_grad():
                m(x)

        return step

    return best_of_formats(w, make_step, has_maps=model != "vit_b_16")


def sgd_steps(w, rest, params, cached, y, has_maps=True):
    """Times SGD steps of the trained part on its cached input (momentum 0.9, BCE on logits)."""

    def make_step(fmt, compiled=False):
        body = rest.to(memory_format=fmt) if has_maps and cached.dim() == 4 else rest
        body = torch.compile(body) if compiled else body
        x = cached.contiguous(memory_format=fmt) if cached.dim() == 4 else cached
        opt = torch.optim.SGD(params, lr=1e-3, momentum=0.9)
        loss_fn = nn.BCEWithLogitsLoss()

        def step():
            opt.zero_grad()
            loss = loss_fn(body(x), y)
            loss.backward()
            opt.step()

        return step

    return best_of_formats(w, make_step, has_maps and cached.dim() == 4)


def zoo_fine_tune(w):
    """The last block(s) and the head trained (BatchNorm in inference mode), the prefix computed once."""
    build, cut, width = ZOO[w["model"]]
    net = build().eval()
    # ConvNeXt normalises its pooled features before the classifier, as transferkit's headless model does.
    norm = [nn.LayerNorm(width)] if w["model"] == "convnext_tiny" else []
    head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), *norm, nn.Linear(width, 1))
    x = torch.rand(w["batch"], 3, w["size"], w["size"])
    y = torch.randint(0, 2, (w["batch"], 1)).float()
    with torch.no_grad():
        cached = net[:cut](x)
    return sgd_steps(w, nn.Sequential(net[cut:], head), list(net[cut:].parameters()) + list(head.parameters()), cached, y)


def vit_b_16():
    torchvision = import_torchvision()
    torch.manual_seed(0)
    return torchvision.models.vit_b_16(weights=None).eval()


def whole_model(name):
    """The whole torchvision model (classifier included) of an exported row, seeded random weights."""
    torch.manual_seed(0)
    return vit_b_16() if name == "vit_b_16" else getattr(import_torchvision().models, name)().eval()


def export(w):
    """Writes a torchvision model to ONNX for transferkit's side of a graph row: by the TorchScript exporter
    (opset 17), or with w["dynamo"] by the dynamo exporter (opset 20, PyTorch 2.x's default)."""
    net, x = whole_model(w.get("model", "vit_b_16")), torch.rand(1, 3, 224, 224)
    if w.get("dynamo"):
        # An example batch of 1 would be specialised away; the graph keeps a symbolic batch from 2 examples.
        batch, x = torch.export.Dim("N", min=1, max=1024), torch.rand(2, 3, 224, 224)
        torch.onnx.export(net, (x,), w["path"], dynamo=True, opset_version=20, input_names=["input"],
                          output_names=["logits"], dynamic_shapes=({0: batch},), external_data=False)
        return
    kwargs = {"dynamo": False} if int(torch.__version__.split(".")[0]) >= 2 else {}
    torch.onnx.export(
        net, x, w["path"], opset_version=17, input_names=["input"], output_names=["logits"],
        dynamic_axes={"input": {0: "N"}, "logits": {0: "N"}}, do_constant_folding=True, **kwargs,
    )


def vit_fine_tune(w):
    """The last 2 encoder blocks, the final LayerNorm and a new 1-unit head trained on the cached input of block 10."""
    net = vit_b_16()
    head = nn.Linear(768, 1)
    x = torch.rand(w["batch"], 3, w["size"], w["size"])
    y = torch.randint(0, 2, (w["batch"], 1)).float()
    with torch.no_grad():
        t = net._process_input(x)
        t = torch.cat([net.class_token.expand(t.shape[0], -1, -1), t], dim=1)
        cached = net.encoder.layers[:10](net.encoder.dropout(t + net.encoder.pos_embedding))
    last = net.encoder.layers[10:]

    class Rest(nn.Module):
        def forward(self, c):
            return head(net.encoder.ln(last(c))[:, 0])

    params = list(last.parameters()) + list(net.encoder.ln.parameters()) + list(head.parameters())
    return sgd_steps(w, Rest(), params, cached, y, has_maps=False)


def train_step(w):
    if w.get("model") == "vit_b_16":
        return vit_fine_tune(w)
    if w.get("model") in ZOO:
        return zoo_fine_tune(w)
    feats = vgg16_features()
    model = nn.Sequential(feats, head(512))
    trainable = {"head": list(model[1].parameters()), "block5": list(feats[24:].parameters()) + list(model[1].parameters()), "full": list(model.parameters())}[w["part"]]
    for p in model.parameters():
        p.requires_grad_(False)
    for p in trainable:
        p.requires_grad_(True)
    x = torch.rand(w["batch"], 3, w["size"], w["size"])
    y = torch.randint(0, 2, (w["batch"], 1)).float()
    # Like transferkit, the frozen prefix is computed once: only the trained part runs per step.
    cut = {"head": 31, "block5": 24, "full": 0}[w["part"]]
    with torch.no_grad():
        cached = feats[:cut](x) if cut else x
    rest = nn.Sequential(*list(feats[cut:]), model[1]) if w["part"] != "head" else model[1]
    return sgd_steps(w, rest, trainable, cached, y)


def seed_workflow(w):
    """Keras's recipe the Keras way: the frozen base recomputed every epoch, then block5 unfrozen."""
    data = np.load(w["images"])  # N, 32, 32, 3 preprocessed (caffe), float32
    labels = torch.tensor(np.load(w["labels"]), dtype=torch.float32).view(-1, 1)
    x_all = torch.tensor(data).permute(0, 3, 1, 2).contiguous()
    feats = vgg16_features()
    model = nn.Sequential(feats, head(512))
    loss_fn = nn.BCEWithLogitsLoss()
    batch = w["batch"]
    t = time.perf_counter()
    for phase, (epochs, lr, first_trainable) in enumerate([(w["epochs"], 1e-3, 31), (w["epochs"], 1e-4, 24)]):
        for i, p in enumerate(feats.parameters()):
            p.requires_grad_(False)
        for p in feats[first_trainable:].parameters():
            p.requires_grad_(True)
        params = [p for p in model.parameters() if p.requires_grad]
        opt = torch.optim.Adam(params, lr=lr)
        for _ in range(epochs):
            for s in range(0, len(x_all), batch):
                opt.zero_grad()
                loss = loss_fn(model(x_all[s:s + batch]), labels[s:s + batch])
                loss.backward()
                opt.step()
    return time.perf_counter() - t


def answer(w):
    if w["kind"] == "forward":
        return {"name": w["name"], **forward(w)}
    if w["kind"] == "train":
        return {"name": w["name"], **train_step(w)}
    if w["kind"] == "rss":  # a fresh process given one workload: its step and its peak memory
        return {"name": w["name"], **train_step(w), "peakRssMb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
    if w["kind"] == "export":
        with contextlib.redirect_stdout(sys.stderr):  # the dynamo exporter prints progress; stdout is the protocol
            export(w)
        return {"name": w["name"]}
    return {"name": w["name"], "seconds": seed_workflow(w)}


def main():
    # One workload per line in, one result per line out: bench/run.ts alternates the two sides of each workload. A
    # workload that fails answers its error, so the bench records it and goes on.
    for line in sys.stdin:
        w = json.loads(line)
        try:
            out = answer(w)
        except Exception as e:  # noqa: BLE001
            out = {"name": w["name"], "error": f"{type(e).__name__}: {str(e).strip().splitlines()[0][:300]}"}
        print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
