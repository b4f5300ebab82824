"""The 'greenaolo' command (also 'python -m greenaolo')."""

from __future__ import annotations

import contextlib
import json
import logging
import re
import sys
import warnings
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from greenaolo.options import ALGORITHMS, EVALUATION_SEED, PROFILES, SOLVERS, VARIANTS

app = typer.Typer(
    help="Reproduce Green-LLM (arXiv 2507.09942) and AOLO (arXiv 2503.04418).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
greenllm_app = typer.Typer(help="Green-LLM: allocate LLM queries to edge data centres.", no_args_is_help=True)
app.add_typer(greenllm_app, name="greenllm")
aolo_app = typer.Typer(help="AOLO: the carbon of a wireless LLM service.", no_args_is_help=True)
app.add_typer(aolo_app, name="aolo")


# The choices are the library's own lists (Typer wants them as enumerations).
Profile = Enum("Profile", {name: name for name in PROFILES}, type=str)
SolverName = Enum("SolverName", {name: name for name in SOLVERS}, type=str)


def _fail(message: str) -> None:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(2)


#: The environment variables the package reads: each checked before any command runs.
ENVIRONMENT = ("GREENAOLO_SCHEDULER", "GREENAOLO_TORCH_COMPILE", "GREENAOLO_OUTPUT_DIR", "MPLBACKEND")


def check_environment() -> None:
    """Check the environment variables the package reads, so a bad value is one line before the work, not a
    traceback deep inside a notebook. :raises ValueError: naming the variable, its value and what is valid."""
    import os

    if os.environ.get("GREENAOLO_SCHEDULER"):
        from greenaolo.tasks import check_scheduler

        try:
            check_scheduler(os.environ["GREENAOLO_SCHEDULER"])
        except ValueError as err:
            raise ValueError(f"GREENAOLO_SCHEDULER: {err}") from None
    from greenaolo.checks import env_flag

    env_flag("GREENAOLO_TORCH_COMPILE", True)  # raises with the variable's name and value
    if "GREENAOLO_OUTPUT_DIR" in os.environ:
        from greenaolo import paths

        paths.output_dir()  # raises with the variable's name
    backend = os.environ.get("MPLBACKEND")
    if backend:
        try:
            from matplotlib import rcsetup  # matplotlib itself reads MPLBACKEND when imported

            rcsetup.validate_backend(backend)
        except ValueError:
            raise ValueError(f"MPLBACKEND={backend!r} is not a matplotlib backend: unset it, or use e.g. Agg") from None


@app.callback()
def _check_environment_first() -> None:
    """Reproduce Green-LLM (arXiv 2507.09942) and AOLO (arXiv 2503.04418)."""
    try:
        check_environment()
    except ValueError as err:
        _fail(str(err))


@app.command()
def notebooks(
    copy: Annotated[Optional[Path], typer.Option(
        help="copy every notebook into this folder, to open and edit them (run a copy with greenaolo run PATH)")] = None,
    force: Annotated[bool, typer.Option(help="with --copy: overwrite notebooks already in the folder")] = False,
) -> None:
    """List every notebook with its parameters, types, defaults and valid ranges (or copy them with --copy)."""
    from greenaolo.notebooks import NOTEBOOKS, copy_notebooks, notebook_dir, params_table

    if copy is not None:
        try:
            copied = copy_notebooks(copy, overwrite=force)
        except OSError as exc:
            _fail(str(exc))
        import shutil

        lab = ("jupyter lab " + str(copy)) if shutil.which("jupyter-lab") else \
            f"pip install 'greenaolo[lab]', then jupyter lab {copy}"
        typer.echo(f"copied {len(copied)} notebooks to {copy} (open them with: {lab}; their figures go to "
                   f"$GREENAOLO_OUTPUT_DIR, else ./figures of the folder you start in)")
        return
    typer.echo(f"notebooks in {notebook_dir()}")
    for name, spec in sorted(NOTEBOOKS.items()):
        typer.echo(f"{name}: {spec.title}" + (" [exploration]" if spec.kind == "exploration" else ""))
        typer.echo(f"    claim: {spec.claim}")
        for _, param, kind, default, valid in params_table([name]):
            typer.echo(f"    {param:<12} {kind:<6} default {default:<10} {valid}")


def _pairs(args: list[str]) -> dict[str, str]:
    """Parse '-p NAME VALUE' (or '--parameter NAME VALUE'), repeated, as papermill's CLI takes them."""
    params, rest = {}, list(args)
    while rest:
        flag = rest.pop(0)
        if flag not in ("-p", "--parameter") or len(rest) < 2:
            _fail(f"unexpected argument {flag!r}: parameters are given as -p NAME VALUE")
        name, value = rest.pop(0), rest.pop(0)
        if name in params:
            _fail(f"parameter {name} is given twice ({params[name]!r} and {value!r}): give it once")
        params[name] = value
    return params


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def run(
    ctx: typer.Context,
    notebook: Annotated[str, typer.Argument(
        help="notebook name (e.g. greenllm_table1) or the path of an edited copy; then -p NAME VALUE ...")],
    profile: Annotated[Profile, typer.Option(help="quick runs the same code on smaller inputs")] = Profile.full,
    output_dir: Annotated[Optional[Path], typer.Option(
        help="figures go here, datasets to OUTPUT_DIR/data (default: $GREENAOLO_OUTPUT_DIR, else the checkout's "
             "figures/, else ./figures)")] = None,
    executed_dir: Annotated[Path, typer.Option(help="where the executed notebook is written")] = Path("build/notebooks"),
    scheduler: Annotated[Optional[str], typer.Option(
        help="run the notebook's sweeps on this Dask scheduler (tcp://host:8786), or 'serial' / 'local'")] = None,
    progress: Annotated[Optional[bool], typer.Option(
        "--progress/--no-progress",
        help="papermill's progress bar (default: on a terminal); without it, a line every 8 s")] = None,
) -> None:
    """Run one notebook with papermill: 'greenaolo run NOTEBOOK -p NAME VALUE ... --profile quick'.

    NOTEBOOK is a name from 'greenaolo notebooks' or the path of a copy ('greenaolo notebooks --copy DIR').
    Parameters are checked against the notebook's specification before it starts. '--scheduler' is the
    notebook parameter 'scheduler' (sweep notebooks only).
    """
    # Under papermill, nbformat imports jsonschema, which imports rfc3987_syntax for its "iri" formats when
    # it is installed (JupyterLab's jupyter-events brings it) and builds a Lark grammar there: 0.9 s of every
    # notebook run, a fifth of make reproduce's cost per quick notebook. No notebook schema has a format, and
    # this process validates nothing else.
    sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]
    from greenaolo.notebooks import ParameterCapWarning, ParameterError, run_notebook

    params = _pairs(ctx.args)
    for reserved in ("profile", "output_dir", "scheduler"):
        if reserved in params:
            _fail(f"set {reserved} with --{reserved.replace('_', '-')}, not -p")
    if scheduler is not None:
        params["scheduler"] = scheduler
    try:  # the parameters first (a notebook without sweeps has no scheduler), then the cluster
        from greenaolo.notebooks import check_parameters, resolve_notebook

        name = resolve_notebook(notebook)[0].name
        check_parameters(name, **params, profile=profile.value)
    except ParameterError as exc:
        _fail(str(exc))
    _wait_for_cluster(scheduler)
    try:
        with warnings.catch_warnings():
            # Said at once, before the notebook runs, as one line.
            warnings.simplefilter("always", ParameterCapWarning)
            warnings.showwarning = lambda message, *args, **kwargs: typer.secho(
                f"note: {message}", fg=typer.colors.YELLOW, err=True)
            bar = sys.stderr.isatty() if progress is None else progress
            with _heartbeat(str(notebook), show=not bar):
                executed = run_notebook(notebook, params, profile=profile.value, output_dir=output_dir,
                                        executed_dir=executed_dir, progress=bar)
    except ParameterError as exc:
        _fail(str(exc))
    except KeyboardInterrupt:
        # nbclient leaves the interrupted cell's task behind; asyncio would report it at exit as a traceback.
        logging.getLogger("asyncio").setLevel(logging.CRITICAL)
        _fail(f"interrupted: {notebook} did not finish (every file it wrote is complete; temporary files are "
              "removed on the next run)")
    except Exception as exc:  # a cell raised: say which, and where the executed notebook shows the rest
        if type(exc).__name__ != "PapermillExecutionError":
            raise
        _fail(f"{notebook} failed in cell [{exc.exec_count}] with {exc.ename}: {exc.evalue} "
              f"(the executed notebook in {executed_dir} shows the traceback)")
    from greenaolo import paths

    out = Path(output_dir) if output_dir is not None else paths.output_dir()
    figure = out / f"{name}.png"
    typer.echo(f"executed {executed}" + (f"; figure {figure}" if figure.is_file() else ""))


