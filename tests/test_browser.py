"""The notebooks as a person meets them: a real JupyterLab in Debian's Chromium (headless), driven by Selenium.

Papermill never moves a widget, so this is the only test of the interactive path: it opens each explorer,
runs every cell, drags sliders, and checks after every move that the figure is a complete image (opaque,
the expected size, the same pixels as the same setting drawn alone in this process) and that no error output
appeared; then it moves sliders from two threads of the kernel while the browser drags others, so that draws
overlap for certain (browser drags alone overlapped too rarely here to fail the old pyplot drawing code, which
this phase does: transparent images), and checks every image the page was sent; and that a figure notebook opens unmodified and writes its figure where ``make reproduce`` would.
JupyterLab runs with its defaults (comms on subshells: widget callbacks on other threads than the main one).

Skipped, with one line, where Chromium, its driver or Selenium is missing (``.ci/run`` installs them).
"""

from __future__ import annotations

import base64
import io
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.slow

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
ROOT = Path(__file__).resolve().parent.parent
TOKEN = "greenaolo-browser-test"
#: Seconds to wait for a figure after a move, and for a notebook's cells (a cold kernel imports torch).
MOVE_TIMEOUT = 60
RUN_TIMEOUT = 240

try:
    from selenium import webdriver
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
except ImportError:  # pragma: no cover - the dev extra installs it
    webdriver = None

if webdriver is None or not (os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER)):
    pytest.skip("no browser: Debian's chromium and chromium-driver and selenium are needed (.ci/run installs them)",
                allow_module_level=True)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def home(tmp_path_factory, write_tiny_runs) -> Path:
    """The outputs' home the kernels see (GREENAOLO_OUTPUT_DIR): one tiny trained run per paper agent in its
    ``data/aolo_runs``, as ``make reproduce`` leaves them (conftest.write_tiny_runs)."""
    folder = tmp_path_factory.mktemp("home")
    write_tiny_runs(folder / "data" / "aolo_runs")
    return folder


@pytest.fixture(scope="module")
def lab(tmp_path_factory, home):
    """JupyterLab on a free port over a copy of ``notebooks/`` (so autosave can never touch the repository's),
    with its default settings; yields its base URL."""
    root = tmp_path_factory.mktemp("lab")
    shutil.copytree(ROOT / "notebooks", root / "notebooks")
    port = _free_port()
    env = {**os.environ, "GREENAOLO_OUTPUT_DIR": str(home), "JUPYTER_CONFIG_DIR": str(root / "config"),
           "JUPYTER_RUNTIME_DIR": str(root / "runtime"),  # the kernels' connection files: _stress joins them
           "JUPYTERLAB_SETTINGS_DIR": str(root / "settings"), "JUPYTERLAB_WORKSPACES_DIR": str(root / "workspaces")}
    log = open(root / "lab.log", "w")
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--no-browser", f"--port={port}", "--ip=127.0.0.1",
         f"--IdentityProvider.token={TOKEN}", f"--ServerApp.root_dir={root}", "--ServerApp.open_browser=False",
         *(["--allow-root"] if os.geteuid() == 0 else [])],
        env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if server.poll() is not None:
                raise RuntimeError((root / "lab.log").read_text()) from None
            time.sleep(0.5)
    else:
        server.kill()
        raise RuntimeError("JupyterLab did not start in 60 s:\n" + (root / "lab.log").read_text())
    yield url, root
    server.terminate()
    try:
        server.wait(20)
    except subprocess.TimeoutExpired:
        server.kill()
    log.close()


@pytest.fixture()
def browser(tmp_path):
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage", "--window-size=1600,1400", f"--user-data-dir={tmp_path / 'chromium'}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=webdriver.ChromeService(executable_path=CHROMEDRIVER), options=options)
    driver.set_script_timeout(30)
    yield driver
    driver.quit()


def _wait(predicate, timeout: float, what: str, interval: float = 0.25):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def _open(driver, lab, notebook: str) -> None:
    url, _ = lab
    driver.get(f"{url}/lab/tree/notebooks/{notebook}.ipynb?token={TOKEN}&reset")
    # The kernel is ready when the toolbar's status says Idle.
    _wait(lambda: driver.execute_script(
        "return document.querySelector('.jp-NotebookPanel .jp-Notebook-cell') !== null"
        " && document.querySelector('.jp-NotebookPanel .jp-Spinner') === null"
        " && document.querySelector('.jp-NotebookPanel-toolbar .jp-KernelName') !== null;"), 60, "the notebook")
    _wait(lambda: _kernel_idle(driver), 90, "the kernel to start")
    time.sleep(2)  # the kernel's info arrives after it is idle: it must not mark the notebook modified


