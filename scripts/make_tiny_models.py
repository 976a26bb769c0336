"""Write tiny random-weight checkpoints that load through openvid's real loading code.

    python scripts/make_tiny_models.py OUT_DIR

OUT_DIR/xclip : a transformers X-CLIP folder (config, safetensors weights, processor) of the same
               architecture as microsoft/xclip-base-patch32 at a fraction of the width and depth.
OUT_DIR/clip  : an open_clip folder (open_clip_config.json + open_clip_model.safetensors), the
               same layout as an `hf-hub:` checkpoint, loaded with `local-dir:`.
OUT_DIR/videomae, OUT_DIR/timesformer : transformers video classifiers (closed-set heads) with a
               few Kinetics-style labels, 32 px crops and 4 frames, and their image processor config.
OUT_DIR/ast   : an Audio Spectrogram Transformer tagger (16 kHz, 1 s of 32 mel bins) with a few
               AudioSet-style labels, and its feature extractor config.
OUT_DIR/clap  : a CLAP model (48 kHz, 1 s of audio) and its processor; its tokenizer is a tiny
               RoBERTa-style byte-level BPE trained here on a few hundred words (no hub access).

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


def make_tiny_xclip(out: Path, seed: int = 0, num_frames: int = 8, patch_size: int = 32,
                    full: bool = False) -> Path:
    """A transformers X-CLIP folder. `full=True` keeps transformers' XCLIPConfig defaults (the shape
    of microsoft/xclip-base-patch32) but for `patch_size` and `num_frames` (scripts/bench_encoders.py)."""
    from transformers import CLIPTokenizer, VideoMAEImageProcessor, XCLIPConfig, XCLIPModel, XCLIPProcessor

    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)
    if full:
        config = XCLIPConfig(vision_config={"patch_size": patch_size, "num_frames": num_frames})
    else:
        config = XCLIPConfig(
            text_config={"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2,
                         "num_attention_heads": 2, "vocab_size": 49408, "max_position_embeddings": 77},
            vision_config={"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2,
                           "num_attention_heads": 2, "mit_hidden_size": 32, "mit_intermediate_size": 64,
                           "mit_num_hidden_layers": 1, "mit_num_attention_heads": 2, "image_size": 224,
                           "patch_size": patch_size, "num_frames": num_frames},
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


# The open_clip families beyond CLIP, each from the real config of one of its architectures. A timm
# vision tower cannot be shrunk through open_clip's config (it passes no size arguments to timm), so
# each keeps the family's smallest real tower; the text tower, configured by open_clip itself, is
# shrunk. `full=True` keeps every size (scripts/bench_encoders.py measures those).
OPEN_CLIP_FAMILIES = {
    "pe-core": ("PE-Core-T-16-384", "meta"),  # PE-Core's ViT-T/16 at 384 px, causal CLIP-BPE text tower
    "siglip2": ("ViT-B-32-SigLIP2-256", "webli"),  # SigLIP 2 B/32 at 256 px, bidirectional Gemma-tokenised text
    "mobileclip2": ("MobileCLIP2-S0", "dfndr2b"),  # FastViT-MCi0 (reparameterisable), bidirectional text
}
TINY_TEXT_TOWER = {"width": 64, "heads": 2, "layers": 2}
TINY_HF_VOCAB = 800


def write_tiny_hf_tokenizer(out: Path, vocab_size: int = TINY_HF_VOCAB) -> Path:
    """A SentencePiece-style (Metaspace) BPE saved with transformers, standing in for SigLIP's Gemma
    tokenizer: same special-token layout (<pad>=0, <eos>=1, <bos>=2, <unk>=3), loaded by
    `AutoTokenizer.from_pretrained(folder)` exactly as open_clip's HFTokenizer loads the real one."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    out.mkdir(parents=True, exist_ok=True)
    tokenizer = Tokenizer(models.BPE(unk_token="<unk>"))
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace()
    tokenizer.decoder = decoders.Metaspace()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=["<pad>", "<eos>", "<bos>", "<unk>"],
                                  show_progress=False)
    sentences = [" ".join(_TOKENIZER_WORDS[i : i + 12]) for i in range(0, len(_TOKENIZER_WORDS), 12)]
    tokenizer.train_from_iterator(sentences * 2 + ["a video of " + w for w in _TOKENIZER_WORDS], trainer)
    PreTrainedTokenizerFast(tokenizer_object=tokenizer, pad_token="<pad>", eos_token="<eos>", bos_token="<bos>",
                            unk_token="<unk>").save_pretrained(out)
    return out


