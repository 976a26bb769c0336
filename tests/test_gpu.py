"""GPU paths: run where CUDA is present, skip cleanly elsewhere (CI has no GPU)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from openvid.config import Settings
from openvid.encoders import load_encoder

pytestmark = [pytest.mark.gpu, pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")]


@pytest.mark.parametrize("family", ["xclip", "clip"])
def test_auto_dtype_on_cuda_is_float16_and_agrees_with_cpu_float32(tiny_model_dirs, family):
    folder = str(tiny_model_dirs[family])
    gpu = load_encoder(folder, Settings(device="cuda"))
    cpu = load_encoder(folder, Settings(device="cpu"))
    assert gpu.dtype == torch.float16 and cpu.dtype == torch.float32
    clips = [np.random.RandomState(i).randint(0, 256, (8, 224, 280, 3), dtype=np.uint8) for i in range(3)]
    texts = ["a dog catching a frisbee", "a person riding a bike"]
    for got, want in [(gpu.encode_video(clips), cpu.encode_video(clips)), (gpu.encode_text(texts), cpu.encode_text(texts))]:
        assert got.dtype == np.float32
        cosine = (got * want).sum(axis=1)
        assert cosine.min() > 0.999
