"""jsafe: safe, atomic, locked, backed-up reads and changes of JSON files.

The same store as the ``jsafe`` command, over the same Rust library: every
change takes the file's lock in ``.jsafe/locks/``, keeps the replaced version
as a backup, writes a temp file, fsyncs it, renames it over the file, fsyncs
the directory and appends a journal line. Python writers, ``jsafe`` commands
and the shell drop-in lock the same lock file, so none loses another's update.

    import jsafe

    jsafe.merge("state.json", {"status": "ok"})
    jsafe.update("state.json", ".runs += $n", n=1)
    with jsafe.edit("state.json") as doc:
        doc["last"] = "nightly"
    print(jsafe.read("state.json", ".runs"))

Blocking calls release the GIL while they wait for a lock, read or write and
run filters; Ctrl-C while waiting for a lock raises ``KeyboardInterrupt``
and writes nothing. ``jsafe.aio`` has the asyncio forms.
"""

from __future__ import annotations

import os
import threading
from contextvars import ContextVar, Token
from dataclasses import dataclass
from typing import (
    Any,
    Dict,
    Iterable,
    Iterator,
    List,
    Optional,
    Tuple,
    Union,
)

from . import _jsafe
from ._errors import (
    ChangedNotDurable,
    Corrupt,
    Error,
    FilterHalted,
    InvalidInput,
    LockTimeout,
    NotFound,
    Untouched,
)

__all__ = [
    "read",
    "write",
    "merge",
    "update",
    "append",
    "edit",
    "lock",
    "watch",
    "status",
    "restore",
    "backups",
    "FileStatus",
    "Backup",
    "Lock",
    "Edit",
    "Watch",
    "MISSING",
    "LOCK_ENV",
    "EXIT_CODES",
    "Error",
    "LockTimeout",
    "InvalidInput",
    "Corrupt",
    "NotFound",
    "Untouched",
    "ChangedNotDurable",
    "FilterHalted",
]

__version__ = "0.1.0"

PathLike = Union[str, "os.PathLike[str]"]

#: The environment variable through which a held lock is handed to child
#: processes (``jsafe`` commands in them use it instead of waiting).
LOCK_ENV = "JSAFE_LOCK_FD"

#: How long a call waits for the file's lock by default, in seconds (the
#: ``jsafe`` command's default too). ``None`` waits for ever.
DEFAULT_TIMEOUT = 30.0

#: (exit code, exception class name, meaning) for every failure the command
#: line reports; the exceptions carry the same codes.
EXIT_CODES: List[Tuple[int, str, str]] = list(_jsafe.exit_codes())


class _Missing:
    def __repr__(self) -> str:
        return "jsafe.MISSING"


#: ``read(..., default=MISSING)``: a missing file raises :class:`NotFound`.
MISSING: Any = _Missing()

# Locks held by jsafe.lock/jsafe.edit in the current context (thread or
# asyncio task): calls made inside them on the same file use them instead
# of waiting for themselves. A context variable, not a process-wide list:
# another thread's call must wait for the lock like any other writer.
_HELD: ContextVar[Tuple[Any, ...]] = ContextVar("jsafe_held", default=())
# JSAFE_LOCK_FD entries this process put there itself (they are found
# through _HELD by its own calls; the variable is for child processes).
_OWN_ENTRIES: set = set()
_ENV_GUARD = threading.Lock()


def _held() -> Tuple[List[Any], Optional[str]]:
    """What the native calls adopt: the context's locks, and the
    JSAFE_LOCK_FD entries a parent process handed down."""
    inherited = os.environ.get(LOCK_ENV)
    if inherited:
        entries = [e for e in inherited.split(",") if e and e not in _OWN_ENTRIES]
        inherited = ",".join(entries) or None
    return (list(_HELD.get()), inherited)


def _path(path: PathLike) -> str:
    return os.fspath(path)


