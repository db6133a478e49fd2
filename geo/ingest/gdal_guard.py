"""Lock pyogrio's GDAL down for the whole process: three vector drivers, no network, no odd paths.

An uploaded file is read only by the reader of its declared format (DESIGN.md). GDAL picks its
driver by content and can follow references to other files and URLs (an OGR VRT names any file; a
GeoJSON "link" CRS is fetched over HTTP; `/vsicurl/` paths open connections), so the ingest core
calls `harden()` once, when it is imported:

- every GDAL driver except GeoJSON, GPKG and ESRI Shapefile is deregistered (and listed in
  GDAL_SKIP / OGR_SKIP, so a later GDALAllRegister() skips them again);
- the network file systems (`/vsicurl/`, `/vsis3/`, `/vsigs/`, `/vsiaz/`, … and the other
  special ones except `/vsimem/` and `/vsizip/`) are removed from GDAL's file manager, and
  `CPL_VSIL_CURL_ALLOWED_FILENAME` names no real file, so `/vsicurl/` refuses every URL even if
  a handler came back;
- every CPLHTTPFetch() (GeoJSON link CRSs, OSR URL imports, WFS …) is answered by a callback that
  fails at once without connecting;
- PROJ networking is off (in pyogrio's GDAL and in pyproj).

GDAL has no config option that stops CPLHTTPFetch, and GDAL_SKIP set after pyogrio's import-time
GDALAllRegister() changes nothing, so the driver and HTTP parts go through GDAL's C API (ctypes on
the libgdal that pyogrio loaded). `harden()` checks its own work and raises GdalNotHardened when
any part is missing; GIS imports then refuse to run (fail closed).
"""

from __future__ import annotations

import ctypes
import threading
from pathlib import Path

ALLOWED_DRIVERS = ("GeoJSON", "GPKG", "ESRI Shapefile")
KEPT_PREFIXES = ("/vsimem/", "/vsizip/")
CONFIG = {
    "CPL_VSIL_CURL_ALLOWED_FILENAME": "/djmap/network-access-is-disabled",
    "CPL_VSIL_CURL_ALLOWED_EXTENSIONS": ".djmap-network-disabled",
    "GDAL_HTTP_MAX_RETRY": "0",
    "GDAL_HTTP_TIMEOUT": "1",
    "GDAL_HTTP_CONNECTTIMEOUT": "1",
    "GDAL_ALLOW_REMOTE_RESOURCE_TO_ACCESS_LOCAL_FILE": "NO",
    "OGR_SQLITE_ALLOW_EXTERNAL_ACCESS": "NO",
    "CPL_ALLOW_VSISTDIN": "NO",
    "GDAL_VRT_ENABLE_PYTHON": "NO",
    "PROJ_NETWORK": "OFF",
}
REFUSED = b"djmap: network access is disabled for GDAL"


class GdalNotHardened(RuntimeError):
    """pyogrio's GDAL could not be locked down; GIS imports stay disabled."""


class _HTTPResult(ctypes.Structure):
    """GDAL's CPLHTTPResult (cpl_http.h)."""

    _fields_ = [
        ("nStatus", ctypes.c_int),
        ("pszContentType", ctypes.c_void_p),
        ("pszErrBuf", ctypes.c_void_p),
        ("nDataLen", ctypes.c_int),
        ("nDataAlloc", ctypes.c_int),
        ("pabyData", ctypes.c_void_p),
        ("papszHeaders", ctypes.c_void_p),
        ("nMimePartCount", ctypes.c_int),
        ("pasMimePart", ctypes.c_void_p),
    ]


_FETCH = ctypes.CFUNCTYPE(
    ctypes.c_void_p, ctypes.c_char_p, *([ctypes.c_void_p] * 6)
)  # CPLHTTPFetchCallbackFunc
_lock = threading.Lock()
_state: dict[str, object] = {}
refused_urls: list[str] = []  # what GDAL tried to fetch (kept for the log and the tests)


def _libgdal() -> ctypes.CDLL:
    """The libgdal pyogrio runs on (already mapped into this process by pyogrio's import)."""
    import pyogrio

    mapped = {
        line.split(None, 5)[5].strip()
        for line in Path("/proc/self/maps").read_text().splitlines()
        if "libgdal" in line and len(line.split(None, 5)) == 6
    }
    pkg = Path(pyogrio.__file__).resolve().parent
    owned = (pkg, pkg.parent / "pyogrio.libs")  # the wheel's own copy (rasterio's sits beside it)
    ours = [p for p in mapped if any(Path(p).resolve().is_relative_to(o) for o in owned)]
    candidates = ours or (sorted(mapped) if len(mapped) == 1 else [])
    if len(candidates) != 1:
        raise GdalNotHardened(f"cannot tell which libgdal pyogrio uses (mapped: {sorted(mapped)})")
    lib = ctypes.CDLL(candidates[0])
    _signatures(lib)
    return lib


