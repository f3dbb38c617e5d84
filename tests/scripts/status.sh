# Exit statuses through &&, ||, !, set -e, functions and subshells.
true && echo "and-true"; false && echo "not printed"; false || echo "or-false"
! false && echo "negated"
f() { return 3; }; f; echo "function status $?"
(exit 4); echo "subshell status $?"
sh -c 'exit 5'; echo "child status $?"
if grep -q root /etc/passwd; then echo "grep found"; else echo "grep missed"; fi
case "abc" in a*) echo "case a*";; *) echo "case other";; esac
i=0; while [ $i -lt 3 ]; do i=$((i+1)); done; echo "loop $i"
for w in x y z; do printf "%s-" $w; done; echo
set -e
echo "before failing command"
(set -e; false; echo "not reached") || echo "subshell with set -e failed"
false || true
echo "after guarded failure"
sh -c 'set -e; echo in-child; false; echo never'; echo "never printed either"