def read(
    path: PathLike,
    filter: Optional[str] = None,
    *,
    default: Any = MISSING,
    recover: bool = False,
    decimals: str = "float",
    timeout: Optional[float] = DEFAULT_TIMEOUT,
    **vars: Any,
) -> Any:
    """The document as Python objects, or with ``filter`` (jq) the list of
    its outputs, with ``$name`` bound for each keyword argument.

    Takes no lock (every jsafe write is an atomic rename). Integers come
    back as ``int`` of any size; other numbers as ``float``, or as
    ``decimal.Decimal`` from their exact text with ``decimals="decimal"``.
    A JSON Lines file (``.jsonl``, ``.ndjson``) reads as the list of its
    values. A missing file returns ``default`` or raises :class:`NotFound`;
    a corrupt one raises :class:`Corrupt`, or with ``recover=True`` is
    quarantined and replaced by its newest valid backup first.
    """
    return _jsafe.read(
        _path(path),
        filter,
        vars or None,
        default is not MISSING,
        None if default is MISSING else default,
        recover,
        decimals,
        timeout,
        _held(),
    )


def write(path: PathLike, obj: Any, *, timeout: Optional[float] = DEFAULT_TIMEOUT) -> bool:
    """Replace the content with ``obj``, in the file's own style. A corrupt
    file is moved to ``.jsafe/quarantine/`` first. Returns whether a new
    version was written (False: it was already equal)."""
    return _jsafe.write(_path(path), obj, timeout, _held())


def merge(path: PathLike, patch: Dict[str, Any], *, timeout: Optional[float] = DEFAULT_TIMEOUT) -> bool:
    """Apply an RFC 7386 merge patch (``None`` removes a key); a missing file
    starts as ``{}``. Only what the patch names is rewritten: every other
    byte of the file stays as it was. Returns whether it changed the file."""
    return _jsafe.merge(_path(path), patch, timeout, _held())


def update(
    path: PathLike,
    filter: str,
    *,
    default: Any = None,
    recover: bool = False,
    timeout: Optional[float] = DEFAULT_TIMEOUT,
    **vars: Any,
) -> bool:
    """Store the one output of the jq ``filter`` run on the current content,
    with ``$name`` bound to each keyword argument's value, e.g.
    ``update(p, ".count += $n", n=1)``. A missing file starts as ``default``
    (``{}`` when None). What the filter did not touch keeps its bytes.
    Raises :class:`FilterHalted` when the filter halts, :class:`InvalidInput`
    when it fails or does not produce exactly one value (nothing written).
    Returns whether it changed the file."""
    return _jsafe.update(
        _path(path),
        filter,
        vars or None,
        {} if default is None else default,
        recover,
        timeout,
        _held(),
    )


def append(path: PathLike, *objs: Any, timeout: Optional[float] = DEFAULT_TIMEOUT) -> None:
    """Append each value as one compact line of the JSON Lines file ``path``
    (created when missing), all in one write, then fsync. O(1): the file is
    not read or rewritten."""
    _jsafe.append(_path(path), list(objs), timeout, _held())


