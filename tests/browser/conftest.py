"""Real-browser harness: one JupyterLab server and one headless Chromium shared by every browser test.

The recipe, flags and pitfalls are those of docs/testing.md: the system ``chromium`` (never ``playwright
install``), a free port with ``port_retries=0``, ``--allow-root``, a throwaway ``HOME`` for the server and
the browser (plus ``XDG_RUNTIME_DIR`` for libpulse), the kernel-idle signal read through
``window.jupyterapp`` (the DOM execution indicator says "idle" before a kernel exists), and notebooks
generated into a temporary directory, never the repository's (JupyterLab autosaves outputs into them).

A missing browser skips these tests with a loud reason, and fails them when ``RTWIDGET_REQUIRE_BROWSER=1``
(CI sets it after installing Chromium).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import nbformat
import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

TOKEN = "rtwidget-browser-test"
# One scalable unit for every browser wait (docs/testing.md: ~14 s per test on this kind of machine).
TIMEOUT_MS = int(float(os.environ.get("RTWIDGET_BROWSER_TIMEOUT_S", "60")) * 1000)
CHROME_ARGS = [
    "--autoplay-policy=no-user-gesture-required",  # AudioContext runs without a click (pitfall 10)
    "--use-fake-ui-for-media-stream",  # auto-accept the microphone prompt (pitfall 11)
    "--use-fake-device-for-media-stream",  # a fake microphone instead of real hardware
]
VIEWPORT = {"width": 1280, "height": 900}
REPO = Path(__file__).resolve().parents[2]

# The notebook panel showing PATH (JupyterLab restores other tabs from its workspace, so the current
# widget is not necessarily ours).
_PANEL = (
    "const shell = window.jupyterapp?.shell;"  # undefined until JupyterLab has started
    " const panel = shell ? [...shell.widgets('main')].find((w) => w.context?.path === path) : undefined;"
)
# Pitfall 5: only the kernel's own status is a trustworthy "ready" signal.
KERNEL_IDLE_JS = f"""(path) => {{
  {_PANEL}
  const k = panel?.sessionContext?.session?.kernel;
  return k?.status === 'idle' && k?.connectionStatus === 'connected';
}}"""
RUN_ALL_JS = f"""async (path) => {{
  {_PANEL}
  window.jupyterapp.shell.activateById(panel.id);
  await window.jupyterapp.commands.execute('notebook:run-all-cells');
}}"""
# Every code cell has an execution count and the kernel is idle again: the whole notebook ran.
ALL_CELLS_RAN_JS = f"""(path) => {{
  {_PANEL}
  const k = panel?.sessionContext?.session?.kernel;
  if (!k || k.status !== 'idle') return false;
  const cells = panel.content.model.cells;
  for (let i = 0; i < cells.length; i++) {{
    const c = cells.get(i);
    if (c.type === 'code' && c.sharedModel.source.trim() && c.executionCount == null) return false;
  }}
  return true;
}}"""
CELL_ERRORS_JS = f"""(path) => {{
  {_PANEL}
  const cells = panel.content.model.cells;
  const errors = [];
  for (let i = 0; i < cells.length; i++) {{
    const c = cells.get(i);
    if (c.type !== 'code') continue;
    for (const o of c.outputs.toJSON()) {{
      if (o.output_type !== 'error') continue;
      errors.push(`cell ${{i}}: ${{o.ename}}: ${{o.evalue}}\\n${{o.traceback.join('\\n')}}`);
    }}
  }}
  return errors;
}}"""
# Runs code on the notebook's kernel outside any cell; returns its stdout, last value and error.
KERNEL_EXEC_JS = f"""async ([path, code]) => {{
  {_PANEL}
  const k = panel.sessionContext.session.kernel;
  const future = k.requestExecute({{ code, store_history: false, silent: false }});
  let out = '', value = null, error = null;
  future.onIOPub = (msg) => {{
    const t = msg.header.msg_type, c = msg.content;
    if (t === 'stream') out += c.text;
    else if (t === 'execute_result') value = c.data['text/plain'];
    else if (t === 'error') error = `${{c.ename}}: ${{c.evalue}}\\n${{c.traceback.join('\\n')}}`;
  }};
  await future.done;
  return {{ out, value, error }};
}}"""
SAVE_JS = f"""async (path) => {{ {_PANEL} await panel.context.save(); }}"""
SHUTDOWN_JS = f"""async (path) => {{ {_PANEL} await panel?.sessionContext.shutdown(); }}"""
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _chromium() -> str | None:
    """The browser to drive: $CHROMIUM if set (empty or missing means none), else Debian's chromium."""
    if "CHROMIUM" in os.environ:
        return shutil.which(os.environ["CHROMIUM"]) if os.environ["CHROMIUM"] else None
    return shutil.which("chromium") or shutil.which("chromium-browser")


