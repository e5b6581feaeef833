# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
# cython: initializedcheck=False
"""Compiled wire core of klaw-core: buffer pool, 4-byte framing, header peek.

The twin of ``klaw_core._wirecore_py`` (same names, signatures, results,
exception classes, offsets and messages); the chooser ``klaw_core._wirecore``
picks one at import. One extension module, split by concern:

- ``_pool.pxi``     BufferPool (thread-safe, keeps capacity, refuses exported buffers)
- ``_framing.pxi``  pack_frame, encode_frames, split_frames, decode_frames, FrameDecoder
- ``_peek.pxi``     peek_header, peek_version
- ``_depth.pxi``    check_depth, check_envelope: the nesting-depth guard

Bounds checking is off (``boundscheck=False``), so every read of untrusted
bytes is preceded by an explicit ``needed <= end - pos`` test (subtract, never
add, so nothing can overflow). Nothing here uses ``assert`` for validation.
Results shared with the pure twin (``HeaderPeek``, ``BufferPoolStats``) are
plain-Python classes from ``klaw_core._wiretypes``: they compare equal across
twins and pickle without naming this module.
"""

cimport cython
from cpython.buffer cimport PyBUF_SIMPLE, PyBuffer_IsContiguous, PyBuffer_Release, PyObject_GetBuffer
from cpython.bytearray cimport PyByteArray_AS_STRING, PyByteArray_CheckExact, PyByteArray_FromStringAndSize, PyByteArray_GET_SIZE, PyByteArray_Resize
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_CheckExact, PyBytes_FromStringAndSize, PyBytes_GET_SIZE
from cpython.long cimport PyLong_FromLongLong, PyLong_FromUnsignedLongLong
from cpython.mem cimport PyMem_Free, PyMem_Malloc, PyMem_Realloc
from cpython.memoryview cimport PyMemoryView_Check, PyMemoryView_FromObject, PyMemoryView_GET_BUFFER
from cpython.object cimport PyObject
from cpython.ref cimport Py_DECREF, Py_INCREF
from cpython.unicode cimport PyUnicode_DecodeUTF8
from libc.stdint cimport int8_t, int16_t, int32_t, int64_t, uint8_t, uint16_t, uint32_t, uint64_t
from libc.string cimport memcmp, memcpy, memmove, memset

import msgspec

from klaw_core._wiretypes import (
    DEFAULT_MAX_DEPTH,
    DEFAULT_MAX_FRAME_SIZE,
    HEADER_FIELDS,
    MAX_FRAME_SIZE_LIMIT,
    MSGPACK_LENGTH_WIDTH,
    MSGPACK_SKIP,
    PREFIX_SIZE,
    BufferPoolStats,
    HeaderPeek,
    max_depth_error,
    max_frame_size_error,
)
from klaw_core.runtime.errors import (
    FrameTooLarge,
    KlawWireError,
    MalformedHeader,
    MalformedPayload,
    NestingTooDeep,
    TruncatedFrame,
)

cdef extern from "Python.h":
    # Fields of the public (non-limited) CPython structs used below.
    ctypedef struct PyByteArrayObject:
        Py_ssize_t ob_alloc
        char *ob_bytes
        char *ob_start
        Py_ssize_t ob_exports
    void Py_SET_SIZE(object o, Py_ssize_t size)
    Py_ssize_t Py_SIZE(object o)
    Py_ssize_t Py_REFCNT(object o)
    int PyGC_Disable()
    int PyGC_Enable()


__all__ = [
    "DEFAULT_MAX_DEPTH",
    "DEFAULT_MAX_FRAME_SIZE",
    "MAX_FRAME_SIZE_LIMIT",
    "PREFIX_SIZE",
    "BufferPool",
    "BufferPoolStats",
    "FrameDecoder",
    "HeaderPeek",
    "check_depth",
    "check_envelope",
    "decode_frames",
    "encode_frames",
    "encode_into",
    "pack_frame",
    "peek_header",
    "peek_version",
    "split_frames",
]

# The wire's constants, defined once in klaw_core._wiretypes, copied into C
# globals at import: the hot paths read a C variable, never a Python name.
cdef Py_ssize_t _PREFIX = PREFIX_SIZE
cdef Py_ssize_t _LIMIT = MAX_FRAME_SIZE_LIMIT
cdef Py_ssize_t _HEADER_FIELDS = HEADER_FIELDS
if _PREFIX != 4:  # _load32/_store32 read and write exactly 4 bytes
    raise ImportError(f"the compiled wire core reads 4-byte prefixes, not {_PREFIX}")

# Module-level references looked up once (C globals, no dict lookups per call).
cdef object _HeaderPeek = HeaderPeek
cdef object _BufferPoolStats = BufferPoolStats
cdef object _ValidationError = msgspec.ValidationError
cdef tuple _MSGSPEC_DECODERS = (msgspec.msgpack.Decoder, msgspec.json.Decoder)
cdef tuple _MSGSPEC_ENCODERS = (msgspec.msgpack.Encoder, msgspec.json.Encoder)

