"""AVSlowFast: SlowFast's slow and fast visual pathways fused with an audio pathway on log-mel
spectrograms (Xiao et al. 2020, "Audiovisual SlowFast Networks for Video Recognition").

No Kinetics checkpoint of PyTorchVideo's `create_audio_visual_slowfast` is published, so this head
has no default weights: bring a checkpoint trained with that builder (`--head-checkpoint
avslowfast=file.pyth`, a `.pyth` or a state_dict; a variant's builder arguments in a
`<stem>.arch.json` sidecar) and its labels (`--head-labels avslowfast=labels.txt`; 400 outputs without
a labels file are taken as Kinetics-400).

Inputs are what the builder's default head pools expect ((8, 7, 7), (32, 7, 7), (16, 1, 10)):
- video: 32 frames for the fast pathway, every 4th for the slow one (as `slowfast_r50`), short side
  256 then a 224 centre crop (the builder's 7 x 7 pools need 224; 256 would leave the visual and
  audio pathways with different pooled sizes), mean 0.45 / std 0.225: the validation transform of
  PyTorchVideo's `tutorials/video_classification_example/train.py`;
- audio: the same tutorial's audio transform (the AVSlowFast defaults of PySlowFast's config):
  16 kHz mono, mel power spectrogram with 32 ms windows (n_fft 512) every 16 ms (hop 256), 80 mel
  bands, no centre padding, torchaudio's MelSpectrogram defaults (periodic Hann window, HTK mel
  scale, unnormalised filters); clamp at 1e-10, natural log, 128 frames picked uniformly over time
  (linspace, as `uniform_temporal_subsample`), normalised with mean -7.03 and std 4.66, shaped
  [1, 128, 1, 80]. torchaudio is not a dependency, so librosa computes it (not
  `openvid.media.audio.log_mel`, which gives decibels on Slaney mel bands for the other audio heads).

A clip without audio (no audio track, or none in its window) gets a NaN row: the head has nothing
to say there and fusion leaves it out.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import torch

from openvid.config import Settings, device_and_dtype
from openvid.encoders.preprocess import FrameTransform, batches
from openvid.errors import ModelUnavailable
from openvid.heads import torch_common as tc
from openvid.heads.base import HeadSpec, head_frames, nan_rows, register_head_family
from openvid.heads.pytorchvideo_heads import SIDE, as_tuples, import_pytorchvideo, pack_pathways, zoo_transform
from openvid.media.segments import central_range

SAMPLE_RATE = 16000
N_FFT = 512  # 32 ms at 16 kHz
HOP = 256  # 16 ms
N_MELS = 80
AUDIO_FRAMES = 128
LOGMEL_MEAN = -7.03
LOGMEL_STD = 4.66
LOG_FLOOR = 1e-10
CROP = 224  # heads.json's image_size: the builder's 7 x 7 pools need 224
CLASSIFIER = "blocks.6.proj.weight"  # the default of options.classifier

def log_mel_frames(waveform: np.ndarray, sample_rate: int = SAMPLE_RATE) -> torch.Tensor:
    """float32 [1, 128, 1, 80] normalised log-mel input of the audio pathway (see the module notes)."""
    import librosa

    y = np.asarray(waveform, dtype=np.float32).reshape(-1)
    if len(y) < N_FFT:  # shorter than one window: pad with silence so there is one frame
        y = np.pad(y, (0, N_FFT - len(y)))
    power = librosa.feature.melspectrogram(y=y, sr=sample_rate, n_fft=N_FFT, hop_length=HOP, win_length=N_FFT,
                                           window="hann", center=False, power=2.0, n_mels=N_MELS, fmin=0.0,
                                           fmax=sample_rate / 2, htk=True, norm=None)
    mel = torch.from_numpy(np.ascontiguousarray(power, dtype=np.float32)).clamp(min=LOG_FLOOR).log()  # [F, T]
    index = torch.clamp(torch.linspace(0, mel.shape[1] - 1, AUDIO_FRAMES), 0, mel.shape[1] - 1).long()
    mel = torch.index_select(mel, 1, index).transpose(1, 0)  # [T, F]
    return ((mel - LOGMEL_MEAN) / LOGMEL_STD).reshape(1, AUDIO_FRAMES, 1, N_MELS)


def _quiet_fusion(model: torch.nn.Module) -> None:
    """pytorchvideo 0.1.5's FuseAudioToFastSlow.forward prints a tensor size on every call; swap in
    the same computation without the print (the class's own forward otherwise)."""
    module = import_pytorchvideo("pytorchvideo.models.audio_visual_slowfast")
    base = module.FuseAudioToFastSlow

    class QuietFuseAudioToFastSlow(base):  # type: ignore[misc, valid-type]
        def forward(self, x: list[torch.Tensor]) -> list[torch.Tensor]:
            x_s, x_f, x_a = x[0], x[1], x[2]
            fuse = self.block_fast_to_slow(x_f)
            fuse_a = self.block_audio_to_fastslow(torch.mean(x_a, dim=-1, keepdim=True))
            return [fuse_a + torch.cat([x_s, fuse], 1), x_f, x_a]

    for child in model.modules():
        if type(child) is base:
            child.__class__ = QuietFuseAudioToFastSlow


@register_head_family("avslowfast")
class AVSlowFastHead(tc.TorchVideoHead):
    """[slow, fast, audio] in, logits out; a NaN row for a clip without audio."""

    def __init__(self, *args: Any, transform: FrameTransform, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.transform = transform
        self.sample_rate = SAMPLE_RATE

    @classmethod
    def load(cls, spec: HeadSpec, settings: Settings, checkpoint: str | None = None,
             labels: Sequence[str] | None = None) -> "AVSlowFastHead":
        if checkpoint is None:  # load_head refuses this first; kept for direct callers
            raise ModelUnavailable(spec.name, "this head has no published default weights",
                                   tc.local_hint(spec.name))
        device, dtype = device_and_dtype(settings)
        side = int(spec.options.get("short_side", SIDE))
        loaded = tc.read_checkpoint(spec, checkpoint, "")
        outputs = tc.classes_in(loaded.state, spec.options.get("classifier", CLASSIFIER), loaded.label, spec.name)
        names = tc.output_labels(spec.name, outputs, labels, tc.kinetics400_labels(), loaded.label)
        builders = import_pytorchvideo("pytorchvideo.models.audio_visual_slowfast")
        model = tc.build_model(spec.name, loaded.label, lambda: builders.create_audio_visual_slowfast(
            model_num_class=outputs, **as_tuples(loaded.arch)))
        tc.load_weights(model, loaded.state, loaded.label, spec.name)
        _quiet_fusion(model)
        model.eval().to(device=device, dtype=dtype)
        return cls(spec, model, names, loaded.identity, device, dtype, settings.batch_size,
                   spec.frames, side, transform=zoo_transform(crop=spec.image_size or CROP, side=side))

    @classmethod
    def is_cached(cls, spec: HeadSpec) -> bool:
        return False  # nothing to cache: the weights are always the user's own file

    @classmethod
    def pull(cls, spec: HeadSpec) -> str:
        raise ModelUnavailable(spec.name, "this head has no published weights to download", tc.local_hint(spec.name))

    # -- contract ------------------------------------------------------------------------------
    def inputs(self, clips: Sequence) -> list[torch.Tensor]:
        """[slow, fast, audio] for clips that all have audio."""
        videos = [self.transform(head_frames(clip, self.frames_per_clip, self.clip_seconds)).permute(1, 0, 2, 3)
                  for clip in clips]
        fast = torch.stack(videos).to(self.device, self.dtype)
        audio = torch.stack([log_mel_frames(self._audio(clip)) for clip in clips]).to(self.device, self.dtype)
        return [*pack_pathways(fast), audio]

    def _audio(self, clip: object) -> np.ndarray | None:
        """The window's audio, cut to the same central seconds as the frames."""
        audio_at = getattr(clip, "audio_at", None)
        wave = audio_at(self.sample_rate) if audio_at is not None else None
        if wave is not None and hasattr(clip, "start_s"):
            start, end = central_range(clip.start_s, clip.end_s, self.clip_seconds)
            first = int(round((start - clip.start_s) * self.sample_rate))
            wave = wave[first: first + int(round((end - start) * self.sample_rate))]
        return wave if wave is not None and len(wave) else None

    def predict(self, clips: Sequence) -> np.ndarray:
        """Softmax rows for clips with audio, NaN rows for the others."""
        clips = list(clips)
        out = nan_rows(len(clips), len(self.labels))
        heard = [i for i, clip in enumerate(clips) if self._audio(clip) is not None]
        for chunk in batches(heard, self.batch_size):
            out[chunk] = super().predict([clips[i] for i in chunk])
        return out
