"""Audio heads: AST (AudioSet tagger) and CLAP (open-vocabulary sounds), both from transformers.

They read each window's mono audio at the rate their own feature extractor expects
(`head.sample_rate`, from the checkpoint's config: 16 kHz for AST, 48 kHz for CLAP), which the engine
loads for them (`Clip.audio_at`). A window without audio (a video with no audio track, or a window
past the end of the track) gets a NaN row: the head has nothing to say there, and fusion leaves it
out. Very short or silent audio is scored like any other: the extractors pad it.

What each returns:
- AST is a multi-label tagger trained with a sigmoid per class, so `predict` returns those sigmoid
  probabilities as they are: each is P(this sound is present), and a row does not sum to 1 (fusion
  normalises it, see `openvid.scoring.fusion`).
- CLAP scores the taxonomy's own labels (`set_labels`) as the prompts "the sound of {label}" and
  returns the softmax of `logits_per_audio` (logit_scale_a times cosine), exactly as ClapModel's
  forward computes it: a distribution over the labels given.
"""

from __future__ import annotations

from typing import ClassVar, Sequence

import numpy as np
import torch

from openvid.config import Settings, device_and_dtype
from openvid.encoders.preprocess import batches
from openvid.errors import ModelUnavailable, UsageError
from openvid.heads import hf_common
from openvid.heads.availability import CLAP_PROCESSOR_FILES
from openvid.heads.base import Head, HeadSpec, nan_rows, register_head_family, softmax
from openvid.heads.runtime import KeywordForward, RuntimeNetwork


class AudioHead(RuntimeNetwork, Head):
    """Gathers each clip's audio at the head's rate, scores the clips that have some, NaN for the rest
    (the audio network on the head's runtime, `RuntimeNetwork`)."""

    def __init__(self, spec: HeadSpec, model: torch.nn.Module, feature_extractor: object, labels: list[str],
                 identity: str, device: torch.device, dtype: torch.dtype, batch_size: int) -> None:
        self.spec = spec
        self.model = model
        self.feature_extractor = feature_extractor
        self.labels = labels
        self.identity = identity
        self.device = device
        self.dtype = dtype
        self.batch_size = batch_size
        self.sample_rate = int(feature_extractor.sampling_rate)  # type: ignore[attr-defined]

    def predict(self, clips: Sequence) -> np.ndarray:
        """float32 [n, len(labels)]; a NaN row for a clip without audio."""
        out = nan_rows(len(clips), len(self.labels))
        rows = [(i, wave) for i, wave in enumerate(self.waves(clips)) if wave is not None]
        for chunk in batches(rows, self.batch_size):
            out[[i for i, _ in chunk]] = self.scores([wave for _, wave in chunk])
        return out

    def waves(self, clips: Sequence) -> list[np.ndarray | None]:
        """Each clip's mono float32 audio at `sample_rate`; None where there is none (or it is empty)."""
        waves: list[np.ndarray | None] = []
        for clip in clips:
            wave = clip.audio_at(self.sample_rate) if hasattr(clip, "audio_at") else None
            wave = None if wave is None else np.asarray(wave, np.float32).reshape(-1)
            waves.append(wave if wave is not None and wave.size else None)
        return waves

    def scores(self, waves: list[np.ndarray]) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError


# -- AST ------------------------------------------------------------------------------------------

