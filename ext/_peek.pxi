# Header peek (included by _wirecore_c.pyx).
#
# Reads ``[tag, [version, kind, channel_id, seq, ts], ...`` from the front of an
# envelope and stops: cost is independent of the payload. Input that ends before
# the header is complete raises TruncatedFrame; anything else that does not
# match raises MalformedHeader; both at the offset of the item being read.


cdef struct _Int:
    int64_t s       # the value, unless ``big``
    uint64_t u      # the value when ``big``
    bint big        # a uint64 above 2**63 - 1 (msgspec decodes those as int too)


cdef inline object _int_object(_Int *v):
    if v.big:
        return PyLong_FromUnsignedLongLong(v.u)
    return PyLong_FromLongLong(v.s)


cdef int _read_int(const unsigned char *p, Py_ssize_t *pos, Py_ssize_t end, _Int *out, str field) except -1:
    cdef Py_ssize_t at = pos[0]
    cdef unsigned char code
    cdef Py_ssize_t width
    cdef bint signed
    cdef const unsigned char *q
    cdef uint64_t u
    if at >= end:
        raise TruncatedFrame.in_header(at)
    code = p[at]
    out.big = False
    if code <= 0x7F:
        out.s = code
        pos[0] = at + 1
        return 0
    if code >= 0xE0:
        out.s = <int64_t>(<int8_t>code)
        pos[0] = at + 1
        return 0
    if 0xCC <= code <= 0xCF:
        signed = False
        width = 1 << (code - 0xCC)
    elif 0xD0 <= code <= 0xD3:
        signed = True
        width = 1 << (code - 0xD0)
    else:
        raise MalformedHeader.not_integer(field, code, at)
    if width > end - at - 1:
        raise TruncatedFrame.in_header(at)
    q = p + at + 1
    if width == 1:
        out.s = <int64_t>(<int8_t>q[0]) if signed else <int64_t>q[0]
    elif width == 2:
        u = (<uint64_t>q[0] << 8) | q[1]
        out.s = <int64_t>(<int16_t>u) if signed else <int64_t>u
    elif width == 4:
        u = _load32(q)
        out.s = <int64_t>(<int32_t>u) if signed else <int64_t>u
    else:
        u = _load64(q)
        if signed or u <= 0x7FFFFFFFFFFFFFFF:
            out.s = <int64_t>u
        else:
            out.big = True
            out.u = u
    pos[0] = at + 1 + width
    return 0


cdef Py_ssize_t _read_array_len(const unsigned char *p, Py_ssize_t *pos, Py_ssize_t end, str what) except -1:
    cdef Py_ssize_t at = pos[0]
    cdef unsigned char code
    if at >= end:
        raise TruncatedFrame.in_header(at)
    code = p[at]
    if 0x90 <= code <= 0x9F:
        pos[0] = at + 1
        return code & 0x0F
    if code == 0xDC:
        if 2 > end - at - 1:
            raise TruncatedFrame.in_header(at)
        pos[0] = at + 3
        return (<Py_ssize_t>p[at + 1] << 8) | p[at + 2]
    if code == 0xDD:
        if 4 > end - at - 1:
            raise TruncatedFrame.in_header(at)
        pos[0] = at + 5
        return <Py_ssize_t>_load32(p + at + 1)
    raise MalformedHeader.not_array(what, code, at)


cdef object _read_str(const unsigned char *p, Py_ssize_t *pos, Py_ssize_t end):
    cdef Py_ssize_t at = pos[0]
    cdef unsigned char code
    cdef Py_ssize_t size, body
    if at >= end:
        raise TruncatedFrame.in_header(at)
    code = p[at]
    if 0xA0 <= code <= 0xBF:
        size = code & 0x1F
        body = at + 1
    elif code == 0xD9:
        if 1 > end - at - 1:
            raise TruncatedFrame.in_header(at)
        size = p[at + 1]
        body = at + 2
    elif code == 0xDA:
        if 2 > end - at - 1:
            raise TruncatedFrame.in_header(at)
        size = (<Py_ssize_t>p[at + 1] << 8) | p[at + 2]
        body = at + 3
    elif code == 0xDB:
        if 4 > end - at - 1:
            raise TruncatedFrame.in_header(at)
        size = <Py_ssize_t>_load32(p + at + 1)
        body = at + 5
    else:
        raise MalformedHeader.not_string(code, at)
    if size > end - body:
        raise TruncatedFrame.in_header(at)
    pos[0] = body + size
    return _channel_str(<const char *>p + body, size, at)