def _kernel_idle(driver) -> bool:
    return bool(driver.execute_script(
        "const n = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook-ExecutionIndicator');"
        "return n !== null && n.getAttribute('data-status') === 'idle';"))


def _dirty(driver) -> list[str]:
    """The open documents JupyterLab marks as modified (their tabs' titles)."""
    return driver.execute_script(
        "return [...document.querySelectorAll('.lm-TabBar-tab.jp-mod-dirty')].map(t => t.textContent);")


def _run_all(driver) -> None:
    """Run > Run All Cells, from the menu bar, then wait until no cell is queued or running."""
    driver.find_element(By.CSS_SELECTOR, ".jp-NotebookPanel .jp-Notebook").click()
    driver.find_element(By.XPATH, "//li[contains(@class,'lm-MenuBar-item')][.//div[text()='Run']]").click()
    _wait(lambda: driver.find_elements(By.CSS_SELECTOR, "li.lm-Menu-item[data-command='runmenu:run-all']"),
          10, "the Run menu")[0].click()
    time.sleep(1.0)
    _wait(lambda: _kernel_idle(driver) and not driver.execute_script(
        "return [...document.querySelectorAll('.jp-InputPrompt')].some(p => p.textContent.includes('[*]'));"),
        RUN_TIMEOUT, "every cell to run")


def _errors(driver) -> list[str]:
    return driver.execute_script(
        "return [...document.querySelectorAll('.jp-RenderedText[data-mime-type=\"application/vnd.jupyter.stderr\"],"
        " .jp-OutputArea-output[data-mime-type=\"application/vnd.jupyter.error\"]')].map(e => e.textContent);")


def _setting(driver) -> str | None:
    return driver.execute_script(
        "const s = document.querySelector('.greenaolo-status'); return s ? s.getAttribute('data-setting') : null;")


def _image(driver) -> bytes:
    """The explorer's image as the browser holds it (the widget's blob)."""
    data = driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "const img = document.querySelector('.greenaolo-explorer img');"
        "fetch(img.src).then(r => r.arrayBuffer()).then(b => {"
        "  let s = ''; const u = new Uint8Array(b); for (let i = 0; i < u.length; i++) s += String.fromCharCode(u[i]);"
        "  done(btoa(s)); }).catch(e => done('error: ' + e));")
    assert not data.startswith("error"), data
    return base64.b64decode(data)


def _pixels(png: bytes) -> np.ndarray:
    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(png)).convert("RGBA"))


def _drag(driver, slider, fraction: float) -> None:
    """Drag a slider's handle by ``fraction`` of its track, as a person does with the mouse."""
    handle = slider.find_element(By.CSS_SELECTOR, ".noUi-handle")
    track = slider.find_element(By.CSS_SELECTOR, ".noUi-target")
    ActionChains(driver).click_and_hold(handle).move_by_offset(int(fraction * track.size["width"]), 0) \
        .pause(0.1).release().perform()


def _check_moves(driver, expected_png, bursts: list[list[tuple[int, float]]]) -> list[dict]:
    """Drag sliders in bursts: each (slider index, fraction) of a burst right after the other, as a person
    sweeping several sliders does, so callbacks overlap; after each burst, wait for the figure of the final
    setting and compare it with the same setting drawn alone. Returns what each burst showed."""
    seen = []
    sliders = driver.find_elements(By.CSS_SELECTOR, ".widget-slider.widget-hslider")
    before = _wait(lambda: _setting(driver), MOVE_TIMEOUT, "the first figure")
    for burst in bursts:
        for index, fraction in burst:
            _drag(driver, sliders[index], fraction)
        _wait(lambda before=before: (s := _setting(driver)) != before and s, MOVE_TIMEOUT, f"a new figure after moves {burst}")
        time.sleep(1.0)
        _wait(lambda: _kernel_idle(driver), MOVE_TIMEOUT, "the kernel to finish the moves")
        after = _setting(driver)
        png = _image(driver)
        status = driver.execute_script("return document.querySelector('.greenaolo-status').textContent;")
        thread = driver.execute_script("return document.querySelector('.greenaolo-status').getAttribute('data-thread');")
        got, want = _pixels(png), _pixels(expected_png(json.loads(after), status))
        complete = got.shape == want.shape and bool((got[..., 3] == 255).all()) and np.array_equal(got, want)
        seen.append({"moves": len(burst), "setting": json.loads(after), "shape": got.shape, "complete": complete,
                     "thread": thread})
        n = len(seen)
        assert got.shape == want.shape, f"burst {n}: image {got.shape}, expected {want.shape}"
        assert (got[..., 3] == 255).all(), f"burst {n}: the image is (partly) transparent"
        assert np.array_equal(got, want), (f"burst {n}: the image differs from the same setting drawn alone "
                                           f"in {int((got != want).any(axis=-1).sum())} pixels")
        assert not _errors(driver), _errors(driver)
        before = after
    print(f"{sum(s['moves'] for s in seen)} moves in {len(seen)} bursts, {sum(s['complete'] for s in seen)} "
          f"complete figures, callbacks on threads {sorted({s['thread'] for s in seen})}")
    return seen


