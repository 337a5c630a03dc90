"""Song-level features of audio that arrives in pieces (a live stream).

:class:`FeatureStream` computes the frames of
:func:`~emoreco.audio.features.compute_song_features`, each as soon as every sample its
STFTs read has arrived, with the same functions on the same samples: the frames are
bit-identical to those of the whole song, however the audio is cut into pieces. Memory is
bounded: samples are dropped once no later frame reads them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

from emoreco.audio.features import (FrameSpan, causal_db_floor, chroma_frames, chroma_span,
                                    decibels_to_mfcc, frame_power, mel_decibels, mfcc_span)
from emoreco.core.config import FeatureParams


LAZY_MAX_FRAMES = 48  # final frames a matrix may leave uncomputed while none is wanted (1 s)


class FeatureStream:
    """Incremental MFCC and chroma frames of mono audio at ``params.sample_rate``.

    Frame ``k`` of each matrix reads the samples its
    :class:`~emoreco.audio.features.FrameSpan` gives around sample ``k * hop_length`` and
    is final once the last one with a nonzero window weight has arrived (with the default
    parameters: the MFCC frame 10.7 ms after its time, the chroma frame at its time), or
    at the end of the stream (whose frames, as the song's, are zero-padded past the last
    sample).
    """

    def __init__(self, params: FeatureParams) -> None:
        self.params = params
        self._span: dict[str, FrameSpan] = {"mfcc": mfcc_span(params),
                                            "chroma": chroma_span(params)}
        self._next = {"mfcc": 0, "chroma": 0}  # next frame of each matrix
        self._buffer = np.zeros(0, np.float32)
        self._buffer_start = 0  # absolute index of self._buffer[0]
        self._received = 0
        self._loudest = -np.inf
        self._finished = False

    @property
    def frames_done(self) -> int:
        """Frames of both matrices produced so far."""
        return min(self._next.values())

    @property
    def samples_received(self) -> int:
        """Samples pushed so far."""
        return self._received

    def push(self, samples: np.ndarray, wanted: Mapping[str, int] | None = None
             ) -> tuple[np.ndarray, np.ndarray]:
        """Add samples; return the frames of each matrix that became final.

        Parameters
        ----------
        samples : np.ndarray, shape (n,)
        wanted : mapping of ``"mfcc"`` / ``"chroma"`` to a frame count, optional
            Compute a matrix's final frames only once there are this many in all (what
            the next value needs: :meth:`~emoreco.model.live.LiveCurves.frames_wanted`)
            or :data:`LAZY_MAX_FRAMES` are waiting: fewer, longer STFT calls for the
            same frames (a live stream's packets are shorter than a frame's hop).

        Returns
        -------
        mfcc : np.ndarray, shape (n_mfcc, n_new_mfcc)
        chroma : np.ndarray, shape (12, n_new_chroma)
            Chroma runs ahead of the MFCCs by a frame until :meth:`finish`.
        """
        if self._finished:
            raise RuntimeError("push() after finish()")
        samples = np.asarray(samples, dtype=np.float32).reshape(-1)
        self._buffer = np.concatenate([self._buffer, samples])
        self._received += len(samples)
        hop = self.params.hop_length
        final = {name: max(0, (self._received - span.needed) // hop + 1)
                 for name, span in self._span.items()}
        if wanted is not None:
            final = {name: count for name, count in final.items()
                     if count >= wanted.get(name, math.inf)
                     or count - self._next[name] >= LAZY_MAX_FRAMES}
        return self._frames(final)

    def finish(self) -> tuple[np.ndarray, np.ndarray]:
        """End of the stream: the remaining frames, ``1 + n_samples // hop_length`` of each
        matrix in all."""
        self._finished = True
        last = 1 + self._received // self.params.hop_length
        return self._frames(dict.fromkeys(self._span, last))

    def _segment(self, first_frame: int, n_frames: int, span: FrameSpan) -> np.ndarray:
        """Samples ``[first * hop - before, last * hop + after)`` of frames ``first`` to
        ``last``; zeros outside the audio and where samples have not arrived yet (the
        window weighs those by zero)."""
        hop = self.params.hop_length
        start = first_frame * hop - span.before
        stop = (first_frame + n_frames - 1) * hop + span.after
        out = np.zeros(stop - start, np.float32)
        low, high = max(start, 0), min(stop, self._received)
        if high > low:
            out[low - start:high - start] = self._buffer[low - self._buffer_start:
                                                         high - self._buffer_start]
        return out

    def _frames(self, until: dict[str, int]) -> tuple[np.ndarray, np.ndarray]:
        params = self.params
        mfcc = np.zeros((params.n_mfcc, 0), np.float32)
        chroma = np.zeros((12, 0), np.float32)
        first, count = self._next["mfcc"], until.get("mfcc", 0) - self._next["mfcc"]
        if count > 0:
            power = frame_power(self._segment(first, count, self._span["mfcc"]),
                                params.n_fft, params.win_length, params.hop_length, count)
            decibels = causal_db_floor(mel_decibels(power, params), self._loudest)
            self._loudest = max(self._loudest, float(decibels.max()))
            mfcc = decibels_to_mfcc(decibels, params)
            self._next["mfcc"] = until["mfcc"]
        first, count = self._next["chroma"], until.get("chroma", 0) - self._next["chroma"]
        if count > 0:
            power = frame_power(self._segment(first, count, self._span["chroma"]),
                                params.chroma_n_fft, params.chroma_n_fft, params.hop_length,
                                count)
            chroma = chroma_frames(power, params)
            self._next["chroma"] = until["chroma"]
        keep_from = min(self._next[name] * params.hop_length - span.before  # earliest read
                        for name, span in self._span.items())
        if keep_from > self._buffer_start:
            self._buffer = self._buffer[keep_from - self._buffer_start:]
            self._buffer_start = keep_from
        return mfcc, chroma