# Channel ids repeat from one message to the next: keep the last one decoded
# (GIL builds only; a free-threaded build decodes every time).

cdef enum:
    _CHANNEL_CACHE_MAX = 64

cdef char _last_channel_utf8[_CHANNEL_CACHE_MAX]
cdef Py_ssize_t _last_channel_len = -1
cdef object _last_channel = None


cdef object _channel_str(const char *s, Py_ssize_t size, Py_ssize_t at):
    global _last_channel, _last_channel_len
    if KLAW_GIL_CACHES and size == _last_channel_len and memcmp(s, _last_channel_utf8, <size_t>size) == 0:
        return _last_channel
    try:
        text = PyUnicode_DecodeUTF8(s, size, NULL)
    except UnicodeDecodeError as exc:
        raise MalformedHeader.not_utf8(at) from exc
    if KLAW_GIL_CACHES and size <= _CHANNEL_CACHE_MAX:
        memcpy(_last_channel_utf8, s, <size_t>size)
        _last_channel_len = size
        _last_channel = text
    return text


cdef object _peek_buffer(const unsigned char *p, Py_ssize_t end, bint version_only):
    cdef Py_ssize_t pos = 0
    cdef Py_ssize_t count, header_at, kind_at
    cdef _Int tag, version, kind, seq, ts
    count = _read_array_len(p, &pos, end, "envelope")
    if count < 2:
        raise MalformedHeader.envelope_too_short(count)
    _read_int(p, &pos, end, &tag, "tag")
    header_at = pos
    count = _read_array_len(p, &pos, end, "header")
    if count != _HEADER_FIELDS:
        raise MalformedHeader.header_size(count, header_at)
    _read_int(p, &pos, end, &version, "version")
    kind_at = pos
    _read_int(p, &pos, end, &kind, "kind")
    if kind.big != tag.big or (kind.u != tag.u if kind.big else kind.s != tag.s):
        raise MalformedHeader.kind_mismatch(_int_object(&kind), _int_object(&tag), kind_at)
    channel_id = _read_str(p, &pos, end)
    _read_int(p, &pos, end, &seq, "seq")
    _read_int(p, &pos, end, &ts, "ts")
    if version_only:
        return _int_object(&version)
    tag_obj = _int_object(&tag)
    return _HeaderPeek(
        tag_obj,
        _int_object(&version),
        tag_obj,
        channel_id,
        _int_object(&seq),
        _int_object(&ts),
    )


cdef object _peek(object data, bint version_only):
    cdef Py_buffer view
    if PyBytes_CheckExact(data):
        return _peek_buffer(<const unsigned char *>PyBytes_AS_STRING(data), PyBytes_GET_SIZE(data), version_only)
    PyObject_GetBuffer(data, &view, PyBUF_SIMPLE)
    try:
        return _peek_buffer(<const unsigned char *>view.buf, view.len, version_only)
    finally:
        PyBuffer_Release(&view)


def peek_header(data):
    """Read an envelope's tag and header without decoding the rest.

    Reads only the first bytes of ``data`` (a frame body, without its length
    prefix): the cost does not depend on the payload's size.

    Args:
        data: an encoded envelope, or any prefix of one that holds the header.

    Returns:
        The tag and the five header fields.

    Raises:
        TruncatedFrame: ``data`` ends before the header is complete.
        MalformedHeader: ``data`` does not start ``[tag, [version, kind,
            channel_id, seq, ts], ...]`` with integer fields, a UTF-8 string
            ``channel_id`` and ``kind == tag``.

    Example:
        >>> import msgspec
        >>> peek_header(msgspec.msgpack.encode([1, [2, 1, "jobs", 7, 99], b"..."]))
        HeaderPeek(tag=1, version=2, kind=1, channel_id='jobs', seq=7, ts=99)
    """
    return _peek(data, False)


def peek_version(data):
    """Return the schema version of an envelope; same rules as ``peek_header``.

    The whole header is still checked, so a version is only returned for an
    envelope whose header is well formed.

    Example:
        >>> import msgspec
        >>> peek_version(msgspec.msgpack.encode([2, [3, 2, "c", 0, 0], "stop", None]))
        3
    """
    return _peek(data, True)
