#!/bin/sh
# run-tests.sh runs each C test program given and prints one line for each,
# then a summary; exit code 77 from a test means it skipped.
# The tests run tracked, as programs do: a tracker (from $MPSYNC_TRACKER,
# or the installed one) cleans up after the children they kill.
pass=0 fail=0 skip=0
for t in "$@"; do
	"$t"
	rc=$?
	case $rc in
	0) pass=$((pass + 1)); echo "PASS $t" ;;
	77) skip=$((skip + 1)); echo "SKIP $t" ;;
	*) fail=$((fail + 1)); echo "FAIL $t (exit $rc)" ;;
	esac
done
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