def _no_browser(reason: str) -> None:
    """Skip loudly on a developer machine; fail in CI (RTWIDGET_REQUIRE_BROWSER=1)."""
    message = f"BROWSER TESTS NOT RUN: {reason}"
    if os.environ.get("RTWIDGET_REQUIRE_BROWSER") == "1":
        pytest.fail(message + " (RTWIDGET_REQUIRE_BROWSER=1 makes this a failure)", pytrace=False)
    pytest.skip(message + " (install Debian's `chromium`; set RTWIDGET_REQUIRE_BROWSER=1 to fail instead)")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _isolated_home(home: Path) -> dict[str, str]:
    """Environment with a throwaway HOME (pitfall 7) and no real API key reaching the kernel."""
    settings = home / ".jupyter/lab/user-settings/@jupyterlab/apputils-extension"
    settings.mkdir(parents=True, exist_ok=True)
    # Pitfall 6: the "official Jupyter news?" toast would cover the widget in screenshots.
    (settings / "notification.jupyterlab-settings").write_text(
        json.dumps({"fetchNews": "false", "checkForUpdates": False})
    )
    # Save widget state into the notebook on save, as a user can switch on: the secret test reads it.
    widgets = home / ".jupyter/lab/user-settings/@jupyter-widgets/jupyterlab-manager"
    widgets.mkdir(parents=True, exist_ok=True)
    (widgets / "plugin.jupyterlab-settings").write_text(json.dumps({"saveState": True}))
    env = {k: v for k, v in os.environ.items() if k != "OPENAI_API_KEY"}
    env.update(HOME=str(home), XDG_RUNTIME_DIR=str(home), PYTHONUNBUFFERED="1")
    return env


@dataclass
class Lab:
    """A running Jupyter server: JupyterLab (``app="lab"``) or Notebook 7 (``app="notebook"``)."""

    base_url: str
    root: Path
    home: Path
    log_path: Path
    app: str = "lab"

    def url(self, notebook: Path) -> str:
        """Address of a notebook under the server's root, with the token."""
        path = notebook.relative_to(self.root).as_posix()
        if self.app == "notebook":  # Notebook 7: one document per page, no workspace to reset
            return f"{self.base_url}/notebooks/{path}?token={TOKEN}"
        # ?reset: start from an empty workspace, not the tabs an earlier test left open.
        return f"{self.base_url}/lab/tree/{path}?reset&token={TOKEN}"

    def log_tail(self, n_chars: int = 4000) -> str:
        """The end of the server's log, for failure messages."""
        return self.log_path.read_text(errors="replace")[-n_chars:]


