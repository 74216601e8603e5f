"""The ``lrwidget`` command: LR range tests from a terminal, no notebook needed.

``lrwidget demo`` sweeps a small network on scikit-learn's digits (shipped data, nothing is
downloaded); ``lrwidget find MODEL.keras DATA.npz`` sweeps a user's own saved, compiled model.
Both draw a progress bar on stderr, print the candidates, the suggestion and any note on the
range (e.g. "pass a larger end_lr") on stdout, and write ``sweep.json``
(:meth:`SweepResult.save`) and ``sweep.html`` (the chart as a standalone page) to
``--out-dir``. With ``--try STEPS`` a short trial run follows at each LR the reading proposes
(:func:`lrwidget.try_lrs`): a line per trial, the winner, ``trials.json`` and ``trials.png``.
Errors are one line on stderr: exit status 2 for bad arguments, 1 when the sweep itself fails.
"""

from __future__ import annotations

import argparse
import base64
import math
import os
import sys
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .data import MIN_STEPS
from .family import SweepFamily, check_vary
from .result import SweepResult
from .style import format_lr
from .trials import Trials


@dataclass
class Job:
    """What a command sweeps: a compiled model and its data, as ``find_lr`` takes them."""

    model: object
    x: object
    y: object
    validation_data: object = None


