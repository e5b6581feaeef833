# Nesting-depth guard (included by _wirecore_c.pyx).
#
# msgspec decodes nested arrays and maps by C recursion; a payload a few hundred
# levels deep overflows a small thread stack before its recursion guard fires
# (msgspec#1033). _too_deep_at walks one MessagePack value without recursion
# (an explicit stack of the items each open container's parent still has) and
# skips strings and binaries by their length, so it costs a few nanoseconds per
# item. Every read checks ``needed <= end - pos`` first; truncated or malformed
# input ends the walk, for the decoder to report.

# Copied at import from klaw_core._wiretypes (MSGPACK_SKIP, MSGPACK_LENGTH_WIDTH).
cdef unsigned char _SKIP[256]
cdef unsigned char _WIDTH[256]

cdef enum:
    _STACK_ON_C_STACK = 128  # open containers tracked without a heap allocation


cdef int _load_table(unsigned char *dst, object table) except -1:
    if not PyBytes_CheckExact(table) or PyBytes_GET_SIZE(table) != 256:
        raise ImportError("a MessagePack type-byte table must be 256 bytes")
    memcpy(dst, PyBytes_AS_STRING(table), 256)
    return 0


cdef inline uint64_t _load_width(const unsigned char *q, unsigned char width) noexcept nogil:
    if width == 1:
        return q[0]
    if width == 2:
        return (<uint64_t>q[0] << 8) | q[1]
    return _load32(q)


cdef Py_ssize_t _too_deep_at(
    const unsigned char *p, Py_ssize_t end, Py_ssize_t max_depth, Py_ssize_t *stack
) noexcept nogil:
    """Where the first array or map nested deeper than ``max_depth`` starts, or -1.

    ``stack`` has room for ``max_depth`` entries. Same walk, same result as the
    pure twin's ``_too_deep_at``.
    """
    cdef Py_ssize_t pos = 0, depth = 0, left = 1, head
    cdef uint64_t count
    cdef unsigned char code, size, width
    if end <= max_depth:
        return -1  # each container takes at least one byte
    while True:
        if left == 0:
            if depth == 0:
                return -1
            depth -= 1
            left = stack[depth]
            continue
        if pos >= end:
            return -1
        left -= 1
        code = p[pos]
        # Branches for the commonest items, so the CPU runs ahead on a predicted
        # size instead of waiting for a table load (a fixint is 1 byte: pos < end
        # was just checked).
        if code < 0x80 or code >= 0xE0:
            pos += 1
            continue
        if 0xA0 <= code <= 0xBF:  # fixstr
            pos += 1 + (code & 0x1F)
            if pos > end:
                return -1
            continue
        size = _SKIP[code]
        if size:
            if size > end - pos:
                return -1
            pos += size
            continue
        if code <= 0x9F:  # fixmap 0x80-0x8f, fixarray 0x90-0x9f
            count = (code & 0x0F) * (2 if code < 0x90 else 1)
            head = 1
        else:
            width = _WIDTH[code]
            if width == 0 or width >= end - pos:
                return -1  # 0xc1, or the input ends inside the length field
            count = _load_width(p + pos + 1, width)
            if code < 0xDC:  # str, bin, ext: skip the body
                head = 1 + width + (1 if 0xC7 <= code <= 0xC9 else 0)
                if head > end - pos or count > <uint64_t>(end - pos - head):
                    return -1
                pos += head + <Py_ssize_t>count
                continue
            head = 1 + width
            if code >= 0xDE:  # map16/32: count pairs
                count *= 2
        if count > <uint64_t>(end - pos - head):
            return -1  # more items than bytes left: the decoder reports it
        if depth == max_depth:
            return pos
        stack[depth] = left
        depth += 1
        left = <Py_ssize_t>count
        pos += head


cdef Py_ssize_t _depth_limit(object max_depth) except -2:
    """``max_depth`` checked, as a C integer; -1 for ``None`` (no scan)."""
    if max_depth is None:
        return -1
    cdef Py_ssize_t limit = max_depth
    if limit < 1:
        raise max_depth_error(max_depth)
    return limit


