"""Text encoding: the 77-token padded text tower against the batch cut to its longest real prompt.

    python scripts/bench_text.py [--prompts 400] [--repeats 3] [--batch-size 400]

Uses open_clip ViT-B-32 at full size with random weights (timing does not depend on the weights)
and prints one table: seconds per pass for each way, the speed-up, and the largest difference
between the two sets of unit vectors.
"""

from __future__ import annotations

import argparse
import itertools
import time

import torch
import torch.nn.functional as F

ACTIONS = [
    "riding a bike", "playing guitar", "cooking pasta", "swimming", "skateboarding", "a kickflip",
    "dancing", "juggling balls", "painting a wall", "walking a dog", "catching a frisbee", "surfing",
    "climbing a rock wall", "playing chess", "reading a book", "washing dishes", "typing on a laptop",
    "playing tennis", "shooting a basketball", "kicking a football", "skiing", "snowboarding",
    "mowing the lawn", "brushing teeth", "tying shoelaces", "pole vault", "high jump", "archery",
    "bowling", "boxing", "fencing", "golf swing", "horse riding", "ice skating", "jogging",
    "knitting", "laughing", "making a bed", "opening a present", "pouring coffee", "push ups",
    "rowing a boat", "sailing", "sewing", "singing", "sneezing", "stretching", "tai chi",
    "throwing a ball", "unboxing", "vacuuming", "waving", "welding", "writing", "yoga",
    "zumba", "baking bread", "blowing out candles", "carving a pumpkin", "chopping wood",
    "cleaning windows", "diving into a pool", "doing a cartwheel", "drinking water",
    "eating spaghetti", "feeding birds", "flying a kite", "folding clothes", "gardening",
    "grooming a horse", "hugging", "ironing a shirt", "jumping rope", "kayaking", "lifting weights",
    "milking a cow", "motorcycling", "parkour", "peeling an orange", "planting a tree",
    "playing drums", "playing piano", "playing violin", "riding a camel", "roller skating",
    "running on a treadmill", "shaving", "shoveling snow", "skydiving", "sled dog racing",
    "slacklining", "smoking", "snorkeling", "spinning a pen", "sweeping the floor",
    "texting on a phone", "trimming a hedge", "unloading a truck", "wrapping a present", "whistling",
]
TEMPLATES = ["a video of {}.", "a person {}.", "a clip of someone {}.", "{}"]


def prompts(count: int) -> list[str]:
    pool = [t.format(a) for t, a in itertools.product(TEMPLATES, ACTIONS)]
    return list(itertools.islice(itertools.cycle(pool), count))


def build_encoder():
    import open_clip

    from openvid.encoders.clip_pool import ClipPoolEncoder, _transform_from

    model = open_clip.create_model("ViT-B-32", pretrained=None)
    transform = _transform_from(open_clip.get_model_preprocess_cfg(model))
    return ClipPoolEncoder(model, open_clip.get_tokenizer("ViT-B-32"), transform, "bench", "bench",
                           torch.device("cpu"), torch.float32)


def timed(fn, repeats: int) -> tuple[float, torch.Tensor]:
    fn()  # warm-up
    best, result = float("inf"), None
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--prompts", type=int, default=400)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=400)
    args = parser.parse_args()

    torch.manual_seed(0)
    encoder = build_encoder()
    texts = prompts(args.prompts)
    tokens = encoder.tokenizer(texts)
    longest = int((tokens != 0).sum(1).max())

    def run(cut: bool):
        chunks = [encoder._encode_text_batch(texts[i : i + args.batch_size], cut=cut)
                  for i in range(0, len(texts), args.batch_size)]
        return F.normalize(torch.cat(chunks).float(), dim=-1)

    padded_s, padded = timed(lambda: run(False), args.repeats)
    cut_s, cut = timed(lambda: run(True), args.repeats)
    diff = float((padded - cut).abs().max())

    print(f"open_clip ViT-B-32 text tower, {len(texts)} prompts, batch {args.batch_size}, "
          f"{torch.get_num_threads()} threads, best of {args.repeats}")
    print("| way | tokens per prompt | seconds | prompts/s | ratio |")
    print("| --- | --- | --- | --- | --- |")
    print(f"| padded to context | {tokens.shape[1]} | {padded_s:.2f} | {len(texts) / padded_s:.0f} | 1.00× |")
    print(f"| cut to longest | {longest} | {cut_s:.2f} | {len(texts) / cut_s:.0f} | {padded_s / cut_s:.2f}× |")
    print(f"max |padded − cut| over unit vectors: {diff:.1e}")


if __name__ == "__main__":
    main()