@app.command()
def plot(
    dataset: Annotated[Path, typer.Argument(help="a dataset written by a notebook (figures/data/NAME.nc)")],
    output_dir: Annotated[Optional[Path], typer.Option(
        help="default: beside the dataset, or the figures folder when the dataset is in its data/ folder")] = None,
) -> None:
    """Redraw a figure from its dataset alone.

    The figure is named after the dataset file ('x.nc' gives 'x.png' and 'x.pdf') and written beside it;
    a dataset in a 'data/' folder of a figures tree ('figures/data/NAME.nc') is drawn into that tree
    ('figures/NAME.png'), where the notebook put it.
    """
    import matplotlib

    matplotlib.use("Agg")  # headless, whatever the machine's display
    from greenaolo.io import read_dataset
    from greenaolo.figures import draw
    from greenaolo.plotting import save_figure

    try:
        ds = read_dataset(dataset)
    except (FileNotFoundError, ValueError) as exc:
        _fail(str(exc))
    if output_dir is not None:
        out = output_dir
    elif dataset.resolve().parent.name == "data":
        out = dataset.resolve().parent.parent
    else:
        out = dataset.resolve().parent
    _writable(out, "--output-dir")
    try:
        fig = draw(ds)
    except KeyError as exc:
        _fail(f"{dataset}: {exc.args[0]}")
    for path in save_figure(fig, dataset.stem, out, provenance=ds.attrs):
        typer.echo(f"wrote {path}")


