# BufferPool: reusable bytearray encode buffers (included by _wirecore_c.pyx).
#
# Free buffers live in a C array of owned references; outstanding buffers are
# remembered by address only (compared, never dereferenced), so a buffer the
# caller drops without releasing is not kept alive by the pool. Both arrays grow
# only past their high-water mark, so a steady acquire/release cycle performs
# no allocation at all. Every state change runs in a critical section on the
# pool: free with the GIL (these sections never call back into Python code, so
# the GIL already makes them atomic), the pool's own mutex on free-threaded builds.


cdef inline void _empty_bytearray(object buf) noexcept:
    """Set a non-exported bytearray's length to 0, keeping its memory (capacity)."""
    cdef PyByteArrayObject *ba = <PyByteArrayObject *>buf
    # Rewind a start offset left by ``del buf[:n]`` so the whole allocation is usable.
    ba.ob_start = ba.ob_bytes
    Py_SET_SIZE(buf, 0)
    if ba.ob_bytes != NULL:
        ba.ob_bytes[0] = 0


@cython.final
@cython.freelist(8)
@cython.auto_pickle(False)
cdef class _Lease:
    """What ``BufferPool.lease()`` returns: acquires on entry, releases on exit."""

    cdef BufferPool _pool
    cdef object _buf

    def __enter__(self):
        if self._buf is not None:
            raise RuntimeError("this lease is already in use")
        self._buf = self._pool.acquire()
        return self._buf

    def __exit__(self, exc_type, exc, tb):
        buf = self._buf
        self._buf = None
        if buf is not None:
            self._pool.release(buf)


