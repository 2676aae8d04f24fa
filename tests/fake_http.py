"""What the tests' fake HTTP servers (Gemini, Google Classroom) share: writing an answer to a client that may have
given up already."""

from http.server import BaseHTTPRequestHandler


def send_answer(handler: BaseHTTPRequestHandler, status: int, headers: dict[str, str], content: bytes) -> None:
    try:
        handler.send_response(status)
        for name, value in headers.items():
            handler.send_header(name, value)
        handler.send_header("Content-Length", str(len(content)))
        handler.end_headers()
        handler.wfile.write(content)
    except (BrokenPipeError, ConnectionResetError):
        pass  # the client gave up (a timeout test): nobody is listening any more