@app.command()
def findings(
    data_dir: Annotated[Path, typer.Argument(help="the figures' datasets (default: the full profile's kept ones)")] = Path(
        "results/full/data"),
    write: Annotated[Optional[Path], typer.Option(help="put the rendered table into this README")] = None,
) -> None:
    """The README's figure table, "What our run shows", rendered from a run's datasets (every number computed).

    Prints each row; with --write README.md the README's table is updated in place ('make readme').
    """
    from greenaolo.findings import FINDINGS, Data, render, write_readme

    if not data_dir.is_dir():
        _fail(f"{data_dir} is not a folder of datasets: run `make reproduce PROFILE=full` and `make keep` first")
    try:
        if write is not None:
            changed = write_readme(write, data_dir)
            typer.echo(f"{write}: {'updated from' if changed else 'already says what'} {data_dir}"
                       + ("" if changed else " says"))
            return
        data = Data(data_dir)
        for name in FINDINGS:
            typer.echo(f"{name}: {render(name, data)}\n")
    except (FileNotFoundError, KeyError, ValueError, AttributeError) as exc:
        _fail(f"{data_dir}: {exc} (a dataset written by older code? run its notebook again)")


@app.command()
def compare(
    data_dir: Annotated[Path, typer.Argument(help="a run's datasets")] = Path("figures/data"),
    kept: Annotated[Optional[Path], typer.Option(
        help="the kept datasets (default: results/PROFILE/data for the run's profile)")] = None,
) -> None:
    """Compare a run's datasets with the kept ones, value for value ('make verify' after 'make reproduce').

    Exits 1 when a dataset expected to repeat bit for bit differs (the README's "Reproducibility" says which).
    """
    from greenaolo import paths
    from greenaolo.io import read_dataset
    from greenaolo.kept import NOT_REPEATABLE
    from greenaolo.kept import compare as compare_datasets

    if kept is None:
        first = next(iter(sorted(data_dir.glob("*.nc"))), None)
        if first is None:
            _fail(f"no datasets in {data_dir}: run `make reproduce` first")
        root = paths.checkout_root() or Path(".")
        kept = root / "results" / str(read_dataset(first).attrs["profile"]) / "data"
    if not kept.is_dir():
        _fail(f"no kept datasets in {kept}")
    result = compare_datasets(data_dir, kept)
    failed = []
    for name, differ in result.items():
        if not differ:
            typer.echo(f"{name}: identical to the bit")
        elif name in NOT_REPEATABLE:
            typer.echo(f"{name}: differs in {', '.join(differ)} (expected: {NOT_REPEATABLE[name]})")
        else:
            typer.echo(f"{name}: differs in {', '.join(differ)}")
            failed.append(name)
    same = sum(not d for d in result.values())
    typer.echo(f"{same} of {len(result)} datasets identical to {kept}" + (f"; unexpected: {', '.join(failed)}" if failed else ""))
    if failed:
        raise typer.Exit(1)


#: Seconds between the lines a long command prints when it has no progress bar to show (make's log): with
#: its start-up, the log never waits more than about 10 s for a line.
HEARTBEAT_SECONDS = 8.0


@contextlib.contextmanager
def _heartbeat(what: str, *, show: bool = True):
    """While the block runs, print ``what: running (N s)`` to stderr every :data:`HEARTBEAT_SECONDS`, so a
    log without a progress bar (``make reproduce``, whose output is kept line by line) never goes quiet."""
    import threading
    import time

    stop = threading.Event()
    started = time.monotonic()

    def beat() -> None:
        while not stop.wait(HEARTBEAT_SECONDS):
            typer.echo(f"{what}: running ({time.monotonic() - started:.0f} s)", err=True)

    thread = threading.Thread(target=beat, daemon=True) if show else None
    if thread:
        thread.start()
    try:
        yield
    finally:
        stop.set()