@pytest.fixture(scope="session")
def chromium_path() -> str:
    """The system Chromium, or a loud skip (a failure under RTWIDGET_REQUIRE_BROWSER=1)."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError as exc:
        _no_browser(f"playwright is not importable ({exc})")
    path = _chromium()
    if path is None:
        _no_browser("no Chromium found (`chromium` on PATH, or $CHROMIUM)")
    assert path is not None
    return path


@contextlib.contextmanager
def _jupyter_server(base: Path, app: str, app_flags: list[str]) -> Iterator[Lab]:
    """Start `python -m <app>` on 127.0.0.1 (free port, token, isolated HOME); stop it afterwards."""
    root, home = base / "root", base / "home"
    root.mkdir()
    home.mkdir()
    env = _isolated_home(home)
    port = _free_port()
    cmd = [
        sys.executable, "-m", "jupyterlab" if app == "lab" else "notebook", "--no-browser", "--allow-root",
        f"--IdentityProvider.token={TOKEN}", "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0", f"--ServerApp.root_dir={root}", *app_flags,
    ]  # fmt: skip
    log_path = home / "jupyter.log"
    with log_path.open("w") as log:
        proc = subprocess.Popen(cmd, cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT)
    server = Lab(f"http://127.0.0.1:{port}", root, home, log_path, app)
    try:
        deadline = time.monotonic() + TIMEOUT_MS / 1000
        while True:
            try:
                with urllib.request.urlopen(f"{server.base_url}/api/status?token={TOKEN}", timeout=1):
                    break
            except OSError:
                if proc.poll() is not None:
                    pytest.fail(f"jupyter {app} exited with {proc.returncode}:\n{server.log_tail()}")
                if time.monotonic() > deadline:
                    pytest.fail(f"jupyter {app} did not answer in time:\n{server.log_tail()}")
                time.sleep(0.1)  # polling a port: there is no event to await
        yield server
    finally:
        proc.terminate()  # SIGTERM: the server shuts its kernels down too
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="session")
def lab(tmp_path_factory: pytest.TempPathFactory, chromium_path: str) -> Iterator[Lab]:
    """JupyterLab on 127.0.0.1 (free port, token, isolated HOME), shut down after the session."""
    flags = ["--LabApp.expose_app_in_browser=True", "--LabApp.news_url=None"]
    with _jupyter_server(tmp_path_factory.mktemp("lab"), "lab", flags) as server:
        yield server


@pytest.fixture(scope="session")
def notebook7(tmp_path_factory: pytest.TempPathFactory, chromium_path: str) -> Iterator[Lab]:
    """Notebook 7 (`python -m notebook`) with the same isolation, shut down after the session.

    Notebook 7 is a JupyterLab-based app: with ``expose_app_in_browser`` its page has the same
    ``window.jupyterapp`` (commands, ``shell.widgets('main')``, ``activateById``), so the helpers that read
    the notebook panel work in both; each notebook opens in its own page at ``/notebooks/<path>``.
    """
    # No news_url trait here (it is LabApp's); the news toast is off through the HOME's settings file.
    flags = ["--JupyterNotebookApp.expose_app_in_browser=True"]
    with _jupyter_server(tmp_path_factory.mktemp("notebook7"), "notebook", flags) as server:
        yield server


@pytest.fixture(scope="session")
def browser(tmp_path_factory: pytest.TempPathFactory, chromium_path: str) -> Iterator[Browser]:
    """Headless system Chromium with the audio/microphone flags of docs/testing.md, its own HOME."""
    from playwright.sync_api import sync_playwright

    home = tmp_path_factory.mktemp("browser-home")
    with sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=chromium_path,
            headless=True,
            args=CHROME_ARGS,
            env=_isolated_home(home),
        )
        try:
            yield b
        finally:
            b.close()


class NotebookPage:
    """A notebook open in JupyterLab, with helpers to run it and to talk to its kernel."""

    def __init__(self, page: Page, path: str, path_on_disk: Path) -> None:
        self.page = page
        self.path = path  # relative to the server root, as JupyterLab names it
        self.path_on_disk = path_on_disk

    def wait_kernel_idle(self) -> None:
        """Wait until the notebook's kernel exists, is connected and idle."""
        self.page.wait_for_function(KERNEL_IDLE_JS, arg=self.path, timeout=TIMEOUT_MS)

    def run_all(self) -> None:
        """Run every cell, wait until all have run, and fail with the traceback if one raised."""
        self.wait_kernel_idle()
        self.page.evaluate(RUN_ALL_JS, self.path)
        self.page.wait_for_function(ALL_CELLS_RAN_JS, arg=self.path, timeout=TIMEOUT_MS)
        self.assert_no_cell_errors()

    def cell_errors(self) -> list[str]:
        """Error outputs of the notebook's cells (ANSI colours removed)."""
        errors: list[str] = self.page.evaluate(CELL_ERRORS_JS, self.path)
        return [_ANSI.sub("", e) for e in errors]

    def assert_no_cell_errors(self) -> None:
        """Fail with the cells' tracebacks if any cell raised."""
        errors = self.cell_errors()
        assert not errors, "\n\n".join(errors)

    def kernel(self, code: str) -> str:
        """Run code on the kernel (outside the cells); return its stdout; raise on a Python error."""
        result: dict[str, Any] = self.page.evaluate(KERNEL_EXEC_JS, [self.path, code])
        if result["error"]:
            raise AssertionError(f"kernel code failed:\n{code}\n{_ANSI.sub('', result['error'])}")
        return str(result["out"])

    def kernel_json(self, expression: str) -> Any:
        """Evaluate a Python expression on the kernel and return it decoded from JSON."""
        out = self.kernel(f"import json as _j; print(_j.dumps({expression}))")
        return json.loads(out.strip().splitlines()[-1])

    def save(self) -> None:
        """Save the notebook (with its widget state) to disk."""
        self.page.evaluate(SAVE_JS, self.path)