@register_head_family("ast")
class ASTHead(AudioHead):
    """`ASTForAudioClassification` fed by its own `ASTFeatureExtractor` (Kaldi-style log-mel fbank)."""

    min_seconds: ClassVar[float] = 0.025  # one 25 ms fbank window: shorter audio is zero-padded to it

    @classmethod
    def load(cls, spec: HeadSpec, settings: Settings, checkpoint: str | None = None,
             labels: Sequence[str] | None = None) -> "ASTHead":
        from transformers import ASTFeatureExtractor
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
        source = hf_common.resolve_source(spec, checkpoint)
        local_only = source.local or hf_common.is_cached(source.checkpoint)
        device, dtype = device_and_dtype(settings)
        config, model = hf_common.load_model(source, "ASTForAudioClassification", "audio-spectrogram-transformer",
                                             local_only)
        with hf_common.load_errors(source):
            extractor = ASTFeatureExtractor.from_pretrained(source.checkpoint, local_files_only=local_only)
        if (extractor.num_mel_bins, extractor.max_length) != (config.num_mel_bins, config.max_length):
            raise ModelUnavailable(
                source.checkpoint, f"its feature extractor makes {extractor.max_length}x{extractor.num_mel_bins} "
                f"spectrograms but the model takes {config.max_length}x{config.num_mel_bins}",
                "Save the checkpoint with the feature extractor it was trained with.")
        chosen = hf_common.choose_labels(spec.name, source.checkpoint, hf_common.config_labels(config.id2label, spec.name), labels)
        model.to(device=device, dtype=dtype)
        return cls(spec, model, extractor, chosen, hf_common.identity(spec.family, source), device, dtype,
                   settings.batch_size)

    @classmethod
    def is_cached(cls, spec: HeadSpec) -> bool:
        return spec.checkpoint is not None and hf_common.is_cached(spec.checkpoint)

    @classmethod
    def pull(cls, spec: HeadSpec) -> str:
        return hf_common.pull(hf_common.resolve_source(spec, None))

    def input_values(self, waves: list[np.ndarray]) -> torch.Tensor:
        """[B, max_length, mel bins] normalised fbank features, as the extractor makes them."""
        shortest = int(round(self.min_seconds * self.sample_rate))
        waves = [np.pad(w, (0, shortest - len(w))) if len(w) < shortest else w for w in waves]
        extract = self.feature_extractor
        features = extract(waves, sampling_rate=self.sample_rate, return_tensors="pt")  # type: ignore[operator]
        return features["input_values"].to(self.device, self.dtype)

    def network(self, count: int) -> torch.nn.Module:
        return KeywordForward(self.model, "input_values")

    def example_inputs(self) -> tuple[torch.Tensor, ...]:
        return (self.input_values([np.zeros(10 * self.sample_rate, np.float32)]),)

    @torch.inference_mode()
    def logits(self, waves: list[np.ndarray]) -> np.ndarray:
        return self.run_network(self.input_values(waves)).float().cpu().numpy()

    def scores(self, waves: list[np.ndarray]) -> np.ndarray:
        """Per-class sigmoid probabilities (AudioSet is multi-label: rows do not sum to 1)."""
        return (1.0 / (1.0 + np.exp(-self.logits(waves).astype(np.float64)))).astype(np.float32)


# -- CLAP -----------------------------------------------------------------------------------------

