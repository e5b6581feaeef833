"""atheris target: decode_frames with the envelope, untyped and typed Ray-receiver decoders, and CodecPool/SchemaRegistry.decode_frames; both twins must agree.

Run: `python fuzz/fuzz_decode_frames.py -max_total_time=60 fuzz/corpus/decode_frames` (or `fuzz/run.sh`).
"""

from _target import main

if __name__ == "__main__":
    main("decode_frames")
