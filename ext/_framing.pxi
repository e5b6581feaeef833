# Length-prefixed framing (included by _wirecore_c.pyx).
#
# A frame is a 4-byte big-endian length, then that many bytes. Every prefix is
# checked against the maximum before its body is looked at, and every body
# length against the bytes remaining (``size > end - body``: subtraction, so no
# overflow is possible).


cdef inline void _set_len(object buf, Py_ssize_t n) noexcept:
    """Set a bytearray's length to ``n`` <= its capacity without reallocating."""
    cdef PyByteArrayObject *ba = <PyByteArrayObject *>buf
    Py_SET_SIZE(buf, n)
    if ba.ob_start != NULL:
        ba.ob_start[n] = 0


cdef Py_ssize_t _scratch_offset(Py_ssize_t usable) noexcept:
    """Offset ``o`` with ``(Py_ssize_t)(1.5 * o) == usable``, or -1 when none exists."""
    if usable % 3 == 0:
        return usable // 3 * 2
    if usable % 3 == 1:
        return (usable - 1) // 3 * 2 + 1
    return -1


cdef Py_ssize_t _prepare_encode(object buf, Py_ssize_t start) except -1:
    """Open a scratch window in ``buf`` for the next ``encode_into``; return its offset.

    msgspec's ``Encoder.encode_into(obj, buf, offset)`` with ``offset < len(buf)``
    first calls ``PyByteArray_Resize(buf, max(8, int(1.5 * offset)))``, and grows
    by ``1.5 * needed`` whenever it runs out. On a roomy buffer, CPython turns a
    request below half the allocation into a shrinking ``realloc`` (its "major
    downsize" rule), so encoding at ``start + 4`` would throw a pooled buffer's
    capacity away and then grow it back, message after message. Instead we set
    the length to the whole capacity ``L`` and encode at the offset ``o`` where
    ``int(1.5 * o) == L``: msgspec's resize is then a no-op, the message lands in
    ``[o, L)``, and the caller moves it down behind its prefix. A message that
    does not fit makes msgspec grow the buffer (amortised, geometric).
    """
    cdef PyByteArrayObject *ba = <PyByteArrayObject *>buf
    cdef Py_ssize_t need = start + _PREFIX
    cdef Py_ssize_t usable = 0, offset = -1, grow
    if ba.ob_exports > 0:
        raise BufferError("Existing exports of data: object cannot be re-sized")
    if ba.ob_start != ba.ob_bytes:
        # ``del buf[:n]`` leaves a start offset; move the bytes back to the front.
        memmove(ba.ob_bytes, ba.ob_start, <size_t>start)
        ba.ob_start = ba.ob_bytes
    while True:
        usable = ba.ob_alloc - 1
        if usable % 3 == 2:
            usable -= 1
        offset = _scratch_offset(usable) if usable >= 12 else -1
        if offset >= need:
            break
        grow = 2 * ba.ob_alloc
        if grow < 3 * need + 64:
            grow = 3 * need + 64
        PyByteArray_Resize(buf, grow)  # raises (MemoryError) by itself on failure
    Py_SET_SIZE(buf, usable)
    return offset


def pack_frame(payload, Py_ssize_t max_frame_size=DEFAULT_MAX_FRAME_SIZE):
    """Return one frame: the 4-byte big-endian length of ``payload``, then ``payload``.

    Args:
        payload: the frame body (any C-contiguous bytes-like object).
        max_frame_size: largest body allowed.

    Returns:
        A new ``bytes`` object of ``4 + len(payload)`` bytes.

    Raises:
        FrameTooLarge: the payload is longer than ``max_frame_size`` (offset 0).

    Example:
        >>> pack_frame(b"hi")
        b'\\x00\\x00\\x00\\x02hi'
    """
    _check_max_frame_size(max_frame_size)
    cdef Py_buffer view
    cdef object out
    cdef unsigned char *dst
    PyObject_GetBuffer(payload, &view, PyBUF_SIMPLE)
    try:
        if view.len > max_frame_size:
            raise FrameTooLarge.encoded(view.len, max_frame_size, 0)
        out = PyBytes_FromStringAndSize(NULL, view.len + _PREFIX)
        dst = <unsigned char *>PyBytes_AS_STRING(out)
        _store32(dst, <uint32_t>view.len)
        memcpy(dst + _PREFIX, view.buf, <size_t>view.len)
    finally:
        PyBuffer_Release(&view)
    return out