cdef int _check_depth(const unsigned char *p, Py_ssize_t end, Py_ssize_t limit, Py_ssize_t base) except -1:
    """Raise NestingTooDeep (offset ``base`` + where) when the value at ``p`` nests too deep."""
    cdef Py_ssize_t on_stack[_STACK_ON_C_STACK]
    cdef Py_ssize_t *stack = on_stack
    cdef Py_ssize_t deep
    if limit < 0 or end <= limit:
        return 0
    if limit > _STACK_ON_C_STACK:
        stack = <Py_ssize_t *>PyMem_Malloc(limit * sizeof(Py_ssize_t))
        if stack == NULL:
            raise MemoryError()
    try:
        deep = _too_deep_at(p, end, limit, stack)
    finally:
        if stack != on_stack:
            PyMem_Free(stack)
    if deep >= 0:
        raise NestingTooDeep.past(limit, base + deep)
    return 0


def check_depth(data, max_depth=DEFAULT_MAX_DEPTH):
    """Refuse one MessagePack value that nests arrays and maps deeper than ``max_depth``.

    msgspec decodes nesting by C recursion, and a value a few hundred levels
    deep overflows a small thread stack before msgspec's own guard fires
    (msgspec#1033). This scan walks the value without recursion, in time
    linear in its item count, and reads no string or binary body. Truncated or
    malformed input is left for the decoder to report.

    Args:
        data: one MessagePack value (any C-contiguous buffer).
        max_depth: most arrays and maps the value may nest (the outermost
            counts 1); ``None`` accepts any depth.

    Raises:
        NestingTooDeep: the value nests deeper; the offset is where the first
            container too deep starts.
        ValueError: ``max_depth`` is below 1.

    Example:
        >>> check_depth(b"\\x91\\x91\\xc0", max_depth=2)
        >>> check_depth(b"\\x91\\x91\\x91\\xc0", max_depth=2)
        Traceback (most recent call last):
        ...
        klaw_core.runtime.errors.NestingTooDeep: arrays and maps nest more than 2 deep (at byte 2)
    """
    cdef Py_ssize_t limit = _depth_limit(max_depth)
    cdef Py_buffer view
    if limit < 0:
        return None
    if PyBytes_CheckExact(data):
        _check_depth(<const unsigned char *>PyBytes_AS_STRING(data), PyBytes_GET_SIZE(data), limit, 0)
        return None
    PyObject_GetBuffer(data, &view, PyBUF_SIMPLE)
    try:
        _check_depth(<const unsigned char *>view.buf, view.len, limit, 0)
    finally:
        PyBuffer_Release(&view)
    return None


def check_envelope(data, max_depth=DEFAULT_MAX_DEPTH):
    """Apply every decode path's rules to one envelope before it is decoded; return its version.

    The header rules are :func:`peek_header`'s (an array of at least 2, an
    integer tag, a header of exactly 5 fields, ``kind == tag``, a UTF-8
    ``channel_id``), which msgspec alone does not apply (it fills a 4-field
    header with defaults and ignores a sixth); then the nesting bound of
    :func:`check_depth`.

    Args:
        data: one encoded envelope (a frame body).
        max_depth: as for :func:`check_depth`.

    Returns:
        The header's schema version.

    Raises:
        TruncatedFrame: ``data`` ends inside the header.
        MalformedHeader: the header breaks a rule.
        NestingTooDeep: ``data`` nests deeper than ``max_depth``.
        ValueError: ``max_depth`` is below 1.

    Example:
        >>> import msgspec
        >>> check_envelope(msgspec.msgpack.encode([4, [1, 4, "c", 0, 0], 7, "ok"]))
        1
        >>> check_envelope(msgspec.msgpack.encode([4, [1, 4, "c", 0], 7, "ok"]))
        Traceback (most recent call last):
        ...
        klaw_core.runtime.errors.MalformedHeader: header array has 4 elements, expected 5 (at byte 2)
    """
    cdef Py_ssize_t limit = _depth_limit(max_depth)
    cdef Py_buffer view
    cdef object version
    if PyBytes_CheckExact(data):
        version = _peek_buffer(<const unsigned char *>PyBytes_AS_STRING(data), PyBytes_GET_SIZE(data), True)
        _check_depth(<const unsigned char *>PyBytes_AS_STRING(data), PyBytes_GET_SIZE(data), limit, 0)
        return version
    PyObject_GetBuffer(data, &view, PyBUF_SIMPLE)
    try:
        version = _peek_buffer(<const unsigned char *>view.buf, view.len, True)
        _check_depth(<const unsigned char *>view.buf, view.len, limit, 0)
    finally:
        PyBuffer_Release(&view)
    return version
