"""The rows of controls: the finder's buttons above the chart, the picking row and the status
line under it.

:class:`RunControls` holds Run, Stop, Apply (and whatever the finder adds after them) and the
progress; :class:`PickControls` holds the candidate menu, the log slider, the "snap", "pick
a range" and "article's minima" boxes, the Save button and the status line. Each shows what
it is given and reports what the user does through the callbacks it was built with.
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Callable

import ipywidgets as widgets

# bqplot shows a tooltip in a box of its own (".bqplot_tooltip_div") that takes pointer events,
# and for a frame or two it stands where the last tooltip stood before it moves next to the
# pointer: over the neighbouring diamond, which then misses a quick click. No lrwidget tooltip
# is meant to be clicked: their boxes let the pointer through (plain CSS, no script; ":has"
# keeps every other bqplot figure's tooltips as they are).
TOOLTIP_CSS = (
    ".bqplot_tooltip_div:has(.lrwidget-tooltip), .bqplot_tooltip_div:has(.lrwidget-tooltip) "
    "* { pointer-events: none !important; }"
)
# In a notebook narrower than NARROW_PX (a small window with a side panel open) the menu and
# the slider each take a whole line and drop their descriptions, which the options' text and
# the slider's readout already say: the slider keeps a track and the menu its text.
NARROW_PX = 420
NARROW_CSS = (
    ".lrwidget-controls { container-type: inline-size; }"
    f"@container (max-width: {NARROW_PX}px) {{"
    " .lrwidget-menu, .lrwidget-slider { flex: 1 1 100% !important; min-width: 0 !important;"
    " max-width: 100% !important; }"
    " .lrwidget-menu > .widget-label, .lrwidget-slider > .widget-label { display: none; } }"
)
# A click anywhere on the LR chart's plot picks: its lines (the raw and the smoothed loss, the
# selection's rule, the range's edges and strip) let the pointer through to the plot area and
# to the handles under them (a range handle under the rule can be grabbed). Only the LR
# chart's: the trials panel's lines are clicked.
LINES_CSS = (
    ".lrwidget-figure g.curve > path.line, .lrwidget-figure g.curve > path.area, "
    ".lrwidget-figure g.curve > text.curve_label { pointer-events: none !important; }"
)
# The draggable triangles show a resize cursor: the handle is the last mark, the range handles
# the fourth from the end (lrwidget/figure.py's order; bqplot draws a legend group after them).
_MARK = ".lrwidget-figure svg.svg-figure > g > g:first-of-type > g:nth-last-child({}) path.dot"
HANDLES_CSS = f"{_MARK.format(2)}, {_MARK.format(5)} {{ cursor: ew-resize; }}"
STYLESHEET = f"<style>{TOOLTIP_CSS}{NARROW_CSS}{LINES_CSS}{HANDLES_CSS}</style>"


class PickControls:
    """The controls under the chart.

    Parameters
    ----------
    on_value : callable
        ``on_value(change)`` when the slider's value changes.
    on_menu : callable
        ``on_menu(change)`` when the candidate menu's ``index`` changes: an entry, not its LR,
        since two entries (two sweeps' candidates) may share an LR.
    on_range_box : callable
        ``on_range_box(change)`` when "pick a range" is ticked or cleared.
    on_save : callable
        ``on_save(button)`` on a click on Save image.
    on_foreign_write : callable
        Called after the front end wrote the slider's bounds, which only the chart sets.
    """

    def __init__(
        self,
        *,
        on_value: Callable[[dict], object],
        on_menu: Callable[[dict], object],
        on_range_box: Callable[[dict], object],
        on_save: Callable[[object], object],
        on_foreign_write: Callable[[dict], object],
    ):
        self.snap_box = widgets.Checkbox(
            description="snap to candidates", indent=False, layout=widgets.Layout(width="auto")
        )
        self.range_box = widgets.Checkbox(
            description="pick a range", indent=False, layout=widgets.Layout(width="auto")
        )
        self.range_box.observe(on_range_box, "value")
        self.minima_box = widgets.Checkbox(
            value=True,
            description="article's minima",
            indent=False,
            layout=widgets.Layout(width="auto"),
        )
        self.save_button = widgets.Button(
            description="Save image",
            icon="download",
            tooltip="Write a PNG of the chart into the kernel's working directory (the "
            "toolbar's save icon downloads one through the browser)",
            layout=widgets.Layout(width="auto"),
        )
        self.save_button.add_class("lrwidget-save")
        self.save_button.on_click(on_save)
        self.candidate_menu = widgets.Dropdown(
            description="candidate",
            options=[],
            value=None,
            layout=widgets.Layout(flex="0 1 auto", min_width="200px"),
        )
        self.candidate_menu.add_class("lrwidget-menu")
        self.candidate_menu.observe(on_menu, "index")
        self.slider = widgets.FloatLogSlider(
            description="LR",
            min=-7,
            max=1,
            step=0.05,  # an arrow key moves 1/20 of a decade (x1.12)
            value=1e-3,
            readout_format=".1e",
            continuous_update=False,
            disabled=True,  # until there is a range to pick in
            readout=False,  # until something is selected: 1e-3 here would be no one's choice
            layout=widgets.Layout(flex="1 1 300px", min_width="220px", max_width="480px"),
        )
        self.slider.add_class("lrwidget-slider")
        self.slider.observe(on_value, "value")
        self.slider.observe(on_foreign_write, ["min", "max", "base"])
        # Not shown: it only carries the stylesheets above.
        self.css = widgets.HTML(STYLESHEET, layout=widgets.Layout(display="none"))
        # HTML, not Label: a long message (an error's cause, a fix to type) wraps, not clips.
        self.status = widgets.HTML(layout=widgets.Layout(width="auto"))
        self.status.add_class("lrwidget-status")
        # Wraps on a narrow notebook instead of squeezing the slider to its knob.
        self.row = widgets.HBox(
            [
                *(self.candidate_menu, self.slider, self.snap_box, self.range_box),
                *(self.minima_box, self.save_button),
            ],
            layout=widgets.Layout(flex_flow="row wrap", align_items="center"),
        )
        self.row.add_class("lrwidget-controls")

    def widgets(self) -> tuple[widgets.Widget, ...]:
        """The controls :meth:`show` writes."""
        return (self.candidate_menu, self.slider, self.range_box)

    def show(self, lr, swept, options, range_picked: bool, entry: int | None = None):
        """Show the selection ``lr`` (None: nothing selected), the swept range (None: none
        yet), the candidate ``options`` (``(label, lr)`` pairs), whether a range is picked and
        which option is chosen (``entry``; None: the first at ``lr``, if any). Writes only what
        differs."""
        slider = self.slider
        if swept is not None:
            bounds = (math.log10(swept[0]), math.log10(swept[1]), 10.0)
            if (slider.min, slider.max, slider.base) != bounds:
                # Validated together at the end, so a bound never crosses the old other one.
                with slider.hold_trait_notifications():
                    slider.min, slider.max, slider.base = bounds
        # No number to read when nothing is picked; nothing to slide before a range.
        slider.readout = lr is not None
        slider.disabled = swept is None
        if lr is not None:
            slider.value = lr
        self.range_box.value = range_picked
        menu = self.candidate_menu
        options = tuple(options)
        if tuple(menu.options) != options:
            # As wide as its longest option (an overlay adds whose it is), not truncated.
            longest = max((len(label) for label, _ in options), default=0)
            menu.layout.min_width = f"min(100% - 4px, max(200px, calc({longest}ch + 110px)))"
            menu.options = options
        if entry is None or not (0 <= entry < len(options)) or options[entry][1] != lr:
            entry = next((k for k, (_, value) in enumerate(options) if value == lr), None)
        menu.index = entry

    def set_status(self, text: str, detail: str | None = None):
        """Show ``text`` in the status line (wrapped; ``detail`` on hover)."""
        title = "" if detail is None else f' title="{html.escape(detail)}"'
        self.status.value = (
            f'<div style="white-space: normal; line-height: 1.4"{title}>{html.escape(text)}</div>'
        )

    @property
    def status_text(self) -> str:
        """What the status line says, as plain text."""
        return html.unescape(re.sub(r"<[^>]+>", "", self.status.value))


REPLACE_SCHEDULE = "Replace schedule"  # Apply's label once it has explained a schedule
TRY_TIP = (
    "Train a short run at each of a few LRs the sweep proposes, from the model's state, and "
    "select the one that trained best (the model is put back afterwards)"
)


def button(label: str, icon: str, css: str, style: str, on_click) -> widgets.Button:
    """A button with a CSS class (the browser tests' hook) and its click handler."""
    b = widgets.Button(description=label, icon=icon, button_style=style)
    b.add_class(css)
    b.on_click(on_click)
    return b


class RunControls:
    """The row above the chart: Run, Stop, Apply, the progress bar and its text.

    Parameters
    ----------
    on_run, on_stop, on_apply, on_try : callable
        The buttons' click handlers (``handler(button)``).
    stop_other : str
        Run's label while another finder's sweep holds the model (Run then stops that first).
    """

    def __init__(self, *, on_run, on_stop, on_apply, on_try, stop_other: str):
        self.stop_other = stop_other
        self.run_button = button("Run", "play", "lrwidget-run", "primary", on_run)
        self.stop_button = button("Stop", "stop", "lrwidget-stop", "warning", on_stop)
        self.apply_button = button("Apply", "check", "lrwidget-apply", "success", on_apply)
        self.try_button = button("Try", "flask", "lrwidget-try", "info", on_try)
        self.try_button.tooltip = TRY_TIP
        self.progress = widgets.IntProgress(value=0, min=0, max=1, description="steps")
        # A fixed width: the row wraps (or not) the same for "12 / 300 · ETA 9 s" and
        # "300 / 300 · completed", so the chart does not jump between states.
        # Wide enough for a family's "member 2/3 · 1500 / 1500 · completed".
        self.progress_text = widgets.Label(value="", layout=widgets.Layout(width="24em"))
        self.row = widgets.HBox(
            [self.run_button, self.stop_button, self.apply_button, self.try_button]
            + [self.progress, self.progress_text],
            # Wraps rather than clipping the progress text on a narrow notebook.
            layout=widgets.Layout(flex_flow="row wrap", align_items="center"),
        )

    @property
    def stop_other_offered(self) -> bool:
        return self.run_button.description == self.stop_other

    def offer_stop_other(self, on: bool):
        """Run offers to stop another finder's sweep first (or is plain Run again)."""
        with self.run_button.hold_sync():
            self.run_button.description = self.stop_other if on else "Run"
            self.run_button.button_style = "danger" if on else "primary"

    @property
    def replace_offered(self) -> bool:
        return self.apply_button.description == REPLACE_SCHEDULE

    def offer_replace(self, on: bool):
        """Apply offers to replace the optimizer's schedule (or is plain Apply again)."""
        with self.apply_button.hold_sync():
            self.apply_button.description = REPLACE_SCHEDULE if on else "Apply"
            self.apply_button.button_style = "danger" if on else "success"

    def show_running(self, running: bool, can_apply: bool, can_try: bool):
        """Run while nothing runs, Stop while something does, Apply with a pick, Try after a
        sweep."""
        self.run_button.disabled = running
        self.stop_button.disabled = not running
        self.apply_button.disabled = running or not can_apply
        self.try_button.disabled = running or not can_try

    def draw_progress(self, done: int, total: int, prefix: str = "", after: str | None = None):
        """``prefix done / total``, then ``after`` (the time left, or why it ended)."""
        with self.progress.hold_sync(), self.progress_text.hold_sync():
            self.progress.max = max(total, 1)
            self.progress.value = done
            text = f"{prefix}{done} / {total}"
            self.progress_text.value = text if after is None else f"{text} · {after}"
