# shellcheck shell=sh
# fuzz_seed_bytes.sh: the byte writers the seed scripts share
# (scripts/fuzz_seeds_fields.sh, scripts/fuzz_seeds_logs.sh source it):
# u8 N...: each N as one byte; u16, u32, u64 N: N little-endian (u64 -1
# is eight 0xff bytes).  REQUIRES: LC_ALL=C (bytes, not characters).
# (The octal digits by arithmetic: a command substitution would fork a
# shell for every byte.)
u8() {
    for v; do
        v=$((v & 255))
        printf "\\$((v >> 6))$(((v >> 3) & 7))$((v & 7))"
    done
}
u16() { u8 $(($1)) $(($1 >> 8)); }
u32() { u8 $(($1)) $(($1 >> 8)) $(($1 >> 16)) $(($1 >> 24)); }
u64() { u32 $(($1 & 0xffffffff)); u32 $((($1 >> 32) & 0xffffffff)); }
