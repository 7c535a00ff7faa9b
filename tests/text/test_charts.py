"""bot.text.charts: the insights PNG and the caption's headline figures."""

from __future__ import annotations

import asyncio
import functools
import io
import math
import warnings
from datetime import UTC, date, datetime, timedelta

import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.lines import Line2D
from PIL import Image

from bot.runtime.i18n import Catalogue
from bot.text.chart_drawing import insights_figure, render_insights_chart
from bot.text.charts import ChartRenderer, has_data, headline_figures

DAYS = [date(2026, 11, 1) + timedelta(days=i) for i in range(14)]
SERIES = {
    "impressions": [(d, 1000 + 150 * i) for i, d in enumerate(DAYS)],
    "engagements": [(d, 40 + (i % 5) * 7) for i, d in enumerate(DAYS)],
}

CATALOGUE = Catalogue.load()
render = functools.partial(render_insights_chart, catalogue=CATALOGUE)
figure = functools.partial(insights_figure, catalogue=CATALOGUE)


def decode(png: bytes) -> Image.Image:
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    image = Image.open(io.BytesIO(png))
    image.load()  # decodes the whole image, not just the header
    return image


def texts_of(fig: Figure) -> list[str]:
    return [t.get_text() for t in fig.findobj(lambda a: hasattr(a, "get_text") and a.get_text())]


def lines_of(fig: Figure) -> dict[str, Line2D]:
    ax = fig.axes[0]
    return {line.get_label(): line for line in ax.get_lines()}


@pytest.mark.parametrize("size", [(1280, 720), (720, 1280), (1080, 1080), (333, 777), (1001, 499)])
def test_png_decodes_with_the_expected_size(size):
    png = render(SERIES, title="Instagram — last 14 days", x_label="Date", y_label="Count", size_px=size)
    image = decode(png)
    assert image.format == "PNG"
    assert image.size == size


def test_default_size_is_1280_by_720():
    assert decode(render(SERIES, title="t", x_label="x", y_label="y")).size == (1280, 720)


def test_one_line_per_metric_with_title_labels_and_legend():
    fig = figure(SERIES, title="Instagram", x_label="Date", y_label="Count")
    assert set(lines_of(fig)) == {"impressions", "engagements"}
    assert fig.get_suptitle() == "Instagram"
    ax = fig.axes[0]
    assert ax.get_xlabel() == "Date" and ax.get_ylabel() == "Count"
    assert fig.legends, "a legend names the lines"
    assert ax.xaxis.get_major_formatter() is not None


def test_missing_metrics_are_noted_not_drawn_as_zero():
    series = {**SERIES, "reach": [], "saves": None}
    fig = figure(series, title="t", x_label="x", y_label="y", missing=["followers"])
    drawn = lines_of(fig)
    assert set(drawn) == {"impressions", "engagements"}
    note = fig.axes[0].get_title()
    assert note == "Not reported by Resont: followers, reach, saves"
    for line in drawn.values():
        assert min(line.get_ydata()) > 0  # nothing flattened to zero


def test_missing_note_in_persian_comes_from_the_catalogue():
    fig = figure(SERIES, title="آمار", x_label="تاریخ", y_label="تعداد", missing=["دسترسی"], lang="fa")
    note = fig.axes[0].get_title()
    assert "رزونت" in note and "\u2068دسترسی\u2069" in note


def test_none_values_are_gaps_not_zeros():
    series = {"reach": [(DAYS[0], 10), (DAYS[1], None), (DAYS[2], 30), (DAYS[3], float("nan"))]}
    line = lines_of(figure(series, title="t", x_label="x", y_label="y"))["reach"]
    ys = list(line.get_ydata())
    assert ys[0] == 10 and ys[2] == 30
    assert math.isnan(ys[1]) and math.isnan(ys[3])


def test_points_are_sorted_by_date():
    series = {"reach": [(DAYS[2], 3), (DAYS[0], 1), (DAYS[1], 2)]}
    line = lines_of(figure(series, title="t", x_label="x", y_label="y"))["reach"]
    assert list(line.get_ydata()) == [1, 2, 3]


def test_no_data_still_gives_an_image_that_says_so():
    series = {"reach": [], "impressions": [(DAYS[0], None)]}
    assert not has_data(series)
    fig = figure(series, title="Nothing here", x_label="x", y_label="y")
    assert not fig.axes[0].get_lines()
    assert "No data for this period" in texts_of(fig)
    png = render({}, title="Nothing here", x_label="x", y_label="y", size_px=(640, 480))
    assert decode(png).size == (640, 480)


def test_single_point_and_intraday_datetimes():
    one = render({"reach": [(DAYS[0], 5)]}, title="t", x_label="x", y_label="y")
    assert decode(one).size == (1280, 720)
    hours = [(datetime(2026, 11, 1, h, tzinfo=UTC), h * 2.5) for h in range(0, 24, 3)]
    png = render({"reach": hours}, title="t", x_label="x", y_label="y", lang="fa", tz=UTC)
    assert decode(png).size == (1280, 720)


