"""Exports the ViT-like models of the token-liveness tests (test/prune-tokens-exports.test.ts) as export_hub.py does
(seeded random weights, 32 px, TorchScript or dynamo exporter), plus a timm ViT that pools by the mean of its
patch tokens (global_pool='avg').

usage: export_vit_tokens.py OUT_DIR NAME:EXPORTER ...   (NAME: one of export_hub.py's, or timm-vit-avg)
"""
import sys

import export_hub

export_hub.MODELS["timm-vit-avg"] = export_hub.timm_model("test_vit", img_size=export_hub.SIZE, global_pool="avg")

if __name__ == "__main__":
    export_hub.main()
