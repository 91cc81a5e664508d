#!/usr/bin/env bash
# ua.c against uap-core's own test suites (Debian's uap-core package): browser family and major
# of tests/test_ua.yaml and OS family and major of tests/test_os.yaml, target 99 % or better.
# The pass rates are printed as TAP comments, so `prove -v` reports them.
. "$(dirname "$0")/lib.sh"

share=/usr/share/uap-core
conf=$top/t/uaconf
if [ ! -r "$share/regexes.yaml" ] || [ ! -r "$share/tests/test_ua.yaml" ]; then
	skip "uap-core is not installed (scripts/deps installs it)"
	done_testing
	exit 0
fi

# rate WHAT FILE: runs the suite; prints "cases both_ok" and the rate as a TAP comment.
suite() {
	local out
	out=$("$conf" "$share/regexes.yaml" "$1" "$2") || return 1
	echo "# uap-core $(basename "$2"): $out" >&2
	set -- $out
	[ "$1" = cases ] && [ "$2" -gt 10 ] || return 1
	# both_ok * 100 >= cases * 99
	[ $(($8 * 100)) -ge $(($2 * 99)) ]
}
ok "test_ua.yaml: family and major right for 99 % or more" suite ua "$share/tests/test_ua.yaml"
ok "test_os.yaml: family and major right for 99 % or more" suite os "$share/tests/test_os.yaml"
ok "additional_os_tests.yaml too" suite os "$share/test_resources/additional_os_tests.yaml"
ok "pgts browser list (12,500 agents) too" suite ua "$share/test_resources/pgts_browser_list.yaml"

# the reader refuses what is not a regexes file, with a reason
printf 'a: [unclosed\n' >"$T/bad.yaml"
out=$("$conf" "$T/bad.yaml" ua "$share/tests/test_ua.yaml" 2>&1)
like "$out" "bad.yaml: line 2: not YAML" "a broken YAML file is refused with its line"
printf 'other: 1\n' >"$T/empty.yaml"
out=$("$conf" "$T/empty.yaml" ua "$share/tests/test_ua.yaml" 2>&1)
like "$out" "no user_agent_parsers or os_parsers" "a YAML file without parsers is refused"
out=$("$conf" "$T/missing.yaml" ua "$share/tests/test_ua.yaml" 2>&1)
like "$out" "missing.yaml: No such file" "a missing file is named"

# a regex PCRE2 refuses is skipped and counted, the others still work
cat >"$T/mixed.yaml" <<'Y'
user_agent_parsers:
  - regex: '(Broken'
  - regex: '(Chrome)/(\d+)'
os_parsers:
  - regex: '(Windows NT) (\d+)\.(\d+)'
    os_replacement: 'Windows'
Y
printf 'test_cases:\n  - user_agent_string: "Mozilla/5.0 (Windows NT 10.0) Chrome/120.0"\n    family: Chrome\n    major: "120"\n' >"$T/one.yaml"
out=$("$conf" "$T/mixed.yaml" ua "$T/one.yaml")
is "$out" "cases 1 family_ok 1 major_ok 1 both_ok 1 bad_regexes 1" "a bad regex is counted and skipped"

done_testing
