# Text tools and file tools: xargs, find, sort, sed, awk, tar round trips.
mkdir -p /tmp/t/a/b /tmp/t/c
for n in 3 1 2; do echo "file $n" > /tmp/t/a/f$n; done
echo deep > /tmp/t/a/b/deep; ln -s f1 /tmp/t/a/link
find /tmp/t | sort
find /tmp/t -type f -name 'f*' | sort | xargs cat
echo "1 2 3 4 5" | xargs -n 2 echo
printf '3 c\n1 a\n2 b\n' | sort -n | awk '{print $2 ":" $1}'
printf 'k=1\nk=2\n' | sed -n 's/k=\(.*\)/value \1/p'
awk 'BEGIN { for (i = 1; i <= 3; i++) printf "%d^2=%d\n", i, i*i }'
cd /tmp/t && tar cf /tmp/t.tar a && mkdir -p /tmp/u && cd /tmp/u && tar xf /tmp/t.tar && find a | sort && cat a/b/deep
readlink /tmp/u/a/link
tar tf /tmp/t.tar | sort | head -3
cd / && rm -rf /tmp/t /tmp/u /tmp/t.tar
echo "tools done"
