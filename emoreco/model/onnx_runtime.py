"""Running a saved model without TensorFlow: ONNX Runtime sessions.

Training exports ``<name>.onnx`` beside the Keras files (:func:`emoreco.model.files.
export_onnx`); prediction runs it here. ``import onnxruntime`` takes about 0.01-0.3 s,
against 5-9 s for ``import tensorflow``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from emoreco.core.errors import ModelError


def onnx_call(path: Path, threads: int = 1) -> tuple[Callable[[np.ndarray], np.ndarray],
                                                     list[int | None]]:
    """Open an ONNX model for inference.

    Parameters
    ----------
    path : Path
        A model with one input of shape (batch, rows, columns) and one output.
    threads : int
        Intra-op threads (1 suits one process per core; parallelism is over songs).

    Returns
    -------
    call : callable
        (n, rows, columns) float32 -> (n,) float32.
    input_shape : list
        The declared input shape without the batch axis.
    """
    import onnxruntime
    from onnxruntime.capi import onnxruntime_pybind11_state as ort_errors

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    available = onnxruntime.get_available_providers()  # CUDA first where installed
    providers = [p for p in ("CUDAExecutionProvider", "CPUExecutionProvider") if p in available]
    try:
        session = onnxruntime.InferenceSession(str(path), options, providers=providers)
    except (ort_errors.Fail, ort_errors.InvalidProtobuf, ort_errors.InvalidGraph,
            ort_errors.InvalidArgument, ort_errors.NoSuchFile, RuntimeError, ValueError) as exc:
        raise ModelError(f"{path}: cannot be loaded by ONNX Runtime ({exc})") from exc
    [model_input] = session.get_inputs()
    name = model_input.name

    def call(inputs: np.ndarray) -> np.ndarray:
        output = session.run(None, {name: np.ascontiguousarray(inputs, dtype=np.float32)})[0]
        return output.reshape(-1)

    shape = [d if isinstance(d, int) else None for d in model_input.shape[1:]]
    return call, shape
