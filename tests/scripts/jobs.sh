# Background jobs, wait, $!, kill of a background job, traps.
sleep 0.2 & p=$!
wait $p; echo "waited: $?"
sh -c 'exit 9' & q=$!
wait $q; echo "bg status: $?"
sleep 10 & s=$!
kill $s; wait $s; echo "killed job status: $?"
sleep 10 & s=$!
kill -9 $s; wait $s; echo "kill -9 status: $?"
{ for i in 1 2 3; do (sleep 0.0$i; echo "job $i done") & done; wait; } | sort
echo "all jobs done"
trap 'echo "EXIT trap"' EXIT
trap 'echo "got TERM"' TERM
trap 'echo "got INT"' INT
kill -TERM $$; kill -INT $$
echo "after traps"
trap 'echo "child exited"' CHLD
sh -c 'exit 0'
sleep 0.05
trap - CHLD
echo "end"
