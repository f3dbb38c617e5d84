# ps lists the running processes (compared by command name; pids vary).
/bin/sleep 5 & s=$!
# wait until the background child has exec'd sleep (before that it is still a copy of sh)
until [ "$(cat /proc/$s/comm 2>/dev/null)" = sleep ]; do :; done
ps -o pid,comm > /tmp/ps.out
awk 'NR > 1 {print $2}' /tmp/ps.out | sort
kill $s
rm -f /tmp/ps.out
