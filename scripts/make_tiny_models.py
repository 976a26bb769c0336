"""Write tiny random-weight checkpoints that load through openvid's real loading code.

    python scripts/make_tiny_models.py OUT_DIR

OUT_DIR/xclip : a transformers X-CLIP folder (config, safetensors weights, processor) of the same
               architecture as microsoft/xclip-base-patch32 at a fraction of the width and depth.
OUT_DIR/clip  : an open_clip folder (open_clip_config.json + open_clip_model.safetensors), the
               same layout as an `hf-hub:` checkpoint, loaded with `local-dir:`.

Both tokenizers are the real CLIP BPE vocabulary, which ships inside open_clip, so tokenisation in
tests is exactly what real checkpoints see. Weights are random (seeded): numbers from these
models mean nothing, only that the plumbing matches the libraries' own forward passes.
"""

from __future__ import annotations

import argparse
import gzip
import json
from pathlib import Path

import torch

CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

TINY_OPEN_CLIP = {
    "embed_dim": 32,
    "vision_cfg": {"image_size": 224, "layers": 2, "width": 64, "head_width": 32, "patch_size": 32},
    "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 64, "heads": 2, "layers": 2},
}


def write_clip_bpe_tokenizer_files(out: Path) -> tuple[Path, Path]:
    """vocab.json + merges.txt for transformers' CLIPTokenizer, from open_clip's shipped BPE file."""
    from open_clip.tokenizer import SimpleTokenizer, default_bpe

    tokenizer = SimpleTokenizer()
    lines = gzip.open(default_bpe()).read().decode("utf-8").split("\n")
    merges = lines[1 : 49152 - 256 - 2 + 1]
    vocab_file, merges_file = out / "vocab.json", out / "merges.txt"
    # open_clip names its two special tokens differently from the released CLIP vocab.json.
    vocab = {token: index for token, index in tokenizer.encoder.items() if index < tokenizer.sot_token_id}
    vocab.update({"<|startoftext|>": tokenizer.sot_token_id, "<|endoftext|>": tokenizer.eot_token_id})
    vocab_file.write_text(json.dumps(vocab, ensure_ascii=False))
    merges_file.write_text("#version: 0.2\n" + "\n".join(merges) + "\n", encoding="utf-8")
    return vocab_file, merges_file


def make_tiny_xclip(out: Path, seed: int = 0, num_frames: int = 8) -> Path:
    from transformers import CLIPTokenizer, VideoMAEImageProcessor, XCLIPConfig, XCLIPModel, XCLIPProcessor

    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)
    config = XCLIPConfig(
        text_config={"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2,
                     "num_attention_heads": 2, "vocab_size": 49408, "max_position_embeddings": 77},
        vision_config={"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2,
                       "num_attention_heads": 2, "mit_hidden_size": 32, "mit_intermediate_size": 64,
                       "mit_num_hidden_layers": 1, "mit_num_attention_heads": 2, "image_size": 224,
                       "patch_size": 32, "num_frames": num_frames},
        projection_dim=32,
        prompt_layers=1,
        prompt_num_attention_heads=2,
    )
    model = XCLIPModel(config).eval()
    model.save_pretrained(out)
    vocab_file, merges_file = write_clip_bpe_tokenizer_files(out)
    # from_pretrained reads vocab.json + merges.txt in every transformers version we support.
    tokenizer = CLIPTokenizer.from_pretrained(out, model_max_length=77)
    vocab_file.unlink()
    merges_file.unlink()
    image_processor = VideoMAEImageProcessor(
        size={"shortest_edge": 224}, crop_size={"height": 224, "width": 224},
        image_mean=list(IMAGENET_MEAN), image_std=list(IMAGENET_STD),
    )
    XCLIPProcessor(image_processor=image_processor, tokenizer=tokenizer).save_pretrained(out)
    return out


def make_tiny_open_clip(out: Path, seed: int = 0) -> Path:
    import open_clip
    from open_clip.push_to_hf_hub import save_config_for_hf
    from safetensors.torch import save_file

    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)
    model = open_clip.CLIP(**TINY_OPEN_CLIP).eval()
    model.visual.image_mean, model.visual.image_std = CLIP_MEAN, CLIP_STD
    model.visual.preprocess_cfg = {"interpolation": "bicubic", "resize_mode": "shortest"}
    save_config_for_hf(model, out / "open_clip_config.json", TINY_OPEN_CLIP)
    state = {k: v.contiguous() for k, v in model.state_dict().items()}
    save_file(state, str(out / "open_clip_model.safetensors"))
    return out


def make_all(out_dir: Path) -> dict[str, Path]:
    out_dir = Path(out_dir)
    return {"xclip": make_tiny_xclip(out_dir / "xclip"), "clip": make_tiny_open_clip(out_dir / "clip")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out_dir", type=Path)
    args = parser.parse_args()
    for name, path in make_all(args.out_dir).items():
        print(f"{name}: {path}")


if __name__ == "__main__":
    main()
