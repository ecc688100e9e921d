"""The console after a spoken turn at 1400 px and 700 px of widget width, in JupyterLab's light and dark
themes: the layout fits the width, every text and badge is readable (WCAG contrast), and SHOT=1 keeps the
four screenshots in docs/ for the README."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import REPO, NotebookOpener, NotebookPage
from test_browser_widget import (
    WIDGET_CELL,
    connect_by_click,
    spoken_turn_played_out,
)

pytestmark = pytest.mark.browser

THEMES = {"light": "JupyterLab Light", "dark": "JupyterLab Dark"}
WIDTHS_PX = [1400, 700]
WIDE_VIEWPORT = {"width": 1900, "height": 1000}  # room for a 1400 px console beside JupyterLab's sidebar
BODY_TEXT_CONTRAST = 4.5  # WCAG 2 AA, normal text
LARGE_TEXT_CONTRAST = 3.0  # WCAG 2 AA, text >= 24 px, or >= 18.66 px bold

# Every visible text of the console (text nodes, and the values of fields) with its colour and the colour
# behind it, both composited to opaque sRGB by painting them on a canvas (so any CSS colour syntax works,
# color-mix() included) over the ancestors' backgrounds, and the element's opacity applied.
TEXTS_JS = """(root) => {
  const canvas = document.createElement('canvas'); canvas.width = canvas.height = 1;
  const g = canvas.getContext('2d', { willReadFrequently: true });
  const paint = (layers) => {  // layers: [cssColour, alpha multiplier] bottom to top; returns [r, g, b]
    g.globalAlpha = 1; g.fillStyle = '#fff'; g.fillRect(0, 0, 1, 1);
    for (const [c, a] of layers) {
      g.globalAlpha = a; g.fillStyle = '#000'; g.fillStyle = c; g.fillRect(0, 0, 1, 1);
    }
    return [...g.getImageData(0, 0, 1, 1).data.slice(0, 3)];
  };
  const backgrounds = (el) => {  // background colours from the page down to el, with opacities
    const chain = [];
    for (let e = el; e; e = e.parentElement) chain.unshift(e);
    const layers = [];
    let opacity = 1;
    for (const e of chain) {
      const s = getComputedStyle(e);
      opacity *= +s.opacity;
      const bg = s.backgroundColor;
      if (bg && bg !== 'transparent' && bg !== 'rgba(0, 0, 0, 0)') layers.push([bg, 1]);
    }
    return { layers, opacity };
  };
  const visible = (el) => el.getClientRects().length > 0 && getComputedStyle(el).visibility !== 'hidden';
  const out = [];
  const seen = new Set();
  const add = (el, text) => {
    if (seen.has(el) || !visible(el) || el.closest(':disabled, [aria-disabled="true"]')) return;
    seen.add(el);
    const s = getComputedStyle(el);
    const { layers, opacity } = backgrounds(el);
    const bg = paint(layers);
    const fg = paint([...layers, [s.color, opacity]]);
    out.push({ where: el.dataset.testid || el.className || el.tagName, text: text.slice(0, 40),
               fg, bg, px: parseFloat(s.fontSize), bold: +s.fontWeight >= 700 });
  };
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    if (n.textContent.trim()) add(n.parentElement, n.textContent.trim());
  }
  const fields = 'input[type=text], input[type=number], input:not([type]), textarea, select';
  for (const f of root.querySelectorAll(fields)) {
    if (f.value) add(f, f.value);
  }
  return { root: paint(backgrounds(root).layers), texts: out };
}"""


def _luminance(rgb: list[int]) -> float:
    """WCAG relative luminance of an sRGB colour."""
    lin = [(c / 255) / 12.92 if c / 255 <= 0.04045 else ((c / 255 + 0.055) / 1.055) ** 2.4 for c in rgb]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def contrast(fg: list[int], bg: list[int]) -> float:
    """WCAG contrast ratio of two opaque sRGB colours (1 to 21)."""
    hi, lo = sorted([_luminance(fg), _luminance(bg)], reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def test_contrast_formula() -> None:
    """The contrast helper gives WCAG's figures: black on white 21:1, #767676 on white about 4.54:1."""
    assert round(contrast([0, 0, 0], [255, 255, 255]), 1) == 21.0
    assert round(contrast([0x76] * 3, [255] * 3), 2) == 4.54


