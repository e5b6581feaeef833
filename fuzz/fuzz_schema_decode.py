"""atheris target: CodecPool.decode and SchemaRegistry.decode (routed by the peeked version) and SchemaRegistry.decode_frames; both twins must agree.

Run: `python fuzz/fuzz_schema_decode.py -max_total_time=60 fuzz/corpus/schema_decode` (or `fuzz/run.sh`).
"""

from _target import main

if __name__ == "__main__":
    main("schema_decode")