def encode_frames(encoder, messages, buffer=None, Py_ssize_t max_frame_size=DEFAULT_MAX_FRAME_SIZE):
    """Encode ``messages`` as consecutive frames appended to ``buffer``.

    For each message: reserve the 4 prefix bytes, ``encoder.encode_into`` the
    body right after them, then write the body's length into the prefix. With
    the compiled twin a pooled buffer keeps its capacity: in steady state (same
    buffer, messages that fit) this allocates nothing.

    Args:
        encoder: a ``msgspec.msgpack.Encoder`` (anything with ``encode_into``).
        messages: the objects to encode, one frame each.
        buffer: bytearray to append to; a new one when ``None``.
        max_frame_size: largest body allowed.

    Returns:
        The buffer (``buffer`` itself when given).

    Raises:
        FrameTooLarge: a message encodes to more than ``max_frame_size`` bytes;
            the buffer is left exactly as it was before that message (earlier
            frames stay). The offset is where that frame would have started.

    Example:
        >>> import msgspec
        >>> bytes(encode_frames(msgspec.msgpack.Encoder(), [1, "a"]))
        b'\\x00\\x00\\x00\\x01\\x01\\x00\\x00\\x00\\x02\\xa1a'
    """
    _check_max_frame_size(max_frame_size)
    cdef object buf
    if buffer is None:
        buf = bytearray()
    elif not PyByteArray_CheckExact(buffer):
        raise TypeError(f"buffer must be a bytearray, not {type(buffer).__name__}")
    else:
        buf = buffer
    cdef Py_ssize_t i
    cdef bint scratch = type(encoder) in _MSGSPEC_ENCODERS
    if type(messages) is list:
        i = 0
        while i < len(<list>messages):
            _encode_one(encoder, (<list>messages)[i], buf, max_frame_size, scratch)
            i += 1
    elif type(messages) is tuple:
        for i in range(len(<tuple>messages)):
            _encode_one(encoder, (<tuple>messages)[i], buf, max_frame_size, scratch)
    else:
        for message in messages:
            _encode_one(encoder, message, buf, max_frame_size, scratch)
    return buf


# One cached int object for the scratch offset, so the steady state creates none.
cdef Py_ssize_t _offset_cache_value = -1
cdef object _offset_cache_obj = None


cdef inline object _offset_object(Py_ssize_t offset):
    """The scratch offset as a Python int, reusing the last one (no allocation
    in steady state; a pooled buffer always yields the same offset)."""
    global _offset_cache_value, _offset_cache_obj
    if KLAW_GIL_CACHES and offset == _offset_cache_value:
        return _offset_cache_obj
    cdef object obj = offset
    if KLAW_GIL_CACHES:
        _offset_cache_value = offset
        _offset_cache_obj = obj
    return obj


cdef int _encode_one(
    object encoder, object message, object buf, Py_ssize_t max_frame_size, bint scratch
) except -1:
    """Append one frame. ``scratch``: the encoder is msgspec's, whose resizing
    rules ``_prepare_encode`` relies on; any other encoder gets the plain
    "offset = end of buffer" call, exactly as the pure twin makes it."""
    cdef Py_ssize_t start = Py_SIZE(buf)
    cdef Py_ssize_t offset
    cdef Py_ssize_t size
    cdef unsigned char *p
    if scratch:
        offset = _prepare_encode(buf, start)
    else:
        offset = start + _PREFIX
        PyByteArray_Resize(buf, offset)  # BufferError while a view is exported
        memset(PyByteArray_AS_STRING(buf) + start, 0, _PREFIX)
    try:
        encoder.encode_into(message, buf, _offset_object(offset))
    except BaseException:
        _set_len(buf, start)
        raise
    size = Py_SIZE(buf) - offset
    if size > max_frame_size:
        _set_len(buf, start)
        raise FrameTooLarge.encoded(size, max_frame_size, start)
    p = <unsigned char *>PyByteArray_AS_STRING(buf)
    if offset != start + _PREFIX:
        memmove(p + start + _PREFIX, p + offset, <size_t>size)
        _set_len(buf, start + _PREFIX + size)
    _store32(p + start, <uint32_t>size)
    return 0