#: Run in the explorer's kernel by :func:`_stress`: two threads of the kernel move sliders at random (their
#: callbacks run on those threads) while the browser drags others (callbacks on the main or a subshell thread),
#: so draws overlap for certain rather than by luck of timing; every (status, image) pair the page is sent is
#: recorded as the status changes.
STRESS = """
import pickle, random, threading, time
import ipywidgets
from ipywidgets.widgets.widget import _instances
_ws = list(_instances.values())
_sliders = [w for w in _ws if isinstance(w, ipywidgets.FloatSlider)]
_image = next(w for w in _ws if isinstance(w, ipywidgets.Image))
_status = next(w for w in _ws if isinstance(w, ipywidgets.HTML) and "greenaolo-status" in w.value)
_shown = []
_status.observe(lambda change: _shown.append((change["new"], bytes(_image.value))), names="value")

def _move(seed):
    rng = random.Random(seed)
    for _ in range({moves}):
        w = rng.choice(_sliders)
        w.value = w.min + w.step * rng.randint(0, round((w.max - w.min) / w.step))
        time.sleep(rng.uniform(0.0, 0.05))

_movers = [threading.Thread(target=_move, args=(seed,), name=f"mover-{{seed}}") for seed in (1, 2)]
for _t in _movers:
    _t.start()
"""
#: Run after the moves: wait for the movers, stop recording, hand the records to the test.
STRESS_END = """
for _t in _movers:
    _t.join()
time.sleep({settle})
with open({path!r}, "wb") as _f:
    pickle.dump(_shown, _f)
"""


def _stress(driver, lab, notebook: str, expected_png, tmp_path: Path, moves: int = 6) -> int:
    """Move sliders from two kernel threads and the browser at once; then check every image the page was
    sent (opaque, the expected size, the same pixels as its setting drawn alone, no error in its status) and
    the image shown at the end. Returns how many images were checked."""
    import pickle

    import requests
    from jupyter_client import BlockingKernelClient

    url, root = lab
    sessions = requests.get(f"{url}/api/sessions", params={"token": TOKEN}, timeout=10).json()
    kernel = next(s["kernel"]["id"] for s in sessions if s["path"].endswith(f"{notebook}.ipynb"))
    client = BlockingKernelClient(connection_file=str(root / "runtime" / f"kernel-{kernel}.json"))
    client.load_connection_file()
    client.start_channels()
    try:
        started = client.execute(STRESS.format(moves=moves))
        sliders = driver.find_elements(By.CSS_SELECTOR, ".widget-slider.widget-hslider")
        for index, fraction in [(0, 0.1), (1, -0.1), (2, 0.15), (0, -0.05), (1, 0.1), (2, -0.1)]:
            _drag(driver, sliders[index], fraction)
        reply = client.get_shell_msg(timeout=MOVE_TIMEOUT)
        assert reply["parent_header"]["msg_id"] == started and reply["content"]["status"] == "ok", reply["content"]
        records = tmp_path / "shown.pickle"
        ended = client.execute(STRESS_END.format(settle=3.0, path=str(records)))
        reply = client.get_shell_msg(timeout=MOVE_TIMEOUT * 3)
        assert reply["parent_header"]["msg_id"] == ended and reply["content"]["status"] == "ok", reply["content"]
    finally:
        client.stop_channels()
    _wait(lambda: _kernel_idle(driver), MOVE_TIMEOUT, "the kernel to finish the moves")
    shown = pickle.loads(records.read_bytes())
    assert len(shown) >= 3, f"only {len(shown)} figures were drawn during the moves"
    final = _setting(driver)
    assert final is not None, driver.execute_script("return document.querySelector('.greenaolo-explorer').textContent;")
    for n, (status_html, png) in enumerate([*shown, (None, _image(driver))]):
        if status_html is None:  # the page's image at the end, against the page's setting at the end
            setting, status = final, driver.execute_script(
                "return document.querySelector('.greenaolo-status').textContent;")
        else:
            found = re.search(r'data-setting="([^"]*)"', status_html)
            assert found, f"figure {n}: the status is an error: {re.sub('<[^>]+>', '', status_html)}"
            setting, status = found[1].replace("&quot;", '"'), re.sub("<[^>]+>", "", status_html)
        got, want = _pixels(png), _pixels(expected_png(json.loads(setting), status))
        assert got.shape == want.shape, f"figure {n}: image {got.shape}, expected {want.shape}"
        assert (got[..., 3] == 255).all(), f"figure {n}: the image is (partly) transparent"
        assert np.array_equal(got, want), (f"figure {n}: the image differs from the same setting drawn alone "
                                           f"in {int((got != want).any(axis=-1).sum())} pixels")
    assert not _errors(driver), _errors(driver)
    print(f"{notebook}: {2 * moves} moves from two kernel threads and 6 drags at once: {len(shown) + 1} figures "
          "checked, all complete")
    return len(shown) + 1


