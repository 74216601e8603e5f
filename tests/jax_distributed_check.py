"""Run by tests/test_multihost.py in its own process(es): a sweep under Keras 3's distribution
API on JAX, data-parallel over two devices.

    python jax_distributed_check.py devices             # one process, two host devices
    python jax_distributed_check.py process ID N PORT   # process ID of N, on localhost:PORT

The environment must set KERAS_BACKEND=jax (and, for ``devices``,
XLA_FLAGS=--xla_force_host_platform_device_count=2) before this starts. Prints one line of JSON
for the test to compare across processes.
"""

import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import jax  # noqa: E402

if sys.argv[1] == "process":
    process_id, num_processes, port = (int(a) for a in sys.argv[2:5])
    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    jax.distributed.initialize(
        coordinator_address=f"127.0.0.1:{port}",
        num_processes=num_processes,
        process_id=process_id,
    )

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402

import lrwidget  # noqa: E402


def main():
    keras.distribution.set_distribution(keras.distribution.DataParallel())
    x, y = load_digits(return_X_y=True)
    x, y = (x[:1024] / 16).astype("float32"), y[:1024].astype("int32")
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [keras.Input((64,)), keras.layers.Dense(32, activation="relu"), keras.layers.Dense(10)]
    )
    model.compile(
        keras.optimizers.SGD(0.01, momentum=0.9),
        keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    data = tf.data.Dataset.from_tensor_slices((x, y)).batch(64, drop_remainder=True)
    model.fit(data, epochs=1, verbose=0)  # builds the optimizer: all its state exists
    before = [np.array(v.numpy()) for v in model.variables + model.optimizer.variables]
    r = lrwidget.find_lr(model, data, num_steps=40, start_lr=1e-4, end_lr=1e3)
    after = [np.array(v.numpy()) for v in model.variables + model.optimizer.variables]
    print(
        json.dumps(
            {
                "devices": jax.device_count(),
                "processes": jax.process_count(),
                "steps": len(r),
                "stop_reason": r.stop_reason,
                "losses": [float(v) for v in r.losses],
                "lrs": [float(v) for v in r.lrs],
                "restored": all(np.array_equal(a, b) for a, b in zip(before, after, strict=True)),
            }
        )
    )


if __name__ == "__main__":
    main()