def make_open_clip_folder(arch: str, tag: str, out: Path, seed: int = 0, full: bool = False) -> Path:
    """An open_clip folder (open_clip_config.json + open_clip_model.safetensors, plus the tokenizer
    files when the text tower reads a Hugging Face tokenizer): the layout of an `hf-hub:` checkpoint,
    loaded with `local-dir:`. Preprocessing (size, resize mode, mean, std, interpolation) is the
    architecture's published one, from open_clip's pretrained table for `tag`."""
    import copy

    import open_clip
    from open_clip.push_to_hf_hub import save_config_for_hf
    from safetensors.torch import save_file

    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)
    config = copy.deepcopy(open_clip.get_model_config(arch))
    text = config["text_cfg"]
    if text.get("hf_tokenizer_name"):
        write_tiny_hf_tokenizer(out)
        text["hf_tokenizer_name"] = arch  # kept non-empty: open_clip then reads the folder's tokenizer
    if not full:
        text.update(TINY_TEXT_TOWER)
        if text.get("hf_tokenizer_name"):
            text["vocab_size"] = TINY_HF_VOCAB
    kwargs = {k: v for k, v in config.items() if k != "custom_text"}
    model_class = open_clip.CustomTextCLIP if config.get("custom_text") else open_clip.CLIP
    model = model_class(**kwargs).eval()
    with torch.no_grad():  # a bias and scale other than the initial ones, so tests see them read
        if getattr(model, "logit_bias", None) is not None:
            model.logit_bias.fill_(-7.5)
        model.logit_scale.fill_(2.9)
    pretrained = open_clip.get_pretrained_cfg(arch, tag)
    model.visual.image_mean, model.visual.image_std = tuple(pretrained["mean"]), tuple(pretrained["std"])
    model.visual.preprocess_cfg = {"interpolation": pretrained["interpolation"],
                                   "resize_mode": pretrained["resize_mode"]}
    save_config_for_hf(model, out / "open_clip_config.json", config)
    state = {k: v.contiguous() for k, v in model.state_dict().items()}
    save_file(state, str(out / "open_clip_model.safetensors"))
    return out


def make_tiny_xclip_b16(out: Path, seed: int = 0) -> Path:
    """X-CLIP with microsoft/xclip-base-patch16's patch size (16 px), shrunk like `make_tiny_xclip`."""
    return make_tiny_xclip(out, seed=seed, patch_size=16)


def _open_clip_builder(key: str):
    arch, tag = OPEN_CLIP_FAMILIES[key]
    return lambda out, seed=0: make_open_clip_folder(arch, tag, out, seed=seed)


# The words the tiny VideoPrism tokenizer knows beyond _TOKENIZER_WORDS: those of prompt templates.
_VIDEOPRISM_EXTRA_WORDS = ["video", "clip", "photo", "person", "someone", "showing", "people"]


