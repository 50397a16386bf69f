//! A small blocking HTTP/1.1 client for etcd's JSON gateway: POST a JSON body,
//! read one response (Content-Length or chunked). One connection per member,
//! kept alive between requests of one command.
//!
//! Why hand-written: jsafe starts once per change, so the client must cost
//! nothing at start-up and little in binary size; the gateway needs only
//! POST with a JSON body over plain TCP. What matters for truthful exit
//! codes is knowing whether a request may have reached the server: every
//! failure says whether any byte of the request was sent ([`Failure::sent`]).
//!
//! For `etcds://` the connection is wrapped in TLS (see [`super::tls`]); the
//! handshake completes in [`Conn::open`], so a refused certificate is a
//! connection that sent nothing.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

/// Longest response accepted (a range of many large values stays well below).
const MAX_BODY: usize = 256 << 20;

/// Why a request got no response.
#[derive(Debug)]
pub(crate) struct Failure {
    /// Some of the request was written: the server may have acted on it.
    pub sent: bool,
    /// What happened, for messages.
    pub why: String,
}

/// The byte stream under a connection: clear TCP, or TLS over it.
enum Stream {
    Plain(TcpStream),
    Tls(Box<rustls::StreamOwned<rustls::ClientConnection, TcpStream>>),
}

impl Stream {
    fn tcp(&self) -> &TcpStream {
        match self {
            Stream::Plain(s) => s,
            Stream::Tls(s) => s.get_ref(),
        }
    }
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(s) => s.read(buf),
            Stream::Tls(s) => s.read(buf),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(s) => s.write(buf),
            Stream::Tls(s) => s.write(buf),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        match self {
            Stream::Plain(s) => s.flush(),
            Stream::Tls(s) => s.flush(),
        }
    }
}

/// An open connection to one member.
pub(crate) struct Conn {
    host: String,
    reader: BufReader<Stream>,
}

/// Complete a TLS handshake with `host` on `tcp` before `deadline`.
fn handshake(
    host: &str,
    mut tcp: TcpStream,
    config: std::sync::Arc<rustls::ClientConfig>,
    deadline: Instant,
) -> Result<Stream, String> {
    let name = host.rsplit_once(':').map_or(host, |(h, _)| h);
    let name = name.trim_start_matches('[').trim_end_matches(']');
    let server = rustls::pki_types::ServerName::try_from(name.to_owned())
        .map_err(|e| format!("{host}: TLS: not a server name: {e}"))?;
    let mut tls =
        rustls::ClientConnection::new(config, server).map_err(|e| format!("{host}: TLS: {e}"))?;
    while tls.is_handshaking() {
        let left = remaining(deadline).ok_or_else(|| format!("{host}: TLS handshake timed out"))?;
        let _ = tcp.set_read_timeout(Some(left));
        let _ = tcp.set_write_timeout(Some(left));
        tls.complete_io(&mut tcp)
            .map_err(|e| format!("{host}: TLS handshake failed: {e}"))?;
    }
    Ok(Stream::Tls(Box::new(rustls::StreamOwned::new(tls, tcp))))
}

fn remaining(deadline: Instant) -> Option<Duration> {
    let left = deadline.checked_duration_since(Instant::now())?;
    (!left.is_zero()).then_some(left)
}

impl Conn {
    /// Connect to `host` ("name:port") before `deadline`.
    pub(crate) fn open(host: &str, deadline: Instant) -> Result<Conn, Failure> {
        let fail = |why: String| Failure { sent: false, why };
        let addrs: Vec<SocketAddr> = host
            .to_socket_addrs()
            .map_err(|e| fail(format!("cannot resolve {host}: {e}")))?
            .collect();
        let mut last = format!("{host}: no address");
        for a in addrs {
            let Some(left) = remaining(deadline) else {
                return Err(fail(format!("{host}: timed out connecting")));
            };
            match TcpStream::connect_timeout(&a, left) {
                Ok(s) => {
                    let _ = s.set_nodelay(true);
                    let stream = match super::tls::config() {
                        None => Stream::Plain(s),
                        // A handshake sends no request: a failure here is
                        // a change that certainly did not happen.
                        Some(config) => handshake(host, s, config, deadline).map_err(fail)?,
                    };
                    return Ok(Conn {
                        host: host.to_owned(),
                        reader: BufReader::new(stream),
                    });
                }
                Err(e) => last = format!("{host}: {e}"),
            }
        }
        Err(fail(last))
    }

    /// POST `body` to `path` and read the response: (status, body).
    pub(crate) fn post(
        &mut self,
        path: &str,
        body: &[u8],
        auth: Option<&str>,
        deadline: Instant,
    ) -> Result<(u16, Vec<u8>), Failure> {
        let mut head = format!(
            "POST {path} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n",
            self.host,
            body.len()
        );
        if let Some(token) = auth {
            head.push_str("Authorization: ");
            head.push_str(token);
            head.push_str("\r\n");
        }
        head.push_str("\r\n");
        let Some(left) = remaining(deadline) else {
            return Err(Failure {
                sent: false,
                why: format!("{}: timed out", self.host),
            });
        };
        let stream = self.reader.get_mut();
        let _ = stream.tcp().set_write_timeout(Some(left));
        let mut req = Vec::with_capacity(head.len() + body.len());
        req.extend_from_slice(head.as_bytes());
        req.extend_from_slice(body);
        if let Err(e) = stream.write_all(&req).and_then(|()| stream.flush()) {
            // A write error on a kept-alive connection usually means the peer
            // closed it before reading anything; still, bytes may have left.
            return Err(Failure {
                sent: true,
                why: format!("{}: {e}", self.host),
            });
        }
        self.read_response(deadline).map_err(|e| Failure {
            sent: true,
            why: format!("{}: {e}", self.host),
        })
    }