class Lock:
    """``with jsafe.lock(path):`` holds ``path``'s lock, the same one every
    jsafe change of ``path`` takes, so that several steps happen as one.

    Inside the block, jsafe calls on ``path`` made in the same thread or
    asyncio task use the held lock instead of waiting for it. Child
    processes started inside the block get it too, as ``jsafe lock`` hands
    it down: ``JSAFE_LOCK_FD`` names an inheritable descriptor, ``fd``.
    ``subprocess`` closes descriptors by default, so pass
    ``pass_fds=[lk.fd]`` (or ``close_fds=False``); ``os.system`` keeps
    them. The descriptor and the variable exist only while the block runs.

    ``shared=True`` takes a shared lock (readers); changes of ``path``
    under it are refused with :class:`LockTimeout`.
    """

    def __init__(
        self,
        path: PathLike,
        *,
        shared: bool = False,
        timeout: Optional[float] = DEFAULT_TIMEOUT,
    ) -> None:
        self.path = _path(path)
        self.shared = shared
        self.timeout = timeout
        self.fd: int = -1
        self._native: Any = None
        self._token: Optional[Token] = None
        self._entry: Optional[str] = None

    def _acquire(self) -> Any:
        """Take the lock (blocking; the GIL is released while it waits)."""
        return _jsafe.lock(self.path, self.shared, self.timeout, _held())

    def _install(self, native: Any) -> None:
        """Make the lock known to calls in this context and to children."""
        self._native = native
        try:
            self.fd, entry = native.hand_down()
        except BaseException:
            native.release()
            raise
        with _ENV_GUARD:
            outer = os.environ.get(LOCK_ENV)
            os.environ[LOCK_ENV] = f"{outer},{entry}" if outer else entry
            _OWN_ENTRIES.add(entry)
        self._entry = entry
        self._token = _HELD.set(_HELD.get() + (native,))

    def _uninstall(self) -> None:
        if self._token is not None:
            try:
                _HELD.reset(self._token)
            except ValueError:
                # Left in another context (asyncio): drop it by identity.
                _HELD.set(tuple(h for h in _HELD.get() if h is not self._native))
            self._token = None
        if self._entry is not None:
            with _ENV_GUARD:
                now = os.environ.get(LOCK_ENV, "")
                rest = [e for e in now.split(",") if e and e != self._entry]
                if rest:
                    os.environ[LOCK_ENV] = ",".join(rest)
                else:
                    os.environ.pop(LOCK_ENV, None)
                _OWN_ENTRIES.discard(self._entry)
            self._entry = None
        if self._native is not None:
            self._native.release()
        self.fd = -1

    def __enter__(self) -> "Lock":
        self._install(self._acquire())
        return self

    def __exit__(self, *exc: Any) -> None:
        self._uninstall()


def lock(path: PathLike, *, shared: bool = False, timeout: Optional[float] = DEFAULT_TIMEOUT) -> Lock:
    """See :class:`Lock`."""
    return Lock(path, shared=shared, timeout=timeout)


class Edit:
    """``with jsafe.edit(path) as doc:`` holds ``path``'s lock for the block,
    yields the document as mutable Python objects, and on normal exit writes
    it back through the write core; an exception leaves the file untouched.

    Change ``doc`` in place (a new object bound to the name is not seen).
    Keys, order, number text (``1.10``, ``1e3``, big integers), string
    escapes and spacing that the block did not change come back byte for
    byte: the differences are written as a merge patch spliced into the
    file. A missing file starts as ``default`` (``{}`` when None). After the
    block, ``changed`` says whether a new version was written.
    """

    def __init__(
        self,
        path: PathLike,
        *,
        default: Any = None,
        recover: bool = False,
        decimals: str = "float",
        timeout: Optional[float] = DEFAULT_TIMEOUT,
    ) -> None:
        self.path = _path(path)
        self.default = {} if default is None else default
        self.recover = recover
        self.decimals = decimals
        self.doc: Any = None
        self.changed = False
        self._lock = Lock(path, timeout=timeout)
        self._session: Any = None

    def _open(self, native_lock: Any) -> Any:
        return _jsafe.edit_open(self.path, native_lock, self.default, self.recover, self.decimals)

    def __enter__(self) -> Any:
        self._lock._install(self._lock._acquire())
        try:
            self._session = self._open(self._lock._native)
            self.doc = self._session.document()
        except BaseException:
            self._lock._uninstall()
            raise
        return self.doc

    def _commit(self) -> None:
        self.changed = self._session.commit(self.doc, self._lock._native)

    def __exit__(self, exc_type: Any, *rest: Any) -> None:
        try:
            if exc_type is None:
                self._commit()
        finally:
            self._lock._uninstall()


