//! Real clients and servers from the Debian test tree over the guest network (the networking
//! issue): Python's `http.server` reached with `urllib` over 127.0.0.1 and ::1, an `asyncio`
//! echo server with 100 concurrent clients, a host HTTP server reached as 10.0.2.2, and
//! iproute2's `ip addr` and `ss` (over `NETLINK_SOCK_DIAG`). SKIPPED without the tree (see `tools/debian/build-image.sh`).

mod common;
use common::*;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::time::Duration;


const SCRIPT: &str = r#"
ip -brief addr
python3 - <<'PY'
import asyncio, http.server, os, socket, subprocess, threading, urllib.request
os.chdir('/tmp')
open('/tmp/f.txt', 'w').write('served by the guest\n')
class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *a):
        pass
for fam, host, urlhost in ((socket.AF_INET, '127.0.0.1', '127.0.0.1'), (socket.AF_INET6, '::1', '[::1]')):
    class Server(http.server.ThreadingHTTPServer):
        address_family = fam
    srv = Server((host, 0), Quiet)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    body = urllib.request.urlopen('http://%s:%d/f.txt' % (urlhost, srv.server_address[1]), timeout=60).read()
    print(urlhost, body.decode().strip())
    ss = subprocess.run(['ss', '-Htln'], capture_output=True, text=True).stdout
    print('ss sees the listener', ('%s:%d' % (urlhost, srv.server_address[1])) in ss, ss.split()[:3])
    srv.shutdown()
async def main():
    async def handle(r, w):
        w.write((await r.readline()).upper())
        await w.drain()
        w.close()
    server = await asyncio.start_server(handle, '127.0.0.1', 0)
    port = server.sockets[0].getsockname()[1]
    async def client(i):
        r, w = await asyncio.open_connection('127.0.0.1', port)
        w.write(b'hello %d\n' % i)
        await w.drain()
        line = await r.readline()
        w.close()
        return line == b'HELLO %d\n' % i
    print('asyncio echoes', sum(await asyncio.gather(*[client(i) for i in range(100)])))
    server.close()
asyncio.run(main())
print(urllib.request.urlopen('http://10.0.2.2:%s/' % os.environ['HOSTPORT'], timeout=60).read().decode())
PY
"#;

#[test]
fn python_http_server_urllib_asyncio_and_the_host_through_the_relay() {
    let dir = scratch("inet-debian");
    let Some(img) = debian_image(&dir, &["usr/bin/python3"]) else { return };
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let server = std::thread::spawn(move || {
        let (s, _) = l.accept().unwrap();
        let mut r = BufReader::new(s.try_clone().unwrap());
        let mut line = String::new();
        while r.read_line(&mut line).unwrap() > 0 && line != "\r\n" {
            line.clear();
        }
        let mut s = s;
        write!(s, "HTTP/1.0 200 OK\r\nContent-Length: 15\r\n\r\nhello from host").unwrap();
    });
    let env = format!("HOSTPORT={port}");
    let o = run_umbra(&["run", "--root", img.to_str().unwrap(), "--env", &env, "--", "/bin/bash", "-c", SCRIPT], Duration::from_secs(300));
    server.join().unwrap();
    let out = stdout(&o);
    let want_tail = "127.0.0.1 served by the guest\nss sees the listener True ['LISTEN', '0', '5']\n[::1] served by the guest\nss sees the listener True ['LISTEN', '0', '5']\nasyncio echoes 100\nhello from host\n";
    assert!(out.starts_with("lo               UNKNOWN        127.0.0.1/8 ::1/128 \neth0             UP             10.0.2.15/24 \n"), "{out}\nstderr: {}", stderr(&o));
    assert!(out.ends_with(want_tail), "{out}\nstderr: {}", stderr(&o));
}
