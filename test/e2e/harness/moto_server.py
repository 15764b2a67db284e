"""moto's Secrets Manager on 127.0.0.1, on a port the kernel picks (port 0): prints "PORT <n>" once it listens, then
serves until its stdin closes (the test process that started it has ended) or it is signalled. Without moto (or
flask), prints "MISSING <module>" and exits 3, so that the test says what to install."""
import logging
import sys

try:
    from moto.moto_server.threaded_moto_server import ThreadedMotoServer
except ImportError as missing:
    print(f"MISSING {missing.name}", flush=True)
    sys.exit(3)

# A log line per request costs the server time on every call of every rotation, and nobody reads them.
logging.getLogger("werkzeug").setLevel(logging.ERROR)

server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
server.start()
print(f"PORT {server.get_host_and_port()[1]}", flush=True)
try:
    sys.stdin.read()
finally:
    server.stop()
