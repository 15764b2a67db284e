"""moto's Secrets Manager on 127.0.0.1, on a port the kernel picks (port 0): prints "PORT <n>" once it listens, then
serves until its stdin closes (the test process that started it has ended) or it is signalled."""
import sys

from moto.moto_server.threaded_moto_server import ThreadedMotoServer

server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
server.start()
print(f"PORT {server.get_host_and_port()[1]}", flush=True)
try:
    sys.stdin.read()
finally:
    server.stop()