def _wait_for_cluster(scheduler: str | None) -> None:
    """With a scheduler address (the option, else GREENAOLO_SCHEDULER): connect and, while the cluster has no
    worker, say so in the terminal every few seconds, before any work (the notebook's own warning would land
    in the notebook, unseen)."""
    import os

    from greenaolo.tasks import ADDRESS, SCHEDULER_ENV, SchedulerError, check_scheduler, wait_for_workers

    address = scheduler or os.environ.get(SCHEDULER_ENV, "")
    try:
        check_scheduler(address)
    except ValueError:
        return  # an invalid address is refused, with its valid range, by the command's own checks
    if not ADDRESS.fullmatch(address or ""):
        return
    try:
        wait_for_workers(address, lambda line: typer.secho(line, fg=typer.colors.YELLOW, err=True))
    except SchedulerError as exc:
        _fail(str(exc))
    except KeyboardInterrupt:
        _fail(f"interrupted while waiting for a worker at {address}: nothing was run")


def _writable(folder: Path, option: str) -> None:
    """Fail at once, before any work, if 'folder' cannot be created or written to."""
    from greenaolo.io import check_writable

    try:
        check_writable(folder)
    except OSError as exc:
        _fail(f"{option} {folder}: {exc}")


@app.command()
def doctor(
    lock: Annotated[Optional[Path], typer.Option(help="the lock file (default: the checkout's requirements.lock)")] = None,
) -> None:
    """Compare the running environment with the lock: every package whose installed version differs.

    Exits 1 when one differs (the numbers may then differ from the kept results), 0 when all match.
    """
    from importlib import metadata

    from greenaolo import paths
    from greenaolo.io import package_versions

    if lock is None:
        root = paths.checkout_root()
        if root is None:
            _fail("no checkout here (an installed package has no requirements.lock): give --lock PATH")
        lock = root / "requirements.lock"
    if not lock.is_file():
        _fail(f"{lock} does not exist")
    locked = dict(re.findall(r"^([A-Za-z0-9_.\-]+)==([^ \\\n]+)", lock.read_text(encoding="utf-8"), re.M))
    differ = []
    for name, version in sorted(locked.items()):
        try:
            installed = metadata.version(name)
        except metadata.PackageNotFoundError:
            installed = "not installed"
        if installed != version:
            differ.append(f"{name}: locked {version}, installed {installed}")
    typer.echo(f"{len(locked)} packages locked in {lock}; deciding the numbers: "
               + ", ".join(f"{k} {v}" for k, v in package_versions().items()))
    if differ:
        typer.echo("differ from the lock:\n  " + "\n  ".join(differ))
        raise typer.Exit(1)
    typer.echo("every locked package is installed at its locked version")


@app.command()
def report(
    executed_dir: Annotated[Path, typer.Option(help="the executed notebooks")] = Path("build/notebooks"),
    data_dir: Annotated[Path, typer.Option(help="their datasets")] = Path("figures/data"),
    out_dir: Annotated[Path, typer.Option(help="the site goes to OUT_DIR/html")] = Path("build/report"),
    readme: Annotated[Path, typer.Option(help="the README whose figure table heads the pages")] = Path("README.md"),
    kept: Annotated[Optional[Path], typer.Option(
        help="build from results kept with the code (e.g. results/full, 'make report-kept'): its notebooks and "
             "datasets, each figure drawn again from its dataset; nothing is trained or solved")] = None,
) -> None:
    """Build the browsable HTML report of the executed notebooks (offline; 'make report')."""
    import time

    from greenaolo.kept import KeptError, check_kept
    from greenaolo.report import ReportError, build_report, site_size

    started = time.perf_counter()
    if kept is not None:
        try:
            check_kept(kept)
        except KeptError as exc:
            _fail(str(exc))
        executed_dir, data_dir = kept / "notebooks", kept / "data"
    try:
        index = build_report(executed_dir, data_dir, out_dir, readme=readme, redraw=kept is not None)
    except (ReportError, OSError, ValueError) as exc:
        _fail(str(exc))
    typer.echo(f"wrote {index} ({site_size(index.parent) / 1e6:.1f} MB, {time.perf_counter() - started:.0f} s)")


