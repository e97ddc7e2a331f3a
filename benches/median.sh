# Sourced by the bench scripts: `median CMD...` runs CMD $rounds times and
# prints the median wall time in seconds. The exit status is not the point
# (an audit with findings exits 1); the output goes where CMD sends it.
median() {
    local times=()
    for ((r = 0; r < rounds; r++)); do
        local start end
        start=$(date +%s%N)
        "$@" || true
        end=$(date +%s%N)
        times+=("$(((end - start) / 1000))e-6")
    done
    printf '%s\n' "${times[@]}" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'
}
