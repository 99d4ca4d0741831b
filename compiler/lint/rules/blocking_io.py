"""DC402 io-outside-await."""

from __future__ import annotations

from durablec.compiler.lint._rule import Ban, Rule

__all__ = ["IoOutsideAwait"]

# The I/O must happen inside the awaited call: `asyncio.to_thread(open(p).read)` would pass the
# linter's reference-only arguments but open the file live, before the checkpoint.
_USE = (
    "`await asyncio.to_thread(fn, ...)` with the I/O inside `fn` (not in its arguments),"
    " or an awaited async client, so the outcome is journaled"
)
_NAMES = (
    "builtins.open",
    "builtins.input",
    "io.open",
    "os.open",
    "os.listdir",
    "os.scandir",
    "os.walk",
    "os.stat",
    "os.remove",
    "os.unlink",
    "os.rename",
    "os.replace",
    "os.mkdir",
    "os.makedirs",
    "os.rmdir",
    "os.system",
    "os.popen",
    "os.path.exists",
    "os.path.isfile",
    "os.path.isdir",
    "os.path.getsize",
    "os.path.getmtime",
    "shutil.copy",
    "shutil.copy2",
    "shutil.copyfile",
    "shutil.copytree",
    "shutil.move",
    "shutil.rmtree",
    "glob.glob",
    "glob.iglob",
    "tempfile.mkstemp",
    "tempfile.mkdtemp",
    "tempfile.NamedTemporaryFile",
    "tempfile.TemporaryFile",
    "tempfile.TemporaryDirectory",
    "subprocess.run",
    "subprocess.Popen",
    "subprocess.call",
    "subprocess.check_call",
    "subprocess.check_output",
    "subprocess.getoutput",
    "subprocess.getstatusoutput",
    "socket.socket",
    "socket.create_connection",
    "socket.getaddrinfo",
    "urllib.request.urlopen",
    "http.client.HTTPConnection",
    "http.client.HTTPSConnection",
    "smtplib.SMTP",
    "smtplib.SMTP_SSL",
    "ftplib.FTP",
    "gzip.open",
    "bz2.open",
    "lzma.open",
    "tarfile.open",
    "zipfile.ZipFile",
    "shelve.open",
    "dbm.open",
    *(f"<path>.{m}" for m in (
        "exists is_dir is_file iterdir glob rglob mkdir open read_bytes read_text rename replace "
        "rmdir stat touch unlink write_bytes write_text"
    ).split()),
    *(f"requests.{m}" for m in "request get post put patch delete head".split()),
    *(f"httpx.{m}" for m in "request get post put patch delete head stream".split()),
)


class IoOutsideAwait(Rule):
    """What it does: finds file, process and network I/O called directly in task code rather
    than awaited: ``open()``, ``os.listdir()``, ``subprocess.run()``, ``socket.socket()``,
    ``urllib.request.urlopen()``, ``requests.get()``, ``Path(...).read_text()`` and the like.

    Why it breaks replay: the call is not a checkpoint, so nothing is journaled: a replay reads
    the file or the service again and may get other data (the file changed, the service moved
    on), and writes and requests are repeated on every replay.

    Example::

        async def load(path):
            with open(path) as f:
                config = json.load(f)
            await apply(config)

    Use instead: make the I/O the awaited call: ``await asyncio.to_thread(read_config, path)``
    with a sync function that does the I/O, ``await asyncio.to_thread(Path(path).read_text)``, or
    an async client (``await client.get(url)``). The awaited call is a checkpoint: it runs once
    and replays return its recorded result. The function handed to ``to_thread`` is not linted
    for that call; only what its arguments compute runs outside the checkpoint, so the I/O
    belongs inside the function, never in the arguments.
    """

    CODE = "DC402"
    NAME = "io-outside-await"
    MESSAGE = "does I/O outside a checkpoint; replay repeats it and may read other data"
    BANNED = {name: Ban(_USE) for name in _NAMES}
    VALID = (
        """
        import asyncio
        from pathlib import Path


        def read_config(path):
            return Path(path).read_text()  # runs in a thread, inside the checkpoint


        async def task(path, client):
            text = await asyncio.to_thread(read_config, path)
            return text, await client.get("https://example.com"), Path(path).name
        """,
    )
    INVALID = (
        """
        async def task(path):
            with open(path) as f:  # <-
                return f.read()
        """,
        """
        import subprocess
        from pathlib import Path


        async def task(path):
            subprocess.run(["ls"])  # <-
            return (Path(path) / "x").read_text()  # <-
        """,
    )