def encode_into(encoder, message, buffer, Py_ssize_t offset=0):
    """Encode ``message`` into ``buffer`` at ``offset``; return the bytes written.

    ``buffer`` ends right after the message. Unlike ``Encoder.encode_into`` this
    returns the size, accepts ``offset=-1`` for "append", and zero-fills a gap
    when ``offset`` is past the end instead of leaving uninitialised bytes. With
    the compiled twin, a msgspec encoder and a pooled buffer that fits, the
    buffer keeps its capacity and the steady state allocates nothing.

    Args:
        encoder: a ``msgspec.msgpack.Encoder`` (anything with ``encode_into``).
        message: the object to encode.
        buffer: the bytearray to write into.
        offset: where the message starts; ``-1`` means ``len(buffer)``.

    Returns:
        The number of bytes written: ``len(buffer) - offset`` afterwards.

    Raises:
        TypeError: ``buffer`` is not a bytearray, or the encoder cannot encode
            ``message`` (the buffer then ends at ``offset``).
        ValueError: ``offset`` is below -1.
        BufferError: ``buffer`` has a live exported view.

    Example:
        >>> import msgspec
        >>> buf = bytearray(b"head")
        >>> encode_into(msgspec.msgpack.Encoder(), [1, 2], buf, 4), bytes(buf)
        (3, b'head\\x92\\x01\\x02')
    """
    if not PyByteArray_CheckExact(buffer):
        raise TypeError(f"buffer must be a bytearray, not {type(buffer).__name__}")
    cdef Py_ssize_t length = Py_SIZE(buffer)
    cdef Py_ssize_t start = length if offset == -1 else offset
    cdef Py_ssize_t scratch_at
    cdef Py_ssize_t size
    cdef char *p
    if start < 0:
        raise ValueError(f"offset {offset} is below -1")
    if type(encoder) not in _MSGSPEC_ENCODERS:
        if start > length:
            PyByteArray_Resize(buffer, start)
            memset(PyByteArray_AS_STRING(buffer) + length, 0, <size_t>(start - length))
        try:
            encoder.encode_into(message, buffer, start)
        except BaseException:
            if Py_SIZE(buffer) > start:
                _set_len(buffer, start)
            raise
        return Py_SIZE(buffer) - start
    if (<PyByteArrayObject *>buffer).ob_exports > 0:
        raise BufferError("Existing exports of data: object cannot be re-sized")
    if start >= (<PyByteArrayObject *>buffer).ob_alloc:
        PyByteArray_Resize(buffer, start)
    else:
        _set_len(buffer, start)  # within capacity: no realloc, in either direction
    if start > length:
        memset(PyByteArray_AS_STRING(buffer) + length, 0, <size_t>(start - length))
    scratch_at = _prepare_encode(buffer, start)
    try:
        encoder.encode_into(message, buffer, _offset_object(scratch_at))
    except BaseException:
        _set_len(buffer, start)
        raise
    size = Py_SIZE(buffer) - scratch_at
    p = PyByteArray_AS_STRING(buffer)
    memmove(p + start, p + scratch_at, <size_t>size)
    _set_len(buffer, start + size)
    return size


