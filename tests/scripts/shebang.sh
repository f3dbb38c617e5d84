# Scripts started via #!, with an argument, nested.
printf '#!/bin/sh\necho "script args: $0 $*"\n' > /tmp/s1; chmod +x /tmp/s1
/tmp/s1 one two
printf '#!/bin/sh -e\necho "with -e flag"\nfalse\necho unreachable\n' > /tmp/s2; chmod +x /tmp/s2
/tmp/s2; echo "s2 status $?"
printf '#!/tmp/s1\n' > /tmp/s3; chmod +x /tmp/s3
/tmp/s3 nested; echo "s3 status $?"
printf 'no shebang, just text\n' > /tmp/s4; chmod +x /tmp/s4
sh -c '/tmp/s4' 2>/dev/null; echo "plain text status $?"
/tmp/does-not-exist 2>/dev/null; echo "missing status $?"
chmod -x /tmp/s1; /tmp/s1 2>/dev/null; echo "not executable status $?"
rm -f /tmp/s1 /tmp/s2 /tmp/s3 /tmp/s4