def make_tiny_videoprism(out: Path, seed: int = 0, full: bool = False) -> Path:
    """VideoPrism-LvT (transformers `VideoPrismClipModel`) and its `VideoPrismProcessor`.

    The config is transformers' default, which is the real google/videoprism-lvt-base-f16r288 shape
    (16 frames of 288 px in 18 px tubelets, 12 spatial + 4 temporal + 2 auxiliary layers, a 12-layer
    text tower); tiny keeps that structure at width 32, one layer per video stage, two text layers,
    4 frames of 36 px. `full=True` keeps every size (scripts/bench_encoders.py measures those).
    The video processor is the class transformers maps videoprism to (LlavaOnevisionVideoProcessor)
    with the real settings: an exact height x width resize, no normalisation (pixels in [0, 1]).
    The tokenizer is a SentencePiece-style Unigram over a few hundred words plus single letters,
    with the real special-token layout (<pad>=0, </s>=1, <unk>=2) and max length 64.
    """
    from transformers import (
        LlavaOnevisionVideoProcessor,
        VideoPrismClipModel,
        VideoPrismConfig,
        VideoPrismProcessor,
        VideoPrismTokenizer,
    )

    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)
    words = sorted(set(_TOKENIZER_WORDS) | set(_VIDEOPRISM_EXTRA_WORDS))
    letters = sorted(set("".join(words)) | set("abcdefghijklmnopqrstuvwxyz0123456789.,'-"))
    vocab = [("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0), ("\u2581", -2.0)]
    vocab += [("\u2581" + word, -5.0 - 0.001 * i) for i, word in enumerate(words)]
    vocab += [(letter, -10.0) for letter in letters]
    tokenizer = VideoPrismTokenizer(vocab=vocab, extra_ids=0, model_max_length=64)

    defaults = VideoPrismConfig()
    vision, text = defaults.vision_config.to_dict(), defaults.text_config.to_dict()
    if not full:
        vision.update(hidden_size=32, num_attention_heads=2, intermediate_size=64, num_spatial_layers=1,
                      num_temporal_layers=1, num_auxiliary_layers=1, image_size=36, num_frames=4)
        text.update(hidden_size=32, num_attention_heads=2, intermediate_size=64, num_hidden_layers=2,
                    vocab_size=len(tokenizer))
    model = VideoPrismClipModel(VideoPrismConfig(vision_config=vision, text_config=text)).eval()
    model.save_pretrained(out, safe_serialization=True)
    side = int(vision["image_size"])
    video_processor = LlavaOnevisionVideoProcessor(size={"height": side, "width": side}, do_normalize=False)
    VideoPrismProcessor(video_processor=video_processor, tokenizer=tokenizer).save_pretrained(out)
    return out


TINY_ENCODERS = {
    **{key: _open_clip_builder(key) for key in OPEN_CLIP_FAMILIES},
    "xclip-b16": make_tiny_xclip_b16,
    "videoprism": make_tiny_videoprism,
}
"""Encoder families built on demand (tests: the `tiny_encoder_dir` fixture), key -> builder(out)."""


def make_tiny_encoder(key: str, out: Path, seed: int = 0) -> Path:
    return TINY_ENCODERS[key](out, seed=seed)


TINY_VIDEO_LABELS = ["playing guitar", "riding a bike", "cooking on a stove", "swimming", "dancing ballet"]
TINY_AUDIO_LABELS = ["Speech", "Music", "Dog", "Sine wave", "Silence", "Vehicle"]
TINY_VIDEO = {"image_size": 32, "patch_size": 8, "num_frames": 4, "hidden_size": 32, "num_hidden_layers": 2,
              "num_attention_heads": 2, "intermediate_size": 64}


def _label_maps(labels: list[str]) -> dict:
    return {"id2label": dict(enumerate(labels)), "label2id": {label: i for i, label in enumerate(labels)}}


def _save_video_processor(out: Path, mean: tuple, std: tuple) -> None:
    from transformers import VideoMAEImageProcessor

    size = TINY_VIDEO["image_size"]
    VideoMAEImageProcessor(size={"shortest_edge": size}, crop_size={"height": size, "width": size},
                           image_mean=list(mean), image_std=list(std), resample=2).save_pretrained(out)


def make_tiny_videomae(out: Path, seed: int = 0) -> Path:
    """VideoMAEForVideoClassification (tubelets of 2 frames) and its VideoMAEImageProcessor config."""
    from transformers import VideoMAEConfig, VideoMAEForVideoClassification

    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)
    config = VideoMAEConfig(**TINY_VIDEO, tubelet_size=2, **_label_maps(TINY_VIDEO_LABELS))
    VideoMAEForVideoClassification(config).eval().save_pretrained(out)
    _save_video_processor(out, IMAGENET_MEAN, IMAGENET_STD)
    return out


def make_tiny_timesformer(out: Path, seed: int = 0) -> Path:
    """TimesformerForVideoClassification; its processor config is a VideoMAEImageProcessor's, as on the hub."""
    from transformers import TimesformerConfig, TimesformerForVideoClassification

    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)
    config = TimesformerConfig(**TINY_VIDEO, **_label_maps(TINY_VIDEO_LABELS))
    TimesformerForVideoClassification(config).eval().save_pretrained(out)
    _save_video_processor(out, (0.45, 0.45, 0.45), (0.225, 0.225, 0.225))
    return out


