"""`kmcomms serve`: the workspace's static site on this machine, to look at before (or
instead of) putting it on a web server."""

from __future__ import annotations

import functools
import os
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

import click

from kmcomms.cli.options import workspace_option
from kmcomms.errors import SettingError, UsageError, WorkspaceError

if TYPE_CHECKING:
    from kmcomms.campaign.workspace import Workspace

__all__ = ["site_folder"]


def site_folder(workspace: Workspace, name: str | None) -> Path:
    """The folder of the site channel `name`, or of the workspace's only site."""
    from kmcomms.campaign.workspace import expand
    from kmcomms.channels.registry import adapter_class
    from kmcomms.channels.static_site import SiteChannel, SiteOptions

    sites = {}
    for channel, settings in workspace.settings.channels.items():
        if issubclass(adapter_class(settings.adapter), SiteChannel):
            # Only `path` is read: a site channel's other settings (a briefing's mail
            # server) need not be finished for anyone to look at the site.
            path = settings.options.get("path", SiteOptions.model_fields["path"].default)
            if not isinstance(path, str):
                raise SettingError(f"[channels.{channel}] path: must be a folder name in quotes")
            sites[channel] = workspace.root / expand(path)
    listed = ", ".join(f"{channel} ({folder})" for channel, folder in sites.items()) or "none"
    if name is not None:
        if name not in sites:
            raise UsageError(f'"{name}" is not a channel that publishes to a site — site channels: {listed}')
        return sites[name]
    folders = set(sites.values())
    if not folders:
        raise SettingError('no channel in kmcomms.toml publishes to a site — add one with adapter = "static-site"')
    if len(folders) > 1:
        raise UsageError(f"the workspace has several sites: {listed} — choose one with --channel")
    return folders.pop()


#: The types of the files a site holds, whatever this machine's mime.types says; the
#: text ones are UTF-8, as the site writes them.
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".xml": "application/xml",
    ".pdf": "application/pdf",
    ".mp4": "video/mp4",
    ".m4v": "video/mp4",
    ".webm": "video/webm",
    ".ogv": "video/ogg",
    ".mov": "video/quicktime",
    ".vtt": "text/vtt; charset=utf-8",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".png": "image/png",
    ".webp": "image/webp",
    ".svg": "image/svg+xml",
}
#: Each language's feed (`<lang>/feed.xml`) is Atom, which feed readers and browsers know by its type.
ATOM = "application/atom+xml"


class _SiteHandler(SimpleHTTPRequestHandler):
    """Files of the site; its records and lock (`_data/`) are not for readers."""

    extensions_map = {**SimpleHTTPRequestHandler.extensions_map, **CONTENT_TYPES}  # noqa: RUF012 - never changed; the base class declares it per instance (not a ClassVar) and handlers override it here

    def guess_type(self, path: str | os.PathLike[str]) -> str:
        return ATOM if Path(path).name == "feed.xml" else super().guess_type(path)

    def send_head(self) -> BinaryIO | None:
        hidden = Path(self.directory) / "_data"
        if Path(self.translate_path(self.path)).is_relative_to(hidden):
            self.send_error(404)
            return None
        return super().send_head()


@click.command()
@workspace_option
@click.option(
    "--port", default=8760, show_default=True, type=click.IntRange(0, 65535), help="The port (0: any free one)."
)
@click.option("--host", default="127.0.0.1", show_default=True, help="The address to listen on.")
@click.option("--channel", "name", metavar="NAME", help="The site channel to serve, when there are several sites.")
def serve(path: Path | None, port: int, host: str, name: str | None) -> None:
    """Serve the workspace's static site (blog, video library, briefings) over HTTP until
    Ctrl-C."""
    from kmcomms.publish.runtime import load_here

    workspace, _ = load_here(path)
    folder = site_folder(workspace, name)
    if not folder.is_dir():
        raise WorkspaceError(f"{folder} does not exist yet — publish something first (kmcomms publish --due)")
    handler = functools.partial(_SiteHandler, directory=str(folder))
    try:
        server = ThreadingHTTPServer((host, port), handler)
    except OSError as exc:
        raise UsageError(
            f"cannot listen on {host}:{port}: {exc.strerror or exc} — choose another --port or --host"
        ) from exc
    with server:
        shown = f"[{host}]" if ":" in host else host  # an IPv6 address is bracketed in a URL
        click.echo(f"Serving {folder} at http://{shown}:{server.server_address[1]}/ — press Ctrl-C to stop")
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            click.echo("stopped")