# Small process-wide caches (the last channel id, the last scratch offset) are
# only safe while the GIL serialises their readers and writers.
cdef extern from *:
    """
    #ifdef Py_GIL_DISABLED
    #define KLAW_GIL_CACHES 0
    #else
    #define KLAW_GIL_CACHES 1
    #endif
    """
    bint KLAW_GIL_CACHES


# ------------------------------------------------------------------ helpers


cdef inline uint32_t _load32(const unsigned char *p) noexcept nogil:
    return (<uint32_t>p[0] << 24) | (<uint32_t>p[1] << 16) | (<uint32_t>p[2] << 8) | <uint32_t>p[3]


cdef inline uint64_t _load64(const unsigned char *p) noexcept nogil:
    return (<uint64_t>_load32(p) << 32) | <uint64_t>_load32(p + 4)


cdef inline void _store32(unsigned char *p, uint32_t v) noexcept nogil:
    p[0] = <unsigned char>(v >> 24)
    p[1] = <unsigned char>(v >> 16)
    p[2] = <unsigned char>(v >> 8)
    p[3] = <unsigned char>v


cdef int _check_max_frame_size(Py_ssize_t max_frame_size) except -1:
    if max_frame_size < 0 or max_frame_size > _LIMIT:
        raise max_frame_size_error(max_frame_size)
    return 0


cdef object _byte_view(object data):
    """A flat unsigned-byte memoryview of any C-contiguous buffer (shares ``data``'s memory)."""
    cdef object view = PyMemoryView_FromObject(data)
    cdef Py_buffer *b = PyMemoryView_GET_BUFFER(view)
    if not PyBuffer_IsContiguous(b, b'C'):
        raise BufferError("the input buffer is not C-contiguous")
    if b.ndim != 1 or b.format == NULL or b.format[0] != b'B' or b.format[1] != 0:
        view = view.cast("B")
    return view


cdef extern from *:
    """
    /* A memoryview of `size` bytes at `start` inside `base`, a flat 1-D unsigned
       byte view, registered on base's managed buffer (which keeps the exporter
       alive) exactly as CPython's mbuf_add_view + init_slice do for base[a:b].

       The direct path fills the new view from base's fields instead of running
       the generic ndim/shape/flags set-up, saving about 15% of a frame's cost in
       split_frames. It relies on the PyMemoryViewObject layout, which has been
       the same from 3.3 through 3.14; other versions, free-threaded builds and
       PyPy take the public-API path, whose result is identical. */
    #if !defined(PYPY_VERSION) && !defined(Py_GIL_DISABLED) && PY_VERSION_HEX < 0x030F0000
    #define KLAW_DIRECT_SUBVIEW 1
    #else
    #define KLAW_DIRECT_SUBVIEW 0
    #endif

    static CYTHON_INLINE PyObject *klaw_subview(PyObject *base, char *start, Py_ssize_t size) {
    #if KLAW_DIRECT_SUBVIEW
        PyMemoryViewObject *src = (PyMemoryViewObject *)base;
        PyMemoryViewObject *mv = PyObject_GC_NewVar(PyMemoryViewObject, &PyMemoryView_Type, 3);
        if (mv == NULL) return NULL;
        mv->hash = -1;
        mv->flags = src->flags;        /* 1-D, unit stride: C and Fortran contiguous */
        mv->exports = 0;
        mv->weakreflist = NULL;
        mv->view = src->view;          /* obj (borrowed, owned by mbuf), format, readonly... */
        mv->view.buf = start;
        mv->view.len = size;
        mv->ob_array[0] = size;        /* shape */
        mv->ob_array[1] = 1;           /* strides */
        mv->ob_array[2] = 0;
        mv->view.shape = &mv->ob_array[0];
        mv->view.strides = &mv->ob_array[1];
        mv->view.suboffsets = NULL;
        Py_INCREF(src->mbuf);
        mv->mbuf = src->mbuf;
        src->mbuf->exports++;
        PyObject_GC_Track((PyObject *)mv);
        return (PyObject *)mv;
    #else
        PyObject *mv = PyMemoryView_FromObject(base);
        if (mv == NULL) return NULL;
        Py_buffer *view = PyMemoryView_GET_BUFFER(mv);
        view->buf = start;
        view->len = size;
        view->shape[0] = size;
        return mv;
    #endif
    }
    """
    object _subview "klaw_subview"(object base, char *start, Py_ssize_t size)
    bint KLAW_DIRECT_SUBVIEW


include "_pool.pxi"
include "_framing.pxi"
include "_peek.pxi"
include "_depth.pxi"

_load_table(_SKIP, MSGPACK_SKIP)
_load_table(_WIDTH, MSGPACK_LENGTH_WIDTH)
