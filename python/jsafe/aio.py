"""asyncio forms of jsafe's calls.

Each runs the blocking call on a worker thread (``asyncio.to_thread``) with
the GIL released while it waits for a lock, does I/O or runs a filter, so
the event loop keeps running. The lock of ``async with aio.lock(...)`` /
``aio.edit(...)`` is known to the calls made in the same task, as with the
blocking forms.

Cancelling a task that awaits a change does not stop the worker thread: the
change may still be made once the lock is granted. Await it, or treat a
cancelled change as "maybe done". A cancelled ``aio.watch`` stops within
half a second.
"""

from __future__ import annotations

import asyncio
import functools
from typing import Any, AsyncIterator, Callable, Optional, TypeVar

import jsafe
from jsafe import DEFAULT_TIMEOUT, PathLike

__all__ = ["read", "write", "merge", "update", "append", "restore", "status", "lock", "edit", "watch"]

T = TypeVar("T")

# Longest single wait of aio.watch's worker thread: a cancelled watch
# leaves a thread behind for at most this long.
_WATCH_SLICE = 0.5


async def _run(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    return await asyncio.to_thread(functools.partial(fn, *args, **kwargs))


async def read(path: PathLike, filter: Optional[str] = None, **kwargs: Any) -> Any:
    """:func:`jsafe.read` on a worker thread."""
    return await _run(jsafe.read, path, filter, **kwargs)


async def write(path: PathLike, obj: Any, **kwargs: Any) -> bool:
    """:func:`jsafe.write` on a worker thread."""
    return await _run(jsafe.write, path, obj, **kwargs)


async def merge(path: PathLike, patch: Any, **kwargs: Any) -> bool:
    """:func:`jsafe.merge` on a worker thread."""
    return await _run(jsafe.merge, path, patch, **kwargs)


async def update(path: PathLike, filter: str, **kwargs: Any) -> bool:
    """:func:`jsafe.update` on a worker thread."""
    return await _run(jsafe.update, path, filter, **kwargs)


async def append(path: PathLike, *objs: Any, **kwargs: Any) -> None:
    """:func:`jsafe.append` on a worker thread."""
    await _run(jsafe.append, path, *objs, **kwargs)


async def restore(path: PathLike, latest: bool = True, **kwargs: Any) -> str:
    """:func:`jsafe.restore` on a worker thread."""
    return await _run(jsafe.restore, path, latest, **kwargs)


async def status(paths: Any) -> Any:
    """:func:`jsafe.status` on a worker thread."""
    return await _run(jsafe.status, paths)


class lock:
    """``async with aio.lock(path) as lk:``: :class:`jsafe.Lock`, waited for
    on a worker thread."""

    def __init__(self, path: PathLike, *, shared: bool = False, timeout: Optional[float] = DEFAULT_TIMEOUT) -> None:
        self._sync = jsafe.Lock(path, shared=shared, timeout=timeout)

    async def __aenter__(self) -> jsafe.Lock:
        native = await asyncio.to_thread(self._sync._acquire)
        # Installed in the task's own context, so that its later calls
        # (which copy it to their worker threads) adopt the lock.
        self._sync._install(native)
        return self._sync

    async def __aexit__(self, *exc: Any) -> None:
        self._sync._uninstall()


class edit:
    """``async with aio.edit(path) as doc:``: :class:`jsafe.Edit` with the
    lock wait, the read and the write-back on worker threads."""

    def __init__(self, path: PathLike, **kwargs: Any) -> None:
        self._sync = jsafe.Edit(path, **kwargs)

    @property
    def changed(self) -> bool:
        return self._sync.changed

    async def __aenter__(self) -> Any:
        s = self._sync
        native = await asyncio.to_thread(s._lock._acquire)
        s._lock._install(native)
        try:
            s._session = await asyncio.to_thread(s._open, native)
            s.doc = s._session.document()
        except BaseException:
            s._lock._uninstall()
            raise
        return s.doc

    async def __aexit__(self, exc_type: Any, *rest: Any) -> None:
        try:
            if exc_type is None:
                await asyncio.to_thread(self._sync._commit)
        finally:
            self._sync._lock._uninstall()


async def watch(
    path: PathLike,
    filter: Optional[str] = None,
    *,
    changes_only: bool = False,
    timeout: Optional[float] = None,
    **kwargs: Any,
) -> AsyncIterator[Any]:
    """:func:`jsafe.watch` as an async iterator: ``async for v in
    aio.watch(path):``. Ends when ``timeout`` seconds pass without a new
    version (None: never)."""
    loop = asyncio.get_running_loop()
    w = await asyncio.to_thread(jsafe.Watch, path, filter, changes_only=changes_only, **kwargs)
    while True:
        started = loop.time()
        while True:
            left = None if timeout is None else timeout - (loop.time() - started)
            if left is not None and left <= 0:
                return
            step = _WATCH_SLICE if left is None else min(_WATCH_SLICE, left)
            v = await asyncio.to_thread(w.next, step)
            if v is not None:
                break
        yield v
