# clock.sh: sourced by grade/grade.sh and grade/check.sh.
# seconds: the clock, in whole seconds, in $secs: the kernel's uptime where
# it shows one (reading it starts no process, and a grade says the time
# often), else date's.
seconds() {
    if [ -r /proc/uptime ]; then
        read -r secs _ </proc/uptime
        secs=${secs%.*}
    else
        secs=$(date +%s)
    fi
}
