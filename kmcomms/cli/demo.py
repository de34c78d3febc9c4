"""`kmcomms demo`: the example campaigns published on this machine, start to finish."""

from __future__ import annotations

import tempfile
from pathlib import Path

import click

from kmcomms.cli.options import State, console
from kmcomms.errors import UsageError


@click.command()
@click.option(
    "--dir",
    "folder",
    type=click.Path(file_okay=False, path_type=Path),
    help="Build the demo workspace here (a new or empty folder) instead of a new temporary one.",
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=30),
    default=150,
    show_default=True,
    metavar="SECONDS",
    help="Give up waiting for the first wave after this long.",
)
@click.pass_obj
def demo(state: State, folder: Path | None, timeout: float) -> None:
    """Publish the example campaigns for real, on this machine, in under a minute.

    Builds a throwaway workspace in a temporary folder from the example campaigns, with
    their first messages due in a few seconds; catches newsletters and briefings
    with an SMTP server on loopback; runs the daemon until that first wave is out, and
    says where to look. Nothing outside the folder is touched; no account is needed.
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from kmcomms.daemon.demo import run_demo  # the SMTP server and the daemon only where used

    if folder is not None and folder.exists() and any(folder.iterdir()):
        raise UsageError(f"{folder}: not empty — name a new or empty folder for the demo")
    root = (folder or Path(tempfile.mkdtemp(prefix="kmcomms-demo-"))).resolve()
    root.mkdir(parents=True, exist_ok=True)
    out = console()
    out.print(f"Demo workspace: [bold]{root}[/bold]")
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=out,
        transient=True,
    ) as bar:
        task = bar.add_task("loading the example campaigns", total=None)

        def tell(text: str, done: int, total: int) -> None:
            bar.update(task, description=text, completed=done, total=total or None)

        result = run_demo(root, clock=state.clock, timeout=timeout, progress=tell)
    states = "  ".join(f"{name} {count}" for name, count in sorted(result.states.items()))
    out.print(f"The first wave ({result.wave:%H:%M:%S} UTC) is out, in {result.seconds:.0f} s: {states}\n")
    site = root / "site"
    out.print(f"[bold]Website[/bold]     {result.pages} pages: {site / 'index.html'}")
    out.print(f"            or serve it: kmcomms serve -w {root}")
    out.print(
        f"[bold]Emails[/bold]      {len(result.emails)} messages caught by the local SMTP server: {root / 'mail'}"
    )
    for name, to, subject in result.emails[:3]:
        out.print(f"            {name}  to {to}: {subject}")
    for pdf in result.pdfs[:3]:
        out.print(f"[bold]Briefing[/bold]    {pdf}")
    out.print(f"[bold]Ledger[/bold]      kmcomms status -w {root}")
    if result.clicks:
        out.print(f"[bold]Clicks[/bold]      start the tracking server (kmcomms track -w {root}), then open:")
        for url in result.clicks:
            out.print(f"            {url}")
        out.print("            each click is counted as reach; no address or browser is stored")
    if result.states.get("blocked"):
        out.print(
            f"\n{result.states['blocked']} deliveries are blocked (kmcomms status -w {root} says why: "
            "translations not yet done are held back, never sent half-translated)"
        )