@cython.final
cdef class BufferPool:
    """A thread-safe pool of reusable ``bytearray`` encode buffers.

    ``acquire`` returns an empty (length 0) buffer; ``release`` gives it back.
    The compiled twin keeps each buffer's capacity across uses (it sets the
    length to 0 instead of freeing the memory), so a steady acquire/release
    cycle allocates nothing; the pure twin cannot (Python can only empty a
    bytearray by freeing its memory), so there the pool saves object churn,
    not memory traffic.

    Rules: only buffers acquired from this pool and not yet released may be
    released (anything else raises ``ValueError``; a non-bytearray raises
    ``TypeError``). A buffer that still has a live exported view (say a
    ``memoryview``) when released is dropped, never reissued, so the view can
    never see another message's bytes. A full pool drops the buffer.

    Args:
        buffer_size: capacity of a newly created buffer, in bytes.
        max_pool: most buffers kept for reuse.

    Raises:
        ValueError: for a negative ``buffer_size`` or ``max_pool``.

    Example:
        >>> pool = BufferPool(buffer_size=256, max_pool=2)
        >>> with pool.lease() as buf:
        ...     buf += b"hello"
        >>> pool.stats().in_pool
        1
    """

    cdef Py_ssize_t _buffer_size
    cdef Py_ssize_t _max_pool
    cdef PyObject **_free          # owned references, _nfree of them
    cdef Py_ssize_t _nfree
    cdef Py_ssize_t _free_cap
    cdef void **_out               # addresses of outstanding buffers (identity only)
    cdef Py_ssize_t _nout
    cdef Py_ssize_t _out_cap
    cdef Py_ssize_t _created
    cdef Py_ssize_t _reused
    cdef Py_ssize_t _released
    cdef Py_ssize_t _dropped

    def __cinit__(self, *args, **kwargs):
        self._free = NULL
        self._out = NULL

    def __init__(self, Py_ssize_t buffer_size=4096, Py_ssize_t max_pool=64):
        if buffer_size < 0:
            raise ValueError(f"buffer_size must be >= 0, got {buffer_size}")
        if max_pool < 0:
            raise ValueError(f"max_pool must be >= 0, got {max_pool}")
        self._buffer_size = buffer_size
        self._max_pool = max_pool

    def __dealloc__(self):
        cdef Py_ssize_t i
        if self._free != NULL:
            for i in range(self._nfree):
                Py_DECREF(<object>self._free[i])
            PyMem_Free(self._free)
            self._free = NULL
        if self._out != NULL:
            PyMem_Free(self._out)
            self._out = NULL

    @property
    def buffer_size(self):
        """Capacity of a newly created buffer."""
        return self._buffer_size

    @property
    def max_pool(self):
        """Most buffers the pool keeps."""
        return self._max_pool

    cdef int _remember(self, void *addr) except -1:
        # Called with the lock held.
        cdef Py_ssize_t cap
        cdef void **grown
        if self._nout == self._out_cap:
            cap = 16 if self._out_cap == 0 else self._out_cap * 2
            grown = <void **>PyMem_Realloc(self._out, <size_t>cap * sizeof(void *))
            if grown == NULL:
                raise MemoryError()
            self._out = grown
            self._out_cap = cap
        self._out[self._nout] = addr
        self._nout += 1
        return 0

    cdef bint _forget(self, void *addr) noexcept:
        # Called with the lock held. Search from the most recent acquire.
        cdef Py_ssize_t i = self._nout - 1
        while i >= 0:
            if self._out[i] == addr:
                self._nout -= 1
                self._out[i] = self._out[self._nout]
                return True
            i -= 1
        return False

    cdef int _keep(self, object buf) except -1:
        # Called with the lock held and room to spare below max_pool.
        cdef Py_ssize_t cap
        cdef PyObject **grown
        if self._nfree == self._free_cap:
            cap = 8 if self._free_cap == 0 else self._free_cap * 2
            if cap > self._max_pool:
                cap = self._max_pool
            grown = <PyObject **>PyMem_Realloc(self._free, <size_t>cap * sizeof(PyObject *))
            if grown == NULL:
                raise MemoryError()
            self._free = grown
            self._free_cap = cap
        Py_INCREF(buf)
        self._free[self._nfree] = <PyObject *>buf
        self._nfree += 1
        return 0

    def acquire(self):
        """Return an empty buffer, reused from the pool when one is free.

        Returns:
            A ``bytearray`` of length 0 that the caller owns until ``release``.
        """
        cdef object buf
        cdef PyObject *raw
        with cython.critical_section(self):
            if self._nfree > 0:
                self._nfree -= 1
                raw = self._free[self._nfree]
                buf = <object>raw
                Py_DECREF(buf)  # the array's reference moves to ``buf``
                self._reused += 1
            else:
                buf = PyByteArray_FromStringAndSize(NULL, self._buffer_size)
                if self._buffer_size > 0:
                    _empty_bytearray(buf)
                self._created += 1
            self._remember(<void *>buf)
        return buf

    def release(self, buf):
        """Give ``buf`` back to the pool.

        Args:
            buf: a buffer returned by this pool's ``acquire`` and not released since.

        Raises:
            TypeError: ``buf`` is not a ``bytearray``.
            ValueError: ``buf`` did not come from this pool, or was already released.
        """
        if not PyByteArray_CheckExact(buf):
            raise TypeError(f"release() takes a bytearray, not {type(buf).__name__}")
        cdef bint known
        with cython.critical_section(self):
            known = self._forget(<void *>buf)
            if known:
                self._released += 1
                if (<PyByteArrayObject *>buf).ob_exports > 0:
                    # A live view still exports the buffer: never hand it out again.
                    self._dropped += 1
                elif self._nfree < self._max_pool:
                    _empty_bytearray(buf)
                    self._keep(buf)
                else:
                    self._dropped += 1
        if not known:
            raise ValueError("buffer was not acquired from this pool, or was already released")

    def lease(self):
        """Context manager: ``acquire`` on entry, ``release`` on exit.

        Returns:
            A context manager whose ``with`` target is the acquired buffer;
            the buffer goes back to the pool when the block ends, even on error.

        Example:
            >>> pool = BufferPool()
            >>> with pool.lease() as buf:
            ...     len(buf)
            0
        """
        cdef _Lease lease = _Lease.__new__(_Lease)
        lease._pool = self
        return lease

    def stats(self):
        """Return the pool's counters (one consistent snapshot).

        Returns:
            Buffers created, reused, released and dropped so far, how many sit
            in the pool and how many are handed out, and the pool's settings.
        """
        cdef Py_ssize_t created, reused, released, dropped, in_pool, outstanding
        with cython.critical_section(self):
            created = self._created
            reused = self._reused
            released = self._released
            dropped = self._dropped
            in_pool = self._nfree
            outstanding = self._nout
        return _BufferPoolStats(
            created=created,
            reused=reused,
            released=released,
            dropped=dropped,
            in_pool=in_pool,
            outstanding=outstanding,
            buffer_size=self._buffer_size,
            max_pool=self._max_pool,
        )

    def __reduce__(self):
        raise TypeError(f"cannot pickle {type(self).__name__!r} object")

    def __repr__(self):
        s = self.stats()
        return f"BufferPool(buffer_size={s.buffer_size}, max_pool={s.max_pool}, in_pool={s.in_pool}, outstanding={s.outstanding})"