@greenllm_app.command("solve")
def greenllm_solve(
    model: Annotated[Optional[str], typer.Option(help="M0, M1, M2 or M3 (default M0)")] = None,
    lexicographic: Annotated[
        Optional[str], typer.Option(help="priority order instead of weights, e.g. energy,delay,carbon")
    ] = None,
    tolerance: Annotated[Optional[float], typer.Option(
        help="lexicographic tolerance epsilon (default 0.001; with --lexicographic only)")] = None,
    psi_theta: Annotated[float, typer.Option(help="scale carbon intensity")] = 1.0,
    psi_pw: Annotated[float, typer.Option(help="scale renewables")] = 1.0,
    psi_tau: Annotated[float, typer.Option(help="scale energy per token")] = 1.0,
    psi_rho: Annotated[float, typer.Option(help="scale delay penalty")] = 1.0,
    psi_price: Annotated[float, typer.Option(help="scale electricity price")] = 1.0,
    psi_demand: Annotated[float, typer.Option(help="scale demand")] = 1.0,
    psi_water: Annotated[float, typer.Option(help="scale the water budget")] = 1.0,
    seed: Annotated[int, typer.Option(help="scenario seed (42 is the paper's)")] = 42,
    date: Annotated[Optional[str], typer.Option(
        help="paper scenario: a UTC day of 2024 (YYYY-MM-DD) whose hourly carbon intensity replaces the paper's "
             "2024-03-24; measured scenario: the UTC day (2023 or 2024) to plan")] = None,
    scenario_name: Annotated[str, typer.Option("--scenario", help=(
        "paper (the authors' instance) or measured (public measurements of --date: docs/measured.md)"))] = "paper",
    zones: Annotated[Optional[str], typer.Option(
        help="measured scenario: comma-separated zones with a DC and a user area (default: the twelve of docs/measured.md)")] = None,
    llm: Annotated[Optional[str], typer.Option(help="measured scenario: the ML.ENERGY model (default Llama 3.1 8B Instruct)")] = None,
    gpu: Annotated[Optional[str], typer.Option(help="measured scenario: H100 or B200 (default H100)")] = None,
    solver: Annotated[SolverName, typer.Option(help="auto: Gurobi if its licence fits, else HiGHS")] = SolverName.auto,
    output: Annotated[Optional[Path], typer.Option("-o", "--output", help=(
        "write the result as netCDF (a symbolic link is written through to its target; a device or other special "
        "file is refused)"))] = None,
    as_json: Annotated[bool, typer.Option("--json", help="end with one JSON line of the totals")] = False,
) -> None:
    """Solve the Green-LLM model on the paper instance (or on any day of 2024 with --date), or on the measured
    scenario of a day of 2023 or 2024 (--scenario measured --date YYYY-MM-DD), and print its cost terms."""
    if scenario_name not in ("paper", "measured"):
        _fail(f"--scenario {scenario_name!r} is unknown: expected paper or measured")
    measured_options = {name: value for name, value in (("zones", zones), ("llm", llm), ("gpu", gpu)) if value is not None}
    if scenario_name == "paper" and measured_options:
        _fail(f"--{', --'.join(measured_options)} apply to --scenario measured only")
    if scenario_name == "measured":
        if date is None:
            _fail("--scenario measured needs --date YYYY-MM-DD (a UTC day of 2023 or 2024)")
        if "zones" in measured_options:
            measured_options["zones"] = [z.strip() for z in zones.split(",") if z.strip()]
    elif date is not None:
        from greenaolo.greenllm.carbon import parse_day

        try:
            date = parse_day(date).isoformat()
        except ValueError as exc:
            _fail(f"--date: {exc}")
    if lexicographic and model is not None:
        _fail("--model and --lexicographic exclude each other: a lexicographic order replaces the model's weights")
    if tolerance is not None and not lexicographic:
        _fail("--tolerance applies to --lexicographic only")
    model = model or "M0"
    tolerance = 1e-3 if tolerance is None else tolerance
    if output is not None:
        target = output.resolve() if output.is_symlink() else output
        if target.exists() and not target.is_file():
            _fail(f"--output {output} is not a regular file (a device, FIFO or folder): give the path of a file")
        _writable(target.parent, "--output")
    from greenaolo.greenllm.optimise import solve, solve_lexicographic
    from greenaolo.greenllm.scenario import Scaling, paper_scenario
    from greenaolo.solvers import SolveError, SolverFallbackWarning, SolverUnavailableError

    try:
        scaling = Scaling(
            theta=psi_theta, pw=psi_pw, tau=psi_tau, rho=psi_rho, price=psi_price, demand=psi_demand, water=psi_water
        )
        if scenario_name == "measured":
            from greenaolo.greenllm.measured import measured_scenario
            from greenaolo.greenllm.scenario import apply_scaling

            scenario = apply_scaling(measured_scenario(date, **measured_options), scaling)
        else:
            scenario = paper_scenario(seed, scaling, day=date)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", SolverFallbackWarning)
            if lexicographic:
                order = tuple(o.strip() for o in lexicographic.split(","))
                ds = solve_lexicographic(scenario, order, tolerance=tolerance, solver=solver.value)
            else:
                ds = solve(scenario, model, solver=solver.value)
        for w in caught:
            typer.secho(f"warning: {w.message}", fg=typer.colors.YELLOW, err=True)
    except (ValueError, TypeError, SolverUnavailableError, SolveError) as exc:
        _fail(str(exc))
    summary = {
        "energy_cost": float(ds.energy_cost),
        "carbon_cost": float(ds.carbon_cost),
        "delay_cost": float(ds.delay_cost),
        "total_cost": float(ds.total_cost),
        "emissions_kg": float(ds.emissions),
        "water_l": float(ds.water),
        "delay_s": float(ds.delay),
        "solver": ds.attrs["solver"],
        "date": scenario.attrs["day"],
    }
    label = f"lexicographic {ds.attrs['lexicographic_order']}" if lexicographic else model
    if scenario_name == "measured":
        typer.echo(f"Green-LLM {label}, measured scenario of {scenario.attrs['day']} (UTC; {scenario.attrs['llm']} on "
                   f"{scenario.attrs['gpu']}, {scenario.sizes['dc']} zones), scaling {ds.attrs['scaling']}")
    else:
        typer.echo(f"Green-LLM {label}, carbon intensity of {scenario.attrs['day']} (UTC), scaling {ds.attrs['scaling']}")
    filled = int(scenario.attrs.get("carbon_intensity_filled_hours", 0))
    ds.attrs["carbon_intensity_filled_hours"] = filled
    if filled:
        typer.secho(f"note: {filled} of the day's {scenario.sizes['dc'] * scenario.sizes['time']} (DC, hour) carbon "
                    "intensities are interpolated over gaps in the data (recorded in the dataset)",
                    fg=typer.colors.YELLOW, err=True)
    rows = [
        ("energy cost", summary["energy_cost"], "$"),
        ("carbon tax", summary["carbon_cost"], "$"),
        ("delay penalty", summary["delay_cost"], "$"),
        ("total cost", summary["total_cost"], "$"),
        ("emissions", summary["emissions_kg"], "kgCO2"),
        ("water", summary["water_l"], "L"),
        ("delay (aggregate)", summary["delay_s"], "s"),
    ]
    for name, value, unit in rows:
        typer.echo(f"  {name:<18} {value:>12.2f} {unit}")
    typer.echo(
        f"  solver             {ds.attrs['solver']} {ds.attrs['solver_version']} ({ds.attrs['licence']}), "
        f"{ds.attrs['termination']}, {ds.attrs['solve_seconds']:.2f} s"
    )
    if output is not None:
        from greenaolo.io import write_dataset

        try:
            write_dataset(
                ds, output, profile="full", figure="greenllm_solution", seeds=[seed],
                parameters={"model": model, "lexicographic": lexicographic, "scaling": json.loads(ds.attrs["scaling"]),
                            "date": scenario.attrs["day"], "scenario": scenario_name, **measured_options},
                solver=ds.attrs["solver"],
            )
        except OSError as exc:
            _fail(str(exc))
        if Path(output).is_symlink():
            output = f"{output} (through the link, to {Path(output).resolve()})"
        typer.echo(f"  wrote {output}")
    if as_json:
        typer.echo(json.dumps(summary))