class UsageError(Exception):
    """A bad command line; reported in one line with exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        # argparse would print the whole usage block and exit; one line is enough.
        raise UsageError(message)


def _positive(kind):
    def parse(text):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a {kind.__name__}, got {text!r}") from None
        if not (math.isfinite(value) and value > 0):
            raise argparse.ArgumentTypeError(f"must be > 0, got {text!r}")
        return value

    return parse


def _fraction(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"must be in [0, 1), got {text!r}")
    return value


def _number(text: str):
    lowered = text.strip().lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    try:
        return int(lowered)
    except ValueError:
        pass
    try:
        return float(lowered)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected numbers, got {text!r}") from None


def _vary(text: str) -> tuple[str, list]:
    """``--vary weight_decay=0,1e-4,1e-3`` -> ``("weight_decay", [0, 0.0001, 0.001])``."""
    name, sep, values = text.partition("=")
    if not sep or not name.strip():
        raise argparse.ArgumentTypeError(f"expected NAME=V1,V2,..., got {text!r}")
    return name.strip(), [_number(v) for v in values.split(",") if v.strip()]


def build_parser() -> argparse.ArgumentParser:
    """The ``lrwidget`` argument parser with its ``demo`` and ``find`` commands."""
    common = _Parser(add_help=False)
    sweep = common.add_argument_group("sweep")
    sweep.add_argument(
        "--batch-size", type=_positive(int), default=32, metavar="N", help="default 32"
    )
    sweep.add_argument(
        "--start-lr", type=_positive(float), default=1e-5, metavar="LR", help="default 1e-5"
    )
    sweep.add_argument(
        "--end-lr", type=_positive(float), default=10.0, metavar="LR", help="default 10"
    )
    sweep.add_argument(
        "--num-steps",
        type=_positive(int),
        metavar="N",
        help="batches in the sweep (demo: 400; find: an epoch, >= 100)",
    )
    sweep.add_argument(
        "--vary",
        type=_vary,
        action="append",
        metavar="NAME=V1,V2,...",
        help="sweep a family, one sweep per value (repeat for their product): an optimizer "
        "setting (weight_decay, momentum, beta_1 ...), batch_size, num_steps or seed; "
        "writes family.json and family.png",
    )
    common.add_argument(
        "--try",
        dest="try_steps",
        type=_positive(int),
        metavar="STEPS",
        help="after the sweep, train STEPS steps at each LR its reading proposes (a family: "
        "each member's suggestion with its settings), each from the model's starting state, "
        "and name the one that trained best; writes trials.json and trials.png",
    )
    common.add_argument(
        "--out-dir",
        type=Path,
        default=Path("."),
        metavar="DIR",
        help="where sweep.json and sweep.html go (default: here)",
    )

    parser = _Parser(prog="lrwidget", description="A learning-rate range test for Keras 3.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    demo = commands.add_parser(
        "demo", parents=[common], help="sweep a small network on scikit-learn's digits"
    )
    demo.add_argument("--seed", type=int, default=0, help="weights and data order (default 0)")
    demo.set_defaults(run=_demo, num_steps=400)

    find = commands.add_parser("find", parents=[common], help="sweep your own saved model")
    find.add_argument("model", type=Path, help="a compiled model saved as .keras")
    find.add_argument("data", type=Path, help="an .npz file with the inputs and targets")
    find.add_argument("--x-key", default="x", metavar="KEY", help="inputs in the .npz (default x)")
    find.add_argument("--y-key", default="y", metavar="KEY", help="targets in the .npz (default y)")
    find.add_argument(
        "--val-split",
        type=_fraction,
        default=0.0,
        metavar="FRACTION",
        help="share of samples, from the end, to measure the loss on "
        "(default 0: the training loss)",
    )
    find.set_defaults(run=_find)
    return parser


class Progress:
    """Sweep progress on a text stream, fed by ``find_lr``'s ``on_start``/``on_point`` hooks.

    On a terminal it is a rich progress bar (steps, LR, loss, rate, time left); elsewhere
    (logs, CI) a plain line at every tenth of the sweep. :meth:`close` shows the last step,
    also when the sweep stopped early.
    """

    def __init__(self, stream=None):
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self.total = 0
        self._started = 0.0
        self._last: tuple | None = None  # (step, lr, loss) of the latest point
        self._drawn = -1  # the step last printed (plain lines)
        self._bar = self._task = None
        self.label = "sweep"  # what runs: "member 2/4" in a family

    def start(self, lrs, settings=None):
        self.total = len(lrs)
        self._started = time.monotonic()
        self._last, self._drawn = None, -1
        if self.tty:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeRemainingColumn
            from rich.progress import Progress as Bar

            self._bar = Bar(
                TextColumn(self.label),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("lr {task.fields[lr]}  loss {task.fields[loss]}"),
                TextColumn("{task.fields[rate]}"),
                TimeRemainingColumn(),
                console=Console(file=self.stream),
                refresh_per_second=10,
            )
            self._task = self._bar.add_task("sweep", total=self.total, lr="-", loss="-", rate="")
            self._bar.start()

    def point(self, step, lr, loss):
        self._last = (step, lr, loss)
        done = step + 1
        if self._bar is not None:
            fields = self._fields()
            self._bar.update(self._task, completed=done, **fields)
        elif done * 10 // self.total > step * 10 // self.total or done == self.total:
            self._print()

    def _fields(self) -> dict:
        step, lr, loss = self._last
        elapsed = time.monotonic() - self._started
        rate = (step + 1) / elapsed if elapsed > 0 else 0.0
        return {"lr": format_lr(lr), "loss": f"{loss:.4g}", "rate": f"{rate:.0f} steps/s"}

    def _print(self):
        step = self._last[0]
        done, fields = step + 1, self._fields()
        elapsed = time.monotonic() - self._started
        eta = elapsed / done * (self.total - done)
        self._drawn = step
        self.stream.write(
            f"{self.label} {done:>{len(str(self.total))}}/{self.total}  lr {fields['lr']}  "
            f"loss {fields['loss']}  {fields['rate']}  ETA {eta:.0f} s\n"
        )
        self.stream.flush()

    def close(self):
        if self._bar is not None:
            self._bar.stop()
            self._bar = None
        elif self._last is not None and self._drawn != self._last[0]:
            self._print()


class TrialProgress(Progress):
    """:class:`Progress` fed by ``try_lrs``'s hooks: one bar over every trial's steps, the
    running trial's LR beside it."""

    def start(self, lrs, steps):
        self.lrs, self.steps = np.asarray(lrs), steps
        self.label = "trials"
        super().start(range(len(lrs) * steps))

    def point(self, trial, step, loss):
        super().point(trial * self.steps + step, float(self.lrs[trial]), loss)