def _greenllm_png(setting: dict, status: str) -> bytes:
    from greenaolo.explorer import render_png
    from greenaolo.greenllm.explore import explore_view
    from greenaolo.greenllm.figures import draw_explore
    from greenaolo.greenllm.scenario import Scaling
    from greenaolo.plotting import set_theme

    set_theme()
    psi = {k: v for k, v in setting.items() if k not in ("model", "w_energy", "w_carbon", "w_delay")}
    view = explore_view(Scaling(**psi), setting["model"],
                        weights=(setting["w_energy"], setting["w_carbon"], setting["w_delay"]))
    solved = re.search(r"solved in ([0-9.]+) s", status)  # the title shows the kernel's own solve time
    if solved:
        view["solve_seconds"] = float(solved[1])
    return render_png(draw_explore(view))


def test_explore_greenllm_redraws_on_every_move(lab, browser, tmp_path):
    _open(browser, lab, "explore_greenllm")
    assert not _dirty(browser), f"the notebook opened as modified: {_dirty(browser)}"
    _run_all(browser)
    assert not _errors(browser), _errors(browser)
    # Psi_theta, Psi_pw, Psi_rho and Psi_price (the first column), each moved twice, back and forth.
    bursts = [[(3, 0.15)], [(4, -0.1), (6, 0.12)], [(3, -0.08), (7, 0.1), (4, 0.2)], [(6, -0.2)],
              [(7, -0.05), (3, 0.1)], [(4, -0.1), (6, 0.1), (7, 0.05), (3, -0.1)]]
    seen = _check_moves(browser, _greenllm_png, bursts)
    assert len(seen) == len(bursts) and all(s["complete"] for s in seen)
    _stress(browser, lab, "explore_greenllm", _greenllm_png, tmp_path)
    browser.save_screenshot(str(Path(os.environ.get("GREENAOLO_SCREENSHOTS", tmp_path)) / "explore_greenllm.png"))


def test_explore_aolo_redraws_on_every_move(lab, browser, home, tmp_path):
    from greenaolo.aolo.explore import explore_view
    from greenaolo.aolo.figures import draw_explore
    from greenaolo.explorer import render_png
    from greenaolo.plotting import set_theme

    def expected(setting: dict, status: str) -> bytes:
        set_theme()
        return render_png(draw_explore(explore_view(**setting, runs_dir=home / "data" / "aolo_runs",
                                                    profile="quick")))

    _open(browser, lab, "explore_aolo")
    assert not _dirty(browser), f"the notebook opened as modified: {_dirty(browser)}"
    _run_all(browser)
    assert not _errors(browser), _errors(browser)
    # The trained runs in the outputs' home are found, whatever folder the kernel started in.
    status = browser.execute_script("return document.querySelector('.greenaolo-status').textContent;")
    assert status.startswith("oracle, SAC seed 0, SDRL seed 0 from "), status
    bursts = [[(0, 0.2)], [(2, 0.15), (3, -0.2)], [(0, -0.3), (4, 0.25), (2, -0.1)], [(3, 0.3)],
              [(4, -0.15), (1, 0.1)], [(0, 0.1), (1, -0.05), (2, 0.05), (4, 0.1)]]
    seen = _check_moves(browser, expected, bursts)
    assert len(seen) == len(bursts) and all(s["complete"] for s in seen)
    _stress(browser, lab, "explore_aolo", expected, tmp_path)
    browser.save_screenshot(str(Path(os.environ.get("GREENAOLO_SCREENSHOTS", tmp_path)) / "explore_aolo.png"))


def test_figure_notebook_opens_clean_and_writes_into_the_home(lab, browser, home):
    _open(browser, lab, "greenllm_table1")
    assert not _dirty(browser), "the notebook opened as modified (its metadata differs from the kernel's)"
    _run_all(browser)
    assert not _errors(browser), _errors(browser)
    assert browser.execute_script("return document.querySelectorAll('.jp-OutputArea-output img').length;") >= 1
    assert (home / "greenllm_table1.png").is_file() and (home / "data" / "greenllm_table1.nc").is_file()
    _, root = lab
    assert not (root / "notebooks" / "figures").exists()  # nothing written beside the notebook