def split_frames(data, Py_ssize_t max_frame_size=DEFAULT_MAX_FRAME_SIZE):
    """Split a batch of frames into zero-copy views of their bodies.

    Args:
        data: concatenated frames (bytes, bytearray, memoryview, any C-contiguous buffer).
        max_frame_size: largest body accepted.

    Returns:
        One ``memoryview`` per frame, into ``data`` (writable when ``data`` is).

    Raises:
        FrameTooLarge: a prefix declares more than ``max_frame_size`` bytes.
        TruncatedFrame: ``data`` ends inside a prefix or a body.

    Example:
        >>> [bytes(v) for v in split_frames(b"\\x00\\x00\\x00\\x01a\\x00\\x00\\x00\\x00")]
        [b'a', b'']
    """
    _check_max_frame_size(max_frame_size)
    cdef object base = _byte_view(data)
    cdef Py_buffer *b = PyMemoryView_GET_BUFFER(base)
    cdef char *p = <char *>b.buf
    cdef Py_ssize_t end = b.len
    cdef Py_ssize_t pos = 0
    cdef Py_ssize_t size, body
    cdef list frames = []
    # Each view is a GC-tracked object, so a large batch would trigger several
    # young-generation collections that can find nothing: the views reference
    # only ``data``'s managed buffer, and no Python code runs in this loop.
    # Collection is paused for the loop, which halves its cost on a batch of
    # 1,000 frames; the allocation count still rises, so a collection that
    # falls due runs as soon as the loop ends.
    cdef bint collecting = PyGC_Disable()
    try:
        while pos < end:
            if end - pos < _PREFIX:
                raise TruncatedFrame.in_prefix(end - pos, pos)
            size = _load32(<unsigned char *>p + pos)
            if size > max_frame_size:
                raise FrameTooLarge.declared(size, max_frame_size, pos)
            body = pos + _PREFIX
            if size > end - body:
                raise TruncatedFrame.in_body(size, end - body, pos)
            frames.append(_subview(base, p + body, size))
            pos = body + size
    finally:
        if collecting:
            PyGC_Enable()
    return frames


def decode_frames(
    data, decoder, Py_ssize_t max_frame_size=DEFAULT_MAX_FRAME_SIZE, max_depth=DEFAULT_MAX_DEPTH, bint envelopes=False
):
    """Split a batch of frames and decode each body with ``decoder.decode``.

    Frames are processed in order, so the first problem met is the one raised.
    Before the decoder sees a body, a non-recursive scan bounds its nesting
    (see :func:`check_depth`) and, with ``envelopes``, the header rules of
    :func:`peek_header` are applied (see :func:`check_envelope`).

    Args:
        data: concatenated frames (any C-contiguous buffer).
        decoder: a ``msgspec.msgpack.Decoder`` (anything with ``decode``).
        max_frame_size: largest body accepted.
        max_depth: most arrays and maps a body may nest; ``None`` turns the
            scan off.
        envelopes: every body is an envelope: refuse a header
            :func:`peek_header` refuses.

    Returns:
        The decoded objects, one per frame.

    Raises:
        FrameTooLarge: a prefix declares more than ``max_frame_size`` bytes.
        TruncatedFrame: ``data`` ends inside a prefix or a body (or, with
            ``envelopes``, a body ends inside its header).
        MalformedHeader: with ``envelopes``, a body's header is malformed
            (offset: the offending byte in ``data``).
        NestingTooDeep: a body nests deeper than ``max_depth`` (offset: where
            the first container too deep starts, in ``data``).
        PayloadValidationError: a body is valid MessagePack of the wrong type.
        MalformedPayload: a body is not valid MessagePack (or not valid UTF-8).
            Offsets are the frame's start; the decoder's exception is chained
            as ``__cause__``.
        ValueError: ``max_depth`` is below 1.

    Example:
        >>> import msgspec
        >>> decode_frames(b"\\x00\\x00\\x00\\x01\\x07", msgspec.msgpack.Decoder(int))
        [7]
    """
    _check_max_frame_size(max_frame_size)
    cdef Py_ssize_t limit = _depth_limit(max_depth)
    cdef object base = _byte_view(data)
    cdef Py_buffer *b = PyMemoryView_GET_BUFFER(base)
    cdef char *p = <char *>b.buf
    cdef Py_ssize_t end = b.len
    cdef Py_ssize_t pos = 0
    cdef Py_ssize_t size, body
    cdef list out = []
    cdef object decode = decoder.decode
    cdef object item
    cdef object window = None
    cdef Py_buffer *w
    # msgspec's decoders read their input through a buffer export and never
    # touch the object again once ``decode`` returns, except through an export
    # that holds a reference (``Raw``). So one view can serve every frame: while
    # nothing but this loop refers to it, it is moved to the next body in place
    # (msgspec itself hands ext_hook views patched the same way); otherwise, or
    # for any other decoder, each frame gets a fresh view.
    cdef bint reuse = type(decoder) in _MSGSPEC_DECODERS
    cdef Py_ssize_t decoding = -1  # start of the frame being decoded, -1 outside decode()
    try:
        while pos < end:
            if end - pos < _PREFIX:
                raise TruncatedFrame.in_prefix(end - pos, pos)
            size = _load32(<unsigned char *>p + pos)
            if size > max_frame_size:
                raise FrameTooLarge.declared(size, max_frame_size, pos)
            body = pos + _PREFIX
            if size > end - body:
                raise TruncatedFrame.in_body(size, end - body, pos)
            if envelopes:
                try:
                    _peek_buffer(<const unsigned char *>p + body, size, True)
                except KlawWireError as exc:
                    raise type(exc)(exc.reason, body + (exc.offset or 0)) from None
            if size > limit >= 0:
                _check_depth(<const unsigned char *>p + body, size, limit, body)
            if reuse and window is not None and Py_REFCNT(window) == 1:
                w = PyMemoryView_GET_BUFFER(window)
                w.buf = p + body
                w.len = size
                w.shape[0] = size
            else:
                window = _subview(base, p + body, size)
            decoding = pos
            item = decode(window)
            decoding = -1
            out.append(item)
            pos = body + size
    except (ValueError, RecursionError) as exc:  # msgspec errors are ValueErrors
        if decoding < 0:
            raise  # one of ours, or not from the decoder
        raise MalformedPayload.from_frame_decode(exc, decoding) from exc
    return out