def _missing_glyph_warnings(caught: list[warnings.WarningMessage]) -> list[str]:
    return [str(w.message) for w in caught if "missing from font" in str(w.message)]


def test_persian_title_and_labels_render_without_missing_glyphs():
    series = {"نمایش": SERIES["impressions"], "تعامل": SERIES["engagements"]}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        png = render(
            series,
            title="آمار اینستاگرام \u2068@resont_team\u2069 — ۱۴ روز گذشته",
            x_label="تاریخ",
            y_label="تعداد",
            missing=["ذخیره‌ها", "دسترسی"],
            lang="fa",
        )
    assert decode(png).size == (1280, 720)
    assert _missing_glyph_warnings(caught) == []


def test_persian_axis_uses_jalali_dates_and_persian_digits():
    fig = figure(SERIES, title="t", x_label="x", y_label="y", lang="fa")
    fig.canvas.draw()
    ax = fig.axes[0]
    x_ticks = [t.get_text() for t in ax.get_xticklabels() if t.get_text()]
    y_ticks = [t.get_text() for t in ax.get_yticklabels() if t.get_text()]
    assert any("آبان" in t for t in x_ticks), x_ticks  # November 2026 is Aban/Azar 1405
    assert all(not any(c.isascii() and c.isdigit() for c in t) for t in x_ticks + y_ticks)


def test_persian_text_is_shaped():
    """matplotlib ≥ 3.11 shapes Arabic script: five joined behs are far narrower than five
    isolated ones. Fails if matplotlib is downgraded below the version with libraqm layout."""
    fig = Figure()
    renderer = FigureCanvasAgg(fig).get_renderer()
    font = FontProperties(size=20)

    def width(text: str) -> float:
        return renderer.get_text_width_height_descent(text, font, ismath=False)[0]

    assert width("ببببب") < 0.7 * 5 * width("ب")


def test_odd_text_does_not_crash():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the emoji and CJK glyphs are missing: boxes, not errors
        png = render(
            {"$revenue_1": SERIES["impressions"], "😀 likes": SERIES["engagements"]},
            title="Costs $5 and $6 — 中文 😀",
            x_label="x_label",
            y_label="a^b",
            lang="fa",
        )
    assert decode(png).size == (1280, 720)


def test_bad_arguments():
    with pytest.raises(ValueError):
        render(SERIES, title="t", x_label="x", y_label="y", size_px=(10, 10))
    with pytest.raises(TypeError):
        render({"reach": [("2026-11-01", 1)]}, title="t", x_label="x", y_label="y")


async def test_safe_to_render_from_worker_threads():
    renderer = ChartRenderer()

    async def one(i: int) -> bytes:
        return await asyncio.to_thread(
            functools.partial(renderer.render, catalogue=CATALOGUE),
            SERIES,
            title=f"chart {i}",
            x_label="x",
            y_label="y",
            size_px=(400 + i, 300),
        )

    pngs = await asyncio.gather(*(one(i) for i in range(4)))
    assert [decode(png).size for png in pngs] == [(400 + i, 300) for i in range(4)]


def test_headline_figures():
    figures = headline_figures({**SERIES, "reach": []})
    assert set(figures) == {"impressions", "engagements"}
    impressions = figures["impressions"]
    assert impressions["total"] == sum(1000 + 150 * i for i in range(14))
    assert impressions["last"] == 1000 + 150 * 13
    assert impressions["last_at"] == DAYS[-1]
    assert impressions["peak"] == 1000 + 150 * 13 and impressions["peak_at"] == DAYS[-1]
    assert impressions["points"] == 14
    assert impressions["change"] is None and impressions["change_pct"] is None


def test_headline_change_against_the_previous_period():
    previous = {"impressions": [(d - timedelta(days=14), 1000) for d in DAYS]}
    figures = headline_figures(SERIES, previous=previous)
    total = sum(1000 + 150 * i for i in range(14))
    assert figures["impressions"]["change"] == total - 14_000
    assert figures["impressions"]["change_pct"] == round((total - 14_000) / 14_000 * 100, 1)
    assert figures["engagements"]["change"] is None  # no previous figures for it


def test_headline_cumulative_metric_and_gaps():
    followers = [(DAYS[0], 500), (DAYS[1], None), (DAYS[2], 520), (DAYS[3], 530)]
    figures = headline_figures({"followers": followers}, cumulative={"followers"})
    assert figures["followers"]["total"] == 530
    assert figures["followers"]["change"] == 30
    assert figures["followers"]["change_pct"] == 6.0
    assert figures["followers"]["points"] == 3
    zero_base = headline_figures({"x": [(DAYS[0], 1)]}, previous={"x": [(DAYS[0], 0)]})
    assert zero_base["x"]["change"] == 1 and zero_base["x"]["change_pct"] is None