@register_head_family("clap")
class ClapHead(AudioHead):
    """`ClapModel` + `ClapProcessor`: the taxonomy's labels scored as sounds, zero-shot."""

    template: ClassVar[str] = "the sound of {}"

    def __init__(self, spec: HeadSpec, model: torch.nn.Module, feature_extractor: object, tokenizer: object,
                 identity: str, device: torch.device, dtype: torch.dtype, batch_size: int) -> None:
        super().__init__(spec, model, feature_extractor, [], identity, device, dtype, batch_size)
        self.tokenizer = tokenizer
        self.max_samples = int(feature_extractor.nb_max_samples)  # type: ignore[attr-defined]
        self.text_vectors: torch.Tensor | None = None  # [len(labels), dim] unit vectors

    @classmethod
    def load(cls, spec: HeadSpec, settings: Settings, checkpoint: str | None = None,
             labels: Sequence[str] | None = None) -> "ClapHead":
        from transformers import ClapProcessor
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
        source = hf_common.resolve_source(spec, checkpoint)
        local_only = source.local or hf_common.is_cached(source.checkpoint, _CLAP_PROCESSOR_FILES)
        device, dtype = device_and_dtype(settings)
        _, model = hf_common.load_model(source, "ClapModel", "clap", local_only)
        with hf_common.load_errors(source):
            processor = ClapProcessor.from_pretrained(source.checkpoint, local_files_only=local_only)
        model.to(device=device, dtype=dtype)
        head = cls(spec, model, processor.feature_extractor, processor.tokenizer,
                   hf_common.identity(spec.family, source), device, dtype, settings.batch_size)
        if labels is not None:
            head.set_labels(labels)
        return head

    @classmethod
    def is_cached(cls, spec: HeadSpec) -> bool:
        return spec.checkpoint is not None and hf_common.is_cached(spec.checkpoint, _CLAP_PROCESSOR_FILES)

    @classmethod
    def pull(cls, spec: HeadSpec) -> str:
        return hf_common.pull(hf_common.resolve_source(spec, None))

    # -- labels --------------------------------------------------------------------------------
    def prompts(self, labels: Sequence[str]) -> list[str]:
        return [self.template.format(label) for label in labels]

    def set_labels(self, labels: Sequence[str]) -> None:
        """Score these labels from now on (the text side is encoded once, here)."""
        labels = [str(label) for label in labels]
        if not labels:
            raise UsageError("the clap head needs at least one label to score; give the taxonomy some labels")
        vectors = [self._encode_text(chunk) for chunk in batches(self.prompts(labels), 256)]
        self.text_vectors = torch.cat(vectors)
        self.labels = labels

    @torch.inference_mode()
    def _encode_text(self, texts: list[str]) -> torch.Tensor:
        """Unit text vectors, the steps of ClapModel.forward (the same in transformers 4 and 5)."""
        tokens = self.tokenizer(texts, padding=True, truncation=True, return_tensors="pt")  # type: ignore[operator]
        m = self.model
        pooled = m.text_model(input_ids=tokens["input_ids"].to(self.device),
                              attention_mask=tokens["attention_mask"].to(self.device)).pooler_output
        return torch.nn.functional.normalize(m.text_projection(pooled), dim=-1)

    # -- audio ---------------------------------------------------------------------------------
    def audio_inputs(self, waves: list[np.ndarray]) -> dict[str, torch.Tensor]:
        """The extractor's features for each wave, deterministic: audio longer than the model's span
        is cut to its middle `max_samples` (the extractor would pick a random crop), and `is_longer`
        is False for all (the extractor marks a random one when none is longer; it matters only
        to fused checkpoints, which then take the plain global view)."""
        waves = [_middle(w, self.max_samples) for w in waves]
        extract = self.feature_extractor
        features = extract(waves, sampling_rate=self.sample_rate, return_tensors="pt")  # type: ignore[operator]
        return {"input_features": features["input_features"].to(self.device, self.dtype),
                "is_longer": torch.zeros((len(waves), 1), dtype=torch.bool, device=self.device)}

    network_output = "audio"

    def network(self, count: int) -> torch.nn.Module:
        return _ClapAudio(self.model)

    def example_inputs(self) -> tuple[torch.Tensor, ...]:
        return (self.audio_inputs([np.zeros(self.max_samples, np.float32)])["input_features"],)

    @torch.inference_mode()
    def audio_vectors(self, waves: list[np.ndarray]) -> torch.Tensor:
        """Unit audio vectors (the audio side of ClapModel.forward), on the head's runtime; the text side
        is encoded once per label set (`set_labels`) and stays on torch."""
        return self.run_network(self.audio_inputs(waves)["input_features"])

    @torch.inference_mode()
    def logits(self, waves: list[np.ndarray]) -> np.ndarray:
        """`logits_per_audio`: logit_scale_a.exp() times the cosine with each label's prompt."""
        if self.text_vectors is None:
            raise UsageError("the clap head has no labels yet; call set_labels(labels) with the taxonomy's "
                             "labels before predict")
        audio = self.audio_vectors(waves)
        scale = self.model.logit_scale_a.exp()
        return (scale * audio @ self.text_vectors.to(audio.dtype).T).float().cpu().numpy()

    def scores(self, waves: list[np.ndarray]) -> np.ndarray:
        return softmax(self.logits(waves))

    def predict(self, clips: Sequence) -> np.ndarray:
        if self.text_vectors is None:
            raise UsageError("the clap head has no labels yet; call set_labels(labels) with the taxonomy's "
                             "labels before predict")
        return super().predict(clips)


_CLAP_PROCESSOR_FILES = CLAP_PROCESSOR_FILES  # openvid.heads.availability checks the same files


class _ClapAudio(torch.nn.Module):
    """CLAP's audio tower, projection and normalisation as one forward of the features alone:
    `is_longer` is False for every clip (see `ClapHead.audio_inputs`), so it is made inside."""

    def __init__(self, model: torch.nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        is_longer = torch.zeros((features.shape[0], 1), dtype=torch.bool, device=features.device)
        pooled = self.model.audio_model(input_features=features, is_longer=is_longer).pooler_output
        return torch.nn.functional.normalize(self.model.audio_projection(pooled), dim=-1)


def _middle(wave: np.ndarray, length: int) -> np.ndarray:
    if len(wave) <= length:
        return wave
    start = (len(wave) - length) // 2
    return wave[start : start + length]
