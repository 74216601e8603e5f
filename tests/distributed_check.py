"""Run by tests/test_faults.py in its own process: a sweep under tf.distribute.MirroredStrategy.

Two logical CPU devices stand in for two GPUs (they must be configured before TensorFlow starts,
hence the process). Before each step a probe reads the LR as every replica computes it and
every replica's copy of the first kernel: if a replica missed an LR change its weights would
drift from the others. Prints JSON for the test to assert on.
"""

import json
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ["KERAS_BACKEND"] = "tensorflow"

import tensorflow as tf  # noqa: E402

cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)

import keras  # noqa: E402
import numpy as np  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402

import lrwidget  # noqa: E402


class ReplicaProbe(keras.callbacks.Callback):
    def __init__(self, strategy):
        super().__init__()
        self.strategy = strategy
        self.lrs, self.kernels_agree = [], []

    def on_train_batch_begin(self, batch, logs=None):
        opt = self.model.optimizer
        # The LR each replica's step will use, computed in that replica (from its own copy of
        # the iteration count, as the compiled step does).
        lr = self.strategy.run(lambda: opt.learning_rate)
        lrs = [float(np.asarray(v)) for v in self.strategy.experimental_local_results(lr)]
        kernel = self.model.layers[0].kernel.value
        copies = [np.asarray(k) for k in self.strategy.experimental_local_results(kernel)]
        self.lrs.append(lrs)
        self.kernels_agree.append(all(np.array_equal(copies[0], c) for c in copies))


def main():
    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    x, y = load_digits(return_X_y=True)
    x, y = (x / 16).astype("float32"), y.astype("int32")
    with strategy.scope():
        model = keras.Sequential(
            [keras.Input((64,)), keras.layers.Dense(32, activation="relu"), keras.layers.Dense(10)]
        )
        model.compile(
            keras.optimizers.SGD(0.01, momentum=0.9),
            keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        )
    model.fit(x, y, batch_size=128, epochs=1, verbose=0)
    before = [np.array(v.numpy()) for v in model.variables + model.optimizer.variables]
    probe = ReplicaProbe(strategy)
    r = lrwidget.find_lr(model, x, y, batch_size=128, num_steps=20, end_lr=1.0, callbacks=[probe])
    after = [np.array(v.numpy()) for v in model.variables + model.optimizer.variables]
    planned = np.float32(r.lrs)
    print(
        json.dumps(
            {
                "replicas": strategy.num_replicas_in_sync,
                "steps": len(r),
                "lr_on_every_replica": all(
                    all(np.float32(v) == p for v in row)
                    for row, p in zip(probe.lrs, planned, strict=True)
                ),
                "replicas_agree": all(probe.kernels_agree),
                "finite": bool(np.isfinite(r.losses[: r.useful]).all()),
                "restored": all(np.array_equal(a, b) for a, b in zip(before, after, strict=True)),
            }
        )
    )


if __name__ == "__main__":
    main()