@cython.final
cdef class FrameDecoder:
    """Incremental frame splitter for a byte stream cut at arbitrary points.

    ``feed`` returns every frame completed by the new chunk, as ``bytes``.
    Whole frames inside a chunk are sliced from it directly; only a partial
    frame at a chunk's end is buffered, and each byte is copied into that
    buffer at most once, so feeding is linear in the stream length. A prefix
    declaring more than ``max_frame_size`` raises ``FrameTooLarge`` as soon as
    its 4 bytes are seen, before any of the body is buffered.

    After any error the decoder stays failed: every later ``feed``/``close``
    raises the same exception class with the same message, until ``reset``.
    Error offsets are stream offsets (bytes fed since creation or reset) of the
    offending frame's first prefix byte. If a chunk completes some frames and
    then hits an error, the error is raised and those frames are not returned.

    Args:
        max_frame_size: largest body accepted.

    Example:
        >>> dec = FrameDecoder()
        >>> dec.feed(b"\\x00\\x00\\x00\\x02h")
        []
        >>> dec.pending
        5
        >>> dec.feed(b"i\\x00")
        [b'hi']
        >>> dec.pending
        1
    """

    cdef Py_ssize_t _max_frame_size
    cdef char *_buf          # the partial frame (prefix included)
    cdef Py_ssize_t _len     # bytes in _buf
    cdef Py_ssize_t _cap     # bytes allocated for _buf
    cdef Py_ssize_t _need    # total bytes of the partial frame; 0 while its prefix is incomplete
    cdef Py_ssize_t _fed     # stream offset of the next byte to be fed
    cdef object _error       # (class, reason, offset) once failed

    def __cinit__(self, *args, **kwargs):
        self._buf = NULL
        self._cap = 0
        self._len = 0
        self._need = 0
        self._fed = 0
        self._error = None

    def __init__(self, Py_ssize_t max_frame_size=DEFAULT_MAX_FRAME_SIZE):
        _check_max_frame_size(max_frame_size)
        self._max_frame_size = max_frame_size
        self.reset()

    def __dealloc__(self):
        if self._buf != NULL:
            PyMem_Free(self._buf)
            self._buf = NULL

    @property
    def max_frame_size(self):
        """Largest frame body accepted."""
        return self._max_frame_size

    @property
    def pending(self):
        """Bytes buffered for a frame that is not complete yet."""
        return self._len

    cdef int _reserve(self, Py_ssize_t total) except -1:
        cdef Py_ssize_t cap
        cdef char *grown
        if total <= self._cap:
            return 0
        cap = 2 * self._cap
        if self._need > 0 and cap > self._need:
            cap = self._need
        if cap < 64:
            cap = 64
        if cap < total:
            cap = total
        grown = <char *>PyMem_Realloc(self._buf, <size_t>cap)
        if grown == NULL:
            raise MemoryError()
        self._buf = grown
        self._cap = cap
        return 0

    cdef int _fail(self, object exc) except -1:
        self._error = (type(exc), exc.reason, exc.offset)
        raise exc

    cdef int _raise_if_failed(self) except -1:
        if self._error is not None:
            cls, reason, offset = self._error
            raise cls(reason, offset)
        return 0

    def feed(self, chunk):
        """Add ``chunk`` to the stream and return the frames it completes.

        Args:
            chunk: the next bytes of the stream (any C-contiguous buffer, may be empty).

        Returns:
            The completed frame bodies, in order.

        Raises:
            FrameTooLarge: a prefix declares more than ``max_frame_size`` bytes.
        """
        cdef Py_buffer view
        cdef bint have_view = False
        cdef const unsigned char *p
        cdef Py_ssize_t end
        if PyBytes_CheckExact(chunk):
            p = <const unsigned char *>PyBytes_AS_STRING(chunk)
            end = PyBytes_GET_SIZE(chunk)
        else:
            PyObject_GetBuffer(chunk, &view, PyBUF_SIMPLE)
            have_view = True
            p = <const unsigned char *>view.buf
            end = view.len
        try:
            # A no-op with the GIL; on free-threaded builds, one feed at a time.
            with cython.critical_section(self):
                self._raise_if_failed()
                return self._feed(p, end)
        finally:
            if have_view:
                PyBuffer_Release(&view)

    cdef list _feed(self, const unsigned char *p, Py_ssize_t end):
        cdef list frames = []
        cdef Py_ssize_t base = self._fed
        cdef Py_ssize_t pos = 0
        cdef Py_ssize_t take, size, start, rest
        cdef Py_ssize_t max_frame_size = self._max_frame_size
        if self._len > 0:
            start = base - self._len
            if self._need == 0:
                take = _PREFIX - self._len
                if take > end:
                    take = end
                self._reserve(self._len + take)
                memcpy(self._buf + self._len, p, <size_t>take)
                self._len += take
                pos = take
                if self._len < _PREFIX:
                    self._fed = base + end
                    return frames
                size = _load32(<unsigned char *>self._buf)
                if size > max_frame_size:
                    self._fed = base + pos
                    self._fail(FrameTooLarge.declared(size, max_frame_size, start))
                self._need = _PREFIX + size
            take = self._need - self._len
            if take > end - pos:
                take = end - pos
            self._reserve(self._len + take)
            memcpy(self._buf + self._len, p + pos, <size_t>take)
            self._len += take
            pos += take
            if self._len < self._need:
                self._fed = base + end
                return frames
            frames.append(PyBytes_FromStringAndSize(self._buf + _PREFIX, self._need - _PREFIX))
            self._len = 0
            self._need = 0
            if self._cap > 65536:
                # Do not hold on to the memory of one huge frame.
                PyMem_Free(self._buf)
                self._buf = NULL
                self._cap = 0
        while end - pos >= _PREFIX:
            size = _load32(p + pos)
            if size > max_frame_size:
                self._fed = base + pos + _PREFIX
                self._fail(FrameTooLarge.declared(size, max_frame_size, base + pos))
            if size > end - pos - _PREFIX:
                self._need = _PREFIX + size
                break
            frames.append(PyBytes_FromStringAndSize(<const char *>p + pos + _PREFIX, size))
            pos += _PREFIX + size
        if pos < end:
            rest = end - pos
            self._reserve(rest)
            memcpy(self._buf, p + pos, <size_t>rest)
            self._len = rest
        self._fed = base + end
        return frames

    def close(self):
        """Declare the end of the stream.

        Raises:
            TruncatedFrame: a partial frame is still buffered (the stream was
                cut inside a prefix or a body).
        """
        cdef Py_ssize_t start
        with cython.critical_section(self):
            self._raise_if_failed()
            if self._len:
                start = self._fed - self._len
                if self._len < _PREFIX:
                    self._fail(TruncatedFrame.in_prefix(self._len, start))
                self._fail(TruncatedFrame.in_body(self._need - _PREFIX, self._len - _PREFIX, start))

    def reset(self):
        """Forget buffered bytes, any error, and the stream offset."""
        with cython.critical_section(self):
            self._len = 0
            self._need = 0
            self._fed = 0
            self._error = None

    def __reduce__(self):
        raise TypeError(f"cannot pickle {type(self).__name__!r} object")

    def __repr__(self):
        return f"FrameDecoder(max_frame_size={self._max_frame_size}, pending={self._len})"