def make_tiny_ast(out: Path, seed: int = 0) -> Path:
    """ASTForAudioClassification over 100 frames x 32 mel bins (1 s at 16 kHz) and its feature extractor."""
    from transformers import ASTConfig, ASTFeatureExtractor, ASTForAudioClassification

    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)
    config = ASTConfig(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64,
                       max_length=100, num_mel_bins=32, **_label_maps(TINY_AUDIO_LABELS))
    ASTForAudioClassification(config).eval().save_pretrained(out)
    ASTFeatureExtractor(num_mel_bins=32, max_length=100, sampling_rate=16000).save_pretrained(out)
    return out


_TOKENIZER_WORDS = """
the a an of and in on at with to from by for is are sound sounds noise loud quiet soft distant close
dog dogs barking bark cat meowing bird birds singing chirping cow mooing horse neighing rooster crowing
car cars engine engines idling revving truck bus train horn honking siren sirens motorcycle airplane
helicopter boat water running flowing rain raining thunder wind blowing storm waves ocean stream
fire crackling door knocking slamming footsteps walking running clapping applause laughter laughing
baby crying people talking speech speaking man woman child children shouting whispering singing choir
music playing guitar piano drums violin trumpet flute bass organ drum kit orchestra band song
phone ringing bell bells alarm clock ticking typing keyboard mouse clicking printer vacuum cleaner
blender microwave kettle boiling frying cooking sizzling chopping dishes glass breaking shattering
hammer hammering drill drilling saw sawing construction machine machinery tools metal wood plastic
paper crumpling tearing zipper coins keys jingling scissors cutting writing pencil chalk board
riding bike bicycle skateboarding skating surfing swimming diving splashing playing basketball
football soccer tennis golf baseball volleyball dancing ballet salsa tango juggling climbing hiking
jumping skipping rope throwing catching kicking punching boxing wrestling stretching yoga push ups
washing brushing teeth shaving combing hair eating drinking laughing sneezing coughing snoring
sine wave tone beep buzz hum static silence white pink electric electronic synthesizer
""".split()


def write_tiny_roberta_tokenizer(out: Path) -> Path:
    """A RoBERTa-style byte-level BPE (vocab.json + merges.txt) trained on a few hundred words.

    Same special tokens and ids as roberta-base (<s>=0, <pad>=1, </s>=2, <unk>=3, <mask>=4), which
    is what ClapTextConfig's pad/bos/eos ids expect.
    """
    from tokenizers import ByteLevelBPETokenizer

    out.mkdir(parents=True, exist_ok=True)
    sentences = [" ".join(_TOKENIZER_WORDS[i : i + 12]) for i in range(0, len(_TOKENIZER_WORDS), 12)]
    bpe = ByteLevelBPETokenizer()
    bpe.train_from_iterator(sentences * 2 + ["the sound of " + w for w in _TOKENIZER_WORDS], vocab_size=600,
                            min_frequency=1, special_tokens=["<s>", "<pad>", "</s>", "<unk>", "<mask>"],
                            show_progress=False)
    bpe.save_model(str(out))
    return out


