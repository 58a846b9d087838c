#!/usr/bin/env python3
"""Command-line tests for attntag, one file per command (tests/cli_*.py):
exit status and messages for bad models and bad text, every input and output
format, model conversion, training, explain, eval, output paths and batch
mode. Expected values are computed independently of attntag (the CoNLL-U
columns, the independent safetensors reader, the reference logits). Run by
`make check` with ATTNTAG_BIN set; prints 'N passed, N failed'."""
import sys

import cli_common
import cli_usage  # noqa: F401  (each module's tests run as it is imported)
import cli_models  # noqa: F401
import cli_tag  # noqa: F401
import cli_train  # noqa: F401
import cli_explain  # noqa: F401
import cli_eval  # noqa: F401
import cli_output  # noqa: F401
import cli_batch  # noqa: F401

sys.exit(cli_common.finish("cli"))