def _signatures(lib: ctypes.CDLL) -> None:
    lib.GDALGetDriverCount.restype = ctypes.c_int
    lib.GDALGetDriver.restype = ctypes.c_void_p
    lib.GDALGetDriver.argtypes = [ctypes.c_int]
    lib.GDALGetDriverShortName.restype = ctypes.c_char_p
    lib.GDALGetDriverShortName.argtypes = [ctypes.c_void_p]
    lib.GDALDeregisterDriver.argtypes = [ctypes.c_void_p]
    lib.VSIGetFileSystemsPrefixes.restype = ctypes.POINTER(ctypes.c_char_p)
    lib.VSIRemovePluginHandler.argtypes = [ctypes.c_char_p]
    lib.VSIRemovePluginHandler.restype = ctypes.c_int
    lib.VSICalloc.restype = ctypes.c_void_p
    lib.VSICalloc.argtypes = [ctypes.c_size_t, ctypes.c_size_t]
    lib.CPLStrdup.restype = ctypes.c_void_p
    lib.CPLStrdup.argtypes = [ctypes.c_char_p]
    lib.CPLHTTPSetFetchCallback.argtypes = [_FETCH, ctypes.c_void_p]
    lib.CPLHTTPSetFetchCallback.restype = None


def driver_names(lib: ctypes.CDLL) -> list[str]:
    """Short names of the registered GDAL drivers."""
    count = lib.GDALGetDriverCount()
    return [lib.GDALGetDriverShortName(lib.GDALGetDriver(i)).decode() for i in range(count)]


def vsi_prefixes(lib: ctypes.CDLL) -> list[str]:
    """The special file systems GDAL still knows (`/vsimem/`, `/vsizip/`, …)."""
    array = lib.VSIGetFileSystemsPrefixes()
    out: list[str] = []
    i = 0
    while array[i]:
        out.append(array[i].decode())
        i += 1
    return out


def _deregister_drivers(lib: ctypes.CDLL) -> None:
    for i in reversed(range(lib.GDALGetDriverCount())):
        driver = lib.GDALGetDriver(i)
        if lib.GDALGetDriverShortName(driver).decode() not in ALLOWED_DRIVERS:
            lib.GDALDeregisterDriver(driver)


def _remove_file_systems(lib: ctypes.CDLL) -> None:
    for prefix in vsi_prefixes(lib):
        if prefix not in KEPT_PREFIXES:
            lib.VSIRemovePluginHandler(prefix.encode())


def _make_refusal(lib: ctypes.CDLL) -> object:
    """A CPLHTTPFetch callback that fails every request without connecting."""

    def refuse(url: bytes | None, *_: object) -> int:
        refused_urls.append((url or b"").decode("utf-8", "replace")[:200])
        result = lib.VSICalloc(1, ctypes.sizeof(_HTTPResult))
        record = _HTTPResult.from_address(result)
        record.nStatus = 1
        record.pszErrBuf = lib.CPLStrdup(REFUSED)
        return int(result)

    return _FETCH(refuse)


def _config(skipped: list[str]) -> None:
    import pyogrio

    names = " ".join(n for n in skipped if " " not in n)
    pyogrio.set_gdal_config_options({**CONFIG, "GDAL_SKIP": names, "OGR_SKIP": names})


def _pyproj_offline() -> None:
    from pyproj import network

    network.set_network_enabled(False)


def _verify(lib: ctypes.CDLL) -> None:
    extra = sorted(set(driver_names(lib)) - set(ALLOWED_DRIVERS))
    left = sorted(set(vsi_prefixes(lib)) - set(KEPT_PREFIXES))
    if extra or left:
        raise GdalNotHardened(f"GDAL still has drivers {extra} and file systems {left}")


def harden() -> None:
    """Lock pyogrio's GDAL down once per process (idempotent, thread-safe); see the module doc."""
    with _lock:
        if _state.get("done"):
            return
        lib = _libgdal()
        skipped = [n for n in driver_names(lib) if n not in ALLOWED_DRIVERS]
        _config(skipped)
        _deregister_drivers(lib)
        _remove_file_systems(lib)
        callback = _make_refusal(lib)
        lib.CPLHTTPSetFetchCallback(callback, None)
        _state["callback"] = callback  # keep the ctypes thunk alive as long as GDAL may call it
        _pyproj_offline()
        _verify(lib)
        _state["done"] = True


def ensure_hardened() -> None:
    """harden(), turning any failure into GdalNotHardened (callers refuse GIS files then)."""
    try:
        harden()
    except GdalNotHardened:
        raise
    except (OSError, AttributeError, ValueError) as exc:
        raise GdalNotHardened(f"cannot lock GDAL down: {exc}") from exc