@aolo_app.command("evaluate")
def aolo_evaluate(
    policy: Annotated[str, typer.Option(help="oracle, random, max-length-max-power, qoe-fixed-power, min-energy-per-bit")] = "oracle",
    n_requests: Annotated[int, typer.Option(help="size of the fixed evaluation set")] = 1000,
    seed: Annotated[int, typer.Option(help="seed of the evaluation set")] = EVALUATION_SEED,
    config: Annotated[Optional[Path], typer.Option(help="an AoloConfig YAML file")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="end with one JSON line of the results")] = False,
) -> None:
    """Mean carbon per request (with its four terms) and violation rates of a policy on the evaluation set."""
    from greenaolo.aolo.config import AoloConfig, ConfigError
    from greenaolo.aolo.evaluation import evaluate_policy

    try:
        cfg = AoloConfig.from_yaml(config) if config is not None else AoloConfig()
        ds = evaluate_policy(policy, cfg, n_requests, seed)
    except (ValueError, TypeError, ConfigError, FileNotFoundError) as exc:
        _fail(str(exc))
    terms = {
        "carbon_inference_operational_g": float(ds.carbon_inference_operational.mean()),
        "carbon_inference_embodied_g": float(ds.carbon_inference_embodied.mean()),
        "carbon_communication_operational_g": float(ds.carbon_communication_operational.mean()),
        "carbon_communication_embodied_g": float(ds.carbon_communication_embodied.mean()),
    }
    summary = {
        "policy": policy,
        "n_requests": n_requests,
        "carbon_g": float(ds.carbon_g),
        **terms,
        "communication_share": float(ds.communication_share),
        "qoe_violation_rate": float(ds.qoe_violation_rate),
        "latency_violation_rate": float(ds.latency_violation_rate),
        "mean_kappa": float(ds.kappa.mean()),
        "mean_p_trans_w": float(ds.p_trans.mean()),
    }
    typer.echo(f"AOLO policy {policy} on {n_requests} evaluation requests (seed {seed})")
    typer.echo(f"  carbon per request      {summary['carbon_g']:.5f} gCO2e")
    for name, value in terms.items():
        typer.echo(f"    {name[7:-2]:<28} {value:.5f} gCO2e")
    typer.echo(f"  communication share     {summary['communication_share']:.1%}")
    typer.echo(f"  QoE violations          {summary['qoe_violation_rate']:.2%}")
    typer.echo(f"  latency violations      {summary['latency_violation_rate']:.2%}")
    typer.echo(f"  mean kappa, P_trans     {summary['mean_kappa']:.1f} words, {summary['mean_p_trans_w']:.2f} W")
    if as_json:
        typer.echo(json.dumps(summary))