    /// The status code of the response's first line.
    fn status(&mut self, deadline: Instant) -> io::Result<u16> {
        let status_line = self.line(deadline)?;
        status_line
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse::<u16>().ok())
            .ok_or_else(|| bad("not an HTTP response"))
    }

    fn read_response(&mut self, deadline: Instant) -> io::Result<(u16, Vec<u8>)> {
        let status = self.status(deadline)?;
        let mut length: Option<usize> = None;
        let mut chunked = false;
        loop {
            let line = self.line(deadline)?;
            if line.is_empty() {
                break;
            }
            let Some((name, value)) = line.split_once(':') else {
                continue;
            };
            let value = value.trim();
            if name.eq_ignore_ascii_case("content-length") {
                length = Some(value.parse().map_err(|_| bad("bad Content-Length"))?);
            } else if name.eq_ignore_ascii_case("transfer-encoding")
                && value.to_ascii_lowercase().contains("chunked")
            {
                chunked = true;
            }
        }
        let body = if chunked {
            let mut body = Vec::new();
            while let Some(chunk) = self.chunk(deadline)? {
                body.extend_from_slice(&chunk);
                if body.len() > MAX_BODY {
                    return Err(bad("response too large"));
                }
            }
            body
        } else {
            let n = length.ok_or_else(|| bad("response without a length"))?;
            if n > MAX_BODY {
                return Err(bad("response too large"));
            }
            let mut body = vec![0; n];
            self.set_read_timeout(deadline)?;
            self.reader.read_exact(&mut body)?;
            body
        };
        Ok((status, body))
    }

    /// The next chunk of a chunked body; None at the end.
    pub(crate) fn chunk(&mut self, deadline: Instant) -> io::Result<Option<Vec<u8>>> {
        let size_line = self.line(deadline)?;
        let size = usize::from_str_radix(size_line.split(';').next().unwrap_or("").trim(), 16)
            .map_err(|_| bad("bad chunk size"))?;
        if size > MAX_BODY {
            return Err(bad("chunk too large"));
        }
        if size == 0 {
            // Trailers, then the empty line.
            while !self.line(deadline)?.is_empty() {}
            return Ok(None);
        }
        let mut chunk = vec![0; size];
        self.set_read_timeout(deadline)?;
        self.reader.read_exact(&mut chunk)?;
        let end = self.line(deadline)?;
        if !end.is_empty() {
            return Err(bad("bad chunk end"));
        }
        Ok(Some(chunk))
    }

    /// Send a request whose response is a stream (watch): returns after the
    /// response head; read the body with [`Conn::chunk`].
    pub(crate) fn post_stream(
        &mut self,
        path: &str,
        body: &[u8],
        auth: Option<&str>,
        deadline: Instant,
    ) -> io::Result<u16> {
        let mut head = format!(
            "POST {path} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n",
            self.host,
            body.len()
        );
        if let Some(token) = auth {
            head.push_str(&format!("Authorization: {token}\r\n"));
        }
        // A member cut off from the leader ends the watch instead of going
        // quiet, so the watcher moves to another member.
        head.push_str("Grpc-Metadata-hasleader: true\r\n\r\n");
        let left = remaining(deadline).ok_or_else(|| io::Error::from(io::ErrorKind::TimedOut))?;
        let stream = self.reader.get_mut();
        let _ = stream.tcp().set_write_timeout(Some(left));
        stream.write_all(head.as_bytes())?;
        stream.write_all(body)?;
        stream.flush()?;
        let status = self.status(deadline)?;
        while !self.line(deadline)?.is_empty() {}
        Ok(status)
    }

    fn set_read_timeout(&mut self, deadline: Instant) -> io::Result<()> {
        let left = remaining(deadline).ok_or_else(|| io::Error::from(io::ErrorKind::TimedOut))?;
        self.reader.get_ref().tcp().set_read_timeout(Some(left))
    }

    fn line(&mut self, deadline: Instant) -> io::Result<String> {
        self.set_read_timeout(deadline)?;
        let mut buf = Vec::new();
        let n = (&mut self.reader)
            .take(64 * 1024)
            .read_until(b'\n', &mut buf)?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "connection closed",
            ));
        }
        if buf.last() != Some(&b'\n') {
            return Err(bad("line too long"));
        }
        while matches!(buf.last(), Some(b'\n' | b'\r')) {
            buf.pop();
        }
        String::from_utf8(buf).map_err(|_| bad("not UTF-8"))
    }
}

fn bad(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what.to_owned())
}
