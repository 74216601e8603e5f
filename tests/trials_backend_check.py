"""try_lrs on one Keras backend (chosen by KERAS_BACKEND before import); prints one JSON line.

Run by tests/test_trials.py in a process of its own per backend.
"""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import keras  # noqa: E402
import numpy as np  # noqa: E402

import lrwidget  # noqa: E402


def values(model):
    return [np.array(keras.ops.convert_to_numpy(v.value)) for v in model.variables] + [
        np.array(keras.ops.convert_to_numpy(v.value)) for v in model.optimizer.variables
    ]


def main():
    rng = np.random.default_rng(0)
    x = rng.random((512, 16), dtype="float32")
    y = (x[:, :4].sum(1) > 2).astype("int32")
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input((16,)),
            keras.layers.Dense(16, activation="relu"),
            keras.layers.Dropout(0.2),
            keras.layers.Dense(2),
        ]
    )
    model.compile(
        optimizer=keras.optimizers.AdamW(1e-3, weight_decay=0.004),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    model.fit(x[:64], y[:64], batch_size=32, verbose=0)
    before = values(model)
    trials = lrwidget.try_lrs(
        model,
        x,
        y,
        lrs=[1e-2, 1e-2, 1e-1],
        settings=[{}, {}, {"weight_decay": 0.1}],
        steps=15,
        batch_size=32,
    )
    after = values(model)
    restored = len(before) == len(after) and all(
        np.array_equal(a, b) for a, b in zip(before, after, strict=True)
    )
    print(
        json.dumps(
            {
                "backend": keras.backend.backend(),
                "outcomes": trials.outcomes,
                "same_batches": bool(np.array_equal(trials.losses[0], trials.losses[1])),
                "same_first": bool(trials.losses[0][0] == trials.losses[2][0]),
                "restored": bool(restored),
                "weight_decay_back": model.optimizer.weight_decay == 0.004,
            }
        )
    )


if __name__ == "__main__":
    main()