def make_tiny_clap(out: Path, seed: int = 0) -> Path:
    """ClapModel (unfused HTS-AT audio side, RoBERTa text side) and its ClapProcessor.

    The audio side takes 1 s at 48 kHz (101 frames x 32 mel bins, stretched to a 64 x 64 image); the
    feature extractor keeps the released checkpoint's hop, FFT size and frequency range.
    """
    from transformers import ClapConfig, ClapFeatureExtractor, ClapModel, ClapProcessor, RobertaTokenizerFast

    out.mkdir(parents=True, exist_ok=True)
    write_tiny_roberta_tokenizer(out)
    # from_pretrained reads vocab.json + merges.txt in every transformers version we support.
    tokenizer = RobertaTokenizerFast.from_pretrained(out, model_max_length=77)
    (out / "vocab.json").unlink()
    (out / "merges.txt").unlink()
    torch.manual_seed(seed)
    config = ClapConfig(
        text_config={"vocab_size": len(tokenizer), "hidden_size": 32, "num_hidden_layers": 2,
                     "num_attention_heads": 2, "intermediate_size": 64, "max_position_embeddings": 80,
                     "projection_dim": 16},
        audio_config={"spec_size": 64, "num_mel_bins": 32, "patch_size": 4, "patch_stride": [4, 4],
                      "depths": [1, 1], "num_attention_heads": [2, 2], "window_size": 4,
                      "patch_embeds_hidden_size": 16, "hidden_size": 32, "projection_dim": 16,
                      "enable_fusion": False},
        projection_dim=16,
    )
    ClapModel(config).eval().save_pretrained(out)
    extractor = ClapFeatureExtractor(feature_size=32, sampling_rate=48000, hop_length=480, max_length_s=1,
                                     fft_window_size=1024, frequency_min=50, frequency_max=14000,
                                     truncation="rand_trunc", padding="repeatpad")
    ClapProcessor(feature_extractor=extractor, tokenizer=tokenizer).save_pretrained(out)
    return out


def make_full_head(name: str, out: Path, seed: int = 0) -> Path:
    """A transformers head at its released checkpoint's size, random weights (what `scripts/bench_heads.py
    --runtimes` times): the config classes' defaults are those checkpoints' architectures (VideoMAE-B 16
    frames, TimeSformer-B 8 frames, AST 1024 x 128 with 527 AudioSet outputs, CLAP's unfused HTS-AT (rand_trunc, as laion/clap-htsat-unfused) with a
    RoBERTa-base text side; its tokenizer is the tiny one above), with the processors' defaults."""
    import transformers as tf

    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)
    labels = lambda n: _label_maps([f"class {i}" for i in range(n)])  # noqa: E731
    if name == "videomae":
        tf.VideoMAEForVideoClassification(tf.VideoMAEConfig(**labels(400))).eval().save_pretrained(out)
        tf.VideoMAEImageProcessor().save_pretrained(out)
    elif name == "timesformer":
        tf.TimesformerForVideoClassification(tf.TimesformerConfig(**labels(400))).eval().save_pretrained(out)
        tf.VideoMAEImageProcessor(image_mean=[0.45] * 3, image_std=[0.225] * 3).save_pretrained(out)
    elif name == "ast":
        tf.ASTForAudioClassification(tf.ASTConfig(**labels(527))).eval().save_pretrained(out)
        tf.ASTFeatureExtractor().save_pretrained(out)
    elif name == "clap":
        write_tiny_roberta_tokenizer(out)
        tokenizer = tf.RobertaTokenizerFast.from_pretrained(out, model_max_length=77)
        (out / "vocab.json").unlink()
        (out / "merges.txt").unlink()
        tf.ClapModel(tf.ClapConfig()).eval().save_pretrained(out)
        tf.ClapProcessor(feature_extractor=tf.ClapFeatureExtractor(truncation="rand_trunc"), tokenizer=tokenizer).save_pretrained(out)
    else:
        raise ValueError(f"no full-size transformers head {name!r}")
    return out


def make_all(out_dir: Path) -> dict[str, Path]:
    out_dir = Path(out_dir)
    return {
        "xclip": make_tiny_xclip(out_dir / "xclip"),
        "clip": make_tiny_open_clip(out_dir / "clip"),
        "videomae": make_tiny_videomae(out_dir / "videomae"),
        "timesformer": make_tiny_timesformer(out_dir / "timesformer"),
        "ast": make_tiny_ast(out_dir / "ast"),
        "clap": make_tiny_clap(out_dir / "clap"),
    }


def make_every_encoder(out_dir: Path) -> dict[str, Path]:
    """`make_all` and every family in TINY_ENCODERS (the script's default)."""
    made = make_all(out_dir)
    made.update({key: make_tiny_encoder(key, Path(out_dir) / key) for key in TINY_ENCODERS})
    return made


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out_dir", type=Path)
    args = parser.parse_args()
    for name, path in make_every_encoder(args.out_dir).items():
        print(f"{name}: {path}")


if __name__ == "__main__":
    main()