Algorithm = Enum("Algorithm", {name: name for name in ALGORITHMS}, type=str)
Variant = Enum("Variant", {name: name for name in VARIANTS}, type=str)


@aolo_app.command("train")
def aolo_train(
    algorithm: Annotated[Algorithm, typer.Argument(
        help="sac (MLP actor), sdrl (PopSAN actor), td3, ddpg, ppo, or sdrl_td3 and sdrl_ddpg (TD3 and DDPG with "
             "a PopSAN actor)")],
    seed: Annotated[int, typer.Argument(help="seed of the agent and its environment", min=0)],
    variant: Annotated[Variant, typer.Option(help="default (hyperparams/agents.yaml) or tuned (hyperparams/tuned.yaml)")]
    = Variant.default,
    profile: Annotated[Profile, typer.Option(help="training budget from hyperparams/agents.yaml")] = Profile.full,
    runs_dir: Annotated[Path, typer.Option(help="where the run's .nc and .zip go")] = Path("figures/data/aolo_runs"),
    threads: Annotated[int, typer.Option(help="torch threads (1 when runs go side by side)", min=1)] = 1,
    config: Annotated[Optional[Path], typer.Option(help="an AoloConfig YAML file")] = None,
    hyperparams: Annotated[Optional[Path], typer.Option(help="a hyperparameter YAML like hyperparams/agents.yaml")] = None,
    progress: Annotated[bool, typer.Option(help="show a progress bar")] = True,
) -> None:
    """Train one agent on AOLO and write its learning curve, final evaluation and model to RUNS_DIR."""
    import torch

    from greenaolo.aolo.config import AoloConfig, ConfigError
    from greenaolo.aolo.runs import train_run
    from greenaolo.aolo.training import check_trainable, load_hyperparams

    torch.set_num_threads(threads)
    try:
        check_trainable(algorithm.value, variant.value)
        cfg = AoloConfig.from_yaml(config) if config is not None else AoloConfig()
        hp = load_hyperparams(None if hyperparams is None else str(hyperparams), variant=variant.value)
    except (ValueError, ConfigError, FileNotFoundError) as exc:
        _fail(str(exc))
    if profile.value not in hp["profiles"]:
        _fail(f"--profile {profile.value} is not in the hyperparameter file's profiles: {sorted(hp['profiles'])}")
    _writable(runs_dir, "--runs-dir")
    with _heartbeat(f"{algorithm.value} ({variant.value}) seed {seed}", show=not progress):
        path = train_run(algorithm.value, seed, runs_dir, profile=profile.value, config=cfg, hyperparams=hp,
                         variant=variant.value, progress=progress)
    from greenaolo.io import read_dataset

    ds = read_dataset(path)
    typer.echo(f"{algorithm.value} ({variant.value}) seed {seed}: {float(ds.carbon_g):.4f} gCO2e per request "
               f"({float(ds.gap_to_oracle):+.1%} vs oracle), QoE violations {float(ds.qoe_violation_rate):.1%}, "
               f"latency violations {float(ds.latency_violation_rate):.1%}, "
               f"{ds.attrs['steps_per_second']:.1f} steps/s; wrote {path}")


