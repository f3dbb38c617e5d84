# Pipelines, redirections, here-documents, subshells, command substitution.
seq 1 50 | grep 1 | sed 's/1/one/g' | sort -r | head -n 5 | tr 'o' '0' | wc -l
printf 'b\na\nc\n' | sort | tr '\n' ' '; echo
echo "to a file" > /tmp/p1; echo "appended" >> /tmp/p1; cat < /tmp/p1
cat <<EOT
here document line 1
  indented $((6 * 7))
EOT
cat <<'EOT'
quoted $HOME stays literal
EOT
x=$(echo inner | tr a-z A-Z); echo "subst: $x"
y=`echo backticks`; echo "$y"
(cd /tmp && echo "subshell in $(pwd)"); echo "still in $(pwd)"
{ echo grouped; echo commands; } | wc -l
echo "stderr to stdout" 2>&1 >/dev/null | cat
ls /nonexistent 2>/dev/null || echo "ls failed as expected"
echo "count: $(seq 1 1000 | awk '{s+=$1} END {print s}')"
exec 3>/tmp/p3; echo "via fd 3" >&3; exec 3>&-; cat /tmp/p3
read a b <<EOT
first second
EOT
echo "read: $a/$b"
while read line; do echo "line: $line"; done <<EOT
l1
l2
EOT
rm -f /tmp/p1 /tmp/p3
