# ps lists the running processes (compared by command name; pids vary).
/bin/sleep 5 & s=$!
ps -o pid,comm > /tmp/ps.out
awk 'NR > 1 {print $2}' /tmp/ps.out | sort
kill $s
rm -f /tmp/ps.out