@aolo_app.command("tune")
def aolo_tune(
    algorithm: Annotated[Algorithm, typer.Argument(help="the agent to tune: " + ", ".join(ALGORITHMS))],
    trials: Annotated[Optional[int], typer.Option(help="finished trials wanted in all (default: the profile's, "
                                                       "hyperparams/tuning.yaml); a resumed study runs the rest", min=1, max=100_000)] = None,
    profile: Annotated[Profile, typer.Option(help="tuning budget from hyperparams/tuning.yaml")] = Profile.full,
    storage: Annotated[Path, typer.Option(help="folder of the studies' journal files (resumable)")] = Path("build/tuning"),
    scheduler: Annotated[Optional[str], typer.Option(
        help="'serial', 'local' (default: --processes local workers) or a Dask scheduler tcp://host:8786")] = None,
    processes: Annotated[int, typer.Option(help="local worker processes (0: one per core)", min=0)] = 0,
    write: Annotated[Optional[Path], typer.Option(help="then write the best trial into this tuned.yaml")] = None,
    progress: Annotated[bool, typer.Option(help="show a progress bar")] = True,
    repair: Annotated[bool, typer.Option(
        help="a journal that does not parse: move it aside (NAME.journal.damaged-N) and keep its records up to "
             "the first bad line, then tune")] = False,
    random_learning_rate: Annotated[Optional[str], typer.Option(
        help="LOW,HIGH: draw configurations at random instead (no TPE, no pruning), the learning rate "
             "log-uniform over [LOW, HIGH]: independent draws scored like trials (docs/aolo.md#random-draws)")] = None,
) -> None:
    """Tune one agent's hyperparameters with Optuna (TPE, median pruner) on validation requests.

    One tuner per study at a time (a second refuses); a damaged journal is named with its line and left as it
    is unless --repair is given.
    """
    from greenaolo.aolo.training import HyperparameterError
    from greenaolo.aolo.tuning import (
        DamagedJournalError,
        best_trial,
        check_journal,
        journal_path,
        load_budget,
        repair_journal,
        study_trials,
        tune,
        write_tuned,
    )
    from greenaolo.tasks import SchedulerError, check_scheduler

    if repair:
        path = journal_path(storage, algorithm.value)
        try:
            check_journal(path, algorithm.value)
        except DamagedJournalError:
            try:
                kept, aside = repair_journal(path, algorithm.value)
            except DamagedJournalError as exc:
                _fail(str(exc))
            typer.secho(f"note: moved the damaged journal to {aside}; kept its first {kept} records in {path}",
                        fg=typer.colors.YELLOW, err=True)

    lr_range = None
    if random_learning_rate is not None:
        try:
            lr_range = tuple(float(v) for v in random_learning_rate.split(","))
            if len(lr_range) != 2 or not 0 < lr_range[0] < lr_range[1] <= 1:
                raise ValueError
        except ValueError:
            _fail(f"--random-learning-rate {random_learning_rate!r} is invalid: expected LOW,HIGH with "
                  "0 < LOW < HIGH <= 1 (e.g. 1e-6,1e-2)")
    try:
        check_scheduler(scheduler)
        budget = load_budget(profile.value)
    except (ValueError, HyperparameterError) as exc:
        _fail(str(exc))
    _writable(storage, "--storage")
    if write is not None:
        _writable(write.parent, "--write")
    _wait_for_cluster(scheduler)
    try:
        study = tune(algorithm.value, profile=profile.value, trials=trials, storage_dir=storage, scheduler=scheduler,
                     workers=processes or None, progress=progress, budget=budget, random_learning_rate=lr_range)
    except (HyperparameterError, SchedulerError) as exc:
        _fail(str(exc))
    except KeyboardInterrupt:
        logging.getLogger("asyncio").setLevel(logging.CRITICAL)
        _fail(f"interrupted: every finished trial is in {storage}; the same command resumes the study")
    limit = trials or budget.trials
    records = study_trials(study, limit)
    try:
        best = best_trial(study, limit)
    except ValueError as exc:
        _fail(str(exc))
    typer.echo(f"{algorithm.value}: {len(records)} trials ({sum(r.state == 'pruned' for r in records)} pruned); best "
               f"trial {best.number}: cost {best.value:.4f}, {best.user_attrs['carbon_g']:.4f} gCO2e per request "
               f"({best.user_attrs['gap_to_oracle']:+.1%} vs oracle), params {best.params}")
    if write is not None:
        write_tuned(write, {algorithm.value: study}, limit=limit)
        typer.echo(f"wrote {write}")


def main() -> None:
    app()