def edit(
    path: PathLike,
    *,
    default: Any = None,
    recover: bool = False,
    decimals: str = "float",
    timeout: Optional[float] = DEFAULT_TIMEOUT,
) -> Edit:
    """See :class:`Edit`."""
    return Edit(path, default=default, recover=recover, decimals=decimals, timeout=timeout)


class Watch:
    """Iterator of the versions of a document as they are committed: the
    current one first (unless ``changes_only``), then each new one; with a
    filter, the list of its outputs, handed out only when they differ from
    the last. Only whole, valid versions are seen; several changes in quick
    succession may show as their last version. Stops when ``timeout``
    seconds pass without a new version (None: never). The watch is set up
    when this object is made, so no change after that is missed."""

    def __init__(
        self,
        path: PathLike,
        filter: Optional[str] = None,
        *,
        changes_only: bool = False,
        timeout: Optional[float] = None,
        decimals: str = "float",
        **vars: Any,
    ) -> None:
        self.path = _path(path)
        self.timeout = timeout
        self._native = _jsafe.Watcher(self.path, filter, vars or None, decimals)
        if changes_only:
            self._native.next_version(0)

    def __iter__(self) -> "Watch":
        return self

    def __next__(self) -> Any:
        v = self._native.next_version(self.timeout)
        if v is None:
            raise StopIteration
        return v

    def next(self, timeout: Optional[float] = None) -> Any:
        """The next version, or None when ``timeout`` seconds pass first."""
        return self._native.next_version(timeout)


def watch(
    path: PathLike,
    filter: Optional[str] = None,
    *,
    changes_only: bool = False,
    timeout: Optional[float] = None,
    decimals: str = "float",
    **vars: Any,
) -> Watch:
    """See :class:`Watch`."""
    return Watch(path, filter, changes_only=changes_only, timeout=timeout, decimals=decimals, **vars)


@dataclass(frozen=True)
class FileStatus:
    """What ``jsafe.status`` found for one file."""

    path: str
    exists: Optional[bool]
    valid: Optional[bool]
    size: Optional[int]
    #: "none" (no lock file), "free", "held", "held-shared" or "error".
    lock: str
    holder_pid: Optional[int]
    holder_command: Optional[str]
    lock_pids: List[int]
    backups: int
    newest_backup: Optional[str]
    #: One line per problem (corrupt content, an unreadable state dir, ...).
    problems: List[str]

    @property
    def ok(self) -> bool:
        return not self.problems


def status(paths: Union[PathLike, Iterable[PathLike]]) -> List[FileStatus]:
    """The state of each file: content, lock and its holder, backups. Never
    waits and never creates anything."""
    if isinstance(paths, (str, bytes)) or hasattr(paths, "__fspath__"):
        paths = [paths]  # type: ignore[list-item]
    out = []
    for p in paths:  # type: ignore[union-attr]
        d = _jsafe.status(_path(p))  # type: ignore[arg-type]
        d["path"] = str(d["path"])
        out.append(FileStatus(**d))
    return out


@dataclass(frozen=True)
class Backup:
    """One backup of a file (``restore(path, from_=name)`` brings it back)."""

    name: str
    #: When the version was replaced, seconds since the epoch.
    time: float
    size: int
    valid: bool
    trusted: bool


def backups(path: PathLike) -> List[Backup]:
    """The file's backups, oldest first."""
    return [Backup(*b) for b in _jsafe.backups(_path(path))]


def restore(
    path: PathLike,
    latest: bool = True,
    *,
    from_: Optional[str] = None,
    timeout: Optional[float] = DEFAULT_TIMEOUT,
) -> str:
    """Bring back the newest valid backup, or the one named ``from_``,
    through the write core (the version it replaces is backed up, or
    quarantined if corrupt). Returns the restored backup's name."""
    if from_ is None and not latest:
        raise ValueError("restore needs latest=True or from_=NAME")
    return _jsafe.restore(_path(path), from_, timeout, _held())
