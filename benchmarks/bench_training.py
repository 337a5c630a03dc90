"""Training epoch time on a DEAM-sized set (about 100,000 windows), CPU.

Target (issue 3): one epoch of each model in at most 60 s on 2 CPU cores, with the
default batch size (256), augmentation included for valence.

    python benchmarks/bench_training.py [--windows 100000]
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

EPOCH_TARGET_S = 60.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--windows", type=int, default=100_000)
    args = parser.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

    import keras

    from emoreco.core.config import FeatureParams, TrainParams
    from emoreco.model.scaler import Scaler
    from emoreco.model.targets import TARGETS
    from emoreco.training.fit import training_data

    params, train_params = FeatureParams(), TrainParams()
    rng = np.random.default_rng(0)
    for target, spec in TARGETS.items():
        shape = spec.input_shape(params)
        inputs = rng.normal(size=(args.windows, *shape)).astype(np.float32)
        targets = rng.uniform(-1, 1, args.windows).astype(np.float32)
        keras.utils.set_random_seed(0)
        model = spec.build_model(shape, train_params.learning_rate)
        data = training_data(Scaler.fit(inputs, spec.scaler_axes).apply(inputs), targets,
                              train_params.batch_size, 0, augment=spec.augment)
        epoch_times: list[float] = []

        class Timer(keras.callbacks.Callback):
            def on_epoch_begin(self, epoch, logs=None):
                self.started = time.perf_counter()

            def on_epoch_end(self, epoch, logs=None):
                epoch_times.append(time.perf_counter() - self.started)

        model.fit(data, epochs=2, verbose=0, callbacks=[Timer()], shuffle=False)
        print(f"{target}: {model.count_params()} parameters, {args.windows} windows of "
              f"{shape}, batch {train_params.batch_size}: first epoch {epoch_times[0]:.1f} s "
              f"(with tracing), second {epoch_times[1]:.1f} s (target {EPOCH_TARGET_S:.0f} s; "
              f"ratio to target {EPOCH_TARGET_S / epoch_times[1]:.1f})")


if __name__ == "__main__":
    main()