def _sweep(job: Job, args) -> SweepResult | SweepFamily:
    model, x, y = job.model, job.x, job.y
    progress = Progress()
    kwargs = dict(
        batch_size=args.batch_size,
        start_lr=args.start_lr,
        end_lr=args.end_lr,
        num_steps=args.num_steps,
        validation_data=job.validation_data,
        on_start=progress.start,
        on_point=progress.point,
    )
    try:
        if args.vary:
            from .keras_family import find_lr_family

            vary = dict(args.vary)
            size = math.prod(len(values) for values in vary.values())

            def on_member(index, member):
                progress.close()
                progress.label = f"member {index + 1}/{size}"

            for name in set(vary) & set(kwargs):  # --vary batch_size=... beats --batch-size
                kwargs.pop(name)
            return find_lr_family(model, x, y, vary=vary, on_member=on_member, **kwargs)
        from .keras_sweep import find_lr

        return find_lr(model, x, y, **kwargs)
    finally:
        progress.close()


@contextmanager
def _quiet_start_up(quiet: bool):
    """TensorFlow's start-up log lines (oneDNN, CUDA probing) silenced: they are written to the
    process's stderr while its libraries load, before any log level applies, so that stream is
    set aside meanwhile (and shown if the import fails); later ones obey
    ``TF_CPP_MIN_LOG_LEVEL``, set to 3. Nothing is silenced when ``quiet`` is False (the user
    set ``TF_CPP_MIN_LOG_LEVEL`` themselves)."""
    if not quiet or "keras" in sys.modules:
        yield
        return
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as aside:
        os.dup2(aside.fileno(), 2)
        try:
            yield
        except BaseException:
            os.dup2(saved, 2)
            aside.seek(0)
            sys.stderr.write(aside.read().decode(errors="replace"))
            raise
        finally:
            os.dup2(saved, 2)
            os.close(saved)


def _import_keras(args):
    with _quiet_start_up(getattr(args, "quiet_tf", False)):
        import keras
    return keras


def _try(job: Job, swept: SweepResult | SweepFamily, args) -> Trials:
    """The trials after a sweep: its reading's LRs, or each family member's suggestion with
    that member's settings."""
    from .keras_trials import try_lrs

    progress = TrialProgress()
    lrs, settings, batch_size = swept, None, None
    if isinstance(swept, SweepFamily):
        plan = swept.trial_plan()  # the steps are --try's
        lrs, settings = plan["lrs"], plan["settings"]
        if not lrs:
            raise ValueError("no member of the family gave a suggestion: there is no LR to try")
        batch_size = swept.results[0].meta["batch_size"]
    try:
        return try_lrs(
            job.model,
            job.x,
            job.y,
            lrs=lrs,
            settings=settings,
            steps=args.try_steps,
            batch_size=batch_size or args.batch_size,
            validation_data=job.validation_data,
            on_start=progress.start,
            on_point=progress.point,
        )
    finally:
        progress.close()


