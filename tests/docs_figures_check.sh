#!/bin/sh
# docs_figures_check.sh: scripts/docs_figures.sh --check with the summary
# line tests/run.sh reads: every page that quotes a published figure holds
# what the published file says.
here=$(dirname "$0")
if sh "$here/../scripts/docs_figures.sh" --check; then
    echo "1 passed, 0 failed"
else
    echo "FAIL: a page's figures differ from the published ones: make docs-figures"
    echo "0 passed, 1 failed"
    exit 1
fi
