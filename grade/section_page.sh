# section_page.sh: sourced by grade/grade.sh (grade/rules_check.py does the same in Python).
# section_page PAGE SECTION: the page that holds SECTION as a heading: the
# stage's lesson (PAGE, docs/STAGE.md) or one of its reference pages
# (docs/STAGE-*.md, what the lesson leaves for a second reading); PAGE if
# none does.
section_page() {
    for sp in "$1" "${1%.md}"-*.md; do
        [ -f "$sp" ] && awk -v sec="$2" '/^#+ / { t = $0; sub(/^#+ /, "", t); if (t == sec) found = 1 }
                                          END { exit !found }' "$sp" && { echo "$sp"; return; }
    done
    echo "$1"
}