def _demo(args) -> Job:
    """Digits as flat 64-pixel vectors, a small MLP, SGD with Nesterov momentum."""
    from sklearn.datasets import load_digits

    keras = _import_keras(args)

    x, y = load_digits(return_X_y=True)
    x, y = (x / 16.0).astype("float32"), y.astype("int32")
    rng = np.random.default_rng(args.seed)
    order = rng.permutation(len(x))
    x, y = x[order], y[order]
    keras.utils.set_random_seed(args.seed)
    model = keras.Sequential(
        [
            keras.Input((64,)),
            keras.layers.Dense(64, activation="relu"),
            keras.layers.Dense(10),
        ],
        name="digits_mlp",
    )
    model.compile(
        optimizer=keras.optimizers.SGD(0.01, momentum=0.9, nesterov=True),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    # The last 20 % is held out: the article reads the curve off the validation loss.
    cut = int(0.8 * len(x))
    return Job(model, x[:cut], y[:cut], validation_data=(x[cut:], y[cut:]))


def _load_npz(path: Path, x_key: str, y_key: str):
    if not path.is_file():
        raise UsageError(f"no such data file: {path}")
    with np.load(path, allow_pickle=False) as data:
        missing = [key for key in (x_key, y_key) if key not in data.files]
        if missing:
            raise UsageError(
                f"{path} has no array {missing[0]!r} (it has: {', '.join(data.files) or 'none'}); "
                "choose with --x-key/--y-key"
            )
        return data[x_key], data[y_key]


def _find(args) -> Job:
    if not args.model.is_file():
        raise UsageError(f"no such model file: {args.model}")
    x, y = _load_npz(args.data, args.x_key, args.y_key)
    validation = None
    if args.val_split:
        cut = len(x) - int(round(args.val_split * len(x)))
        if not 0 < cut < len(x):
            raise UsageError(f"--val-split {args.val_split:g} leaves no training or no val data")
        x, y, validation = x[:cut], y[:cut], (x[cut:], y[cut:])
    keras = _import_keras(args)  # only now: a usage error should not wait for TensorFlow

    # Only read: the sweep restores the model in memory, the file is never written.
    model = keras.models.load_model(args.model)
    return Job(model, x, y, validation_data=validation)


def _report(result: SweepResult, out_dir: Path, stream) -> None:
    """Print the reading of the curve and write ``sweep.json``, ``sweep.png`` and
    ``sweep.html`` (the interactive chart, with the picture in it for offline viewers)."""
    from ipywidgets.embed import dependency_state, embed_minimal_html

    from .chart import show

    cands = ", ".join(f"{c.lr:.2e} ({c.label}, loss {c.loss:.4g})" for c in result.candidates)
    sug = "none" if result.suggestion is None else f"{result.suggestion:.2e}"
    print(f"stopped: {result.stop_reason} after {len(result)} steps", file=stream)
    print(f"candidates: {cands or 'none'}", file=stream)
    print(f"suggestion: {sug} (rule {result.settings.rule})", file=stream)
    for note in result.notes:
        print(f"note: {note}", file=stream)

    out_dir.mkdir(parents=True, exist_ok=True)
    json_path = result.save(out_dir / "sweep.json")
    html_path = out_dir / "sweep.html"
    view = show(result)
    # Only this chart's widgets: the process may hold others (tests, a notebook kernel).
    png_path = view.save_image(out_dir / "sweep.png")
    embed_minimal_html(
        html_path, views=[view], title="lrwidget sweep", state=dependency_state([view])
    )
    # The interactive chart loads its scripts from CDNs; offline, the picture still shows.
    picture = base64.b64encode(png_path.read_bytes()).decode("ascii")
    page = html_path.read_text().replace(
        "<body>",
        '<body>\n<img alt="the sweep (static picture)" style="max-width: 100%" '
        f'src="data:image/png;base64,{picture}">',
        1,
    )
    html_path.write_text(page)
    print(f"wrote {json_path}\nwrote {png_path}\nwrote {html_path}", file=stream)


def _check_vary_args(args):
    if not args.vary:
        return
    names = [name for name, _ in args.vary]
    twice = sorted({name for name in names if names.count(name) > 1})
    if twice:
        raise UsageError(f"--vary {twice[0]} is given twice: give its values once, comma-separated")
    try:
        check_vary(dict(args.vary))
    except (TypeError, ValueError) as exc:
        raise UsageError(f"--vary: {exc}") from None


def _report_family(family: SweepFamily, out_dir: Path, stream) -> None:
    """One line per member, the pick, the spread and the notes; ``family.json`` and
    ``family.png`` (the members' curves overlaid)."""
    from .chart import show

    width = max(len(label) for label in family.labels) if family.results else 0
    for label, r in zip(family.labels, family.results, strict=True):
        head = r.smoothed[: r.useful]
        low = f"{np.nanmin(head):.4g}" if r.useful else "-"
        print(
            f"{label:<{width}}  suggestion {format_lr(r.suggestion):>7}  lowest loss {low}  "
            f"{r.stop_reason} after {len(r)} steps",
            file=stream,
        )
    pick = family.pick
    if pick is None:
        print("pick: none (no member's curve gives a suggestion)", file=stream)
    else:
        print(
            f"pick: {pick.label} at lr {format_lr(pick.lr)} (the lowest curve that "
            f"stays low to the largest LR: {format_lr(pick.reach)})",
            file=stream,
        )
    if family.spread is not None:
        print(f"spread: the members' suggestions lie x{family.spread:.2g} apart", file=stream)
    for note in family.notes:
        print(f"note: {note}", file=stream)
    out_dir.mkdir(parents=True, exist_ok=True)
    json_path = family.save(out_dir / "family.json")
    lines = [f"wrote {json_path}"]
    if family.results:
        lines.append(f"wrote {show(family).save_image(out_dir / 'family.png')}")
    print("\n".join(lines), file=stream)


def _report_trials(trials: Trials, out_dir: Path, stream) -> None:
    """One line per trial (its LR, score and outcome), the winner and the notes;
    ``trials.json`` and ``trials.png``."""
    from .image import trials_png

    width = max(len(label) for label in trials.labels)
    for label, score, outcome in zip(trials.labels, trials.scores, trials.outcomes, strict=True):
        shown = f"{score:.4g}" if np.isfinite(score) else "-"
        print(f"trial {label:<{width}}  {trials.score_kind} {shown:>8}  {outcome}", file=stream)
    if trials.winner is None:
        print("winner: none (no trial trained to its end)", file=stream)
    else:
        best = trials.labels[trials.best_index]
        ahead = ""
        if trials.winner_index != trials.best_index:
            ahead = f", the smallest LR within the noise of the best ({best})"
        elif trials.margin is not None:
            ahead = f", ahead of the next by {trials.margin:.2g}x its noise"
        print(f"winner: {trials.labels[trials.winner_index]}{ahead}", file=stream)
    for note in trials.notes:
        print(f"note: {note}", file=stream)
    out_dir.mkdir(parents=True, exist_ok=True)
    json_path = trials.save(out_dir / "trials.json")
    png_path = out_dir / "trials.png"
    png_path.write_bytes(trials_png(trials))
    print(f"wrote {json_path}\nwrote {png_path}", file=stream)


def main(argv=None) -> int:
    """Run the ``lrwidget`` command line and return its exit status."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        if args.end_lr <= args.start_lr:
            raise UsageError(f"--end-lr ({args.end_lr:g}) must be larger than --start-lr")
        _check_vary_args(args)
        if args.try_steps is not None and args.try_steps < MIN_STEPS:
            raise UsageError(f"--try {args.try_steps}: a trial needs at least {MIN_STEPS} steps")
        args.quiet_tf = "TF_CPP_MIN_LOG_LEVEL" not in os.environ
        job = args.run(args)
        result = _sweep(job, args)
        if isinstance(result, SweepFamily):
            _report_family(result, args.out_dir, sys.stdout)
        else:
            _report(result, args.out_dir, sys.stdout)
        if args.try_steps:
            _report_trials(_try(job, result, args), args.out_dir, sys.stdout)
    except SystemExit as exc:  # --help
        return exc.code or 0
    except UsageError as exc:
        print(f"lrwidget: error: {exc}", file=sys.stderr)
        return 2
    except (ValueError, TypeError, OSError) as exc:
        print(f"lrwidget: error: {' '.join(str(exc).split())}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("lrwidget: interrupted (the model was restored)", file=sys.stderr)
        return 130
    return 0
