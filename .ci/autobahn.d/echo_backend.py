"""An AWS_PROXY backend that answers every WebSocket message with its own body: the echo route Autobahn|Testsuite's
fuzzing client talks to through Switchboard's data plane (.ci/autobahn). Python 3, standard library only."""
import http.server
import json
import sys


class Echo(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        event = json.loads(self.rfile.read(int(self.headers["content-length"])))
        body = json.dumps({"statusCode": 200, "body": event.get("body") or ""}).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Echo)
print(server.server_address[1], flush=True)
sys.stdout.close()
server.serve_forever()