CHANGE_THEME_JS = """async (theme) => {
  await window.jupyterapp.commands.execute('apputils:change-theme', { theme });
}"""


@pytest.fixture(scope="module")
def spoken(open_module_notebook: NotebookOpener) -> Iterator[NotebookPage]:
    """A console after a spoken turn (log, reply and audio bar filled), in a window with room for 1400 px."""
    nb = open_module_notebook([WIDGET_CELL])
    nb.page.set_viewport_size(WIDE_VIEWPORT)
    nb.run_all()
    connect_by_click(nb)
    spoken_turn_played_out(nb)
    yield nb
    # The theme is a user setting of the shared server: later tests expect the light default.
    nb.page.evaluate(CHANGE_THEME_JS, THEMES["light"])
    nb.page.wait_for_function("() => document.body.dataset.jpThemeLight === 'true'")


def _shot_path(theme: str, width: int, tmp_path: Path) -> Path:
    """docs/console-<theme>-<width>.png with SHOT=1, else a temporary file."""
    name = f"console-{theme}-{width}.png"
    return REPO / "docs" / name if os.environ.get("SHOT") == "1" else tmp_path / name


@pytest.mark.parametrize("theme", list(THEMES))
@pytest.mark.parametrize("width", WIDTHS_PX)
def test_console_screenshot_is_laid_out_and_readable(
    spoken: NotebookPage, theme: str, width: int, tmp_path: Path
) -> None:
    """At this width and theme: one column at 700 px and two at 1400, the theme's background, and every
    text and badge at WCAG AA contrast against what is behind it; the screenshot is kept with SHOT=1."""
    page = spoken.page
    page.evaluate(CHANGE_THEME_JS, THEMES[theme])
    light = "true" if theme == "light" else "false"
    page.wait_for_function(f"() => document.body.dataset.jpThemeLight === '{light}'")
    root = page.locator(".rt-root")
    root.evaluate("(el, w) => { el.style.width = `${w}px`; }", width)
    page.wait_for_timeout(300)  # the theme's stylesheet and the container query settle
    form, log = (page.get_by_test_id(t).bounding_box() for t in ("rt-form", "rt-log"))
    box = root.bounding_box()
    assert box is not None
    assert form is not None
    assert log is not None
    assert abs(box["width"] - width) <= 1, box
    if width < 900:
        assert log["y"] >= form["y"] + form["height"] - 1, (form, log)  # one column: the log below
    else:
        assert log["x"] >= form["x"] + form["width"], (form, log)  # two columns: the log beside the form

    seen: dict[str, Any] = root.evaluate(TEXTS_JS)
    texts: list[dict[str, Any]] = seen["texts"]
    assert len(texts) > 20, texts  # status, badges, form labels, reply, log rows, audio bar
    assert (_luminance(seen["root"]) < 0.05) == (theme == "dark"), seen["root"]
    failing = []
    for t in texts:
        large = t["px"] >= 24 or (t["bold"] and t["px"] >= 18.66)
        ratio = contrast(t["fg"], t["bg"])
        if ratio < (LARGE_TEXT_CONTRAST if large else BODY_TEXT_CONTRAST):
            failing.append(f"{ratio:.2f}:1 {t['where']!r} {t['text']!r} fg={t['fg']} bg={t['bg']}")
    assert not failing, "\n".join(failing)

    path = _shot_path(theme, width, tmp_path)
    root.scroll_into_view_if_needed()
    root.screenshot(path=str(path))
    assert path.stat().st_size > 10_000