class NotebookOpener:
    """Writes cells into a fresh notebook under the server root and opens it in its own browser context."""

    def __init__(self, lab: Lab, browser: Browser, name: str) -> None:
        self.lab = lab
        self.browser = browser
        self.folder = lab.root / re.sub(r"[^A-Za-z0-9_.-]", "_", name)[:80]
        self.opened: list[tuple[Any, NotebookPage]] = []

    def __call__(self, cells: list[str]) -> NotebookPage:
        """Open a notebook made of these code cells and wait for its kernel to be idle."""
        self.folder.mkdir(exist_ok=True)
        path = self.folder / f"t{len(self.opened)}.ipynb"
        nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
        nbformat.write(nb, path)
        return self.open(path)

    def open_copy(self, source: Path) -> NotebookPage:
        """Open a copy of an existing notebook (never the repository's own file: the server may save it)."""
        self.folder.mkdir(exist_ok=True)
        path = self.folder / source.name
        shutil.copy(source, path)
        return self.open(path)

    def open(self, path: Path) -> NotebookPage:
        """Open a notebook file under the server root in its own browser context; wait for its kernel."""
        context = self.browser.new_context(viewport=VIEWPORT)
        context.set_default_timeout(TIMEOUT_MS)
        page = context.new_page()
        nbpage = NotebookPage(page, path.relative_to(self.lab.root).as_posix(), path)
        self.opened.append((context, nbpage))
        page.goto(self.lab.url(path))
        nbpage.wait_kernel_idle()
        return nbpage

    def close(self) -> None:
        """Shut the notebooks' kernels down and close their browser contexts."""
        for context, nbpage in self.opened:
            with contextlib.suppress(Exception):  # the page may already be gone if the test broke it
                nbpage.page.evaluate(SHUTDOWN_JS, nbpage.path)
            context.close()
        self.opened.clear()


@pytest.fixture
def open_notebook(lab: Lab, browser: Browser, request: pytest.FixtureRequest) -> Iterator[NotebookOpener]:
    """Factory for one test: open_notebook(cells) -> NotebookPage; kernels shut down afterwards."""
    opener = NotebookOpener(lab, browser, request.node.name)
    yield opener
    opener.close()


@pytest.fixture
def open_notebook7(
    notebook7: Lab, browser: Browser, request: pytest.FixtureRequest
) -> Iterator[NotebookOpener]:
    """Like open_notebook, in Notebook 7 instead of JupyterLab."""
    opener = NotebookOpener(notebook7, browser, request.node.name)
    yield opener
    opener.close()


@pytest.fixture(scope="module")
def open_module_notebook(
    lab: Lab, browser: Browser, request: pytest.FixtureRequest
) -> Iterator[NotebookOpener]:
    """Like open_notebook, shared by one module: one expensive scenario read by several tests."""
    opener = NotebookOpener(lab, browser, request.module.__name__)
    yield opener
    opener.close()


@pytest.fixture
def screenshot_path(tmp_path: Path) -> Path:
    """Where a test's screenshot goes: SHOT=1 -> docs/screenshot.png, SHOT=PATH -> PATH, else tmp_path."""
    shot = os.environ.get("SHOT")
    if not shot:
        return tmp_path / "screenshot.png"
    path = REPO / "docs" / "screenshot.png" if shot == "1" else Path(shot)
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


# An element's text colour as opaque sRGB, painted on a canvas (any CSS colour syntax, color-mix() included).
TEXT_RGB_JS = """(el) => {
  const g = document.createElement('canvas').getContext('2d', { willReadFrequently: true });
  g.fillStyle = '#000'; g.fillStyle = getComputedStyle(el).color; g.fillRect(0, 0, 1, 1);
  return [...g.getImageData(0, 0, 1, 1).data.slice(0, 3)];
}"""


def is_red(rgb: list[int]) -> bool:
    """Whether a colour reads as red: red clearly above green and blue."""
    r, g, b = rgb
    return r - max(g, b) >= 60
